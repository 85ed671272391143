/*
 * spillway_btrfs.h — the btrfs ioctls the usage and partition backends use,
 * wrapped because ioctl(2) is variadic and Swift cannot call it. Each returns
 * 0 (or a documented value) on success and -1 with errno set on failure.
 */
#ifndef SPILLWAY_BTRFS_H
#define SPILLWAY_BTRFS_H

#include <stdint.h>

/* statfs(2) f_type of btrfs (linux/magic.h). */
#define SPILLWAY_BTRFS_SUPER_MAGIC 0x9123683EU
/* The inode number of every subvolume's root directory. */
#define SPILLWAY_BTRFS_FIRST_FREE_OBJECTID 256ULL
/* The top-level subvolume's id. */
#define SPILLWAY_BTRFS_FS_TREE_OBJECTID 5ULL
/* The quota tree's id, for tree searches. */
#define SPILLWAY_BTRFS_QUOTA_TREE_OBJECTID 8ULL
/* Item types in the quota tree (linux/btrfs_tree.h). */
#define SPILLWAY_BTRFS_QGROUP_STATUS_KEY 240U
#define SPILLWAY_BTRFS_QGROUP_INFO_KEY 242U
#define SPILLWAY_BTRFS_QGROUP_LIMIT_KEY 244U
/* Flags of a qgroup status item. */
#define SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_ON 1ULL
#define SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_RESCAN 2ULL
#define SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT 4ULL
/* Flags of a qgroup limit (which of its fields apply). */
#define SPILLWAY_BTRFS_QGROUP_LIMIT_MAX_RFER 1ULL
#define SPILLWAY_BTRFS_QGROUP_LIMIT_MAX_EXCL 2ULL
/* The size of the native-endian header before each item a tree search returns. */
#define SPILLWAY_BTRFS_SEARCH_HEADER_SIZE 32U
/* The longest name a subvolume may have. */
#define SPILLWAY_BTRFS_SUBVOL_NAME_MAX 4039U

/* BTRFS_IOC_INO_LOOKUP with treeid 0 and objectid 256: the id of the subvolume holding `fd`. */
int spillway_btrfs_subvolume_id(int fd, uint64_t *subvolume_id);

/* BTRFS_IOC_FS_INFO: the filesystem's fsid (16 bytes, the name of its /sys/fs/btrfs directory). */
int spillway_btrfs_fsid(int fd, uint8_t fsid[16]);

/* BTRFS_IOC_SYNC: commits the running transaction of the filesystem holding `fd`. */
int spillway_btrfs_sync(int fd);

/* BTRFS_IOC_SUBVOL_CREATE: a new empty subvolume `name` in directory `dirfd`. */
int spillway_btrfs_subvolume_create(int dirfd, const char *name);

/* BTRFS_IOC_SNAP_DESTROY: deletes subvolume `name` in directory `dirfd`, with its contents. */
int spillway_btrfs_subvolume_destroy(int dirfd, const char *name);

/* BTRFS_IOC_QGROUP_LIMIT: sets qgroup `qgroupid`'s referenced limit to `max_referenced`
 * bytes, or removes the limit when it is UINT64_MAX. `fd` is any file on the filesystem. */
int spillway_btrfs_qgroup_limit(int fd, uint64_t qgroupid, uint64_t max_referenced);

/* BTRFS_IOC_QGROUP_CREATE with create = 0: removes qgroup `qgroupid`. */
int spillway_btrfs_qgroup_destroy(int fd, uint64_t qgroupid);

/* The key range of a tree search, as struct btrfs_ioctl_search_key. */
struct spillway_btrfs_search_key {
    uint64_t tree_id;
    uint64_t min_objectid;
    uint64_t max_objectid;
    uint64_t min_offset;
    uint64_t max_offset;
    uint64_t min_transid;
    uint64_t max_transid;
    uint32_t min_type;
    uint32_t max_type;
    /* in: how many items at most; out: how many were returned. */
    uint32_t nr_items;
};

/* BTRFS_IOC_RESIZE on any file of a mounted btrfs: `spec` as `btrfs filesystem resize` takes it
 * ("max" grows device 1 to the size of its block device). */
int spillway_btrfs_resize(int fd, const char *spec);

/* BTRFS_IOC_TREE_SEARCH_V2: items with keys in `key`'s range, into `buffer` as a sequence of
 * 32-byte native-endian headers (transid, objectid, offset: u64; type, len: u32) each followed
 * by `len` bytes of little-endian item. Sets key->nr_items to the number returned. */
int spillway_btrfs_tree_search(int fd, struct spillway_btrfs_search_key *key, void *buffer, uint64_t buffer_size);

#endif /* SPILLWAY_BTRFS_H */
