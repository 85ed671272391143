/*
 * exec.c — running programs: execve, execveat, fexecve, execv, execvp,
 * execvpe, execl, execle, execlp, posix_spawn, posix_spawnp.
 *
 * libc's own exec family calls its internal execve, which no preload library
 * reaches, so every entry point is hooked. Two things happen:
 *  - a program that lives in the spill area (it was spilled, or created while
 *    spilling) is run from there: the path is a lookup through the union,
 *    and a PATH search (execvp, execlp, execvpe, posix_spawnp) finds it too;
 *  - the child keeps the library: LD_PRELOAD and every SPILLWAY_* variable
 *    this process started with are added to an environment that lacks them
 *    (a program that rebuilds its environment, `env -i`, sudo-like wrappers).
 *    The new environment is built on the stack (or, when large, in an
 *    anonymous mapping), never with malloc: exec may run in a vfork child.
 * The environment is kept in every state once the library is configured; the
 * path lookups happen only when not `normal`.
 *
 * A program this library cannot serve whose kind makes a container FUSE-served
 * when started later (a Go program: spillway_program.h) is recognised at exec
 * by the one ELF reader: the library is configured, so this container is
 * served by the preload library and the program's writes will not spill. One
 * line says so on standard error (the create-time look of spillway-runtime
 * did not find the program: docs/CONTAINERS.md), and the exec goes on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

/* The one ELF reader (include/spillway_program.h), reading with raw pread. */
static ssize_t sw_exec_pread(int fd, void *buf, size_t n, off_t off) {
    return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}
#define SPILLWAY_PREAD sw_exec_pread
#include "spillway_program.h"

extern char **environ;

SW_REAL_DECL(int, execve, (const char *, char *const[], char *const[]));
SW_REAL_DECL(int, fexecve, (int, char *const[], char *const[]));
SW_REAL_DECL(int, execvpe, (const char *, char *const[], char *const[]));
SW_REAL_DECL(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,
                                const posix_spawnattr_t *, char *const[], char *const[]));
SW_REAL_DECL(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,
                                 const posix_spawnattr_t *, char *const[], char *const[]));

/* The variables a child must keep, copied when the library loads. */
#define SW_KEEP_MAX 16
#define SW_KEEP_BYTES 16384
static char sw_keep_buf[SW_KEEP_BYTES];
static char *sw_keep[SW_KEEP_MAX];
static size_t sw_keep_count;

static int sw_keep_name(const char *entry) {
    return strncmp(entry, "LD_PRELOAD=", 11) == 0 || strncmp(entry, "SPILLWAY_", 9) == 0;
}

__attribute__((constructor)) static void sw_exec_capture(void) {
    sw_ensure_init();
    if (sw_cfg.slot == NULL || environ == NULL) return; /* not configured: plain libc */
    size_t used = 0;
    for (char **e = environ; *e != NULL && sw_keep_count < SW_KEEP_MAX; e++) {
        if (!sw_keep_name(*e) || strchr(*e, '=') == NULL) continue;
        size_t len = strlen(*e) + 1;
        if (used + len > SW_KEEP_BYTES) continue;
        memcpy(sw_keep_buf + used, *e, len);
        sw_keep[sw_keep_count++] = sw_keep_buf + used;
        used += len;
    }
}

#define SW_ENV_STACK 128
#define SW_ENV_LIMIT (1u << 20)

/* An environment: the caller's, or a copy with the kept variables added. */
struct sw_env {
    char *const *envp;
    char **mapped;
    size_t mapped_bytes;
    char *stack[SW_ENV_STACK];
};

/*
 * Which kept variables envp defines (a bit each), and its length, reading the program's
 * array and strings only through copies that cannot fault: -1 when any of it is unreadable
 * (the real call is then made with envp as given, and the kernel says EFAULT).
 */
static int sw_env_scan(char *const envp[], unsigned *have, size_t *count) {
    *have = 0;
    *count = 0;
    if (envp == NULL) return 0;
    char *chunk[64];
    size_t held = 0, at = 0; /* chunk holds envp[at - held .. at) */
    for (size_t i = 0;; i++) {
        char head[256];
        if (i == at) {
            /* The next pointers, up to the end of their page (the array may end just before
             * an unmapped one): one copy for many entries. */
            uintptr_t addr = (uintptr_t)&envp[i];
            size_t fit = (4096 - (addr & 4095)) / sizeof(char *);
            held = fit == 0 ? 1 : fit < 64 ? fit : 64;
            if (sw_copy_in(chunk, &envp[i], held * sizeof(char *)) != 0) return -1;
            at = i + held;
        }
        char *entry = chunk[i - (at - held)];
        if (entry == NULL) break;
        if (i >= SW_ENV_LIMIT) return -1;
        ssize_t len = sw_copy_string(entry, head, sizeof head);
        if (len < 0 && errno != ENAMETOOLONG) return -1;
        size_t hl = len < 0 ? sizeof head : (size_t)len;
        for (size_t k = 0; k < sw_keep_count; k++) {
            size_t name = (size_t)(strchr(sw_keep[k], '=') - sw_keep[k]) + 1;
            if (name <= hl && memcmp(head, sw_keep[k], name) == 0) *have |= 1u << k;
        }
        *count = i + 1;
    }
    return 0;
}

