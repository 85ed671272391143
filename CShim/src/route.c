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
#include <sys/syscall.h>
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

/* Map a path inside the spill area back to the name the application knows. */
static int sw_unspill(char abs[PATH_MAX], size_t n) {
    size_t sl = sw_cfg.spill_len;
    if (sl == 0 || n < sl || memcmp(abs, sw_cfg.spill, sl) != 0 || (abs[sl] != '/' && abs[sl] != '\0')) return (int)n;
    size_t rest = n - sl;
    if (sw_cfg.root_len + rest >= PATH_MAX) return -1;
    memmove(abs + sw_cfg.root_len, abs + sl, rest + 1);
    memcpy(abs, sw_cfg.root, sw_cfg.root_len);
    n = sw_cfg.root_len + rest;
    if (n == 0) {
        abs[0] = '/';
        abs[1] = '\0';
        n = 0;
    }
    return (int)n;
}

/* The directory `dirfd` (or the cwd) names, as the application sees it; "" for "/".
 * *in_spill says whether it is a directory inside the spill area. */
static int sw_base_dir(int dirfd, char abs[PATH_MAX], int *in_spill) {
    ssize_t got;
    if (dirfd == AT_FDCWD) {
        if (sw_sys_getcwd(abs, PATH_MAX) < 0 || abs[0] != '/') return -1;
        got = (ssize_t)strlen(abs);
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
        got = sw_sys_readlinkat(AT_FDCWD, link, abs, PATH_MAX - 1);
        if (got <= 0 || abs[0] != '/') return -1;
        abs[got] = '\0';
    }
    if (got == 1) {
        abs[0] = '\0';
        got = 0;
    }
    size_t sl = sw_cfg.spill_len;
    *in_spill = sl != 0 && (size_t)got >= sl && memcmp(abs, sw_cfg.spill, sl) == 0 && (abs[sl] == '/' || abs[sl] == '\0');
    int n = sw_unspill(abs, (size_t)got);
    if (n == 0) abs[0] = '\0';
    return n;
}

/* The absolute, lexically normalised path of `dirfd`/`path`; its length or -1.
 * *in_spill: a relative path whose base directory is inside the spill area. */
