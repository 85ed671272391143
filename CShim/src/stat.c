/*
 * stat.c — the stat family and access checks: stat, lstat, fstatat, statx,
 * access, faccessat; glibc's 64-bit names and its older __xstat entry points.
 *
 * These are lookups: a name the spill area holds is answered from there,
 * everything else from the original path.
 *
 * A file the library moved into the spill area keeps the identity it had on
 * the main disk: its st_dev and st_ino are the ones recorded in its origin
 * attribute, through paths and descriptors alike (fstat is hooked for this).
 * Programs that remember a file's inode and check it later (SQLite refuses to
 * write a database whose inode changed: SQLITE_READONLY_DBMOVED) see no change.
 * A directory present in both places keeps its main half's identity.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* Parse "<dev>:<ino>" (move.c's origin attribute). */
static int sw_parse_origin(const char *text, long len, unsigned long long *dev, unsigned long long *ino) {
    unsigned long long v[2] = {0, 0};
    int k = 0, digits = 0;
    for (long i = 0; i < len; i++) {
        char c = text[i];
        if (c == ':' && k == 0 && digits) {
            k = 1;
            digits = 0;
        } else if (c >= '0' && c <= '9' && v[k] <= (~0ULL - 9) / 10) {
            v[k] = v[k] * 10 + (unsigned long long)(c - '0');
            digits++;
        } else {
            return -1;
        }
    }
    if (k != 1 || !digits) return -1;
    *dev = v[0];
    *ino = v[1];
    return 0;
}

/* The origin of a regular file outside the main disk: from `path` (following a final
 * symlink when `follow`) if given, else from `fd`. */
static int sw_origin_of(int fd, const char *path, int follow, unsigned long long *dev, unsigned long long *ino) {
    char text[48];
    int saved = errno;
    long len = !path   ? syscall(SYS_fgetxattr, fd, SW_ORIGIN_XATTR, text, sizeof(text))
               : follow ? syscall(SYS_getxattr, path, SW_ORIGIN_XATTR, text, sizeof(text))
                        : syscall(SYS_lgetxattr, path, SW_ORIGIN_XATTR, text, sizeof(text));
    errno = saved;
    return len > 0 ? sw_parse_origin(text, len, dev, ino) : -1;
}

/*
 * A directory present in both places is one directory to the program: it keeps the identity
 * of its main-disk half (tar, for one, checks that a directory it extracts into is still the
 * same st_dev/st_ino at the end). `spill_path` names the spill half.
 */
