/*
 * real.h — libc's own definitions of the calls the library hooks.
 *
 * Each hook file declares the pointers it needs with SW_REAL_DECL and fetches
 * them with SW_REAL: the first call resolves the symbol with dlsym(RTLD_NEXT),
 * later calls cost one load. A symbol libc does not have yields NULL, and the
 * hook then falls back to the raw system call, never to exit().
 */
#ifndef SPILLWAY_REAL_H
#define SPILLWAY_REAL_H

#include "shim.h"

#define SW_REAL_DECL(ret, name, params) static ret(*sw_real_##name) params

#define SW_REAL(name)                                                                   \
    __extension__({                                                                     \
        __typeof__(sw_real_##name) sw_fn_ = __atomic_load_n(&sw_real_##name, __ATOMIC_RELAXED); \
        if (SW_UNLIKELY(sw_fn_ == NULL)) {                                              \
            sw_fn_ = (__typeof__(sw_fn_))sw_next(#name);                                \
            __atomic_store_n(&sw_real_##name, sw_fn_, __ATOMIC_RELAXED);                \
        }                                                                               \
        sw_fn_;                                                                         \
    })

/* Is the library idle for this call (not configured, or `normal')? */
#define SW_IDLE() (sw_state() == SPILLWAY_STATE_NORMAL)

/*
 * The `normal' fast path, first thing in a hook: when idle, a tail call to libc's own
 * function, before the hook's frame (its PATH_MAX buffers) is set up. The hook's body after
 * it handles every other state. Not for hooks that must look at the result while idle
 * (the EDQUOT/ENOSPC rescues).
 */
#define SW_IDLE_TAIL(name, ...)                                                  \
    do {                                                                         \
        if (__builtin_expect(SW_IDLE(), 1)) {                                    \
            __typeof__(sw_real_##name) sw_tail_ = SW_REAL(name);                 \
            if (__builtin_expect(sw_tail_ != NULL, 1)) return sw_tail_(__VA_ARGS__); \
        }                                                                        \
    } while (0)

#endif /* SPILLWAY_REAL_H */
