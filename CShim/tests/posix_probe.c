/*
 * posix_probe.c — POSIX fidelity checks for the parity tests: each class of
 * issue 16 makes a set of calls and prints one line per call, its result and
 * errno ("open(b.txt/x): -1 ENOTDIR"), so that the run without the library,
 * through it in every state and through the FUSE union print the same.
 *
 * Usage: posix-probe CLASS ARGS...
 *   calls PATH...       every path-taking call on each PATH
 *   look PATH...        the calls of `calls` that change nothing but attributes
 *   efault              every path-taking call with unreadable pointers
 *   flags PATH          calls with flag bits the kernel does not know
 *   long DIR            a chain of directories under DIR, then calls on
 *                       relative paths of 4,095 and 4,096 bytes from DIR
 *   dots DIR            rename, rmdir, unlink, link, mkdir of DIR/. and DIR/..
 *   unlinked PATH       I/O on PATH (made if missing) after unlinking it while
 *                       open, and on a file replaced by rename while open
 *   sockets DIR         AF_UNIX stream and datagram sockets bound in DIR/sd
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/time.h>
#include <utime.h>

#include "bad_pointers.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static const char *errname(int e) {
    static const struct { int e; const char *n; } names[] = {
        {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {EIO, "EIO"}, {EBADF, "EBADF"}, {EAGAIN, "EAGAIN"},
        {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"}, {EEXIST, "EEXIST"},
        {EXDEV, "EXDEV"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"}, {EINVAL, "EINVAL"},
        {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"}, {ETXTBSY, "ETXTBSY"}, {EFBIG, "EFBIG"}, {ENOSPC, "ENOSPC"},
        {ESPIPE, "ESPIPE"}, {EROFS, "EROFS"}, {EMLINK, "EMLINK"}, {ERANGE, "ERANGE"}, {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENOSYS, "ENOSYS"}, {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"}, {ENODATA, "ENODATA"}, {EOPNOTSUPP, "EOPNOTSUPP"},
        {EADDRINUSE, "EADDRINUSE"}, {ECONNREFUSED, "ECONNREFUSED"}, {ENOTSOCK, "ENOTSOCK"}, {EDQUOT, "EDQUOT"},
        {ESTALE, "ESTALE"}, {ENOEXEC, "ENOEXEC"}, {ENXIO, "ENXIO"}, {ENOTCONN, "ENOTCONN"}, {EDESTADDRREQ, "EDESTADDRREQ"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].e == e) return names[i].n;
    return "E?";
}

static void show(const char *call, const char *arg, long rc) {
    int e = errno;
    if (rc < 0) {
        printf("%s(%s): -1 %s\n", call, arg, errname(e));
    } else {
        printf("%s(%s): %ld\n", call, arg, rc);
    }
    fflush(stdout);
}

static long closing(long fd) {
    if (fd >= 0) close((int)fd);
    return fd >= 0 ? 0 : fd;
}

/* Every path-taking call that does not create, on one path. */
static void lookups(const char *label, const char *p) {
    struct stat st;
    char buf[256];
    errno = 0;
    show("open", label, closing(open(p, O_RDONLY)));
    show("open-wr", label, closing(open(p, O_WRONLY)));
    show("openat", label, closing(openat(AT_FDCWD, p, O_RDONLY | O_NOFOLLOW)));
    show("open-dir", label, closing(open(p, O_RDONLY | O_DIRECTORY)));
    show("stat", label, stat(p, &st));
    show("lstat", label, lstat(p, &st));
    show("fstatat", label, fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW));
    show("access", label, access(p, F_OK));
    show("faccessat", label, faccessat(AT_FDCWD, p, R_OK, AT_EACCESS));
    show("readlink", label, readlink(p, buf, sizeof buf));
    show("chmod", label, chmod(p, 0644));
    show("chown", label, chown(p, (uid_t)-1, (gid_t)-1));
    show("lchown", label, lchown(p, (uid_t)-1, (gid_t)-1));
    show("truncate", label, truncate(p, 0));
    show("utimensat", label, utimensat(AT_FDCWD, p, NULL, 0));
    show("getxattr", label, getxattr(p, "user.none", buf, sizeof buf));
    show("listxattr", label, listxattr(p, buf, sizeof buf));
    DIR *d = opendir(p);
    show("opendir", label, d ? 0 : -1);
    if (d) closedir(d);
    int here = open(".", O_RDONLY | O_DIRECTORY);
    show("chdir", label, chdir(p));
    if (here >= 0) {
        fchdir(here);
        close(here);
    }
}

