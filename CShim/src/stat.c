/*
 * stat.c — the stat family and access checks: stat, lstat, fstatat, statx,
 * access, faccessat; glibc's 64-bit names and its older __xstat entry points.
 *
 * These are lookups: a name the spill area holds is answered from there,
 * everything else from the original path.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

#define SW_LOOKUP_PATH_AS(dirfd, path, alt, intent) \
    ((!SW_IDLE() && sw_route((dirfd), (path), (intent), 0, (alt))) ? (alt) : (path))
#define SW_LOOKUP_PATH(dirfd, path, alt) SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_LOOKUP)
#define SW_LSTAT_PATH(dirfd, path, alt) SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_LOOKUP_NOFOLLOW)
/* The intent for an *at call's flags. */
#define SW_AT_INTENT(flags) (((flags) & AT_SYMLINK_NOFOLLOW) ? SW_LOOKUP_NOFOLLOW : SW_LOOKUP)
#define SW_LOOKUP_DIRFD(dirfd, path, alt) ((path) == (alt) ? AT_FDCWD : (dirfd))

SW_REAL_DECL(int, stat, (const char *, struct stat *));
SW_REAL_DECL(int, lstat, (const char *, struct stat *));
SW_REAL_DECL(int, fstatat, (int, const char *, struct stat *, int));
SW_REAL_DECL(int, access, (const char *, int));
SW_REAL_DECL(int, faccessat, (int, const char *, int, int));

SW_EXPORT int stat(const char *path, struct stat *st) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH(AT_FDCWD, path, alt);
    __typeof__(sw_real_stat) fn = SW_REAL(stat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_fstatat(AT_FDCWD, use, st, 0);
    return fn(use, st);
}

SW_EXPORT int lstat(const char *path, struct stat *st) {
    char alt[PATH_MAX];
    const char *use = SW_LSTAT_PATH(AT_FDCWD, path, alt);
    __typeof__(sw_real_lstat) fn = SW_REAL(lstat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_fstatat(AT_FDCWD, use, st, AT_SYMLINK_NOFOLLOW);
    return fn(use, st);
}

SW_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    __typeof__(sw_real_fstatat) fn = SW_REAL(fstatat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_fstatat(SW_LOOKUP_DIRFD(dirfd, use, alt), use, st, flags);
    return fn(SW_LOOKUP_DIRFD(dirfd, use, alt), use, st, flags);
}

SW_EXPORT int access(const char *path, int amode) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH(AT_FDCWD, path, alt);
    __typeof__(sw_real_access) fn = SW_REAL(access);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_faccessat, AT_FDCWD, use, amode);
    return fn(use, amode);
}

SW_EXPORT int faccessat(int dirfd, const char *path, int amode, int flags) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    __typeof__(sw_real_faccessat) fn = SW_REAL(faccessat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_faccessat2, SW_LOOKUP_DIRFD(dirfd, use, alt), use, amode, flags);
    return fn(SW_LOOKUP_DIRFD(dirfd, use, alt), use, amode, flags);
}

#ifdef __GLIBC__
/*
 * On x86_64 glibc's struct stat64 and the __xstat family's struct stat are
 * the kernel's struct stat, and _STAT_VER is ignored. glibc >= 2.33 keeps the
 * __xstat names only as compat symbols, which dlsym cannot find, so these
 * answer with the system call glibc itself would make.
 */
struct statx;
SW_REAL_DECL(int, statx, (int, const char *, int, unsigned int, struct statx *));

int __xstat(int, const char *, struct stat *);
int __lxstat(int, const char *, struct stat *);
int __fxstatat(int, int, const char *, struct stat *, int);
int __xstat64(int, const char *, struct stat64 *);
int __lxstat64(int, const char *, struct stat64 *);
int __fxstatat64(int, int, const char *, struct stat64 *, int);

static int sw_stat_at(int dirfd, const char *path, void *st, int flags) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    return (int)syscall(SYS_newfstatat, SW_LOOKUP_DIRFD(dirfd, use, alt), use, st, flags);
}

SW_EXPORT int stat64(const char *path, struct stat64 *st) {
    return sw_stat_at(AT_FDCWD, path, st, 0);
}

SW_EXPORT int lstat64(const char *path, struct stat64 *st) {
    return sw_stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SW_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) {
    return sw_stat_at(dirfd, path, st, flags);
}

SW_EXPORT int __xstat(int ver, const char *path, struct stat *st) {
    (void)ver;
    return sw_stat_at(AT_FDCWD, path, st, 0);
}

SW_EXPORT int __lxstat(int ver, const char *path, struct stat *st) {
    (void)ver;
    return sw_stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SW_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags) {
    (void)ver;
    return sw_stat_at(dirfd, path, st, flags);
}

SW_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st) {
    (void)ver;
    return sw_stat_at(AT_FDCWD, path, st, 0);
}

SW_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st) {
    (void)ver;
    return sw_stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SW_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags) {
    (void)ver;
    return sw_stat_at(dirfd, path, st, flags);
}

SW_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    __typeof__(sw_real_statx) fn = SW_REAL(statx);
    if (SW_UNLIKELY(fn == NULL))
        return (int)syscall(SYS_statx, SW_LOOKUP_DIRFD(dirfd, use, alt), use, flags, mask, buf);
    return fn(SW_LOOKUP_DIRFD(dirfd, use, alt), use, flags, mask, buf);
}
#endif
