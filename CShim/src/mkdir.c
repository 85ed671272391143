/*
 * mkdir.c — making new names that are not regular files opened by open():
 * mkdir, mkdirat, mknod, mknodat, mkfifo, mkfifoat, and glibc's __xmknod and
 * __xmknodat (still default symbols of glibc 2.36 on x86_64).
 *
 * These are creates (spec section 5): while `spilling` a new name goes to the
 * spill area, its parents made there with the main disk's modes and owners;
 * otherwise to the main disk, unless its parent exists only in the spill
 * area. A name that exists already is left where it is, so the call fails
 * with EEXIST as it would. In any state, a create that fails on the main disk
 * with EDQUOT or ENOSPC is made in the spill area instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, mkdir, (const char *, mode_t));
SW_REAL_DECL(int, mkdirat, (int, const char *, mode_t));
SW_REAL_DECL(int, mknod, (const char *, mode_t, dev_t));
SW_REAL_DECL(int, mknodat, (int, const char *, mode_t, dev_t));
SW_REAL_DECL(int, mkfifo, (const char *, mode_t));
SW_REAL_DECL(int, mkfifoat, (int, const char *, mode_t));

struct sw_node_args {
    mode_t mode;
    dev_t dev;
};

static int sw_mkdirat_op(int dirfd, const char *path, void *ctx) {
    const struct sw_node_args *a = ctx;
    __typeof__(sw_real_mkdirat) fn = SW_REAL(mkdirat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_mkdirat(dirfd, path, a->mode);
    return fn(dirfd, path, a->mode);
}

static int sw_mknodat_op(int dirfd, const char *path, void *ctx) {
    const struct sw_node_args *a = ctx;
    __typeof__(sw_real_mknodat) fn = SW_REAL(mknodat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_mknodat, dirfd, path, a->mode, a->dev);
    return fn(dirfd, path, a->mode, a->dev);
}

SW_EXPORT int mkdir(const char *path, mode_t mode) {
    struct sw_node_args a = {mode, 0};
    if (!SW_IDLE()) return sw_create_node(AT_FDCWD, path, sw_mkdirat_op, &a);
    __typeof__(sw_real_mkdir) fn = SW_REAL(mkdir);
    int rc = fn != NULL ? fn(path, mode) : sw_sys_mkdirat(AT_FDCWD, path, mode);
    return SW_CREATE_RETRY(rc, AT_FDCWD, path, sw_mkdirat_op, &a);
}

SW_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode) {
    struct sw_node_args a = {mode, 0};
    if (!SW_IDLE()) return sw_create_node(dirfd, path, sw_mkdirat_op, &a);
    int rc = sw_mkdirat_op(dirfd, path, &a);
    return SW_CREATE_RETRY(rc, dirfd, path, sw_mkdirat_op, &a);
}

SW_EXPORT int mknod(const char *path, mode_t mode, dev_t dev) {
    struct sw_node_args a = {mode, dev};
    if (!SW_IDLE()) return sw_create_node(AT_FDCWD, path, sw_mknodat_op, &a);
    __typeof__(sw_real_mknod) fn = SW_REAL(mknod);
    int rc = fn != NULL ? fn(path, mode, dev) : (int)syscall(SYS_mknodat, AT_FDCWD, path, mode, dev);
    return SW_CREATE_RETRY(rc, AT_FDCWD, path, sw_mknodat_op, &a);
}

SW_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) {
    struct sw_node_args a = {mode, dev};
    if (!SW_IDLE()) return sw_create_node(dirfd, path, sw_mknodat_op, &a);
    int rc = sw_mknodat_op(dirfd, path, &a);
    return SW_CREATE_RETRY(rc, dirfd, path, sw_mknodat_op, &a);
}

SW_EXPORT int mkfifo(const char *path, mode_t mode) {
    struct sw_node_args a = {(mode & 07777) | S_IFIFO, 0};
    if (!SW_IDLE()) return sw_create_node(AT_FDCWD, path, sw_mknodat_op, &a);
    __typeof__(sw_real_mkfifo) fn = SW_REAL(mkfifo);
    int rc = fn != NULL ? fn(path, mode) : sw_mknodat_op(AT_FDCWD, path, &a);
    return SW_CREATE_RETRY(rc, AT_FDCWD, path, sw_mknodat_op, &a);
}

SW_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode) {
    struct sw_node_args a = {(mode & 07777) | S_IFIFO, 0};
    if (!SW_IDLE()) return sw_create_node(dirfd, path, sw_mknodat_op, &a);
    __typeof__(sw_real_mkfifoat) fn = SW_REAL(mkfifoat);
    int rc = fn != NULL ? fn(dirfd, path, mode) : sw_mknodat_op(dirfd, path, &a);
    return SW_CREATE_RETRY(rc, dirfd, path, sw_mknodat_op, &a);
}

#ifdef __GLIBC__
/* The pre-2.33 entry points of stat-era binaries; _MKNOD_VER is 0 on x86_64. */
int __xmknod(int, const char *, mode_t, dev_t *);
int __xmknodat(int, int, const char *, mode_t, dev_t *);

SW_EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev) {
    if (ver != 0) {
        errno = EINVAL;
        return -1;
    }
    return mknodat(AT_FDCWD, path, mode, *dev);
}

SW_EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev) {
    if (ver != 0) {
        errno = EINVAL;
        return -1;
    }
    return mknodat(dirfd, path, mode, *dev);
}
#endif