static void sw_env_prepare(struct sw_env *env, char *const envp[]) {
    env->envp = envp;
    env->mapped = NULL;
    if (sw_keep_count == 0) return;
    int saved = errno;
    unsigned have;
    size_t n, missing = 0;
    int readable = sw_env_scan(envp, &have, &n) == 0;
    errno = saved;
    if (!readable) return;
    for (size_t k = 0; k < sw_keep_count; k++) missing += !(have & (1u << k));
    if (missing == 0) return;
    size_t total = n + missing + 1;
    char **out = env->stack;
    if (total > SW_ENV_STACK) {
        if (total > SW_ENV_LIMIT) return;
        size_t bytes = total * sizeof(char *);
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return;
        out = m;
        env->mapped = m;
        env->mapped_bytes = bytes;
    }
    size_t i = 0;
    for (; i < n; i++) out[i] = envp[i];
    for (size_t k = 0; k < sw_keep_count; k++)
        if (!(have & (1u << k))) out[i++] = sw_keep[k];
    out[i] = NULL;
    env->envp = out;
}

/* After an exec that returned (it failed): free the mapping, keep errno. */
static void sw_env_release(struct sw_env *env) {
    if (env->mapped == NULL) return;
    int saved = errno;
    munmap(env->mapped, env->mapped_bytes);
    errno = saved;
}

/*
 * The program to run for `path`: the spill area's copy when it lives there, otherwise the name
 * as given. Never the union-resolved main name: the kernel hands a #! script the name it was
 * executed by, and scripts that dispatch on $0 through a symbolic link (Debian's pg_wrapper
 * behind pgbench and psql, busybox-style tools) must see the link, not its target.
 */
static const char *sw_exec_path(int dirfd, const char *path, int follow, char alt[PATH_MAX], int *use_dirfd) {
    *use_dirfd = dirfd;
    if (SW_IDLE() || !sw_path_named(path)) return path;
    const char *use = sw_name_lookup(dirfd, path, follow, alt, use_dirfd);
    if (use != path && *use_dirfd == dirfd && !sw_in_spill_area(use)) {
        *use_dirfd = dirfd;
        return path;
    }
    return use;
}

/* Is path an executable regular file (raw calls; errno kept)? */
static int sw_runnable(const char *path) {
    int saved = errno;
    struct stat st;
    int ok = sw_sys_fstatat(AT_FDCWD, path, &st, 0) == 0 && S_ISREG(st.st_mode) &&
             syscall(SYS_faccessat, AT_FDCWD, path, X_OK) == 0;
    errno = saved;
    return ok;
}

/*
 * A PATH search as execvp does it, through the union: 1 with the spill
 * area's name in alt when the first runnable match lives there; 0 when libc's
 * own search will find the right program.
 */
