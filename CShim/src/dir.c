/*
 * dir.c — listing directories: opendir, fdopendir, readdir, readdir_r,
 * rewinddir, telldir, seekdir, closedir, scandir, scandirat (and glibc's
 * 64-bit names), and getdents64 (musl: getdents) called directly.
 *
 * A directory present in both places lists as the union, each name once: the
 * entries of the stream libc opened (the spill half, "primary") first, then
 * the other half's entries that the primary half lacks, which the library
 * reads itself with getdents64 and checks with fstatat against the primary.
 *
 * The merged state of a stream lives in an anonymous mapping (no malloc),
 * found from the DIR* through its descriptor: a fixed table indexed by
 * dirfd(), each entry naming the DIR* it belongs to. Entries are claimed and
 * released with atomic operations only, no lock, so fork (the child keeps a
 * copy of the table and the mappings, and the descriptors) and signal
 * handlers are safe. Streams whose descriptor is at or above the table size
 * go to a small overflow table, scanned. readdir costs one load of a counter
 * while no merged stream is open, whatever the state.
 *
 * telldir on a merged stream returns a cookie of this library, valid for
 * seekdir on the same stream for its last SW_TELL_RING telldir calls.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

#define SW_DIR_FDS 4096
#define SW_DIR_OVERFLOW 64
#define SW_TELL_RING 64
#define SW_DIR_BUF 32768

/* The raw layout getdents64 fills (struct dirent64 in glibc, dirent in musl). */
struct sw_linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

struct sw_tell {
    long cookie;
    int phase;
    long pos;
};

struct sw_dir {
    DIR *dir;
    int fd;               /* dirfd(dir), the primary half */
    int other;            /* the other half, read by us; -1 when there is none */
    int phase;            /* 0: primary (libc); 1: other half; 2: done */
    int primary_is_spill; /* filter the library's own names from the primary */
    size_t pos, len;      /* unread part of buf */
    long other_off;       /* where in the other half the next unread entry is */
    long tell_last;
    struct sw_tell tell[SW_TELL_RING];
    struct dirent ent;    /* what readdir returns from the other half */
    char buf[SW_DIR_BUF] __attribute__((aligned(8)));
};

static struct sw_dir *sw_dir_by_fd[SW_DIR_FDS];
static struct sw_dir *sw_dir_overflow[SW_DIR_OVERFLOW];
static unsigned sw_dir_live;

SW_REAL_DECL(DIR *, opendir, (const char *));
SW_REAL_DECL(DIR *, fdopendir, (int));
SW_REAL_DECL(struct dirent *, readdir, (DIR *));
SW_REAL_DECL(int, readdir_r, (DIR *, struct dirent *, struct dirent **));
SW_REAL_DECL(void, rewinddir, (DIR *));
SW_REAL_DECL(long, telldir, (DIR *));
SW_REAL_DECL(void, seekdir, (DIR *, long));
SW_REAL_DECL(int, closedir, (DIR *));
SW_REAL_DECL(int, scandir, (const char *, struct dirent ***, int (*)(const struct dirent *),
                            int (*)(const struct dirent **, const struct dirent **)));

/* --- The table of merged streams --- */

static struct sw_dir *sw_dir_lookup(DIR *dir) {
    int fd = dirfd(dir);
    if (fd >= 0 && fd < SW_DIR_FDS) {
        struct sw_dir *d = __atomic_load_n(&sw_dir_by_fd[fd], __ATOMIC_ACQUIRE);
        return (d != NULL && d->dir == dir) ? d : NULL;
    }
    for (int i = 0; i < SW_DIR_OVERFLOW; i++) {
        struct sw_dir *d = __atomic_load_n(&sw_dir_overflow[i], __ATOMIC_ACQUIRE);
        if (d != NULL && d->dir == dir) return d;
    }
    return NULL;
}

/* The merged state of dir, or NULL (one relaxed load while none is open). */
static inline struct sw_dir *sw_dir_find(DIR *dir) {
    if (SW_UNLIKELY(__atomic_load_n(&sw_dir_live, __ATOMIC_RELAXED) != 0) && dir != NULL) return sw_dir_lookup(dir);
    return NULL;
}

