/*
 * union.c — what the namespace hooks share: locating a name with its
 * trailing "/", "/." or "/.." kept aside (so the kernel still sees them and
 * answers as it would), building the name to use in one place, acting on
 * every half of a directory present in both places, mirroring directories
 * onto the main disk, and emptiness checks.
 *
 * Everything here uses raw system calls (sys.c) or libc functions Spillway
 * does not hook, and preserves errno unless it says otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* Split `path` into a head and a tail: trailing slashes, and a final "." or
 * ".." component, go to the tail ("", "/", "/.", "/..", "/./", "/../").
 * Returns the head's length, 0 when nothing managed is left of it. A path
 * that is only "." or ".." is kept whole as the head when `dots`. */
static size_t sw_split_tail(const char *path, char head[PATH_MAX], char tail[8], int dots_ok) {
    size_t n = strlen(path);
    tail[0] = '\0';
    if (n == 0 || n >= PATH_MAX) return 0;
    memcpy(head, path, n + 1);
    int slash = 0;
    while (n > 1 && head[n - 1] == '/') {
        n--;
        slash = 1;
    }
    head[n] = '\0';
    size_t start = n;
    while (start > 0 && head[start - 1] != '/') start--;
    size_t comp = n - start;
    int dots = (comp == 1 && head[start] == '.') ? 1 : (comp == 2 && head[start] == '.' && head[start + 1] == '.') ? 2 : 0;
    size_t t = 0;
    if (dots) {
        if (start == 0) {
            /* ".", "..": the kernel's business, unless the caller only looks */
            if (!dots_ok) return 0;
            if (slash) tail[t++] = '/';
            tail[t] = '\0';
            return n;
        }
        tail[t++] = '/';
        for (int i = 0; i < dots; i++) tail[t++] = '.';
        n = start - 1;
        while (n > 1 && head[n - 1] == '/') n--;
        head[n] = '\0';
    }
    if (slash) tail[t++] = '/';
    tail[t] = '\0';
    if (n == 1 && head[0] == '/') return 0;
    return n;
}

static int sw_name_locate_as(int dirfd, const char *path, int follow, struct sw_name *nm, int dots_ok) {
    char copy[PATH_MAX], head[PATH_MAX];
    if (path == NULL) return 0;
    /* The one read of the program's string, through a copy that cannot fault: an
     * unreadable one goes to the real call, which says EFAULT. */
    int saved = errno;
    ssize_t len = sw_copy_path(path, copy);
    errno = saved;
    if (len <= 0) return 0;
    if (sw_split_tail(copy, head, nm->tail, dots_ok) == 0) return 0;
    return sw_locate_text(dirfd, head, follow, &nm->loc);
}

int sw_name_locate(int dirfd, const char *path, int follow, struct sw_name *nm) {
    return sw_name_locate_as(dirfd, path, follow, nm, 0);
}

/* The same for a call that only looks or changes attributes: "." and ".."
 * name the directories they lead to. */
static int sw_name_locate_dots(int dirfd, const char *path, int follow, struct sw_name *nm) {
    return sw_name_locate_as(dirfd, path, follow, nm, 1);
}

int sw_name_path(const struct sw_name *nm, int place, char out[PATH_MAX]) {
    const char *base = place == SW_IN_SPILL ? nm->loc.spill : nm->loc.main;
    size_t bl = strlen(base), tl = strlen(nm->tail);
    if (bl + tl >= PATH_MAX) return -1;
    memcpy(out, base, bl);
    memcpy(out + bl, nm->tail, tl + 1);
    return 0;
}

const char *sw_name_lookup(int dirfd, const char *path, int follow, char alt[PATH_MAX], int *use_dirfd) {
    struct sw_name nm;
    *use_dirfd = dirfd;
    if (!sw_name_locate_dots(dirfd, path, follow, &nm)) return path;
    int place = nm.loc.where == SW_IN_SPILL ? SW_IN_SPILL : nm.loc.resolved ? SW_IN_MAIN : SW_IN_NONE;
    if (place == SW_IN_NONE || sw_name_path(&nm, place, alt) != 0) return path;
    *use_dirfd = AT_FDCWD;
    return alt;
}

