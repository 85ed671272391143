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

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "spillway_slot.h"

#define SW_EXPORT __attribute__((visibility("default")))
#define SW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SW_LIKELY(x) __builtin_expect(!!(x), 1)

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
    /* Set (by signal.c) when the slot's page was swapped for zeros after a
     * SIGBUS: the file was truncated under the mapping. Until the file is a
     * whole page again the library is inactive; sw_slot_recover() maps it back. */
    int slot_lost;
    char ask[108];                    /* the ask socket (SPILLWAY_ASK), "" for none */
    int debug;                        /* SPILLWAY_DEBUG=1 */
};

extern struct sw_config sw_cfg;
extern int sw_ready;

void sw_init_slow(void);

/* Keep a SIGBUS from a truncated slot away from the program (signal.c). */
void sw_install_bus_guard(void);

/* Resolve libc's definition of `name` (RTLD_NEXT); NULL if it has none. */
void *sw_next(const char *name);

/* Make sure the configuration has been read (cheap after the first call). */
static inline void sw_ensure_init(void) {
    if (SW_UNLIKELY(!__atomic_load_n(&sw_ready, __ATOMIC_ACQUIRE))) sw_init_slow();
}

unsigned sw_rescued_state(void);

/* The state when the slot's `state` word is not `normal`: a state this build does not know,
 * or a slot whose magic or version is wrong (random bytes), reads as `normal` (fail open, plain
 * libc), and becomes active again as soon as the supervisor rewrites the page in place. */
unsigned sw_checked_state(unsigned state);

/* The state while `normal` is read and the process has something to look at: a rescue, or a
 * slot page lost to a truncation (re-mapped here, at most once a millisecond, when the file
 * is a whole page again). */
unsigned sw_attention_state(void);

/* The slot's page faulted (signal.c, after swapping in a zero page): note it for recovery. */
void sw_slot_lost(void);

/* May the library rescue a failed write into the spill area? Only while the slot is one the
 * supervisor keeps (right magic, version and state) and its page is not lost: random bytes or a
 * zero page in the slot mean nobody is watching the spill area, so the library stays libc. */
static inline int sw_slot_trusted(void) {
    return sw_cfg.slot != NULL && !__atomic_load_n(&sw_cfg.slot_lost, __ATOMIC_ACQUIRE) &&
           spillway_slot_is_valid(sw_cfg.slot, SPILLWAY_SLOT_FILE_SIZE);
}

/* Note that this process spilled a file while the slot said `normal`. */
void sw_note_rescue(void);

/* The container's state, or NORMAL when the library is not configured. */
static inline unsigned sw_state(void) {
    sw_ensure_init();
    const struct spillway_slot *slot = sw_cfg.slot;
    if (slot == NULL) return SPILLWAY_STATE_NORMAL;
    unsigned state = spillway_slot_state(slot);
    if (SW_UNLIKELY(state != SPILLWAY_STATE_NORMAL)) return sw_checked_state(state);
    if (SW_UNLIKELY(sw_cfg.rescued | __atomic_load_n(&sw_cfg.slot_lost, __ATOMIC_RELAXED))) return sw_attention_state();
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
    int long_name;        /* too long for an absolute name (long.c): main and spill are the same
                           * "/proc/self/fd/N/..." name of the half where it is or is to be made */
    int err;              /* nonzero: in neither place, and a lookup fails with this errno (ENOTDIR,
                           * EACCES, ELOOP, ...): `where` says SW_IN_SPILL with `st` zero, and both
                           * names (or the spill one) make the kernel answer with it */
};

/*
 * Locate `dirfd`/`path`. Returns 0 when it is not managed (outside the tree,
 * the tree's root, inside the spill area, or unresolvable): the caller uses
 * its original arguments. Returns 1 with `loc` filled otherwise. Symlinks are
 * resolved through the union (spill area first) as the kernel would in the
 * merged tree; the last component only when `follow_last`. Never changes errno.
 */
int sw_locate(int dirfd, const char *path, int follow_last, struct sw_loc *loc);

/* A relative name whose absolute form is too long, located by walking it (long.c): 1 with loc
 * filled (long_name set), 0 when it is not one or cannot be reached so. */
int sw_long_locate(int dirfd, const char *path, struct sw_loc *loc);

/* Move fd to a high number with close-on-exec (init.c); the new number. */
int sw_high_fd(int fd);