static int sw_dir_register(struct sw_dir *d) {
    struct sw_dir *none = NULL;
    if (d->fd >= 0 && d->fd < SW_DIR_FDS) {
        /* A stale entry (its descriptor closed behind the stream's back) is replaced. */
        struct sw_dir *old = __atomic_exchange_n(&sw_dir_by_fd[d->fd], d, __ATOMIC_ACQ_REL);
        if (old == NULL) __atomic_add_fetch(&sw_dir_live, 1, __ATOMIC_RELAXED);
        return 0;
    }
    for (int i = 0; i < SW_DIR_OVERFLOW; i++) {
        none = NULL;
        if (__atomic_compare_exchange_n(&sw_dir_overflow[i], &none, d, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            __atomic_add_fetch(&sw_dir_live, 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
    return -1;
}

static void sw_dir_unregister(struct sw_dir *d) {
    struct sw_dir *self = d;
    if (d->fd >= 0 && d->fd < SW_DIR_FDS) {
        if (__atomic_compare_exchange_n(&sw_dir_by_fd[d->fd], &self, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            __atomic_sub_fetch(&sw_dir_live, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int i = 0; i < SW_DIR_OVERFLOW; i++) {
        self = d;
        if (__atomic_compare_exchange_n(&sw_dir_overflow[i], &self, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            __atomic_sub_fetch(&sw_dir_live, 1, __ATOMIC_RELAXED);
            return;
        }
    }
}

static void sw_dir_free(struct sw_dir *d) {
    if (d->other >= 0) sw_sys_close(d->other);
    munmap(d, sizeof(*d));
}

/*
 * Merge `dir` (just opened by libc on the primary half) with `other_path`
 * (NULL: nothing to add, only the library's own names to hide). On any
 * failure the stream stays a plain one: it lists the primary half.
 */
static void sw_dir_attach(DIR *dir, const char *other_path, int primary_is_spill) {
    int saved = errno;
    struct sw_dir *d = mmap(NULL, sizeof(*d), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (d == MAP_FAILED) goto out;
    d->dir = dir;
    d->fd = dirfd(dir);
    d->other = -1;
    d->primary_is_spill = primary_is_spill;
    if (other_path != NULL) d->other = sw_sys_openat(AT_FDCWD, other_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (d->fd < 0 || sw_dir_register(d) != 0) sw_dir_free(d);
out:
    errno = saved;
}

/* --- Reading --- */

static int sw_dot_or_dotdot(const char *name) {
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void sw_dir_reset_other(struct sw_dir *d) {
    if (d->other >= 0) syscall(SYS_lseek, d->other, 0L, SEEK_SET);
    d->pos = d->len = 0;
    d->other_off = 0;
}

/* The next entry of a merged stream; NULL at the end (errno kept) or on error (errno set). */
static struct dirent *sw_dir_read(struct sw_dir *d) {
    int saved = errno;
    if (d->phase == 0) {
        for (;;) {
            errno = 0;
            struct dirent *e = SW_REAL(readdir)(d->dir);
            if (e == NULL) {
                if (errno != 0) return NULL;
                break;
            }
            if (d->primary_is_spill && sw_internal_name(e->d_name)) continue;
            errno = saved;
            return e;
        }
        d->phase = d->other >= 0 ? 1 : 2;
    }
    while (d->phase == 1) {
        if (d->pos >= d->len) {
            long n = syscall(SYS_getdents64, d->other, d->buf, sizeof(d->buf));
            if (n <= 0) {
                if (n < 0) return NULL; /* errno from getdents64 */
                d->phase = 2;
                break;
            }
            d->pos = 0;
            d->len = (size_t)n;
        }
        struct sw_linux_dirent64 *e = (struct sw_linux_dirent64 *)(d->buf + d->pos);
        d->pos += e->d_reclen;
        d->other_off = (long)e->d_off;
        if (sw_dot_or_dotdot(e->d_name) || (!d->primary_is_spill && sw_internal_name(e->d_name))) continue;
        struct stat st;
        if (sw_sys_fstatat(d->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) continue; /* listed already */
        size_t len = strlen(e->d_name);
        if (len >= sizeof(d->ent.d_name)) continue;
        d->ent.d_ino = (ino_t)e->d_ino;
        d->ent.d_off = (off_t)e->d_off;
        d->ent.d_type = e->d_type;
        d->ent.d_reclen = (unsigned short)((offsetof(struct dirent, d_name) + len + 1 + 7) & ~(size_t)7);
        memcpy(d->ent.d_name, e->d_name, len + 1);
        errno = saved;
        return &d->ent;
    }
    errno = saved;
    return NULL;
}

SW_EXPORT struct dirent *readdir(DIR *dir) {
    struct sw_dir *d = sw_dir_find(dir);
    if (SW_UNLIKELY(d != NULL)) return sw_dir_read(d);
    return SW_REAL(readdir)(dir);
}

static int sw_readdir_r(DIR *dir, struct dirent *entry, struct dirent **result) {
    struct sw_dir *d = sw_dir_find(dir);
    if (d == NULL) return SW_REAL(readdir_r)(dir, entry, result);
    int saved = errno;
    errno = 0;
    struct dirent *e = sw_dir_read(d);
    int err = errno;
    errno = saved;
    if (e == NULL) {
        *result = NULL;
        return err;
    }
    memcpy(entry, e, offsetof(struct dirent, d_name) + strlen(e->d_name) + 1);
    *result = entry;
    return 0;
}

SW_EXPORT int readdir_r(DIR *dir, struct dirent *entry, struct dirent **result) {
    return sw_readdir_r(dir, entry, result);
}

SW_EXPORT void rewinddir(DIR *dir) {
    struct sw_dir *d = sw_dir_find(dir);
    SW_REAL(rewinddir)(dir);
    if (SW_UNLIKELY(d != NULL)) {
        d->phase = 0;
        sw_dir_reset_other(d);
    }
}

SW_EXPORT long telldir(DIR *dir) {
    struct sw_dir *d = sw_dir_find(dir);
    if (d == NULL) return SW_REAL(telldir)(dir);
    long pos = d->phase == 0 ? SW_REAL(telldir)(dir) : d->phase == 1 ? d->other_off : 0;
    long cookie = ++d->tell_last;
    struct sw_tell *t = &d->tell[cookie % SW_TELL_RING];
    t->cookie = cookie;
    t->phase = d->phase;
    t->pos = pos;
    return cookie;
}

SW_EXPORT void seekdir(DIR *dir, long cookie) {
    struct sw_dir *d = sw_dir_find(dir);
    if (d == NULL) {
        SW_REAL(seekdir)(dir, cookie);
        return;
    }
    if (cookie <= 0) return;
    const struct sw_tell *t = &d->tell[cookie % SW_TELL_RING];
    if (t->cookie != cookie) return; /* not one of ours, or too old: documented */
    int saved = errno;
    d->phase = t->phase;
    if (t->phase == 0) {
        SW_REAL(seekdir)(dir, t->pos);
        sw_dir_reset_other(d);
    } else if (t->phase == 1) {
        syscall(SYS_lseek, d->other, t->pos, SEEK_SET);
        d->pos = d->len = 0;
        d->other_off = t->pos;
    }
    errno = saved;
}

SW_EXPORT int closedir(DIR *dir) {
    struct sw_dir *d = sw_dir_find(dir);
    if (SW_UNLIKELY(d != NULL)) {
        int saved = errno;
        sw_dir_unregister(d);
        sw_dir_free(d);
        errno = saved;
    }
    return SW_REAL(closedir)(dir);
}

/* --- Opening --- */

/* Open dirfd/path (opendir semantics: a final link is followed) through the union. */
static DIR *sw_opendir_union(int dirfd, const char *path) {
    char spill[PATH_MAX], main[PATH_MAX];
    int halves = sw_dir_halves(dirfd, path, 1, spill, main);
    if (!(halves & SW_IN_SPILL)) {
        char alt[PATH_MAX];
        int use_dirfd;
        const char *use = sw_name_lookup(dirfd, path, 1, alt, &use_dirfd);
        if (use_dirfd == AT_FDCWD || (use != path && use[0] == '/')) return SW_REAL(opendir)(use);
        int fd = sw_sys_openat(use_dirfd, use, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) return NULL;
        DIR *dir = SW_REAL(fdopendir)(fd);
        if (dir == NULL) {
            int saved = errno;
            sw_sys_close(fd);
            errno = saved;
        }
        return dir;
    }
    DIR *dir = SW_REAL(opendir)(spill);
    if (dir != NULL) sw_dir_attach(dir, (halves & SW_IN_MAIN) ? main : NULL, 1);
    return dir;
}

SW_EXPORT DIR *opendir(const char *path) {
    if (!SW_IDLE()) return sw_opendir_union(AT_FDCWD, path);
    return SW_REAL(opendir)(path);
}

SW_EXPORT DIR *fdopendir(int fd) {
    DIR *dir = SW_REAL(fdopendir)(fd);
    if (SW_IDLE() || dir == NULL) return dir;
    int saved = errno;
    char name[PATH_MAX], spill[PATH_MAX], main[PATH_MAX];
    int n = sw_app_dir(fd, ".", name);
    if (n >= 0) {
        int halves = sw_dir_halves(AT_FDCWD, n == 0 ? "/" : name, 1, spill, main);
        struct stat self, half;
        if ((halves & SW_IN_SPILL) && syscall(SYS_fstat, fd, &self) == 0) {
            if (sw_sys_fstatat(AT_FDCWD, spill, &half, 0) == 0 && half.st_dev == self.st_dev && half.st_ino == self.st_ino)
                sw_dir_attach(dir, (halves & SW_IN_MAIN) ? main : NULL, 1);
            else if ((halves & SW_IN_MAIN) && sw_sys_fstatat(AT_FDCWD, main, &half, 0) == 0 &&
                     half.st_dev == self.st_dev && half.st_ino == self.st_ino)
                sw_dir_attach(dir, spill, 0); /* a main half opened before its spill half existed */
        }
    }
    errno = saved;
    return dir;
}

/* scandir over a merged stream: scandir's contract is malloc'd entries. */
typedef int (*sw_scan_filter)(const struct dirent *);
typedef int (*sw_scan_compar)(const struct dirent **, const struct dirent **);

static int sw_scan(DIR *dir, struct dirent ***list, sw_scan_filter filter, sw_scan_compar compar) {
    struct dirent **out = NULL;
    size_t n = 0, cap = 0;
    int saved = errno;
    struct dirent *e;
    for (;;) {
        errno = 0;
        e = readdir(dir);
        if (e == NULL) break;
        if (filter != NULL && !filter(e)) continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct dirent **grown = realloc(out, ncap * sizeof(*out));
            if (grown == NULL) goto fail;
            out = grown;
            cap = ncap;
        }
        struct dirent *copy = malloc(sizeof(struct dirent));
        if (copy == NULL) goto fail;
        memcpy(copy, e, offsetof(struct dirent, d_name) + strlen(e->d_name) + 1);
        out[n++] = copy;
    }
    if (errno != 0) goto fail;
    closedir(dir);
    if (compar != NULL && n > 1) qsort(out, n, sizeof(*out), (int (*)(const void *, const void *))compar);
    *list = out;
    errno = saved;
    return (int)n;
fail:;
    int err = errno ? errno : ENOMEM;
    while (n > 0) free(out[--n]);
    free(out);
    closedir(dir);
    errno = err;
    return -1;
}

/* Is dirfd/path a directory whose listing needs this library? */
static int sw_scan_needs_union(int dirfd, const char *path) {
    char spill[PATH_MAX], main[PATH_MAX];
    return (sw_dir_halves(dirfd, path, 1, spill, main) & SW_IN_SPILL) != 0;
}

SW_EXPORT int scandir(const char *path, struct dirent ***list, sw_scan_filter filter, sw_scan_compar compar) {
    if (SW_IDLE() || !sw_scan_needs_union(AT_FDCWD, path)) {
        char alt[PATH_MAX];
        int use_dirfd;
        const char *use = SW_IDLE() ? path : sw_name_lookup(AT_FDCWD, path, 1, alt, &use_dirfd);
        return SW_REAL(scandir)(use, list, filter, compar);
    }
    DIR *dir = sw_opendir_union(AT_FDCWD, path);
    if (dir == NULL) return -1;
    return sw_scan(dir, list, filter, compar);
}

/* --- getdents64 called directly --- */

/*
 * A program that reads a directory descriptor with getdents64 itself gets the
 * primary half's entries and then, when that half is exhausted, the other
 * half's (those the primary lacks), from a descriptor the library opens. The
 * continuation is keyed by the program's descriptor number, its inode, and
 * its offset at the end of the primary half: seeking the descriptor (a
 * rewind) or reusing its number ends it. d_off of the added entries is the
 * other half's and means nothing to lseek on the program's descriptor.
 */
#define SW_GD_SLOTS 32

struct sw_gd {
    int busy; /* atomic: claimed by a thread (never waited for) */
    int used;
    int fd;
    int other;
    int primary_is_spill;
    int done;
    dev_t dev;
    ino_t ino;
    off_t eof;
};

static struct sw_gd sw_gd_table[SW_GD_SLOTS];
static unsigned sw_gd_live;

static int sw_gd_claim(struct sw_gd *g) {
    int expected = 0;
    return __atomic_compare_exchange_n(&g->busy, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void sw_gd_release(struct sw_gd *g) {
    __atomic_store_n(&g->busy, 0, __ATOMIC_RELEASE);
}

static void sw_gd_drop(struct sw_gd *g) {
    if (g->other >= 0) sw_sys_close(g->other);
    g->other = -1;
    g->used = 0;
    __atomic_sub_fetch(&sw_gd_live, 1, __ATOMIC_RELAXED);
}

/* Filter the other half's entries in buf[0..n) in place; the bytes kept. */
static long sw_gd_filter(const struct sw_gd *g, char *buf, long n) {
    long out = 0;
    for (long pos = 0; pos < n;) {
        struct sw_linux_dirent64 *e = (struct sw_linux_dirent64 *)(buf + pos);
        unsigned short len = e->d_reclen;
        struct stat st;
        int keep = !sw_dot_or_dotdot(e->d_name) && !(!g->primary_is_spill && sw_internal_name(e->d_name)) &&
                   sw_sys_fstatat(g->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0;
        if (keep) {
            if (out != pos) memmove(buf + out, buf + pos, len);
            out += len;
        }
        pos += len;
    }
    return out;
}

/* Read the other half into buf; 0 at its end. */
static long sw_gd_read_other(struct sw_gd *g, void *buf, size_t len) {
    while (!g->done) {
        long n = syscall(SYS_getdents64, g->other, buf, len);
        if (n < 0) return n;
        if (n == 0) {
            g->done = 1;
            sw_sys_close(g->other);
            g->other = -1;
            break;
        }
        long kept = sw_gd_filter(g, buf, n);
        if (kept > 0) return kept;
    }
    return 0;
}

typedef long (*sw_getdents_fn)(int, void *, size_t);

static long sw_getdents_union(int fd, void *buf, size_t len, sw_getdents_fn real) {
    int saved = errno;
    struct stat self;
    /* A continuation in progress on this descriptor? */
    if (__atomic_load_n(&sw_gd_live, __ATOMIC_RELAXED) != 0) {
        for (int i = 0; i < SW_GD_SLOTS; i++) {
            struct sw_gd *g = &sw_gd_table[i];
            if (!sw_gd_claim(g)) continue;
            if (!g->used || g->fd != fd) {
                sw_gd_release(g);
                continue;
            }
            long r = -2;
            if (syscall(SYS_fstat, fd, &self) == 0 && self.st_dev == g->dev && self.st_ino == g->ino &&
                syscall(SYS_lseek, fd, 0L, SEEK_CUR) == g->eof) {
                r = sw_gd_read_other(g, buf, len);
            } else {
                sw_gd_drop(g);
            }
            sw_gd_release(g);
            if (r != -2) {
                if (r >= 0) errno = saved;
                return r;
            }
            break;
        }
    }
    errno = saved;
    long n = real(fd, buf, len);
    if (n != 0 || SW_IDLE()) return n;
    /* The primary half is exhausted: is there another half to add? */
    char name[PATH_MAX], spill[PATH_MAX], main[PATH_MAX];
    int k = sw_app_dir(fd, ".", name);
    if (k < 0 || syscall(SYS_fstat, fd, &self) != 0 || !S_ISDIR(self.st_mode)) goto end;
    int halves = sw_dir_halves(AT_FDCWD, k == 0 ? "/" : name, 1, spill, main);
    if (halves != (SW_IN_SPILL | SW_IN_MAIN)) goto end;
    struct stat half;
    const char *other = NULL;
    int primary_is_spill = 0;
    if (sw_sys_fstatat(AT_FDCWD, spill, &half, 0) == 0 && half.st_dev == self.st_dev && half.st_ino == self.st_ino) {
        other = main;
        primary_is_spill = 1;
    } else if (sw_sys_fstatat(AT_FDCWD, main, &half, 0) == 0 && half.st_dev == self.st_dev &&
               half.st_ino == self.st_ino) {
        other = spill;
    }
    if (other == NULL) goto end;
    for (int i = 0; i < SW_GD_SLOTS; i++) {
        struct sw_gd *g = &sw_gd_table[i];
        if (!sw_gd_claim(g)) continue;
        if (g->used) {
            sw_gd_release(g);
            continue;
        }
        g->other = sw_sys_openat(AT_FDCWD, other, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (g->other < 0) {
            sw_gd_release(g);
            break;
        }
        g->used = 1;
        g->fd = fd;
        g->dev = self.st_dev;
        g->ino = self.st_ino;
        g->eof = (off_t)syscall(SYS_lseek, fd, 0L, SEEK_CUR);
        g->primary_is_spill = primary_is_spill;
        g->done = 0;
        __atomic_add_fetch(&sw_gd_live, 1, __ATOMIC_RELAXED);
        long r = sw_gd_read_other(g, buf, len);
        sw_gd_release(g);
        if (r >= 0) errno = saved;
        return r;
    }
end:
    errno = saved;
    return 0;
}

#ifdef __GLIBC__
SW_REAL_DECL(ssize_t, getdents64, (int, void *, size_t));

static long sw_getdents64_real(int fd, void *buf, size_t len) {
    __typeof__(sw_real_getdents64) fn = SW_REAL(getdents64);
    if (SW_UNLIKELY(fn == NULL)) return syscall(SYS_getdents64, fd, buf, len);
    return fn(fd, buf, len);
}

SW_EXPORT ssize_t getdents64(int fd, void *buf, size_t len) {
    if (SW_IDLE() && __atomic_load_n(&sw_gd_live, __ATOMIC_RELAXED) == 0) return sw_getdents64_real(fd, buf, len);
    return sw_getdents_union(fd, buf, len, sw_getdents64_real);
}
#else
SW_REAL_DECL(int, getdents, (int, struct dirent *, size_t));

static long sw_getdents_real(int fd, void *buf, size_t len) {
    __typeof__(sw_real_getdents) fn = SW_REAL(getdents);
    if (SW_UNLIKELY(fn == NULL)) return syscall(SYS_getdents64, fd, buf, len);
    return fn(fd, buf, len);
}

SW_EXPORT int getdents(int fd, struct dirent *buf, size_t len) {
    if (SW_IDLE() && __atomic_load_n(&sw_gd_live, __ATOMIC_RELAXED) == 0) return (int)sw_getdents_real(fd, buf, len);
    return (int)sw_getdents_union(fd, buf, len, sw_getdents_real);
}
#endif

#ifdef __GLIBC__
SW_REAL_DECL(int, scandirat, (int, const char *, struct dirent ***, int (*)(const struct dirent *),
                              int (*)(const struct dirent **, const struct dirent **)));

int scandirat(int, const char *, struct dirent ***, sw_scan_filter, sw_scan_compar);

SW_EXPORT int scandirat(int dirfd, const char *path, struct dirent ***list, sw_scan_filter filter,
                        sw_scan_compar compar) {
    if (SW_IDLE() || !sw_scan_needs_union(dirfd, path)) {
        char alt[PATH_MAX];
        int use_dirfd = dirfd;
        const char *use = SW_IDLE() ? path : sw_name_lookup(dirfd, path, 1, alt, &use_dirfd);
        return SW_REAL(scandirat)(use_dirfd, use, list, filter, compar);
    }
    DIR *dir = sw_opendir_union(dirfd, path);
    if (dir == NULL) return -1;
    return sw_scan(dir, list, filter, compar);
}

/*
 * LP64 glibc: struct dirent64 is struct dirent, and the 64-bit names are the
 * same functions; they are wrappers here because their prototypes name the
 * other struct.
 */
SW_EXPORT struct dirent64 *readdir64(DIR *dir) {
    return (struct dirent64 *)readdir(dir);
}

SW_EXPORT int readdir64_r(DIR *dir, struct dirent64 *entry, struct dirent64 **result) {
    return sw_readdir_r(dir, (struct dirent *)entry, (struct dirent **)result);
}

SW_EXPORT int scandir64(const char *path, struct dirent64 ***list, int (*filter)(const struct dirent64 *),
                        int (*compar)(const struct dirent64 **, const struct dirent64 **)) {
    return scandir(path, (struct dirent ***)list, (sw_scan_filter)filter, (sw_scan_compar)compar);
}

int scandirat64(int, const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
                int (*)(const struct dirent64 **, const struct dirent64 **));

SW_EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***list, int (*filter)(const struct dirent64 *),
                          int (*compar)(const struct dirent64 **, const struct dirent64 **)) {
    return scandirat(dirfd, path, (struct dirent ***)list, (sw_scan_filter)filter, (sw_scan_compar)compar);
}
#endif
