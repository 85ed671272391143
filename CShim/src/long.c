/*
 * long.c — names whose absolute form does not fit in PATH_MAX.
 *
 * The kernel takes a relative path of up to 4,095 bytes from any directory,
 * however deep; the library's absolute name of it (the directory's name and
 * the path, or the same in the spill area) can be longer. Such a name is
 * walked instead: the longest prefix whose absolute name fits is located
 * through the union (sw_dir_halves), each half of it is opened (O_PATH), and
 * the rest is walked component by component in both halves, as the kernel
 * would walk it in each place. The call then goes to
 * "/proc/self/fd/N/<last>", N a descriptor of the half where the name lives
 * (or is to be made), moved to a high number with close-on-exec set.
 *
 * The descriptor must outlive the hook's real call, which the hook makes after
 * sw_locate returns: each thread keeps its last one and closes it on its next
 * long name (if the number still refers to the directory it opened). Links in
 * the rest are followed by the kernel within one place, not through the union.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

/* A hook may locate two names (rename, link) before its real call: a few are kept. */
#define SW_LONG_KEPT 4
static __thread int sw_long_fd[SW_LONG_KEPT] = {-1, -1, -1, -1};
static __thread dev_t sw_long_dev[SW_LONG_KEPT];
static __thread ino_t sw_long_ino[SW_LONG_KEPT];
static __thread unsigned sw_long_next;

/* Keep fd in the oldest entry, closing the descriptor there unless its number now holds
 * something else (the program's own, after a close and reuse). */
static void sw_long_keep(int fd, const struct stat *st) {
    unsigned i = sw_long_next++ % SW_LONG_KEPT;
    struct stat now;
    int old = sw_long_fd[i];
    if (old >= 0 && sw_sys_fstatat(old, "", &now, AT_EMPTY_PATH) == 0 && now.st_dev == sw_long_dev[i] &&
        now.st_ino == sw_long_ino[i])
        sw_sys_close(old);
    sw_long_fd[i] = fd;
    sw_long_dev[i] = st->st_dev;
    sw_long_ino[i] = st->st_ino;
}