/* sw_locate of a path the library already copied (sw_copy_path): it reads `copied` freely. */
int sw_locate_text(int dirfd, const char *copied, int follow_last, struct sw_loc *loc);

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

/* Copy n bytes of the program's memory at src into dst, never faulting: 0, or
 * -1 with errno EFAULT when any of it is not readable (the kernel's answer). */
int sw_copy_in(void *dst, const void *src, size_t n);

/* Copy n bytes from src into the program's memory at dst, never faulting: 0, or
 * -1 with errno EFAULT when any of it is not writable. */
int sw_copy_out(void *dst, const void *src, size_t n);

/* Copy the program's NUL-terminated string at path into out, never faulting:
 * its length, or -1 with errno EFAULT (unreadable) or ENAMETOOLONG (no NUL in
 * PATH_MAX bytes). Read a path from the program only through this. */
ssize_t sw_copy_path(const char *path, char out[PATH_MAX]);

/* The same for any string and a buffer of cap bytes (ENAMETOOLONG: no NUL in them). */
ssize_t sw_copy_string(const char *src, char *out, size_t cap);

/* --- Moves (move.c) --- */

/* The xattr a moved file carries: "<dev>:<ino>" of its main-disk original. */
#define SW_ORIGIN_XATTR SPILLWAY_ORIGIN_XATTR

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

/* "/proc/self/fd/<fd>" (no stdio). */
void sw_proc_fd_path(int fd, char out[32]);

/* Mark fd, a description writing a spill-area file, as a writer the drain must wait for
 * (spillway_slot.h: an OFD write lock on one byte of the writer-mark range). */
void sw_mark_writer(int fd);

/* fd was just opened for writing a spill-area file: mark it, and unless the slot says
 * `spilling`, wait out a drain moving that file (flock) and say whether it moved it
 * meanwhile (1: fd refers to an unlinked copy; open the name again). */
int sw_claim_writer(int fd);

/* Is `path` (absolute, normalised) inside the spill area? */
static inline int sw_in_spill_area(const char *path) {
    return sw_cfg.spill_len > 0 && strncmp(path, sw_cfg.spill, sw_cfg.spill_len) == 0 &&
           (path[sw_cfg.spill_len] == '/' || path[sw_cfg.spill_len] == '\0');
}

/* Do open flags write? */
static inline int sw_writes(int flags) {
    return !(flags & O_PATH) && (flags & O_ACCMODE) != O_RDONLY;
}

/* fd refers to main-disk file `st`: move it to the spill area (or find it
 * moved) and re-point fd. 0 when fd now refers to the spill area. */
int sw_take_over(int fd, const struct stat *st, int anonymous_ok);

/* After a create failed with EDQUOT/ENOSPC on the main disk: the spill-area
 * path to create it at instead (parents made). 1 when there is one. */
int sw_create_rescue_path(int dirfd, const char *path, char out[PATH_MAX]);

/* --- Writes through stdio (stdout.c) --- */
struct _IO_FILE; /* FILE, in glibc and musl alike */

/* A stream just opened (fopen, freopen): musl's flushes of it go through the library's
 * writev from now on (glibc's are served by the output hooks: nothing to do). */
void sw_stdio_adopt(struct _IO_FILE *fp);

/* Before freopen closes a stream: write out what it buffers through write(). */
void sw_stdio_before_reopen(struct _IO_FILE *fp);

/* Access modes a fopen() mode string implies, as open(2) flags. */
int sw_fopen_flags(const char *mode);

/* --- Namespace hooks: helpers in union.c for mkdir.c, unlink.c, rename.c,
 * link.c, attr.c, xattr.c, cwd.c, exec.c, dir.c, lookup.c, mktemp.c, glob.c
 * (docs/SHIM.md, "Namespace calls") --- */

/* A located name, with its trailing "/", "/." or "/.." kept for the kernel. */
struct sw_name {
    struct sw_loc loc;
    char tail[8];
};

/* sw_locate for a namespace hook; 0 when the original arguments are to be used. */
int sw_name_locate(int dirfd, const char *path, int follow, struct sw_name *nm);

/* nm's name in `place` (SW_IN_SPILL or SW_IN_MAIN) with its tail; -1 if too long. */
int sw_name_path(const struct sw_name *nm, int place, char out[PATH_MAX]);

/* The path (and, in *use_dirfd, the directory descriptor) a lookup of
 * dirfd/path uses: the spill area's name when it is there, the union-resolved
 * main name, or the original arguments. */
