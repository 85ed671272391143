/*
 * move.c — moving a main-disk file into the spill area, whole, crash-safely,
 * and re-pointing descriptors at the moved file.
 *
 * The protocol (docs/SHIM.md, "Moves"), the same as the supervisor's:
 *  1. flock(LOCK_EX) on the source: movers in every process of the container
 *     serialise on it; a writer that finds the file already moved re-points.
 *  2. copy into a temporary file created O_EXCL|O_NOFOLLOW next to the
 *     destination (holes kept with SEEK_DATA/SEEK_HOLE), set owner, mode,
 *     xattrs and times through the descriptor, fsync;
 *  3. re-check that the source did not change (size, mtime, ctime), else copy again;
 *  4. write an intent record (what is moving where), fsync it and the directory;
 *  5. rename into place with RENAME_NOREPLACE, fsync the directory;
 *  6. unlink the source (only if its name still names the same inode), fsync
 *     its directory; a write that slipped in meanwhile is copied again;
 *  7. remove the intent record.
 * Recovery of a move cut short (supervisor start) reads the intent records.
 *
 * Everything here uses raw system calls: the hooks it would otherwise reach
 * (write, open, rename, ...) are Spillway's own.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

/* From linux/kcmp.h, which musl-gcc cannot see. */
#define SW_KCMP_FILE 0

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define SW_COPY_CHUNK (1L << 30)
#define SW_MOVE_TRIES 5

static long sw_sys(long n, long a, long b, long c, long d, long e, long f) {
    return syscall(n, a, b, c, d, e, f);
}
#define SYS2(n, a, b) sw_sys(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c) sw_sys(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sw_sys(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(n, a, b, c, d, e) sw_sys(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define SYS6(n, a, b, c, d, e, f) sw_sys(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static int sw_fstat(int fd, struct stat *st) {
    return (int)SYS2(SYS_fstat, fd, st);
}

