/* musl_copy.c — copies SRC to DST in 1 MiB writes; built with musl-gcc for the container tests
 * (a dynamic musl program reached through libspillway-musl.so). Usage: musl-copy SRC DST */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char buffer[1 << 20];

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) { perror("open"); return 1; }
    for (;;) {
        ssize_t got = read(in, buffer, sizeof(buffer));
        if (got < 0) { perror("read"); return 1; }
        if (got == 0) break;
        for (ssize_t done = 0; done < got;) {
            ssize_t n = write(out, buffer + done, (size_t)(got - done));
            if (n < 0) { perror("write"); return 1; }
            done += n;
        }
    }
    if (fsync(out) != 0 || close(out) != 0) { perror("close"); return 1; }
    return 0;
}