int sw_name_both_dir(const struct sw_name *nm) {
    struct stat st;
    return !nm->loc.long_name && nm->loc.where == SW_IN_SPILL && S_ISDIR(nm->loc.st.st_mode) &&
           sw_sys_fstatat(AT_FDCWD, nm->loc.main, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int sw_on_places(int dirfd, const char *path, int follow, sw_path_op op, void *ctx) {
    struct sw_name nm;
    char alt[PATH_MAX];
    if (!sw_name_locate_dots(dirfd, path, follow, &nm)) return op(dirfd, path, ctx);
    if (nm.loc.where == SW_IN_SPILL && sw_name_path(&nm, SW_IN_SPILL, alt) == 0) {
        int both = sw_name_both_dir(&nm);
        int rc = op(AT_FDCWD, alt, ctx);
        if (rc == 0 && both && sw_name_path(&nm, SW_IN_MAIN, alt) == 0) {
            /* The main half of a directory in both places follows, so that it
             * stays alike (and the spill area mirrors it for new parents). */
            int saved = errno;
            op(AT_FDCWD, alt, ctx);
            errno = saved;
        }
        return rc;
    }
    if (nm.loc.resolved && sw_name_path(&nm, SW_IN_MAIN, alt) == 0) return op(AT_FDCWD, alt, ctx);
    return op(dirfd, path, ctx);
}

/* The parent directory of `path` (absolute), into out; its length. */
static size_t sw_parent_of(const char *path, char out[PATH_MAX]) {
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] != '/') n--;
    if (n > 1) n--;
    memcpy(out, path, n);
    out[n] = '\0';
    return n;
}

