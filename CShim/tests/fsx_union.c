/*
 * fsx_union.c — an fsx-style randomized checker of the FUSE union: writes,
 * truncates, reads, mmap reads, renames, fsyncs and reopens of one file
 * through the mount, from two descriptors, verified after every read against
 * an in-memory model of the file. Midway it flips the container's slot to
 * `spilling` (the file must move to the spill area whole, both descriptors
 * following it), later to `draining` and back to `normal`; at the end the
 * file must be in exactly one branch with exactly the model's bytes.
 *
 *   fsx-union MOUNT SLOT TREE SPILL [SEED] [OPS]
 *
 * Reproducible from its seed, which it prints on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spillway_slot.h"

#define MAX_LEN (256 * 1024)
#define MAX_IO (40 * 1024)

static unsigned long long seed;
static unsigned long long rng_state;
static long op_number;
static char model[MAX_LEN];
static off_t model_len;
static char buf[MAX_LEN];
static const char *names[2] = {"fsx-a", "fsx-b"};
static int current; /* which name the file has now */
static char mount_dir[4096], tree_dir[4096], spill_dir[4096];

static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fail(const char *what, long offset) {
    fprintf(stderr, "fsx-union: seed %llu: op %ld: %s (offset %ld, model length %ld, errno %s)\n", seed, op_number, what,
            offset, (long)model_len, strerror(errno));
    exit(1);
}

static void path_of(char *out, const char *dir, int which) {
    snprintf(out, 4200, "%s/%s", dir, names[which]);
}

static int open_file(int flags) {
    char path[4200];
    path_of(path, mount_dir, current);
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) fail("open", 0);
    return fd;
}

static void check_range(const char *what, const char *got, off_t offset, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (got[i] != model[offset + (off_t)i]) {
            char message[128];
            snprintf(message, sizeof message, "%s: byte %ld is 0x%02x, model 0x%02x", what, (long)(offset + (off_t)i),
                     (unsigned char)got[i], (unsigned char)model[offset + (off_t)i]);
            fail(message, (long)offset);
        }
    }
}

static void do_write(int fd) {
    off_t offset = (off_t)(next_random() % (MAX_LEN - 1));
    size_t length = 1 + next_random() % MAX_IO;
    if (offset + (off_t)length > MAX_LEN) length = (size_t)(MAX_LEN - offset);
    for (size_t i = 0; i < length; i++) buf[i] = (char)(next_random() & 0xff);
    ssize_t n = pwrite(fd, buf, length, offset);
    if (n != (ssize_t)length) fail("pwrite", (long)offset);
    if (offset > model_len) memset(model + model_len, 0, (size_t)(offset - model_len));
    memcpy(model + offset, buf, length);
    if (offset + (off_t)length > model_len) model_len = offset + (off_t)length;
}

static void do_truncate(int fd) {
    off_t length = (off_t)(next_random() % MAX_LEN);
    if (ftruncate(fd, length) != 0) fail("ftruncate", (long)length);
    if (length > model_len) memset(model + model_len, 0, (size_t)(length - model_len));
    model_len = length;
}

static void do_read(int fd) {
    if (model_len == 0) return;
    off_t offset = (off_t)(next_random() % (uint64_t)model_len);
    size_t length = 1 + next_random() % MAX_IO;
    if (offset + (off_t)length > model_len) length = (size_t)(model_len - offset);
    ssize_t n = pread(fd, buf, length, offset);
    if (n != (ssize_t)length) fail("pread returned a short count", (long)offset);
    check_range("pread", buf, offset, length);
}

static void do_mmap_read(int fd) {
    if (model_len == 0) return;
    struct stat st;
    if (fstat(fd, &st) != 0) fail("fstat", 0);
    if (st.st_size != model_len) fail("size differs from the model", (long)st.st_size);
    char *map = mmap(NULL, (size_t)model_len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) fail("mmap", 0);
    off_t offset = (off_t)(next_random() % (uint64_t)model_len);
    size_t length = 1 + next_random() % MAX_IO;
    if (offset + (off_t)length > model_len) length = (size_t)(model_len - offset);
    check_range("mmap read", map + offset, offset, length);
    munmap(map, (size_t)model_len);
}

static void do_rename(void) {
    char from[4200], to[4200];
    path_of(from, mount_dir, current);
    path_of(to, mount_dir, 1 - current);
    if (rename(from, to) != 0) fail("rename", 0);
    current = 1 - current;
}

