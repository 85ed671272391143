/*
 * report.c — talking to the supervisor: asking it for what this process may not do itself,
 * and saying when the library cannot help.
 *
 * The socket is the container's ask socket (SPILLWAY_ASK; wire format in spillway_slot.h).
 * Each request is one connection: socket, connect, send one message, for a question read one
 * reply, close. Raw system calls only (sock.c hooks the libc ones), a descriptor of the
 * library's own that lives for the call, close-on-exec, MSG_NOSIGNAL, and 5 s timeouts: a
 * supervisor that does not answer means the library cannot help, never a hung program.
 *
 * sw_cannot_help is the one place that says the library could not help: with SPILLWAY_DEBUG=1
 * it prints exactly one line "spillway: cannot help: PATH: REASON" to stderr (one write(2)),
 * and it tells the supervisor, which counts it for the container. The same report twice in a
 * row from one process (a program retrying the same write) is said once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

/* How many reports this thread made (callers compare before and after a step). */
static __thread unsigned sw_report_count;
/* A hash of the last report, to say a repeated one once. */
static uint64_t sw_last_report;

unsigned sw_reports(void) {
    return sw_report_count;
}

/* The text of the errnos the library meets; others as "errno N". */
const char *sw_errno_text(int err, char buf[24]) {
    switch (err) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case EEXIST: return "File exists";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case EINVAL: return "Invalid argument";
    case ENOSPC: return "No space left on device";
    case EDQUOT: return "Disk quota exceeded";
    case EROFS: return "Read-only file system";
    case ELOOP: return "Too many levels of symbolic links";
    case EXDEV: return "Invalid cross-device link";
    case ENAMETOOLONG: return "File name too long";
    case ECONNREFUSED: return "Connection refused";
    case EAGAIN: return "no answer in time";
    case EBUSY: return "Device or resource busy";
    case EIO: return "Input/output error";
    case EMFILE: return "Too many open files";
    case ETXTBSY: return "Text file busy";
    default: break;
    }
    unsigned v = (unsigned)err, n = 0;
    char digits[12];
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < sizeof digits);
    memcpy(buf, "errno ", 6);
    size_t at = 6;
    while (n > 0 && at < 23) buf[at++] = digits[--n];
    buf[at] = '\0';
    return buf;
}

/* Append `text` to out[0..*n) within cap - 1 bytes. */
static void sw_append(char *out, size_t *n, size_t cap, const char *text) {
    size_t len = strlen(text);
    if (*n + len >= cap) len = cap - 1 - *n;
    memcpy(out + *n, text, len);
    *n += len;
    out[*n] = '\0';
}

