/*
 * route.c — where does a path live: the main disk or the spill area?
 *
 * A path is turned into an absolute, lexically normalised path; if it lies in
 * the managed tree (and not in the spill area itself) its relative part names
 * the same place in the spill area. Lookups prefer the spill area; creates go
 * to the spill area while the container is `spilling` (parents made there with
 * the main disk's mode and owner); everything else keeps its original path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

int sw_join_normalise(char *out, size_t n, const char *path) {
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != '/') end++;
        size_t len = (size_t)(end - p);
        if (len == 1 && p[0] == '.') {
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
        } else {
            if (n + 1 + len >= PATH_MAX) return -1;
            out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p = end;
    }
    out[n] = '\0';
    return (int)n;
}

/* The absolute path of `dirfd`/`path`; returns its length or -1. */
static int sw_absolute(int dirfd, const char *path, char abs[PATH_MAX]) {
    size_t n = 0;
    if (path[0] != '/') {
        if (dirfd == AT_FDCWD) {
            if (sw_sys_getcwd(abs, PATH_MAX) < 0 || abs[0] != '/') return -1;
        } else {
            char link[32] = "/proc/self/fd/";
            char digits[16];
            int d = 0;
            unsigned v = (unsigned)dirfd;
            if (dirfd < 0) return -1;
            do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v && d < 15);
            size_t l = strlen(link);
            while (d > 0) link[l++] = digits[--d];
            link[l] = '\0';
            ssize_t got = sw_sys_readlinkat(AT_FDCWD, link, abs, PATH_MAX - 1);
            if (got <= 0 || abs[0] != '/') return -1;
            abs[got] = '\0';
        }
        n = strlen(abs);
        if (n == 1) n = 0; /* "/" */
    }
    return sw_join_normalise(abs, n, path);
}

/* Is `abs` (length n) inside `dir` (length dlen, "" meaning "/")? */
static int sw_within(const char *abs, size_t n, const char *dir, size_t dlen) {
    if (dlen == 0) return 1;
    return n >= dlen && memcmp(abs, dir, dlen) == 0 && (abs[dlen] == '/' || abs[dlen] == '\0');
}

/* Does `path` exist (without following a final symlink)? */
static int sw_exists(const char *path, struct stat *st) {
    return sw_sys_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Make the directories of spill/rel's parent that the spill area lacks, each
 * with the mode and owner of the same directory on the main disk. Returns 0
 * when the parent exists in the spill area afterwards.
 */
static int sw_make_spill_parents(const char *main_abs, size_t rel_start, char spill_path[PATH_MAX]) {
    size_t spill_len = sw_cfg.spill_len;
    const char *rel = main_abs + rel_start;
    const char *last = strrchr(rel, '/');
    if (last == NULL || last == rel) return 0; /* parent is the spill root */
    char main_dir[PATH_MAX];
    for (const char *p = rel + 1; p <= last; p++) {
        if (*p != '/') continue;
        size_t rel_len = (size_t)(p - rel);
        spill_path[spill_len + rel_len] = '\0';
        struct stat st;
        if (sw_exists(spill_path, &st)) {
            spill_path[spill_len + rel_len] = '/';
            if (!S_ISDIR(st.st_mode)) return -1;
            continue;
        }
        memcpy(main_dir, main_abs, rel_start + rel_len);
        main_dir[rel_start + rel_len] = '\0';
        if (!sw_exists(main_dir, &st) || !S_ISDIR(st.st_mode)) {
            spill_path[spill_len + rel_len] = '/';
            return -1;
        }
        if (sw_sys_mkdirat(AT_FDCWD, spill_path, st.st_mode & 07777) == 0) {
            sw_sys_fchownat(AT_FDCWD, spill_path, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
            sw_sys_fchmodat(AT_FDCWD, spill_path, st.st_mode & 07777);
        } else if (errno != EEXIST) {
            spill_path[spill_len + rel_len] = '/';
            return -1;
        }
        spill_path[spill_len + rel_len] = '/';
    }
    return 0;
}

/* The parent directory of `abs` (length n), as a path and a stat. */
static int sw_parent_stat(const char *abs, size_t n, struct stat *st) {
    char parent[PATH_MAX];
    size_t cut = n;
    while (cut > 0 && abs[cut - 1] != '/') cut--;
    if (cut > 0) cut--;
    if (cut == 0) {
        parent[0] = '/';
        parent[1] = '\0';
    } else {
        memcpy(parent, abs, cut);
        parent[cut] = '\0';
    }
    return sw_exists(parent, st) ? 0 : -1;
}

int sw_route(int dirfd, const char *path, enum sw_intent intent, int oflags, char out[PATH_MAX]) {
    if (path == NULL || path[0] == '\0') return 0;
    unsigned state = sw_state();
    if (state == SPILLWAY_STATE_NORMAL) return 0;
    int saved = errno;
    int routed = 0;
    char abs[PATH_MAX];
    int n = sw_absolute(dirfd, path, abs);
    if (n < 0) goto done;
    size_t len = (size_t)n;
    if (!sw_within(abs, len, sw_cfg.root, sw_cfg.root_len)) goto done;
    if (sw_within(abs, len, sw_cfg.spill, sw_cfg.spill_len)) goto done;
    size_t rel_start = sw_cfg.root_len;
    size_t rel_len = len - rel_start;
    if (rel_len == 0) goto done; /* the managed root itself */
    if (sw_cfg.spill_len + rel_len >= PATH_MAX) goto done;
    memcpy(out, sw_cfg.spill, sw_cfg.spill_len);
    memcpy(out + sw_cfg.spill_len, abs + rel_start, rel_len + 1);

    struct stat st;
    if (sw_exists(out, &st)) {
        routed = 1; /* the spill area holds it: lookups and opens go there */
        goto done;
    }
    if (intent != SW_OPEN || !(oflags & O_CREAT)) goto done;
    if (sw_exists(abs, &st) || errno != ENOENT) goto done; /* exists on the main disk, or an error to report as is */

    struct stat parent;
    int main_parent = sw_parent_stat(abs, len, &parent) == 0;
    if (main_parent && (!S_ISDIR(parent.st_mode) || parent.st_dev != sw_cfg.root_dev)) goto done;
    if (state == SPILLWAY_STATE_DRAINING && main_parent) goto done; /* new files go to the main disk again */
    if (sw_make_spill_parents(abs, rel_start, out) != 0) goto done;
    routed = 1;
done:
    errno = saved;
    return routed;
}

int sw_fopen_flags(const char *mode) {
    int flags = 0;
    switch (mode ? mode[0] : 'r') {
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: flags = O_RDONLY; break;
    }
    for (const char *m = mode ? mode + 1 : ""; *m && *m != ','; m++) {
        if (*m == '+') flags = (flags & ~(O_RDONLY | O_WRONLY)) | O_RDWR;
        if (*m == 'x') flags |= O_EXCL;
    }
    return flags;
}
