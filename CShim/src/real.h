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

#endif /* SPILLWAY_REAL_H */