static int sw_absolute(int dirfd, const char *path, char abs[PATH_MAX], int *in_spill) {
    size_t n = 0;
    *in_spill = 0;
    if (path[0] != '/') {
        int base = sw_base_dir(dirfd, abs, in_spill);
        if (base < 0) return -1;
        n = (size_t)base;
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

/* Is abs (length n) a managed path: in the tree, not its root, not in the spill area? */
static int sw_managed(const char *abs, size_t n) {
    return sw_within(abs, n, sw_cfg.root, sw_cfg.root_len) && n > sw_cfg.root_len &&
           !sw_within(abs, n, sw_cfg.spill, sw_cfg.spill_len);
}

/* Fill loc->spill from loc->main; -1 if too long. */
static int sw_fill_spill(struct sw_loc *loc, size_t n) {
    size_t rel_len = n - sw_cfg.root_len;
    if (sw_cfg.spill_len + rel_len >= PATH_MAX) return -1;
    memcpy(loc->spill, sw_cfg.spill, sw_cfg.spill_len);
    memcpy(loc->spill + sw_cfg.spill_len, loc->main + sw_cfg.root_len, rel_len + 1);
    loc->main_len = n;
    return 0;
}

/* lstat `abs` in the union: the spill area first for managed paths. */
static int sw_union_lstat(const char *abs, size_t n, struct stat *st, char *which_path, size_t cap) {
    if (sw_managed(abs, n)) {
        size_t rel_len = n - sw_cfg.root_len;
        if (sw_cfg.spill_len + rel_len < cap) {
            memcpy(which_path, sw_cfg.spill, sw_cfg.spill_len);
            memcpy(which_path + sw_cfg.spill_len, abs + sw_cfg.root_len, rel_len + 1);
            if (sw_exists(which_path, st)) return 1;
        }
    }
    if (n + 1 > cap) return -1;
    memcpy(which_path, n ? abs : "/", n ? n + 1 : 2);
    return sw_exists(which_path, st) ? 0 : -1;
}

/*
 * Resolve symbolic links in `path` (absolute, normalised, length n) through
 * the union, as the kernel would resolve them in the merged tree: every
 * component but the last, and the last too when `follow_last`. Writes the
 * result to out. Returns its length, or -1 with errno (ELOOP, ENOENT of a
 * missing directory component is not an error: the rest is kept lexically).
 */
static int sw_union_resolve(const char *path, size_t n, int follow_last, char out[PATH_MAX]) {
    char rest[PATH_MAX];
    char where[PATH_MAX];
    char target[PATH_MAX];
    size_t out_len = 0;
    int links = 0;
    memcpy(rest, path, n + 1);
    out[0] = '\0';
    const char *p = rest;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != '/') end++;
        size_t len = (size_t)(end - p);
        int last = (*end == '\0');
        while (*end == '/' && end[1] == '\0') end++;
        if (len == 1 && p[0] == '.') {
            p = end;
            continue;
        }
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (out_len > 0 && out[out_len - 1] != '/') out_len--;
            if (out_len > 0) out_len--;
            out[out_len] = '\0';
            p = end;
            continue;
        }
        if (out_len + 1 + len >= PATH_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        out[out_len] = '/';
        memcpy(out + out_len + 1, p, len);
        out[out_len + 1 + len] = '\0';
        size_t cand_len = out_len + 1 + len;
        p = end;
        if (last && !follow_last) {
            out_len = cand_len;
            break;
        }
        struct stat st;
        int layer = sw_union_lstat(out, cand_len, &st, where, sizeof(where));
        if (layer < 0 || !S_ISLNK(st.st_mode)) {
            out_len = cand_len; /* missing or not a link: keep it as named */
            continue;
        }
        if (++links > 40) {
            errno = ELOOP;
            return -1;
        }
        ssize_t t = sw_sys_readlinkat(AT_FDCWD, where, target, sizeof(target) - 1);
        if (t <= 0) {
            out_len = cand_len;
            continue;
        }
        target[t] = '\0';
        /* New remaining path: target + what was left of rest. */
        size_t left = strlen(p);
        if ((size_t)t + 1 + left >= PATH_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        char joined[PATH_MAX];
        memcpy(joined, target, (size_t)t);
        joined[t] = '/';
        memcpy(joined + t + 1, p, left + 1);
        memcpy(rest, joined, (size_t)t + left + 2);
        p = rest;
        if (target[0] == '/') {
            out_len = 0; /* absolute link: from the root (the container's "/") */
        }
        out[out_len] = '\0';
    }
    if (out_len == 0) {
        out[0] = '/';
        out[1] = '\0';
        return 0;
    }
    return (int)out_len;
}

/* Where loc's name is, keeping each place's lookup error (errno, or 0) in *spill_err and *main_err. */
static void sw_settle(struct sw_loc *loc, int *spill_err, int *main_err) {
    *spill_err = *main_err = 0;
    loc->err = 0;
    if (sw_exists(loc->spill, &loc->st)) {
        loc->where = SW_IN_SPILL;
        return;
    }
    *spill_err = errno;
    if (sw_exists(loc->main, &loc->st)) {
        loc->where = SW_IN_MAIN;
        return;
    }
    *main_err = errno;
    loc->where = SW_IN_NONE;
}

/* A kernel-made ELOOP: more than 40 links (each "/proc/self/root" is two). */
static const char sw_loop_path[] =
    "/proc/self/root/proc/self/root/proc/self/root/proc/self/root/proc/self/root/proc/self/root"
    "/proc/self/root/proc/self/root/proc/self/root/proc/self/root/proc/self/root/proc/self/root"
    "/proc/self/root/proc/self/root/proc/self/root/proc/self/root/proc/self/root/proc/self/root"
    "/proc/self/root/proc/self/root/proc/self/root/proc/self/root";

/*
 * The name lives in neither place, and the lookup there failed with `err`: make the call go
 * to `at` (the spill area's name, or a path the kernel refuses with ELOOP), so that the
 * kernel answers with that error. It counts as a name in the spill area with no stat: a
 * create or a lookup there fails as it would in the merged tree.
 */
static void sw_fail_at(struct sw_loc *loc, int err, const char *at) {
    size_t n = strlen(at);
    if (at != loc->spill) memcpy(loc->spill, at, n + 1);
    if (err == ELOOP) {
        memcpy(loc->main, at, n + 1);
        loc->main_len = n;
    }
    memset(&loc->st, 0, sizeof(loc->st));
    loc->where = SW_IN_SPILL;
    loc->resolved = 1;
    loc->err = err;
}

/* loc->main's parent directory into parent ("" for "/"); its length. */
static size_t sw_main_parent(const struct sw_loc *loc, char parent[PATH_MAX]) {
    size_t cut = loc->main_len;
    while (cut > 0 && loc->main[cut - 1] != '/') cut--;
    if (cut > 0) cut--;
    memcpy(parent, loc->main, cut);
    parent[cut] = '\0';
    return cut;
}

/*
 * Is spill_err, the spill area's error for loc (in neither place), the one the merged tree
 * gives? Not ENOENT; and an EACCES that may come from the spill area's own directories (the
 * caller cannot search it) counts only when the main disk's error is ENOENT and it lacks the
 * name's directory, so that the name can only be in a directory the spill area has.
 */
static int sw_spill_error_counts(const struct sw_loc *loc, int spill_err, int main_err) {
    if (spill_err == 0 || spill_err == ENOENT) return 0;
    if (spill_err != EACCES) return 1;
    if (syscall(SYS_faccessat2, AT_FDCWD, sw_cfg.spill, X_OK, AT_EACCESS) == 0) return 1;
    if (main_err != 0 && main_err != ENOENT) return 0; /* the main disk's own error stands */
    char parent[PATH_MAX];
    struct stat st;
    size_t cut = sw_main_parent(loc, parent);
    return !(sw_sys_fstatat(AT_FDCWD, cut ? parent : "/", &st, 0) == 0 && S_ISDIR(st.st_mode));
}

/* Does path have a ".." component? */
static int sw_has_dotdot(const char *path) {
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) return 1;
    return 0;
}

