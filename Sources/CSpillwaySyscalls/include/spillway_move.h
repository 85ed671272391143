/*
 * spillway_move.h — the file work of the supervisor's drain that Swift cannot
 * do through Glibc: data copies that keep holes (SEEK_DATA/SEEK_HOLE with
 * copy_file_range(2), which reflinks where the filesystem can), extended
 * attributes through descriptors, the writer mark of spillway_slot.h
 * (F_OFD_GETLK), syncfs(2), and chmod of an O_PATH descriptor. Each returns
 * 0 (or a documented value) on success and -1 with errno set on failure.
 */
#ifndef SPILLWAY_MOVE_H
#define SPILLWAY_MOVE_H

#include <stdint.h>

/* open(2) flags glibc hides without _GNU_SOURCE. */
#define SPILLWAY_O_PATH 010000000
#define SPILLWAY_O_NOATIME 01000000

/* Copies every data extent of `in` below `size` to `out` (a new, empty file) at the same offsets
 * (holes stay holes) and sets `out`'s size to `size`. `allocated` is `in`'s st_blocks * 512: at
 * least `size` means there is no hole to look for. copy_file_range(2) first; sendfile(2), then
 * read/write, where the kernel refuses it. `*method` (0 to start; may be NULL) remembers which
 * of the three worked, so a caller copying many files between the same two filesystems asks
 * the kernel once. */
int spillway_copy_data(int in, int out, uint64_t size, uint64_t allocated, int *method);

/* Copies every extended attribute of `in` to `out` (through the descriptors),
 * except the one named `skip` (may be NULL). Returns 0, or -1 with errno set
 * on the first attribute that cannot be read or written. */
int spillway_copy_xattrs(int in, int out, const char *skip);

/* Whether any open file description other than `fd`'s holds a lock that
 * conflicts with a write lock on [offset, offset + length) (F_OFD_GETLK):
 * 1 yes (a writer holds the file open), 0 no, -1 with errno on failure. */
int spillway_ofd_lock_present(int fd, int64_t offset, int64_t length);

/* syncfs(2): flushes the whole filesystem holding `fd`. */
int spillway_syncfs(int fd);

/* Sets the permission bits of the inode `fd` refers to, which may be an
 * O_PATH descriptor of a FIFO or device node: fchmodat2(fd, "", AT_EMPTY_PATH)
 * (Linux 6.6+), else chmod of /proc/self/fd/N (the same inode, no lookup). */
int spillway_fchmod_opath(int fd, uint32_t mode);

/* fchownat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) and
 * utimensat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW): owner and times of
 * the inode an O_PATH descriptor refers to (a symlink itself included). */
int spillway_fchown_opath(int fd, uint32_t uid, uint32_t gid);
int spillway_futimens_opath(int fd, int64_t atime_sec, int64_t atime_nsec, int64_t mtime_sec, int64_t mtime_nsec);

/* readlinkat(fd, "", ...) of an O_PATH descriptor of a symlink. Returns the
 * length (not NUL-terminated), or -1. */
long spillway_readlink_opath(int fd, char *buffer, unsigned long size);

/* fgetxattr(2): the value of attribute `name` of `fd`; its length, or -1. */
long spillway_fgetxattr(int fd, const char *name, void *buffer, unsigned long size);

/* fsetxattr(2) with flags 0: sets attribute `name` of `fd`; 0, or -1 with errno. */
int spillway_fsetxattr(int fd, const char *name, const void *value, unsigned long size);

/* The value of attribute `name` of `relative` under the directory `dirfd` (a
 * final symlink itself, not followed), or -1 with errno. The parent is opened with
 * openat2(`resolve`) (none for a name at the top) and the last name read with
 * getxattrat(2) (Linux 6.13+): at most three system calls, against six through
 * /proc/self/fd. Returns -1 with ENOSYS where getxattrat is missing. */
long spillway_getxattr_beneath(int dirfd, const char *relative, uint64_t resolve, const char *name, void *buffer, unsigned long size);

#endif /* SPILLWAY_MOVE_H */
