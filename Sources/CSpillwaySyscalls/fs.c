/*
 * fs.c — statx(2) facts about a descriptor's mount, for spillway_fs.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "spillway_fs.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

_Static_assert(SPILLWAY_OVERLAYFS_SUPER_MAGIC == OVERLAYFS_SUPER_MAGIC, "overlayfs magic");
_Static_assert(SPILLWAY_TMPFS_MAGIC == TMPFS_MAGIC, "tmpfs magic");

_Static_assert(SPILLWAY_ST_RDONLY == ST_RDONLY, "ST_RDONLY");
_Static_assert(SPILLWAY_ST_NOSUID == ST_NOSUID, "ST_NOSUID");
_Static_assert(SPILLWAY_ST_NODEV == ST_NODEV, "ST_NODEV");

int spillway_fstatfs(int fd, struct spillway_statfs *out) {
    struct statfs st;
    if (fstatfs(fd, &st) != 0) return -1;
    out->type = (uint64_t)(unsigned long)st.f_type;
    out->block_size = (uint64_t)st.f_bsize;
    out->fragment_size = (uint64_t)(st.f_frsize ? st.f_frsize : st.f_bsize);
    out->blocks = (uint64_t)st.f_blocks;
    out->free_blocks = (uint64_t)st.f_bfree;
    out->available_blocks = (uint64_t)st.f_bavail;
    out->files = (uint64_t)st.f_files;
    out->free_files = (uint64_t)st.f_ffree;
    out->flags = (uint64_t)st.f_flags;
    return 0;
}

uint32_t spillway_dev_major(uint64_t dev) { return major((dev_t)dev); }
uint32_t spillway_dev_minor(uint64_t dev) { return minor((dev_t)dev); }

int spillway_mount_facts(int fd, int *is_mount_root, uint64_t *mount_id) {
    struct statx stx;
    memset(&stx, 0, sizeof(stx));
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &stx) != 0) return -1;
    if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
        *is_mount_root = (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
    } else {
        *is_mount_root = -1;
    }
    *mount_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
    return 0;
}