static int sw_search_spill(const char *given, char alt[PATH_MAX]) {
    char file[PATH_MAX];
    if (SW_IDLE() || given == NULL) return 0;
    int saved = errno;
    ssize_t got = sw_copy_path(given, file);
    errno = saved;
    if (got <= 0 || strchr(file, '/') != NULL) return 0;
    const char *search = getenv("PATH");
    if (search == NULL) search = "/bin:/usr/bin";
    size_t flen = strlen(file);
    char cand[PATH_MAX];
    for (const char *p = search;;) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        if (dlen + 1 + flen < PATH_MAX) {
            size_t c = 0;
            if (dlen == 0) {
                cand[c++] = '.';
            } else {
                memcpy(cand, p, dlen);
                c = dlen;
            }
            cand[c++] = '/';
            memcpy(cand + c, file, flen + 1);
            struct sw_loc loc;
            if (sw_locate(AT_FDCWD, cand, 1, &loc)) {
                if (loc.where == SW_IN_SPILL && sw_runnable(loc.spill)) {
                    memcpy(alt, loc.spill, strlen(loc.spill) + 1);
                    return 1;
                }
                if (loc.where == SW_IN_MAIN && sw_runnable(loc.main)) return 0;
            } else if (sw_runnable(cand)) {
                return 0;
            }
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return 0;
}

/*
 * A program open on fd (named `shown`, a union name) that the library cannot serve is said once:
 * a Go program (it makes its own system calls) always, since the container was meant to be
 * FUSE-served for it, with a line on standard error unless SPILLWAY_DEBUG's cannot-help line says
 * it; a static program only while the flag is up (every image has a static ldconfig).
 */
static void sw_exec_check_fd(int fd, const char *shown) {
    struct stat st;
    struct spillway_program program;
    if (sw_sys_fstatat(fd, "", &st, AT_EMPTY_PATH) != 0 || !S_ISREG(st.st_mode)) return;
    enum spillway_program_kind kind = spillway_program_read(fd, &program);
    int go = spillway_program_started_later_means_fuse(kind);
    if (!go && !(kind == SPILLWAY_PROGRAM_STATIC && !SW_IDLE())) return;
    char name[PATH_MAX];
    if (sw_copy_path(shown, name) <= 0) return;
    sw_unspill_path(name, sizeof name);
    char why[256] = "program not servable: ";
    size_t used = strlen(why);
    size_t len = strlen(spillway_program_why(kind));
    if (len > sizeof why - 1 - used) len = sizeof why - 1 - used;
    memcpy(why + used, spillway_program_why(kind), len);
    why[used + len] = '\0';
    sw_cannot_help(name, why, 0);
    if (!go || sw_cfg.debug) return;
    const char *parts[] = {"spillway: ", name, ": ", spillway_program_why(kind),
                           ", and this container is served by the preload library: its writes past the quota "
                           "are not spilled (create it with spillway.mode=fuse)\n"};
    char line[PATH_MAX + 512];
    used = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        len = strlen(parts[i]);
        if (len > sizeof line - used) len = sizeof line - used;
        memcpy(line + used, parts[i], len);
        used += len;
    }
    (void)syscall(SYS_write, 2, line, used);
}

/*
 * The check of an exec of `path` (from dirfd; `follow` as exec follows a last symbolic link):
 * only when the library is configured, with raw calls and errno kept; a FIFO or device is
 * never opened (fstatat first, O_NONBLOCK, fstat again).
 */
static void sw_exec_check(int dirfd, const char *path, int follow) {
    if (sw_cfg.slot == NULL || path == NULL) return;
    int saved = errno;
    char file[PATH_MAX];
    struct stat st;
    if (sw_copy_path(path, file) > 0 && sw_sys_fstatat(dirfd, file, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode)) {
        int fd = sw_sys_openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW), 0);
        if (fd >= 0) {
            sw_exec_check_fd(fd, file);
            sw_sys_close(fd);
        }
    }
    errno = saved;
}

static int sw_execve_impl(const char *path, char *const argv[], char *const envp[]) {
    char alt[PATH_MAX];
    int dirfd;
    struct sw_env env;
    sw_env_prepare(&env, envp);
    const char *use = sw_exec_path(AT_FDCWD, path, 1, alt, &dirfd);
    sw_exec_check(AT_FDCWD, use, 1);
    __typeof__(sw_real_execve) fn = SW_REAL(execve);
    int rc = fn != NULL ? fn(use, argv, env.envp) : (int)syscall(SYS_execve, use, argv, env.envp);
    sw_env_release(&env);
    return rc;
}

SW_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
    return sw_execve_impl(path, argv, envp);
}

SW_EXPORT int execv(const char *path, char *const argv[]) {
    return sw_execve_impl(path, argv, environ);
}

SW_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
    struct sw_env env;
    sw_env_prepare(&env, envp);
    if (sw_cfg.slot != NULL) {
        int saved = errno;
        sw_exec_check_fd(fd, "(fexecve)");
        errno = saved;
    }
    __typeof__(sw_real_fexecve) fn = SW_REAL(fexecve);
    int rc;
    if (fn != NULL) {
        rc = fn(fd, argv, env.envp);
    } else {
        rc = (int)syscall(SYS_execveat, fd, "", argv, env.envp, AT_EMPTY_PATH);
    }
    sw_env_release(&env);
    return rc;
}

static int sw_execvpe_impl(const char *file, char *const argv[], char *const envp[]) {
    char alt[PATH_MAX];
    int dirfd;
    struct sw_env env;
    sw_env_prepare(&env, envp);
    const char *use = file;
    if (sw_path_has_slash(file))
        use = sw_exec_path(AT_FDCWD, file, 1, alt, &dirfd);
    else if (sw_search_spill(file, alt))
        use = alt;
    if (use != file || sw_path_has_slash(file)) sw_exec_check(AT_FDCWD, use, 1);
    /* libc's execvpe: its PATH search, and /bin/sh for a script without "#!". */
    __typeof__(sw_real_execvpe) fn = SW_REAL(execvpe);
    int rc = fn != NULL ? fn(use, argv, env.envp) : (int)syscall(SYS_execve, use, argv, env.envp);
    sw_env_release(&env);
    return rc;
}