/* sw_locate on a path already copied out of the program's memory. */
static int sw_locate_copied(int dirfd, const char *path, int follow_last, struct sw_loc *loc) {
    if (path[0] == '\0') return 0;
    int saved = errno;
    int managed = 0;
    int in_spill;
    int spill_err, main_err;
    loc->err = 0;
    loc->long_name = 0;
    int n = sw_absolute(dirfd, path, loc->main, &in_spill);
    if (n >= 0 && (size_t)n == sw_cfg.root_len && memcmp(loc->main, sw_cfg.root, (size_t)n) == 0 &&
        (in_spill || sw_has_dotdot(path))) {
        /* ".." from the top of the spill area, or from a directory that lives only there,
         * names the managed tree's root, which is the main disk's (as stat of the root
         * says): keep the two consistent for programs that compare them (fts). */
        if (!in_spill && sw_sys_fstatat(dirfd, path, &loc->st, AT_SYMLINK_NOFOLLOW) == 0) goto done;
        memcpy(loc->main, n ? sw_cfg.root : "/", n ? (size_t)n + 1 : 2);
        loc->main_len = n ? (size_t)n : 1;
        memcpy(loc->spill, sw_cfg.spill, sw_cfg.spill_len + 1);
        loc->resolved = 1;
        loc->where = sw_exists(loc->main, &loc->st) ? SW_IN_MAIN : SW_IN_NONE;
        managed = 1;
        goto done;
    }
    if (n < 0 || (sw_managed(loc->main, (size_t)n) && sw_fill_spill(loc, (size_t)n) != 0)) {
        managed = sw_long_locate(dirfd, path, loc);
        goto done;
    }
    if (!sw_managed(loc->main, (size_t)n)) goto done;
    managed = 1;
    /* Relative to a directory in the spill area (a descriptor or cwd that
     * open/chdir routed there), the original arguments do not reach the main
     * disk: callers must use loc->main then, as for a name resolved here. */
    loc->resolved = in_spill;
    /* Fast path: the name as written, in either place. */
    sw_settle(loc, &spill_err, &main_err);
    if (loc->where == SW_IN_SPILL && !(follow_last && S_ISLNK(loc->st.st_mode))) goto done;
    if (loc->where == SW_IN_MAIN && !S_ISLNK(loc->st.st_mode)) {
        /* The kernel resolves main-disk links in the parents itself; a plain
         * main-disk name is where it is. A ".." it removed lexically may have
         * stepped out of a directory that is only in the spill area, though. */
        if (!loc->resolved && sw_has_dotdot(path)) {
            struct stat st;
            if (sw_sys_fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) loc->resolved = 1;
        }
        goto done;
    }
    /* Slow path: links in the union (a main-disk link into a spilled
     * directory, a link that lives in the spill area, a missing name). */
    char resolved[PATH_MAX];
    int r = sw_union_resolve(loc->main, (size_t)n, follow_last, resolved);
    if (r < 0) {
        /* A loop through the union is the kernel's ELOOP; otherwise keep the lexical
         * answer and let the real call report the error. */
        if (errno == ELOOP) sw_fail_at(loc, ELOOP, sw_loop_path);
        else if (loc->where == SW_IN_NONE && sw_spill_error_counts(loc, spill_err, main_err)) sw_fail_at(loc, spill_err, loc->spill);
        goto done;
    }
    if (!sw_managed(resolved, (size_t)r)) {
        managed = 0; /* the link leads out of the managed tree: the kernel handles it */
        goto done;
    }
    loc->resolved = in_spill || strcmp(loc->main, resolved) != 0;
    memcpy(loc->main, resolved, (size_t)r + 1);
    if (sw_fill_spill(loc, (size_t)r) != 0) {
        managed = 0;
        goto done;
    }
    sw_settle(loc, &spill_err, &main_err);
    /* In neither place: the error of the walk that got further than "no such name" (the
     * spill area's first, as the union looks there first): ENOTDIR under a spilled file,
     * EACCES in a directory only the spill area has, ELOOP of a loop inside it. */
    if (loc->where == SW_IN_NONE && sw_spill_error_counts(loc, spill_err, main_err)) sw_fail_at(loc, spill_err, loc->spill);
done:
    errno = saved;
    return managed;
}