/* A connected descriptor of the ask socket, or -1 with errno. */
static int sw_ask_connect(void) {
    if (sw_cfg.ask[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval limit = {5, 0};
    syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(sw_cfg.ask);
    memcpy(addr.sun_path, sw_cfg.ask, len + 1);
    long rc;
    do {
        rc = syscall(SYS_connect, fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int err = errno;
        sw_sys_close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Fill a request of `kind` for `path` (and `reason`). */
static void sw_ask_fill(struct spillway_ask *m, unsigned kind, const char *path, const char *reason) {
    memset(m, 0, sizeof *m);
    m->magic = SPILLWAY_ASK_MAGIC;
    m->version = SPILLWAY_ASK_VERSION;
    m->kind = kind;
    size_t pl = strlen(path);
    if (pl >= sizeof m->path) pl = sizeof m->path - 1;
    memcpy(m->path, path, pl);
    m->path_len = (uint32_t)pl;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl >= sizeof m->reason) rl = sizeof m->reason - 1;
    if (rl) memcpy(m->reason, reason, rl);
    m->reason_len = (uint32_t)rl;
    struct spillway_slot_view view;
    if (sw_cfg.slot != NULL && !__atomic_load_n(&sw_cfg.slot_lost, __ATOMIC_ACQUIRE) &&
        spillway_slot_read(sw_cfg.slot, &view, 64))
        memcpy(m->container_id, view.container_id, sizeof m->container_id);
    m->container_id[sizeof m->container_id - 1] = '\0';
}

/* Send one request; with `reply`, wait for the answer. 0, or -1 with errno. */
static int sw_ask_send(const struct spillway_ask *m, struct spillway_ask_reply *reply) {
    int fd = sw_ask_connect();
    if (fd < 0) return -1;
    long sent;
    do {
        sent = syscall(SYS_sendto, fd, m, sizeof *m, MSG_NOSIGNAL, NULL, 0);
    } while (sent < 0 && errno == EINTR);
    int rc = sent == (long)sizeof *m ? 0 : -1;
    if (rc == 0 && reply != NULL) {
        long got;
        do {
            got = syscall(SYS_recvfrom, fd, reply, sizeof *reply, 0, NULL, NULL);
        } while (got < 0 && errno == EINTR);
        if (got != (long)sizeof *reply || reply->magic != SPILLWAY_ASK_MAGIC || reply->version != SPILLWAY_ASK_VERSION) {
            if (got >= 0) errno = EPROTO;
            rc = -1;
        }
    }
    int err = errno;
    sw_sys_close(fd);
    errno = err;
    return rc;
}

int sw_ask_parents(const char *relative) {
    int saved = errno;
    struct spillway_ask m;
    struct spillway_ask_reply reply;
    sw_ask_fill(&m, SPILLWAY_ASK_PARENTS, relative, NULL);
    if (sw_ask_send(&m, &reply) != 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) errno = EAGAIN;
        return -2;
    }
    if (reply.error != 0) {
        errno = reply.error > 0 ? reply.error : EPROTO;
        return -1;
    }
    errno = saved;
    return 0;
}

void sw_cannot_help(const char *path, const char *reason, int err) {
    int saved = errno;
    char why[SPILLWAY_ASK_REASON_MAX];
    size_t n = 0;
    why[0] = '\0';
    sw_append(why, &n, sizeof why, reason);
    if (err != 0) {
        char digits[24];
        sw_append(why, &n, sizeof why, ": ");
        sw_append(why, &n, sizeof why, sw_errno_text(err, digits));
    }
    /* FNV-1a of path and reason: the same report twice in a row is said once. */
    uint64_t hash = 1469598103934665603ull;
    for (const char *p = path; *p; p++) hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = why; *p; p++) hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
    sw_report_count++;
    if (__atomic_exchange_n(&sw_last_report, hash, __ATOMIC_ACQ_REL) == hash) {
        errno = saved;
        return;
    }
    if (sw_cfg.debug) {
        char line[PATH_MAX + SPILLWAY_ASK_REASON_MAX + 32];
        size_t l = 0;
        line[0] = '\0';
        sw_append(line, &l, sizeof line - 1, "spillway: cannot help: ");
        sw_append(line, &l, sizeof line - 1, path);
        sw_append(line, &l, sizeof line - 1, ": ");
        sw_append(line, &l, sizeof line - 1, why);
        line[l++] = '\n';
        long ignored = syscall(SYS_write, 2, line, l);
        (void)ignored;
    }
    struct spillway_ask m;
    sw_ask_fill(&m, SPILLWAY_ASK_CANNOT_HELP, path, why);
    sw_ask_send(&m, NULL);
    errno = saved;
}

void sw_cannot_help_fd(int fd, const char *reason, int err) {
    char link[32], name[PATH_MAX];
    sw_proc_fd_path(fd, link);
    ssize_t got = sw_sys_readlinkat(AT_FDCWD, link, name, sizeof name - 1);
    if (got <= 0) {
        memcpy(name, link, strlen(link) + 1);
    } else {
        name[got] = '\0';
        sw_unspill_path(name, sizeof name);
    }
    sw_cannot_help(name, reason, err);
}

void sw_cannot_help_spill(const char *spill_path, const char *reason, int err) {
    char name[PATH_MAX];
    size_t len = strlen(spill_path);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, spill_path, len);
    name[len] = '\0';
    sw_unspill_path(name, sizeof name);
    sw_cannot_help(name, reason, err);
}
