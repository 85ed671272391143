/*
 * static_writer — a statically linked program for the FUSE fallback's container test: copies
 * SOURCE to DEST in 1 MiB writes and fsyncs it, failing loudly on the first error, as an
 * application that no preload library reaches would.
 *
 *   static_writer SOURCE DEST
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char buffer[1 << 20];
    if (argc != 3) {
        fprintf(stderr, "usage: static_writer SOURCE DEST\n");
        return 2;
    }
    int in = open(argv[1], O_RDONLY);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) {
        fprintf(stderr, "static_writer: open: %s\n", strerror(errno));
        return 1;
    }
    long long total = 0;
    for (;;) {
        ssize_t got = read(in, buffer, sizeof(buffer));
        if (got < 0) {
            fprintf(stderr, "static_writer: read: %s\n", strerror(errno));
            return 1;
        }
        if (got == 0) break;
        for (ssize_t put = 0; put < got;) {
            ssize_t n = write(out, buffer + put, (size_t)(got - put));
            if (n < 0) {
                fprintf(stderr, "static_writer: write at %lld: %s\n", total + put, strerror(errno));
                return 1;
            }
            put += n;
        }
        total += got;
    }
    if (fsync(out) != 0 || close(out) != 0) {
        fprintf(stderr, "static_writer: fsync: %s\n", strerror(errno));
        return 1;
    }
    printf("wrote %lld bytes\n", total);
    return 0;
}
