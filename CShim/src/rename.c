/*
 * rename.c — rename, renameat, renameat2 (RENAME_NOREPLACE, RENAME_EXCHANGE).
 *
 * A rename never copies data between filesystems when it can help it: each
 * half of the source (a non-directory has one; a directory may have a spill
 * half and a main half) is renamed within its own filesystem to the
 * destination's name there, parents made as needed (in the spill area with
 * the main disk's modes and owners; on the main disk with the spill area's).
 * A half of the destination that the source has no counterpart for is then
 * removed, so that every name is in exactly one place afterwards: renaming a
 * spilled file over a main-disk name leaves only the spilled file, and the
 * other way round. One exception: while `spilling`, a regular main-disk file
 * whose destination directory exists only in the spill area is moved there
 * (move.c) rather than making directories on the full main disk.
 *
 * The kernel's checks are made on the union first (EEXIST for
 * RENAME_NOREPLACE, ENOTDIR, EISDIR, ENOTEMPTY for a non-empty destination
 * directory in either half, EINVAL for a directory into itself), then each
 * step's own errors are returned as they come; a step that fails undoes the
 * steps before it. RENAME_EXCHANGE is done place by place: both halves in a
 * place are exchanged, a half with no counterpart is moved across.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

SW_REAL_DECL(int, rename, (const char *, const char *));
SW_REAL_DECL(int, renameat, (int, const char *, int, const char *));

static int sw_renameat2_sys(int ofd, const char *old, int nfd, const char *new, unsigned flags) {
    if (flags == 0) return (int)syscall(SYS_renameat, ofd, old, nfd, new);
    return (int)syscall(SYS_renameat2, ofd, old, nfd, new, flags);
}

/* The call as libc would make it, with these arguments. */
static int sw_rename_plain(int ofd, const char *old, int nfd, const char *new, unsigned flags) {
    if (flags == 0) {
        __typeof__(sw_real_renameat) fn = SW_REAL(renameat);
        if (fn != NULL) return fn(ofd, old, nfd, new);
    }
    return sw_renameat2_sys(ofd, old, nfd, new, flags);
}

/* One side of a rename: where its halves are. */
struct sw_side {
    struct sw_name nm;
    int managed;
    int halves;            /* SW_IN_SPILL | SW_IN_MAIN */
    struct stat st[3];     /* lstat of each half, indexed by place */
    char path[3][PATH_MAX]; /* the name in each place, with its tail */
};

static void sw_side_fill(struct sw_side *s, int dirfd, const char *path) {
    s->halves = 0;
    s->managed = sw_name_locate(dirfd, path, 0, &s->nm);
    if (!s->managed) return;
    if (sw_name_path(&s->nm, SW_IN_SPILL, s->path[SW_IN_SPILL]) != 0 ||
        sw_name_path(&s->nm, SW_IN_MAIN, s->path[SW_IN_MAIN]) != 0) {
        s->managed = 0;
        return;
    }
    if (s->nm.loc.long_name) {
        /* One name of the half long.c chose, in both slots. */
        if (s->nm.loc.where != SW_IN_NONE) {
            s->halves = s->nm.loc.where;
            s->st[s->halves] = s->nm.loc.st;
        }
        return;
    }
    if (sw_sys_fstatat(AT_FDCWD, s->nm.loc.spill, &s->st[SW_IN_SPILL], AT_SYMLINK_NOFOLLOW) == 0)
        s->halves |= SW_IN_SPILL;
    if (sw_sys_fstatat(AT_FDCWD, s->nm.loc.main, &s->st[SW_IN_MAIN], AT_SYMLINK_NOFOLLOW) == 0) {
        /* A main-disk name counts when nothing shadows it, or both are directories. */
        if (!(s->halves & SW_IN_SPILL) ||
            (S_ISDIR(s->st[SW_IN_SPILL].st_mode) && S_ISDIR(s->st[SW_IN_MAIN].st_mode)))
            s->halves |= SW_IN_MAIN;
    }
}

/* The stat the application sees for a side (the spill half first). */
static const struct stat *sw_side_stat(const struct sw_side *s) {
    return (s->halves & SW_IN_SPILL) ? &s->st[SW_IN_SPILL] : &s->st[SW_IN_MAIN];
}