int sw_locate(int dirfd, const char *path, int follow_last, struct sw_loc *loc) {
    char copy[PATH_MAX];
    int saved = errno;
    /* The program's string is read only through a copy that cannot fault: an unreadable or
     * unterminated one is left to the real call (EFAULT, ENAMETOOLONG). */
    ssize_t len = path == NULL ? -1 : sw_copy_path(path, copy);
    errno = saved;
    if (len <= 0) return 0;
    return sw_locate_copied(dirfd, copy, follow_last, loc);
}

int sw_locate_text(int dirfd, const char *copied, int follow_last, struct sw_loc *loc) {
    return sw_locate_copied(dirfd, copied, follow_last, loc);
}

/*
 * Make the directories of loc->spill's parent that the spill area lacks,
 * each with the mode and owner of the same directory on the main disk.
 * Returns 0 when the parent exists in the spill area afterwards.
 *
 * Root (of the container's user namespace) makes them itself. Any other user
 * cannot give a directory another owner, and often cannot write the spill
 * area's root-owned directories at all: it asks the supervisor (report.c),
 * which makes them with the main disk's owners and modes through descriptors.
 * So does root when its own attempt is refused (EACCES, EPERM). When neither
 * works, the library says it cannot help (once) and the caller falls back.
 */
static int sw_spill_parents_self(const struct sw_loc *loc, int may_make, int *refused) {
    char spill[PATH_MAX];
    char main_dir[PATH_MAX];
    size_t root_len = sw_cfg.root_len, spill_len = sw_cfg.spill_len;
    memcpy(spill, loc->spill, strlen(loc->spill) + 1);
    const char *rel = loc->main + root_len;
    const char *last = strrchr(rel, '/');
    *refused = 0;
    if (last == NULL || last == rel) return 0; /* parent is the spill root */
    for (const char *p = rel + 1; p <= last; p++) {
        if (*p != '/') continue;
        size_t rel_len = (size_t)(p - rel);
        spill[spill_len + rel_len] = '\0';
        struct stat st;
        if (sw_exists(spill, &st)) {
            spill[spill_len + rel_len] = '/';
            if (!S_ISDIR(st.st_mode)) return -2; /* something else is in the way */
            continue;
        }
        memcpy(main_dir, loc->main, root_len + rel_len);
        main_dir[root_len + rel_len] = '\0';
        if (!sw_exists(main_dir, &st) || !S_ISDIR(st.st_mode)) return -1;
        if (!may_make) {
            *refused = 1; /* not ours to make: the supervisor's */
            return -1;
        }
        if (sw_sys_mkdirat(AT_FDCWD, spill, st.st_mode & 07777) == 0) {
            sw_sys_fchownat(AT_FDCWD, spill, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
            sw_sys_fchmodat(AT_FDCWD, spill, st.st_mode & 07777);
        } else if (errno == EACCES || errno == EPERM) {
            *refused = 1;
            return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
        spill[spill_len + rel_len] = '/';
    }
    return 0;
}

int sw_spill_parents(const struct sw_loc *loc) {
    if (loc->long_name) return -1;
    int saved = errno;
    int refused = 0;
    /* Another user cannot give a directory the main disk's owner: it only looks. */
    int rc = sw_spill_parents_self(loc, syscall(SYS_geteuid) == 0, &refused);
    if (rc == -2 && S_ISREG(loc->st.st_mode))
        sw_cannot_help(loc->main, "cannot make its parent directories in the spill area: something that is not a directory is in the way", 0);
    if (rc != 0 && refused) {
        const char *rel = loc->main + sw_cfg.root_len;
        while (*rel == '/') rel++;
        rc = sw_ask_parents(rel);
        if (rc == -2 && sw_cfg.ask[0] == '\0')
            sw_cannot_help(loc->main, "cannot make its parent directories in the spill area: no ask socket (SPILLWAY_ASK)", 0);
        else if (rc == -2)
            sw_cannot_help(loc->main, "cannot make its parent directories in the spill area: cannot ask the supervisor", errno);
        else if (rc != 0 && errno != ENOENT && errno != ENOTDIR)
            sw_cannot_help(loc->main, "cannot make its parent directories in the spill area: the supervisor refused", errno);
    }
    if (rc != 0) rc = -1;
    errno = saved;
    return rc;
}

/* Where loc's parent directory is: SW_IN_SPILL, SW_IN_MAIN (possibly both), or SW_IN_NONE. */
static int sw_parent_place(const struct sw_loc *loc, int *main_dev_ok) {
    char parent[PATH_MAX];
    struct stat st;
    size_t cut = sw_main_parent(loc, parent);
    *main_dev_ok = 1;
    if (sw_exists(cut ? parent : "/", &st) && S_ISDIR(st.st_mode)) {
        *main_dev_ok = st.st_dev == sw_cfg.root_dev;
        return SW_IN_MAIN;
    }
    size_t scut = strlen(loc->spill) - (loc->main_len - cut);
    memcpy(parent, loc->spill, scut);
    parent[scut] = '\0';
    /* Not only a directory: a spilled file as parent makes the kernel say ENOTDIR. */
    if (sw_exists(parent, &st)) return SW_IN_SPILL;
    return SW_IN_NONE;
}

const char *sw_create_target(const struct sw_loc *loc, unsigned state) {
    if (loc->long_name) return loc->spill; /* the half long.c chose */
    if (loc->where == SW_IN_SPILL) return loc->spill; /* exists there: the call reports EEXIST or opens it */
    if (loc->where == SW_IN_MAIN) return NULL;
    int dev_ok;
    int parent = sw_parent_place(loc, &dev_ok);
    if (parent == SW_IN_SPILL) return loc->spill; /* a directory that lives only in the spill area */
    if (parent == SW_IN_NONE) return NULL;       /* ENOENT, as the real call will say */
    if (!dev_ok || state != SPILLWAY_STATE_SPILLING) return NULL;
    if (sw_spill_parents(loc) != 0) return NULL;
    return loc->spill;
}

int sw_route(int dirfd, const char *path, enum sw_intent intent, int oflags, char out[PATH_MAX]) {
    unsigned state = sw_state();
    if (state == SPILLWAY_STATE_NORMAL) return 0;
    struct sw_loc loc;
    /* O_CREAT|O_EXCL does not follow a final link either (EEXIST on a dangling one). */
    int follow = !(intent == SW_OPEN && ((oflags & O_NOFOLLOW) || (oflags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)));
    if (intent == SW_LOOKUP_NOFOLLOW) follow = 0;
    char copy[PATH_MAX];
    int saved_copy = errno;
    ssize_t pl = path == NULL ? -1 : sw_copy_path(path, copy);
    errno = saved_copy;
    if (pl <= 0 || !sw_locate_copied(dirfd, copy, follow, &loc)) return 0;
    const char *use = NULL;
    int saved = errno;
    if (intent == SW_OPEN && (oflags & O_CREAT)) use = sw_create_target(&loc, state);
    if (use == NULL && loc.where == SW_IN_SPILL) use = loc.spill;
    if (use == NULL && intent == SW_OPEN && loc.where == SW_IN_MAIN && !loc.long_name && state == SPILLWAY_STATE_SPILLING &&
        (oflags & O_ACCMODE) != O_RDONLY && S_ISREG(loc.st.st_mode) && loc.st.st_dev == sw_cfg.root_dev) {
        /* Opening a main-disk file for writing while spilling: move it first
         * (only its metadata when O_TRUNC empties it anyway). */
        if (sw_move_to_spill(&loc, !(oflags & O_TRUNC)) == 0) use = loc.spill;
    }
    /* A main-disk name (or a new one, for the main disk) that the original
     * arguments do not reach: a union link, or a directory descriptor or
     * cwd in the spill area. */
    if (use == NULL && loc.where != SW_IN_SPILL && loc.resolved) use = loc.main;
    errno = saved;
    if (use == NULL) return 0;
    /* The normalised name lost a trailing "/" or "/.": keep it, so that the
     * kernel still refuses a non-directory (ENOTDIR) as it would. */
    size_t n = strlen(use);
    const char *tail = (pl >= 2 && copy[pl - 1] == '.' && copy[pl - 2] == '/') ? "/."
                       : (pl >= 2 && copy[pl - 1] == '/')                        ? "/"
                                                                                 : "";
    size_t tl = strlen(tail);
    if (n + tl >= PATH_MAX) tl = 0;
    memcpy(out, use, n);
    memcpy(out + n, tail, tl + 1);
    return 1;
}

int sw_create_rescue_path(int dirfd, const char *path, char out[PATH_MAX]) {
    int saved = errno;
    if (!sw_slot_trusted()) {
        char copy[PATH_MAX];
        if (sw_cfg.slot != NULL && path != NULL && sw_copy_path(path, copy) > 0)
            sw_cannot_help(copy, "slot unreadable: a create past the quota is not rescued", saved);
        errno = saved;
        return 0;
    }
    struct sw_loc loc;
    unsigned mark = sw_reports();
    int managed = sw_locate(dirfd, path, 1, &loc) && loc.where == SW_IN_NONE;
    int ok = managed && sw_spill_parents(&loc) == 0;
    if (ok) memcpy(out, loc.spill, strlen(loc.spill) + 1);
    else if (managed && sw_reports() == mark) sw_cannot_help(loc.main, "cannot create it in the spill area after the main disk refused it", saved);
    errno = saved;
    return ok;
}

int sw_fopen_flags(const char *given) {
    int flags = 0;
    /* The first characters of the program's mode, through a copy that cannot fault. */
    char mode_buf[16];
    const char *mode = NULL;
    int saved = errno;
    if (given != NULL && (sw_copy_string(given, mode_buf, sizeof mode_buf) >= 0 || errno == ENAMETOOLONG)) {
        mode_buf[sizeof mode_buf - 1] = '\0';
        mode = mode_buf;
    }
    errno = saved;
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
