/*
 * open.c — the open family: open, openat, creat, their 64-bit names and the
 * _FORTIFY_SOURCE entry points (__open_2, __openat_2, ...).
 *
 * While `normal` each hook is one state load and a call to libc. Otherwise the
 * path is routed (route.c): an existing spilled file opens in the spill area,
 * and a new name created while `spilling` is created there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

#include "real.h"

/* The mode argument exists only with O_CREAT or O_TMPFILE, as in musl's open.c. */
#define SW_NEEDS_MODE(flags) (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)
#define SW_MODE_ARG(flags, last, mode)         \
    do {                                       \
        if (SW_NEEDS_MODE(flags)) {            \
            va_list ap_;                       \
            va_start(ap_, last);               \
            mode = (mode_t)va_arg(ap_, int);   \
            va_end(ap_);                       \
        }                                      \
    } while (0)

SW_REAL_DECL(int, openat, (int, const char *, int, ...));
SW_REAL_DECL(int, open, (const char *, int, ...));
SW_REAL_DECL(int, creat, (const char *, mode_t));

/* Open the routed path, with libc's openat (or the raw call if it has none). */
static int sw_open_routed(const char *path, int flags, mode_t mode) {
    int (*fn)(int, const char *, int, ...) = SW_REAL(openat);
    if (fn == NULL) return sw_sys_openat(AT_FDCWD, path, flags, mode);
    return fn(AT_FDCWD, path, flags, mode);
}

/*
 * fd was opened at `alt` for the application's dirfd/path. A description writing a
 * spill-area file is marked for the drain (spillway_slot.h); if a drain moved the file back
 * to the main disk while it was being opened, the name is opened again, there.
 */
static int sw_open_settle(int fd, int dirfd, const char *path, const char *alt, int flags, mode_t mode) {
    if (fd < 0 || !sw_writes(flags) || !sw_in_spill_area(alt) || !sw_claim_writer(fd)) return fd;
    sw_sys_close(fd);
    int again_flags = flags & ~O_EXCL;
    char again[PATH_MAX];
    if (!SW_IDLE() && sw_route(dirfd, path, SW_OPEN, again_flags, again)) return sw_open_routed(again, again_flags, mode);
    return sw_sys_openat(dirfd, path, again_flags, mode);
}

/* A create that failed for want of quota on the main disk is made in the spill area. */
static __attribute__((noinline)) int sw_open_rescue_slow(int fd, int dirfd, const char *path, int flags, mode_t mode) {
    sw_ensure_init();
    char alt[PATH_MAX];
    if (sw_cfg.slot != NULL && sw_create_rescue_path(dirfd, path, alt)) {
        int saved = errno;
        int again = sw_open_routed(alt, flags, mode);
        if (again >= 0) {
            sw_note_rescue();
            if (sw_writes(flags)) sw_mark_writer(again);
            return again;
        }
        sw_cannot_help_spill(alt, "cannot create it in the spill area either", errno);
        errno = saved;
    }
    return fd;
}

static inline int sw_open_rescue(int fd, int dirfd, const char *path, int flags, mode_t mode) {
    if (SW_UNLIKELY(fd < 0) && (flags & O_CREAT) && (errno == EDQUOT || errno == ENOSPC))
        return sw_open_rescue_slow(fd, dirfd, path, flags, mode);
    return fd;
}

/* Every state but `normal`: route the name, then libc (and the rescue) if it stays put. */
static __attribute__((noinline)) int sw_open_managed(int dirfd, const char *path, int flags, mode_t mode) {
    char alt[PATH_MAX];
    if (sw_route(dirfd, path, SW_OPEN, flags, alt))
        return sw_open_settle(sw_open_routed(alt, flags, mode), dirfd, path, alt, flags, mode);
    int (*fn)(int, const char *, int, ...) = SW_REAL(openat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_openat(dirfd, path, flags, mode);
    return sw_open_rescue(fn(dirfd, path, flags, mode), dirfd, path, flags, mode);
}

SW_EXPORT int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    SW_MODE_ARG(flags, flags, mode);
    if (SW_UNLIKELY(!SW_IDLE())) return sw_open_managed(AT_FDCWD, path, flags, mode);
    int (*fn)(const char *, int, ...) = SW_REAL(open);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_openat(AT_FDCWD, path, flags, mode);
    return sw_open_rescue(fn(path, flags, mode), AT_FDCWD, path, flags, mode);
}

SW_EXPORT int openat(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    SW_MODE_ARG(flags, flags, mode);
    if (SW_UNLIKELY(!SW_IDLE())) return sw_open_managed(dirfd, path, flags, mode);
    int (*fn)(int, const char *, int, ...) = SW_REAL(openat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_openat(dirfd, path, flags, mode);
    return sw_open_rescue(fn(dirfd, path, flags, mode), dirfd, path, flags, mode);
}

SW_EXPORT int creat(const char *path, mode_t mode) {
    int flags = O_CREAT | O_WRONLY | O_TRUNC;
    if (SW_UNLIKELY(!SW_IDLE())) return sw_open_managed(AT_FDCWD, path, flags, mode);
    int (*fn)(const char *, mode_t) = SW_REAL(creat);
    if (SW_UNLIKELY(fn == NULL)) return sw_sys_openat(AT_FDCWD, path, flags, mode);
    return sw_open_rescue(fn(path, mode), AT_FDCWD, path, flags, mode);
}

#ifdef __GLIBC__
/*
 * On LP64 glibc the 64-bit names are the same functions as the plain ones
 * (off_t is 64-bit): they share the hooks.
 */
SW_EXPORT int open64(const char *, int, ...) __attribute__((alias("open")));
SW_EXPORT int openat64(int, const char *, int, ...) __attribute__((alias("openat")));
SW_EXPORT int creat64(const char *, mode_t) __attribute__((alias("creat")));

SW_REAL_DECL(int, __open_2, (const char *, int));
SW_REAL_DECL(int, __openat_2, (int, const char *, int));

int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);

/* The fortified entry points take no mode: libc aborts if O_CREAT is set. */
#define SW_FORTIFIED(name, ...)                                                   \
    do {                                                                          \
        char alt[PATH_MAX];                                                       \
        if (!SW_IDLE() && !SW_NEEDS_MODE(flags) && sw_route(dirfd, path, SW_OPEN, flags, alt)) \
            return sw_open_settle(sw_open_routed(alt, flags, 0), dirfd, path, alt, flags, 0); \
        __typeof__(sw_real_##name) fn = SW_REAL(name);                            \
        if (SW_UNLIKELY(fn == NULL)) return sw_sys_openat(dirfd, path, flags, 0); \
        return fn(__VA_ARGS__);                                                   \
    } while (0)

SW_EXPORT int __open_2(const char *path, int flags) {
    const int dirfd = AT_FDCWD;
    SW_FORTIFIED(__open_2, path, flags);
}

SW_EXPORT int __openat_2(int dirfd, const char *path, int flags) {
    SW_FORTIFIED(__openat_2, dirfd, path, flags);
}

SW_EXPORT int __open64_2(const char *, int) __attribute__((alias("__open_2")));
SW_EXPORT int __openat64_2(int, const char *, int) __attribute__((alias("__openat_2")));
#endif