/* Calls that make or remove p, each undone when it succeeds. */
static void changes(const char *label, const char *p) {
    char other[4200];
    snprintf(other, sizeof other, "%s", "probe-other");
    long rc = mkdir(p, 0755);
    show("mkdir", label, rc);
    if (rc == 0) rmdir(p);
    rc = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    show("creat", label, closing(rc));
    if (rc >= 0) unlink(p);
    rc = mkfifo(p, 0644);
    show("mkfifo", label, rc);
    if (rc == 0) unlink(p);
    rc = symlink("target", p);
    show("symlink", label, rc);
    if (rc == 0) unlink(p);
    show("unlink", label, unlink(p));
    show("rmdir", label, rmdir(p));
    show("rename-from", label, rename(p, other));
    show("link-from", label, link(p, other));
}

static int cmd_look(int argc, char **argv) {
    for (int i = 0; i < argc; i++) lookups(argv[i], argv[i]);
    return 0;
}

static int cmd_calls(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        lookups(argv[i], argv[i]);
        changes(argv[i], argv[i]);
    }
    return 0;
}

/* Pointers no call may read: an address with nothing mapped, a page with no
 * access, and a string that runs into such a page with no NUL. */
static int cmd_efault(void) {
    const char *bad[3];
    if (bad_pointers(bad) != 0) return 2;
    for (int i = 0; i < 3; i++) {
        const char *p = bad[i], *n = bad_pointer_names[i];
        struct stat st;
        char sx[256]; /* struct statx, which musl's headers may lack */
        char buf[64];
        show("open", n, closing(open(p, O_RDONLY)));
        show("open-creat", n, closing(open(p, O_WRONLY | O_CREAT, 0644)));
        show("openat", n, closing(openat(AT_FDCWD, p, O_RDONLY)));
        show("creat", n, closing(creat(p, 0644)));
        show("fopen", n, fopen(p, "r") ? 0 : -1);
        show("stat", n, stat(p, &st));
        show("lstat", n, lstat(p, &st));
        show("fstatat", n, fstatat(AT_FDCWD, p, &st, 0));
        show("statx", n, syscall(SYS_statx, AT_FDCWD, p, 0, 0x7ffU, sx));
        show("access", n, access(p, F_OK));
        show("faccessat", n, faccessat(AT_FDCWD, p, F_OK, 0));
        show("chmod", n, chmod(p, 0644));
        show("fchmodat", n, fchmodat(AT_FDCWD, p, 0644, 0));
        show("chown", n, chown(p, 0, 0));
        show("lchown", n, lchown(p, 0, 0));
        show("fchownat", n, fchownat(AT_FDCWD, p, 0, 0, 0));
        show("truncate", n, truncate(p, 0));
        show("utimensat", n, utimensat(AT_FDCWD, p, NULL, 0));
        show("utimes", n, utimes(p, NULL));
        show("utime", n, utime(p, NULL));
        show("mkdir", n, mkdir(p, 0755));
        show("mkdirat", n, mkdirat(AT_FDCWD, p, 0755));
        show("rmdir", n, rmdir(p));
        show("unlink", n, unlink(p));
        show("unlinkat", n, unlinkat(AT_FDCWD, p, 0));
        show("rename-from", n, rename(p, "efault-x"));
        show("rename-to", n, rename("a.txt", p));
        show("renameat2", n, syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, "efault-x", 0));
        show("link-from", n, link(p, "efault-x"));
        show("link-to", n, link("a.txt", p));
        show("linkat", n, linkat(AT_FDCWD, p, AT_FDCWD, "efault-x", 0));
        show("symlink-target", n, symlink(p, "efault-x"));
        show("symlink-name", n, symlink("a.txt", p));
        show("mknod", n, mknod(p, S_IFIFO | 0644, 0));
        show("mkfifo", n, mkfifo(p, 0644));
        show("readlink", n, readlink(p, buf, sizeof buf));
        show("readlinkat", n, readlinkat(AT_FDCWD, p, buf, sizeof buf));
        show("chdir", n, chdir(p));
        show("opendir", n, opendir(p) ? 0 : -1);
        show("getxattr", n, getxattr(p, "user.x", buf, sizeof buf));
        show("lgetxattr", n, lgetxattr(p, "user.x", buf, sizeof buf));
        show("setxattr", n, setxattr(p, "user.x", "v", 1, 0));
        show("listxattr", n, listxattr(p, buf, sizeof buf));
        show("removexattr", n, removexattr(p, "user.x"));
        show("execve", n, execve(p, (char *[]){NULL}, (char *[]){NULL}));
    }
    return 0;
}

