/*
 * spillway_fuse_loop.h — the FUSE union's request loop: libfuse's request handling
 * (fuse_session_receive_buf, fuse_session_process_buf) on workers of its own, started as
 * requests need them and all kept.
 *
 * A FUSE request costs the calling program the wake-up of a server thread asleep in read(2)
 * on /dev/fuse; on a VM a wake-up is tens of microseconds, more than the work of a lookup or a
 * getattr. So:
 *  - one worker at a time reads /dev/fuse (the reader); the others wait on a condition
 *    variable, so a request wakes at most that one thread;
 *  - while requests come back to back, and no request is being served (a single caller sends
 *    nothing before its reply), the reader polls /dev/fuse for up to `spin_ns` before it
 *    sleeps, yielding between polls, and reads the next request without being woken; a poll
 *    that finds nothing turns polling off until a request again comes sooner than `spin_ns`
 *    after the last reply, so an idle or quiet mount polls at most once per burst and then
 *    sleeps;
 *  - a metadata request (lookup, getattr, unlink, ...) that arrives while no other request is
 *    waiting or being served, the reader serves itself; before any other request it hands the
 *    reader role to another worker, so a slow request (data, a move) holds up no other.
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
