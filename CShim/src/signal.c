/*
 * signal.c — a slot truncated while mapped must never crash the program.
 *
 * Reading a mapping past the end of its file raises SIGBUS. The library owns
 * a SIGBUS handler while it has a slot mapped: a fault inside the slot's page
 * replaces that page with a zero page (state 0 is `normal`, magic 0 is "no
 * slot"), so the library carries on as plain libc until the supervisor has
 * made the file a whole page again (init.c maps it back then); any other SIGBUS goes to
 * what the program installed, exactly as without Spillway. sigaction() and
 * signal() for SIGBUS are hooked so that the program's handler is kept as
 * "next" and ours stays first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(int, sigaction, (int, const struct sigaction *, struct sigaction *));

static struct sigaction sw_next_bus; /* what the program asked for SIGBUS */
static int sw_bus_installed;

static void sw_bus_handler(int sig, siginfo_t *info, void *context) {
    const char *page = (const char *)sw_cfg.slot;
    const char *addr = info ? (const char *)info->si_addr : NULL;
    if (page != NULL && addr >= page && addr < page + SPILLWAY_SLOT_FILE_SIZE) {
        int saved = errno;
        syscall(SYS_mmap, page, (size_t)SPILLWAY_SLOT_FILE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        sw_slot_lost();
        errno = saved;
        return; /* the load is retried and reads zeros: `normal`, inactive until recovered */
    }
    struct sigaction next = sw_next_bus;
    if (next.sa_flags & SA_SIGINFO) {
        if (next.sa_sigaction != NULL) {
            next.sa_sigaction(sig, info, context);
            return;
        }
    } else if (next.sa_handler != SIG_DFL && next.sa_handler != SIG_IGN) {
        next.sa_handler(sig);
        return;
    }
    /* Default action: restore it; the faulting instruction runs again and the
     * kernel delivers SIGBUS as it would have without Spillway. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    __typeof__(sw_real_sigaction) fn = SW_REAL(sigaction);
    if (fn) fn(SIGBUS, &dfl, NULL);
    __atomic_store_n(&sw_bus_installed, 0, __ATOMIC_RELEASE);
}

void sw_install_bus_guard(void) {
    __typeof__(sw_real_sigaction) fn = SW_REAL(sigaction);
    if (fn == NULL) return;
    struct sigaction ours;
    memset(&ours, 0, sizeof(ours));
    ours.sa_sigaction = sw_bus_handler;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    if (fn(SIGBUS, &ours, &sw_next_bus) == 0) __atomic_store_n(&sw_bus_installed, 1, __ATOMIC_RELEASE);
}

SW_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    __typeof__(sw_real_sigaction) fn = SW_REAL(sigaction);
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (sig != SIGBUS || !__atomic_load_n(&sw_bus_installed, __ATOMIC_ACQUIRE)) return fn(sig, act, old);
    /* The program sees and sets its own SIGBUS action; ours stays in front. */
    if (old != NULL) *old = sw_next_bus;
    if (act != NULL) sw_next_bus = *act;
    return 0;
}

SW_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
    if (sig != SIGBUS || !__atomic_load_n(&sw_bus_installed, __ATOMIC_ACQUIRE)) {
        struct sigaction act, old;
        memset(&act, 0, sizeof(act));
        act.sa_handler = handler;
        act.sa_flags = SA_RESTART; /* BSD semantics, as glibc's signal() */
        sigemptyset(&act.sa_mask);
        if (sig > 0 && sig < NSIG) sigaddset(&act.sa_mask, sig);
        __typeof__(sw_real_sigaction) fn = SW_REAL(sigaction);
        if (fn == NULL || fn(sig, &act, &old) != 0) return SIG_ERR;
        return old.sa_handler;
    }
    sighandler_t previous = (sw_next_bus.sa_flags & SA_SIGINFO) ? SIG_DFL : sw_next_bus.sa_handler;
    memset(&sw_next_bus, 0, sizeof(sw_next_bus));
    sw_next_bus.sa_handler = handler;
    sw_next_bus.sa_flags = SA_RESTART;
    sigaddset(&sw_next_bus.sa_mask, SIGBUS);
    return previous;
}
