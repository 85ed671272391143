/*
 * quota.c — FS_IOC_FSGETXATTR/FSSETXATTR and XFS project-quota control for
 * spillway_quota.h, with the layout of its mirrored structures pinned to the
 * kernel's by static assertions and reported by spillway_kernel_layout().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/quota.h>

#include "spillway_quota.h"

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

#define SAME_FIELD(mine, theirs, field) \
    _Static_assert(offsetof(struct mine, field) == offsetof(struct theirs, field), #theirs "." #field); \
    _Static_assert(sizeof(((struct mine *)0)->field) == sizeof(((struct theirs *)0)->field), #theirs "." #field " size")

_Static_assert(sizeof(struct spillway_fsxattr) == sizeof(struct fsxattr), "struct fsxattr size");
SAME_FIELD(spillway_fsxattr, fsxattr, fsx_xflags);
SAME_FIELD(spillway_fsxattr, fsxattr, fsx_extsize);
SAME_FIELD(spillway_fsxattr, fsxattr, fsx_nextents);
SAME_FIELD(spillway_fsxattr, fsxattr, fsx_projid);
SAME_FIELD(spillway_fsxattr, fsxattr, fsx_cowextsize);
SAME_FIELD(spillway_fsxattr, fsxattr, fsx_pad);

_Static_assert(sizeof(struct spillway_fs_disk_quota) == sizeof(struct fs_disk_quota), "struct fs_disk_quota size");
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_version);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_flags);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_fieldmask);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_id);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_blk_hardlimit);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_blk_softlimit);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_ino_hardlimit);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_ino_softlimit);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_bcount);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_icount);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_itimer);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_btimer);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_iwarns);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_bwarns);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_rtb_hardlimit);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_rtb_softlimit);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_rtbcount);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_rtbtimer);
SAME_FIELD(spillway_fs_disk_quota, fs_disk_quota, d_rtbwarns);

_Static_assert(SPILLWAY_XFS_SUPER_MAGIC == XFS_SUPER_MAGIC, "xfs magic");
_Static_assert(SPILLWAY_FS_XFLAG_PROJINHERIT == FS_XFLAG_PROJINHERIT, "projinherit");
_Static_assert(SPILLWAY_FS_DQUOT_VERSION == FS_DQUOT_VERSION, "dquot version");
_Static_assert(SPILLWAY_FS_PROJ_QUOTA == FS_PROJ_QUOTA, "proj quota flag");
_Static_assert(SPILLWAY_FS_DQ_BSOFT == FS_DQ_BSOFT, "bsoft");
_Static_assert(SPILLWAY_FS_DQ_BHARD == FS_DQ_BHARD, "bhard");
_Static_assert(SPILLWAY_FS_QUOTA_PDQ_ACCT == FS_QUOTA_PDQ_ACCT, "pdq acct");
_Static_assert(SPILLWAY_FS_QUOTA_PDQ_ENFD == FS_QUOTA_PDQ_ENFD, "pdq enfd");
_Static_assert(SPILLWAY_PRJQUOTA == PRJQUOTA, "prjquota");
_Static_assert(SPILLWAY_XFS_BASIC_BLOCK_SIZE == 512, "basic block");

unsigned int spillway_qcmd_project_getquota(void) { return QCMD(Q_XGETQUOTA, PRJQUOTA); }
unsigned int spillway_qcmd_project_setlimit(void) { return QCMD(Q_XSETQLIM, PRJQUOTA); }

int spillway_fs_get_attributes(int fd, struct spillway_fsxattr *attributes) {
    return ioctl(fd, FS_IOC_FSGETXATTR, (struct fsxattr *)attributes);
}

int spillway_fs_set_attributes(int fd, const struct spillway_fsxattr *attributes) {
    return ioctl(fd, FS_IOC_FSSETXATTR, (const struct fsxattr *)attributes);
}

int spillway_quotactl_fd(int fd, unsigned int cmd, uint32_t id, void *addr) {
    return (int)syscall(SYS_quotactl_fd, fd, cmd, id, addr);
}

int spillway_quotactl_device(const char *special, unsigned int cmd, uint32_t id, void *addr) {
    return (int)syscall(SYS_quotactl, cmd, special, id, addr);
}

int spillway_xfs_project_quota_flags(int fd, uint16_t *flags) {
    struct fs_quota_statv stat;
    memset(&stat, 0, sizeof(stat));
    stat.qs_version = FS_QSTATV_VERSION1;
    if (spillway_quotactl_fd(fd, QCMD(Q_XGETQSTATV, PRJQUOTA), 0, &stat) != 0) return -1;
    *flags = stat.qs_flags;
    return 0;
}

#define LAYOUT(type, field) {#type "." #field, offsetof(struct type, field)}
static const struct {
    const char *key;
    size_t value;
} layout[] = {
    {"fsxattr.size", sizeof(struct fsxattr)},
    LAYOUT(fsxattr, fsx_xflags),
    LAYOUT(fsxattr, fsx_extsize),
    LAYOUT(fsxattr, fsx_nextents),
    LAYOUT(fsxattr, fsx_projid),
    LAYOUT(fsxattr, fsx_cowextsize),
    LAYOUT(fsxattr, fsx_pad),
    {"fs_disk_quota.size", sizeof(struct fs_disk_quota)},
    LAYOUT(fs_disk_quota, d_version),
    LAYOUT(fs_disk_quota, d_flags),
    LAYOUT(fs_disk_quota, d_fieldmask),
    LAYOUT(fs_disk_quota, d_id),
    LAYOUT(fs_disk_quota, d_blk_hardlimit),
    LAYOUT(fs_disk_quota, d_blk_softlimit),
    LAYOUT(fs_disk_quota, d_ino_hardlimit),
    LAYOUT(fs_disk_quota, d_ino_softlimit),
    LAYOUT(fs_disk_quota, d_bcount),
    LAYOUT(fs_disk_quota, d_icount),
    LAYOUT(fs_disk_quota, d_itimer),
    LAYOUT(fs_disk_quota, d_btimer),
    LAYOUT(fs_disk_quota, d_iwarns),
    LAYOUT(fs_disk_quota, d_bwarns),
    LAYOUT(fs_disk_quota, d_rtb_hardlimit),
    LAYOUT(fs_disk_quota, d_rtb_softlimit),
    LAYOUT(fs_disk_quota, d_rtbcount),
    LAYOUT(fs_disk_quota, d_rtbtimer),
    LAYOUT(fs_disk_quota, d_rtbwarns),
    {"const.FS_IOC_FSGETXATTR", FS_IOC_FSGETXATTR},
    {"const.FS_IOC_FSSETXATTR", FS_IOC_FSSETXATTR},
    {"const.Q_XGETQUOTA", Q_XGETQUOTA},
    {"const.Q_XSETQLIM", Q_XSETQLIM},
    {"const.PRJQUOTA", PRJQUOTA},
};

long spillway_kernel_layout(const char *key) {
    for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
        if (strcmp(layout[i].key, key) == 0) return (long)layout[i].value;
    }
    return -1;
}
