/*
 * sock.c — Unix socket names: bind, connect, __connect, sendto, sendmsg and
 * sendmmsg with a pathname address resolve it in the union; getsockname,
 * getpeername, accept, accept4, recvfrom, __recvfrom_chk and recvmsg give back
 * the name the program used, never the spill area's.
 *
 * A socket's name is a name like any other (docs/SHIM.md, "Unix sockets"):
 * bind creates it where a new file is created in this state (sw_name_create),
 * connect and the senders find it where it lives (sw_name_lookup). The
 * senders call libc first with the program's own address and look the name up
 * only when that fails with ENOENT, so a call on a name the main disk holds,
 * and every call of another family, costs nothing more than while `normal`.
 * bind must know the place first: it reads the address (one copy) only while
 * the library is active.
 *
 * The kernel remembers the address a socket was bound with and hands it back
 * (getsockname, and the peer's getpeername, accept, recvfrom). For a socket
 * bound elsewhere the library keeps the program's own name in a small table of
 * this process, keyed by the address it bound with; an address of another
 * process in the spill area is given back as the union's name for it. When the
 * spill area's name does not fit in sun_path (108 bytes), the socket is bound
 * or reached through /proc/self/fd/N/NAME, N a descriptor of the parent
 * directory held only for the call.
 *
 * Abstract and unnamed addresses, and every other family, go to libc as they
 * are. Addresses are read from the program only with sw_copy_in and written
 * back only with sw_copy_out: a bad pointer gets the kernel's EFAULT from the
 * real call.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "real.h"

/* glibc declares the address arguments as transparent unions under _GNU_SOURCE. */
#if defined(__GLIBC__) && defined(__USE_GNU)
#define SW_SA_ARG __SOCKADDR_ARG
#define SW_CSA_ARG __CONST_SOCKADDR_ARG
#define SW_SA(a) ((a).__sockaddr__)
#define SW_MMSG_FLAGS int
#else
#define SW_SA_ARG struct sockaddr *
#define SW_CSA_ARG const struct sockaddr *
#define SW_SA(a) (a)
#define SW_MMSG_FLAGS unsigned int
#endif

#define SW_SUN_OFF ((socklen_t)offsetof(struct sockaddr_un, sun_path))
#define SW_SUN_MAX ((socklen_t)sizeof(((struct sockaddr_un *)0)->sun_path))

SW_REAL_DECL(int, bind, (int, const struct sockaddr *, socklen_t));
SW_REAL_DECL(int, connect, (int, const struct sockaddr *, socklen_t));
SW_REAL_DECL(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t));
SW_REAL_DECL(ssize_t, sendmsg, (int, const struct msghdr *, int));
SW_REAL_DECL(int, sendmmsg, (int, struct mmsghdr *, unsigned int, SW_MMSG_FLAGS));
SW_REAL_DECL(int, getsockname, (int, struct sockaddr *, socklen_t *));
SW_REAL_DECL(int, getpeername, (int, struct sockaddr *, socklen_t *));
SW_REAL_DECL(int, accept, (int, struct sockaddr *, socklen_t *));
SW_REAL_DECL(int, accept4, (int, struct sockaddr *, socklen_t *, int));
SW_REAL_DECL(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *));
SW_REAL_DECL(ssize_t, recvmsg, (int, struct msghdr *, int));

/* ---- the names this process bound elsewhere ----------------------------- */

/*
 * One socket this process bound at another name than its own: the address the
 * kernel holds, and the program's name. Each slot is a sequence lock (odd while
 * written); a writer that finds a slot busy takes another, and a reader copies
 * and checks the count again, so no call waits for another, signal handlers
 * included.
 */
struct sw_sock_name {
    unsigned seq;
    unsigned char klen, plen; /* 0: free */
    char kernel[108];
    char program[108];
};

#define SW_SOCK_NAMES 64
static struct sw_sock_name sw_names[SW_SOCK_NAMES];
static unsigned sw_names_next;

/* Set once this process has named a Unix socket path in bind, or reached one
 * through the library; sw_names_used once the table holds a name. */
static int sw_sock_seen;
static int sw_names_used;

/* Must the calls that give back addresses look at them? Names of ours can come
 * back in any state; other processes' names in the spill area only while the
 * library is active, and only to a process that uses Unix socket names. Until
 * then those calls are a load or two and libc's call. */
