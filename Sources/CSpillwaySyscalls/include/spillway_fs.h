/*
 * spillway_fs.h — filesystem facts Swift cannot reach through Glibc:
 * fstatfs(2) (sys/vfs.h is not in Swift's Glibc module), statx(2)'s
 * mount-root attribute and mount id, and the major/minor split of a dev_t.
 */
#ifndef SPILLWAY_FS_H
#define SPILLWAY_FS_H

#include <stdint.h>

/* statfs(2) f_type of overlayfs and tmpfs. */
#define SPILLWAY_OVERLAYFS_SUPER_MAGIC 0x794C7630U
#define SPILLWAY_TMPFS_MAGIC 0x01021994U

/* statfs(2) f_flags bits: the mount's flags. */
#define SPILLWAY_ST_RDONLY 1U
#define SPILLWAY_ST_NOSUID 2U
#define SPILLWAY_ST_NODEV 4U

/* What fstatfs(2) reports, widened to 64 bits. */
struct spillway_statfs {
    uint64_t type;        /* f_type: the filesystem's magic number */
    uint64_t block_size;  /* f_bsize: the preferred I/O size */
    uint64_t fragment_size; /* f_frsize: the unit of the block counts */
    uint64_t blocks;      /* f_blocks */
    uint64_t free_blocks; /* f_bfree */
    uint64_t available_blocks; /* f_bavail: free blocks for unprivileged users */
    uint64_t files;       /* f_files */
    uint64_t free_files;  /* f_ffree */
    uint64_t flags;       /* f_flags: SPILLWAY_ST_* */
};

/* fstatfs(2) on `fd`. Returns 0, or -1 with errno set. */
int spillway_fstatfs(int fd, struct spillway_statfs *out);

/* major(3) and minor(3) of a device number. */
uint32_t spillway_dev_major(uint64_t dev);
uint32_t spillway_dev_minor(uint64_t dev);

/* statx(2) on `fd` itself (AT_EMPTY_PATH): whether it is the root of a mount (1 or 0;
 * -1 when the kernel does not say) and the id of its mount (as in /proc/self/mountinfo;
 * 0 when the kernel does not say). Returns 0, or -1 with errno set. */
int spillway_mount_facts(int fd, int *is_mount_root, uint64_t *mount_id);

#endif /* SPILLWAY_FS_H */