static int sw_main_dir_identity(const char *spill_path, unsigned long long *dev, unsigned long long *ino) {
    if (!sw_in_spill_area(spill_path)) return -1;
    const char *rel = spill_path + sw_cfg.spill_len;
    size_t rl = strlen(rel);
    char main[PATH_MAX];
    if (sw_cfg.root_len + rl + 2 > PATH_MAX) return -1;
    memcpy(main, sw_cfg.root, sw_cfg.root_len);
    memcpy(main + sw_cfg.root_len, rel, rl + 1);
    if (main[0] == '\0') memcpy(main, "/", 2);
    struct stat m;
    int saved = errno;
    int ok = sw_sys_fstatat(AT_FDCWD, main, &m, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(m.st_mode);
    errno = saved;
    if (!ok) return -1;
    *dev = (unsigned long long)m.st_dev;
    *ino = (unsigned long long)m.st_ino;
    return 0;
}

/* The same for a directory descriptor (its name from /proc/self/fd). */
static int sw_main_dir_identity_fd(int fd, unsigned long long *dev, unsigned long long *ino) {
    char link[32], name[PATH_MAX];
    int saved = errno;
    sw_proc_fd_path(fd, link);
    long got = sw_sys_readlinkat(AT_FDCWD, link, name, sizeof(name) - 1);
    errno = saved;
    if (got <= 0) return -1;
    name[got] = '\0';
    return sw_main_dir_identity(name, dev, ino);
}

/* After a successful stat answered from the spill area: present the identity the program
 * knew. A moved file: the one its origin attribute records. A directory: its main half's. */
static int sw_identity(int fd, const char *path, int follow, mode_t mode, dev_t got_dev, unsigned long long *dev,
                       unsigned long long *ino) {
    if (got_dev == sw_cfg.root_dev) return -1;
    if (S_ISREG(mode)) return sw_origin_of(fd, path, follow, dev, ino);
    if (S_ISDIR(mode)) return path ? sw_main_dir_identity(path, dev, ino) : sw_main_dir_identity_fd(fd, dev, ino);
    return -1;
}

static void sw_present_origin(int fd, const char *path, int follow, struct stat *st) {
    unsigned long long dev, ino;
    if (sw_identity(fd, path, follow, st->st_mode, st->st_dev, &dev, &ino) == 0) {
        st->st_dev = (dev_t)dev;
        st->st_ino = (ino_t)ino;
    }
}

/* The same for a stat answered through `use` (rc: the call's result). */
static inline void sw_present_path(int rc, const char *path, const char *use, int follow, struct stat *st) {
    if (rc == 0 && use != path) sw_present_origin(-1, use, follow, st);
}

SW_REAL_DECL(int, stat, (const char *, struct stat *));
SW_REAL_DECL(int, lstat, (const char *, struct stat *));
SW_REAL_DECL(int, fstatat, (int, const char *, struct stat *, int));
SW_REAL_DECL(int, access, (const char *, int));
SW_REAL_DECL(int, faccessat, (int, const char *, int, int));

static __attribute__((noinline)) int sw_stat_managed(const char *path, struct stat *st) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH(AT_FDCWD, path, alt);
    __typeof__(sw_real_stat) fn = SW_REAL(stat);
    int rc = SW_UNLIKELY(fn == NULL) ? sw_sys_fstatat(AT_FDCWD, use, st, 0) : fn(use, st);
    sw_present_path(rc, path, use, 1, st);
    return rc;
}

SW_EXPORT int stat(const char *path, struct stat *st) {
    SW_IDLE_TAIL(stat, path, st);
    return sw_stat_managed(path, st);
}

static __attribute__((noinline)) int sw_lstat_managed(const char *path, struct stat *st) {
    char alt[PATH_MAX];
    const char *use = SW_LSTAT_PATH(AT_FDCWD, path, alt);
    __typeof__(sw_real_lstat) fn = SW_REAL(lstat);
    int rc = SW_UNLIKELY(fn == NULL) ? sw_sys_fstatat(AT_FDCWD, use, st, AT_SYMLINK_NOFOLLOW) : fn(use, st);
    sw_present_path(rc, path, use, 0, st);
    return rc;
}

SW_EXPORT int lstat(const char *path, struct stat *st) {
    SW_IDLE_TAIL(lstat, path, st);
    return sw_lstat_managed(path, st);
}

static __attribute__((noinline)) int sw_fstatat_managed(int dirfd, const char *path, struct stat *st, int flags) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    __typeof__(sw_real_fstatat) fn = SW_REAL(fstatat);
    int rc = SW_UNLIKELY(fn == NULL) ? sw_sys_fstatat(SW_LOOKUP_DIRFD(dirfd, use, alt), use, st, flags)
                                     : fn(SW_LOOKUP_DIRFD(dirfd, use, alt), use, st, flags);
    if (rc == 0 && !SW_IDLE()) {
        if (use != path) sw_present_origin(-1, use, !(flags & AT_SYMLINK_NOFOLLOW), st);
        else if ((flags & AT_EMPTY_PATH) && path[0] == '\0') sw_present_origin(dirfd, NULL, 0, st);
    }
    return rc;
}

SW_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
    SW_IDLE_TAIL(fstatat, dirfd, path, st, flags);
    return sw_fstatat_managed(dirfd, path, st, flags);
}

SW_REAL_DECL(int, fstat, (int, struct stat *));

