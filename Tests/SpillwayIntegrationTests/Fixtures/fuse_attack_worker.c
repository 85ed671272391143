/*
 * fuse_attack_worker.c — the container's side of FuseAttackTests, built
 * static and run inside a FUSE-mode container: ROUNDS times, under each DIR in
 * turn (a directory of the container's main disk whose spill-area half a racer
 * keeps swapping for a symlink to a host path), creates a file, makes a
 * directory, a FIFO and a symlink, and chmods (set-ID bits and 0777), chowns,
 * sets the times of and sets an extended attribute on each, and on DIR itself,
 * through the union.
 * Every call may fail (the racer makes names vanish); only the count matters.
 * Prints the rounds made and how many calls succeeded.
 *
 *   fuse-attack-worker ROUNDS DIR [DIR...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static long succeeded;

static void count(int rc) {
    if (rc == 0) succeeded++;
}

/* Every metadata change the union makes by a name, on `path`. */
static void change(const char *path) {
    static const struct timespec times[2] = {{1, 0}, {2, 0}};
    count(chmod(path, 06777));
    count(chown(path, 4321, 4321));
    count(lchown(path, 4322, 4322));
    count(utimensat(AT_FDCWD, path, times, 0));
    count(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW));
    count(setxattr(path, "user.attack", "escaped", 7, 0));
    count(lsetxattr(path, "user.attack", "escaped", 7, 0));
    count(removexattr(path, "user.attack"));
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: fuse-attack-worker ROUNDS DIR [DIR...]\n");
        return 2;
    }
    long rounds = strtol(argv[1], NULL, 10);
    int dirs = argc - 2;
    char file[4096], sub[4096];
    for (long r = 0; r < rounds; r++) {
        const char *dir = argv[2 + r % dirs];
        snprintf(file, sizeof(file), "%s/f", dir);
        snprintf(sub, sizeof(sub), "%s/d", dir);
        int fd = open(file, O_WRONLY | O_CREAT | O_NONBLOCK, 0644); /* a FIFO left there: no wait */
        if (fd >= 0) {
            succeeded++;
            close(fd);
        }
        change(file);
        count(unlink(file));
        count(mkdir(sub, 0777));
        change(sub);
        count(rmdir(sub));
        count(mknod(file, S_IFIFO | 0644, 0));
        change(file);
        count(unlink(file));
        count(symlink("nowhere", file));
        change(file);
        count(unlink(file));
        change(dir);
    }
    printf("%ld %ld\n", rounds, succeeded);
    return 0;
}
