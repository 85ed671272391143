/*
 * write.c — the writers by descriptor: write, pwrite, writev, pwritev(2),
 * ftruncate, fallocate, posix_fallocate, copy_file_range, sendfile.
 *
 * While `normal` or `draining` each hook is one state load and the libc call.
 * While `spilling`, a write through a descriptor of a main-disk file first
 * moves that file to the spill area (move.c) and re-points the descriptor, so
 * no byte lands on the full main disk; a file another process already moved
 * is found and re-pointed to. In every state, a write that fails with EDQUOT
 * or ENOSPC on the main disk moves the file and is retried once, so the
 * program sees the error only when the spill area is full too.
 *
 * When the slot says the spill area's cap is the library's to enforce
 * (SPILLWAY_SLOT_FLAG_LIBRARY_CAP: a directory partition, which the kernel
 * does not limit), a write while not `normal` that would grow a spill-area
 * file is first checked against the room the supervisor last measured
 * (spillway_cap_take): it is cut to what is left, or fails with ENOSPC. That
 * covers files the program opened directly under the spill area too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "real.h"

#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

/* fd is a regular file on the managed main disk (its stat in st). */
static int sw_main_file(int fd, struct stat *st) {
    return sw_cfg.slot != NULL && syscall(SYS_fstat, fd, st) == 0 && S_ISREG(st->st_mode) &&
           st->st_dev == sw_cfg.root_dev;
}

/* ---- the library-enforced cap ------------------------------------------- */

/* This process's bytes added to the spill area since the supervisor last measured it. */
static struct spillway_cap_ledger sw_ledger;

/* The spill area's device (0 until known). */
static dev_t sw_spill_dev;

/* One write's claim on the room: what it was granted and where the file ended before. */
struct sw_claim {
    uint64_t granted;
    off_t start; /* where the write begins */
    off_t size;  /* the file's size before it */
    int active;  /* the cap applies to this write */
};

/* The cap's figures when the slot says the library enforces it; 0 otherwise. */
static int sw_cap_view(struct spillway_slot_view *view) {
    if (sw_cfg.slot == NULL || !spillway_slot_read(sw_cfg.slot, view, 64)) return 0;
    return (view->flags & SPILLWAY_SLOT_FLAG_LIBRARY_CAP) && view->spill_limit != 0;
}

/* fd is a regular file in the spill area (its stat in st). */
static int sw_spill_file(int fd, struct stat *st) {
    if (syscall(SYS_fstat, fd, st) != 0 || !S_ISREG(st->st_mode)) return 0;
    dev_t dev = __atomic_load_n(&sw_spill_dev, __ATOMIC_RELAXED);
    if (dev == 0) {
        struct stat area;
        if (sw_sys_fstatat(AT_FDCWD, sw_cfg.spill, &area, 0) != 0) return 0;
        dev = area.st_dev;
        __atomic_store_n(&sw_spill_dev, dev, __ATOMIC_RELAXED);
    }
    return st->st_dev == dev;
}

/* A file just moved into the spill area counts against the room. */
static void sw_charge_move(const struct stat *st) {
    struct spillway_slot_view view;
    if (sw_cap_view(&view)) {
        spillway_cap_take(&sw_ledger, view.spill_limit, view.spill_used, view.spill_epoch, 0);
        spillway_cap_charge(&sw_ledger, (uint64_t)st->st_blocks * 512u);
    }
}

/* Waits until the supervisor publishes a measurement after `epoch` (at most
 * SPILLWAY_CAP_REMEASURE_WAIT_MS); fills `view` with the slot then. */
static void sw_await_measurement(uint64_t epoch, struct spillway_slot_view *view) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (unsigned waited = 0; waited < SPILLWAY_CAP_REMEASURE_WAIT_MS; waited += 10) {
        if (!sw_cap_view(view) || view->spill_epoch != epoch) return;
        syscall(SYS_nanosleep, &pause, NULL);
    }
}

