/*
 * serve.c — the FUSE union's request loop (see spillway_fuse_loop.h): libfuse's
 * fuse_session_receive_buf and fuse_session_process_buf run by our own workers, so that an
 * idle worker can poll /dev/fuse before it sleeps.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "spillway_fuse_loop.h"

struct loop {
    struct fuse_session *se;
    int fd;
    int64_t spin_ns;
    unsigned max_threads;

    pthread_mutex_t lock;          /* guards the fields below it up to `finish` */
    pthread_cond_t wake;           /* parked workers wait here for the reader role */
    pthread_t *threads;
    unsigned numworker;
    unsigned parked;               /* workers waiting on `wake` */
    int reader;                    /* a worker holds the reader role */
    int error;
    int stopping;                  /* no worker is started once set */
    sem_t finish;                  /* posted by each worker that ends */

    atomic_int polling;            /* the policy's answer: poll before the next wait */
    atomic_int busy;               /* requests being served */
    _Atomic int64_t last_reply;    /* CLOCK_MONOTONIC ns of the last finished request */
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int spw_fuse_poll_next(enum spw_fuse_wait how, int64_t gap_ns, int64_t spin_ns) {
    if (spin_ns <= 0) return 0;
    switch (how) {
    case SPW_FUSE_POLL_FOUND: return 1;
    case SPW_FUSE_POLL_EMPTY: return 0;
    case SPW_FUSE_SLEPT: return gap_ns >= 0 && gap_ns < spin_ns;
    }
    return 0;
}

/* Polls /dev/fuse for up to spin_ns; whether a request is waiting. It yields between polls:
 * the program it just answered often wakes on this CPU, and must not wait for the poll. */
static int poll_for_request(struct loop *l) {
    int64_t deadline = now_ns() + l->spin_ns;
    struct pollfd p = { .fd = l->fd, .events = POLLIN };
    do {
        int n = poll(&p, 1, 0);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return 0;
        sched_yield();
    } while (now_ns() < deadline && !fuse_session_exited(l->se));
    return 0;
}

static int start_worker(struct loop *l);

/* Requests answered from the branches' metadata with a few system calls (no data moved, no
 * file moved), which the worker holding the reader role serves itself when nothing else waits. */
static int is_quick(const struct fuse_buf *buf) {
    if (buf->size < sizeof(struct fuse_in_header) || (buf->flags & FUSE_BUF_IS_FD)) return 0;
    switch (((const struct fuse_in_header *)buf->mem)->opcode) {
    case FUSE_LOOKUP: case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_GETATTR: case FUSE_READLINK:
    case FUSE_UNLINK: case FUSE_GETXATTR: case FUSE_LISTXATTR: case FUSE_ACCESS: case FUSE_OPENDIR:
    case FUSE_RELEASEDIR:
        return 1;
    default:
        return 0;
    }
}

/* Whether a request waits on /dev/fuse now. */
static int request_waiting(struct loop *l) {
    struct pollfd p = { .fd = l->fd, .events = POLLIN };
    return poll(&p, 1, 0) > 0;
}

/* Gives up the reader role (l->lock held): a parked worker takes it, or a new one if none is
 * parked and fewer than max_threads run. */
static void hand_over_reader(struct loop *l) {
    l->reader = 0;
    if (l->parked > 0) pthread_cond_signal(&l->wake);
    else if (l->numworker < l->max_threads) start_worker(l);
}

/*
 * One worker at a time holds the reader role: it polls /dev/fuse (while polling is on), then
 * sleeps in read(2). The others park on a condition variable, so a request wakes no thread
 * but the reader. A quick request, with no other request waiting or being served, the reader
 * serves itself and keeps the role (no wake-up at all); before any other request it hands
 * the role over, so a slow request (data, a move) never holds up the next one.
 */