/* Flag bits the kernel refuses, on an existing path. */
static int cmd_flags(const char *p) {
    struct stat st;
    show("open-unknown-bits", p, closing(open(p, O_RDONLY | 0x4000000 | 0x10000000)));
    show("openat2-style-bits", p, closing(openat(AT_FDCWD, p, O_RDONLY | O_PATH | O_CREAT, 0644)));
    show("fstatat-unknown-at", p, fstatat(AT_FDCWD, p, &st, 0x40000));
    show("faccessat-unknown-at", p, faccessat(AT_FDCWD, p, F_OK, 0x40000));
    show("access-bad-mode", p, access(p, 0x80));
    show("fchmodat-nofollow", p, fchmodat(AT_FDCWD, p, 0644, 0x40000));
    show("fchownat-unknown-at", p, fchownat(AT_FDCWD, p, (uid_t)-1, (gid_t)-1, 0x40000));
    show("utimensat-unknown-at", p, utimensat(AT_FDCWD, p, NULL, 0x40000));
    show("unlinkat-unknown-at", p, unlinkat(AT_FDCWD, p, 0x40000));
    show("linkat-unknown-at", p, linkat(AT_FDCWD, p, AT_FDCWD, "flags-x", 0x40000));
    show("renameat2-unknown", p, syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, "flags-x", 0x80));
    show("renameat2-both", p, syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, "flags-x", RENAME_EXCHANGE | RENAME_NOREPLACE));
    show("mknod-bad-type", p, mknod("flags-x", 0170000 | 0644, 0));
    show("mkdirat-bad-fd", p, mkdirat(9999, "flags-x", 0755));
    show("openat-bad-fd", p, closing(openat(9999, "flags-x", O_RDONLY)));
    show("fstatat-bad-fd", p, fstatat(9999, "flags-x", &st, 0));
    return 0;
}

/* A chain of directories under dir, made one short step at a time, and calls
 * on relative paths through it of exactly 4,095 bytes (accepted) and 4,096
 * (ENAMETOOLONG), from dir. */
