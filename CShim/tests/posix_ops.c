/*
 * posix_ops.c — a seeded random sequence of POSIX file calls from several processes, logged
 * call by call (return value, errno, bytes read, st_size / st_nlink / mode / owner from fstat),
 * so one run on a plain filesystem is the reference for another through the FUSE union.
 *
 *   posix-ops prepare DIR PROCS
 *       makes DIR/p<i> (i < PROCS) with the files f0 and f1 and the directory d0 holding g0
 *       (fixed bytes): the same start in both places.
 *   posix-ops run DIR SEED OPS PROCS LOGDIR
 *       forks PROCS processes; process i makes OPS/PROCS calls in DIR/p<i> only (its own names,
 *       so its results do not depend on how the processes interleave), writes every call to
 *       LOGDIR/log.<i> and prints "proc <i> ops <n> digest <fnv64 of its log>". Exits 1 if a
 *       process died or failed to run (each line of the log is a result, not a verdict).
 *
 * The calls: open (with and without O_CREAT, O_EXCL, O_TRUNC, O_APPEND), write, pwrite, read,
 * pread, lseek to the end, ftruncate, fstat, fchmod, fchown, futimens, fsync, close, unlink
 * (of open files too), rename (over open files too), mkdir and rmdir, over four file names, two
 * in subdirectories, and two directory names. Up to four descriptors are open at once.
 *
 * One case is left out on purpose: rmdir of a directory a still-open unlinked file was last
 * named in (docs/FUSE.md, "Files unlinked while open": libfuse then has no path for the file,
 * and its fstat gets ESTALE through the union).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 4
#define MAX_IO 16384

static const char *file_names[] = {"f0", "f1", "f2", "f3", "d0/g0", "d1/g0"};
#define FILE_NAMES 6
static const char *dir_names[] = {"d0", "d1"};
#define DIR_NAMES 2

struct slot {
    int fd;            /* -1: free */
    int name;          /* the file name it has now (index in file_names), or -1 once unlinked */
    int unlinked_dir;  /* once unlinked: the directory it was last in (index in dir_names), or -1 */
};

static struct slot slots[SLOTS];
static uint64_t rng;
static uint64_t digest = 1469598103934665603ULL;
static FILE *log_file;
static long op;
static unsigned char data[MAX_IO], got[MAX_IO];

static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned pick(unsigned n) { return (unsigned)(next_random() % n); }

static uint64_t fnv(const void *bytes, size_t length, uint64_t h) {
    const unsigned char *p = bytes;
    for (size_t i = 0; i < length; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* One line of the log: the call, its result and errno (0 on success), and what it saw. */
static void record(const char *call, long rc, int err, const char *extra) {
    char line[512];
    int n = snprintf(line, sizeof(line), "%ld %s -> %ld %s%s%s\n", op, call, rc, rc < 0 ? strerrorname_np(err) : "ok",
                     extra[0] ? " " : "", extra);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    digest = fnv(line, (size_t)n, digest);
    fputs(line, log_file);
}

static int dir_of(int name) {
    const char *slash = strchr(file_names[name], '/');
    if (slash == NULL) return -1;
    for (int d = 0; d < DIR_NAMES; d++)
        if (strncmp(file_names[name], dir_names[d], (size_t)(slash - file_names[name])) == 0) return d;
    return -1;
}

static int pick_open_slot(void) {
    int open_slots[SLOTS], count = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].fd >= 0) open_slots[count++] = i;
    return count == 0 ? -1 : open_slots[pick((unsigned)count)];
}

static void close_slot(int i) {
    char call[64];
    snprintf(call, sizeof(call), "close s%d", i);
    int rc = close(slots[i].fd);
    record(call, rc, errno, "");
    slots[i].fd = -1;
}

/* After a name went (unlink, or a rename over it): descriptors on it keep an unnamed file. */
static void name_gone(int name) {
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].fd >= 0 && slots[i].name == name) {
            slots[i].name = -1;
            slots[i].unlinked_dir = dir_of(name);
        }
}

static void do_open(void) {
    static const int flag_sets[] = {
        O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_CREAT, O_WRONLY | O_CREAT | O_TRUNC,
        O_RDWR | O_CREAT | O_EXCL, O_RDWR | O_APPEND | O_CREAT, O_RDONLY | O_TRUNC | O_CREAT,
    };
    static const mode_t modes[] = {0644, 0600, 0755, 0640};
    int free_slot = -1;
    for (int i = 0; i < SLOTS && free_slot < 0; i++)
        if (slots[i].fd < 0) free_slot = i;
    if (free_slot < 0) {
        free_slot = (int)pick(SLOTS);
        close_slot(free_slot);
    }
    int name = (int)pick(FILE_NAMES);
    int flags = flag_sets[pick(sizeof(flag_sets) / sizeof(flag_sets[0]))];
    mode_t mode = modes[pick(4)];
    int fd = open(file_names[name], flags | O_CLOEXEC, mode);
    char call[96];
    snprintf(call, sizeof(call), "open %s 0%o 0%o s%d", file_names[name], (unsigned)flags, (unsigned)mode, free_slot);
    record(call, fd < 0 ? -1 : 0, errno, "");
    if (fd >= 0) slots[free_slot] = (struct slot){fd, name, -1};
}