static int sw_open_dir(int at, const char *name) {
    return sw_sys_openat(at, name, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

static void sw_close2(int a, int b) {
    if (a >= 0) sw_sys_close(a);
    if (b >= 0) sw_sys_close(b);
}

/* "/proc/self/fd/<fd>/<rest>" into out; -1 if too long. */
static int sw_fd_name(int fd, const char *rest, char out[PATH_MAX]) {
    char link[32];
    sw_proc_fd_path(fd, link);
    size_t ll = strlen(link), rl = strlen(rest);
    if (ll + 1 + rl >= PATH_MAX) return -1;
    memcpy(out, link, ll);
    out[ll] = '/';
    memcpy(out + ll + 1, rest, rl + 1);
    return 0;
}

int sw_long_locate(int dirfd, const char *path, struct sw_loc *loc) {
    int saved = errno;
    int rc = 0;
    int sfd = -1, mfd = -1;
    char base[PATH_MAX], head[PATH_MAX], sname[PATH_MAX], mname[PATH_MAX];
    size_t len = strlen(path);
    if (path[0] == '/' || len >= PATH_MAX) goto done; /* absolute: the kernel's ENAMETOOLONG */
    int b = sw_app_dir(dirfd, ".", base);
    if (b < 0) goto done;
    size_t extra = sw_cfg.spill_len > sw_cfg.root_len ? sw_cfg.spill_len - sw_cfg.root_len : 0;
    if ((size_t)b + 1 + len + extra < PATH_MAX) goto done; /* not a long name: something else failed */
    if ((size_t)b < sw_cfg.root_len || memcmp(base, sw_cfg.root, sw_cfg.root_len) != 0 ||
        (base[sw_cfg.root_len] != '/' && base[sw_cfg.root_len] != '\0'))
        goto done; /* outside the managed tree */
    /* The longest prefix, at a '/', whose absolute name fits with room to spare. */
    size_t room = PATH_MAX - 64 - (size_t)b - extra, cut = 0;
    for (size_t i = room < len ? room : len - 1; i > 0; i--) {
        if (path[i] == '/') {
            cut = i;
            break;
        }
    }
    if (cut == 0) goto done;
    memcpy(head, path, cut);
    head[cut] = '\0';
    int halves = sw_dir_halves(dirfd, head, 1, sname, mname);
    if (halves & SW_IN_SPILL) sfd = sw_open_dir(AT_FDCWD, sname);
    if (halves & SW_IN_MAIN) mfd = sw_open_dir(AT_FDCWD, mname);
    if (sfd < 0 && mfd < 0) goto done; /* the prefix is no managed directory: the real call says why */
    const char *rest = path + cut;
    while (*rest == '/') rest++;
    /* Every component of the rest but the last, in each half. */
    for (;;) {
        const char *end = strchr(rest, '/');
        if (end == NULL) break;
        const char *next = end;
        while (*next == '/') next++;
        if (*next == '\0') break; /* "name/": the last component, with its slash */
        char comp[256];
        size_t cl = (size_t)(end - rest);
        if (cl >= sizeof comp) break; /* the kernel's ENAMETOOLONG, from the place it is in */
        memcpy(comp, rest, cl);
        comp[cl] = '\0';
        int ns = sfd >= 0 ? sw_open_dir(sfd, comp) : -1;
        int es = ns < 0 ? errno : 0;
        int nm = mfd >= 0 ? sw_open_dir(mfd, comp) : -1;
        if (ns < 0 && nm < 0) {
            /* In neither place: the walk there fails again, in the place whose error is
             * not "no such name" (the spill area's first). */
            if (sfd >= 0 && (es != ENOENT || mfd < 0)) {
                if (mfd >= 0) sw_sys_close(mfd);
                mfd = -1;
            } else {
                if (sfd >= 0) sw_sys_close(sfd);
                sfd = -1;
            }
            loc->where = SW_IN_NONE;
            memset(&loc->st, 0, sizeof loc->st);
            goto out;
        }
        sw_close2(sfd, mfd);
        sfd = ns;
        mfd = nm;
        rest = next;
    }
    {
        char last[256];
        size_t ll = strcspn(rest, "/");
        struct stat st;
        if (ll >= sizeof last) ll = sizeof last - 1;
        memcpy(last, rest, ll);
        last[ll] = '\0';
        if (sfd >= 0 && sw_sys_fstatat(sfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            loc->where = SW_IN_SPILL;
        } else if (mfd >= 0 && sw_sys_fstatat(mfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            loc->where = SW_IN_MAIN;
        } else {
            loc->where = SW_IN_NONE;
            memset(&st, 0, sizeof st);
        }
        loc->st = st;
        /* Keep the half where it is; a new name goes to the spill area while spilling (or
         * when its directory is only there), else to the main disk. */
        int keep_spill = loc->where == SW_IN_SPILL ||
                         (loc->where == SW_IN_NONE && sfd >= 0 && (mfd < 0 || sw_state() == SPILLWAY_STATE_SPILLING));
        if (keep_spill) {
            if (mfd >= 0) sw_sys_close(mfd);
            mfd = -1;
        } else {
            if (sfd >= 0) sw_sys_close(sfd);
            sfd = -1;
        }
    }
out: {
    int fd = sw_high_fd(sfd >= 0 ? sfd : mfd);
    sfd = mfd = -1;
    struct stat dst;
    if (sw_fd_name(fd, rest, loc->main) != 0 || sw_sys_fstatat(fd, "", &dst, AT_EMPTY_PATH) != 0) {
        sw_sys_close(fd);
        goto done;
    }
    sw_long_keep(fd, &dst);
    loc->main_len = strlen(loc->main);
    memcpy(loc->spill, loc->main, loc->main_len + 1);
    loc->resolved = 1;
    loc->long_name = 1;
    loc->err = 0;
    rc = 1;
}
done:
    sw_close2(sfd, mfd);
    errno = saved;
    return rc;
}
