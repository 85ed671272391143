/*
 * syscalls.c — thin syscall(2) wrappers for spillway_syscalls.h.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "spillway_syscalls.h"

int spillway_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

int spillway_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct {
        uint64_t flags, mode, resolve;
    } how = {flags, mode, resolve};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}
