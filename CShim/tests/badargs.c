/*
 * badargs.c — every hooked call with arguments the kernel refuses: path and
 * buffer pointers that cannot be read or written (nothing mapped, a page with
 * no access, a string running into such a page), unknown flag bits and bad
 * descriptors. Each call runs in a child of its own, so that a crash shows as
 * "signal N" in its line instead of ending the run; a line holds the call's
 * result and errno, never a descriptor number or an inode.
 *
 * Usage: badargs DIR [NAME...]
 *   DIR is chdir'ed to; each NAME there (a file, in either place) is used
 *   as the good path for calls whose other pointers are bad.
 *
 * The run without the preload library and the runs with it (every state,
 * glibc and musl) must print the same.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "bad_pointers.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

extern char **environ;

/* Run `body` in a child; print its line: "label: rc errno" or "label: signal N". */
#define CASE(label, body)                                                              \
    do {                                                                               \
        fflush(stdout);                                                                \
        pid_t pid_ = fork();                                                           \
        if (pid_ == 0) {                                                               \
            errno = 0;                                                                 \
            long rc_ = (long)(body);                                                   \
            int e_ = errno;                                                            \
            if (rc_ < 0) printf("%s: -1 %s\n", label, strerrorname(e_));               \
            else printf("%s: ok\n", label);                                            \
            fflush(stdout);                                                            \
            _exit(0);                                                                  \
        }                                                                              \
        int st_;                                                                       \
        waitpid(pid_, &st_, 0);                                                        \
        if (WIFSIGNALED(st_)) printf("%s: signal %d\n", label, WTERMSIG(st_));         \
    } while (0)

static const char *strerrorname(int e) {
    static char buf[16];
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case ENODATA: return "ENODATA";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ESPIPE: return "ESPIPE";
    case ENOMEM: return "ENOMEM";
    default: snprintf(buf, sizeof buf, "E%d", e); return buf;
    }
}

/* The result of a call that returns a pointer, as a number CASE can print. */
static long ptr_rc(const void *p) { return p ? 0 : -1; }

static long spawn_rc(int rc) {
    if (rc == 0) {
        wait(NULL);
        return 0;
    }
    errno = rc;
    return -1;
}

