/*
 * spillway_loop.h — loop-device and ext4 ioctls for the loop-image partition
 * backend, wrapped because ioctl(2) is variadic and Swift cannot call it.
 * Each returns 0 (or a documented value) on success, -1 with errno set on failure.
 */
#ifndef SPILLWAY_LOOP_H
#define SPILLWAY_LOOP_H

#include <stdint.h>

/* Loop flags (linux/loop.h). */
#define SPILLWAY_LO_FLAGS_READ_ONLY 1U
#define SPILLWAY_LO_FLAGS_AUTOCLEAR 4U
/* The major device number of loop devices. */
#define SPILLWAY_LOOP_MAJOR 7U
/* statfs(2) f_type of ext2/3/4. */
#define SPILLWAY_EXT4_SUPER_MAGIC 0xEF53U

/* LOOP_CTL_GET_FREE on `control_fd` (/dev/loop-control): the number of a free loop device. */
int spillway_loop_get_free(int control_fd);

/* LOOP_CONFIGURE: binds `backing_fd` to loop device `loop_fd` with `flags` (LO_FLAGS_*),
 * naming it `file_name` (shown by losetup; may be NULL). Falls back to LOOP_SET_FD and
 * LOOP_SET_STATUS64 on kernels older than 5.8. */
int spillway_loop_configure(int loop_fd, int backing_fd, uint32_t flags, const char *file_name);

/* LOOP_SET_CAPACITY: makes the loop device re-read its backing file's size. */
int spillway_loop_set_capacity(int loop_fd);

/* LOOP_CLR_FD: detaches the backing file (deferred by the kernel while the device is open). */
int spillway_loop_clear(int loop_fd);

/* LOOP_GET_STATUS64: the device and inode of the backing file, and the loop's flags. */
int spillway_loop_backing(int loop_fd, uint64_t *device, uint64_t *inode, uint32_t *flags);

/* EXT4_IOC_RESIZE_FS on any file of a mounted ext4: grows it online to `block_count` blocks. */
int spillway_ext4_resize(int fd, uint64_t block_count);

#endif /* SPILLWAY_LOOP_H */