static int sw_same_content_version(const struct stat *a, const struct stat *b) {
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Take a flock (LOCK_EX or LOCK_SH), waiting up to about 30 s (never forever). */
static int sw_lock_as(int fd, int how) {
    struct timespec pause = {0, 1000000};
    for (int i = 0; i < 30000; i++) {
        if (SYS2(SYS_flock, fd, how | LOCK_NB) == 0) return 0;
        if (errno != EWOULDBLOCK && errno != EINTR) return -1;
        SYS2(SYS_nanosleep, &pause, NULL);
    }
    errno = ETIMEDOUT;
    return -1;
}

static int sw_lock(int fd) {
    return sw_lock_as(fd, LOCK_EX);
}

void sw_proc_fd_path(int fd, char out[32]) {
    static const char prefix[] = "/proc/self/fd/";
    char rev[16];
    int r = 0;
    unsigned v = (unsigned)fd;
    do { rev[r++] = (char)('0' + v % 10); v /= 10; } while (v);
    size_t l = sizeof(prefix) - 1;
    memcpy(out, prefix, l);
    while (r) out[l++] = rev[--r];
    out[l] = '\0';
}

void sw_mark_writer(int fd) {
    int saved = errno;
    struct timespec now = {0, 0};
    SYS2(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
    unsigned long long seed = (unsigned long long)SYS2(SYS_gettid, 0, 0) * 2654435761ULL +
                              (unsigned long long)fd * 40503ULL + (unsigned long long)now.tv_nsec;
    for (unsigned long long i = 0; i < 16; i++) {
        struct flock mark;
        memset(&mark, 0, sizeof(mark));
        mark.l_type = F_WRLCK;
        mark.l_whence = SEEK_SET;
        mark.l_start = (off_t)(SPILLWAY_WRITER_MARK_OFFSET + (long long)((seed + i * 7919ULL) % SPILLWAY_WRITER_MARK_SPAN));
        mark.l_len = 1;
        if (SYS3(SYS_fcntl, fd, F_OFD_SETLK, &mark) == 0) break;
        if (errno != EAGAIN && errno != EACCES) break; /* fail open: no mark, no harm to the program */
    }
    errno = saved;
}

int sw_claim_writer(int fd) {
    sw_mark_writer(fd);
    if (sw_state() == SPILLWAY_STATE_SPILLING) return 0; /* no drain can have begun: it needs `draining` */
    int saved = errno;
    int moved = 0;
    /* flock on a description of our own: the program's may carry its own flock. */
    char self[32];
    sw_proc_fd_path(fd, self);
    int own = sw_sys_openat(AT_FDCWD, self, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (own >= 0) {
        if (sw_lock_as(own, LOCK_SH) == 0) {
            struct stat st;
            moved = sw_fstat(own, &st) == 0 && st.st_nlink == 0;
        }
        sw_sys_close(own);
    }
    errno = saved;
    return moved;
}

/* Copy [off, off+len) from in to out at the same offsets. */
static int sw_copy_range(int in, int out, off_t off, off_t len) {
    int use_cfr = 1;
    while (len > 0) {
        size_t chunk = len > SW_COPY_CHUNK ? (size_t)SW_COPY_CHUNK : (size_t)len;
        ssize_t done = -1;
        if (use_cfr) {
            loff_t ioff = off, ooff = off;
            done = SYS6(SYS_copy_file_range, in, &ioff, out, &ooff, chunk, 0);
            if (done < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                use_cfr = 0;
                continue;
            }
        } else {
            if (SYS3(SYS_lseek, out, off, SEEK_SET) < 0) return -1;
            off_t ioff = off;
            done = SYS4(SYS_sendfile, out, in, &ioff, chunk);
        }
        if (done < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (done == 0) break; /* the source shrank meanwhile: the re-check catches it */
        off += done;
        len -= done;
    }
    return 0;
}

/* Copy every data extent of in below `size` to out at the same offsets. */
static int sw_copy_extents(int in, int out, off_t size) {
    off_t pos = 0;
    while (pos < size) {
        off_t data = SYS3(SYS_lseek, in, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break; /* only a hole remains */
            data = pos;                /* no SEEK_DATA here: copy everything */
        }
        off_t hole = SYS3(SYS_lseek, in, data, SEEK_HOLE);
        if (hole < 0 || hole > size) hole = size;
        if (sw_copy_range(in, out, data, hole - data) != 0) return -1;
        pos = hole;
    }
    return 0;
}

/* Copy every data extent of in to out (holes stay holes), and the size. */
static int sw_copy_data(int in, int out, off_t size) {
    if (sw_copy_extents(in, out, size) != 0) return -1;
    return (int)SYS2(SYS_ftruncate, out, size);
}

/* Owner, mode, extended attributes and times of in, set on out through its descriptor. */
static void sw_copy_metadata(int in, int out, const struct stat *st) {
    char names[4096];
    char value[4096];
    ssize_t len = SYS3(SYS_flistxattr, in, names, sizeof(names));
    for (ssize_t i = 0; len > 0 && i < len; i += (ssize_t)strlen(names + i) + 1) {
        ssize_t vlen = SYS4(SYS_fgetxattr, in, names + i, value, sizeof(value));
        if (vlen >= 0) SYS5(SYS_fsetxattr, out, names + i, value, vlen, 0);
    }
    SYS3(SYS_fchown, out, st->st_uid, st->st_gid);
    SYS2(SYS_fchmod, out, st->st_mode & 07777);
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    SYS4(SYS_utimensat, out, NULL, times, 0);
}

/* "<dev>:<ino>" of the main-disk file a spilled file was moved from. */
static size_t sw_origin_text(const struct stat *st, char out[48]) {
    unsigned long long nums[2] = {(unsigned long long)st->st_dev, (unsigned long long)st->st_ino};
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        char rev[24];
        int r = 0;
        unsigned long long v = nums[k];
        do { rev[r++] = (char)('0' + v % 10); v /= 10; } while (v);
        while (r) out[n++] = rev[--r];
        if (k == 0) out[n++] = ':';
    }
    out[n] = '\0';
    return n;
}

int sw_origin_matches(int fd, const struct stat *main_st) {
    char want[48], got[48];
    size_t n = sw_origin_text(main_st, want);
    long len = SYS4(SYS_fgetxattr, fd, SW_ORIGIN_XATTR, got, sizeof(got) - 1);
    return len == (long)n && memcmp(want, got, n) == 0;
}

/* "<dir>/.spillway-<what>.<pid>.<tid>" for the directory of `path`. */
static int sw_sibling(const char *path, const char *what, char out[PATH_MAX]) {
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    char digits[48];
    long ids[2] = {SYS2(SYS_getpid, 0, 0), SYS2(SYS_gettid, 0, 0)};
    size_t d = 0;
    for (int k = 0; k < 2; k++) {
        char rev[24];
        int r = 0;
        unsigned long v = (unsigned long)ids[k];
        do { rev[r++] = (char)('0' + v % 10); v /= 10; } while (v);
        digits[d++] = '.';
        while (r) digits[d++] = rev[--r];
    }
    digits[d] = '\0';
    size_t wl = strlen(what);
    if (dir_len + 11 + wl + d + 1 >= PATH_MAX) return -1;
    memcpy(out, path, dir_len);
    memcpy(out + dir_len, "/.spillway-", 11);
    memcpy(out + dir_len + 11, what, wl);
    memcpy(out + dir_len + 11 + wl, digits, d + 1);
    return 0;
}

static void sw_fsync_parent(const char *path) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len == 0) {
        dir[0] = '/';
        len = 1;
    } else {
        memcpy(dir, path, len);
    }
    dir[len] = '\0';
    int fd = sw_sys_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd >= 0) {
        SYS2(SYS_fsync, fd, 0);
        sw_sys_close(fd);
    }
}

