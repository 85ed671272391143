/*
 * shim.h — libfuse3's high-level API for Swift (FUSE_USE_VERSION 31, Debian 12's
 * libfuse3-dev 3.14), plus the few static-inline helpers Swift cannot write itself:
 * libfuse's versioned macro fuse_new, the bitfields of
 * fuse_file_info, the one-buffer fuse_bufvec that read_buf hands back, and
 * system calls glibc declares only under _GNU_SOURCE (declared here, since the module
 * cannot define it: dup3, copy_file_range, fallocate) or that are variadic.
 */
#ifndef SPILLWAY_CFUSE3_SHIM_H
#define SPILLWAY_CFUSE3_SHIM_H

#define FUSE_USE_VERSION 31
/* No _GNU_SOURCE here: Swift's Glibc module is built without it, and a module that sees glibc's
 * headers under other feature macros defines their types differently (fd_set), which a clean
 * build refuses. The few GNU calls are declared below instead. */
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* fuse_new(3) of this FUSE_USE_VERSION. */
static inline struct fuse *spw_fuse_new(struct fuse_args *args, const struct fuse_operations *op, void *data) {
    return fuse_new(args, op, sizeof(*op), data);
}

/* The bitfields of fuse_file_info. */
static inline void spw_fi_set_keep_cache(struct fuse_file_info *fi, int on) { fi->keep_cache = on ? 1 : 0; }
static inline void spw_fi_set_direct_io(struct fuse_file_info *fi, int on) { fi->direct_io = on ? 1 : 0; }
static inline void spw_fi_set_noflush(struct fuse_file_info *fi, int on) { fi->noflush = on ? 1 : 0; }
static inline int spw_fi_writepage(const struct fuse_file_info *fi) { return fi->writepage; }

/*
 * read_buf's answer: one buffer naming `fd` at `offset` for `size` bytes, which
 * libfuse splices to the kernel (and frees). Returns 0 or -ENOMEM.
 */
static inline int spw_read_buf_fd(struct fuse_bufvec **bufp, int fd, size_t size, off_t offset) {
    struct fuse_bufvec *vec = malloc(sizeof(struct fuse_bufvec));
    if (vec == NULL) return -ENOMEM;
    *vec = FUSE_BUFVEC_INIT(size);
    vec->buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    vec->buf[0].fd = fd;
    vec->buf[0].pos = offset;
    *bufp = vec;
    return 0;
}

/* The caller of the request being served (uid, gid, pid, umask). */
static inline uid_t spw_context_uid(void) { return fuse_get_context()->uid; }
static inline gid_t spw_context_gid(void) { return fuse_get_context()->gid; }

/* Calls glibc declares only under _GNU_SOURCE (same signatures as glibc's on Linux). */
extern int dup3(int oldfd, int newfd, int flags);
extern ssize_t copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned int flags);
extern int fallocate(int fd, int mode, off_t offset, off_t length);
static inline int spw_dup3(int oldfd, int newfd, int flags) { return dup3(oldfd, newfd, flags); }
static inline ssize_t spw_copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned flags) {
    return copy_file_range(in, off_in, out, off_out, len, flags);
}
static inline int spw_fallocate(int fd, int mode, off_t offset, off_t length) {
    return fallocate(fd, mode, offset, length);
}
static inline int spw_flock(int fd, int operation) { return flock(fd, operation); }
static inline int spw_fcntl_lock(int fd, int cmd, struct flock *lock) { return fcntl(fd, cmd, lock); }
static inline int spw_fcntl_dupfd(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }
static inline int spw_umount2(const char *target, int flags) { return (int)syscall(SYS_umount2, target, flags); }

#endif /* SPILLWAY_CFUSE3_SHIM_H */