static int sw_has_dots(const struct sw_side *s) {
    return s->nm.tail[0] == '/' && s->nm.tail[1] == '.';
}

/* Make the parents of side s in place p. */
static void sw_side_parents(const struct sw_side *s, int place) {
    if (place == SW_IN_SPILL)
        sw_spill_parents(&s->nm.loc);
    else
        sw_main_parents(&s->nm.loc);
}

enum sw_op_kind { SW_OP_MOVE, SW_OP_REPLACE, SW_OP_DROP, SW_OP_EXCHANGE };

struct sw_op {
    int kind;
    const char *from;
    const char *to;
    const struct stat *to_st; /* what `to` was before (REPLACE, DROP) */
};

/* rename with RENAME_NOREPLACE, or without it where a filesystem lacks it. */
static int sw_rename_new(const char *from, const char *to) {
    int rc = sw_renameat2_sys(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {
        struct stat st;
        if (sw_sys_fstatat(AT_FDCWD, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            errno = EEXIST;
            return -1;
        }
        rc = sw_renameat2_sys(AT_FDCWD, from, AT_FDCWD, to, 0);
    }
    return rc;
}

/* Make an empty directory like the one `st` describes at path. */
static void sw_recreate_dir(const char *path, const struct stat *st) {
    if (sw_sys_mkdirat(AT_FDCWD, path, st->st_mode & 07777) == 0) {
        sw_sys_fchownat(AT_FDCWD, path, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
        sw_sys_fchmodat(AT_FDCWD, path, st->st_mode & 07777);
        struct timespec times[2] = {st->st_atim, st->st_mtim};
        syscall(SYS_utimensat, AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
    }
}

static int sw_op_do(const struct sw_op *op) {
    switch (op->kind) {
    case SW_OP_MOVE: return sw_rename_new(op->from, op->to);
    case SW_OP_REPLACE: return sw_renameat2_sys(AT_FDCWD, op->from, AT_FDCWD, op->to, 0);
    case SW_OP_EXCHANGE: return sw_renameat2_sys(AT_FDCWD, op->from, AT_FDCWD, op->to, RENAME_EXCHANGE);
    default:
        return (int)syscall(SYS_unlinkat, AT_FDCWD, op->to, S_ISDIR(op->to_st->st_mode) ? AT_REMOVEDIR : 0);
    }
}

/* Undo a step that succeeded (best effort; a replaced directory was empty). */
static void sw_op_undo(const struct sw_op *op) {
    switch (op->kind) {
    case SW_OP_MOVE: sw_rename_new(op->to, op->from); break;
    case SW_OP_REPLACE:
        if (sw_rename_new(op->to, op->from) == 0 && S_ISDIR(op->to_st->st_mode)) sw_recreate_dir(op->to, op->to_st);
        break;
    case SW_OP_EXCHANGE: sw_renameat2_sys(AT_FDCWD, op->from, AT_FDCWD, op->to, RENAME_EXCHANGE); break;
    default:
        if (S_ISDIR(op->to_st->st_mode)) sw_recreate_dir(op->to, op->to_st);
        break;
    }
}

/* Run the steps in order; on a failure undo the done ones and return its errno. */
static int sw_run_ops(const struct sw_op *ops, int n) {
    for (int i = 0; i < n; i++) {
        if (sw_op_do(&ops[i]) == 0) continue;
        int err = errno;
        while (--i >= 0) sw_op_undo(&ops[i]);
        errno = err;
        return -1;
    }
    return 0;
}

/* Is `inner` (absolute) strictly inside `outer`? */
static int sw_path_inside(const char *inner, const char *outer) {
    size_t n = strlen(outer);
    return strncmp(inner, outer, n) == 0 && inner[n] == '/';
}

static int sw_fail(int err) {
    errno = err;
    return -1;
}

/* 0 when side s's directory exists in the union, else the errno a lookup of it gives. */
static int sw_parent_error(const struct sw_side *s) {
    char parent[PATH_MAX];
    struct stat st;
    const char *names[2] = {s->nm.loc.main, s->nm.loc.spill};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(names[i]);
        while (n > 0 && names[i][n - 1] != '/') n--;
        if (n > 1) n--;
        memcpy(parent, names[i], n);
        parent[n] = '\0';
        if (sw_sys_fstatat(AT_FDCWD, n ? parent : "/", &st, 0) == 0) return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    }
    return ENOENT;
}

static int sw_exchange(struct sw_side *src, struct sw_side *dst) {
    struct sw_op ops[2];
    int n = 0;
    if (dst->halves == 0) return sw_fail(ENOENT);
    for (int place = SW_IN_SPILL; place >= SW_IN_MAIN; place--) {
        int in_src = src->halves & place, in_dst = dst->halves & place;
        if (in_src && in_dst) {
            ops[n++] = (struct sw_op){SW_OP_EXCHANGE, src->path[place], dst->path[place], NULL};
        } else if (in_src) {
            sw_side_parents(dst, place);
            ops[n++] = (struct sw_op){SW_OP_MOVE, src->path[place], dst->path[place], NULL};
        } else if (in_dst) {
            sw_side_parents(src, place);
            ops[n++] = (struct sw_op){SW_OP_MOVE, dst->path[place], src->path[place], NULL};
        }
    }
    return sw_run_ops(ops, n);
}

/* The source is a regular main-disk file and the destination's directory is
 * only in the spill area: while spilling, move the file there first. */
static void sw_maybe_move_source(struct sw_side *src, const struct sw_side *dst) {
    if (src->halves != SW_IN_MAIN || (dst->halves & SW_IN_MAIN) || !S_ISREG(src->st[SW_IN_MAIN].st_mode) ||
        src->nm.tail[0] != '\0' || src->st[SW_IN_MAIN].st_dev != sw_cfg.root_dev || sw_state() != SPILLWAY_STATE_SPILLING)
        return;
    char parent[PATH_MAX];
    struct stat st;
    size_t n = strlen(dst->nm.loc.main);
    while (n > 0 && dst->nm.loc.main[n - 1] != '/') n--;
    if (n > 1) n--;
    memcpy(parent, dst->nm.loc.main, n);
    parent[n] = '\0';
    if (sw_sys_fstatat(AT_FDCWD, parent, &st, 0) == 0) return; /* it is on the main disk: stay there */
    if (sw_move_to_spill(&src->nm.loc, 1) != 0) return;
    if (sw_sys_fstatat(AT_FDCWD, src->nm.loc.spill, &src->st[SW_IN_SPILL], AT_SYMLINK_NOFOLLOW) == 0)
        src->halves = SW_IN_SPILL;
}

static int sw_rename_union(struct sw_side *src, struct sw_side *dst, unsigned flags) {
    int perr = dst->nm.loc.err ? dst->nm.loc.err : sw_parent_error(dst);
    if (perr != 0) return sw_fail(perr);
    if (flags & RENAME_EXCHANGE) return sw_exchange(src, dst);
    if ((flags & RENAME_NOREPLACE) && dst->halves) return sw_fail(EEXIST);
    const struct stat *sst = sw_side_stat(src);
    int src_dir = S_ISDIR(sst->st_mode);
    if (!src_dir && (src->nm.tail[0] || dst->nm.tail[0])) return sw_fail(ENOTDIR);
    if (dst->halves) {
        const struct stat *dstat = sw_side_stat(dst);
        int same = src->halves == dst->halves && sst->st_dev == dstat->st_dev && sst->st_ino == dstat->st_ino;
        if (same) return 0; /* two names of one file: rename does nothing */
        if (src_dir && !S_ISDIR(dstat->st_mode)) return sw_fail(ENOTDIR);
        if (!src_dir && S_ISDIR(dstat->st_mode)) return sw_fail(EISDIR);
        if (src_dir) {
            for (int place = SW_IN_MAIN; place <= SW_IN_SPILL; place++)
                if ((dst->halves & place) && sw_dir_is_empty(dst->path[place]) == 0) return sw_fail(ENOTEMPTY);
        }
    }
    if (src_dir && sw_path_inside(dst->nm.loc.main, src->nm.loc.main)) return sw_fail(EINVAL);
    sw_maybe_move_source(src, dst);
    struct sw_op ops[4];
    int n = 0;
    /* Moves first, then replacements, then removal of halves nothing replaces. */
    for (int place = SW_IN_SPILL; place >= SW_IN_MAIN; place--) {
        if ((src->halves & place) && !(dst->halves & place)) {
            sw_side_parents(dst, place);
            ops[n++] = (struct sw_op){SW_OP_MOVE, src->path[place], dst->path[place], NULL};
        }
    }
    for (int place = SW_IN_SPILL; place >= SW_IN_MAIN; place--) {
        if ((src->halves & place) && (dst->halves & place))
            ops[n++] = (struct sw_op){SW_OP_REPLACE, src->path[place], dst->path[place], &dst->st[place]};
    }
    for (int place = SW_IN_SPILL; place >= SW_IN_MAIN; place--) {
        if (!(src->halves & place) && (dst->halves & place))
            ops[n++] = (struct sw_op){SW_OP_DROP, NULL, dst->path[place], &dst->st[place]};
    }
    return sw_run_ops(ops, n);
}

/* A managed name renamed from or to a name outside the managed tree. */
static int sw_rename_outside(int odirfd, const char *old, struct sw_side *src, int ndirfd, const char *new,
                             struct sw_side *dst, unsigned flags) {
    if (src->managed) {
        if (src->halves == 0 || sw_has_dots(src)) return sw_rename_plain(odirfd, old, ndirfd, new, flags);
        if (src->halves == (SW_IN_SPILL | SW_IN_MAIN)) return sw_fail(EXDEV);
        int place = src->halves;
        return sw_rename_plain(AT_FDCWD, src->path[place], ndirfd, new, flags);
    }
    if (dst->halves == (SW_IN_SPILL | SW_IN_MAIN)) return sw_fail(EXDEV);
    if (sw_has_dots(dst)) return sw_rename_plain(odirfd, old, ndirfd, new, flags);
    int place = dst->halves;
    if (place == 0) {
        char alt[PATH_MAX];
        int use_dirfd;
        const char *use = sw_name_create(ndirfd, new, alt, &use_dirfd);
        return sw_rename_plain(odirfd, old, use_dirfd, use, flags);
    }
    return sw_rename_plain(odirfd, old, AT_FDCWD, dst->path[place], flags);
}

/* Does the program's path end in a "." or ".." component (trailing slashes aside)? */
static int sw_ends_in_dots(const char *path) {
    char copy[PATH_MAX];
    int saved = errno;
    ssize_t n = path == NULL ? -1 : sw_copy_path(path, copy);
    errno = saved;
    if (n <= 0) return 0;
    while (n > 1 && copy[n - 1] == '/') n--;
    size_t start = (size_t)n;
    while (start > 0 && copy[start - 1] != '/') start--;
    size_t comp = (size_t)n - start;
    return (comp == 1 && copy[start] == '.') || (comp == 2 && copy[start] == '.' && copy[start + 1] == '.');
}

/* 0 when side s's parent (for a final "." or "..": the directory it is in) is a directory in
 * the union, else the errno the kernel's walk to it gives. */
static int sw_side_parent_error(const struct sw_side *s, int dots) {
    if (!s->managed) return 0; /* the kernel's own: outside the tree, or "." and ".." alone */
    if (!dots) return s->nm.loc.err ? s->nm.loc.err : sw_parent_error(s);
    if (s->nm.loc.err) return s->nm.loc.err;
    if (s->nm.loc.where == SW_IN_NONE) return ENOENT;
    struct stat st;
    const char *head = s->nm.loc.where == SW_IN_SPILL ? s->nm.loc.spill : s->nm.loc.main;
    if (sw_sys_fstatat(AT_FDCWD, head, &st, 0) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/*
 * A rename with a final "." or ".." on either side fails, after the walks to both parents,
 * with EBUSY (EEXIST for RENAME_NOREPLACE when only the new name has it), as the kernel
 * decides before it looks at the names themselves. The library answers it: its halves may
 * be on two filesystems, where the kernel would say EXDEV first.
 */
static int sw_rename_dots(const struct sw_side *src, int src_dots, const struct sw_side *dst, int dst_dots,
                          unsigned flags) {
    int err = sw_side_parent_error(src, src_dots);
    if (err == 0) err = sw_side_parent_error(dst, dst_dots);
    if (err == 0) err = !src_dots && (flags & RENAME_NOREPLACE) ? EEXIST : EBUSY;
    return sw_fail(err);
}

/* A union rename is several steps, not one atomic change: another process
 * may see the moment between them (documented in docs/SHIM.md). No lock is
 * taken, so that fork in a threaded program can never inherit one held. */
static int sw_rename_any(int odirfd, const char *old, int ndirfd, const char *new, unsigned flags) {
    int saved = errno;
    struct sw_side src, dst;
    sw_side_fill(&src, odirfd, old);
    sw_side_fill(&dst, ndirfd, new);
    errno = saved;
    if (!src.managed && !dst.managed) return sw_rename_plain(odirfd, old, ndirfd, new, flags);
    if ((flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
        (flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) == (RENAME_NOREPLACE | RENAME_EXCHANGE))
        return sw_rename_plain(odirfd, old, ndirfd, new, flags); /* the kernel says EINVAL */
    int src_dots = sw_ends_in_dots(old), dst_dots = sw_ends_in_dots(new);
    if (src_dots || dst_dots) return sw_rename_dots(&src, src_dots, &dst, dst_dots, flags);
    if (!src.managed || !dst.managed) return sw_rename_outside(odirfd, old, &src, ndirfd, new, &dst, flags);
    if (src.halves == 0 || sw_has_dots(&src) || sw_has_dots(&dst)) {
        /* Missing source, "." or "..": the kernel's errors, on the names as they resolve. */
        const char *o = old, *n = new;
        int of = odirfd, nf = ndirfd;
        /* A name in neither place whose lookup fails otherwise than ENOENT (sw_locate):
         * its spill-area name makes the kernel say why. */
        if (src.halves || src.nm.loc.err) {
            o = src.path[(src.halves & SW_IN_SPILL) || src.nm.loc.err ? SW_IN_SPILL : SW_IN_MAIN];
            of = AT_FDCWD;
        }
        if (dst.halves || dst.nm.loc.err) {
            n = dst.path[(dst.halves & SW_IN_SPILL) || dst.nm.loc.err ? SW_IN_SPILL : SW_IN_MAIN];
            nf = AT_FDCWD;
        }
        return sw_rename_plain(of, o, nf, n, flags);
    }
    int rc = sw_rename_union(&src, &dst, flags);
    if (rc == 0) errno = saved;
    return rc;
}

SW_EXPORT int rename(const char *old, const char *new) {
    if (!SW_IDLE()) return sw_rename_any(AT_FDCWD, old, AT_FDCWD, new, 0);
    __typeof__(sw_real_rename) fn = SW_REAL(rename);
    if (SW_UNLIKELY(fn == NULL)) return sw_renameat2_sys(AT_FDCWD, old, AT_FDCWD, new, 0);
    return fn(old, new);
}

SW_EXPORT int renameat(int odirfd, const char *old, int ndirfd, const char *new) {
    if (!SW_IDLE()) return sw_rename_any(odirfd, old, ndirfd, new, 0);
    return sw_rename_plain(odirfd, old, ndirfd, new, 0);
}

#ifdef __GLIBC__
SW_REAL_DECL(int, renameat2, (int, const char *, int, const char *, unsigned int));

SW_EXPORT int renameat2(int odirfd, const char *old, int ndirfd, const char *new, unsigned int flags) {
    if (!SW_IDLE()) return sw_rename_any(odirfd, old, ndirfd, new, flags);
    __typeof__(sw_real_renameat2) fn = SW_REAL(renameat2);
    if (SW_UNLIKELY(fn == NULL)) return sw_renameat2_sys(odirfd, old, ndirfd, new, flags);
    return fn(odirfd, old, ndirfd, new, flags);
}
#endif