SW_EXPORT int fstat(int fd, struct stat *st) {
    SW_IDLE_TAIL(fstat, fd, st);
    __typeof__(sw_real_fstat) fn = SW_REAL(fstat);
    int rc = SW_UNLIKELY(fn == NULL) ? (int)syscall(SYS_fstat, fd, st) : fn(fd, st);
    if (rc == 0 && !SW_IDLE()) sw_present_origin(fd, NULL, 0, st);
    return rc;
}

static __attribute__((noinline)) int sw_access_managed(const char *path, int amode) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH(AT_FDCWD, path, alt);
    __typeof__(sw_real_access) fn = SW_REAL(access);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_faccessat, AT_FDCWD, use, amode);
    return fn(use, amode);
}

SW_EXPORT int access(const char *path, int amode) {
    SW_IDLE_TAIL(access, path, amode);
    return sw_access_managed(path, amode);
}

static __attribute__((noinline)) int sw_faccessat_managed(int dirfd, const char *path, int amode, int flags) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    __typeof__(sw_real_faccessat) fn = SW_REAL(faccessat);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_faccessat2, SW_LOOKUP_DIRFD(dirfd, use, alt), use, amode, flags);
    return fn(SW_LOOKUP_DIRFD(dirfd, use, alt), use, amode, flags);
}

SW_EXPORT int faccessat(int dirfd, const char *path, int amode, int flags) {
    SW_IDLE_TAIL(faccessat, dirfd, path, amode, flags);
    return sw_faccessat_managed(dirfd, path, amode, flags);
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

int __fxstat(int, int, struct stat *);
int __fxstat64(int, int, struct stat64 *);

static int sw_stat_at(int dirfd, const char *path, void *st, int flags) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    int rc = (int)syscall(SYS_newfstatat, SW_LOOKUP_DIRFD(dirfd, use, alt), use, st, flags);
    if (rc == 0 && !SW_IDLE()) {
        if (use != path) sw_present_origin(-1, use, !(flags & AT_SYMLINK_NOFOLLOW), st);
        else if ((flags & AT_EMPTY_PATH) && path[0] == '\0') sw_present_origin(dirfd, NULL, 0, st);
    }
    return rc;
}

static int sw_stat_fd(int fd, void *st) {
    int rc = (int)syscall(SYS_fstat, fd, st);
    if (rc == 0 && !SW_IDLE()) sw_present_origin(fd, NULL, 0, st);
    return rc;
}

SW_EXPORT int fstat64(int fd, struct stat64 *st) {
    return sw_stat_fd(fd, st);
}

SW_EXPORT int __fxstat(int ver, int fd, struct stat *st) {
    (void)ver;
    return sw_stat_fd(fd, st);
}

SW_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st) {
    (void)ver;
    return sw_stat_fd(fd, st);
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

static __attribute__((noinline)) int sw_statx_managed(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
    char alt[PATH_MAX];
    const char *use = SW_LOOKUP_PATH_AS(dirfd, path, alt, SW_AT_INTENT(flags));
    __typeof__(sw_real_statx) fn = SW_REAL(statx);
    int rc = SW_UNLIKELY(fn == NULL) ? (int)syscall(SYS_statx, SW_LOOKUP_DIRFD(dirfd, use, alt), use, flags, mask, buf)
                                     : fn(SW_LOOKUP_DIRFD(dirfd, use, alt), use, flags, mask, buf);
    if (rc == 0 && !SW_IDLE()) {
        int by_fd = use == path && (flags & AT_EMPTY_PATH) && path[0] == '\0';
        unsigned long long dev, ino;
        if ((use != path || by_fd) &&
            sw_identity(dirfd, by_fd ? NULL : use, !(flags & AT_SYMLINK_NOFOLLOW), buf->stx_mode,
                        makedev(buf->stx_dev_major, buf->stx_dev_minor), &dev, &ino) == 0) {
            buf->stx_dev_major = major((dev_t)dev);
            buf->stx_dev_minor = minor((dev_t)dev);
            buf->stx_ino = ino;
        }
    }
    return rc;
}

SW_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
    SW_IDLE_TAIL(statx, dirfd, path, flags, mask, buf);
    return sw_statx_managed(dirfd, path, flags, mask, buf);
}
#endif
