/*
 * attr.c — changing a name's attributes by path: truncate, chmod, fchmodat,
 * lchmod, chown, lchown, fchownat, utime, utimes, lutimes, futimesat,
 * utimensat (and glibc's truncate64).
 *
 * Each acts where the name lives (the spill area first). A directory present
 * in both places is changed in both, so that the two halves stay alike and
 * parents made later in the spill area mirror the right mode and owner; the
 * spill half's result is the one returned. truncate is a write: while
 * `spilling` a main-disk file is moved to the spill area first, as an open
 * for writing would move it (route.c), and truncated there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "real.h"

SW_REAL_DECL(int, truncate, (const char *, off_t));
SW_REAL_DECL(int, chmod, (const char *, mode_t));
SW_REAL_DECL(int, fchmodat, (int, const char *, mode_t, int));
SW_REAL_DECL(int, lchmod, (const char *, mode_t));
SW_REAL_DECL(int, chown, (const char *, uid_t, gid_t));
SW_REAL_DECL(int, lchown, (const char *, uid_t, gid_t));
SW_REAL_DECL(int, fchownat, (int, const char *, uid_t, gid_t, int));
SW_REAL_DECL(int, utime, (const char *, const struct utimbuf *));
SW_REAL_DECL(int, utimes, (const char *, const struct timeval *));
SW_REAL_DECL(int, lutimes, (const char *, const struct timeval *));
SW_REAL_DECL(int, futimesat, (int, const char *, const struct timeval *));
SW_REAL_DECL(int, utimensat, (int, const char *, const struct timespec *, int));

SW_EXPORT int truncate(const char *path, off_t length) {
    char alt[PATH_MAX];
    const char *use = path;
    if (!SW_IDLE() && length >= 0 && sw_route(AT_FDCWD, path, SW_OPEN, O_WRONLY | (length == 0 ? O_TRUNC : 0), alt))
        use = alt;
    __typeof__(sw_real_truncate) fn = SW_REAL(truncate);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_truncate, use, length);
    return fn(use, length);
}

/* The arguments of one attribute change, for sw_on_places: routed calls go
 * through the *at form with an absolute path, which is the same system call
 * with the same checks. */
struct sw_attr {
    mode_t mode;
    uid_t uid;
    gid_t gid;
    int flags;
    const struct timespec *times;
};

static int sw_fchmodat_real(int dirfd, const char *path, mode_t mode, int flags) {
    __typeof__(sw_real_fchmodat) fn = SW_REAL(fchmodat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_fchmodat, dirfd, path, mode);
    return fn(dirfd, path, mode, flags);
}

static int sw_fchownat_real(int dirfd, const char *path, uid_t uid, gid_t gid, int flags) {
    __typeof__(sw_real_fchownat) fn = SW_REAL(fchownat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_fchownat(dirfd, path, uid, gid, flags);
    return fn(dirfd, path, uid, gid, flags);
}

static int sw_utimensat_real(int dirfd, const char *path, const struct timespec *ts, int flags) {
    __typeof__(sw_real_utimensat) fn = SW_REAL(utimensat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_utimensat, dirfd, path, ts, flags);
    return fn(dirfd, path, ts, flags);
}

static int sw_chmod_op(int dirfd, const char *path, void *ctx) {
    const struct sw_attr *a = ctx;
    return sw_fchmodat_real(dirfd, path, a->mode, a->flags);
}

static int sw_chown_op(int dirfd, const char *path, void *ctx) {
    const struct sw_attr *a = ctx;
    return sw_fchownat_real(dirfd, path, a->uid, a->gid, a->flags);
}

static int sw_utimens_op(int dirfd, const char *path, void *ctx) {
    const struct sw_attr *a = ctx;
    return sw_utimensat_real(dirfd, path, a->times, a->flags);
}

/* The libc function itself, or its *at form when libc lacks it. */
#define SW_IDLE_CALL(name, args, fallback)                  \
    do {                                                    \
        __typeof__(sw_real_##name) fn_ = SW_REAL(name);     \
        if (SW_UNLIKELY(fn_ == NULL)) return fallback;      \
        return fn_ args;                                    \
    } while (0)

SW_EXPORT int chmod(const char *path, mode_t mode) {
    struct sw_attr a = {.mode = mode};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 1, sw_chmod_op, &a);
    SW_IDLE_CALL(chmod, (path, mode), sw_chmod_op(AT_FDCWD, path, &a));
}

SW_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags) {
    struct sw_attr a = {.mode = mode, .flags = flags};
    if (!SW_IDLE()) return sw_on_places(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), sw_chmod_op, &a);
    return sw_fchmodat_real(dirfd, path, mode, flags);
}

