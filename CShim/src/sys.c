/*
 * sys.c — raw system calls for the preload library's own bookkeeping.
 *
 * These bypass libc's wrappers, which the library itself hooks, so that the
 * library never re-enters its own hooks and needs no re-entrancy guard.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

/* Reads (and writes) of the program's memory that cannot fault: process_vm_readv on this
 * process copies what is readable and stops at the first address that is not,
 * where a plain load would raise SIGSEGV in the program.
 *
 * A seccomp filter (or an old kernel) that refuses process_vm_readv/writev leaves plain loads
 * and stores: they fault on a bad pointer, as libc itself would, but the union keeps working
 * (the library fails open rather than turning itself off). */
static int sw_vm_refused;

static int sw_vm_unavailable(void) {
    if (errno != ENOSYS && errno != EPERM) return 0;
    __atomic_store_n(&sw_vm_refused, 1, __ATOMIC_RELAXED);
    return 1;
}

static ssize_t sw_sys_read_self(void *dst, const void *src, size_t n) {
    struct iovec local = {.iov_base = dst, .iov_len = n};
    struct iovec remote = {.iov_base = (void *)src, .iov_len = n};
    if (!__atomic_load_n(&sw_vm_refused, __ATOMIC_RELAXED)) {
        ssize_t got = (ssize_t)syscall(SYS_process_vm_readv, syscall(SYS_getpid), &local, 1UL, &remote, 1UL, 0UL);
        if (got >= 0 || !sw_vm_unavailable()) return got;
    }
    memcpy(dst, src, n);
    return (ssize_t)n;
}

int sw_copy_out(void *dst, const void *src, size_t n) {
    if (n == 0) return 0;
    struct iovec local = {.iov_base = (void *)src, .iov_len = n};
    struct iovec remote = {.iov_base = dst, .iov_len = n};
    ssize_t put = -1;
    if (!__atomic_load_n(&sw_vm_refused, __ATOMIC_RELAXED)) {
        put = (ssize_t)syscall(SYS_process_vm_writev, syscall(SYS_getpid), &local, 1UL, &remote, 1UL, 0UL);
        if (put < 0 && sw_vm_unavailable()) put = -2;
    }
    if (put == -2 || __atomic_load_n(&sw_vm_refused, __ATOMIC_RELAXED)) {
        memcpy(dst, src, n);
        return 0;
    }
    if (put == (ssize_t)n) return 0;
    if (put >= 0 || errno == EFAULT) errno = EFAULT;
    return -1;
}

int sw_copy_in(void *dst, const void *src, size_t n) {
    if (n == 0) return 0;
    ssize_t got = sw_sys_read_self(dst, src, n);
    if (got == (ssize_t)n) return 0;
    if (got >= 0 || errno == EFAULT) errno = EFAULT;
    return -1;
}

ssize_t sw_copy_string(const char *src, char *out, size_t cap) {
    size_t have = 0;
    while (have < cap) {
        /* One page at a time: a string may end just before an unmapped page. */
        uintptr_t at = (uintptr_t)src + have;
        size_t chunk = 4096 - (at & 4095);
        if (chunk > cap - have) chunk = cap - have;
        ssize_t got = sw_sys_read_self(out + have, src + have, chunk);
        if (got <= 0) {
            if (got == 0 || errno == EFAULT) errno = EFAULT;
            return -1;
        }
        char *nul = memchr(out + have, '\0', (size_t)got);
        if (nul != NULL) return (ssize_t)(nul - out);
        have += (size_t)got;
        if ((size_t)got < chunk) {
            errno = EFAULT;
            return -1;
        }
    }
    errno = ENAMETOOLONG;
    return -1;
}

ssize_t sw_copy_path(const char *path, char out[PATH_MAX]) {
    return sw_copy_string(path, out, PATH_MAX);
}