static void flip(struct spillway_slot *slot, uint32_t state) {
    struct spillway_slot_view view;
    if (!spillway_slot_read(slot, &view, 1000)) fail("slot read", 0);
    view.state = state;
    spillway_slot_write(slot, &view);
}

/* The file is in exactly one branch, under its current name, and holds the model. */
static void check_placement(void) {
    char in_tree[4200], in_spill[4200], other[4200];
    struct stat st;
    path_of(in_tree, tree_dir, current);
    path_of(in_spill, spill_dir, current);
    int t = lstat(in_tree, &st) == 0, s = lstat(in_spill, &st) == 0;
    if (t + s != 1) fail(t ? "the file is in both branches" : "the file is in neither branch", 0);
    for (int k = 0; k < 2; k++) {
        path_of(other, k ? spill_dir : tree_dir, 1 - current);
        if (lstat(other, &st) == 0) fail("the old name survived a rename", 0);
    }
    int fd = open(t ? in_tree : in_spill, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open in the branch", 0);
    ssize_t n = pread(fd, buf, MAX_LEN, 0);
    close(fd);
    if (n != model_len) fail("the branch's copy has the wrong size", (long)n);
    check_range("branch copy", buf, 0, (size_t)n);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: fsx-union MOUNT SLOT TREE SPILL [SEED] [OPS]\n");
        return 2;
    }
    snprintf(mount_dir, sizeof mount_dir, "%s", argv[1]);
    snprintf(tree_dir, sizeof tree_dir, "%s", argv[3]);
    snprintf(spill_dir, sizeof spill_dir, "%s", argv[4]);
    seed = argc > 5 ? strtoull(argv[5], NULL, 10) : (unsigned long long)getpid();
    long ops = argc > 6 ? strtol(argv[6], NULL, 10) : 100000;
    rng_state = seed * 2654435761ULL + 1;
    int slot_fd = open(argv[2], O_RDWR | O_CLOEXEC);
    if (slot_fd < 0) fail("open slot", 0);
    struct spillway_slot *slot = mmap(NULL, SPILLWAY_SLOT_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, slot_fd, 0);
    if (slot == MAP_FAILED) fail("map slot", 0);
    flip(slot, SPILLWAY_STATE_NORMAL);

    int fds[2], fd_writable = 1;
    fds[0] = open_file(O_RDWR | O_CREAT | O_TRUNC);
    fds[1] = open_file(O_RDWR);
    for (op_number = 0; op_number < ops; op_number++) {
        if (op_number == ops / 4) flip(slot, SPILLWAY_STATE_SPILLING);
        if (op_number == ops / 2) {
            /* Written while spilling: the file must have moved whole to the spill area. */
            char in_tree[4200], in_spill[4200];
            struct stat st;
            path_of(in_tree, tree_dir, current);
            path_of(in_spill, spill_dir, current);
            if (lstat(in_tree, &st) == 0 || lstat(in_spill, &st) != 0) fail("not moved to the spill area while spilling", 0);
            check_placement();
            flip(slot, SPILLWAY_STATE_DRAINING);
        }
        if (op_number == 3 * ops / 4) flip(slot, SPILLWAY_STATE_NORMAL);
        int pick = (int)(next_random() & 1);
        int fd = fds[pick];
        /* fds[0] is always open for writing; fds[1] sometimes read-only. */
        int writable = pick == 0 || fd_writable;
        unsigned choice = (unsigned)(next_random() % 100);
        if (choice < 35) do_write(writable ? fd : fds[0]);
        else if (choice < 45) do_truncate(writable ? fd : fds[0]);
        else if (choice < 70) do_read(fd);
        else if (choice < 85) do_mmap_read(fd);
        else if (choice < 90) do_rename();
        else if (choice < 94) {
            if (fsync(fd) != 0) fail("fsync", 0);
        } else {
            int which = (int)(next_random() & 1);
            int rw = which == 0 || (next_random() & 1);
            close(fds[which]);
            fds[which] = open_file(rw ? O_RDWR : O_RDONLY);
            if (which == 1) fd_writable = rw;
        }
    }
    /* Everything again, through a fresh descriptor, then on disk. */
    close(fds[0]);
    close(fds[1]);
    int fd = open_file(O_RDONLY);
    ssize_t n = pread(fd, buf, MAX_LEN, 0);
    if (n != model_len) fail("final size differs from the model", (long)n);
    check_range("final read", buf, 0, (size_t)n);
    close(fd);
    check_placement();
    printf("fsx-union: seed %llu: %ld operations, no mismatch\n", seed, ops);
    return 0;
}
