/*
 * spillway_syscalls.h — system calls Swift cannot reach through Glibc:
 * those glibc wraps only under _GNU_SOURCE or not at all, called through
 * syscall(2), which Swift cannot call because it is variadic.
 */
#ifndef SPILLWAY_SYSCALLS_H
#define SPILLWAY_SYSCALLS_H

#include <stdint.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* openat2's `how.resolve` flags (linux/openat2.h). */
#define SPILLWAY_RESOLVE_NO_XDEV 0x01
#define SPILLWAY_RESOLVE_NO_MAGICLINKS 0x02
#define SPILLWAY_RESOLVE_NO_SYMLINKS 0x04
#define SPILLWAY_RESOLVE_BENEATH 0x08
#define SPILLWAY_RESOLVE_IN_ROOT 0x10

/* Open-file-description locks (fcntl.h hides them without _GNU_SOURCE). */
enum {
    SPILLWAY_F_OFD_GETLK = 36,
    SPILLWAY_F_OFD_SETLK = 37,
    SPILLWAY_F_OFD_SETLKW = 38,
};

/* renameat2(2): returns 0 or -1 with errno set. */
int spillway_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

/* openat2(2) with struct open_how {flags, mode, resolve}: a descriptor or -1 with errno set.
 * A relative path too long for one call (PATH_MAX or more) is walked in chunks, each
 * resolved with the same `resolve` flags beneath the directory the last one reached. */
int spillway_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/* The one way root makes a directory in a tree a container controls, with another directory's
 * owner and mode: the FUSE union (a missing parent in the other branch) and the daemon's ask
 * server (spill-area parents a non-root process asked for) both call it (mkdir.c). */
/*
 * Makes `name` (one component) in the held directory `parent` with mkdirat(2), mode 0700; opens
 * it again with openat2(2) beneath `parent` (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, O_DIRECTORY | O_NOFOLLOW); checks with fstat(2) that
 * it is a directory of this process's euid with no group, other or special bits (the one just
 * made: anything the container swapped in meanwhile is refused with -EAGAIN and left alone);
 * then fchown(2)s it to uid:gid and fchmod(2)s it to `mode` through that descriptor (owner
 * first: chown clears set-ID bits).
 *
 * Returns the new directory's descriptor (close-on-exec), -EEXIST when something is at `name`
 * already (left as it is), or -errno.
 */
int spillway_mkdir_like(int parent, const char *name, uint32_t uid, uint32_t gid, uint32_t mode);

#endif /* SPILLWAY_SYSCALLS_H */
