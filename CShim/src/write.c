/*
 * write.c — the writers by descriptor: write, pwrite, writev, pwritev(2),
 * ftruncate, fallocate, posix_fallocate, copy_file_range, sendfile.
 *
 * While `normal` or `draining` each hook is one state load and the libc call.
 * While `spilling`, a write through a descriptor of a main-disk file first
 * moves that file to the spill area (move.c) and re-points the descriptor, so
 * no byte lands on the full main disk; a file another process already moved
 * is found and re-pointed to. In every state, a write that fails with EDQUOT
 * or ENOSPC on the main disk moves the file and is retried once, so the
 * program sees the error only when the spill area is full too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "real.h"

/* fd is a regular file on the managed main disk (its stat in st). */
static int sw_main_file(int fd, struct stat *st) {
    return sw_cfg.slot != NULL && syscall(SYS_fstat, fd, st) == 0 && S_ISREG(st->st_mode) &&
           st->st_dev == sw_cfg.root_dev;
}

/* Before a write while spilling: move a main-disk file out from under it. */
static void sw_before_write(int fd) {
    if (sw_state() != SPILLWAY_STATE_SPILLING) return;
    int saved = errno;
    struct stat st;
    if (sw_main_file(fd, &st)) sw_take_over(fd, &st, 0);
    errno = saved;
}

/* After a failed write: was it the quota, and could the file be moved? */
static int sw_rescued(int fd) {
    if (errno != EDQUOT && errno != ENOSPC) return 0;
    sw_ensure_init();
    int saved = errno;
    struct stat st;
    int ok = sw_main_file(fd, &st) && sw_take_over(fd, &st, 1) == 0;
    if (ok) sw_note_rescue();
    errno = saved;
    return ok;
}

#define SW_WRITER(ret, name, params, fd, args)                 \
    SW_REAL_DECL(ret, name, params);                           \
    SW_EXPORT ret name params {                                \
        if (SW_UNLIKELY(!SW_IDLE())) sw_before_write(fd);      \
        ret r = SW_REAL(name) args;                            \
        if (SW_UNLIKELY(r < 0) && sw_rescued(fd)) r = SW_REAL(name) args; \
        return r;                                              \
    }

SW_WRITER(ssize_t, write, (int fd, const void *buf, size_t n), fd, (fd, buf, n))
SW_WRITER(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), fd, (fd, buf, n, off))
SW_WRITER(ssize_t, writev, (int fd, const struct iovec *iov, int cnt), fd, (fd, iov, cnt))
SW_WRITER(ssize_t, pwritev, (int fd, const struct iovec *iov, int cnt, off_t off), fd, (fd, iov, cnt, off))
SW_WRITER(int, ftruncate, (int fd, off_t len), fd, (fd, len))
SW_WRITER(int, fallocate, (int fd, int mode, off_t off, off_t len), fd, (fd, mode, off, len))
SW_WRITER(ssize_t, copy_file_range, (int in, off_t *inoff, int fd, off_t *outoff, size_t n, unsigned int fl), fd,
          (in, inoff, fd, outoff, n, fl))
SW_WRITER(ssize_t, sendfile, (int fd, int in, off_t *off, size_t n), fd, (fd, in, off, n))

/* posix_fallocate returns the error number instead of setting errno. */
SW_REAL_DECL(int, posix_fallocate, (int, off_t, off_t));
SW_EXPORT int posix_fallocate(int fd, off_t off, off_t len) {
    if (SW_UNLIKELY(!SW_IDLE())) sw_before_write(fd);
    int rc = SW_REAL(posix_fallocate)(fd, off, len);
    if (SW_UNLIKELY(rc == EDQUOT || rc == ENOSPC)) {
        int saved = errno;
        errno = rc;
        if (sw_rescued(fd)) rc = SW_REAL(posix_fallocate)(fd, off, len);
        errno = saved;
    }
    return rc;
}

#ifdef __GLIBC__
SW_WRITER(ssize_t, pwritev2, (int fd, const struct iovec *iov, int cnt, off_t off, int fl), fd, (fd, iov, cnt, off, fl))

/* LP64 glibc: the 64-bit names are the same functions. */
SW_EXPORT ssize_t pwrite64(int, const void *, size_t, off_t) __attribute__((alias("pwrite")));
SW_EXPORT ssize_t pwritev64(int, const struct iovec *, int, off_t) __attribute__((alias("pwritev")));
SW_EXPORT ssize_t pwritev64v2(int, const struct iovec *, int, off_t, int) __attribute__((alias("pwritev2")));
SW_EXPORT int ftruncate64(int, off_t) __attribute__((alias("ftruncate")));
SW_EXPORT int fallocate64(int, int, off_t, off_t) __attribute__((alias("fallocate")));
SW_EXPORT int posix_fallocate64(int, off_t, off_t) __attribute__((alias("posix_fallocate")));
SW_EXPORT ssize_t sendfile64(int, int, off_t *, size_t) __attribute__((alias("sendfile")));
#endif
