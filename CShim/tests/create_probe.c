/*
 * create_probe.c — a test program that creates a file through one chosen
 * libc entry point, then reads it back and stats it by the same path.
 *
 * Usage: create-probe open|openat|creat|fopen PATH TEXT
 * Prints "size=N text=TEXT" and exits 0, or prints the failing call and errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what) {
    printf("%s failed: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: create-probe open|openat|creat|fopen PATH TEXT\n");
        return 2;
    }
    const char *how = argv[1], *path = argv[2], *text = argv[3];
    size_t len = strlen(text);
    if (strcmp(how, "fopen") == 0) {
        FILE *f = fopen(path, "w");
        if (f == NULL) return fail("fopen");
        if (fwrite(text, 1, len, f) != len || fclose(f) != 0) return fail("fwrite");
    } else {
        int fd;
        if (strcmp(how, "open") == 0) {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        } else if (strcmp(how, "creat") == 0) {
            fd = creat(path, 0644);
        } else if (strcmp(how, "openat") == 0) {
            char dir_buf[4096], base_buf[4096];
            snprintf(dir_buf, sizeof(dir_buf), "%s", path);
            snprintf(base_buf, sizeof(base_buf), "%s", path);
            int dirfd = open(dirname(dir_buf), O_RDONLY | O_DIRECTORY);
            if (dirfd < 0) return fail("open(dir)");
            fd = openat(dirfd, basename(base_buf), O_WRONLY | O_CREAT | O_EXCL, 0644);
            close(dirfd);
        } else {
            fprintf(stderr, "create-probe: unknown way '%s'\n", how);
            return 2;
        }
        if (fd < 0) return fail(how);
        if (write(fd, text, len) != (ssize_t)len || close(fd) != 0) return fail("write");
    }
    char back[4096] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail("open(read back)");
    ssize_t got = read(fd, back, sizeof(back) - 1);
    close(fd);
    if (got < 0) return fail("read");
    struct stat st;
    if (stat(path, &st) != 0) return fail("stat");
    printf("size=%lld text=%s\n", (long long)st.st_size, back);
    return 0;
}