static inline int sw_sock_watching(void) {
    return __atomic_load_n(&sw_names_used, __ATOMIC_RELAXED) ||
           (__atomic_load_n(&sw_sock_seen, __ATOMIC_RELAXED) && !SW_IDLE());
}

static inline void sw_sock_note_seen(void) {
    if (!__atomic_load_n(&sw_sock_seen, __ATOMIC_RELAXED)) __atomic_store_n(&sw_sock_seen, 1, __ATOMIC_RELAXED);
}

/* Copy slot i into *out when no writer changed it meanwhile: 1 if copied. */
static int sw_names_read(unsigned i, struct sw_sock_name *out) {
    for (int tries = 0; tries < 4; tries++) {
        unsigned s = __atomic_load_n(&sw_names[i].seq, __ATOMIC_ACQUIRE);
        if (s & 1u) continue;
        memcpy(out, &sw_names[i], sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&sw_names[i].seq, __ATOMIC_RELAXED) == s) return 1;
    }
    return 0;
}

/* The slot whose kernel address is kernel[0..klen), or -1. */
static int sw_names_find(const char *kernel, size_t klen, struct sw_sock_name *found) {
    for (unsigned i = 0; i < SW_SOCK_NAMES; i++) {
        if (!sw_names_read(i, found)) continue;
        if (found->klen == klen && klen != 0 && memcmp(found->kernel, kernel, klen) == 0) return (int)i;
    }
    return -1;
}

