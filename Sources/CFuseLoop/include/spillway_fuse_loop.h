/*
 * spillway_fuse_loop.h — the FUSE union's request loop: libfuse's multi-threaded loop
 * (workers started as requests need them, all kept) with adaptive polling of /dev/fuse.
 *
 * A FUSE request costs the caller two thread wake-ups: the server's worker, asleep in
 * read(2) on /dev/fuse, and then the caller itself. On a VM a wake-up is tens of
 * microseconds, more than the work of a lookup or a getattr. While requests come back to back
 * (one program's metadata calls, small writes), one worker at a time polls /dev/fuse for up to
 * `spin_ns` after each request instead of sleeping, so the next request is read at once. A
 * poll that times out turns polling off until requests again come closer together than
 * `spin_ns`: an idle or quiet mount polls at most once per burst, then sleeps.
 */
#ifndef SPILLWAY_FUSE_LOOP_H
#define SPILLWAY_FUSE_LOOP_H

#include <stdint.h>

struct fuse;

/*
 * Serves `f` until its session ends (unmount, or a signal libfuse's handlers catch) with at
 * most `max_threads` workers and polling windows of `spin_ns` (0: never poll). Returns 0
 * after a clean end, -1 on an error (printed by libfuse) or when no worker can be started.
 * Every worker has ended when it returns.
 */
int spw_fuse_serve(struct fuse *f, unsigned max_threads, int64_t spin_ns);

/* What a worker saw when it got its last request (or none), for the polling policy. */
enum spw_fuse_wait {
    SPW_FUSE_POLL_FOUND = 0,   /* its poll found the request */
    SPW_FUSE_POLL_EMPTY = 1,   /* its poll timed out (it then slept in read) */
    SPW_FUSE_SLEPT = 2,        /* it slept in read without polling */
};

/*
 * The polling policy, apart from the loop for its tests: whether to poll before the next wait
 * (1) or not (0), after a wait that ended as `how`, `gap_ns` after the previous reply (-1 when
 * there was none).
 */
int spw_fuse_poll_next(enum spw_fuse_wait how, int64_t gap_ns, int64_t spin_ns);

#endif
