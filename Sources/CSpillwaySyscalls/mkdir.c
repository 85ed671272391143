/*
 * mkdir.c — spillway_mkdir_like (spillway_syscalls.h): a directory made in a container's tree and
 * given another directory's owner and mode through its own descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spillway_syscalls.h"

int spillway_mkdir_like(int parent, const char *name, uint32_t uid, uint32_t gid, uint32_t mode) {
    if (mkdirat(parent, name, 0700) != 0) return -errno;
    int fd = spillway_openat2(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
                              SPILLWAY_RESOLVE_BENEATH | SPILLWAY_RESOLVE_NO_SYMLINKS | SPILLWAY_RESOLVE_NO_MAGICLINKS |
                                  SPILLWAY_RESOLVE_NO_XDEV);
    if (fd < 0) return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) rc = -errno;
    else if (!S_ISDIR(st.st_mode)) rc = -ENOTDIR;
    else if (st.st_uid != geteuid() || (st.st_mode & 07077) != 0) rc = -EAGAIN;
    else if (fchown(fd, uid, gid) != 0) rc = -errno;
    else if (fchmod(fd, mode & 07777) != 0) rc = -errno;
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}