static void fill_data(size_t length) {
    for (size_t i = 0; i < length; i++) data[i] = (unsigned char)(next_random() >> 24);
}

static void do_fd_call(void) {
    int i = pick_open_slot();
    if (i < 0) {
        do_open();
        return;
    }
    int fd = slots[i].fd;
    char call[96], extra[256] = "";
    long rc;
    int err = 0;
    switch (pick(13)) {
    case 0: {
        size_t length = pick(MAX_IO + 1);
        fill_data(length);
        rc = write(fd, data, length);
        err = errno;
        snprintf(call, sizeof(call), "write s%d %zu", i, length);
        break;
    }
    case 1: {
        size_t length = pick(MAX_IO + 1);
        off_t at = (off_t)pick(96 * 1024);
        fill_data(length);
        rc = pwrite(fd, data, length, at);
        err = errno;
        snprintf(call, sizeof(call), "pwrite s%d %zu @%ld", i, length, (long)at);
        break;
    }
    case 2: {
        size_t length = pick(MAX_IO + 1);
        rc = read(fd, got, length);
        err = errno;
        if (rc > 0) snprintf(extra, sizeof(extra), "bytes %016llx", (unsigned long long)fnv(got, (size_t)rc, 7));
        snprintf(call, sizeof(call), "read s%d %zu", i, length);
        break;
    }
    case 3: {
        size_t length = pick(MAX_IO + 1);
        off_t at = (off_t)pick(100 * 1024);
        rc = pread(fd, got, length, at);
        err = errno;
        if (rc > 0) snprintf(extra, sizeof(extra), "bytes %016llx", (unsigned long long)fnv(got, (size_t)rc, 7));
        snprintf(call, sizeof(call), "pread s%d %zu @%ld", i, length, (long)at);
        break;
    }
    case 4: {
        off_t length = (off_t)pick(100 * 1024);
        rc = ftruncate(fd, length);
        err = errno;
        snprintf(call, sizeof(call), "ftruncate s%d %ld", i, (long)length);
        break;
    }
    case 5:
    case 6: {
        struct stat st;
        rc = fstat(fd, &st);
        err = errno;
        if (rc == 0)
            snprintf(extra, sizeof(extra), "size %ld nlink %lu mode 0%o uid %u gid %u", (long)st.st_size,
                     (unsigned long)st.st_nlink, (unsigned)st.st_mode, (unsigned)st.st_uid, (unsigned)st.st_gid);
        snprintf(call, sizeof(call), "fstat s%d", i);
        break;
    }
    case 7: {
        static const mode_t modes[] = {0644, 0600, 0755, 0400, 0444, 0700};
        mode_t mode = modes[pick(6)];
        rc = fchmod(fd, mode);
        err = errno;
        snprintf(call, sizeof(call), "fchmod s%d 0%o", i, (unsigned)mode);
        break;
    }
    case 8: {
        uid_t uid = 1000 + pick(3);
        gid_t gid = 1000 + pick(3);
        rc = fchown(fd, uid, gid);
        err = errno;
        snprintf(call, sizeof(call), "fchown s%d %u %u", i, (unsigned)uid, (unsigned)gid);
        break;
    }
    case 9: {
        /* Fixed times, read back at once: the same in both runs. */
        struct timespec times[2] = {{1000000000 + (time_t)pick(1000), 0}, {1500000000 + (time_t)pick(1000), 0}};
        rc = futimens(fd, times);
        err = errno;
        struct stat st;
        if (rc == 0 && fstat(fd, &st) == 0) snprintf(extra, sizeof(extra), "mtime %ld", (long)st.st_mtim.tv_sec);
        snprintf(call, sizeof(call), "futimens s%d %ld", i, (long)times[1].tv_sec);
        break;
    }
    case 10:
        rc = fsync(fd);
        err = errno;
        snprintf(call, sizeof(call), "fsync s%d", i);
        break;
    case 11:
        rc = (long)lseek(fd, 0, SEEK_END);
        err = errno;
        snprintf(call, sizeof(call), "lseek-end s%d", i);
        break;
    default:
        close_slot(i);
        return;
    }
    record(call, rc, err, extra);
}