const char *sw_name_lookup(int dirfd, const char *path, int follow, char alt[PATH_MAX], int *use_dirfd);

/* Is nm a directory present in both places? */
int sw_name_both_dir(const struct sw_name *nm);

/* Call op where dirfd/path lives; for a directory present in both places,
 * on the spill half and then (its result ignored) on the main half. */
typedef int (*sw_path_op)(int dirfd, const char *path, void *ctx);
int sw_on_places(int dirfd, const char *path, int follow, sw_path_op op, void *ctx);

/* Make the main disk's missing parents of loc, mirroring the spill area's
 * modes and owners. 0 when the parent exists on the main disk afterwards. */
int sw_main_parents(const struct sw_loc *loc);

/* 1 if the directory at path has no entries but "." and "..", 0 if it has, -1 on error. */
int sw_dir_is_empty(const char *path);

/* SW_IN_MAIN or SW_IN_SPILL for a file on that device, else SW_IN_NONE. */
int sw_place_of_dev(dev_t dev);

/* Rewrite an absolute path inside the spill area to the application's name
 * for it, in place: 1 if rewritten, 0 if not in the spill area, -1 if too long. */
int sw_unspill_path(char *path, size_t cap);

/* The absolute, lexically normalised name of dirfd/path as the application
 * sees it ("" for "/"); its length or -1. */
int sw_app_dir(int dirfd, const char *path, char out[PATH_MAX]);

/* Which halves (SW_IN_SPILL | SW_IN_MAIN) the directory dirfd/path has, their
 * names in spill and main; 0 when it is not a managed directory. The managed
 * tree's root has the spill area itself as its spill half. */
int sw_dir_halves(int dirfd, const char *path, int follow, char spill[PATH_MAX], char main[PATH_MAX]);

/* Is this a temporary name the library itself makes in the spill area? */
int sw_internal_name(const char *name);

/* Where a new name dirfd/path is made (sw_create_target): alt in the spill
 * area, the union-resolved main name, or the original arguments. */
const char *sw_name_create(int dirfd, const char *path, char alt[PATH_MAX], int *use_dirfd);

/* After a create on the main disk returned rc: when it failed with EDQUOT or
 * ENOSPC, make it in the spill area instead (op) and return that result. */
int sw_create_retry(int rc, int dirfd, const char *path, sw_path_op op, void *ctx);
#define SW_CREATE_RETRY(rc, dirfd, path, op, ctx) \
    (SW_UNLIKELY((rc) < 0) ? sw_create_retry((rc), (dirfd), (path), (op), (ctx)) : (rc))

/* Create dirfd/path with op where sw_name_create says, rescued by sw_create_retry. */
int sw_create_node(int dirfd, const char *path, sw_path_op op, void *ctx);

/* path is neither NULL nor "" (kept out of line: libc's headers declare
 * many path arguments nonnull, and a program may still pass NULL). */
int sw_path_named(const char *path);

/* path is not NULL and contains a '/'. */
int sw_path_has_slash(const char *path);

/* --- end of namespace hooks --- */

/* --- The supervisor (report.c) --- */

/* Ask the supervisor to make the spill area's missing parents of `relative` (a name relative to
 * the managed root, no leading '/') with the main disk's owners and modes: 0; -1 with the
 * supervisor's errno (EPERM: refused; ENOENT, ENOTDIR: the main disk has no such directory);
 * -2 with errno when it could not be asked (no socket, no answer). */
int sw_ask_parents(const char *relative);

/* The library cannot help with `path` (as the program named it) because of `reason` (and
 * `err` when not 0): one line on stderr with SPILLWAY_DEBUG=1, and a report to the supervisor.
 * Preserves errno. */
void sw_cannot_help(const char *path, const char *reason, int err);

/* The same for the file open as `fd`, named by its /proc/self/fd link. */
void sw_cannot_help_fd(int fd, const char *reason, int err);

/* The same for a name in the spill area, reported by the program's name for it. */
void sw_cannot_help_spill(const char *spill_path, const char *reason, int err);

/* How many reports this thread has made: a caller that fails after a step compares it before
 * and after, and reports only when the step did not. */
unsigned sw_reports(void);

/* Text for errno `err` (no locale, no stdio); `buf` holds "errno N" for others. */
const char *sw_errno_text(int err, char buf[24]);

#endif /* SPILLWAY_SHIM_H */
