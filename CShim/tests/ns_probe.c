/*
 * ns_probe.c — a test program that makes one namespace call through one
 * chosen libc entry point and prints what it observed, for the parity tests
 * (built for glibc and for musl, so both preload libraries are exercised).
 *
 * Usage: ns-probe OP ARGS...   (ns-probe help lists the operations)
 * Prints one line per result; a failing call prints "OP: E<NAME>". Listings
 * are sorted, so that the order a directory happens to have does not matter.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *errname(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EXDEV: return "EXDEV";
    case EBUSY: return "EBUSY";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EBADF: return "EBADF";
    case ERANGE: return "ERANGE";
    default: return "E?";
    }
}

static int fail(const char *op) {
    printf("%s: %s\n", op, errname(errno));
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collected names, printed sorted. */
struct names {
    char *v[4096];
    size_t n;
};

static void add(struct names *ns, const char *name) {
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return;
    if (ns->n < sizeof(ns->v) / sizeof(ns->v[0])) ns->v[ns->n++] = strdup(name);
}

static void print_names(const char *op, struct names *ns) {
    qsort(ns->v, ns->n, sizeof(char *), cmp_str);
    printf("%s:", op);
    for (size_t i = 0; i < ns->n; i++) printf(" %s", ns->v[i]);
    printf("\n");
}

static int op_list(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return fail("list");
    struct names ns = {.n = 0};
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) add(&ns, e->d_name);
    if (errno != 0) return fail("list");
    closedir(d);
    print_names("list", &ns);
    return 0;
}

static int op_readdir_r(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return fail("readdir_r");
    struct names ns = {.n = 0};
    struct dirent entry, *result;
    for (;;) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        int rc = readdir_r(d, &entry, &result);
#pragma GCC diagnostic pop
        if (rc != 0) {
            errno = rc;
            return fail("readdir_r");
        }
        if (result == NULL) break;
        add(&ns, entry.d_name);
    }
    closedir(d);
    print_names("readdir_r", &ns);
    return 0;
}

static int op_fdopendir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fail("fdopendir");
    DIR *d = fdopendir(fd);
    if (d == NULL) return fail("fdopendir");
    struct names ns = {.n = 0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) add(&ns, e->d_name);
    /* The entries through the stream's descriptor, as openat users see them. */
    struct stat st;
    size_t found = 0;
    for (size_t i = 0; i < ns.n; i++) found += fstatat(dirfd(d), ns.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0;
    closedir(d);
    print_names("fdopendir", &ns);
    printf("fdopendir: %zu of %zu found through dirfd\n", found, ns.n);
    return 0;
}

static int op_scandir(const char *dir) {
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) return fail("scandir");
    printf("scandir:");
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) printf(" %s", list[i]->d_name);
        free(list[i]);
    }
    free(list);
    printf("\n");
    return 0;
}

/* telldir before each entry; seekdir back to the middle; the rest must come again. */
static int op_tell(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return fail("tell");
    long pos[4096];
    char *name[4096];
    size_t n = 0;
    for (;;) {
        long p = telldir(d);
        struct dirent *e = readdir(d);
        if (e == NULL || n == 4096) break;
        pos[n] = p;
        name[n++] = strdup(e->d_name);
    }
    size_t mid = n / 2, again = 0, same = 1;
    seekdir(d, pos[mid]);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (mid + again >= n || strcmp(e->d_name, name[mid + again]) != 0) same = 0;
        again++;
    }
    rewinddir(d);
    size_t all = 0;
    while (readdir(d) != NULL) all++;
    closedir(d);
    printf("tell: %zu entries, %s after seekdir, %zu after rewinddir\n", n, same && again == n - mid ? "same" : "DIFFERENT", all);
    return 0;
}

static int op_getdents(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fail("getdents");
    struct names ns = {.n = 0};
    char buf[512] __attribute__((aligned(8))); /* small: several calls per directory */
    for (;;) {
#ifdef __GLIBC__
        ssize_t got = getdents64(fd, buf, sizeof(buf));
#else
        ssize_t got = getdents(fd, (struct dirent *)buf, sizeof(buf));
#endif
        if (got < 0) return fail("getdents");
        if (got == 0) break;
        for (ssize_t off = 0; off < got;) {
            struct dirent *e = (struct dirent *)(buf + off);
            add(&ns, e->d_name);
            off += e->d_reclen;
        }
    }
    close(fd);
    print_names("getdents", &ns);
    return 0;
}

static int op_glob(const char *pattern) {
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        printf("glob: no match\n");
        return 0;
    }
    if (rc != 0) return fail("glob");
    printf("glob:");
    for (size_t i = 0; i < g.gl_pathc; i++) printf(" %s", g.gl_pathv[i]);
    printf("\n");
    globfree(&g);
    return 0;
}

static int op_realpath(const char *path) {
    char buf[PATH_MAX];
    if (realpath(path, buf) == NULL) return fail("realpath");
    char *dup = realpath(path, NULL);
    printf("realpath: %s %s\n", buf, dup && strcmp(dup, buf) == 0 ? "(same malloced)" : "(DIFFERENT malloced)");
    free(dup);
    return 0;
}

static int op_cwd(const char *dir) {
    if (chdir(dir) != 0) return fail("cwd");
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof(buf)) == NULL) return fail("cwd");
    char *dup = getcwd(NULL, 0);
    char *cur = get_current_dir_name();
    printf("cwd: %s %s %s\n", buf, dup && strcmp(dup, buf) == 0 ? "same" : "DIFFERENT",
           cur && strcmp(cur, buf) == 0 ? "same" : "DIFFERENT");
    char tiny[4];
    errno = 0;
    if (getcwd(tiny, sizeof(tiny)) == NULL) printf("cwd: small buffer %s\n", errname(errno));
    struct names ns = {.n = 0};
    DIR *d = opendir(".");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) add(&ns, e->d_name);
    if (d) closedir(d);
    print_names("cwd list", &ns);
    return 0;
}

