/*
 * init.c — read the library's configuration once per process.
 *
 * Outside a container the library is configured by environment:
 *   SPILLWAY_SLOT   the slot file (see spillway_slot.h), mapped read-only;
 *   SPILLWAY_SPILL  the spill area, a directory on the sub disk;
 *   SPILLWAY_ROOT   the managed tree (default "/").
 * Anything missing or invalid leaves the library unconfigured, and every hook
 * then behaves exactly like libc (fail open). SPILLWAY_DEBUG=1 prints one line
 * to stderr saying why.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

struct sw_config sw_cfg;
int sw_ready;
static int sw_init_state; /* 0 new, 1 running, 2 done */

void *sw_next(const char *name) {
    return dlsym(RTLD_NEXT, name);
}

static void sw_debug(const char *what, const char *value) {
    const char *flag = getenv("SPILLWAY_DEBUG");
    if (flag == NULL || flag[0] != '1') return;
    char line[PATH_MAX + 128];
    size_t n = 0;
    const char *parts[] = {"spillway: preload library inactive: ", what, value ? ": " : "", value ? value : "", "\n"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t len = strlen(parts[i]);
        if (n + len >= sizeof(line)) len = sizeof(line) - n - 1;
        memcpy(line + n, parts[i], len);
        n += len;
    }
    ssize_t ignored = syscall(SYS_write, 2, line, n);
    (void)ignored;
}

/* Normalise an absolute directory path lexically; "" stands for "/". */
static int sw_normalise_dir(const char *in, char *out, size_t *out_len) {
    if (in == NULL || in[0] != '/') return -1;
    int n = sw_join_normalise(out, 0, in);
    if (n < 0) return -1;
    *out_len = (size_t)n;
    return 0;
}

static const struct spillway_slot *sw_map_slot(const char *path) {
    int fd = sw_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
    if (fd < 0) {
        sw_debug("cannot open SPILLWAY_SLOT", path);
        return NULL;
    }
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)SPILLWAY_SLOT_FILE_SIZE) {
        sw_debug("SPILLWAY_SLOT is not a page-sized regular file", path);
        sw_sys_close(fd);
        return NULL;
    }
    void *map = (void *)syscall(SYS_mmap, NULL, (size_t)SPILLWAY_SLOT_FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    sw_sys_close(fd);
    if (map == MAP_FAILED) {
        sw_debug("cannot map SPILLWAY_SLOT", path);
        return NULL;
    }
    const struct spillway_slot *slot = map;
    if (!spillway_slot_is_valid(slot, SPILLWAY_SLOT_FILE_SIZE)) {
        sw_debug("SPILLWAY_SLOT has a wrong magic, version or state", path);
        syscall(SYS_munmap, map, (size_t)SPILLWAY_SLOT_FILE_SIZE);
        return NULL;
    }
    return slot;
}

static void sw_configure(void) {
    const char *slot_path = getenv("SPILLWAY_SLOT");
    const char *spill = getenv("SPILLWAY_SPILL");
    const char *root = getenv("SPILLWAY_ROOT");
    if (slot_path == NULL || slot_path[0] == '\0') return; /* not managed: silent */
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
        return spillway_slot_state(sw_cfg.slot);
    }
    return SPILLWAY_STATE_SPILLING;
}

__attribute__((constructor)) static void sw_constructor(void) {
    sw_ensure_init();
}