int sw_main_parents(const struct sw_loc *loc) {
    if (loc->long_name) return -1;
    int saved = errno;
    char main[PATH_MAX], spill_dir[PATH_MAX];
    struct stat st;
    size_t root_len = sw_cfg.root_len, spill_len = sw_cfg.spill_len;
    size_t plen = sw_parent_of(loc->main, main);
    int rc = 0;
    if (sw_sys_fstatat(AT_FDCWD, plen ? main : "/", &st, 0) == 0) {
        rc = S_ISDIR(st.st_mode) ? 0 : -1;
        goto done;
    }
    if (plen <= root_len) {
        rc = -1;
        goto done;
    }
    /* From the top: each missing main-disk directory copies the spill area's. */
    for (size_t i = root_len + 1; i <= plen; i++) {
        if (i < plen && main[i] != '/') continue;
        char keep = main[i];
        main[i] = '\0';
        if (sw_sys_fstatat(AT_FDCWD, main, &st, 0) == 0) {
            main[i] = keep;
            if (!S_ISDIR(st.st_mode)) {
                rc = -1;
                goto done;
            }
            continue;
        }
        size_t rel = i - root_len;
        if (spill_len + rel >= PATH_MAX) {
            rc = -1;
            goto done;
        }
        memcpy(spill_dir, sw_cfg.spill, spill_len);
        memcpy(spill_dir + spill_len, main + root_len, rel + 1);
        if (sw_sys_fstatat(AT_FDCWD, spill_dir, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
            rc = -1;
            goto done;
        }
        if (sw_sys_mkdirat(AT_FDCWD, main, st.st_mode & 07777) == 0) {
            sw_sys_fchownat(AT_FDCWD, main, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
            sw_sys_fchmodat(AT_FDCWD, main, st.st_mode & 07777);
        } else if (errno != EEXIST) {
            rc = -1;
            goto done;
        }
        main[i] = keep;
    }
done:
    errno = saved;
    return rc;
}

int sw_dir_is_empty(const char *path) {
    int saved = errno;
    int fd = sw_sys_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0);
    int rc = -1;
    if (fd >= 0) {
        char buf[2048];
        long n;
        rc = 1;
        while (rc == 1 && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
            for (long pos = 0; pos < n;) {
                struct dirent64 *d = (struct dirent64 *)(buf + pos);
                pos += d->d_reclen;
                const char *nm = d->d_name;
                if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
                rc = 0;
                break;
            }
        }
        sw_sys_close(fd);
    }
    errno = saved;
    return rc;
}

int sw_place_of_dev(dev_t dev) {
    struct stat st;
    if (dev == sw_cfg.root_dev) return SW_IN_MAIN;
    if (sw_sys_fstatat(AT_FDCWD, sw_cfg.spill, &st, 0) == 0 && st.st_dev == dev) return SW_IN_SPILL;
    return SW_IN_NONE;
}

int sw_unspill_path(char *path, size_t cap) {
    size_t sl = sw_cfg.spill_len, n = strlen(path);
    if (sl == 0 || n < sl || memcmp(path, sw_cfg.spill, sl) != 0 || (path[sl] != '/' && path[sl] != '\0')) return 0;
    size_t rest = n - sl;
    size_t rl = sw_cfg.root_len;
    if (rl + rest + 2 > cap) return -1;
    memmove(path + rl, path + sl, rest + 1);
    memcpy(path, sw_cfg.root, rl);
    if (rl + rest == 0) {
        path[0] = '/';
        path[1] = '\0';
    }
    return 1;
}

int sw_app_dir(int dirfd, const char *given, char out[PATH_MAX]) {
    int saved = errno;
    size_t n = 0;
    int rc = -1;
    char path[PATH_MAX];
    if (given == NULL || sw_copy_path(given, path) < 0) goto done;
    if (path[0] != '/') {
        ssize_t got;
        if (dirfd == AT_FDCWD) {
            if (sw_sys_getcwd(out, PATH_MAX) < 0 || out[0] != '/') goto done;
            got = (ssize_t)strlen(out);
        } else {
            char link[32] = "/proc/self/fd/";
            char rev[16];
            int r = 0;
            unsigned v = (unsigned)dirfd;
            if (dirfd < 0) goto done;
            do { rev[r++] = (char)('0' + v % 10); v /= 10; } while (v);
            size_t l = strlen(link);
            while (r) link[l++] = rev[--r];
            link[l] = '\0';
            got = sw_sys_readlinkat(AT_FDCWD, link, out, PATH_MAX - 1);
            if (got <= 0 || out[0] != '/') goto done;
            out[got] = '\0';
        }
        if (sw_unspill_path(out, PATH_MAX) < 0) goto done;
        n = strlen(out);
        if (n == 1) n = 0;
    }
    int len = sw_join_normalise(out, n, path);
    if (len < 0) goto done;
    rc = len;
done:
    errno = saved;
    return rc;
}

int sw_dir_halves(int dirfd, const char *path, int follow, char spill[PATH_MAX], char main[PATH_MAX]) {
    int saved = errno;
    int rc = 0;
    struct stat st;
    char abs[PATH_MAX];
    int n = sw_app_dir(dirfd, path, abs);
    if (n >= 0 && (size_t)n == sw_cfg.root_len && (n == 0 || memcmp(abs, sw_cfg.root, (size_t)n) == 0)) {
        /* The managed tree's root: its spill half is the spill area itself. */
        memcpy(spill, sw_cfg.spill, sw_cfg.spill_len + 1);
        memcpy(main, n ? sw_cfg.root : "/", n ? (size_t)n + 1 : 2);
        if (sw_sys_fstatat(AT_FDCWD, spill, &st, 0) == 0 && S_ISDIR(st.st_mode)) rc |= SW_IN_SPILL;
        if (sw_sys_fstatat(AT_FDCWD, main, &st, 0) == 0 && S_ISDIR(st.st_mode)) rc |= SW_IN_MAIN;
        goto done;
    }
    struct sw_name nm;
    if (!sw_name_locate_dots(dirfd, path, follow, &nm)) goto done;
    if (nm.loc.where == SW_IN_NONE) goto done;
    if (nm.tail[0] == '/' && nm.tail[1] == '.' && nm.tail[2] == '.') goto done; /* "x/..": one place is enough */
    /* A final link (opendir follows) lives where it is, pointing anywhere: left to the kernel. */
    if (S_ISLNK(nm.loc.st.st_mode)) goto done;
    if (nm.loc.long_name) {
        /* One half, the one long.c found it in. */
        memcpy(spill, nm.loc.spill, strlen(nm.loc.spill) + 1);
        memcpy(main, nm.loc.main, strlen(nm.loc.main) + 1);
        if (S_ISDIR(nm.loc.st.st_mode)) rc = nm.loc.where;
        goto done;
    }
    memcpy(spill, nm.loc.spill, strlen(nm.loc.spill) + 1);
    memcpy(main, nm.loc.main, strlen(nm.loc.main) + 1);
    if (nm.loc.where == SW_IN_SPILL && S_ISDIR(nm.loc.st.st_mode)) rc |= SW_IN_SPILL;
    if (sw_sys_fstatat(AT_FDCWD, main, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) rc |= SW_IN_MAIN;
    if (rc == SW_IN_MAIN) {
        /* Found on the main disk through a link the kernel followed in a
         * parent (sw_locate's fast path): its spill half, if any, is under
         * the directory's real name. */
        int fd = sw_sys_openat(AT_FDCWD, main, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd >= 0) {
            char link[32] = "/proc/self/fd/", real[PATH_MAX];
            char rev[16];
            int r = 0;
            unsigned v = (unsigned)fd;
            do { rev[r++] = (char)('0' + v % 10); v /= 10; } while (v);
            size_t l = strlen(link);
            while (r) link[l++] = rev[--r];
            link[l] = '\0';
            ssize_t got = sw_sys_readlinkat(AT_FDCWD, link, real, sizeof(real) - 1);
            sw_sys_close(fd);
            size_t rl = sw_cfg.root_len;
            if (got > 0 && (size_t)got > rl && (rl == 0 || (memcmp(real, sw_cfg.root, rl) == 0 && real[rl] == '/'))) {
                real[got] = '\0';
                size_t rest = (size_t)got - rl;
                if (strcmp(real, main) != 0 && sw_cfg.spill_len + rest < PATH_MAX) {
                    memcpy(spill, sw_cfg.spill, sw_cfg.spill_len);
                    memcpy(spill + sw_cfg.spill_len, real + rl, rest + 1);
                    if (sw_sys_fstatat(AT_FDCWD, spill, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
                        memcpy(main, real, (size_t)got + 1);
                        rc |= SW_IN_SPILL;
                    }
                }
            }
        }
    }
done:
    errno = saved;
    return rc;
}

int sw_internal_name(const char *name) {
    /* Temporary names move.c makes beside a file it moves into the spill area. */
    return name[0] == '.' && strncmp(name, ".spillway-", 10) == 0 &&
           (strncmp(name + 10, "move.", 5) == 0 || strncmp(name + 10, "intent.", 7) == 0);
}

const char *sw_name_create(int dirfd, const char *path, char alt[PATH_MAX], int *use_dirfd) {
    struct sw_name nm;
    *use_dirfd = dirfd;
    if (!sw_name_locate(dirfd, path, 0, &nm)) return path;
    int saved = errno;
    const char *target = sw_create_target(&nm.loc, sw_state());
    errno = saved;
    int place = target != NULL ? SW_IN_SPILL : nm.loc.resolved ? SW_IN_MAIN : SW_IN_NONE;
    if (place == SW_IN_NONE || sw_name_path(&nm, place, alt) != 0) return path;
    *use_dirfd = AT_FDCWD;
    return alt;
}

int sw_create_retry(int rc, int dirfd, const char *path, sw_path_op op, void *ctx) {
    if (SW_UNLIKELY(rc < 0) && (errno == EDQUOT || errno == ENOSPC)) {
        sw_ensure_init();
        char alt[PATH_MAX];
        if (sw_cfg.slot != NULL && sw_create_rescue_path(dirfd, path, alt)) {
            int saved = errno;
            int again = op(AT_FDCWD, alt, ctx);
            if (again >= 0) {
                sw_note_rescue();
                return again;
            }
            sw_cannot_help_spill(alt, "cannot create it in the spill area either", errno);
            errno = saved;
        }
    }
    return rc;
}

int sw_create_node(int dirfd, const char *path, sw_path_op op, void *ctx) {
    char alt[PATH_MAX];
    int use_dirfd;
    const char *use = sw_name_create(dirfd, path, alt, &use_dirfd);
    int rc = op(use_dirfd, use, ctx);
    return use == path ? sw_create_retry(rc, dirfd, path, op, ctx) : rc;
}

int sw_path_named(const char *path) {
    /* An unreadable path counts as named: the real call is made with it (EFAULT). */
    char first;
    int saved = errno;
    int named = path != NULL && (sw_copy_in(&first, path, 1) != 0 || first != '\0');
    errno = saved;
    return named;
}

int sw_path_has_slash(const char *path) {
    char copy[PATH_MAX];
    int saved = errno;
    int slash = path != NULL && sw_copy_path(path, copy) >= 0 && strchr(copy, '/') != NULL;
    errno = saved;
    return slash;
}
