/*
 * cwd.c — names of directories and canonical names: chdir, getcwd,
 * get_current_dir_name, realpath, canonicalize_file_name, and glibc's getwd,
 * __getcwd_chk and __realpath_chk.
 *
 * chdir into a directory that exists only in the spill area changes into the
 * spill area's directory; everything then resolves relative names through
 * the union (route.c maps a working directory inside the spill area back to
 * the application's name), and getcwd and its friends answer with the
 * application's name. realpath resolves through the union (libc's own would
 * not see a spilled name) and answers with the application's names too.
 *
 * getcwd(NULL, ...), realpath(..., NULL) and friends return malloc'd memory,
 * as their contract says; that allocation is libc's own or on its behalf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, chdir, (const char *));
SW_REAL_DECL(char *, getcwd, (char *, size_t));
SW_REAL_DECL(char *, get_current_dir_name, (void));
SW_REAL_DECL(char *, realpath, (const char *, char *));

SW_EXPORT int chdir(const char *path) {
    if (!SW_IDLE()) {
        struct sw_name nm;
        char alt[PATH_MAX];
        if (sw_name_locate(AT_FDCWD, path, 1, &nm)) {
            struct stat st;
            int place = SW_IN_NONE;
            if (nm.loc.where == SW_IN_SPILL &&
                !(sw_sys_fstatat(AT_FDCWD, nm.loc.main, &st, 0) == 0 && S_ISDIR(st.st_mode)))
                place = SW_IN_SPILL; /* only in the spill area */
            else if (nm.loc.resolved)
                place = SW_IN_MAIN;
            if (place != SW_IN_NONE && sw_name_path(&nm, place, alt) == 0) path = alt;
        }
    }
    __typeof__(sw_real_chdir) fn = SW_REAL(chdir);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_chdir, path);
    return fn(path);
}

/* The working directory as the application names it, into out. 1 when it is
 * inside the spill area (and was renamed), 0 when libc's answer is right as
 * it is, -1 on error (errno set). */
static int sw_app_cwd(char out[PATH_MAX]) {
    if (sw_sys_getcwd(out, PATH_MAX) < 0) return -1;
    if (out[0] != '/') return 0;
    int r = sw_unspill_path(out, PATH_MAX);
    if (r < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return r;
}

/* getcwd's result `name` into buf/size as getcwd would place it. */
static char *sw_getcwd_result(const char *name, char *buf, size_t size) {
    size_t len = strlen(name) + 1;
    if (buf == NULL) {
        size_t want = size ? size : len;
        if (want < len) {
            errno = ERANGE;
            return NULL;
        }
        buf = malloc(want);
        if (buf == NULL) {
            errno = ENOMEM;
            return NULL;
        }
    } else if (size == 0) {
        errno = EINVAL;
        return NULL;
    } else if (size < len) {
        errno = ERANGE;
        return NULL;
    }
    memcpy(buf, name, len);
    return buf;
}

static char *sw_getcwd_union(char *buf, size_t size) {
    char name[PATH_MAX];
    int saved = errno;
    if (sw_app_cwd(name) > 0) {
        errno = saved;
        return sw_getcwd_result(name, buf, size);
    }
    errno = saved;
    return SW_REAL(getcwd)(buf, size);
}

SW_EXPORT char *getcwd(char *buf, size_t size) {
    if (!SW_IDLE()) return sw_getcwd_union(buf, size);
    return SW_REAL(getcwd)(buf, size);
}

SW_EXPORT char *get_current_dir_name(void) {
    char *got = SW_REAL(get_current_dir_name)();
    if (SW_IDLE() || got == NULL) return got;
    char name[PATH_MAX];
    size_t n = strlen(got);
    if (n >= sizeof(name)) return got;
    memcpy(name, got, n + 1);
    if (sw_unspill_path(name, sizeof(name)) <= 0) return got;
    free(got);
    return sw_getcwd_result(name, NULL, 0);
}

/* The canonical name of a spill-area path as the application sees it. */
static int sw_canonical_app(const char *spill_path, char out[PATH_MAX]) {
    char canon_spill[PATH_MAX], canon_root[PATH_MAX];
    __typeof__(sw_real_realpath) real = SW_REAL(realpath);
    if (real(spill_path, out) == NULL) return -1;
    if (sw_unspill_path(out, PATH_MAX) != 0) return 0;
    /* The spill area's own name is not canonical (a link on the way): compare canonically. */
    if (real(sw_cfg.spill, canon_spill) == NULL || real(sw_cfg.root_len ? sw_cfg.root : "/", canon_root) == NULL)
        return 0;
    size_t cs = strlen(canon_spill), cr = strlen(canon_root), n = strlen(out);
    if (strncmp(out, canon_spill, cs) != 0 || (out[cs] != '/' && out[cs] != '\0')) return 0;
    if (cr == 1) cr = 0;
    if (cr + (n - cs) + 2 > PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memmove(out + cr, out + cs, n - cs + 1);
    memcpy(out, canon_root, cr);
    if (out[0] == '\0') {
        out[0] = '/';
        out[1] = '\0';
    }
    return 0;
}

static char *sw_realpath_union(const char *path, char *resolved) {
    __typeof__(sw_real_realpath) real = SW_REAL(realpath);
    if (path == NULL) return real(path, resolved);
    struct sw_loc loc;
    int saved = errno;
    if (!sw_locate(AT_FDCWD, path, 1, &loc) || loc.where == SW_IN_NONE) return real(path, resolved);
    char out[PATH_MAX];
    if (loc.where == SW_IN_SPILL) {
        if (sw_canonical_app(loc.spill, out) != 0) return NULL;
    } else if (real(loc.main, out) == NULL) {
        return NULL;
    }
    errno = saved;
    if (resolved != NULL) {
        memcpy(resolved, out, strlen(out) + 1);
        return resolved;
    }
    char *copy = malloc(strlen(out) + 1);
    if (copy == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(copy, out, strlen(out) + 1);
    return copy;
}

SW_EXPORT char *realpath(const char *path, char *resolved) {
    if (!SW_IDLE()) return sw_realpath_union(path, resolved);
    return SW_REAL(realpath)(path, resolved);
}

#ifdef __GLIBC__
SW_REAL_DECL(char *, canonicalize_file_name, (const char *));
SW_REAL_DECL(char *, __realpath_chk, (const char *, char *, size_t));
SW_REAL_DECL(char *, __getcwd_chk, (char *, size_t, size_t));
SW_REAL_DECL(char *, getwd, (char *));

char *__realpath_chk(const char *, char *, size_t);
char *__getcwd_chk(char *, size_t, size_t);

SW_EXPORT char *canonicalize_file_name(const char *path) {
    if (!SW_IDLE()) return sw_realpath_union(path, NULL);
    return SW_REAL(canonicalize_file_name)(path);
}

/* _FORTIFY_SOURCE: a buffer too small makes libc's own entry point abort. */
SW_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen) {
    if (!SW_IDLE() && resolvedlen >= PATH_MAX) return sw_realpath_union(path, resolved);
    return SW_REAL(__realpath_chk)(path, resolved, resolvedlen);
}

SW_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen) {
    if (!SW_IDLE() && size <= buflen) return sw_getcwd_union(buf, size);
    return SW_REAL(__getcwd_chk)(buf, size, buflen);
}

SW_EXPORT char *getwd(char *buf) {
    char *got = SW_REAL(getwd)(buf);
    if (SW_IDLE() || got == NULL) return got;
    int saved = errno;
    sw_unspill_path(got, PATH_MAX); /* getwd's buffer holds PATH_MAX bytes by contract */
    errno = saved;
    return got;
}
#endif
