/*
 * mktemp.c — making unique names from a template: mkstemp, mkostemp,
 * mkstemps, mkostemps, mkdtemp (and glibc's 64-bit names).
 *
 * libc creates these files and directories with its own internal calls, so
 * the create rule (spec section 5) is applied here: while `spilling` the name
 * is made in the spill area (the template's directory mirrored there), and
 * the characters libc chose are copied back into the caller's template, which
 * then names the new file through the union.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, mkostemps, (char *, int, int));
SW_REAL_DECL(char *, mkdtemp, (char *));

/* Where to make tmpl: alt (a copy of it in the spill area), or NULL to use tmpl. */
static char *sw_temp_target(char *tmpl, int suffixlen, char alt[PATH_MAX]) {
    if (SW_IDLE() || tmpl == NULL || suffixlen < 0) return NULL;
    /* The template is read through a copy that cannot fault (libc has the unreadable one). */
    char copy[PATH_MAX];
    int saved = errno;
    ssize_t got = sw_copy_path(tmpl, copy);
    errno = saved;
    if (got < 0) return NULL;
    size_t len = (size_t)got;
    if (len < 6 + (size_t)suffixlen) return NULL;
    int dirfd;
    const char *use = sw_name_create(AT_FDCWD, copy, alt, &dirfd);
    if (use == copy) return NULL;
    size_t alen = strlen(alt);
    if (alen < len || strcmp(alt + alen - 6 - (size_t)suffixlen, copy + len - 6 - (size_t)suffixlen) != 0) return NULL;
    return alt;
}

/* Copy the six characters libc chose in alt back into tmpl. */
static void sw_temp_copy_back(char *tmpl, int suffixlen, const char *alt) {
    size_t len = strlen(tmpl), alen = strlen(alt);
    int saved = errno;
    sw_copy_out(tmpl + len - 6 - (size_t)suffixlen, alt + alen - 6 - (size_t)suffixlen, 6);
    errno = saved;
}

static int sw_mkostemps(char *tmpl, int suffixlen, int flags) {
    char alt[PATH_MAX];
    char *use = sw_temp_target(tmpl, suffixlen, alt);
    __typeof__(sw_real_mkostemps) fn = SW_REAL(mkostemps);
    if (SW_UNLIKELY(fn == NULL)) {
        errno = ENOSYS;
        return -1;
    }
    if (use == NULL) return fn(tmpl, suffixlen, flags);
    int fd = fn(use, suffixlen, flags);
    if (fd >= 0) {
        sw_temp_copy_back(tmpl, suffixlen, use);
        if (sw_claim_writer(fd)) { /* a drain moved it back meanwhile: it is on the main disk now */
            sw_sys_close(fd);
            fd = sw_sys_openat(AT_FDCWD, tmpl, O_RDWR | (flags & ~O_ACCMODE & ~O_CREAT & ~O_EXCL), 0);
        }
    }
    return fd;
}

SW_EXPORT int mkstemp(char *tmpl) {
    return sw_mkostemps(tmpl, 0, 0);
}

SW_EXPORT int mkostemp(char *tmpl, int flags) {
    return sw_mkostemps(tmpl, 0, flags);
}

SW_EXPORT int mkstemps(char *tmpl, int suffixlen) {
    return sw_mkostemps(tmpl, suffixlen, 0);
}

SW_EXPORT int mkostemps(char *tmpl, int suffixlen, int flags) {
    return sw_mkostemps(tmpl, suffixlen, flags);
}

SW_EXPORT char *mkdtemp(char *tmpl) {
    char alt[PATH_MAX];
    char *use = sw_temp_target(tmpl, 0, alt);
    __typeof__(sw_real_mkdtemp) fn = SW_REAL(mkdtemp);
    if (SW_UNLIKELY(fn == NULL)) {
        errno = ENOSYS;
        return NULL;
    }
    if (use == NULL) return fn(tmpl);
    if (fn(use) == NULL) return NULL;
    sw_temp_copy_back(tmpl, 0, use);
    return tmpl;
}

#ifdef __GLIBC__
/* LP64 glibc: the 64-bit names are the same functions. */
SW_EXPORT int mkstemp64(char *) __attribute__((alias("mkstemp")));
SW_EXPORT int mkostemp64(char *, int) __attribute__((alias("mkostemp")));
SW_EXPORT int mkstemps64(char *, int) __attribute__((alias("mkstemps")));
SW_EXPORT int mkostemps64(char *, int, int) __attribute__((alias("mkostemps")));
#endif