static int cmd_long(const char *dir) {
    char comp[201];
    memset(comp, 'c', 200);
    comp[200] = '\0';
    if (chdir(dir) != 0) return 2;
    int top = open(".", O_RDONLY | O_DIRECTORY);
    /* 20 components of 200 bytes and their slashes: 4,020 bytes. */
    for (int i = 0; i < 20; i++) {
        if (mkdir(comp, 0755) != 0 && errno != EEXIST) { show("mkdir-chain", "", -1); return 2; }
        if (chdir(comp) != 0) { show("chdir-chain", "", -1); return 2; }
    }
    fchdir(top);
    char path[4200];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        memcpy(path + n, comp, 200);
        n += 200;
        path[n++] = '/';
    }
    for (int total = 4095; total <= 4096; total++) {
        size_t name = (size_t)total - n;
        memset(path + n, 'f', name);
        path[n + name] = '\0';
        char label[16];
        snprintf(label, sizeof label, "len%d", total);
        struct stat st;
        long fd = open(path, O_WRONLY | O_CREAT, 0644);
        show("creat", label, fd < 0 ? fd : 0);
        if (fd >= 0) {
            show("write", label, write((int)fd, "long", 4));
            close((int)fd);
        }
        show("stat", label, stat(path, &st));
        if (stat(path, &st) == 0) printf("size %lld mode %o\n", (long long)st.st_size, st.st_mode & 07777);
        show("access", label, access(path, R_OK));
        show("chmod", label, chmod(path, 0600));
        show("truncate", label, truncate(path, 2));
        show("utimensat", label, utimensat(AT_FDCWD, path, NULL, 0));
        show("open", label, closing(open(path, O_RDONLY)));
        show("unlink", label, unlink(path));
        show("mkdir", label, mkdir(path, 0755));
        show("rmdir", label, rmdir(path));
        show("symlink", label, symlink("t", path));
        show("readlink", label, readlink(path, comp, 10));
        show("unlink-link", label, unlink(path));
    }
    return 0;
}

/* rename, rmdir, unlink, link and mkdir of "." and ".." at the end of a path. */
static int cmd_dots(const char *dir) {
    char dot[4200], dotdot[4200], slash_dot[4200];
    snprintf(dot, sizeof dot, "%s/.", dir);
    snprintf(dotdot, sizeof dotdot, "%s/..", dir);
    snprintf(slash_dot, sizeof slash_dot, "%s/./", dir);
    const char *ps[] = {dot, dotdot, slash_dot, ".", ".."};
    for (int i = 0; i < 5; i++) {
        const char *p = ps[i];
        struct stat st;
        show("rename-from", p, rename(p, "dots-z"));
        show("rename-to", p, rename("a.txt", p));
#ifdef __GLIBC__
        /* libc's renameat2 (the library hooks it; a raw system call it cannot see). musl
         * 1.2.3 has no wrapper: its run leaves these out, with and without the library. */
        show("renameat2-noreplace", p, renameat2(AT_FDCWD, p, AT_FDCWD, "dots-z", RENAME_NOREPLACE));
        show("renameat2-noreplace-to", p, renameat2(AT_FDCWD, "a.txt", AT_FDCWD, p, RENAME_NOREPLACE));
        show("renameat2-exchange", p, renameat2(AT_FDCWD, "empty-both", AT_FDCWD, p, RENAME_EXCHANGE));
#endif
        show("rmdir", p, rmdir(p));
        show("unlink", p, unlink(p));
        show("unlinkat-dir", p, unlinkat(AT_FDCWD, p, AT_REMOVEDIR));
        show("link", p, link(p, "dots-z"));
        show("mkdir", p, mkdir(p, 0755));
        show("stat-isdir", p, stat(p, &st) == 0 ? S_ISDIR(st.st_mode) : -1);
    }
    return 0;
}

static void fdstat(const char *label, int fd) {
    struct stat st;
    if (fstat(fd, &st) == 0) {
        printf("fstat(%s): size %lld nlink %lu mode %o uid %u\n", label, (long long)st.st_size,
               (unsigned long)st.st_nlink, st.st_mode & 07777, st.st_uid);
    } else {
        show("fstat", label, -1);
    }
}

