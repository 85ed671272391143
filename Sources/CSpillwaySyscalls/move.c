/*
 * move.c — data, attribute and lock helpers of the supervisor's drain, for
 * spillway_move.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "spillway_move.h"
#include "spillway_syscalls.h"

#define COPY_CHUNK (1L << 30)

static int copy_range(int in, int out, off_t off, off_t len, int *mode) {
    char buffer[1 << 16];
    off_t out_pos = -1; /* where sendfile will write next; unknown at first */
    while (len > 0) {
        size_t chunk = len > COPY_CHUNK ? (size_t)COPY_CHUNK : (size_t)len;
        ssize_t done;
        if (*mode == 0) {
            loff_t ioff = off, ooff = off;
            done = copy_file_range(in, &ioff, out, &ooff, chunk, 0);
            if (done < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                *mode = 1;
                continue;
            }
        } else if (*mode == 1) {
            if (out_pos != off && lseek(out, off, SEEK_SET) < 0) return -1;
            off_t ioff = off;
            done = sendfile(out, in, &ioff, chunk);
            if (done < 0 && (errno == EINVAL || errno == ENOSYS)) {
                *mode = 2;
                continue;
            }
            out_pos = done > 0 ? off + done : -1;
        } else {
            size_t want = chunk > sizeof(buffer) ? sizeof(buffer) : chunk;
            done = pread(in, buffer, want, off);
            if (done > 0) {
                ssize_t put = 0;
                while (put < done) {
                    ssize_t w = pwrite(out, buffer + put, (size_t)(done - put), off + put);
                    if (w < 0) {
                        if (errno == EINTR) continue;
                        return -1;
                    }
                    put += w;
                }
            }
        }
        if (done < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (done == 0) break; /* the source shrank: the caller's re-check sees it */
        off += done;
        len -= done;
    }
    return 0;
}

int spillway_copy_data(int in, int out, uint64_t size, uint64_t allocated, int *method) {
    off_t end = (off_t)size;
    off_t pos = 0;
    off_t copied_to = 0;
    int local = 0;
    if (method == NULL) method = &local;
    /* Fully allocated (the usual small file): no holes to look for. */
    if (allocated >= size) {
        if (copy_range(in, out, 0, end, method) != 0) return -1;
        return 0;
    }
    /* `out` is a new, empty file: no truncation to zero first (btrfs would then flush it
     * on close, file by file). */
    while (pos < end) {
        off_t data = lseek(in, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break; /* only a hole remains */
            data = pos;                /* no SEEK_DATA here: copy everything */
        }
        if (data >= end) break;
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0 || hole > end) hole = end;
        if (copy_range(in, out, data, hole - data, method) != 0) return -1;
        pos = hole;
        copied_to = hole;
    }
    /* A trailing hole (or a file that is all hole) still needs its size. */
    return copied_to < end ? ftruncate(out, end) : 0;
}

int spillway_copy_xattrs(int in, int out, const char *skip) {
    ssize_t len = flistxattr(in, NULL, 0);
    if (len < 0) return (errno == ENOTSUP || errno == EOPNOTSUPP) ? 0 : -1;
    if (len == 0) return 0;
    char *names = malloc((size_t)len + 1);
    if (!names) return -1;
    len = flistxattr(in, names, (size_t)len);
    int rc = 0;
    char *value = NULL;
    size_t value_cap = 0;
    for (ssize_t i = 0; len > 0 && i < len; i += (ssize_t)strlen(names + i) + 1) {
        const char *name = names + i;
        if (skip && strcmp(name, skip) == 0) continue;
        ssize_t vlen = fgetxattr(in, name, NULL, 0);
        if (vlen < 0) { rc = -1; break; }
        if ((size_t)vlen + 1 > value_cap) {
            char *grown = realloc(value, (size_t)vlen + 1);
            if (!grown) { rc = -1; break; }
            value = grown;
            value_cap = (size_t)vlen + 1;
        }
        vlen = fgetxattr(in, name, value, (size_t)vlen);
        if (vlen < 0 || fsetxattr(out, name, value, (size_t)vlen, 0) != 0) { rc = -1; break; }
    }
    int saved = errno;
    free(value);
    free(names);
    errno = saved;
    return rc;
}

int spillway_ofd_lock_present(int fd, int64_t offset, int64_t length) {
    struct flock probe;
    memset(&probe, 0, sizeof(probe));
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    probe.l_start = (off_t)offset;
    probe.l_len = (off_t)length;
    if (fcntl(fd, F_OFD_GETLK, &probe) != 0) return -1;
    return probe.l_type == F_UNLCK ? 0 : 1;
}

int spillway_syncfs(int fd) { return syncfs(fd); }

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

int spillway_fchmod_opath(int fd, uint32_t mode) {
    if (syscall(SYS_fchmodat2, fd, "", (mode_t)mode, AT_EMPTY_PATH) == 0) return 0;
    if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) return -1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return chmod(path, (mode_t)mode);
}

int spillway_fchown_opath(int fd, uint32_t uid, uint32_t gid) {
    return fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

int spillway_futimens_opath(int fd, int64_t atime_sec, int64_t atime_nsec, int64_t mtime_sec, int64_t mtime_nsec) {
    struct timespec times[2] = {{(time_t)atime_sec, (long)atime_nsec}, {(time_t)mtime_sec, (long)mtime_nsec}};
    return utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

long spillway_readlink_opath(int fd, char *buffer, unsigned long size) {
    return (long)readlinkat(fd, "", buffer, size);
}

long spillway_fgetxattr(int fd, const char *name, void *buffer, unsigned long size) {
    return (long)fgetxattr(fd, name, buffer, size);
}

int spillway_fsetxattr(int fd, const char *name, const void *value, unsigned long size) {
    return fsetxattr(fd, name, value, size, 0);
}

#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif

/* getxattrat(2)'s argument block (include/uapi/linux/xattr.h). */
struct spillway_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

long spillway_getxattr_beneath(int dirfd, const char *relative, uint64_t resolve, const char *name, void *buffer, unsigned long size) {
    static int no_getxattrat;
    if (__atomic_load_n(&no_getxattrat, __ATOMIC_RELAXED)) {
        errno = ENOSYS;
        return -1;
    }
    struct spillway_xattr_args args = {(uint64_t)(uintptr_t)buffer, (uint32_t)size, 0};
    const char *slash = strrchr(relative, '/');
    long n;
    if (relative[0] == 0) {
        n = syscall(SYS_getxattrat, dirfd, "", AT_EMPTY_PATH, name, &args, sizeof(args));
    } else if (slash == NULL) {
        n = syscall(SYS_getxattrat, dirfd, relative, AT_SYMLINK_NOFOLLOW, name, &args, sizeof(args));
    } else {
        /* Any length: spillway_openat2 walks a long parent in chunks. */
        char *parent = strndup(relative, (size_t)(slash - relative));
        if (parent == NULL) return -1;
        int dir = spillway_openat2(dirfd, parent, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, resolve);
        free(parent);
        if (dir < 0) return -1;
        n = syscall(SYS_getxattrat, dir, slash + 1, AT_SYMLINK_NOFOLLOW, name, &args, sizeof(args));
        int saved = errno;
        close(dir);
        errno = saved;
    }
    if (n < 0 && errno == ENOSYS) __atomic_store_n(&no_getxattrat, 1, __ATOMIC_RELAXED);
    return n;
}

_Static_assert(SPILLWAY_O_PATH == O_PATH, "O_PATH");
_Static_assert(SPILLWAY_O_NOATIME == O_NOATIME, "O_NOATIME");