static void *worker(void *arg) {
    struct loop *l = arg;
    struct fuse_buf buf = { .mem = NULL };
    int reader = 0;
    pthread_mutex_lock(&l->lock);
    while (!fuse_session_exited(l->se)) {
        if (!reader) {
            while (l->reader && !fuse_session_exited(l->se)) {
                l->parked++;
                pthread_cond_wait(&l->wake, &l->lock);
                l->parked--;
            }
            if (fuse_session_exited(l->se)) break;
            l->reader = reader = 1;
        }
        pthread_mutex_unlock(&l->lock);

        enum spw_fuse_wait how = SPW_FUSE_SLEPT;
        /* While another worker serves a request its caller waits for the reply, and a single
         * caller sends nothing before then: poll only when no request is being served. */
        if (atomic_load_explicit(&l->polling, memory_order_relaxed) && atomic_load_explicit(&l->busy, memory_order_acquire) == 0) {
            how = poll_for_request(l) ? SPW_FUSE_POLL_FOUND : SPW_FUSE_POLL_EMPTY;
        }
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        int res = fuse_session_receive_buf(l->se, &buf);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (res == -EINTR) {
            pthread_mutex_lock(&l->lock);
            continue;
        }
        if (res <= 0) {
            pthread_mutex_lock(&l->lock);
            if (res < 0) l->error = res;
            fuse_session_exit(l->se);
            break;
        }
        /* The policy decides after a poll; after a sleep it can only turn polling on (the
         * sleep may have been a wait for another worker's long request, which says nothing
         * about how close together requests come). */
        int64_t gap = -1;
        if (how == SPW_FUSE_SLEPT) {
            int64_t last = atomic_load_explicit(&l->last_reply, memory_order_relaxed);
            if (last) gap = now_ns() - last;
        }
        int next = spw_fuse_poll_next(how, gap, l->spin_ns);
        if (how != SPW_FUSE_SLEPT || next) atomic_store_explicit(&l->polling, next, memory_order_relaxed);
        /* Counted as being served before the reader role passes on, so the next reader sees
         * it. Served by the reader itself only when no other request is being served: then no
         * lock libfuse or the union holds for another request can make it wait. */
        int others = atomic_fetch_add_explicit(&l->busy, 1, memory_order_acq_rel);
        if (!is_quick(&buf) || others > 0 || request_waiting(l)) {
            pthread_mutex_lock(&l->lock);
            hand_over_reader(l);
            reader = 0;
            pthread_mutex_unlock(&l->lock);
        }

        fuse_session_process_buf(l->se, &buf);
        atomic_fetch_sub_explicit(&l->busy, 1, memory_order_acq_rel);

        if (l->spin_ns > 0) atomic_store_explicit(&l->last_reply, now_ns(), memory_order_relaxed);
        pthread_mutex_lock(&l->lock);
    }
    /* Whoever ends the loop lets the parked workers see it. */
    if (reader) l->reader = 0;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    free(buf.mem);
    sem_post(&l->finish);
    return NULL;
}

/* With l->lock held. Workers take no asynchronous signals: they go to the thread running the
 * loop. A fault (SIGBUS from a slot truncated under its mapping, which the slot guard turns
 * into a zero page) is delivered to the faulting thread and must stay unblocked there: the
 * kernel kills a process whose thread faults with the signal blocked. */
static int start_worker(struct loop *l) {
    if (l->stopping) return -ECANCELED;
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&l->threads[l->numworker], NULL, worker, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        if (l->numworker == 0) fprintf(stderr, "spillway-fuse: cannot start a worker thread: %s\n", strerror(rc));
        return -rc;
    }
    l->numworker++;
    return 0;
}

int spw_fuse_serve(struct fuse *f, unsigned max_threads, int64_t spin_ns) {
    struct loop *l = calloc(1, sizeof(*l));
    if (l == NULL) return -1;
    l->se = fuse_get_session(f);
    l->fd = fuse_session_fd(l->se);
    l->spin_ns = spin_ns > 0 ? spin_ns : 0;
    l->max_threads = max_threads ? max_threads : 1;
    l->threads = calloc(l->max_threads, sizeof(pthread_t));
    if (l->threads == NULL) { free(l); return -1; }
    atomic_init(&l->polling, 0);
    atomic_init(&l->busy, 0);
    atomic_init(&l->last_reply, 0);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    sem_init(&l->finish, 0, 0);

    pthread_mutex_lock(&l->lock);
    int rc = start_worker(l);
    pthread_mutex_unlock(&l->lock);
    if (rc == 0) {
        /* Signals (libfuse's handlers end the session) interrupt the wait. */
        while (!fuse_session_exited(l->se)) sem_wait(&l->finish);
    }
    /* Workers asleep in read(2) are cancelled there (the only point where cancelling is
     * enabled); a worker serving a request finishes it and sees the session ended. */
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    unsigned started = l->numworker;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    for (unsigned i = 0; i < started; i++) pthread_cancel(l->threads[i]);
    for (unsigned i = 0; i < started; i++) pthread_join(l->threads[i], NULL);
    int error = l->error;
    sem_destroy(&l->finish);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l->threads);
    free(l);
    return rc != 0 || error < 0 ? -1 : 0;
}