/* Write slot i (kernel, program; plen 0 frees it) if no one else is writing it: 1 if written. */
static int sw_names_put(unsigned i, const char *kernel, size_t klen, const char *program, size_t plen) {
    unsigned s = __atomic_load_n(&sw_names[i].seq, __ATOMIC_RELAXED);
    if ((s & 1u) || !__atomic_compare_exchange_n(&sw_names[i].seq, &s, s + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    struct sw_sock_name *e = &sw_names[i];
    e->klen = plen ? (unsigned char)klen : 0;
    e->plen = (unsigned char)plen;
    memcpy(e->kernel, kernel, klen);
    memcpy(e->program, program, plen);
    __atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
    return 1;
}

/* Remember that the socket bound at kernel[0..klen) is program[0..plen) to the program. */
static void sw_names_remember(const char *kernel, size_t klen, const char *program, size_t plen) {
    struct sw_sock_name e;
    if (!__atomic_load_n(&sw_names_used, __ATOMIC_RELAXED)) __atomic_store_n(&sw_names_used, 1, __ATOMIC_RELAXED);
    int at = sw_names_find(kernel, klen, &e);
    if (at >= 0 && sw_names_put((unsigned)at, kernel, klen, program, plen)) return;
    for (unsigned i = 0; i < SW_SOCK_NAMES; i++) {
        if (sw_names_read(i, &e) && e.plen == 0 && sw_names_put(i, kernel, klen, program, plen)) return;
    }
    /* Full: the oldest gives way. */
    for (unsigned tries = 0; tries < SW_SOCK_NAMES; tries++) {
        unsigned i = __atomic_fetch_add(&sw_names_next, 1u, __ATOMIC_RELAXED) % SW_SOCK_NAMES;
        if (sw_names_put(i, kernel, klen, program, plen)) return;
    }
}

/* The program bound kernel[0..klen) itself: a record of ours under that address is stale. */
static void sw_names_forget(const char *kernel, size_t klen) {
    struct sw_sock_name e;
    if (!__atomic_load_n(&sw_names_used, __ATOMIC_RELAXED)) return;
    int at = sw_names_find(kernel, klen, &e);
    if (at >= 0) sw_names_put((unsigned)at, kernel, klen, "", 0);
}

/* ---- addresses ------------------------------------------------------------ */

/*
 * Read the program's address (len bytes at addr): 1 with its path in path[]
 * (NUL-terminated; the kernel ends it at the first NUL or after len bytes) and
 * the copy in *copy, when it is an AF_UNIX pathname address the kernel would
 * look at; 0 otherwise (another family, abstract, unnamed, a length the kernel
 * refuses, or unreadable: the real call answers). Keeps errno.
 */
static int sw_sun_read(const struct sockaddr *addr, socklen_t len, struct sockaddr_un *copy, char path[SW_SUN_MAX + 1]) {
    if (addr == NULL || len <= SW_SUN_OFF || len > (socklen_t)sizeof *copy) return 0;
    int saved = errno;
    int ok = sw_copy_in(copy, addr, len) == 0;
    errno = saved;
    if (!ok || copy->sun_family != AF_UNIX || copy->sun_path[0] == '\0') return 0;
    size_t n = strnlen(copy->sun_path, len - SW_SUN_OFF);
    memcpy(path, copy->sun_path, n);
    path[n] = '\0';
    return 1;
}

/* An address (and its length) for the absolute name `place`, into *out; the
 * parent's descriptor in *tmpfd when the name goes through /proc/self/fd (the
 * caller closes it after the call). 0 when it fits neither way. Keeps errno. */
static socklen_t sw_sun_for(const char *place, struct sockaddr_un *out, int *tmpfd) {
    size_t n = strlen(place);
    *tmpfd = -1;
    memset(out, 0, sizeof *out);
    out->sun_family = AF_UNIX;
    if (n < SW_SUN_MAX) {
        memcpy(out->sun_path, place, n + 1);
        return SW_SUN_OFF + (socklen_t)n + 1;
    }
    const char *slash = strrchr(place, '/');
    if (slash == NULL || slash == place || slash[1] == '\0' || (size_t)(slash - place) >= PATH_MAX) return 0;
    char parent[PATH_MAX];
    memcpy(parent, place, (size_t)(slash - place));
    parent[slash - place] = '\0';
    int saved = errno;
    int fd = sw_sys_openat(AT_FDCWD, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    errno = saved;
    if (fd < 0) return 0;
    char via[32];
    sw_proc_fd_path(fd, via);
    size_t vl = strlen(via), nl = strlen(slash); /* slash: "/NAME" */
    if (vl + nl >= SW_SUN_MAX) {
        sw_sys_close(fd);
        errno = saved;
        return 0;
    }
    memcpy(out->sun_path, via, vl);
    memcpy(out->sun_path + vl, slash, nl + 1);
    *tmpfd = fd;
    return SW_SUN_OFF + (socklen_t)(vl + nl) + 1;
}

static void sw_sun_done(int tmpfd) {
    if (tmpfd >= 0) {
        int saved = errno;
        sw_sys_close(tmpfd);
        errno = saved;
    }
}

/*
 * After a call that gave back an address at addr (room for cap bytes; the
 * kernel's length now in *alen): when it is one this process bound at another
 * name, or a name in the spill area, give the program its own name, with the
 * kernel's truncation (min(cap, length) bytes written, the whole length in
 * *alen). refetch: the call again into the library's buffer, for when the
 * program's room held only part of the address. Keeps errno.
 */
static void sw_sun_give_back(struct sockaddr *addr, socklen_t *alen, socklen_t cap, int fd,
                             int (*refetch)(int, struct sockaddr *, socklen_t *)) {
    int saved = errno;
    socklen_t got;
    struct sockaddr_un k;
    if (addr == NULL || sw_copy_in(&got, alen, sizeof got) != 0) goto done;
    if (got <= SW_SUN_OFF + 1 || got > (socklen_t)sizeof k) goto done;
    if (cap >= got) {
        if (sw_copy_in(&k, addr, got) != 0) goto done;
    } else {
        socklen_t again = (socklen_t)sizeof k;
        if (refetch == NULL || refetch(fd, (struct sockaddr *)&k, &again) != 0 || again != got) goto done;
    }
    if (k.sun_family != AF_UNIX || k.sun_path[0] == '\0') goto done;
    size_t klen = strnlen(k.sun_path, got - SW_SUN_OFF);
    size_t extra = (size_t)(got - SW_SUN_OFF) - klen; /* the kernel's NUL, if it counts one */
    struct sw_sock_name e;
    char name[PATH_MAX];
    size_t nlen;
    if (sw_names_find(k.sun_path, klen, &e) >= 0) {
        nlen = e.plen;
        memcpy(name, e.program, nlen);
    } else {
        /* Another process's socket in the spill area: the union's name for it. */
        memcpy(name, k.sun_path, klen);
        name[klen] = '\0';
        if (sw_unspill_path(name, sizeof name) != 1) goto done;
        nlen = strlen(name);
        if (nlen > SW_SUN_MAX) goto done;
    }
    struct sockaddr_un u;
    memset(&u, 0, sizeof u);
    u.sun_family = AF_UNIX;
    memcpy(u.sun_path, name, nlen);
    socklen_t ulen = SW_SUN_OFF + (socklen_t)(nlen + extra);
    if (ulen > (socklen_t)sizeof u) ulen = (socklen_t)sizeof u;
    if (sw_copy_out(addr, &u, cap < ulen ? cap : ulen) == 0) sw_copy_out(alen, &ulen, sizeof ulen);
done:
    errno = saved;
}

/* The program's room for an address at alen (before the call): 1 when readable. */
static int sw_sun_room(const struct sockaddr *addr, socklen_t *alen, socklen_t *cap) {
    if (addr == NULL || alen == NULL) return 0;
    int saved = errno;
    int ok = sw_copy_in(cap, alen, sizeof *cap) == 0;
    errno = saved;
    return ok;
}

/* ---- the calls that name a socket --------------------------------------- */

static int sw_real_bind_call(int fd, const struct sockaddr *addr, socklen_t len) {
    __typeof__(sw_real_bind) fn = SW_REAL(bind);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_bind, fd, addr, len);
    return fn(fd, addr, len);
}

static int sw_real_connect_call(int fd, const struct sockaddr *addr, socklen_t len) {
    __typeof__(sw_real_connect) fn = SW_REAL(connect);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_connect, fd, addr, len);
    return fn(fd, addr, len);
}

static ssize_t sw_real_sendto_call(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
    __typeof__(sw_real_sendto) fn = SW_REAL(sendto);
    if (SW_UNLIKELY(fn == NULL)) return (ssize_t)syscall(SYS_sendto, fd, buf, n, flags, addr, len);
    return fn(fd, buf, n, flags, addr, len);
}

static ssize_t sw_real_sendmsg_call(int fd, const struct msghdr *msg, int flags) {
    __typeof__(sw_real_sendmsg) fn = SW_REAL(sendmsg);
    if (SW_UNLIKELY(fn == NULL)) return (ssize_t)syscall(SYS_sendmsg, fd, msg, flags);
    return fn(fd, msg, flags);
}

/* What bind asks for, for sw_create_node's op. */
struct sw_bind {
    int fd;
    const struct sockaddr *addr; /* the program's */
    socklen_t len;
    const char *path; /* the program's name (our copy): the op's original arguments */
};

static int sw_bind_op(int dirfd, const char *path, void *ctx) {
    const struct sw_bind *b = ctx;
    (void)dirfd;
    if (path == b->path) {
        int rc = sw_real_bind_call(b->fd, b->addr, b->len);
        if (rc == 0) sw_names_forget(b->path, strlen(b->path));
        return rc;
    }
    struct sockaddr_un there;
    int tmpfd;
    socklen_t tl = sw_sun_for(path, &there, &tmpfd);
    if (tl == 0) return sw_real_bind_call(b->fd, b->addr, b->len); /* fits nowhere: the kernel's answer */
    int rc = sw_real_bind_call(b->fd, (const struct sockaddr *)&there, tl);
    sw_sun_done(tmpfd);
    if (rc == 0) {
        int saved = errno;
        sw_names_remember(there.sun_path, strlen(there.sun_path), b->path, strlen(b->path));
        errno = saved;
    }
    return rc;
}

SW_EXPORT int bind(int fd, SW_CSA_ARG addr_arg, socklen_t len) {
    const struct sockaddr *addr = SW_SA(addr_arg);
    struct sockaddr_un copy;
    char path[SW_SUN_MAX + 1];
    struct sw_bind b = {fd, addr, len, path};
    if (__builtin_expect(SW_IDLE(), 1)) {
        /* While `normal` the address is read only when the table may hold its name, or when
         * the main disk is full: a socket is a new name too, made in the spill area then. */
        if (SW_UNLIKELY(__atomic_load_n(&sw_names_used, __ATOMIC_RELAXED)) && sw_sun_read(addr, len, &copy, path))
            return SW_CREATE_RETRY(sw_bind_op(AT_FDCWD, path, &b), AT_FDCWD, path, sw_bind_op, &b);
        int rc = sw_real_bind_call(fd, addr, len);
        if (SW_UNLIKELY(rc < 0) && (errno == EDQUOT || errno == ENOSPC) && sw_sun_read(addr, len, &copy, path))
            rc = sw_create_retry(rc, AT_FDCWD, path, sw_bind_op, &b);
        return rc;
    }
    /* Active: the one look at the address (a copy; bind is made once a socket). */
    if (!sw_sun_read(addr, len, &copy, path)) return sw_real_bind_call(fd, addr, len);
    sw_sock_note_seen();
    return sw_create_node(AT_FDCWD, path, sw_bind_op, &b);
}

/*
 * A call that named a socket with the program's address (len bytes at addr)
 * failed with ENOENT: where the union finds that name, into *there. 1 when it
 * is an AF_UNIX path living where the address does not reach; the caller
 * closes *tmpfd after its call (sw_sun_done). Keeps errno.
 */
static int sw_sun_elsewhere(const struct sockaddr *addr, socklen_t len, struct sockaddr_un *there, socklen_t *tl, int *tmpfd) {
    struct sockaddr_un copy;
    char path[SW_SUN_MAX + 1];
    char alt[PATH_MAX];
    int use_dirfd;
    if (!sw_sun_read(addr, len, &copy, path)) return 0;
    int saved = errno;
    const char *use = sw_name_lookup(AT_FDCWD, path, 1, alt, &use_dirfd);
    int found = use != path && (*tl = sw_sun_for(use, there, tmpfd)) != 0;
    if (found) sw_sock_note_seen();
    errno = saved;
    return found;
}

/* The library is active and a call naming a socket failed with ENOENT. */
static inline int sw_sun_retry(long rc) {
    return SW_UNLIKELY(rc < 0) && errno == ENOENT && !SW_IDLE();
}

SW_EXPORT int connect(int fd, SW_CSA_ARG addr_arg, socklen_t len) {
    const struct sockaddr *addr = SW_SA(addr_arg);
    int rc = sw_real_connect_call(fd, addr, len);
    struct sockaddr_un there;
    socklen_t tl;
    int tmpfd;
    if (!sw_sun_retry(rc) || !sw_sun_elsewhere(addr, len, &there, &tl, &tmpfd)) return rc;
    rc = sw_real_connect_call(fd, (const struct sockaddr *)&there, tl);
    sw_sun_done(tmpfd);
    return rc;
}

#ifdef __GLIBC__
int __connect(int fd, SW_CSA_ARG addr, socklen_t len);
SW_EXPORT int __connect(int fd, SW_CSA_ARG addr, socklen_t len) {
    return connect(fd, addr, len);
}
#endif

SW_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, SW_CSA_ARG addr_arg, socklen_t len) {
    const struct sockaddr *addr = SW_SA(addr_arg);
    ssize_t rc = sw_real_sendto_call(fd, buf, n, flags, addr, len);
    struct sockaddr_un there;
    socklen_t tl;
    int tmpfd;
    if (!sw_sun_retry(rc) || !sw_sun_elsewhere(addr, len, &there, &tl, &tmpfd)) return rc;
    rc = sw_real_sendto_call(fd, buf, n, flags, (const struct sockaddr *)&there, tl);
    sw_sun_done(tmpfd);
    return rc;
}