/*
 * Before a write of *n bytes at `at` (-1: the descriptor's offset, or its end with O_APPEND)
 * through fd: the part that would grow a spill-area file past the room is cut from *n when
 * `partial_ok`, else refused whole. Returns -1 with errno ENOSPC when nothing may be written.
 */
static int sw_claim(int fd, off_t at, size_t *n, int partial_ok, struct sw_claim *claim) {
    claim->active = 0;
    struct spillway_slot_view view;
    if (*n == 0 || !sw_cap_view(&view)) return 0;
    int saved = errno;
    struct stat st;
    if (!sw_spill_file(fd, &st)) {
        errno = saved;
        return 0;
    }
    off_t start = at;
    if (start < 0) {
        long fl = syscall(SYS_fcntl, fd, F_GETFL);
        start = (fl >= 0 && (fl & O_APPEND)) ? st.st_size : (off_t)syscall(SYS_lseek, fd, 0, SEEK_CUR);
        if (start < 0) start = st.st_size;
    }
    uint64_t growth = spillway_cap_growth((uint64_t)start, (uint64_t)st.st_size, *n);
    uint64_t granted = spillway_cap_take(&sw_ledger, view.spill_limit, view.spill_used, view.spill_epoch, growth);
    if (granted < growth && spillway_cap_should_remeasure(&sw_ledger, view.spill_epoch)) {
        spillway_cap_refund(&sw_ledger, granted);
        sw_await_measurement(view.spill_epoch, &view);
        granted = spillway_cap_take(&sw_ledger, view.spill_limit, view.spill_used, view.spill_epoch, growth);
    }
    errno = saved;
    if (granted < growth) {
        size_t cut = (size_t)(growth - granted);
        if (!partial_ok || cut >= *n) {
            spillway_cap_refund(&sw_ledger, granted);
            sw_cannot_help_fd(fd, "the spill area is full (its partition's cap)", ENOSPC);
            errno = ENOSPC;
            return -1;
        }
        *n -= cut;
    }
    *claim = (struct sw_claim){.granted = granted, .start = start, .size = st.st_size, .active = 1};
    return 0;
}

/* After the write: give back what the claim did not use (`written` < 0: it failed). */
static void sw_settle(const struct sw_claim *claim, ssize_t written) {
    if (!claim->active) return;
    uint64_t used = written > 0 ? spillway_cap_growth((uint64_t)claim->start, (uint64_t)claim->size, (uint64_t)written) : 0;
    if (used < claim->granted) spillway_cap_refund(&sw_ledger, claim->granted - used);
}

/* The bytes a vector writes, read through copies that cannot fault: 0 for an unreadable
 * array or a count the kernel refuses (the real call then says EFAULT or EINVAL). */
static size_t sw_iov_bytes(const struct iovec *iov, int cnt) {
    size_t total = 0;
    struct iovec part[64];
    if (iov == NULL || cnt <= 0 || cnt > IOV_MAX) return 0;
    int saved = errno;
    for (int i = 0; i < cnt; i += 64) {
        int k = cnt - i < 64 ? cnt - i : 64;
        if (sw_copy_in(part, iov + i, (size_t)k * sizeof part[0]) != 0) {
            total = 0;
            break;
        }
        for (int j = 0; j < k; j++) total += part[j].iov_len;
    }
    errno = saved;
    return total;
}

/* ---- the hooks ----------------------------------------------------------- */

/* The descriptor the last sw_before_write of this thread reported about, and the report count
 * right after: a rescue of the same write that fails too is not reported a second time. */
static __thread int sw_before_report_fd = -1;
static __thread unsigned sw_before_report_mark;

