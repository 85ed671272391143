/*
 * flipper.c — flips a slot between two states every millisecond, the way the
 * supervisor writes it (shared mapping, sequence lock), for tests.
 *
 * Usage: flipper SLOT SECONDS [A B]   (A and B: 0 normal, 1 spilling, 2 draining;
 *                                      default 1 2, spilling <-> draining)
 *
 * The supervisor itself only goes spilling -> draining -> normal, and normal
 * only with an empty spill area, so the default flips between the two states
 * that both see the spill area; "0 1" flips normal <-> spilling for programs
 * that create nothing while it runs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "spillway_slot.h"

int main(int argc, char **argv) {
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: flipper SLOT SECONDS [A B]\n");
        return 2;
    }
    uint32_t a = argc == 5 ? (uint32_t)atoi(argv[3]) : SPILLWAY_STATE_SPILLING;
    uint32_t b = argc == 5 ? (uint32_t)atoi(argv[4]) : SPILLWAY_STATE_DRAINING;
    if (a >= SPILLWAY_STATE_COUNT || b >= SPILLWAY_STATE_COUNT) {
        fprintf(stderr, "flipper: states are 0, 1 or 2\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    struct spillway_slot *slot = mmap(NULL, SPILLWAY_SLOT_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (slot == MAP_FAILED || !spillway_slot_is_valid(slot, SPILLWAY_SLOT_FILE_SIZE)) {
        fprintf(stderr, "%s: not a slot\n", argv[1]);
        return 1;
    }
    struct spillway_slot_view view;
    if (!spillway_slot_read(slot, &view, 1000)) return 1;
    struct timespec start, now, pause = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    double limit = atof(argv[2]);
    unsigned long flips = 0;
    do {
        view.state = view.state == a ? b : a;
        spillway_slot_write(slot, &view);
        flips++;
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < limit);
    view.state = a;
    spillway_slot_write(slot, &view);
    printf("flips=%lu\n", flips);
    return 0;
}
