/*
 * swap_racer.c — the attacker of the drain's safety tests: inside a tree the
 * supervisor works in, swaps each named directory with a symlink to an
 * outside sentinel directory (and back) with renameat2(RENAME_EXCHANGE), in a
 * loop, as fast as it can, until the given number of swaps is done or it is
 * killed. Prints the number of swaps made.
 *
 *   swap-racer ITERATIONS SENTINEL_DIR DIR [DIR...]
 *
 * For each DIR it makes DIR.evil -> SENTINEL_DIR once; each iteration
 * exchanges DIR and DIR.evil twice (so DIR is a symlink half of the time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: swap-racer ITERATIONS SENTINEL_DIR DIR [DIR...]\n");
        return 2;
    }
    long iterations = strtol(argv[1], NULL, 10);
    const char *sentinel = argv[2];
    int dirs = argc - 3;
    char evil[64][4096];
    if (dirs > 64) dirs = 64;
    for (int i = 0; i < dirs; i++) {
        snprintf(evil[i], sizeof(evil[i]), "%s.evil", argv[3 + i]);
        unlink(evil[i]);
        if (symlink(sentinel, evil[i]) != 0) {
            perror("symlink");
            return 1;
        }
    }
    long swaps = 0;
    for (long n = 0; n < iterations; n++) {
        for (int i = 0; i < dirs; i++) {
            const char *dir = argv[3 + i];
            if (syscall(SYS_renameat2, AT_FDCWD, dir, AT_FDCWD, evil[i], RENAME_EXCHANGE) == 0) swaps++;
            if (syscall(SYS_renameat2, AT_FDCWD, dir, AT_FDCWD, evil[i], RENAME_EXCHANGE) == 0) swaps++;
        }
    }
    /* Leave every directory in place and remove the symlinks. */
    for (int i = 0; i < dirs; i++) {
        struct stat;
        char buf[8];
        if (readlink(argv[3 + i], buf, sizeof(buf)) >= 0)
            syscall(SYS_renameat2, AT_FDCWD, argv[3 + i], AT_FDCWD, evil[i], RENAME_EXCHANGE);
        unlink(evil[i]);
    }
    printf("%ld\n", swaps);
    return 0;
}
