/*
 * hookbench — per-call cost of the calls the preload library hooks, for tools/bench.
 *
 *   hookbench OP ITERATIONS NAME_DIR SETUP_DIR
 *
 * SETUP_DIR is where the files really are (made here with raw system calls, which no preload
 * library sees); NAME_DIR is the name the timed calls use (the same directory, or its name in
 * the managed tree when the files lie in the spill area). Prints "OP ns_per_call" after a
 * warm-up of ITERATIONS/10 calls.
 *
 *   latency PATH SECONDS  appends 4 KiB every millisecond to PATH for SECONDS and prints the
 *                         p50, p99 and max write() time in microseconds (a writer's stall
 *                         while its file is moved under it).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char name_dir[4096], setup_dir[4096];
static char buf4k[4096];
static char *buf1m;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "hookbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void path_in(char *out, size_t size, const char *dir, const char *name) {
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size) {
        errno = ENAMETOOLONG;
        die(name);
    }
}

/* Setup with raw system calls: invisible to a preload library. */
static void raw_mkdir(const char *name) {
    char p[8192];
    path_in(p, sizeof(p), setup_dir, name);
    if (syscall(SYS_mkdirat, AT_FDCWD, p, 0755) != 0 && errno != EEXIST) die(p);
}

static void raw_file(const char *name, size_t size) {
    char p[8192];
    path_in(p, sizeof(p), setup_dir, name);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die(p);
    for (size_t done = 0; done < size;) {
        size_t n = size - done < sizeof(buf4k) ? size - done : sizeof(buf4k);
        if (syscall(SYS_write, fd, buf4k, n) != (long)n) die(p);
        done += n;
    }
    syscall(SYS_close, fd);
}

typedef void (*op_fn)(long i);

static char file_name[4200], dir100_name[4200], ren_a[4200], ren_b[4200];
static char unlink_names_dir[4200], uncached_names_dir[4200];
static int bench_fd = -1, bench_dirfd = -1;