/* The program's msghdr at msg, read: 1 when readable. Keeps errno. */
static int sw_msg_read(const struct msghdr *msg, struct msghdr *mh) {
    int saved = errno;
    int ok = sw_copy_in(mh, msg, sizeof *mh) == 0;
    errno = saved;
    return ok;
}

/* sendmsg of the program's msghdr at msg failed with rc, ENOENT: send it again
 * to where the union finds its name. */
static ssize_t sw_sendmsg_elsewhere(ssize_t rc, int fd, const struct msghdr *msg, int flags) {
    struct msghdr mh;
    struct sockaddr_un there;
    socklen_t tl;
    int tmpfd;
    if (!sw_msg_read(msg, &mh) || !sw_sun_elsewhere(mh.msg_name, mh.msg_namelen, &there, &tl, &tmpfd)) return rc;
    mh.msg_name = &there;
    mh.msg_namelen = tl;
    rc = sw_real_sendmsg_call(fd, &mh, flags);
    sw_sun_done(tmpfd);
    return rc;
}

SW_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    ssize_t rc = sw_real_sendmsg_call(fd, msg, flags);
    if (!sw_sun_retry(rc)) return rc;
    return sw_sendmsg_elsewhere(rc, fd, msg, flags);
}

static int sw_real_sendmmsg_call(int fd, struct mmsghdr *vec, unsigned int vlen, SW_MMSG_FLAGS flags) {
    __typeof__(sw_real_sendmmsg) fn = SW_REAL(sendmmsg);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_sendmmsg, fd, vec, vlen, flags);
    return fn(fd, vec, vlen, flags);
}

