/*
 * init.c — read the library's configuration once per process.
 *
 * Outside a container the library is configured by environment:
 *   SPILLWAY_SLOT   the slot file (see spillway_slot.h), mapped read-only;
 *   SPILLWAY_SPILL  the spill area, a directory on the sub disk;
 *   SPILLWAY_ROOT   the managed tree (default "/");
 *   SPILLWAY_ASK    the supervisor's ask socket for this container (report.c), optional.
 * Anything missing or invalid leaves the library unconfigured, and every hook
 * then behaves exactly like libc (fail open); that is reported like any other
 * case where the library cannot help (report.c: with SPILLWAY_DEBUG=1 one line
 * "spillway: cannot help: PATH: REASON" on stderr).
 *
 * The library keeps its own descriptor of the slot (high, close-on-exec; the
 * program's descriptors are never touched): when the file was truncated under
 * the mapping (signal.c swaps in a zero page), the page is mapped again from
 * it once the supervisor has repaired the file in place, so the library is
 * active again at its next call. A page with a wrong magic or version (random
 * bytes) reads as inactive until it is rewritten.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

struct sw_config sw_cfg;
int sw_ready;
static int sw_init_state; /* 0 new, 1 running, 2 done */

void *sw_next(const char *name) {
    return dlsym(RTLD_NEXT, name);
}

/* The library stays inactive: say why (report.c), naming `value`. */
static void sw_debug(const char *what, const char *value) {
    sw_cannot_help(value ? value : "(unset)", what, 0);
}

/* Normalise an absolute directory path lexically; "" stands for "/". */
static int sw_normalise_dir(const char *in, char *out, size_t *out_len) {
    if (in == NULL || in[0] != '/') return -1;
    int n = sw_join_normalise(out, 0, in);
    if (n < 0) return -1;
    *out_len = (size_t)n;
    return 0;
}

/* The library's own descriptor of the slot, and what it referred to when opened. */
static int sw_slot_fd = -1;
static dev_t sw_slot_dev;
static ino_t sw_slot_ino;
static char sw_slot_path[PATH_MAX];
/* CLOCK_MONOTONIC nanoseconds of the last recovery attempt (rate limit). */
static uint64_t sw_slot_checked_ns;
#define SW_SLOT_RECHECK_NS 1000000ull

/* Move fd to a high number, away from the ones a program counts on (0, 1, 2, the lowest free). */
int sw_high_fd(int fd) {
    struct rlimit limit;
    if (syscall(SYS_getrlimit, RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < 128) return fd;
    long base = (limit.rlim_cur > 1024 ? 1024 : (long)limit.rlim_cur) - 64;
    int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, base);
    if (high < 0) return fd;
    sw_sys_close(fd);
    return high;
}

/* Open the slot file: a regular file, not a symlink; its descriptor, moved high, or -1. */
static int sw_open_slot(const char *path, struct stat *st) {
    int fd = sw_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
    if (fd < 0) return -1;
    if (syscall(SYS_fstat, fd, st) != 0 || !S_ISREG(st->st_mode)) {
        sw_sys_close(fd);
        return -1;
    }
    return sw_high_fd(fd);
}

static const struct spillway_slot *sw_map_slot(const char *path) {
    struct stat st;
    int fd = sw_open_slot(path, &st);
    if (fd < 0) {
        sw_cannot_help(path, "slot unreadable: cannot open SPILLWAY_SLOT as a regular file", errno);
        return NULL;
    }
    if (st.st_size < (off_t)SPILLWAY_SLOT_FILE_SIZE) {
        sw_debug("slot unreadable: SPILLWAY_SLOT is not a page-sized regular file", path);
        sw_sys_close(fd);
        return NULL;
    }
    void *map = (void *)syscall(SYS_mmap, NULL, (size_t)SPILLWAY_SLOT_FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        sw_debug("slot unreadable: cannot map SPILLWAY_SLOT", path);
        sw_sys_close(fd);
        return NULL;
    }
    const struct spillway_slot *slot = map;
    if (!spillway_slot_is_valid(slot, SPILLWAY_SLOT_FILE_SIZE)) {
        sw_debug("slot unreadable: SPILLWAY_SLOT has a wrong magic, version or state", path);
        syscall(SYS_munmap, map, (size_t)SPILLWAY_SLOT_FILE_SIZE);
        sw_sys_close(fd);
        return NULL;
    }
    size_t len = strlen(path);
    if (len < sizeof(sw_slot_path)) memcpy(sw_slot_path, path, len + 1);
    sw_slot_fd = fd;
    sw_slot_dev = st.st_dev;
    sw_slot_ino = st.st_ino;
    return slot;
}

void sw_slot_lost(void) {
    __atomic_store_n(&sw_cfg.slot_lost, 1, __ATOMIC_RELEASE);
}

/* The held descriptor if it still refers to the slot, else the slot opened again by path
 * (a program may have closed or reused the descriptor): -1 when neither works. */