/* Before a write while spilling: move a main-disk file out from under it. */
static void sw_before_write(int fd) {
    sw_before_report_fd = -1;
    if (sw_state() != SPILLWAY_STATE_SPILLING) return;
    int saved = errno;
    struct stat st;
    if (sw_main_file(fd, &st)) {
        unsigned mark = sw_reports();
        if (sw_take_over(fd, &st, 0) == 0) sw_charge_move(&st);
        else if (sw_reports() == mark) sw_cannot_help_fd(fd, "cannot move it to the spill area before writing; writing to the main disk", 0);
        if (sw_reports() != mark) {
            sw_before_report_fd = fd;
            sw_before_report_mark = sw_reports();
        }
    }
    errno = saved;
}

/* After a failed write: was it the quota, and could the file be moved? */
static int sw_rescued(int fd) {
    if (errno != EDQUOT && errno != ENOSPC) return 0;
    sw_ensure_init();
    int saved = errno;
    struct stat st;
    if (!sw_slot_trusted()) {
        if (sw_cfg.slot != NULL && sw_main_file(fd, &st))
            sw_cannot_help_fd(fd, "slot unreadable: a write past the quota is not rescued", saved);
        errno = saved;
        return 0;
    }
    /* Reported already by this write's sw_before_write: one line per write. */
    unsigned mark = sw_before_report_fd == fd && sw_before_report_mark == sw_reports() ? sw_reports() - 1 : sw_reports();
    int on_main = sw_main_file(fd, &st);
    int ok = on_main && sw_take_over(fd, &st, 1) == 0;
    if (ok) {
        sw_note_rescue();
        sw_charge_move(&st);
    } else if (on_main && sw_reports() == mark) {
        sw_cannot_help_fd(fd, "cannot move it to the spill area after a write failed", saved);
    }
    errno = saved;
    return ok;
}


/*
 * A writer hook: `count` names the byte count it writes (cut by the cap when `partial_ok`),
 * `at` where it writes (-1: the descriptor's offset); it returns the bytes written.
 */
#define SW_WRITER(ret, name, params, fd, at, count, partial_ok, args)              \
    SW_REAL_DECL(ret, name, params);                                               \
    SW_EXPORT ret name params {                                                    \
        struct sw_claim claim_ = {0};                                              \
        if (SW_UNLIKELY(!SW_IDLE())) {                                             \
            sw_before_write(fd);                                                   \
            size_t want_ = (count);                                                \
            if (sw_claim(fd, (at), &want_, (partial_ok), &claim_) != 0) return -1; \
            (count) = want_;                                                       \
        }                                                                          \
        ret r = SW_REAL(name) args;                                                \
        if (SW_UNLIKELY(r < 0) && sw_rescued(fd)) r = SW_REAL(name) args;         \
        sw_settle(&claim_, (ssize_t)r);                                            \
        return r;                                                                  \
    }

/* Vectors are written whole or refused: a cut would have to rewrite the caller's array. */
#define SW_VECTOR_WRITER(name, params, at, args)                               \
    SW_REAL_DECL(ssize_t, name, params);                                       \
    SW_EXPORT ssize_t name params {                                            \
        struct sw_claim claim_ = {0};                                          \
        if (SW_UNLIKELY(!SW_IDLE())) {                                         \
            sw_before_write(fd);                                               \
            size_t want_ = sw_iov_bytes(iov, cnt);                             \
            if (sw_claim(fd, (at), &want_, 0, &claim_) != 0) return -1;        \
        }                                                                      \
        ssize_t r = SW_REAL(name) args;                                        \
        if (SW_UNLIKELY(r < 0) && sw_rescued(fd)) r = SW_REAL(name) args;     \
        sw_settle(&claim_, r);                                                 \
        return r;                                                              \
    }

SW_WRITER(ssize_t, write, (int fd, const void *buf, size_t n), fd, -1, n, 1, (fd, buf, n))
SW_WRITER(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), fd, off, n, 1, (fd, buf, n, off))
SW_VECTOR_WRITER(writev, (int fd, const struct iovec *iov, int cnt), -1, (fd, iov, cnt))
SW_VECTOR_WRITER(pwritev, (int fd, const struct iovec *iov, int cnt, off_t off), off, (fd, iov, cnt, off))
SW_WRITER(ssize_t, copy_file_range, (int in, off_t *inoff, int fd, off_t *outoff, size_t n, unsigned int fl), fd,
          outoff ? *outoff : -1, n, 1, (in, inoff, fd, outoff, n, fl))
