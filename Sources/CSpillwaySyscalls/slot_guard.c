/*
 * slot_guard.c — a slot truncated while a host process maps it never crashes
 * that process (spillway_slot_guard.h).
 */
#define _GNU_SOURCE
#include "spillway_slot_guard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

static char *guarded_page;
static size_t guarded_size;
static struct sigaction previous_action;
static int tripped;
static long long next_check_ns;

static void on_bus(int sig, siginfo_t *info, void *context) {
    char *addr = info ? (char *)info->si_addr : NULL;
    char *page = __atomic_load_n(&guarded_page, __ATOMIC_ACQUIRE);
    if (page != NULL && addr >= page && addr < page + guarded_size) {
        int saved = errno;
        mmap(page, guarded_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        __atomic_store_n(&tripped, 1, __ATOMIC_RELEASE);
        errno = saved;
        return; /* the load runs again and reads zeros */
    }
    if (previous_action.sa_flags & SA_SIGINFO) {
        if (previous_action.sa_sigaction != NULL) {
            previous_action.sa_sigaction(sig, info, context);
            return;
        }
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(sig);
        return;
    }
    /* The default action: the faulting instruction runs again and the kernel
     * delivers SIGBUS as it would have without the guard. */
    signal(SIGBUS, SIG_DFL);
}

int spillway_slot_guard_install(const void *page, size_t size) {
    struct sigaction ours;
    memset(&ours, 0, sizeof(ours));
    ours.sa_sigaction = on_bus;
    ours.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    guarded_size = size;
    __atomic_store_n(&guarded_page, (char *)page, __ATOMIC_RELEASE);
    return sigaction(SIGBUS, &ours, &previous_action);
}

int spillway_slot_guard_tripped(void) {
    return __atomic_load_n(&tripped, __ATOMIC_RELAXED);
}

int spillway_slot_guard_restore(int fd) {
    if (!__atomic_load_n(&tripped, __ATOMIC_ACQUIRE)) return 1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    long long due = __atomic_load_n(&next_check_ns, __ATOMIC_RELAXED);
    if (ns < due) return 0;
    __atomic_store_n(&next_check_ns, ns + 1000000LL, __ATOMIC_RELAXED);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)guarded_size) return 0;
    /* Cleared first: a truncation that comes back during the remap trips it again. */
    __atomic_store_n(&tripped, 0, __ATOMIC_RELEASE);
    if (mmap(guarded_page, guarded_size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
        __atomic_store_n(&tripped, 1, __ATOMIC_RELEASE);
        return 0;
    }
    return 1;
}