static void path_cases(const char *kind, const char *p) {
    char l[128];
    struct stat st;
    struct statfs sfs;
    struct statvfs svfs;
    char buf[64];
    char tmpl[] = "bad-XXXXXX";
    (void)tmpl;
#define P(name, call) do { snprintf(l, sizeof l, "%s(%s)", name, kind); CASE(l, call); } while (0)
    P("open", open(p, O_RDONLY));
    P("open-creat", open(p, O_WRONLY | O_CREAT, 0644));
    P("openat", openat(AT_FDCWD, p, O_RDONLY));
    P("creat", creat(p, 0644));
    P("fopen", ptr_rc(fopen(p, "r")));
    P("fopen-w", ptr_rc(fopen(p, "w")));
    P("freopen", ptr_rc(freopen(p, "r", stdin)));
    P("stat", stat(p, &st));
    P("lstat", lstat(p, &st));
    P("fstatat", fstatat(AT_FDCWD, p, &st, 0));
    P("fstatat-nofollow", fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW));
    P("access", access(p, F_OK));
    P("faccessat", faccessat(AT_FDCWD, p, R_OK, AT_EACCESS));
    P("euidaccess", euidaccess(p, R_OK));
    P("statfs", statfs(p, &sfs));
    P("statvfs", statvfs(p, &svfs));
    P("pathconf", pathconf(p, _PC_NAME_MAX));
    P("inotify_add_watch", inotify_add_watch(inotify_init1(IN_CLOEXEC), p, IN_MODIFY));
    P("truncate", truncate(p, 0));
    P("chmod", chmod(p, 0644));
    P("fchmodat", fchmodat(AT_FDCWD, p, 0644, 0));
    P("chown", chown(p, (uid_t)-1, (gid_t)-1));
    P("lchown", lchown(p, (uid_t)-1, (gid_t)-1));
    P("fchownat", fchownat(AT_FDCWD, p, (uid_t)-1, (gid_t)-1, AT_SYMLINK_NOFOLLOW));
    P("utimensat", utimensat(AT_FDCWD, p, NULL, 0));
    P("utime", utime(p, NULL));
    P("utimes", utimes(p, NULL));
    P("lutimes", lutimes(p, NULL));
    P("futimesat", futimesat(AT_FDCWD, p, NULL));
    P("chdir", chdir(p));
    P("opendir", ptr_rc(opendir(p)));
    P("execve", execve(p, (char *[]){"x", NULL}, environ));
    P("execv", execv(p, (char *[]){"x", NULL}));
    P("execvp", execvp(p, (char *[]){"x", NULL}));
    P("execl", execl(p, "x", (char *)NULL));
    P("execlp", execlp(p, "x", (char *)NULL));
    P("posix_spawn", spawn_rc(posix_spawn(NULL, p, NULL, NULL, (char *[]){"x", NULL}, environ)));
    P("posix_spawnp", spawn_rc(posix_spawnp(NULL, p, NULL, NULL, (char *[]){"x", NULL}, environ)));
    P("link-from", link(p, "bad-new"));
    P("link-to", link("f", p));
    P("linkat", linkat(AT_FDCWD, p, AT_FDCWD, "bad-new", 0));
    P("symlink-target", symlink(p, "bad-new"));
    P("symlink-name", symlink("f", p));
    P("symlinkat", symlinkat("f", AT_FDCWD, p));
    P("readlink", readlink(p, buf, sizeof buf));
    P("readlinkat", readlinkat(AT_FDCWD, p, buf, sizeof buf));
    P("mkdir", mkdir(p, 0755));
    P("mkdirat", mkdirat(AT_FDCWD, p, 0755));
    P("mknod", mknod(p, S_IFIFO | 0644, 0));
    P("mknodat", mknodat(AT_FDCWD, p, S_IFIFO | 0644, 0));
    P("mkfifo", mkfifo(p, 0644));
    P("mkfifoat", mkfifoat(AT_FDCWD, p, 0644));
    P("rename-from", rename(p, "bad-new"));
    P("rename-to", rename("f", p));
    P("renameat", renameat(AT_FDCWD, p, AT_FDCWD, "bad-new"));
    P("unlink", unlink(p));
    P("unlinkat", unlinkat(AT_FDCWD, p, 0));
    P("rmdir", rmdir(p));
    P("getxattr", getxattr(p, "user.x", buf, sizeof buf));
    P("lgetxattr", lgetxattr(p, "user.x", buf, sizeof buf));
    P("listxattr", listxattr(p, buf, sizeof buf));
    P("llistxattr", llistxattr(p, buf, sizeof buf));
    P("setxattr", setxattr(p, "user.x", "v", 1, 0));
    P("lsetxattr", lsetxattr(p, "user.x", "v", 1, 0));
    P("removexattr", removexattr(p, "user.x"));
    P("lremovexattr", lremovexattr(p, "user.x"));
    /* A bad attribute name on a good path. */
    P("getxattr-name", getxattr("f", p, buf, sizeof buf));
    P("setxattr-name", setxattr("f", p, "v", 1, 0));
    P("removexattr-name", removexattr("f", p));
#ifdef __GLIBC__
    P("statx", statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, (struct statx *)buf));
    P("renameat2-from", renameat2(AT_FDCWD, p, AT_FDCWD, "bad-new", RENAME_NOREPLACE));
    P("renameat2-to", renameat2(AT_FDCWD, "f", AT_FDCWD, p, 0));
    P("execvpe", execvpe(p, (char *[]){"x", NULL}, environ));
    P("execveat", execveat(AT_FDCWD, p, (char *[]){"x", NULL}, environ, 0));
    P("canonicalize_file_name", ptr_rc(canonicalize_file_name(p)));
    P("glob", glob(p, 0, NULL, &(glob_t){0}) == 0 ? 0 : -1);
#endif
    P("scandir", scandir(p, &(struct dirent **){NULL}, NULL, NULL));
#undef P
}

