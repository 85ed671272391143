/*
 * entry.c — spillway-entry, the launcher placed in front of a container's
 * program (/.spillway/bin/spillway-entry inside the container).
 *
 * Usage: spillway-entry PROGRAM [ARG...]
 *
 * It finds PROGRAM as execvp would, classifies it with the one ELF reader
 * (include/spillway_program.h) and starts it as that kind is served: with
 * the preload library that matches its C library (the glibc one for a glibc
 * loader, the musl one for a musl loader), or, for a static program or a Go
 * program (Go makes its own system calls, cgo or not), as is, marked with
 * SPILLWAY_PROGRAM=static or go for the FUSE union. Anything the launcher cannot
 * read runs as is, with a one-line warning. The launcher is linked statically
 * so it runs in containers that have no C library at all.
 *
 * A "#!" script is judged by its interpreter (one level: "#!/usr/bin/env
 * python3" is judged by env, whose children inherit LD_PRELOAD).
 *
 * Environment: SPILLWAY_LIB_DIR (default /.spillway/lib, where
 * spillway-runtime mounts the installed lib_dir) holds libspillway.so and
 * libspillway-musl.so, and, when installed, the preload tree
 * preload/$LIB/libspillway.so: then LD_PRELOAD names that tree, one value
 * that serves glibc and musl programs alike, so a glibc program that runs a
 * musl one (or the reverse) keeps the library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spillway_program.h"

#define DEFAULT_LIB_DIR "/.spillway/lib"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void warn(const char *program, const char *why) {
    fprintf(stderr, "spillway-entry: %s: %s; running it without Spillway\n", program, why);
}

static int is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Find `name` as execvp would; returns 0 and fills `out`, or an errno value. */
static int resolve_program(const char *name, char out[PATH_MAX]) {
    if (strchr(name, '/') != NULL) {
        if (strlen(name) >= PATH_MAX) return ENAMETOOLONG;
        strcpy(out, name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL || path[0] == '\0') path = DEFAULT_PATH;
    int err = ENOENT;
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t dir_len = end ? (size_t)(end - p) : strlen(p);
        const char *dir = dir_len ? p : ".";
        if (dir_len == 0) dir_len = 1;
        if (dir_len + 1 + strlen(name) < PATH_MAX) {
            memcpy(out, dir, dir_len);
            out[dir_len] = '/';
            strcpy(out + dir_len + 1, name);
            if (is_executable_file(out)) return 0;
            if (access(out, F_OK) == 0) err = EACCES;
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return err;
}

/* The kind of the ELF file `path` (spillway_program.h); SPILLWAY_PROGRAM_UNKNOWN with `why` set on failure. */
static enum spillway_program_kind inspect_elf(const char *path, const char **why) {
    *why = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = strerror(errno);
        return SPILLWAY_PROGRAM_UNKNOWN;
    }
    struct spillway_program program;
    enum spillway_program_kind kind = spillway_program_read(fd, &program);
    if (kind == SPILLWAY_PROGRAM_UNKNOWN) *why = program.why;
    close(fd);
    return kind;
}

/*
 * The kind of `path`: an ELF program by its own headers, a "#!" script by its
 * interpreter's. `shown` receives the file the answer is about.
 */
static enum spillway_program_kind inspect(const char *path, const char **why, char shown[PATH_MAX]) {
    snprintf(shown, PATH_MAX, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = strerror(errno);
        return SPILLWAY_PROGRAM_UNKNOWN;
    }
    char head[PATH_MAX];
    ssize_t got = read(fd, head, sizeof(head) - 1);
    close(fd);
    if (got < 2 || head[0] != '#' || head[1] != '!') return inspect_elf(path, why);
    head[got] = '\0';
    char *p = head + 2;
    while (*p == ' ' || *p == '\t') p++;
    char *end = p;
    while (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\n') end++;
    *end = '\0';
    if (*p != '/') {
        *why = "its #! line names no absolute interpreter";
        return SPILLWAY_PROGRAM_UNKNOWN;
    }
    snprintf(shown, PATH_MAX, "%s", p);
    return inspect_elf(shown, why);
}

/* LD_PRELOAD with `lib` in front (once). */
static int set_preload(const char *lib) {
    const char *old = getenv("LD_PRELOAD");
    if (old == NULL || old[0] == '\0') return setenv("LD_PRELOAD", lib, 1);
    if (strstr(old, lib) != NULL) return 0;
    size_t need = strlen(lib) + 1 + strlen(old) + 1;
    char *value = malloc(need);
    if (value == NULL) return -1;
    snprintf(value, need, "%s:%s", lib, old);
    int rc = setenv("LD_PRELOAD", value, 1);
    free(value);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: spillway-entry PROGRAM [ARG...]\n");
        return 127;
    }
    const char *name = argv[1];
    char program[PATH_MAX];
    int err = resolve_program(name, program);
    if (err != 0) {
        fprintf(stderr, "spillway-entry: %s: %s\n", name, strerror(err));
        return err == ENOENT ? 127 : 126;
    }
    const char *why = NULL;
    char judged[PATH_MAX];
    enum spillway_program_kind kind = inspect(program, &why, judged);
    const char *lib_dir = getenv("SPILLWAY_LIB_DIR");
    if (lib_dir == NULL || lib_dir[0] == '\0') lib_dir = DEFAULT_LIB_DIR;
    char lib[PATH_MAX], tree[PATH_MAX];
    enum spillway_serving serving = spillway_program_serving(kind);
    switch (serving) {
    case SPILLWAY_SERVED_AS_IS: {
        char reason[PATH_MAX + 64];
        if (strcmp(judged, program) != 0)
            snprintf(reason, sizeof(reason), "its interpreter %s: %s", judged, why ? why : "cannot inspect it");
        else
            snprintf(reason, sizeof(reason), "%s", why ? why : "cannot inspect it");
        warn(program, reason);
        break;
    }
    case SPILLWAY_SERVED_BY_FUSE:
        /* Static and Go programs: no preload library reaches their system calls; the
         * container's FUSE union serves them (spillway-runtime chose mode fuse). A container
         * served by the preload library has its spill area (SPILLWAY_SPILL): there nothing
         * serves this program, and it is said (`docker exec`, spillway.mode=preload). */
        setenv("SPILLWAY_PROGRAM", spillway_program_kind_name(kind), 1);
        if (getenv("SPILLWAY_SPILL") != NULL && getenv("SPILLWAY_SPILL")[0] != '\0') {
            char reason[512];
            snprintf(reason, sizeof(reason), "%s, and this container is served by the preload library "
                     "(create it with spillway.mode=fuse)", spillway_program_why(kind));
            warn(program, reason);
        }
        break;
    case SPILLWAY_SERVED_BY_GLIBC_LIBRARY:
    case SPILLWAY_SERVED_BY_MUSL_LIBRARY:
        snprintf(lib, sizeof(lib), "%s/%s", lib_dir,
                 serving == SPILLWAY_SERVED_BY_MUSL_LIBRARY ? "libspillway-musl.so" : "libspillway.so");
        /* The preload tree's musl directory is literally named "$LIB". */
        snprintf(tree, sizeof(tree), "%s/preload/$LIB/libspillway.so", lib_dir);
        if (access(lib, R_OK) != 0) {
            char reason[PATH_MAX + 64];
            snprintf(reason, sizeof(reason), "preload library %s: %s", lib, strerror(errno));
            warn(program, reason);
        } else if (set_preload(access(tree, R_OK) == 0 ? tree : lib) != 0) {
            warn(program, "cannot set LD_PRELOAD");
        }
        setenv("SPILLWAY_PROGRAM", spillway_program_kind_name(kind), 1);
        break;
    }
    execv(program, argv + 1);
    int code = errno == ENOENT ? 127 : 126;
    fprintf(stderr, "spillway-entry: %s: %s\n", program, strerror(errno));
    return code;
}