SW_WRITER(ssize_t, sendfile, (int fd, int in, off_t *off, size_t n), fd, -1, n, 1, (fd, in, off, n))

/* Growing a file by truncation makes a hole, which holds no blocks: not charged. */
SW_REAL_DECL(int, ftruncate, (int, off_t));
SW_EXPORT int ftruncate(int fd, off_t len) {
    if (SW_UNLIKELY(!SW_IDLE())) sw_before_write(fd);
    int r = SW_REAL(ftruncate)(fd, len);
    if (SW_UNLIKELY(r < 0) && sw_rescued(fd)) r = SW_REAL(ftruncate)(fd, len);
    return r;
}

/* Allocation is charged whole or refused; punching or zeroing a range is not charged. */
SW_REAL_DECL(int, fallocate, (int, int, off_t, off_t));
SW_EXPORT int fallocate(int fd, int mode, off_t off, off_t len) {
    struct sw_claim claim = {0};
    size_t want = (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) || len <= 0 ? 0 : (size_t)len;
    if (SW_UNLIKELY(!SW_IDLE())) {
        sw_before_write(fd);
        if (sw_claim(fd, off, &want, 0, &claim) != 0) return -1;
    }
    int r = SW_REAL(fallocate)(fd, mode, off, len);
    if (SW_UNLIKELY(r < 0) && sw_rescued(fd)) r = SW_REAL(fallocate)(fd, mode, off, len);
    sw_settle(&claim, r == 0 ? (ssize_t)want : -1);
    return r;
}

/* posix_fallocate returns the error number instead of setting errno. */
SW_REAL_DECL(int, posix_fallocate, (int, off_t, off_t));
SW_EXPORT int posix_fallocate(int fd, off_t off, off_t len) {
    struct sw_claim claim = {0};
    size_t want = len > 0 ? (size_t)len : 0;
    if (SW_UNLIKELY(!SW_IDLE())) {
        sw_before_write(fd);
        int saved = errno;
        int refused = sw_claim(fd, off, &want, 0, &claim) != 0;
        errno = saved;
        if (refused) return ENOSPC;
    }
    int rc = SW_REAL(posix_fallocate)(fd, off, len);
    if (SW_UNLIKELY(rc == EDQUOT || rc == ENOSPC)) {
        int saved = errno;
        errno = rc;
        if (sw_rescued(fd)) rc = SW_REAL(posix_fallocate)(fd, off, len);
        errno = saved;
    }
    sw_settle(&claim, rc == 0 ? (ssize_t)want : -1);
    return rc;
}

#ifdef __GLIBC__
SW_VECTOR_WRITER(pwritev2, (int fd, const struct iovec *iov, int cnt, off_t off, int fl), off, (fd, iov, cnt, off, fl))

/* LP64 glibc: the 64-bit names are the same functions. */
SW_EXPORT ssize_t pwrite64(int, const void *, size_t, off_t) __attribute__((alias("pwrite")));
SW_EXPORT ssize_t pwritev64(int, const struct iovec *, int, off_t) __attribute__((alias("pwritev")));
SW_EXPORT ssize_t pwritev64v2(int, const struct iovec *, int, off_t, int) __attribute__((alias("pwritev2")));
SW_EXPORT int ftruncate64(int, off_t) __attribute__((alias("ftruncate")));
SW_EXPORT int fallocate64(int, int, off_t, off_t) __attribute__((alias("fallocate")));
SW_EXPORT int posix_fallocate64(int, off_t, off_t) __attribute__((alias("posix_fallocate")));
SW_EXPORT ssize_t sendfile64(int, int, off_t *, size_t) __attribute__((alias("sendfile")));
#endif