/* Good paths, bad other pointers. */
static void pointer_cases(const char *name, const void *bad) {
    char l[160];
    int fd = open(name, O_RDWR);
    const struct timespec *ts = bad;
    const struct timeval *tv = bad;
#define Q(what, call) do { snprintf(l, sizeof l, "%s(%s)", what, name); CASE(l, call); } while (0)
    Q("stat-buf", stat(name, (struct stat *)bad));
    Q("lstat-buf", lstat(name, (struct stat *)bad));
    Q("fstatat-buf", fstatat(AT_FDCWD, name, (struct stat *)bad, 0));
    Q("fstat-buf", fstat(fd, (struct stat *)bad));
    Q("statfs-buf", statfs(name, (struct statfs *)bad));
    Q("statvfs-buf", statvfs(name, (struct statvfs *)bad));
    Q("utimensat-times", utimensat(AT_FDCWD, name, ts, 0));
    Q("utime-times", utime(name, (const struct utimbuf *)bad));
    Q("utimes-times", utimes(name, tv));
    Q("lutimes-times", lutimes(name, tv));
    Q("futimesat-times", futimesat(AT_FDCWD, name, tv));
    Q("readlink-buf", readlink("l", (char *)bad, 64));
    Q("getxattr-buf", getxattr(name, "user.x", (void *)bad, 64));
    Q("listxattr-buf", listxattr(name, (char *)bad, 64));
    Q("setxattr-value", setxattr(name, "user.y", bad, 8, 0));
    Q("lsetxattr-value", lsetxattr(name, "user.y", bad, 8, 0));
    Q("fopen-mode", ptr_rc(fopen(name, (const char *)bad)));
    Q("execve-argv", execve("/bin/true", (char *const *)bad, environ));
    Q("execve-envp", execve("/bin/true", (char *[]){"true", NULL}, (char *const *)bad));
    Q("execve-envp-entry", execve("/bin/true", (char *[]){"true", NULL}, (char *[]){(char *)bad, NULL}));
    Q("execv-argv", execv("/bin/true", (char *const *)bad));
    Q("posix_spawn-envp", spawn_rc(posix_spawn(NULL, "/bin/true", NULL, NULL, (char *[]){"true", NULL}, (char *const *)bad)));
    Q("getcwd-buf", ptr_rc(getcwd((char *)bad, 256)));
    Q("pwrite-buf", pwrite(fd, bad, 8, 0));
    Q("write-buf", write(fd, bad, 8));
    Q("pwritev-iov", pwritev(fd, (const struct iovec *)bad, 1, 0));
    Q("sendfile-offset", sendfile(fd, fd, (off_t *)bad, 8));
    Q("getdents64-buf", syscall(SYS_getdents64, open(".", O_RDONLY | O_DIRECTORY), bad, 4096));
#ifdef __GLIBC__
    Q("statx-buf", statx(AT_FDCWD, name, 0, STATX_BASIC_STATS, (struct statx *)bad));
    Q("getdents64-libc", getdents64(open(".", O_RDONLY | O_DIRECTORY), (void *)bad, 4096));
#endif
    if (fd >= 0) close(fd);
#undef Q
}