/* The calls a program makes on a file it unlinked while holding it open. */
static int cmd_unlinked(const char *p) {
    char buf[64];
    int fd = open(p, O_RDWR | O_CREAT, 0644);
    show("open", p, fd < 0 ? fd : 0);
    if (fd < 0) return 2;
    show("pwrite", p, pwrite(fd, "unlinked-data", 13, 0));
    int ro = open(p, O_RDONLY);
    show("unlink", p, unlink(p));
    show("stat-name", p, access(p, F_OK));
    memset(buf, 0, sizeof buf);
    show("pread", p, pread(fd, buf, sizeof buf - 1, 0));
    printf("read: %s\n", buf);
    fdstat("rw", fd);
    fdstat("ro", ro);
    show("write", p, write(fd, "+more", 5));
    show("ftruncate", p, ftruncate(fd, 20));
    show("fchmod", p, fchmod(fd, 0600));
    show("fchown", p, fchown(fd, 0, 0));
    show("futimens", p, futimens(fd, NULL));
    show("fsync", p, fsync(fd));
    show("fdatasync", p, fdatasync(fd));
    show("fallocate", p, fallocate(fd, 0, 0, 4096));
    show("ftruncate-back", p, ftruncate(fd, 18));
    fdstat("rw", fd);
    memset(buf, 0, sizeof buf);
    show("pread-ro", p, pread(ro, buf, sizeof buf - 1, 0));
    printf("read: %s\n", buf);
    show("close", p, close(fd));
    show("close-ro", p, close(ro));
    /* Replaced by a rename while open. */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.new", p);
    fd = open(p, O_RDWR | O_CREAT, 0644);
    show("pwrite-old", p, pwrite(fd, "old", 3, 0));
    int nfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    show("write-new", tmp, write(nfd, "newer", 5));
    close(nfd);
    show("rename-over", p, rename(tmp, p));
    memset(buf, 0, sizeof buf);
    show("pread-old", p, pread(fd, buf, sizeof buf - 1, 0));
    printf("read: %s\n", buf);
    fdstat("old", fd);
    show("pwrite-after", p, pwrite(fd, "OLD", 3, 0));
    show("close-old", p, close(fd));
    fd = open(p, O_RDONLY);
    memset(buf, 0, sizeof buf);
    show("pread-name", p, pread(fd, buf, sizeof buf - 1, 0));
    printf("read: %s\n", buf);
    close(fd);
    return 0;
}

static socklen_t unaddr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static void showname(const char *call, const struct sockaddr_un *a, socklen_t len, int rc) {
    if (rc < 0) {
        show(call, "", -1);
    } else if (len <= offsetof(struct sockaddr_un, sun_path)) {
        printf("%s: unnamed\n", call);
    } else {
        printf("%s: %.*s\n", call, (int)(len - offsetof(struct sockaddr_un, sun_path)), a->sun_path);
    }
}