static int sw_slot_descriptor(struct stat *st) {
    int fd = __atomic_load_n(&sw_slot_fd, __ATOMIC_ACQUIRE);
    if (fd >= 0 && syscall(SYS_fstat, fd, st) == 0 && st->st_dev == sw_slot_dev && st->st_ino == sw_slot_ino) return fd;
    if (sw_slot_path[0] == '\0') return -1;
    int fresh = sw_open_slot(sw_slot_path, st);
    if (fresh < 0) return -1;
    int expected = fd;
    if (!__atomic_compare_exchange_n(&sw_slot_fd, &expected, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        sw_sys_close(fresh); /* another thread re-opened it first */
        return -1;
    }
    sw_slot_dev = st->st_dev;
    sw_slot_ino = st->st_ino;
    return fresh;
}

/* After a truncation swapped the page for zeros: map the file again once it is a whole page. */
static void sw_slot_recover(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return;
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    uint64_t last = __atomic_load_n(&sw_slot_checked_ns, __ATOMIC_RELAXED);
    if (now - last < SW_SLOT_RECHECK_NS) return;
    if (!__atomic_compare_exchange_n(&sw_slot_checked_ns, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
    struct stat st;
    int fd = sw_slot_descriptor(&st);
    if (fd < 0 || st.st_size < (off_t)SPILLWAY_SLOT_FILE_SIZE) return;
    /* Cleared first: a truncation racing with the mapping below sets it again (signal.c). */
    __atomic_store_n(&sw_cfg.slot_lost, 0, __ATOMIC_RELEASE);
    void *map = (void *)syscall(SYS_mmap, (void *)sw_cfg.slot, (size_t)SPILLWAY_SLOT_FILE_SIZE, PROT_READ,
                                MAP_SHARED | MAP_FIXED, fd, 0);
    if (map == MAP_FAILED) sw_slot_lost();
}

unsigned sw_checked_state(unsigned state) {
    const struct spillway_slot *slot = sw_cfg.slot;
    if (state >= SPILLWAY_STATE_COUNT || __atomic_load_n(&slot->magic, __ATOMIC_RELAXED) != SPILLWAY_SLOT_MAGIC ||
        __atomic_load_n(&slot->version, __ATOMIC_RELAXED) != SPILLWAY_SLOT_VERSION)
        return SPILLWAY_STATE_NORMAL;
    return state;
}

unsigned sw_attention_state(void) {
    int saved = errno;
    if (__atomic_load_n(&sw_cfg.slot_lost, __ATOMIC_ACQUIRE)) sw_slot_recover();
    errno = saved;
    unsigned state = spillway_slot_state(sw_cfg.slot);
    if (state != SPILLWAY_STATE_NORMAL) return sw_checked_state(state);
    if (sw_cfg.rescued) return sw_rescued_state();
    return state;
}

static void sw_configure(void) {
    const char *slot_path = getenv("SPILLWAY_SLOT");
    const char *spill = getenv("SPILLWAY_SPILL");
    const char *root = getenv("SPILLWAY_ROOT");
    const char *ask = getenv("SPILLWAY_ASK");
    const char *debug = getenv("SPILLWAY_DEBUG");
    sw_cfg.debug = debug != NULL && debug[0] == '1';
    if (slot_path == NULL || slot_path[0] == '\0') return; /* not managed: silent */
    if (ask != NULL && ask[0] == '/' && strlen(ask) < sizeof sw_cfg.ask) memcpy(sw_cfg.ask, ask, strlen(ask) + 1);
    if (root == NULL || root[0] == '\0') root = "/";
    if (sw_normalise_dir(root, sw_cfg.root, &sw_cfg.root_len) != 0) {
        sw_debug("SPILLWAY_ROOT must be an absolute path", root);
        return;
    }
    if (spill == NULL || sw_normalise_dir(spill, sw_cfg.spill, &sw_cfg.spill_len) != 0 || sw_cfg.spill_len == 0) {
        sw_debug("SPILLWAY_SPILL must be an absolute directory path", spill ? spill : "(unset)");
        return;
    }
    struct stat st;
    if (sw_sys_fstatat(AT_FDCWD, sw_cfg.spill, &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
        sw_debug("SPILLWAY_SPILL is not a directory", sw_cfg.spill);
        return;
    }
    if (sw_sys_fstatat(AT_FDCWD, sw_cfg.root_len ? sw_cfg.root : "/", &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
        sw_debug("SPILLWAY_ROOT is not a directory", root);
        return;
    }
    sw_cfg.root_dev = st.st_dev;
    sw_cfg.slot = sw_map_slot(slot_path);
    if (sw_cfg.slot != NULL) sw_install_bus_guard();
}

void sw_init_slow(void) {
    int expected = 0;
    if (__atomic_compare_exchange_n(&sw_init_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        int saved = errno;
        sw_configure();
        errno = saved;
        __atomic_store_n(&sw_init_state, 2, __ATOMIC_RELEASE);
        __atomic_store_n(&sw_ready, 1, __ATOMIC_RELEASE);
        return;
    }
    /* Another thread is configuring: it makes only a few system calls. */
    while (__atomic_load_n(&sw_init_state, __ATOMIC_ACQUIRE) != 2) syscall(SYS_sched_yield);
}

void sw_note_rescue(void) {
    if (sw_cfg.slot == NULL) return;
    sw_cfg.rescued_generation = __atomic_load_n(&sw_cfg.slot->generation, __ATOMIC_ACQUIRE);
    __atomic_store_n(&sw_cfg.rescued, 1, __ATOMIC_RELEASE);
}

unsigned sw_rescued_state(void) {
    uint64_t now = __atomic_load_n(&sw_cfg.slot->generation, __ATOMIC_ACQUIRE);
    if (now != sw_cfg.rescued_generation) {
        __atomic_store_n(&sw_cfg.rescued, 0, __ATOMIC_RELEASE); /* the supervisor has spoken since */
        unsigned state = spillway_slot_state(sw_cfg.slot);
        return state == SPILLWAY_STATE_NORMAL ? state : sw_checked_state(state);
    }
    return SPILLWAY_STATE_SPILLING;
}

__attribute__((constructor)) static void sw_constructor(void) {
    sw_ensure_init();
}