/* Unknown flag bits and bad descriptors. */
static void flag_cases(const char *name) {
    char l[160];
    struct stat st;
#define F(what, call) do { snprintf(l, sizeof l, "%s(%s)", what, name); CASE(l, call); } while (0)
    F("open-unknown", open(name, O_RDONLY | 0x4000000 | 0x10000000));
    F("open-tmpfile-file", open(name, O_TMPFILE | O_RDWR, 0600));
    F("open-path-creat", open(name, O_PATH | O_CREAT, 0644));
    F("open-dir-file", open(name, O_RDONLY | O_DIRECTORY));
    F("open-excl-existing", open(name, O_WRONLY | O_CREAT | O_EXCL, 0644));
    F("openat-badfd", openat(9999, "x", O_RDONLY));
    F("openat-negfd", openat(-5, "x", O_RDONLY));
    F("openat-file-as-dir", openat(open(name, O_RDONLY), "x", O_RDONLY));
    F("fstatat-unknown", fstatat(AT_FDCWD, name, &st, 0x40000));
    F("fstatat-badfd", fstatat(9999, "x", &st, 0));
    F("faccessat-unknown", faccessat(AT_FDCWD, name, F_OK, 0x40000));
    F("access-badmode", access(name, 0x80));
    F("fchmodat-unknown", fchmodat(AT_FDCWD, name, 0644, 0x40000));
    F("fchownat-unknown", fchownat(AT_FDCWD, name, (uid_t)-1, (gid_t)-1, 0x40000));
    F("utimensat-unknown", utimensat(AT_FDCWD, name, NULL, 0x40000));
    F("utimensat-badnsec", utimensat(AT_FDCWD, name, (struct timespec[2]){{0, 2000000000L}, {0, 0}}, 0));
    F("unlinkat-unknown", unlinkat(AT_FDCWD, name, 0x40000));
    F("unlinkat-badfd", unlinkat(9999, "x", 0));
    F("linkat-unknown", linkat(AT_FDCWD, name, AT_FDCWD, "bad-new", 0x40000));
    F("linkat-badfd", linkat(9999, "x", AT_FDCWD, "bad-new", 0));
    F("mknod-badtype", mknod("bad-new", 0170000 | 0644, 0));
    F("mkdirat-badfd", mkdirat(9999, "x", 0755));
    F("symlinkat-badfd", symlinkat("t", 9999, "x"));
    F("readlinkat-badfd", readlinkat(9999, "x", (char[16]){0}, 16));
    F("renameat-badfd", renameat(9999, "x", AT_FDCWD, "bad-new"));
    F("truncate-negative", truncate(name, -1));
    F("mkstemp-badtemplate", mkstemp((char[]){"no-x-here"}));
    F("mkdtemp-badtemplate", ptr_rc(mkdtemp((char[]){"no-x-here"})));
    F("inotify-badmask", inotify_add_watch(inotify_init1(IN_CLOEXEC), name, 0));
    F("setxattr-bothflags", setxattr(name, "user.z", "v", 1, XATTR_CREATE | XATTR_REPLACE));
    F("setxattr-unknownflag", setxattr(name, "user.z", "v", 1, 0x100));
    F("fopen-badmode", ptr_rc(fopen(name, "q")));
    F("opendir-file", ptr_rc(opendir(name)));
    F("fdopendir-badfd", ptr_rc(fdopendir(9999)));
    F("ftruncate-badfd", ftruncate(9999, 0));
    F("fallocate-badmode", fallocate(open(name, O_RDWR), 0x1000, 0, 1));
    F("posix_fallocate-badfd", posix_fallocate(9999, 0, 1) ? -1 : 0);
#ifdef __GLIBC__
    F("renameat2-unknown", renameat2(AT_FDCWD, name, AT_FDCWD, "bad-new", 0x80));
    F("renameat2-exchange-noreplace", renameat2(AT_FDCWD, name, AT_FDCWD, "bad-new", RENAME_EXCHANGE | RENAME_NOREPLACE));
    F("renameat2-exchange-missing", renameat2(AT_FDCWD, name, AT_FDCWD, "bad-new", RENAME_EXCHANGE));
    F("statx-unknown", statx(AT_FDCWD, name, 0x40000000, STATX_BASIC_STATS, &(struct statx){0}));
    F("statx-badmask", statx(AT_FDCWD, name, 0, 0x80000000U, &(struct statx){0}));
    F("execveat-unknown", execveat(AT_FDCWD, name, (char *[]){"x", NULL}, environ, 0x40000));
    F("execveat-badfd", execveat(9999, "x", (char *[]){"x", NULL}, environ, 0));
#endif
#undef F
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: badargs DIR [NAME...]\n");
        return 2;
    }
    /* Names every run has: a file, a directory, a link (made here, in either place). */
    int fd = open("f", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
    mkdir("sd", 0755);
    symlink("f", "l");
    const char *bad[3];
    if (bad_pointers(bad) != 0) return 2;
    for (int i = 0; i < 3; i++) path_cases(bad_pointer_names[i], bad[i]);
    for (int i = 2; i < argc; i++) {
        for (int k = 0; k < 2; k++) pointer_cases(argv[i], bad[k]);
        flag_cases(argv[i]);
    }
    printf("done\n");
    return 0;
}
