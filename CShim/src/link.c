/*
 * link.c — links: link, linkat, symlink, symlinkat, readlink, readlinkat and
 * glibc's fortified __readlink_chk, __readlinkat_chk.
 *
 * A hard link must stay on one filesystem, so it is made where its source
 * lives (the spill area or the main disk), with parents made there as needed,
 * whatever the state. A symbolic link is a create like mkdir (mkdir.c). A
 * readlink is a lookup (the spill area first); and the links of /proc (a
 * process's cwd, exe, fds) that point into the spill area read as the
 * application's own names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, link, (const char *, const char *));
SW_REAL_DECL(int, linkat, (int, const char *, int, const char *, int));
SW_REAL_DECL(int, symlink, (const char *, const char *));
SW_REAL_DECL(int, symlinkat, (const char *, int, const char *));
SW_REAL_DECL(ssize_t, readlink, (const char *, char *, size_t));
SW_REAL_DECL(ssize_t, readlinkat, (int, const char *, char *, size_t));

static int sw_linkat_real(int ofd, const char *old, int nfd, const char *new, int flags) {
    __typeof__(sw_real_linkat) fn = SW_REAL(linkat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_linkat, ofd, old, nfd, new, flags);
    return fn(ofd, old, nfd, new, flags);
}

static int sw_link_union(int ofd, const char *old, int nfd, const char *new, int flags) {
    int saved = errno;
    struct sw_name src, dst;
    char spath[PATH_MAX], dpath[PATH_MAX];
    const char *use_old = old;
    int use_ofd = ofd;
    int by_fd = (flags & AT_EMPTY_PATH) && old != NULL && !sw_path_named(old);
    int src_managed = !by_fd && sw_name_locate(ofd, old, (flags & AT_SYMLINK_FOLLOW) != 0, &src);
    int dst_managed = sw_name_locate(nfd, new, 0, &dst);
    errno = saved;
    if (!src_managed && !dst_managed) return sw_linkat_real(ofd, old, nfd, new, flags);
    int place = SW_IN_NONE;
    if (src_managed) {
        /* The old name is looked up first: its error (in neither place) before anything of the new one. */
        if (src.loc.err && sw_name_path(&src, SW_IN_SPILL, spath) == 0) return sw_linkat_real(AT_FDCWD, spath, nfd, new, flags);
        if (src.loc.where == SW_IN_NONE) {
            if (src.loc.resolved && sw_name_path(&src, SW_IN_MAIN, spath) == 0) {
                use_old = spath;
                use_ofd = AT_FDCWD;
            }
            return sw_linkat_real(use_ofd, use_old, nfd, new, flags); /* ENOENT, as it would be */
        }
        place = src.loc.where;
        if ((place == SW_IN_SPILL || src.loc.resolved) && sw_name_path(&src, place, spath) == 0) {
            use_old = spath;
            use_ofd = AT_FDCWD;
        }
        if (!dst_managed) return sw_linkat_real(use_ofd, use_old, nfd, new, flags);
    } else {
        struct stat st;
        int stflags = by_fd ? AT_EMPTY_PATH : (flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW;
        if (sw_sys_fstatat(ofd, by_fd ? "" : old, &st, stflags) != 0) {
            errno = saved;
            return sw_linkat_real(ofd, old, nfd, new, flags);
        }
        place = sw_place_of_dev(st.st_dev);
    }
    if (dst.loc.where != SW_IN_NONE) {
        errno = EEXIST;
        return -1;
    }
    if (place == SW_IN_SPILL) {
        sw_spill_parents(&dst.loc);
    } else if (place == SW_IN_MAIN) {
        sw_main_parents(&dst.loc);
    } else {
        /* The source is on another filesystem: EXDEV wherever the link would go. */
        int use_nfd;
        const char *use_new = sw_name_create(nfd, new, dpath, &use_nfd);
        return sw_linkat_real(use_ofd, use_old, use_nfd, use_new, flags);
    }
    if (place == SW_IN_MAIN && !dst.loc.resolved) return sw_linkat_real(use_ofd, use_old, nfd, new, flags);
    if (sw_name_path(&dst, place, dpath) != 0) return sw_linkat_real(use_ofd, use_old, nfd, new, flags);
    return sw_linkat_real(use_ofd, use_old, AT_FDCWD, dpath, flags);
}

SW_EXPORT int link(const char *old, const char *new) {
    if (!SW_IDLE()) return sw_link_union(AT_FDCWD, old, AT_FDCWD, new, 0);
    __typeof__(sw_real_link) fn = SW_REAL(link);
    if (SW_UNLIKELY(fn == NULL)) return sw_linkat_real(AT_FDCWD, old, AT_FDCWD, new, 0);
    return fn(old, new);
}