static void op_open_close(long i) {
    (void)i;
    int fd = open(file_name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open");
    close(fd);
}

static void op_openat_fstat(long i) {
    (void)i;
    struct stat st;
    int fd = openat(bench_dirfd, "file", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) die("openat+fstat");
    close(fd);
}

static void op_stat(long i) {
    (void)i;
    struct stat st;
    if (stat(file_name, &st) != 0) die("stat");
}

static void op_access(long i) {
    (void)i;
    if (access(file_name, R_OK) != 0) die("access");
}

static void op_readdir100(long i) {
    (void)i;
    DIR *d = opendir(dir100_name);
    if (d == NULL) die("opendir");
    int n = 0;
    while (readdir(d) != NULL) n++;
    closedir(d);
    if (n != 102) {
        errno = EPROTO;
        die("readdir: not 100 entries");
    }
}

static void op_rename(long i) {
    if (i % 2 == 0 ? rename(ren_a, ren_b) : rename(ren_b, ren_a)) die("rename");
}

static void op_unlink(long i) {
    char p[8192];
    snprintf(p, sizeof(p), "%s/u%ld", unlink_names_dir, i);
    if (unlink(p) != 0) die("unlink");
}

/* `count` empty files DIR/PREFIX0 ... in a new directory DIR of the setup directory. */
static void raw_names(const char *dir, const char *prefix, long count) {
    raw_mkdir(dir);
    for (long k = 0; k < count; k++) {
        char n[64];
        snprintf(n, sizeof(n), "%s/%s%ld", dir, prefix, k);
        raw_file(n, 0);
    }
}

static void op_stat_uncached(long i) {
    char p[8192];
    struct stat st;
    snprintf(p, sizeof(p), "%s/s%ld", uncached_names_dir, i);
    if (stat(p, &st) != 0) die("stat");
}

static void op_create(long i) {
    char p[8192];
    snprintf(p, sizeof(p), "%s/c%ld", name_dir, i);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("create");
    close(fd);
}

static void op_write4k(long i) {
    if (pwrite(bench_fd, buf4k, sizeof(buf4k), (off_t)(i % 256) * 4096) != (ssize_t)sizeof(buf4k)) die("pwrite 4k");
}

static void op_write1m(long i) {
    if (pwrite(bench_fd, buf1m, 1 << 20, (off_t)(i % 16) << 20) != 1 << 20) die("pwrite 1m");
}

/* Writes through stdio: the stream's buffer fills and libc (or the library) flushes it. The
 * stream goes back to the start now and then, so the file does not grow without end. */
static FILE *bench_fp;

static void op_fwrite4k(long i) {
    if (i % 256 == 0) rewind(bench_fp);
    if (fwrite(buf4k, 1, sizeof(buf4k), bench_fp) != sizeof(buf4k)) die("fwrite 4k");
}

static void op_fwrite1m(long i) {
    if (i % 16 == 0) rewind(bench_fp);
    if (fwrite(buf1m, 1, 1 << 20, bench_fp) != 1 << 20) die("fwrite 1m");
}

static void op_fprintf_line(long i) {
    if (i % 65536 == 0) rewind(bench_fp);
    if (fprintf(bench_fp, "line %ld of the benchmark: value=%ld status=%s\n", i, i * 7, "ok") < 0) die("fprintf");
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static int latency(const char *path, double seconds) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(path);
    long cap = (long)(seconds * 1000) + 16, n = 0;
    long long *t = calloc((size_t)cap, sizeof(long long));
    if (t == NULL) die("calloc");
    long long end = now_ns() + (long long)(seconds * 1e9);
    while (now_ns() < end && n < cap) {
        long long a = now_ns();
        if (write(fd, buf4k, sizeof(buf4k)) != (ssize_t)sizeof(buf4k)) die("write");
        t[n++] = now_ns() - a;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    close(fd);
    qsort(t, (size_t)n, sizeof(long long), cmp_ll);
    printf("latency p50_us %.1f p99_us %.1f max_us %.1f writes %ld\n", t[n / 2] / 1e3, t[(n * 99) / 100] / 1e3,
           t[n - 1] / 1e3, n);
    return 0;
}

int main(int argc, char **argv) {
    memset(buf4k, 'x', sizeof(buf4k));
    if (argc == 4 && strcmp(argv[1], "latency") == 0) return latency(argv[2], atof(argv[3]));
    if (argc != 5) {
        fprintf(stderr, "usage: hookbench OP ITERATIONS NAME_DIR SETUP_DIR | hookbench latency PATH SECONDS\n");
        return 2;
    }
    const char *op = argv[1];
    long iterations = atol(argv[2]);
    snprintf(name_dir, sizeof(name_dir), "%s", argv[3]);
    snprintf(setup_dir, sizeof(setup_dir), "%s", argv[4]);
    if (iterations <= 0) {
        errno = EINVAL;
        die("ITERATIONS");
    }
    long warmup = iterations / 10;
    path_in(file_name, sizeof(file_name), name_dir, "file");
    path_in(dir100_name, sizeof(dir100_name), name_dir, "d100");
    path_in(ren_a, sizeof(ren_a), name_dir, "ren-a");
    path_in(ren_b, sizeof(ren_b), name_dir, "ren-b");
    path_in(unlink_names_dir, sizeof(unlink_names_dir), name_dir, "unl");
    path_in(uncached_names_dir, sizeof(uncached_names_dir), name_dir, "unc");

    op_fn fn = NULL;
    if (strcmp(op, "open+close") == 0) {
        raw_file("file", 4096);
        fn = op_open_close;
    } else if (strcmp(op, "openat+fstat") == 0) {
        raw_file("file", 4096);
        bench_dirfd = open(name_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bench_dirfd < 0) die(name_dir);
        fn = op_openat_fstat;
    } else if (strcmp(op, "stat") == 0) {
        raw_file("file", 4096);
        fn = op_stat;
    } else if (strcmp(op, "access") == 0) {
        raw_file("file", 4096);
        fn = op_access;
    } else if (strcmp(op, "readdir-100") == 0) {
        raw_mkdir("d100");
        for (int k = 0; k < 100; k++) {
            char n[32];
            snprintf(n, sizeof(n), "d100/e%03d", k);
            raw_file(n, 0);
        }
        fn = op_readdir100;
    } else if (strcmp(op, "rename") == 0) {
        raw_file("ren-a", 16);
        fn = op_rename;
        iterations += iterations % 2;
        warmup += warmup % 2;
    } else if (strcmp(op, "unlink") == 0) {
        raw_names("unl", "u", warmup + iterations);
        fn = op_unlink;
    } else if (strcmp(op, "stat-uncached") == 0) {
        /* Each name stat'ed once, after a FUSE mount's cached entries (1 s) have expired: a
         * lookup the filesystem itself answers. */
        raw_names("unc", "s", warmup + iterations);
        sleep(2);
        fn = op_stat_uncached;
    } else if (strcmp(op, "create") == 0) {
        fn = op_create;
    } else if (strcmp(op, "write-4k") == 0 || strcmp(op, "write-1m") == 0) {
        int big = op[6] == '1';
        raw_file("file", big ? (16u << 20) : (1u << 20));
        bench_fd = open(file_name, O_WRONLY | O_CLOEXEC);
        if (bench_fd < 0) die(file_name);
        if (big) {
            buf1m = malloc(1 << 20);
            if (buf1m == NULL) die("malloc");
            memset(buf1m, 'y', 1 << 20);
        }
        fn = big ? op_write1m : op_write4k;
    } else if (strcmp(op, "fwrite-4k") == 0 || strcmp(op, "fwrite-1m") == 0 || strcmp(op, "fprintf-line") == 0) {
        raw_file("file", 0);
        bench_fp = fopen(file_name, "w");
        if (bench_fp == NULL) die(file_name);
        buf1m = malloc(1 << 20);
        if (buf1m == NULL) die("malloc");
        memset(buf1m, 'y', 1 << 20);
        fn = strcmp(op, "fprintf-line") == 0 ? op_fprintf_line : strcmp(op, "fwrite-1m") == 0 ? op_fwrite1m : op_fwrite4k;
    } else {
        fprintf(stderr, "hookbench: unknown OP '%s'\n", op);
        return 2;
    }
    long i = 0;
    for (; i < warmup; i++) fn(i);
    long long start = now_ns();
    for (long k = 0; k < iterations; k++, i++) fn(i);
    long long elapsed = now_ns() - start;
    printf("%s %.1f\n", op, (double)elapsed / (double)iterations);
    return 0;
}