SW_EXPORT int lchmod(const char *path, mode_t mode) {
    struct sw_attr a = {.mode = mode, .flags = AT_SYMLINK_NOFOLLOW};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 0, sw_chmod_op, &a);
    SW_IDLE_CALL(lchmod, (path, mode), sw_chmod_op(AT_FDCWD, path, &a));
}

SW_EXPORT int chown(const char *path, uid_t uid, gid_t gid) {
    struct sw_attr a = {.uid = uid, .gid = gid};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 1, sw_chown_op, &a);
    SW_IDLE_CALL(chown, (path, uid, gid), sw_chown_op(AT_FDCWD, path, &a));
}

SW_EXPORT int lchown(const char *path, uid_t uid, gid_t gid) {
    struct sw_attr a = {.uid = uid, .gid = gid, .flags = AT_SYMLINK_NOFOLLOW};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 0, sw_chown_op, &a);
    SW_IDLE_CALL(lchown, (path, uid, gid), sw_chown_op(AT_FDCWD, path, &a));
}

SW_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags) {
    struct sw_attr a = {.uid = uid, .gid = gid, .flags = flags};
    /* AT_EMPTY_PATH with "" acts on dirfd itself: nothing to route. */
    if (!SW_IDLE() && sw_path_named(path))
        return sw_on_places(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), sw_chown_op, &a);
    return sw_fchownat_real(dirfd, path, uid, gid, flags);
}

SW_EXPORT int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags) {
    struct sw_attr a = {.flags = flags, .times = times};
    /* A NULL path (or "" with AT_EMPTY_PATH) sets the times of dirfd itself. */
    if (!SW_IDLE() && sw_path_named(path))
        return sw_on_places(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), sw_utimens_op, &a);
    return sw_utimensat_real(dirfd, path, times, flags);
}

SW_EXPORT int utime(const char *path, const struct utimbuf *times) {
    struct timespec ts[2] = {{0, 0}, {0, 0}};
    if (times != NULL) {
        ts[0].tv_sec = times->actime;
        ts[1].tv_sec = times->modtime;
    }
    struct sw_attr a = {.times = times ? ts : NULL};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 1, sw_utimens_op, &a);
    SW_IDLE_CALL(utime, (path, times), sw_utimens_op(AT_FDCWD, path, &a));
}

/* struct timeval[2] as struct timespec[2] (NULL stays NULL; a bad tv_usec
 * becomes a bad tv_nsec, which utimensat refuses with EINVAL as utimes does). */
static const struct timespec *sw_timeval_spec(const struct timeval *tv, struct timespec ts[2]) {
    if (tv == NULL) return NULL;
    for (int i = 0; i < 2; i++) {
        ts[i].tv_sec = tv[i].tv_sec;
        ts[i].tv_nsec = (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) ? -1 : tv[i].tv_usec * 1000;
    }
    return ts;
}

SW_EXPORT int utimes(const char *path, const struct timeval times[2]) {
    struct timespec ts[2];
    struct sw_attr a = {.times = sw_timeval_spec(times, ts)};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 1, sw_utimens_op, &a);
    SW_IDLE_CALL(utimes, (path, times), sw_utimens_op(AT_FDCWD, path, &a));
}

SW_EXPORT int lutimes(const char *path, const struct timeval times[2]) {
    struct timespec ts[2];
    struct sw_attr a = {.times = sw_timeval_spec(times, ts), .flags = AT_SYMLINK_NOFOLLOW};
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, 0, sw_utimens_op, &a);
    SW_IDLE_CALL(lutimes, (path, times), sw_utimens_op(AT_FDCWD, path, &a));
}

SW_EXPORT int futimesat(int dirfd, const char *path, const struct timeval times[2]) {
    struct timespec ts[2];
    struct sw_attr a = {.times = sw_timeval_spec(times, ts)};
    /* A NULL path sets the times of dirfd itself. */
    if (!SW_IDLE() && sw_path_named(path)) return sw_on_places(dirfd, path, 1, sw_utimens_op, &a);
    SW_IDLE_CALL(futimesat, (dirfd, path, times), sw_utimens_op(dirfd, path, &a));
}

#ifdef __GLIBC__
/* LP64 glibc: the 64-bit name is the same function. */
SW_EXPORT int truncate64(const char *, off_t) __attribute__((alias("truncate")));
#endif