/* Does message m name a socket that lives where its address does not reach? */
static int sw_mmsg_elsewhere(const struct mmsghdr *m) {
    struct msghdr mh;
    struct sockaddr_un there;
    socklen_t tl;
    int tmpfd;
    if (!sw_msg_read(&m->msg_hdr, &mh) || !sw_sun_elsewhere(mh.msg_name, mh.msg_namelen, &there, &tl, &tmpfd)) return 0;
    sw_sun_done(tmpfd);
    return 1;
}

/*
 * The kernel stops a batch at the first message it cannot send: with none sent
 * it fails with that message's error, after some it returns their count. A
 * message whose name lives where its address does not reach is sent there on
 * its own, and the batch goes on after it.
 */
SW_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, SW_MMSG_FLAGS flags) {
    int rc = sw_real_sendmmsg_call(fd, vec, vlen, flags);
    int partial = rc > 0 && (unsigned)rc < vlen;
    if (__builtin_expect(!partial && !sw_sun_retry(rc), 1)) return rc;
    if (partial && (SW_IDLE() || !sw_mmsg_elsewhere(vec + rc))) return rc;
    int saved = errno;
    unsigned sent = rc > 0 ? (unsigned)rc : 0;
    while (sent < vlen) {
        /* Message `sent` names a socket elsewhere (or failed with ENOENT). */
        struct mmsghdr *m = vec + sent;
        ssize_t one = sw_sendmsg_elsewhere(-1, fd, &m->msg_hdr, (int)flags);
        if (one < 0) {
            if (sent == 0) return -1;
            break;
        }
        unsigned int got = (unsigned int)one;
        sw_copy_out(&m->msg_len, &got, sizeof got);
        if (++sent == vlen) break;
        int more = sw_real_sendmmsg_call(fd, vec + sent, vlen - sent, flags);
        if (more < 0) {
            if (errno == ENOENT) continue;
            break;
        }
        sent += (unsigned)more;
        if (sent == vlen || !sw_mmsg_elsewhere(vec + sent)) break;
    }
    errno = saved;
    return (int)sent;
}