SW_EXPORT int linkat(int ofd, const char *old, int nfd, const char *new, int flags) {
    if (!SW_IDLE()) return sw_link_union(ofd, old, nfd, new, flags);
    return sw_linkat_real(ofd, old, nfd, new, flags);
}

static int sw_symlinkat_op(int dirfd, const char *path, void *ctx) {
    const char *target = ctx;
    __typeof__(sw_real_symlinkat) fn = SW_REAL(symlinkat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_symlinkat, target, dirfd, path);
    return fn(target, dirfd, path);
}

SW_EXPORT int symlink(const char *target, const char *path) {
    if (!SW_IDLE()) return sw_create_node(AT_FDCWD, path, sw_symlinkat_op, (void *)target);
    __typeof__(sw_real_symlink) fn = SW_REAL(symlink);
    int rc = fn != NULL ? fn(target, path) : sw_symlinkat_op(AT_FDCWD, path, (void *)target);
    return SW_CREATE_RETRY(rc, AT_FDCWD, path, sw_symlinkat_op, (void *)target);
}

SW_EXPORT int symlinkat(const char *target, int dirfd, const char *path) {
    if (!SW_IDLE()) return sw_create_node(dirfd, path, sw_symlinkat_op, (void *)target);
    int rc = sw_symlinkat_op(dirfd, path, (void *)target);
    return SW_CREATE_RETRY(rc, dirfd, path, sw_symlinkat_op, (void *)target);
}

static ssize_t sw_readlinkat_real(int dirfd, const char *path, char *buf, size_t size) {
    __typeof__(sw_real_readlinkat) fn = SW_REAL(readlinkat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_readlinkat(dirfd, path, buf, size);
    return fn(dirfd, path, buf, size);
}

/* readlink of a /proc link: a target in the spill area reads as the application's name. */
static ssize_t sw_readlink_proc(int dirfd, const char *path, char *buf, size_t size) {
    char target[PATH_MAX];
    ssize_t got = sw_readlinkat_real(dirfd, path, target, sizeof(target) - 1);
    if (got < 0) return got;
    target[got] = '\0';
    if (sw_unspill_path(target, sizeof(target)) > 0) got = (ssize_t)strlen(target);
    size_t n = (size_t)got < size ? (size_t)got : size;
    /* The program's buffer takes it as the kernel would fill it: EFAULT, never a fault. */
    if (sw_copy_out(buf, target, n) != 0) return -1;
    return (ssize_t)n;
}

static ssize_t sw_readlink_union(int dirfd, const char *path, char *buf, size_t size) {
    char head[8];
    int saved = errno;
    int proc = path != NULL && size > 0 && sw_copy_string(path, head, 7) == -1 && errno == ENAMETOOLONG &&
               strncmp(head, "/proc/", 6) == 0;
    errno = saved;
    if (proc) return sw_readlink_proc(dirfd, path, buf, size);
    char alt[PATH_MAX];
    int use_dirfd;
    const char *use = sw_name_lookup(dirfd, path, 0, alt, &use_dirfd);
    return sw_readlinkat_real(use_dirfd, use, buf, size);
}

SW_EXPORT ssize_t readlink(const char *path, char *buf, size_t size) {
    if (!SW_IDLE()) return sw_readlink_union(AT_FDCWD, path, buf, size);
    __typeof__(sw_real_readlink) fn = SW_REAL(readlink);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_readlinkat(AT_FDCWD, path, buf, size);
    return fn(path, buf, size);
}

SW_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size) {
    if (!SW_IDLE()) return sw_readlink_union(dirfd, path, buf, size);
    return sw_readlinkat_real(dirfd, path, buf, size);
}

#ifdef __GLIBC__
/* _FORTIFY_SOURCE: libc's own entry points keep their buffer checks (they abort). */
SW_REAL_DECL(ssize_t, __readlink_chk, (const char *, char *, size_t, size_t));
SW_REAL_DECL(ssize_t, __readlinkat_chk, (int, const char *, char *, size_t, size_t));
ssize_t __readlink_chk(const char *, char *, size_t, size_t);
ssize_t __readlinkat_chk(int, const char *, char *, size_t, size_t);

SW_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen) {
    if (!SW_IDLE() && size <= buflen) return sw_readlink_union(AT_FDCWD, path, buf, size);
    __typeof__(sw_real___readlink_chk) fn = SW_REAL(__readlink_chk);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_readlinkat(AT_FDCWD, path, buf, size);
    return fn(path, buf, size, buflen);
}

SW_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size, size_t buflen) {
    if (!SW_IDLE() && size <= buflen) return sw_readlink_union(dirfd, path, buf, size);
    __typeof__(sw_real___readlinkat_chk) fn = SW_REAL(__readlinkat_chk);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_readlinkat(dirfd, path, buf, size);
    return fn(dirfd, path, buf, size, buflen);
}
#endif
