/*
 * btrfs.c — btrfs ioctls for spillway_btrfs.h: subvolume ids, fsid,
 * transaction commit, subvolume create/destroy, qgroup limits and quota-tree
 * searches. The kernel's structures are used as they are; the constants the
 * header repeats for Swift are pinned to the kernel's below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>

#include "spillway_btrfs.h"

_Static_assert(SPILLWAY_BTRFS_SUPER_MAGIC == BTRFS_SUPER_MAGIC, "btrfs magic");
_Static_assert(SPILLWAY_BTRFS_FIRST_FREE_OBJECTID == BTRFS_FIRST_FREE_OBJECTID, "first free objectid");
_Static_assert(SPILLWAY_BTRFS_FS_TREE_OBJECTID == BTRFS_FS_TREE_OBJECTID, "fs tree objectid");
_Static_assert(SPILLWAY_BTRFS_QUOTA_TREE_OBJECTID == BTRFS_QUOTA_TREE_OBJECTID, "quota tree objectid");
_Static_assert(SPILLWAY_BTRFS_QGROUP_STATUS_KEY == BTRFS_QGROUP_STATUS_KEY, "status key");
_Static_assert(SPILLWAY_BTRFS_QGROUP_INFO_KEY == BTRFS_QGROUP_INFO_KEY, "info key");
_Static_assert(SPILLWAY_BTRFS_QGROUP_LIMIT_KEY == BTRFS_QGROUP_LIMIT_KEY, "limit key");
_Static_assert(SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_ON == BTRFS_QGROUP_STATUS_FLAG_ON, "status on");
_Static_assert(SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_RESCAN == BTRFS_QGROUP_STATUS_FLAG_RESCAN, "status rescan");
_Static_assert(SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT == BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT, "inconsistent");
_Static_assert(SPILLWAY_BTRFS_QGROUP_LIMIT_MAX_RFER == BTRFS_QGROUP_LIMIT_MAX_RFER, "limit max rfer");
_Static_assert(SPILLWAY_BTRFS_QGROUP_LIMIT_MAX_EXCL == BTRFS_QGROUP_LIMIT_MAX_EXCL, "limit max excl");
_Static_assert(SPILLWAY_BTRFS_SEARCH_HEADER_SIZE == sizeof(struct btrfs_ioctl_search_header), "search header");
_Static_assert(SPILLWAY_BTRFS_SUBVOL_NAME_MAX == BTRFS_SUBVOL_NAME_MAX, "subvolume name max");
_Static_assert(sizeof(struct spillway_btrfs_search_key) <= sizeof(struct btrfs_ioctl_search_key), "search key");

int spillway_btrfs_subvolume_id(int fd, uint64_t *subvolume_id) {
    struct btrfs_ioctl_ino_lookup_args args;
    memset(&args, 0, sizeof(args));
    args.treeid = 0;
    args.objectid = BTRFS_FIRST_FREE_OBJECTID;
    if (ioctl(fd, BTRFS_IOC_INO_LOOKUP, &args) != 0) return -1;
    *subvolume_id = args.treeid;
    return 0;
}

int spillway_btrfs_fsid(int fd, uint8_t fsid[16]) {
    struct btrfs_ioctl_fs_info_args args;
    memset(&args, 0, sizeof(args));
    if (ioctl(fd, BTRFS_IOC_FS_INFO, &args) != 0) return -1;
    memcpy(fsid, args.fsid, BTRFS_FSID_SIZE);
    return 0;
}

int spillway_btrfs_sync(int fd) {
    return ioctl(fd, BTRFS_IOC_SYNC, NULL);
}

static int fill_vol_args(struct btrfs_ioctl_vol_args *args, const char *name) {
    size_t length = strlen(name);
    memset(args, 0, sizeof(*args));
    if (length == 0 || length > BTRFS_SUBVOL_NAME_MAX || length >= sizeof(args->name)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(args->name, name, length);
    return 0;
}

int spillway_btrfs_subvolume_create(int dirfd, const char *name) {
    struct btrfs_ioctl_vol_args args;
    if (fill_vol_args(&args, name) != 0) return -1;
    return ioctl(dirfd, BTRFS_IOC_SUBVOL_CREATE, &args);
}

int spillway_btrfs_subvolume_destroy(int dirfd, const char *name) {
    struct btrfs_ioctl_vol_args args;
    if (fill_vol_args(&args, name) != 0) return -1;
    return ioctl(dirfd, BTRFS_IOC_SNAP_DESTROY, &args);
}

int spillway_btrfs_resize(int fd, const char *spec) {
    struct btrfs_ioctl_vol_args args;
    if (fill_vol_args(&args, spec) != 0) return -1;
    return ioctl(fd, BTRFS_IOC_RESIZE, &args);
}

int spillway_btrfs_qgroup_limit(int fd, uint64_t qgroupid, uint64_t max_referenced) {
    struct btrfs_ioctl_qgroup_limit_args args;
    memset(&args, 0, sizeof(args));
    args.qgroupid = qgroupid;
    args.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
    /* The kernel takes (u64)-1 as "clear this limit". */
    args.lim.max_rfer = max_referenced;
    return ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args);
}

int spillway_btrfs_qgroup_destroy(int fd, uint64_t qgroupid) {
    struct btrfs_ioctl_qgroup_create_args args;
    memset(&args, 0, sizeof(args));
    args.create = 0;
    args.qgroupid = qgroupid;
    return ioctl(fd, BTRFS_IOC_QGROUP_CREATE, &args);
}

int spillway_btrfs_tree_search(int fd, struct spillway_btrfs_search_key *key, void *buffer, uint64_t buffer_size) {
    size_t total = sizeof(struct btrfs_ioctl_search_args_v2) + buffer_size;
    struct btrfs_ioctl_search_args_v2 *args = calloc(1, total);
    if (args == NULL) return -1;
    args->key.tree_id = key->tree_id;
    args->key.min_objectid = key->min_objectid;
    args->key.max_objectid = key->max_objectid;
    args->key.min_offset = key->min_offset;
    args->key.max_offset = key->max_offset;
    args->key.min_transid = key->min_transid;
    args->key.max_transid = key->max_transid;
    args->key.min_type = key->min_type;
    args->key.max_type = key->max_type;
    args->key.nr_items = key->nr_items;
    args->buf_size = buffer_size;
    int result = ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, args);
    if (result == 0) {
        key->nr_items = args->key.nr_items;
        memcpy(buffer, args->buf, buffer_size);
    }
    int saved = errno;
    free(args);
    errno = saved;
    return result;
}