/* A server and a client over AF_UNIX stream and datagram sockets bound in dir/sd. */
static int cmd_sockets(const char *dir) {
    char d[200], s[256], g[256], c[256];
    snprintf(d, sizeof d, "%s/sd", dir);
    snprintf(s, sizeof s, "%s/stream", d);
    snprintf(g, sizeof g, "%s/dgram", d);
    snprintf(c, sizeof c, "%s/client", d);
    show("mkdir", d, mkdir(d, 0755));
    struct sockaddr_un a, b;
    socklen_t len;
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    len = unaddr(&a, s);
    show("bind", s, bind(srv, (struct sockaddr *)&a, len));
    show("bind-again", s, bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len));
    show("listen", s, listen(srv, 4));
    struct stat st;
    show("stat-sock", s, stat(s, &st) == 0 ? S_ISSOCK(st.st_mode) : -1);
    len = sizeof b;
    showname("getsockname", &b, len, getsockname(srv, (struct sockaddr *)&b, &len));
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    len = unaddr(&a, s);
    show("connect", s, connect(cl, (struct sockaddr *)&a, len));
    int acc = accept(srv, NULL, NULL);
    show("accept", s, acc >= 0 ? 0 : -1);
    len = sizeof b;
    showname("getpeername", &b, len, getpeername(cl, (struct sockaddr *)&b, &len));
    char byte = 'x';
    show("send", s, send(cl, &byte, 1, 0));
    show("recv", s, acc >= 0 ? recv(acc, &byte, 1, MSG_DONTWAIT) : -1);
    int missing = socket(AF_UNIX, SOCK_STREAM, 0);
    char nope[256];
    snprintf(nope, sizeof nope, "%s/nope", d);
    len = unaddr(&a, nope);
    show("connect-missing", nope, connect(missing, (struct sockaddr *)&a, len));
    /* Datagrams: a bound receiver, a bound sender, sendto and sendmsg. */
    int rx = socket(AF_UNIX, SOCK_DGRAM, 0), tx = socket(AF_UNIX, SOCK_DGRAM, 0);
    len = unaddr(&a, g);
    show("bind-dgram", g, bind(rx, (struct sockaddr *)&a, len));
    len = unaddr(&b, c);
    show("bind-client", c, bind(tx, (struct sockaddr *)&b, len));
    len = unaddr(&a, g);
    show("sendto", g, sendto(tx, "dg", 2, 0, (struct sockaddr *)&a, len));
    struct iovec iov = {.iov_base = "msg", .iov_len = 3};
    struct msghdr mh = {.msg_name = &a, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
    show("sendmsg", g, sendmsg(tx, &mh, 0));
    char data[8];
    len = sizeof b;
    long got = recvfrom(rx, data, sizeof data, MSG_DONTWAIT, (struct sockaddr *)&b, &len);
    show("recvfrom", g, got);
    showname("recvfrom-from", &b, len, (int)got);
    struct msghdr rh = {.msg_name = &b, .msg_namelen = sizeof b, .msg_iov = &(struct iovec){data, sizeof data}, .msg_iovlen = 1};
    got = recvmsg(rx, &rh, MSG_DONTWAIT);
    show("recvmsg", g, got);
    showname("recvmsg-from", &b, rh.msg_namelen, (int)got);
    /* Unreadable addresses and unwritable results: the kernel's EFAULT, no crash. An address
     * whose family and first bytes are readable and whose rest is not, too. */
    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area != MAP_FAILED) {
        mprotect(area + page, (size_t)page, PROT_NONE);
        struct sockaddr *half = (struct sockaddr *)(area + page - 8);
        len = unaddr(&a, s);
        memcpy(half, &a, 8);
        const struct { const char *n; struct sockaddr *p; } bad[] = {{"unmapped", (struct sockaddr *)0xdeadc0de}, {"half", half}};
        for (int i = 0; i < 2; i++) {
            int fresh = socket(AF_UNIX, SOCK_STREAM, 0), dg = socket(AF_UNIX, SOCK_DGRAM, 0);
            show("bind-efault", bad[i].n, bind(fresh, bad[i].p, len));
            show("connect-efault", bad[i].n, connect(fresh, bad[i].p, len));
            show("sendto-efault", bad[i].n, sendto(dg, "x", 1, 0, bad[i].p, len));
            struct msghdr bm = {.msg_name = bad[i].p, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
            show("sendmsg-efault", bad[i].n, sendmsg(dg, &bm, 0));
            socklen_t room = sizeof b;
            show("getsockname-efault", bad[i].n, getsockname(srv, bad[i].p, &room));
            close(fresh);
            close(dg);
        }
        munmap(area, (size_t)page * 2);
    }
    show("unlink", s, unlink(s));
    show("unlink", g, unlink(g));
    show("unlink", c, unlink(c));
    show("rmdir", d, rmdir(d));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: posix-probe calls|look|efault|flags|long|dots|unlinked|sockets ARGS...\n");
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "calls")) return cmd_calls(argc - 2, argv + 2);
    if (!strcmp(c, "look")) return cmd_look(argc - 2, argv + 2);
    if (!strcmp(c, "efault")) return cmd_efault();
    if (!strcmp(c, "flags") && argc == 3) return cmd_flags(argv[2]);
    if (!strcmp(c, "long") && argc == 3) return cmd_long(argv[2]);
    if (!strcmp(c, "dots") && argc == 3) return cmd_dots(argv[2]);
    if (!strcmp(c, "unlinked") && argc == 3) return cmd_unlinked(argv[2]);
    if (!strcmp(c, "sockets") && argc == 3) return cmd_sockets(argv[2]);
    fprintf(stderr, "posix-probe: unknown class or arguments: %s\n", c);
    return 2;
}