SW_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
    return sw_execvpe_impl(file, argv, envp);
}

SW_EXPORT int execvp(const char *file, char *const argv[]) {
    return sw_execvpe_impl(file, argv, environ);
}

/* execl, execle, execlp: their arguments as an argv, on the stack up to a
 * bound and in an anonymous mapping beyond it. */
#define SW_ARGV_STACK 256

#define SW_EXECL_BODY(first, call_with_argv, take_env)                                          \
    do {                                                                                        \
        va_list ap;                                                                             \
        size_t argc = 1;                                                                        \
        va_start(ap, first);                                                                    \
        while (va_arg(ap, char *) != NULL) argc++;                                              \
        va_end(ap);                                                                             \
        char *stack_argv[SW_ARGV_STACK];                                                        \
        char **argv = stack_argv;                                                               \
        size_t bytes = (argc + 1) * sizeof(char *);                                             \
        if (argc + 1 > SW_ARGV_STACK) {                                                         \
            void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); \
            if (m == MAP_FAILED) {                                                              \
                errno = E2BIG;                                                                  \
                return -1;                                                                      \
            }                                                                                   \
            argv = m;                                                                           \
        }                                                                                       \
        va_start(ap, first);                                                                    \
        argv[0] = (char *)(first);                                                              \
        for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(ap, char *);                        \
        char *const *envp_ = environ;                                                           \
        if (take_env) envp_ = va_arg(ap, char *const *);                                        \
        va_end(ap);                                                                             \
        int rc_ = call_with_argv;                                                               \
        if (argv != stack_argv) {                                                               \
            int saved_ = errno;                                                                 \
            munmap(argv, bytes);                                                                \
            errno = saved_;                                                                     \
        }                                                                                       \
        return rc_;                                                                             \
    } while (0)

SW_EXPORT int execl(const char *path, const char *arg, ...) {
    SW_EXECL_BODY(arg, sw_execve_impl(path, argv, envp_), 0);
}

SW_EXPORT int execle(const char *path, const char *arg, ...) {
    SW_EXECL_BODY(arg, sw_execve_impl(path, argv, envp_), 1);
}

SW_EXPORT int execlp(const char *file, const char *arg, ...) {
    SW_EXECL_BODY(arg, sw_execvpe_impl(file, argv, envp_), 0);
}

SW_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    char alt[PATH_MAX];
    int dirfd;
    struct sw_env env;
    sw_env_prepare(&env, envp);
    const char *use = sw_exec_path(AT_FDCWD, path, 1, alt, &dirfd);
    sw_exec_check(AT_FDCWD, use, 1);
    int rc = SW_REAL(posix_spawn)(pid, use, actions, attr, argv, env.envp);
    sw_env_release(&env);
    return rc;
}

SW_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    char alt[PATH_MAX];
    struct sw_env env;
    sw_env_prepare(&env, envp);
    int rc;
    if (sw_path_has_slash(file)) {
        int dirfd;
        const char *use = sw_exec_path(AT_FDCWD, file, 1, alt, &dirfd);
        sw_exec_check(AT_FDCWD, use, 1);
        rc = SW_REAL(posix_spawnp)(pid, use, actions, attr, argv, env.envp);
    } else if (sw_search_spill(file, alt)) {
        sw_exec_check(AT_FDCWD, alt, 1);
        rc = SW_REAL(posix_spawn)(pid, alt, actions, attr, argv, env.envp);
    } else {
        rc = SW_REAL(posix_spawnp)(pid, file, actions, attr, argv, env.envp);
    }
    sw_env_release(&env);
    return rc;
}

#ifdef __GLIBC__
SW_REAL_DECL(int, execveat, (int, const char *, char *const[], char *const[], int));

SW_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    char alt[PATH_MAX];
    int use_dirfd;
    struct sw_env env;
    sw_env_prepare(&env, envp);
    const char *use = path;
    use_dirfd = dirfd;
    if (!((flags & AT_EMPTY_PATH) && !sw_path_named(path)))
        use = sw_exec_path(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), alt, &use_dirfd);
    if ((flags & AT_EMPTY_PATH) && !sw_path_named(path)) {
        if (sw_cfg.slot != NULL) {
            int saved = errno;
            sw_exec_check_fd(dirfd, "(execveat)");
            errno = saved;
        }
    } else {
        sw_exec_check(use_dirfd, use, !(flags & AT_SYMLINK_NOFOLLOW));
    }
    __typeof__(sw_real_execveat) fn = SW_REAL(execveat);
    int rc = fn != NULL ? fn(use_dirfd, use, argv, env.envp, flags)
                        : (int)syscall(SYS_execveat, use_dirfd, use, argv, env.envp, flags);
    sw_env_release(&env);
    return rc;
}
#endif