/* ---- the calls that give a name back ------------------------------------ */

static int sw_real_getsockname_call(int fd, struct sockaddr *addr, socklen_t *alen) {
    __typeof__(sw_real_getsockname) fn = SW_REAL(getsockname);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_getsockname, fd, addr, alen);
    return fn(fd, addr, alen);
}

static int sw_real_getpeername_call(int fd, struct sockaddr *addr, socklen_t *alen) {
    __typeof__(sw_real_getpeername) fn = SW_REAL(getpeername);
    if (SW_UNLIKELY(fn == NULL)) return (int)syscall(SYS_getpeername, fd, addr, alen);
    return fn(fd, addr, alen);
}

/* getsockname and getpeername are rare: they look whenever the library is active. */
static inline int sw_sock_watching_names(void) {
    return __atomic_load_n(&sw_names_used, __ATOMIC_RELAXED) || !SW_IDLE();
}

/* getsockname or getpeername (call), the program's name given back. */
static int sw_sock_name_of(int fd, struct sockaddr *addr, socklen_t *alen, int (*call)(int, struct sockaddr *, socklen_t *)) {
    socklen_t cap;
    if (__builtin_expect(!sw_sock_watching_names(), 1) || !sw_sun_room(addr, alen, &cap)) return call(fd, addr, alen);
    int rc = call(fd, addr, alen);
    if (rc == 0) sw_sun_give_back(addr, alen, cap, fd, call);
    return rc;
}

