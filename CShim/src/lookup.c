/*
 * lookup.c — path lookups libc makes with its own internal calls, beyond the
 * stat and access families of stat.c: euidaccess and eaccess, statfs and
 * statvfs (and glibc's 64-bit names), pathconf, inotify_add_watch.
 *
 * A name the spill area holds is looked up there (statfs of a spilled file
 * describes the sub disk, where its bytes are); everything else keeps its
 * original path. While `normal` each hook is one state load and libc's call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, euidaccess, (const char *, int));
SW_REAL_DECL(int, eaccess, (const char *, int));
SW_REAL_DECL(int, statfs, (const char *, struct statfs *));
SW_REAL_DECL(int, statvfs, (const char *, struct statvfs *));
SW_REAL_DECL(long, pathconf, (const char *, int));
SW_REAL_DECL(int, inotify_add_watch, (int, const char *, uint32_t));

/* The path a lookup uses: the spill area's name when it lives there. */
static const char *sw_lookup_path(const char *path, int follow, char alt[PATH_MAX]) {
    int dirfd;
    if (SW_IDLE()) return path;
    return sw_name_lookup(AT_FDCWD, path, follow, alt, &dirfd);
}

SW_EXPORT int euidaccess(const char *path, int mode) {
    char alt[PATH_MAX];
    const char *use = sw_lookup_path(path, 1, alt);
    __typeof__(sw_real_euidaccess) fn = SW_REAL(euidaccess);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_faccessat, AT_FDCWD, use, mode);
    return fn(use, mode);
}

SW_EXPORT int eaccess(const char *path, int mode) {
    char alt[PATH_MAX];
    const char *use = sw_lookup_path(path, 1, alt);
    __typeof__(sw_real_eaccess) fn = SW_REAL(eaccess);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_faccessat, AT_FDCWD, use, mode);
    return fn(use, mode);
}

SW_EXPORT int statfs(const char *path, struct statfs *buf) {
    char alt[PATH_MAX];
    const char *use = sw_lookup_path(path, 1, alt);
    __typeof__(sw_real_statfs) fn = SW_REAL(statfs);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_statfs, use, buf);
    return fn(use, buf);
}

SW_EXPORT int statvfs(const char *path, struct statvfs *buf) {
    char alt[PATH_MAX];
    const char *use = sw_lookup_path(path, 1, alt);
    __typeof__(sw_real_statvfs) fn = SW_REAL(statvfs);
    if (SW_UNLIKELY(fn == NULL)) {
        errno = ENOSYS;
        return -1;
    }
    return fn(use, buf);
}

SW_EXPORT long pathconf(const char *path, int name) {
    char alt[PATH_MAX];
    const char *use = sw_lookup_path(path, 1, alt);
    __typeof__(sw_real_pathconf) fn = SW_REAL(pathconf);
    if (SW_UNLIKELY(fn == NULL)) {
        errno = ENOSYS;
        return -1;
    }
    return fn(use, name);
}

SW_EXPORT int inotify_add_watch(int fd, const char *path, uint32_t mask) {
    char alt[PATH_MAX];
    /* A watch is on the half where the name lives: events of a directory's
     * other half are not seen (docs/SHIM.md). */
    const char *use = sw_lookup_path(path, !(mask & IN_DONT_FOLLOW), alt);
    __typeof__(sw_real_inotify_add_watch) fn = SW_REAL(inotify_add_watch);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_inotify_add_watch, fd, use, mask);
    return fn(fd, use, mask);
}

#ifdef __GLIBC__
/* LP64 glibc: struct statfs64 and statvfs64 are laid out as statfs and statvfs. */
SW_EXPORT int statfs64(const char *path, struct statfs64 *buf) {
    return statfs(path, (struct statfs *)buf);
}

SW_EXPORT int statvfs64(const char *path, struct statvfs64 *buf) {
    return statvfs(path, (struct statvfs *)buf);
}
#endif
