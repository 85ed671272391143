/*
 * stdio-writer — writes a known byte stream through one stdio output path, for the tests of
 * writes through stdio (StdioTests, ContainerStdioTests).
 *
 *   stdio-writer HOW PATH MEGABYTES [GATE]
 *
 * HOW: fwrite fwrite_unlocked fputs fputs_unlocked fputc putc putc_unlocked puts printf
 * fprintf vfprintf dprintf putchar mixed, and the wide fwprintf fputws fputwc (ASCII: the
 * same bytes); with ":exit" appended, the stream is not closed
 * and exit() flushes it. PATH "-" writes to standard output (puts, printf and putchar always
 * do). The stream: records "rec NNNNNNNNN " followed by (n % 97) letters and a newline, up to
 * MEGABYTES MiB; the same for every HOW, so every run's checksum is the same.
 *
 * GATE (optional): after the stream is opened and its first record buffered, create
 * GATE.ready and wait until GATE exists (the test raises the flag meanwhile), then go on.
 * Exits 0 when every call succeeded, 1 with a message naming the call and errno otherwise.
 * Built for glibc with _FORTIFY_SOURCE=2 (the printf family becomes __*_chk) and for musl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static void fail(const char *what) {
    fprintf(stderr, "stdio-writer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int vput(FILE *fp, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(fp, fmt, ap);
    va_end(ap);
    return r;
}

static void gate(const char *path) {
    char ready[4096];
    snprintf(ready, sizeof ready, "%s.ready", path);
    int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("gate.ready");
    close(fd);
    struct stat st;
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (int i = 0; i < 12000 && stat(path, &st) != 0; i++) nanosleep(&pause, NULL);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: stdio-writer HOW PATH MEGABYTES [GATE]\n");
        return 2;
    }
    char how[64];
    snprintf(how, sizeof how, "%s", argv[1]);
    char *suffix = strchr(how, ':');
    int at_exit = suffix != NULL && strcmp(suffix, ":exit") == 0;
    if (suffix) *suffix = '\0';
    int to_stdout = strcmp(argv[2], "-") == 0 || !strcmp(how, "puts") || !strcmp(how, "printf") || !strcmp(how, "putchar");
    FILE *fp = to_stdout ? stdout : fopen(argv[2], "w");
    if (fp == NULL) fail("fopen");
    long long limit = atoll(argv[3]) << 20, written = 0;
    /* STDIO_WRITER_LONG=1: records up to 1,400 bytes, longer than the room a printf call
     * may find in the stream's buffer. */
    const char *long_records = getenv("STDIO_WRITER_LONG");
    int spread = long_records != NULL && strcmp(long_records, "1") == 0 ? 1399 : 97;
    char rec[1500];
    for (long n = 0; written < limit; n++) {
        int len = snprintf(rec, sizeof rec, "rec %09ld ", n);
        for (int k = 0; k < n % spread; k++) rec[len++] = (char)('a' + (n + k) % 26);
        rec[len++] = '\n';
        rec[len] = '\0';
        const char *mode = how;
        static const char *const all[] = {"fwrite", "fputs", "fputc", "putc_unlocked", "fprintf", "vfprintf", "fwrite_unlocked"};
        if (strcmp(how, "mixed") == 0) mode = all[n % 7];
        int ok = 1;
        if (!strcmp(mode, "fwrite")) ok = fwrite(rec, 1, (size_t)len, fp) == (size_t)len;
        else if (!strcmp(mode, "fwrite_unlocked")) ok = fwrite_unlocked(rec, 1, (size_t)len, fp) == (size_t)len;
        else if (!strcmp(mode, "fputs")) ok = fputs(rec, fp) >= 0;
        else if (!strcmp(mode, "fputs_unlocked")) ok = fputs_unlocked(rec, fp) >= 0;
        else if (!strcmp(mode, "fputc")) for (int k = 0; k < len && ok; k++) ok = fputc(rec[k], fp) != EOF;
        else if (!strcmp(mode, "putc")) for (int k = 0; k < len && ok; k++) ok = putc(rec[k], fp) != EOF;
        else if (!strcmp(mode, "putc_unlocked")) for (int k = 0; k < len && ok; k++) ok = putc_unlocked(rec[k], fp) != EOF;
        else if (!strcmp(mode, "putchar")) for (int k = 0; k < len && ok; k++) ok = putchar(rec[k]) != EOF;
        else if (!strcmp(mode, "puts")) { rec[len - 1] = '\0'; ok = puts(rec) >= 0; }
        else if (!strcmp(mode, "printf")) ok = printf("rec %09ld %s", n, rec + 14) == len;
        else if (!strcmp(mode, "fprintf")) ok = fprintf(fp, "rec %09ld %s", n, rec + 14) == len;
        else if (!strcmp(mode, "vfprintf")) ok = vput(fp, "rec %09ld %s", n, rec + 14) == len;
        else if (!strcmp(mode, "dprintf")) ok = dprintf(fileno(fp), "rec %09ld %s", n, rec + 14) == len;
        else if (!strcmp(mode, "fwprintf")) ok = fwprintf(fp, L"rec %09ld %s", n, rec + 14) == len;
        else if (!strcmp(mode, "fputws") || !strcmp(mode, "fputwc")) {
            wchar_t wide[160];
            for (int k = 0; k <= len; k++) wide[k] = (wchar_t)(unsigned char)rec[k];
            if (mode[5] == 's') ok = fputws(wide, fp) >= 0;
            else for (int k = 0; k < len && ok; k++) ok = fputwc(wide[k], fp) != WEOF;
        }
        else {
            errno = EINVAL;
            fail(how);
        }
        if (!ok) fail(mode);
        written += len;
        if (n == 0 && argc == 5) gate(argv[4]);
    }
    if (at_exit) exit(0);
    if (fclose(fp) != 0) fail("fclose");
    return 0;
}