SW_EXPORT int getsockname(int fd, SW_SA_ARG addr, socklen_t *alen) {
    return sw_sock_name_of(fd, SW_SA(addr), alen, sw_real_getsockname_call);
}

SW_EXPORT int getpeername(int fd, SW_SA_ARG addr, socklen_t *alen) {
    return sw_sock_name_of(fd, SW_SA(addr), alen, sw_real_getpeername_call);
}

static int sw_real_accept4_call(int fd, struct sockaddr *addr, socklen_t *alen, int flags, int four) {
    if (!four) {
        __typeof__(sw_real_accept) fn = SW_REAL(accept);
        if (__builtin_expect(fn != NULL, 1)) return fn(fd, addr, alen);
    } else {
        __typeof__(sw_real_accept4) fn = SW_REAL(accept4);
        if (__builtin_expect(fn != NULL, 1)) return fn(fd, addr, alen, flags);
    }
    return (int)syscall(SYS_accept4, fd, addr, alen, flags);
}

static int sw_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags, int four) {
    socklen_t cap;
    if (__builtin_expect(!sw_sock_watching(), 1) || !sw_sun_room(addr, alen, &cap))
        return sw_real_accept4_call(fd, addr, alen, flags, four);
    int rc = sw_real_accept4_call(fd, addr, alen, flags, four);
    if (rc >= 0) sw_sun_give_back(addr, alen, cap, -1, NULL);
    return rc;
}

SW_EXPORT int accept(int fd, SW_SA_ARG addr, socklen_t *alen) {
    return sw_accept(fd, SW_SA(addr), alen, 0, 0);
}

SW_EXPORT int accept4(int fd, SW_SA_ARG addr, socklen_t *alen, int flags) {
    return sw_accept(fd, SW_SA(addr), alen, flags, 1);
}

static ssize_t sw_real_recvfrom_call(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen) {
    __typeof__(sw_real_recvfrom) fn = SW_REAL(recvfrom);
    if (SW_UNLIKELY(fn == NULL)) return (ssize_t)syscall(SYS_recvfrom, fd, buf, n, flags, addr, alen);
    return fn(fd, buf, n, flags, addr, alen);
}

SW_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, SW_SA_ARG addr_arg, socklen_t *alen) {
    struct sockaddr *addr = SW_SA(addr_arg);
    socklen_t cap;
    if (__builtin_expect(!sw_sock_watching(), 1) || !sw_sun_room(addr, alen, &cap))
        return sw_real_recvfrom_call(fd, buf, n, flags, addr, alen);
    ssize_t rc = sw_real_recvfrom_call(fd, buf, n, flags, addr, alen);
    if (rc >= 0) sw_sun_give_back(addr, alen, cap, -1, NULL);
    return rc;
}

#ifdef __GLIBC__
/* The fortified recvfrom (_FORTIFY_SOURCE): glibc's calls its internal recvfrom. */
SW_REAL_DECL(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *));
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr, socklen_t *alen);

SW_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr, socklen_t *alen) {
    if (SW_UNLIKELY(n > buflen)) {
        __typeof__(sw_real___recvfrom_chk) fn = SW_REAL(__recvfrom_chk);
        if (fn != NULL) return fn(fd, buf, n, buflen, flags, addr, alen); /* libc's overflow report */
    }
    return recvfrom(fd, buf, n, flags, addr, alen);
}
#endif

static ssize_t sw_real_recvmsg_call(int fd, struct msghdr *msg, int flags) {
    __typeof__(sw_real_recvmsg) fn = SW_REAL(recvmsg);
    if (SW_UNLIKELY(fn == NULL)) return (ssize_t)syscall(SYS_recvmsg, fd, msg, flags);
    return fn(fd, msg, flags);
}

SW_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
    struct msghdr before;
    if (__builtin_expect(!sw_sock_watching(), 1) || !sw_msg_read(msg, &before) || before.msg_name == NULL)
        return sw_real_recvmsg_call(fd, msg, flags);
    ssize_t rc = sw_real_recvmsg_call(fd, msg, flags);
    if (rc >= 0) sw_sun_give_back(before.msg_name, &msg->msg_namelen, before.msg_namelen, -1, NULL);
    return rc;
}