static void do_name_call(void) {
    char call[96];
    long rc;
    switch (pick(4)) {
    case 0: {
        int name = (int)pick(FILE_NAMES);
        rc = unlink(file_names[name]);
        snprintf(call, sizeof(call), "unlink %s", file_names[name]);
        record(call, rc, errno, "");
        if (rc == 0) name_gone(name);
        break;
    }
    case 1: {
        int from = (int)pick(FILE_NAMES), to = (int)pick(FILE_NAMES + 1);
        /* The last target is a directory name: EISDIR or ENOENT, as the kernel says. */
        const char *target = to == FILE_NAMES ? dir_names[pick(DIR_NAMES)] : file_names[to];
        rc = rename(file_names[from], target);
        snprintf(call, sizeof(call), "rename %s %s", file_names[from], target);
        record(call, rc, errno, "");
        if (rc == 0 && to < FILE_NAMES && to != from) {
            name_gone(to);
            for (int i = 0; i < SLOTS; i++)
                if (slots[i].fd >= 0 && slots[i].name == from) slots[i].name = to;
        }
        break;
    }
    case 2: {
        int d = (int)pick(DIR_NAMES);
        rc = mkdir(dir_names[d], 0755);
        snprintf(call, sizeof(call), "mkdir %s", dir_names[d]);
        record(call, rc, errno, "");
        break;
    }
    default: {
        int d = (int)pick(DIR_NAMES);
        for (int i = 0; i < SLOTS; i++)
            if (slots[i].fd >= 0 && slots[i].name < 0 && slots[i].unlinked_dir == d) return;  /* the case left out */
        rc = rmdir(dir_names[d]);
        snprintf(call, sizeof(call), "rmdir %s", dir_names[d]);
        record(call, rc, errno, "");
        break;
    }
    }
}

static int run_process(const char *dir, unsigned long long seed, int index, long ops, const char *log_dir) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/p%d", dir, index);
    if (chdir(path) != 0) {
        perror(path);
        return 2;
    }
    snprintf(path, sizeof(path), "%s/log.%d", log_dir, index);
    log_file = fopen(path, "w");
    if (log_file == NULL) {
        perror(path);
        return 2;
    }
    rng = seed * 1000003ULL + (unsigned long long)index * 7919ULL + 1;
    for (int i = 0; i < SLOTS; i++) slots[i] = (struct slot){-1, -1, -1};
    for (op = 0; op < ops; op++) {
        unsigned what = pick(10);
        if (what < 2) do_open();
        else if (what < 8) do_fd_call();
        else do_name_call();
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].fd >= 0) close_slot(i);
    if (fclose(log_file) != 0) return 2;
    printf("proc %d ops %ld digest %016llx\n", index, ops, (unsigned long long)digest);
    return 0;
}

static int prepare(const char *dir, int procs) {
    for (int p = 0; p < procs; p++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/p%d", dir, p);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return perror(path), 1;
        static const char *files[] = {"f0", "f1", "d0/g0"};
        static const size_t sizes[] = {1000, 70000, 5000};
        snprintf(path, sizeof(path), "%s/p%d/d0", dir, p);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return perror(path), 1;
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof(path), "%s/p%d/%s", dir, p, files[f]);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) return perror(path), 1;
            for (size_t i = 0; i < sizes[f]; i++) data[i % MAX_IO] = (unsigned char)(i * 31 + (size_t)f);
            for (size_t done = 0; done < sizes[f];) {
                size_t n = sizes[f] - done < MAX_IO ? sizes[f] - done : MAX_IO;
                if (write(fd, data, n) != (ssize_t)n) return perror(path), 1;
                done += n;
            }
            close(fd);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    umask(022);
    if (argc == 4 && strcmp(argv[1], "prepare") == 0) return prepare(argv[2], atoi(argv[3]));
    if (argc != 7 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: posix-ops prepare DIR PROCS | posix-ops run DIR SEED OPS PROCS LOGDIR\n");
        return 2;
    }
    unsigned long long seed = strtoull(argv[3], NULL, 10);
    long ops = atol(argv[4]);
    int procs = atoi(argv[5]);
    if (procs < 1 || procs > 64 || ops < procs) return 2;
    fflush(stdout);
    pid_t children[64];
    for (int i = 0; i < procs; i++) {
        children[i] = fork();
        if (children[i] < 0) return perror("fork"), 1;
        if (children[i] == 0) {
            int rc = run_process(argv[2], seed, i, ops / procs, argv[6]);
            fflush(stdout);
            _exit(rc);
        }
    }
    int failed = 0;
    for (int i = 0; i < procs; i++) {
        int status;
        if (waitpid(children[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "posix-ops: process %d ended badly (status 0x%x)\n", i, status);
            failed = 1;
        }
    }
    return failed;
}
