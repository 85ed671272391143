/*
 * stdio.c — stdio openers (fopen, freopen and their 64-bit names).
 *
 * glibc and musl open the file inside libc without going through open(), so
 * these are hooked on their own; the mode string is turned into open flags
 * and routed like open(). What the stream writes later goes through write()
 * (stdout.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>

#include "real.h"

SW_REAL_DECL(FILE *, fopen, (const char *, const char *));
SW_REAL_DECL(FILE *, freopen, (const char *, const char *, FILE *));

static const char *sw_stdio_path(const char *path, const char *mode, char alt[PATH_MAX]) {
    if (!SW_IDLE() && sw_route(AT_FDCWD, path, SW_OPEN, sw_fopen_flags(mode), alt)) return alt;
    return path;
}

/* As open.c's sw_open_settle: mark a stream writing a spill-area file, and open the name
 * again if a drain moved the file back while it was being opened. */
static FILE *sw_stdio_settle(FILE *fp, const char *path, const char *use, const char *mode) {
    if (fp == NULL || use == path || !sw_writes(sw_fopen_flags(mode)) || !sw_in_spill_area(use) ||
        !sw_claim_writer(fileno(fp)))
        return fp;
    char again[PATH_MAX];
    return SW_REAL(freopen)(sw_stdio_path(path, mode, again), mode, fp);
}

SW_EXPORT FILE *fopen(const char *path, const char *mode) {
    char alt[PATH_MAX];
    const char *use = sw_stdio_path(path, mode, alt);
    FILE *fp = sw_stdio_settle(SW_REAL(fopen)(use, mode), path, use, mode);
    sw_stdio_adopt(fp);
    return fp;
}

SW_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream) {
    char alt[PATH_MAX];
    const char *use = path ? sw_stdio_path(path, mode, alt) : NULL;
    if (stream != NULL) sw_stdio_before_reopen(stream);
    FILE *fp = sw_stdio_settle(SW_REAL(freopen)(use, mode, stream), path, use, mode);
    sw_stdio_adopt(fp);
    return fp;
}

#ifdef __GLIBC__
/* LP64 glibc: the 64-bit names are the same functions. */
SW_EXPORT FILE *fopen64(const char *, const char *) __attribute__((alias("fopen")));
SW_EXPORT FILE *freopen64(const char *, const char *, FILE *) __attribute__((alias("freopen")));
#endif