/* Write the intent record (spillway_slot.h): magic, "to-spill", the path relative to the
 * spill area (the same relative path names the source in the tree), inode, size, mtime. */
static int sw_write_intent(const char *intent, const struct sw_loc *loc, const struct stat *st) {
    int fd = sw_sys_openat(AT_FDCWD, intent, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    char buf[PATH_MAX + 128];
    size_t n = 0;
    const char *rel = loc->spill + sw_cfg.spill_len;
    while (*rel == '/') rel++;
    const char *parts[] = {SPILLWAY_MOVE_INTENT_MAGIC "\nto-spill\n", rel, "\n"};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(parts[i]);
        memcpy(buf + n, parts[i], l);
        n += l;
    }
    unsigned long long nums[3] = {(unsigned long long)st->st_ino, (unsigned long long)st->st_size,
                                  (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st->st_mtim.tv_nsec};
    for (int k = 0; k < 3; k++) {
        char rev[24];
        int r = 0;
        unsigned long long v = nums[k];
        do { rev[r++] = (char)('0' + v % 10); v /= 10; } while (v);
        while (r) buf[n++] = rev[--r];
        buf[n++] = k == 2 ? '\n' : ' ';
    }
    int ok = SYS3(SYS_write, fd, buf, n) == (long)n && SYS2(SYS_fsync, fd, 0) == 0;
    sw_sys_close(fd);
    if (!ok) {
        SYS3(SYS_unlinkat, AT_FDCWD, intent, 0);
        return -1;
    }
    return 0;
}

/* Parse an unsigned number in `base` from *p, advancing it. */
static unsigned long long sw_parse_num(const char **p, const char *end, int base) {
    unsigned long long v = 0;
    while (*p < end) {
        char c = **p;
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else break;
        v = v * (unsigned)base + (unsigned)d;
        (*p)++;
    }
    return v;
}

/* Does one /proc/PID/maps line map (major:minor, ino) shared and writable? */
static int sw_maps_line_matches(const char *line, const char *end, unsigned long maj, unsigned long min, unsigned long long ino) {
    const char *p = line;
    while (p < end && *p != ' ') p++; /* address range */
    if (end - p < 6) return 0;
    p++;
    if (p[1] != 'w' || p[3] != 's') return 0; /* perms: rw?s */
    p += 5;
    while (p < end && *p != ' ') p++; /* offset */
    p++;
    /* maps shows the superblock's device; btrfs reports an anonymous device (major 0) per
     * subvolume in st_dev, so there only the inode can be compared. */
    unsigned long got_maj = sw_parse_num(&p, end, 16);
    if ((maj != 0 && got_maj != maj) || p >= end || *p != ':') return 0;
    p++;
    unsigned long got_min = sw_parse_num(&p, end, 16);
    if (maj != 0 && got_min != min) return 0;
    while (p < end && *p == ' ') p++;
    return sw_parse_num(&p, end, 10) == ino;
}

/*
 * Is the file `st` mapped shared and writable by any process we can see?
 * Such a file is not moved: stores through the mapping would go on landing
 * in the main-disk copy. Checked by the mover from /proc, so no hook pays for it.
 */
static int sw_mapped_shared_writable(const struct stat *st) {
    unsigned long maj = (unsigned long)((st->st_dev >> 8) & 0xfff) | (unsigned long)((st->st_dev >> 32) & ~0xfffUL);
    unsigned long min = (unsigned long)(st->st_dev & 0xff) | (unsigned long)((st->st_dev >> 12) & ~0xffUL);
    int proc = sw_sys_openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (proc < 0) return 0;
    int found = 0;
    char dents[4096];
    long n;
    while (!found && (n = SYS3(SYS_getdents64, proc, dents, sizeof(dents))) > 0) {
        for (long pos = 0; pos < n && !found;) {
            struct dirent64 *d = (struct dirent64 *)(dents + pos);
            pos += d->d_reclen;
            if (d->d_name[0] < '1' || d->d_name[0] > '9') continue;
            char path[64];
            size_t len = strlen(d->d_name);
            if (len > 40) continue;
            memcpy(path, d->d_name, len);
            memcpy(path + len, "/maps", 6);
            int maps = sw_sys_openat(proc, path, O_RDONLY | O_CLOEXEC, 0);
            if (maps < 0) continue;
            char buf[8192];
            size_t have = 0;
            long got;
            while (!found && (got = SYS3(SYS_read, maps, buf + have, sizeof(buf) - have)) > 0) {
                have += (size_t)got;
                char *line = buf;
                char *nl;
                while ((nl = memchr(line, '\n', (size_t)(buf + have - line))) != NULL) {
                    if (sw_maps_line_matches(line, nl, maj, min, (unsigned long long)st->st_ino)) {
                        found = 1;
                        break;
                    }
                    line = nl + 1;
                }
                have = (size_t)(buf + have - line);
                if (have == sizeof(buf)) have = 0; /* an absurdly long line: skip it */
                memmove(buf, line, have);
            }
            sw_sys_close(maps);
        }
    }
    sw_sys_close(proc);
    return found;
}

/*
 * The move itself; the caller holds the exclusive flock on `src`, a
 * read-only description of loc's main-disk file.
 */
static int sw_move_locked(const struct sw_loc *loc, int src, int keep_data) {
    int saved = errno;
    int rc = -1;
    int tmp = -1;
    char temp[PATH_MAX], intent[PATH_MAX];
    temp[0] = intent[0] = '\0';
    if (sw_spill_parents(loc) != 0) goto out;
    struct stat before, after;
    if (sw_fstat(src, &before) != 0 || !S_ISREG(before.st_mode)) goto out;
    if (before.st_nlink == 0) {
        rc = 1; /* another process moved it while we waited */
        goto out;
    }
    if (sw_mapped_shared_writable(&before)) {
        errno = EBUSY;
        goto out;
    }
    if (sw_sibling(loc->spill, "move", temp) != 0 || sw_sibling(loc->spill, "intent", intent) != 0) goto out;
    SYS3(SYS_unlinkat, AT_FDCWD, temp, 0); /* a leftover of a crashed mover of our pid */
    tmp = sw_sys_openat(AT_FDCWD, temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (tmp < 0) goto out;
    int stable = 0;
    for (int attempt = 0; attempt < SW_MOVE_TRIES && !stable; attempt++) {
        if (keep_data) {
            if (SYS2(SYS_ftruncate, tmp, 0) != 0 || sw_copy_data(src, tmp, before.st_size) != 0) goto out;
        }
        if (sw_fstat(src, &after) != 0) goto out;
        stable = !keep_data || sw_same_content_version(&before, &after);
        before = after;
    }
    if (!stable) {
        errno = EBUSY;
        goto out;
    }
    sw_copy_metadata(src, tmp, &before);
    char origin[48];
    size_t origin_len = sw_origin_text(&before, origin);
    SYS5(SYS_fsetxattr, tmp, SW_ORIGIN_XATTR, origin, origin_len, 0);
    if (SYS2(SYS_fsync, tmp, 0) != 0) goto out;
    if (sw_write_intent(intent, loc, &before) != 0) goto out;
    if (SYS5(SYS_renameat2, AT_FDCWD, temp, AT_FDCWD, loc->spill, RENAME_NOREPLACE) != 0) goto out;
    temp[0] = '\0';
    sw_fsync_parent(loc->spill);
    struct stat named;
    if (sw_sys_fstatat(AT_FDCWD, loc->main, &named, AT_SYMLINK_NOFOLLOW) == 0 && named.st_ino == before.st_ino &&
        named.st_dev == before.st_dev) {
        SYS3(SYS_unlinkat, AT_FDCWD, loc->main, 0);
        sw_fsync_parent(loc->main);
    }
    /* A write already under way when the flag rose may land between the
     * re-check and the unlink: copy the source's data extents again (never
     * truncating: the moved file may already have grown). */
    if (keep_data && sw_fstat(src, &after) == 0 &&
        (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)) { /* not ctime: the unlink itself changed it */
        sw_copy_extents(src, tmp, after.st_size);
        SYS2(SYS_fsync, tmp, 0);
    }
    SYS3(SYS_unlinkat, AT_FDCWD, intent, 0);
    intent[0] = '\0';
    rc = 0;
out:
    if (temp[0]) SYS3(SYS_unlinkat, AT_FDCWD, temp, 0);
    if (intent[0] && rc != 0) SYS3(SYS_unlinkat, AT_FDCWD, intent, 0);
    if (tmp >= 0) sw_sys_close(tmp);
    if (rc < 0) {
        saved = errno;
        rc = -1;
    }
    errno = saved;
    return rc < 0 ? -1 : rc;
}

int sw_move_to_spill(const struct sw_loc *loc, int keep_data) {
    int src = sw_sys_openat(AT_FDCWD, loc->main, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (src < 0) return -1;
    int rc = sw_lock(src) == 0 ? sw_move_locked(loc, src, keep_data) : -1;
    int saved = errno;
    sw_sys_close(src); /* releases the flock */
    errno = saved;
    return rc < 0 ? -1 : 0;
}

/*
 * Make every descriptor of this process that shares fd's open file
 * description refer to nfd's file instead (nfd is positioned and flagged
 * already). nfd is closed. Returns 0, or -1 with errno.
 */
int sw_repoint_fd(int fd, int nfd) {
    int saved = errno;
    int ref = (int)SYS3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0); /* the old description, while fds move off it */
    if (ref < 0) {
        sw_sys_close(nfd);
        return -1;
    }
    long pid = SYS2(SYS_getpid, 0, 0);
    int dir = sw_sys_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    int moved_self = 0;
    if (dir >= 0) {
        char buf[4096];
        long n;
        while ((n = SYS3(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
            for (long pos = 0; pos < n;) {
                struct dirent64 *d = (struct dirent64 *)(buf + pos);
                pos += d->d_reclen;
                if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
                int other = 0;
                for (const char *c = d->d_name; *c; c++) other = other * 10 + (*c - '0');
                if (other == nfd || other == dir || other == ref) continue;
                if (SYS5(SYS_kcmp, pid, pid, SW_KCMP_FILE, ref, other) != 0) continue;
                long fdflags = SYS2(SYS_fcntl, other, F_GETFD);
                SYS3(SYS_dup3, nfd, other, (fdflags > 0 && (fdflags & FD_CLOEXEC)) ? O_CLOEXEC : 0);
                if (other == fd) moved_self = 1;
            }
        }
        sw_sys_close(dir);
    }
    if (!moved_self) {
        long fdflags = SYS2(SYS_fcntl, fd, F_GETFD);
        SYS3(SYS_dup3, nfd, fd, (fdflags > 0 && (fdflags & FD_CLOEXEC)) ? O_CLOEXEC : 0);
    }
    sw_sys_close(ref);
    sw_sys_close(nfd);
    errno = saved;
    return 0;
}

/* A new description of `path` with fd's status flags and offset. */
static int sw_reopen_like(int fd, const char *path, int extra) {
    long fl = SYS2(SYS_fcntl, fd, F_GETFL);
    if (fl < 0) return -1;
    off_t offset = SYS3(SYS_lseek, fd, 0, SEEK_CUR);
    int flags = ((int)fl & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) | extra;
    int nfd = sw_sys_openat(AT_FDCWD, path, flags | O_CLOEXEC, 0600);
    if (nfd < 0) return -1;
    if (offset > 0 && SYS3(SYS_lseek, nfd, offset, SEEK_SET) < 0) {
        sw_sys_close(nfd);
        return -1;
    }
    return nfd;
}

/* Refresh loc->where after a move. */
static void sw_settle_loc(struct sw_loc *loc) {
    struct stat st;
    if (sw_sys_fstatat(AT_FDCWD, loc->spill, &st, AT_SYMLINK_NOFOLLOW) == 0) loc->where = SW_IN_SPILL;
}

/* fd's file as the application names it (no " (deleted)"), and whether it was unlinked. */
static int sw_fd_name(int fd, char out[PATH_MAX], int *deleted) {
    char link[32];
    sw_proc_fd_path(fd, link);
    ssize_t got = sw_sys_readlinkat(AT_FDCWD, link, out, PATH_MAX - 1);
    if (got <= 0 || out[0] != '/') return -1;
    out[got] = '\0';
    *deleted = 0;
    static const char suffix[] = " (deleted)";
    size_t sl = sizeof(suffix) - 1;
    if ((size_t)got > sl && memcmp(out + got - sl, suffix, sl) == 0) {
        out[got - sl] = '\0';
        *deleted = 1;
    }
    return 0;
}

/*
 * fd refers to the regular main-disk file `st`. Move that file to the spill
 * area (or find it moved there by another process) and re-point fd and its
 * duplicates. With `anonymous_ok`, an unlinked file with no spilled copy is
 * copied into an unnamed file in the spill area instead (a rescue).
 * Returns 0 when fd now refers to a file in the spill area.
 */
int sw_take_over(int fd, const struct stat *st, int anonymous_ok) {
    int saved = errno;
    char name[PATH_MAX];
    int deleted = 0;
    struct sw_loc loc;
    int rc = -1;
    int lock = -1;
    if (sw_fd_name(fd, name, &deleted) != 0) goto out;
    /* Lock the inode through a description of our own (never the
     * application's), so that a move by another process is complete before
     * we look: then either we move it, or it has moved and we follow. */
    char self[32];
    sw_proc_fd_path(fd, self);
    lock = sw_sys_openat(AT_FDCWD, self, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (lock < 0 || sw_lock(lock) != 0) goto out;
    struct stat now;
    if (sw_fstat(lock, &now) != 0) goto out;
    if (sw_locate(AT_FDCWD, name, 0, &loc)) {
        if (now.st_nlink > 0 && loc.where == SW_IN_MAIN && loc.st.st_ino == now.st_ino && loc.st.st_dev == now.st_dev) {
            if (sw_move_locked(&loc, lock, 1) < 0) goto out;
            sw_settle_loc(&loc);
        }
        int probe = sw_sys_openat(AT_FDCWD, loc.spill, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
        if (probe >= 0) {
            int ours = sw_origin_matches(probe, &now);
            sw_sys_close(probe);
            if (ours) {
                int nfd = sw_reopen_like(fd, loc.spill, O_NOFOLLOW);
                if (nfd >= 0) {
                    sw_mark_writer(nfd);
                    rc = sw_repoint_fd(fd, nfd);
                }
                goto out;
            }
        }
    }
    if (!anonymous_ok || st->st_nlink > 0) goto out;
    /* An unlinked file (a program's private temporary): copy it to an unnamed
     * file in the spill area and carry on there. */
    {
        int nfd = sw_sys_openat(AT_FDCWD, sw_cfg.spill, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (nfd < 0) goto out;
        /* Read the old data through a fresh read-only description of fd. */
        int in = sw_sys_openat(AT_FDCWD, self, O_RDONLY | O_CLOEXEC, 0);
        if (in < 0 || sw_copy_data(in, nfd, st->st_size) != 0) {
            if (in >= 0) sw_sys_close(in);
            sw_sys_close(nfd);
            goto out;
        }
        sw_sys_close(in);
        long fl = SYS2(SYS_fcntl, fd, F_GETFL);
        off_t offset = SYS3(SYS_lseek, fd, 0, SEEK_CUR);
        if (fl >= 0 && (fl & O_APPEND)) SYS3(SYS_fcntl, nfd, F_SETFL, O_APPEND);
        if (offset > 0) SYS3(SYS_lseek, nfd, offset, SEEK_SET);
        rc = sw_repoint_fd(fd, nfd);
    }
out:
    if (lock >= 0) sw_sys_close(lock);
    errno = saved;
    return rc;
}
