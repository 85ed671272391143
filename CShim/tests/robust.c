/*
 * robust.c — hammer the hooked calls from every angle a program can take, and
 * report what each call returned, so that a run under the preload library can
 * be compared with a run without it.
 *
 * Usage: robust DIR THREADS SECONDS
 *
 * Each thread loops over: open+close of DIR/exists, open of DIR/missing
 * (ENOENT), stat of both, create+write+close+unlink of a file of its own,
 * fopen of DIR/exists. The main thread meanwhile forks (the child runs the
 * same calls), vforks and execs /bin/true, posix_spawns /bin/true, execs a
 * child with a rebuilt environment (env -i style), and a 1 ms interval timer
 * opens DIR/exists from a signal handler. Any result other than the expected
 * one is counted; the program prints "mismatches=N calls=M" and exits 0 when
 * N is 0. It must never crash or hang.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *dir;
static double seconds;
static volatile int stop;
static unsigned long mismatches, calls;
static int in_child; /* after fork: one thread, no stdio */
static char exists_path[4096], missing_path[4096];
static volatile sig_atomic_t signal_opens, signal_failures;

/* Lock-free, so that a fork while another thread counts cannot deadlock the child. */
static void count(int ok, const char *what, int err) {
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (!ok) {
        unsigned long n = __atomic_add_fetch(&mismatches, 1, __ATOMIC_RELAXED);
        if (n < 10 && !in_child) fprintf(stderr, "mismatch: %s (errno %d %s)\n", what, err, strerror(err));
    }
}

static void one_round(int id, int round) {
    int fd = open(exists_path, O_RDONLY | O_CLOEXEC);
    count(fd >= 0, "open exists", errno);
    if (fd >= 0) close(fd);
    errno = 0;
    fd = open(missing_path, O_RDONLY);
    count(fd < 0 && errno == ENOENT, "open missing gives ENOENT", errno);
    struct stat st;
    count(stat(exists_path, &st) == 0 && st.st_size == 6, "stat exists", errno);
    errno = 0;
    count(stat(missing_path, &st) != 0 && errno == ENOENT, "stat missing gives ENOENT", errno);
    char mine[4200];
    snprintf(mine, sizeof(mine), "%s/t%d-%d", dir, id, round);
    fd = open(mine, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    count(fd >= 0, "create own file", errno);
    if (fd >= 0) {
        count(write(fd, "data", 4) == 4, "write own file", errno);
        close(fd);
        count(stat(mine, &st) == 0 && st.st_size == 4, "stat own file", errno);
        count(unlink(mine) == 0, "unlink own file", errno);
        errno = 0;
        count(stat(mine, &st) != 0 && errno == ENOENT, "own file gone", errno);
    }
    if (in_child) return; /* stdio locks may be held by a thread that no longer exists */
    FILE *f = fopen(exists_path, "r");
    count(f != NULL, "fopen exists", errno);
    if (f) {
        char buf[8] = {0};
        count(fread(buf, 1, 6, f) == 6 && memcmp(buf, "exists", 6) == 0, "fread exists", errno);
        fclose(f);
    }
}

static void *worker(void *arg) {
    (void)in_child;
    int id = (int)(long)arg;
    for (int round = 0; !stop; round++) one_round(id, round);
    return NULL;
}

static void on_alarm(int sig) {
    (void)sig;
    int saved = errno;
    int fd = open(exists_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        signal_opens++;
    } else {
        signal_failures++;
    }
    errno = saved;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int wait_ok(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: robust DIR THREADS SECONDS\n");
        return 2;
    }
    dir = argv[1];
    int threads = atoi(argv[2]);
    seconds = atof(argv[3]);
    snprintf(exists_path, sizeof(exists_path), "%s/exists", dir);
    snprintf(missing_path, sizeof(missing_path), "%s/missing", dir);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval timer = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &timer, NULL);

    pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
    for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker, (void *)(long)i);

    double end = now() + seconds;
    int round = 0;
    while (now() < end) {
        pid_t child = fork();
        if (child == 0) {
            in_child = 1;
            __atomic_store_n(&mismatches, 0, __ATOMIC_RELAXED);
            for (int r = 0; r < 3; r++) one_round(1000 + getpid() % 1000, r);
            _exit(mismatches == 0 ? 0 : 1);
        }
        count(child > 0 && wait_ok(child), "fork child", errno);

        child = vfork();
        if (child == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        count(child > 0 && wait_ok(child), "vfork+exec", errno);

        pid_t spawned;
        char *spawn_argv[] = {"true", NULL};
        count(posix_spawn(&spawned, "/bin/true", NULL, NULL, spawn_argv, environ) == 0 && wait_ok(spawned), "posix_spawn", errno);

        /* exec with a rebuilt environment: only PATH, as env -i PATH=... would. */
        child = fork();
        if (child == 0) {
            char *clean_env[] = {"PATH=/usr/bin:/bin", NULL};
            char *cat_argv[] = {"cat", exists_path, NULL};
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) dup2(devnull, 1);
            execve("/bin/cat", cat_argv, clean_env);
            _exit(127);
        }
        count(child > 0 && wait_ok(child), "exec with rebuilt environment", errno);
        round++;
    }
    stop = 1;
    for (int i = 0; i < threads; i++) pthread_join(tids[i], NULL);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    if (signal_failures) {
        mismatches += (unsigned long)signal_failures;
        fprintf(stderr, "mismatch: %d opens from the signal handler failed\n", (int)signal_failures);
    }
    printf("mismatches=%lu calls=%lu rounds=%d signal_opens=%d\n", mismatches, calls, round, (int)signal_opens);
    return mismatches == 0 ? 0 : 1;
}
