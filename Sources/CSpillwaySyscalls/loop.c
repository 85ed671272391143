/*
 * loop.c — loop-device ioctls (attach, grow, detach, identify) and ext4's
 * online resize, for spillway_loop.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/loop.h>
#include <linux/magic.h>

#include "spillway_loop.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
#endif
/* linux/ext4.h is not installed as a uapi header; the value is fixed ABI. */
#define SPILLWAY_EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)

_Static_assert(SPILLWAY_LO_FLAGS_READ_ONLY == LO_FLAGS_READ_ONLY, "read-only flag");
_Static_assert(SPILLWAY_LO_FLAGS_AUTOCLEAR == LO_FLAGS_AUTOCLEAR, "autoclear flag");
_Static_assert(SPILLWAY_EXT4_SUPER_MAGIC == EXT4_SUPER_MAGIC, "ext4 magic");

int spillway_loop_get_free(int control_fd) {
    return ioctl(control_fd, LOOP_CTL_GET_FREE);
}

static void fill_info(struct loop_info64 *info, uint32_t flags, const char *file_name) {
    memset(info, 0, sizeof(*info));
    info->lo_flags = flags;
    if (file_name != NULL) {
        strncpy((char *)info->lo_file_name, file_name, LO_NAME_SIZE - 1);
    }
}

int spillway_loop_configure(int loop_fd, int backing_fd, uint32_t flags, const char *file_name) {
    struct loop_config config;
    memset(&config, 0, sizeof(config));
    config.fd = (uint32_t)backing_fd;
    config.block_size = 0;
    fill_info(&config.info, flags, file_name);
    if (ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0) return 0;
    if (errno != EINVAL && errno != ENOTTY) return -1;
    /* Kernels before 5.8: two steps, with a window in which the flags are not yet set. */
    if (ioctl(loop_fd, LOOP_SET_FD, backing_fd) != 0) return -1;
    struct loop_info64 info;
    fill_info(&info, flags & (LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN), file_name);
    if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
        int saved = errno;
        (void)ioctl(loop_fd, LOOP_CLR_FD, 0);
        errno = saved;
        return -1;
    }
    return 0;
}

int spillway_loop_set_capacity(int loop_fd) {
    return ioctl(loop_fd, LOOP_SET_CAPACITY, 0);
}

int spillway_loop_clear(int loop_fd) {
    return ioctl(loop_fd, LOOP_CLR_FD, 0);
}

int spillway_loop_backing(int loop_fd, uint64_t *device, uint64_t *inode, uint32_t *flags) {
    struct loop_info64 info;
    memset(&info, 0, sizeof(info));
    if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) != 0) return -1;
    *device = info.lo_device;
    *inode = info.lo_inode;
    *flags = info.lo_flags;
    return 0;
}

int spillway_ext4_resize(int fd, uint64_t block_count) {
    uint64_t count = block_count;
    return ioctl(fd, SPILLWAY_EXT4_IOC_RESIZE_FS, &count);
}
