/*
 * xattr.c — extended attributes by path: getxattr, lgetxattr, listxattr,
 * llistxattr (lookups: the spill area first), setxattr, lsetxattr,
 * removexattr, lremovexattr (where the name lives; both halves of a
 * directory present in both places).
 *
 * A file moved into the spill area carries the library's own mark
 * (SW_ORIGIN_XATTR, move.c): it is not shown to the application, which sees
 * the attributes the file had on the main disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "real.h"

SW_REAL_DECL(ssize_t, getxattr, (const char *, const char *, void *, size_t));
SW_REAL_DECL(ssize_t, lgetxattr, (const char *, const char *, void *, size_t));
SW_REAL_DECL(ssize_t, listxattr, (const char *, char *, size_t));
SW_REAL_DECL(ssize_t, llistxattr, (const char *, char *, size_t));
SW_REAL_DECL(int, setxattr, (const char *, const char *, const void *, size_t, int));
SW_REAL_DECL(int, lsetxattr, (const char *, const char *, const void *, size_t, int));
SW_REAL_DECL(int, removexattr, (const char *, const char *));
SW_REAL_DECL(int, lremovexattr, (const char *, const char *));

#define SW_XATTR_LIST_MAX 65536

static ssize_t sw_getxattr_call(int follow, const char *path, const char *name, void *value, size_t size) {
    if (follow) {
        __typeof__(sw_real_getxattr) fn = SW_REAL(getxattr);
        if (fn != NULL) return fn(path, name, value, size);
        return syscall(SYS_getxattr, path, name, value, size);
    }
    __typeof__(sw_real_lgetxattr) fn = SW_REAL(lgetxattr);
    if (fn != NULL) return fn(path, name, value, size);
    return syscall(SYS_lgetxattr, path, name, value, size);
}

static ssize_t sw_listxattr_call(int follow, const char *path, char *list, size_t size) {
    if (follow) {
        __typeof__(sw_real_listxattr) fn = SW_REAL(listxattr);
        if (fn != NULL) return fn(path, list, size);
        return syscall(SYS_listxattr, path, list, size);
    }
    __typeof__(sw_real_llistxattr) fn = SW_REAL(llistxattr);
    if (fn != NULL) return fn(path, list, size);
    return syscall(SYS_llistxattr, path, list, size);
}

static ssize_t sw_getxattr_union(int follow, const char *path, const char *name, void *value, size_t size) {
    char alt[PATH_MAX];
    int dirfd;
    const char *use = sw_name_lookup(AT_FDCWD, path, follow, alt, &dirfd);
    char head[sizeof(SW_ORIGIN_XATTR) + 1];
    int saved = errno;
    /* The program's name, read only through a copy that cannot fault (EFAULT from the real call). */
    int ours = use == alt && sw_in_spill_area(alt) && name != NULL && sw_copy_string(name, head, sizeof head) >= 0 &&
               strcmp(head, SW_ORIGIN_XATTR) == 0;
    errno = saved;
    if (ours) {
        errno = ENODATA;
        return -1;
    }
    return sw_getxattr_call(follow, use, name, value, size);
}

/* Remove the library's own name from a list of n bytes; the new length. */
static size_t sw_filter_list(char *list, size_t n) {
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t len = strnlen(list + i, n - i);
        size_t step = len + (i + len < n ? 1 : 0);
        if (!(len == sizeof(SW_ORIGIN_XATTR) - 1 && memcmp(list + i, SW_ORIGIN_XATTR, len) == 0)) {
            memmove(list + out, list + i, step);
            out += step;
        }
        i += step;
    }
    return out;
}

static ssize_t sw_listxattr_union(int follow, const char *path, char *list, size_t size) {
    char alt[PATH_MAX];
    int dirfd;
    const char *use = sw_name_lookup(AT_FDCWD, path, follow, alt, &dirfd);
    ssize_t got = sw_listxattr_call(follow, use, list, size);
    if (use != alt || !sw_in_spill_area(alt)) return got;
    if (got > 0 && size > 0) return (ssize_t)sw_filter_list(list, (size_t)got);
    if (got < 0 && (errno == ERANGE || errno == EFAULT) && size > 0) {
        /* The list with our name is too long for the buffer, or the buffer cannot take it;
         * without it, it may fit (an empty list writes nothing, as the kernel's would). */
        int saved = errno;
        char *big = mmap(NULL, SW_XATTR_LIST_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (big == MAP_FAILED) {
            errno = saved;
            return got;
        }
        ssize_t all = sw_listxattr_call(follow, use, big, SW_XATTR_LIST_MAX);
        if (all > 0) {
            size_t kept = sw_filter_list(big, (size_t)all);
            if (kept <= size && sw_copy_out(list, big, kept) == 0) got = (ssize_t)kept;
        }
        munmap(big, SW_XATTR_LIST_MAX);
        if (got < 0) errno = saved;
    }
    return got;
}

SW_EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size) {
    if (!SW_IDLE()) return sw_getxattr_union(1, path, name, value, size);
    return sw_getxattr_call(1, path, name, value, size);
}

SW_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size) {
    if (!SW_IDLE()) return sw_getxattr_union(0, path, name, value, size);
    return sw_getxattr_call(0, path, name, value, size);
}

SW_EXPORT ssize_t listxattr(const char *path, char *list, size_t size) {
    if (!SW_IDLE()) return sw_listxattr_union(1, path, list, size);
    return sw_listxattr_call(1, path, list, size);
}

SW_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size) {
    if (!SW_IDLE()) return sw_listxattr_union(0, path, list, size);
    return sw_listxattr_call(0, path, list, size);
}

/* Changes: where the name lives, both halves of a directory. */
struct sw_xattr_change {
    const char *name;
    const void *value;
    size_t size;
    int flags;
    int follow;
    int remove;
};

static int sw_xattr_change_op(int dirfd, const char *path, void *ctx) {
    const struct sw_xattr_change *c = ctx;
    (void)dirfd; /* always AT_FDCWD: these calls take no directory descriptor */
    if (c->remove) {
        __typeof__(sw_real_removexattr) fn = c->follow ? SW_REAL(removexattr) : SW_REAL(lremovexattr);
        if (fn != NULL) return fn(path, c->name);
        return (int)syscall(c->follow ? SYS_removexattr : SYS_lremovexattr, path, c->name);
    }
    __typeof__(sw_real_setxattr) fn = c->follow ? SW_REAL(setxattr) : SW_REAL(lsetxattr);
    if (fn != NULL) return fn(path, c->name, c->value, c->size, c->flags);
    return (int)syscall(c->follow ? SYS_setxattr : SYS_lsetxattr, path, c->name, c->value, c->size, c->flags);
}

static int sw_xattr_change(const char *path, struct sw_xattr_change *c) {
    if (!SW_IDLE()) return sw_on_places(AT_FDCWD, path, c->follow, sw_xattr_change_op, c);
    return sw_xattr_change_op(AT_FDCWD, path, c);
}

SW_EXPORT int setxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
    struct sw_xattr_change c = {name, value, size, flags, 1, 0};
    return sw_xattr_change(path, &c);
}

SW_EXPORT int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
    struct sw_xattr_change c = {name, value, size, flags, 0, 0};
    return sw_xattr_change(path, &c);
}

SW_EXPORT int removexattr(const char *path, const char *name) {
    struct sw_xattr_change c = {name, NULL, 0, 0, 1, 1};
    return sw_xattr_change(path, &c);
}

SW_EXPORT int lremovexattr(const char *path, const char *name) {
    struct sw_xattr_change c = {name, NULL, 0, 0, 0, 1};
    return sw_xattr_change(path, &c);
}
