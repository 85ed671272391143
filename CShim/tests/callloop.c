/*
 * callloop.c — N rounds of open, fstat, stat, access and close on one path,
 * for counting system calls with strace -c (with and without the library).
 *
 * Usage: callloop PATH N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: callloop PATH N\n");
        return 2;
    }
    long n = atol(argv[2]);
    struct stat st;
    for (long i = 0; i < n; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd >= 0) {
            fstat(fd, &st);
            close(fd);
        }
        stat(argv[1], &st);
        access(argv[1], R_OK);
    }
    return 0;
}
