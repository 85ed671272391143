/*
 * glob.c — glibc's glob and glob64, which read directories with libc's
 * internal opendir and stat: while not `normal` they are given the library's
 * own directory and stat hooks (GLOB_ALTDIRFUNC), so a pattern matches names
 * in the union. musl's glob has no such hooks and is left alone (docs/SHIM.md).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>

#include "real.h"

#ifdef __GLIBC__
typedef int (*sw_glob_errfunc)(const char *, int);
SW_REAL_DECL(int, glob, (const char *, int, sw_glob_errfunc, glob_t *));

static void *sw_glob_opendir(const char *path) {
    return opendir(path);
}

static struct dirent *sw_glob_readdir(void *dir) {
    return readdir(dir);
}

static void sw_glob_closedir(void *dir) {
    closedir(dir);
}

SW_EXPORT int glob(const char *pattern, int flags, sw_glob_errfunc errfunc, glob_t *pglob) {
    if (SW_IDLE() || (flags & GLOB_ALTDIRFUNC)) return SW_REAL(glob)(pattern, flags, errfunc, pglob);
    pglob->gl_opendir = sw_glob_opendir;
    pglob->gl_readdir = sw_glob_readdir;
    pglob->gl_closedir = sw_glob_closedir;
    pglob->gl_stat = stat;
    pglob->gl_lstat = lstat;
    int rc = SW_REAL(glob)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, pglob);
    pglob->gl_flags &= ~GLOB_ALTDIRFUNC;
    return rc;
}

/* LP64 glibc: glob64_t is glob_t with stat64, the same layout. */
SW_EXPORT int glob64(const char *pattern, int flags, sw_glob_errfunc errfunc, glob64_t *pglob) {
    return glob(pattern, flags, errfunc, (glob_t *)pglob);
}
#endif