static int op_mkstemp(const char *tmpl) {
    char name[PATH_MAX];
    snprintf(name, sizeof(name), "%s", tmpl);
    int fd = mkstemp(name);
    if (fd < 0) return fail("mkstemp");
    if (write(fd, "temp\n", 5) != 5) return fail("mkstemp write");
    close(fd);
    struct stat st;
    int seen = stat(name, &st) == 0 && st.st_size == 5;
    char dname[PATH_MAX];
    snprintf(dname, sizeof(dname), "%s", tmpl);
    char *dir = mkdtemp(dname);
    int dseen = dir != NULL && stat(dname, &st) == 0 && S_ISDIR(st.st_mode);
    printf("mkstemp: file %s, dir %s\n", seen ? "found" : "MISSING", dseen ? "found" : "MISSING");
    unlink(name);
    if (dir) rmdir(dname);
    return 0;
}

static int op_call(const char *op, int rc) {
    if (rc != 0) return fail(op);
    printf("%s: ok\n", op);
    return 0;
}

/* glibc's renameat2 (musl 1.2.3 has none: a raw system call, which no preload library sees). */
static int op_exchange(const char *a, const char *b, unsigned flags) {
#ifdef __GLIBC__
    return op_call("renameat2", renameat2(AT_FDCWD, a, AT_FDCWD, b, flags));
#else
    return op_call("renameat2", (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags));
#endif
}

static int op_spawn(const char *path, int search, char **argv) {
    pid_t pid;
    int rc = search ? posix_spawnp(&pid, path, NULL, NULL, argv, environ) : posix_spawn(&pid, path, NULL, NULL, argv, environ);
    if (rc != 0) {
        errno = rc;
        return fail("spawn");
    }
    int status;
    waitpid(pid, &status, 0);
    printf("spawn: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* Run argv with an environment that has only PATH: does the child keep the library? */
static int op_clean_exec(char **argv) {
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    fflush(stdout);
    execve(argv[0], argv, envp);
    return fail("execve");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: ns-probe OP ARGS...\n");
        return 2;
    }
    const char *op = argv[1];
    const char *a = argc > 2 ? argv[2] : "";
    const char *b = argc > 3 ? argv[3] : "";
    if (strcmp(op, "list") == 0) return op_list(a);
    if (strcmp(op, "readdir_r") == 0) return op_readdir_r(a);
    if (strcmp(op, "fdopendir") == 0) return op_fdopendir(a);
    if (strcmp(op, "scandir") == 0) return op_scandir(a);
    if (strcmp(op, "tell") == 0) return op_tell(a);
    if (strcmp(op, "getdents") == 0) return op_getdents(a);
    if (strcmp(op, "glob") == 0) return op_glob(a);
    if (strcmp(op, "realpath") == 0) return op_realpath(a);
    if (strcmp(op, "cwd") == 0) return op_cwd(a);
    if (strcmp(op, "mkstemp") == 0) return op_mkstemp(a);
    if (strcmp(op, "mkdir") == 0) return op_call(op, mkdir(a, 0755));
    if (strcmp(op, "rmdir") == 0) return op_call(op, rmdir(a));
    if (strcmp(op, "unlink") == 0) return op_call(op, unlink(a));
    if (strcmp(op, "rename") == 0) return op_call(op, rename(a, b));
    if (strcmp(op, "noreplace") == 0) return op_exchange(a, b, 1);
    if (strcmp(op, "exchange") == 0) return op_exchange(a, b, 2);
    if (strcmp(op, "link") == 0) return op_call(op, link(a, b));
    if (strcmp(op, "symlink") == 0) return op_call(op, symlink(a, b));
    if (strcmp(op, "mknod") == 0) return op_call(op, mknod(a, S_IFIFO | 0600, 0));
    if (strcmp(op, "chmod") == 0) return op_call(op, chmod(a, (mode_t)strtol(b, NULL, 8)));
    if (strcmp(op, "truncate") == 0) return op_call(op, truncate(a, strtol(b, NULL, 10)));
    if (strcmp(op, "readlink") == 0) {
        char buf[PATH_MAX];
        ssize_t n = readlink(a, buf, sizeof(buf) - 1);
        if (n < 0) return fail(op);
        buf[n] = '\0';
        printf("readlink: %s\n", buf);
        return 0;
    }
    if (strcmp(op, "stat") == 0) {
        struct stat st;
        if (stat(a, &st) != 0) return fail(op);
        printf("stat: %s %o %lld\n", S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other",
               (unsigned)(st.st_mode & 07777), S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
        return 0;
    }
    if (strcmp(op, "exec") == 0) {
        fflush(stdout);
        execv(a, argv + 2);
        return fail(op);
    }
    if (strcmp(op, "execvp") == 0) {
        fflush(stdout);
        execvp(a, argv + 2);
        return fail(op);
    }
    if (strcmp(op, "spawn") == 0) return op_spawn(a, 0, argv + 2);
    if (strcmp(op, "spawnp") == 0) return op_spawn(a, 1, argv + 2);
    if (strcmp(op, "clean-exec") == 0) return op_clean_exec(argv + 2);
    fprintf(stderr, "ns-probe: unknown operation %s\n", op);
    return 2;
}
