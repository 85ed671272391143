/*
 * sys.c — raw system calls for the preload library's own bookkeeping.
 *
 * These bypass libc's wrappers, which the library itself hooks, so that the
 * library never re-enters its own hooks and needs no re-entrancy guard.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

int sw_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags) {
    return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

int sw_sys_mkdirat(int dirfd, const char *path, mode_t mode) {
    return (int)syscall(SYS_mkdirat, dirfd, path, mode);
}

int sw_sys_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags) {
    return (int)syscall(SYS_fchownat, dirfd, path, uid, gid, flags);
}

int sw_sys_fchmodat(int dirfd, const char *path, mode_t mode) {
    return (int)syscall(SYS_fchmodat, dirfd, path, mode);
}

int sw_sys_openat(int dirfd, const char *path, int flags, mode_t mode) {
    return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

int sw_sys_close(int fd) {
    return (int)syscall(SYS_close, fd);
}

long sw_sys_getcwd(char *buf, size_t size) {
    return syscall(SYS_getcwd, buf, size);
}

ssize_t sw_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size) {
    return (ssize_t)syscall(SYS_readlinkat, dirfd, path, buf, size);
}
