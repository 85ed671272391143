/*
 * shim.h — internal interface of the Spillway preload library.
 *
 * The library is configured once per process (init.c) and then decides, per
 * hooked call, where a path lives (route.c). Hooks live one file per call
 * family (open.c, stdio.c, stat.c). Everything the library does for its own
 * bookkeeping goes through raw system calls (sys.c), never through the hooked
 * libc entry points, so it cannot recurse into itself.
 */
#ifndef SPILLWAY_SHIM_H
#define SPILLWAY_SHIM_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "spillway_slot.h"

#define SW_EXPORT __attribute__((visibility("default")))
#define SW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Process-wide configuration, written once by sw_init and read-only after. */
struct sw_config {
    const struct spillway_slot *slot; /* NULL: not configured, behave like libc */
    char root[PATH_MAX];              /* managed tree, normalised, no trailing '/' ("" for "/") */
    size_t root_len;
    char spill[PATH_MAX];             /* spill area, normalised */
    size_t spill_len;
    dev_t root_dev;                   /* device carrying the quota */
    /* Set when this process rescued a write into the spill area while the slot
     * still said `normal`: until the supervisor next changes the slot (its
     * generation), this process behaves as `spilling`, so it finds what it
     * spilled and puts new files beside it. */
    int rescued;
    uint64_t rescued_generation;
};

extern struct sw_config sw_cfg;
extern int sw_ready;

void sw_init_slow(void);

/* Resolve libc's definition of `name` (RTLD_NEXT); NULL if it has none. */
void *sw_next(const char *name);

/* Make sure the configuration has been read (cheap after the first call). */
static inline void sw_ensure_init(void) {
    if (SW_UNLIKELY(!__atomic_load_n(&sw_ready, __ATOMIC_ACQUIRE))) sw_init_slow();
}

unsigned sw_rescued_state(void);

/* Note that this process spilled a file while the slot said `normal`. */
void sw_note_rescue(void);

/* The container's state, or NORMAL when the library is not configured. */
static inline unsigned sw_state(void) {
    sw_ensure_init();
    const struct spillway_slot *slot = sw_cfg.slot;
    if (slot == NULL) return SPILLWAY_STATE_NORMAL;
    unsigned state = spillway_slot_state(slot);
    if (SW_UNLIKELY(state == SPILLWAY_STATE_NORMAL && sw_cfg.rescued)) return sw_rescued_state();
    return state;
}

/* What a hook intends to do with a path. */
enum sw_intent {
    SW_LOOKUP,          /* read or inspect an existing name, following a final symlink */
    SW_LOOKUP_NOFOLLOW, /* the same, not following a final symlink (lstat, readlink) */
    SW_OPEN,            /* open(2) with these flags: may create */
};

/*
 * Decide where `dirfd`/`path` lives for `intent` (open flags in `oflags`).
 * Returns 1 and writes the absolute path to use into `out` when the call must
 * go somewhere other than its original arguments (the spill area, or the
 * main-disk name that union symlink resolution found); returns 0 when the
 * original arguments are to be used unchanged. Never changes errno.
 */
int sw_route(int dirfd, const char *path, enum sw_intent intent, int oflags, char out[PATH_MAX]);

/* Where a name is. */
enum sw_place { SW_IN_NONE = 0, SW_IN_MAIN = 1, SW_IN_SPILL = 2 };

/* One managed name, in both places. */
struct sw_loc {
    char main[PATH_MAX];  /* absolute name on the main disk, as the application sees it */
    char spill[PATH_MAX]; /* the same name in the spill area */
    size_t main_len;
    int where;            /* enum sw_place: where it exists now (spill area first) */
    int resolved;         /* links were resolved through the union: main differs from the name given */
    struct stat st;       /* lstat of the name where it exists */
};

/*
 * Locate `dirfd`/`path`. Returns 0 when it is not managed (outside the tree,
 * the tree's root, inside the spill area, or unresolvable): the caller uses
 * its original arguments. Returns 1 with `loc` filled otherwise. Symlinks are
 * resolved through the union (spill area first) as the kernel would in the
 * merged tree; the last component only when `follow_last`. Never changes errno.
 */
int sw_locate(int dirfd, const char *path, int follow_last, struct sw_loc *loc);

/* Make the spill area's missing parents of `loc`, mirroring the main disk's
 * modes and owners. 0 when the parent exists in the spill area afterwards. */
int sw_spill_parents(const struct sw_loc *loc);

/*
 * Where to create `loc` in `state`: loc->spill (parents made), or NULL for the
 * original arguments (it exists on the main disk, its parent is missing, or
 * new files go to the main disk in this state).
 */
const char *sw_create_target(const struct sw_loc *loc, unsigned state);

/*
 * Append `path`'s components to the absolute prefix out[0..n), resolving "."
 * and ".." lexically; returns the new length, or -1 if it exceeds PATH_MAX.
 */
int sw_join_normalise(char *out, size_t n, const char *path);

/* Raw system calls used for the library's own bookkeeping (errno set as usual). */
int sw_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int sw_sys_mkdirat(int dirfd, const char *path, mode_t mode);
int sw_sys_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int sw_sys_fchmodat(int dirfd, const char *path, mode_t mode);
int sw_sys_openat(int dirfd, const char *path, int flags, mode_t mode);
int sw_sys_close(int fd);
long sw_sys_getcwd(char *buf, size_t size);
ssize_t sw_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size);

/* --- Moves (move.c) --- */

/* The xattr a moved file carries: "<dev>:<ino>" of its main-disk original. */
#define SW_ORIGIN_XATTR "user.spillway.origin"

/*
 * Move loc's main-disk file (regular) into the spill area at loc->spill,
 * whole and crash-safely (keep_data 0: only metadata, for O_TRUNC). Returns 0
 * when it is in the spill area afterwards (moved by us or, meanwhile, by
 * another process), -1 with errno otherwise (the main copy is untouched).
 */
int sw_move_to_spill(const struct sw_loc *loc, int keep_data);

/* Does the spilled file open as fd carry the origin mark of main_st? */
int sw_origin_matches(int fd, const struct stat *main_st);

/* Make fd and every duplicate of its description in this process refer to
 * nfd's file (same flags and offset already set on nfd); closes nfd. */
int sw_repoint_fd(int fd, int nfd);

/* fd refers to main-disk file `st`: move it to the spill area (or find it
 * moved) and re-point fd. 0 when fd now refers to the spill area. */
int sw_take_over(int fd, const struct stat *st, int anonymous_ok);

/* After a create failed with EDQUOT/ENOSPC on the main disk: the spill-area
 * path to create it at instead (parents made). 1 when there is one. */
int sw_create_rescue_path(int dirfd, const char *path, char out[PATH_MAX]);

/* Access modes a fopen() mode string implies, as open(2) flags. */
int sw_fopen_flags(const char *mode);

#endif /* SPILLWAY_SHIM_H */
