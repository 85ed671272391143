/*
 * syscalls.c — thin syscall(2) wrappers for spillway_syscalls.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spillway_syscalls.h"

int spillway_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

static int openat2_once(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct {
        uint64_t flags, mode, resolve;
    } how = {flags, mode, resolve};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/*
 * A path the kernel refuses whole (PATH_MAX bytes with its NUL or more) is walked in chunks:
 * each chunk ends at a '/' within the limit and is opened O_PATH|O_DIRECTORY beneath the
 * directory the previous one reached, with the caller's `resolve` flags, so every step is as
 * confined as one call would be (a `..` cannot climb out of a chunk; the union and the drain
 * never send one). Only a name longer than a chunk, which the kernel refuses anyway
 * (NAME_MAX), gives ENAMETOOLONG.
 */
int spillway_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    size_t left = strlen(path);
    if (left < PATH_MAX || path[0] == '/') return openat2_once(dirfd, path, flags, mode, resolve);
    char chunk[PATH_MAX];
    int held = -1;
    const char *rest = path;
    while (left >= PATH_MAX) {
        const char *cut = memrchr(rest, '/', PATH_MAX - 1);
        if (cut == NULL || cut == rest) {
            if (held >= 0) close(held);
            errno = ENAMETOOLONG;
            return -1;
        }
        size_t length = (size_t)(cut - rest);
        memcpy(chunk, rest, length);
        chunk[length] = 0;
        int next = openat2_once(held >= 0 ? held : dirfd, chunk, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, resolve);
        int saved = errno;
        if (held >= 0) close(held);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        held = next;
        while (*cut == '/') cut++;
        left -= (size_t)(cut - rest);
        rest = cut;
    }
    int fd = openat2_once(held, rest[0] ? rest : ".", flags, mode, resolve);
    int saved = errno;
    close(held);
    errno = saved;
    return fd;
}
