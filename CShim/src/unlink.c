/*
 * unlink.c — removing names: unlink, unlinkat (with and without
 * AT_REMOVEDIR), rmdir.
 *
 * A name is removed where it lives (each non-directory lives in exactly one
 * place). A directory present in both places is removed from both, and only
 * when the union is empty: the spill half first (its own errors first), then
 * the main half; if the main half is not empty or cannot go, the spill half
 * is put back (mode, owner, times) and the main half's error returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, unlink, (const char *));
SW_REAL_DECL(int, unlinkat, (int, const char *, int));
SW_REAL_DECL(int, rmdir, (const char *));

static int sw_unlinkat_real(int dirfd, const char *path, int flags) {
    __typeof__(sw_real_unlinkat) fn = SW_REAL(unlinkat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_unlinkat, dirfd, path, flags);
    return fn(dirfd, path, flags);
}

/* Put back the (empty) spill half of a directory removed a moment ago. */
static void sw_restore_dir(const char *path, const struct stat *st) {
    int saved = errno;
    if (sw_sys_mkdirat(AT_FDCWD, path, st->st_mode & 07777) == 0) {
        sw_sys_fchownat(AT_FDCWD, path, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
        sw_sys_fchmodat(AT_FDCWD, path, st->st_mode & 07777);
        struct timespec times[2] = {st->st_atim, st->st_mtim};
        syscall(SYS_utimensat, AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
    }
    errno = saved;
}

/* unlinkat(dirfd, path, flags) through the union. */
static int sw_remove(int dirfd, const char *path, int flags) {
    struct sw_name nm;
    char spill[PATH_MAX], main[PATH_MAX];
    if (!sw_name_locate(dirfd, path, 0, &nm)) return sw_unlinkat_real(dirfd, path, flags);
    if (nm.loc.where == SW_IN_SPILL && sw_name_path(&nm, SW_IN_SPILL, spill) == 0) {
        int both = (flags & AT_REMOVEDIR) && sw_name_both_dir(&nm) && sw_name_path(&nm, SW_IN_MAIN, main) == 0;
        if (sw_unlinkat_real(AT_FDCWD, spill, flags) != 0) return -1;
        if (!both || sw_unlinkat_real(AT_FDCWD, main, flags) == 0) return 0;
        if (errno == ENOENT) return 0; /* the main half went meanwhile */
        sw_restore_dir(spill, &nm.loc.st);
        return -1;
    }
    if (nm.loc.resolved && sw_name_path(&nm, SW_IN_MAIN, main) == 0) return sw_unlinkat_real(AT_FDCWD, main, flags);
    return sw_unlinkat_real(dirfd, path, flags);
}

SW_EXPORT int unlink(const char *path) {
    if (!SW_IDLE()) return sw_remove(AT_FDCWD, path, 0);
    __typeof__(sw_real_unlink) fn = SW_REAL(unlink);
    if (SW_UNLIKELY(fn == NULL)) return sw_unlinkat_real(AT_FDCWD, path, 0);
    return fn(path);
}

SW_EXPORT int unlinkat(int dirfd, const char *path, int flags) {
    if (!SW_IDLE()) return sw_remove(dirfd, path, flags);
    return sw_unlinkat_real(dirfd, path, flags);
}

SW_EXPORT int rmdir(const char *path) {
    if (!SW_IDLE()) return sw_remove(AT_FDCWD, path, AT_REMOVEDIR);
    __typeof__(sw_real_rmdir) fn = SW_REAL(rmdir);
    if (SW_UNLIKELY(fn == NULL)) return sw_unlinkat_real(AT_FDCWD, path, AT_REMOVEDIR);
    return fn(path);
}
