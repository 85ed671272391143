/*
 * spillway_quota.h — inode attributes (FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR,
 * which carry an inode's XFS project id) and XFS quota control (quotactl_fd(2),
 * quotactl(2)). The two structures mirror the kernel's struct fsxattr
 * (linux/fs.h) and struct fs_disk_quota (linux/dqblk_xfs.h) field for field;
 * quota.c asserts that sizes and offsets agree and spillway_kernel_layout()
 * reports the kernel's own figures to tests. (The kernel headers themselves
 * are not included here: linux/fs.h clashes with glibc's sys/mount.h.)
 */
#ifndef SPILLWAY_QUOTA_H
#define SPILLWAY_QUOTA_H

#include <stdint.h>

/* statfs(2) f_type of XFS. */
#define SPILLWAY_XFS_SUPER_MAGIC 0x58465342U

/* struct fsxattr. */
struct spillway_fsxattr {
    uint32_t fsx_xflags;     /* FS_XFLAG_* */
    uint32_t fsx_extsize;
    uint32_t fsx_nextents;
    uint32_t fsx_projid;     /* project id */
    uint32_t fsx_cowextsize;
    unsigned char fsx_pad[8];
};

/* fsx_xflags bit: new files and directories inherit the directory's project id. */
#define SPILLWAY_FS_XFLAG_PROJINHERIT 0x00000200U

/* struct fs_disk_quota: block counts and limits are in 512-byte basic blocks. */
struct spillway_fs_disk_quota {
    int8_t d_version;
    int8_t d_flags;
    uint16_t d_fieldmask;
    uint32_t d_id;
    uint64_t d_blk_hardlimit;
    uint64_t d_blk_softlimit;
    uint64_t d_ino_hardlimit;
    uint64_t d_ino_softlimit;
    uint64_t d_bcount;
    uint64_t d_icount;
    int32_t d_itimer;
    int32_t d_btimer;
    uint16_t d_iwarns;
    uint16_t d_bwarns;
    int8_t d_itimer_hi;
    int8_t d_btimer_hi;
    int8_t d_rtbtimer_hi;
    int8_t d_padding2;
    uint64_t d_rtb_hardlimit;
    uint64_t d_rtb_softlimit;
    uint64_t d_rtbcount;
    int32_t d_rtbtimer;
    uint16_t d_rtbwarns;
    int16_t d_padding3;
    char d_padding4[8];
};

/* fs_disk_quota constants (linux/dqblk_xfs.h). */
#define SPILLWAY_FS_DQUOT_VERSION 1
#define SPILLWAY_FS_PROJ_QUOTA 2
#define SPILLWAY_FS_DQ_BSOFT (1 << 2)
#define SPILLWAY_FS_DQ_BHARD (1 << 3)
/* The unit of d_bcount and the block limits. */
#define SPILLWAY_XFS_BASIC_BLOCK_SIZE 512U
/* fs_quota_statv qs_flags bits for project quotas. */
#define SPILLWAY_FS_QUOTA_PDQ_ACCT (1 << 4)
#define SPILLWAY_FS_QUOTA_PDQ_ENFD (1 << 5)

/* Quota commands, already combined with PRJQUOTA by QCMD (linux/quota.h, dqblk_xfs.h). */
#define SPILLWAY_PRJQUOTA 2
unsigned int spillway_qcmd_project_getquota(void);   /* QCMD(Q_XGETQUOTA, PRJQUOTA) */
unsigned int spillway_qcmd_project_setlimit(void);   /* QCMD(Q_XSETQLIM, PRJQUOTA) */

/* FS_IOC_FSGETXATTR on `fd`. */
int spillway_fs_get_attributes(int fd, struct spillway_fsxattr *attributes);

/* FS_IOC_FSSETXATTR on `fd`. */
int spillway_fs_set_attributes(int fd, const struct spillway_fsxattr *attributes);

/* quotactl_fd(2) (Linux 5.14+): quota command `cmd` for `id` on the filesystem holding `fd`. */
int spillway_quotactl_fd(int fd, unsigned int cmd, uint32_t id, void *addr);

/* quotactl(2): the same, naming the filesystem by its block device `special`. */
int spillway_quotactl_device(const char *special, unsigned int cmd, uint32_t id, void *addr);

/* Q_XGETQSTATV for project quotas on the filesystem holding `fd`: sets *flags to qs_flags
 * (SPILLWAY_FS_QUOTA_PDQ_ACCT / _ENFD tell whether project quotas are counted / enforced). */
int spillway_xfs_project_quota_flags(int fd, uint16_t *flags);

/* The kernel's size or field offset for `key`, such as "fsxattr.size" or
 * "fs_disk_quota.d_bcount", computed by the C compiler from the kernel's own headers;
 * -1 for an unknown key. Tests compare it with the mirrors above as Swift sees them. */
long spillway_kernel_layout(const char *key);

#endif /* SPILLWAY_QUOTA_H */
