/*
 * stdout.c — writes through stdio: every flush of a stream goes through the library's write().
 *
 * glibc's and musl's stdio flush a stream's buffer with libc's internal write, which no
 * preload hook sees, so a stream on a main-disk file would neither move while `spilling` nor
 * be rescued from EDQUOT/ENOSPC. The two C libraries are served differently:
 *
 * glibc: the library takes the flush out of libc's hands. Each output entry point (fwrite,
 * fputs, fputc/putc, putchar, puts, putw, the printf family with its __*_chk forms, their
 * _unlocked forms, __overflow behind the inline putc_unlocked macro, fflush, fclose, fcloseall,
 * pclose, the seeks, the setvbuf family, the old _IO_* names, and the flush at exit) holds the stream's lock and looks at the stream's buffer pointers: when the
 * bytes fit in the room left, libc only copies them (no system call can happen, one
 * comparison); otherwise the library writes the buffered bytes and then the caller's own with
 * write() (write.c: the move while `spilling`, the rescue in every state), leaves the buffer
 * empty exactly as libc's own flush does, and lets libc copy what fits. The printf family
 * lets libc format into the stream's buffer with the descriptor set aside (SW_VPRINT); a text
 * that would need a flush is formatted again here and takes the same path.
 * A flush that fails even after the rescue marks the stream's error and drops its buffer, as
 * libc does. Wide streams: see "wide-oriented streams" below. Streams without a descriptor
 * (fmemopen, open_memstream, fopencookie) and read/write streams holding read-ahead are left
 * to libc.
 *
 * musl: each FILE carries its own `write` function, which every flush calls (fwrite, the
 * printf family, fputc, fflush, fclose and the flush at exit alike). Streams opened with
 * fopen, fdopen and freopen, and stdout and stderr, get the library's copy of musl's
 * __stdio_write, whose writev is the library's.
 *
 * Linux's syscall user dispatch (trap libc's own system calls inside a hooked call) was
 * measured as the other way in: one trapped call costs about 12 µs on this project's VM
 * (getppid 1.8 µs plain, 14 µs trapped), several times a 4 KiB write, so it is not used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#ifdef __GLIBC__
#include <sys/single_threaded.h>
#endif
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wchar.h>

#include "real.h"

/* <bits/stdio.h> makes some of these macros when optimising: the hooks are the functions. */
#undef fwrite_unlocked
#undef fputc_unlocked
#undef putc_unlocked
#undef putc
#undef putchar_unlocked
#undef fputs_unlocked

/* Write all n bytes through the library's write() (write.c); the bytes written. */
static size_t sw_put_fd(int fd, const char *p, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    return done;
}

#ifdef __GLIBC__
extern int __vsnprintf_chk(char *, size_t, int, size_t, const char *, va_list);
#define SW_FORMAT(buf, cap, flag, fmt, ap) \
    ((flag) >= 0 ? __vsnprintf_chk((buf), (cap), (flag), (cap), (fmt), (ap)) : vsnprintf((buf), (cap), (fmt), (ap)))
#else
#define SW_FORMAT(buf, cap, flag, fmt, ap) ((void)(flag), vsnprintf((buf), (cap), (fmt), (ap)))
#endif

#ifdef __GLIBC__
static size_t sw_put(FILE *fp, const char *p, size_t n);
#endif

/*
 * The printf family: the text is formatted here first (its length is then known), into a
 * stack buffer or, when longer, one from malloc, and put into the stream `fp` (glibc) or
 * written to `fd` (dprintf: glibc's and musl's write through a FILE of their own with libc's
 * internal write). `flag` >= 0: glibc's fortified form with that flag. When memory runs out,
 * `fallback` (libc's own function) does the whole call.
 */
static int sw_vformat(FILE *fp, int fd, int flag, const char *fmt, va_list ap, int (*fallback)(FILE *, int, int, const char *, va_list)) {
    char local[1024];
    va_list again;
    va_copy(again, ap);
    int len = SW_FORMAT(local, sizeof local, flag, fmt, ap);
    char *text = local;
    if (len >= (int)sizeof local) {
        text = malloc((size_t)len + 1);
        if (text == NULL) {
            int r = fallback(fp, fd, flag, fmt, again);
            va_end(again);
            return r;
        }
        len = SW_FORMAT(text, (size_t)len + 1, flag, fmt, again);
    }
    va_end(again);
    int r = len;
    if (len > 0 && fp == NULL) {
        if (sw_put_fd(fd, text, (size_t)len) != (size_t)len) r = -1;
    }
#ifdef __GLIBC__
    else if (len > 0) {
        flockfile(fp);
        if (sw_put(fp, text, (size_t)len) != (size_t)len) r = -1;
        funlockfile(fp);
    }
#endif
    if (text != local) free(text);
    return r;
}

SW_REAL_DECL(int, vdprintf, (int, const char *, va_list));
#ifdef __GLIBC__
SW_REAL_DECL(int, __vdprintf_chk, (int, int, const char *, va_list));
#endif

static int sw_libc_vdprintf(FILE *fp, int fd, int flag, const char *fmt, va_list ap) {
    (void)fp;
#ifdef __GLIBC__
    if (flag >= 0) return SW_REAL(__vdprintf_chk)(fd, flag, fmt, ap);
#endif
    (void)flag;
    return SW_REAL(vdprintf)(fd, fmt, ap);
}

static int sw_vdprint(int fd, int flag, const char *fmt, va_list ap) {
    return sw_vformat(NULL, fd, flag, fmt, ap, sw_libc_vdprintf);
}

#define SW_VARIADIC(call)      \
    va_list ap;                \
    va_start(ap, fmt);         \
    int r = (call);            \
    va_end(ap);                \
    return r

SW_EXPORT int vdprintf(int fd, const char *fmt, va_list ap) {
    return sw_vdprint(fd, -1, fmt, ap);
}

SW_EXPORT int dprintf(int fd, const char *fmt, ...) {
    SW_VARIADIC(sw_vdprint(fd, -1, fmt, ap));
}

#ifdef __GLIBC__
SW_EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap) {
    return sw_vdprint(fd, flag < 0 ? 0 : flag, fmt, ap);
}

SW_EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...) {
    SW_VARIADIC(sw_vdprint(fd, flag < 0 ? 0 : flag, fmt, ap));
}

/* glibc's stream flags (libio.h) that struct_FILE.h does not define. */
#define SW_IO_UNBUFFERED 0x0002
#define SW_IO_NO_WRITES 0x0008
#define SW_IO_LINE_BUF 0x0200
#define SW_IO_CURRENTLY_PUTTING 0x0800
#define SW_IO_IS_APPENDING 0x1000

SW_REAL_DECL(size_t, fwrite_unlocked, (const void *, size_t, size_t, FILE *));
SW_REAL_DECL(int, __overflow, (FILE *, int));
SW_REAL_DECL(int, fflush_unlocked, (FILE *));
SW_REAL_DECL(int, fflush, (FILE *));
SW_REAL_DECL(int, fclose, (FILE *));

extern FILE *_IO_list_all;
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);

/* A narrow stream on a descriptor, not holding read-ahead: its flushes are the library's. */
static int sw_owned(FILE *fp) {
    return fp->_fileno >= 0 && fp->_mode <= 0 && !(fp->_flags & SW_IO_NO_WRITES);
}

/* After the buffer was written (or dropped): libc's own reset (fileops.c new_do_write). */
static void sw_reset_buffer(FILE *fp) {
    fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end = fp->_IO_buf_base;
    fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_buf_base;
    fp->_IO_write_end = (fp->_flags & (SW_IO_LINE_BUF | SW_IO_UNBUFFERED)) ? fp->_IO_buf_base : fp->_IO_buf_end;
}

/* The stream has a buffer and is writing: 0; -1 when libc keeps it (read-ahead held). */
static int sw_ready_to_put(FILE *fp) {
    if (fp->_IO_buf_base == NULL || !(fp->_flags & SW_IO_CURRENTLY_PUTTING)) {
        /* libc's own overflow with EOF allocates the buffer and switches to writing; with
         * nothing buffered it writes nothing. */
        if (fp->_IO_write_ptr > fp->_IO_write_base) return -1;
        if (SW_REAL(__overflow)(fp, EOF) == EOF) return -1;
    }
    return fp->_IO_read_end == fp->_IO_write_base ? 0 : -1;
}

/* Write bytes to the stream's file as libc's flush would (the caller holds the lock):
 * 0, or -1 with the stream's error set. */
static int sw_emit(FILE *fp, const char *p, size_t n) {
    if (n == 0) return 0;
    if (fp->_flags & SW_IO_IS_APPENDING) fp->_offset = -1;
    size_t done = sw_put_fd(fp->_fileno, p, n);
    if (fp->_offset != -1) fp->_offset += (off_t)done;
    if (done < n) {
        fp->_flags |= _IO_ERR_SEEN;
        return -1;
    }
    return 0;
}

/* Write out what the stream holds: 0, or -1 (error set, buffer dropped, as libc). */
static int sw_drain(FILE *fp) {
    if (!(fp->_flags & SW_IO_CURRENTLY_PUTTING) || fp->_IO_write_ptr <= fp->_IO_write_base) return 0;
    if (fp->_IO_read_end != fp->_IO_write_base) return 0; /* libc's: it seeks back first */
    int r = sw_emit(fp, fp->_IO_write_base, (size_t)(fp->_IO_write_ptr - fp->_IO_write_base));
    sw_reset_buffer(fp);
    return r;
}

/* Copy bytes that fit in the buffer without a flush (no newline on a line-buffered stream). */
static void sw_copy_into(FILE *fp, const char *p, size_t n) {
    memcpy(fp->_IO_write_ptr, p, n);
    fp->_IO_write_ptr += n;
}

static size_t sw_room(FILE *fp) {
    return fp->_IO_write_ptr < fp->_IO_buf_end ? (size_t)(fp->_IO_buf_end - fp->_IO_write_ptr) : 0;
}

/*
 * Put n bytes into a locked stream; the bytes accepted. No flush is left to libc: bytes
 * that fit are copied, everything else goes out through write() here.
 */
static size_t sw_put(FILE *fp, const char *p, size_t n) {
    if (n == 0) return 0;
    if (!sw_owned(fp)) return SW_REAL(fwrite_unlocked)(p, 1, n, fp);
    if (!(fp->_flags & SW_IO_LINE_BUF) && fp->_IO_write_end > fp->_IO_write_ptr &&
        (size_t)(fp->_IO_write_end - fp->_IO_write_ptr) >= n)
        return SW_REAL(fwrite_unlocked)(p, 1, n, fp); /* fits: libc only copies */
    if (fp->_mode == 0) fp->_mode = -1; /* narrow from now on, as libc's fwrite makes it */
    if (sw_ready_to_put(fp) != 0) return SW_REAL(fwrite_unlocked)(p, 1, n, fp);
    if (!(fp->_flags & (SW_IO_LINE_BUF | SW_IO_UNBUFFERED))) {
        /* As libc's xsputn: fill the buffer, write it whole, write the whole blocks of the rest
         * directly, keep what is left (the file sees the same block-aligned writes). */
        size_t done = sw_room(fp) < n ? sw_room(fp) : n;
        sw_copy_into(fp, p, done);
        if (done == n) return n;
        if (sw_drain(fp) != 0) return done;
        size_t block = (size_t)(fp->_IO_buf_end - fp->_IO_buf_base);
        size_t direct = n - done - (block >= 128 ? (n - done) % block : 0);
        if (direct > 0 && sw_emit(fp, p + done, direct) != 0) return done;
        done += direct;
        if (done < n) sw_copy_into(fp, p + done, n - done);
        return n;
    }
    size_t head = 0; /* line-buffered or unbuffered: the bytes that must reach the file now */
    if (fp->_flags & SW_IO_UNBUFFERED) {
        head = n;
    } else if (fp->_flags & SW_IO_LINE_BUF) {
        const char *nl = memrchr(p, '\n', n);
        head = nl ? (size_t)(nl - p) + 1 : 0;
    }
    if (head == 0 && n <= sw_room(fp)) {
        sw_copy_into(fp, p, n);
        return n;
    }
    if (sw_drain(fp) != 0) return 0;
    if (head == 0) head = n; /* no room for it: written through */
    if (sw_emit(fp, p, head) != 0) return 0;
    size_t rest = n - head;
    if (rest > 0) {
        if (rest <= sw_room(fp) && !(fp->_flags & SW_IO_UNBUFFERED)) sw_copy_into(fp, p + head, rest);
        else if (sw_emit(fp, p + head, rest) != 0) return head;
    }
    return n;
}

/* The hooks: each holds the stream's lock around sw_put, as libc's own functions do. */
#define SW_LOCKED(fp, expr)                         \
    __extension__({                                 \
        flockfile(fp);                              \
        __typeof__(expr) sw_locked_r_ = (expr);     \
        funlockfile(fp);                            \
        sw_locked_r_;                               \
    })

static size_t sw_fwrite_unlocked(const void *ptr, size_t size, size_t nmemb, FILE *fp) {
    if (size == 0 || nmemb == 0) return 0;
    size_t n;
    if (__builtin_mul_overflow(size, nmemb, &n)) return SW_REAL(fwrite_unlocked)(ptr, size, nmemb, fp);
    size_t put = sw_put(fp, ptr, n);
    return put == n ? nmemb : put / size;
}

SW_EXPORT size_t fwrite_unlocked(const void *ptr, size_t size, size_t nmemb, FILE *fp) {
    return sw_fwrite_unlocked(ptr, size, nmemb, fp);
}

SW_EXPORT size_t fwrite(const void *ptr, size_t size, size_t nmemb, FILE *fp) {
    return SW_LOCKED(fp, sw_fwrite_unlocked(ptr, size, nmemb, fp));
}

static int sw_fputs_unlocked(const char *s, FILE *fp) {
    size_t n = strlen(s);
    return sw_put(fp, s, n) == n ? 1 : EOF;
}

SW_EXPORT int fputs_unlocked(const char *s, FILE *fp) {
    return sw_fputs_unlocked(s, fp);
}

SW_EXPORT int fputs(const char *s, FILE *fp) {
    return SW_LOCKED(fp, sw_fputs_unlocked(s, fp));
}

SW_EXPORT int puts(const char *s) {
    FILE *fp = stdout;
    flockfile(fp);
    size_t n = strlen(s);
    int r = sw_put(fp, s, n) == n && sw_put(fp, "\n", 1) == 1 ? (int)(n + 1 > INT_MAX ? INT_MAX : n + 1) : EOF;
    funlockfile(fp);
    return r;
}

static int sw_putc_unlocked(int c, FILE *fp) {
    char ch = (char)c;
    if (sw_owned(fp) && !(fp->_flags & SW_IO_LINE_BUF) && fp->_IO_write_ptr < fp->_IO_write_end) {
        *fp->_IO_write_ptr++ = ch;
        return (unsigned char)ch;
    }
    return sw_put(fp, &ch, 1) == 1 ? (unsigned char)ch : EOF;
}

SW_EXPORT int fputc_unlocked(int c, FILE *fp) {
    return sw_putc_unlocked(c, fp);
}
SW_EXPORT int putc_unlocked(int c, FILE *fp) __attribute__((alias("fputc_unlocked")));

SW_EXPORT int fputc(int c, FILE *fp) {
    return SW_LOCKED(fp, sw_putc_unlocked(c, fp));
}
SW_EXPORT int putc(int c, FILE *fp) __attribute__((alias("fputc")));

SW_EXPORT int putchar(int c) {
    return fputc(c, stdout);
}

SW_EXPORT int putchar_unlocked(int c) {
    return sw_putc_unlocked(c, stdout);
}

/* Behind the inline putc_unlocked of <bits/stdio.h>: the buffer is full (or line-buffered). */
SW_EXPORT int __overflow(FILE *fp, int c) {
    if (!sw_owned(fp)) return SW_REAL(__overflow)(fp, c);
    if (c == EOF) {
        if (sw_ready_to_put(fp) != 0) return SW_REAL(__overflow)(fp, c);
        return sw_drain(fp) == 0 ? 0 : EOF;
    }
    return sw_putc_unlocked(c, fp);
}

/* ---- the printf family: format first, then put ---------------------------------------- */

SW_REAL_DECL(int, vfprintf, (FILE *, const char *, va_list));
SW_REAL_DECL(int, __vfprintf_chk, (FILE *, int, const char *, va_list));

static int sw_libc_vfprintf(FILE *fp, int fd, int flag, const char *fmt, va_list ap) {
    (void)fd;
    return flag >= 0 ? SW_REAL(__vfprintf_chk)(fp, flag, fmt, ap) : SW_REAL(vfprintf)(fp, fmt, ap);
}

/* A stream's pointers and flags before a call, to put it back as it was. */
struct sw_stream_marks {
    char *read_base, *read_ptr, *read_end, *write_base, *write_ptr, *write_end;
    int flags;
};

/* libc tried to flush inside a printf call with the descriptor set aside: nothing reached the
 * file (a failed flush adds nothing to _offset). Put the stream back as it was before the call
 * and format the text here, so that its flush goes through write(). Kept out of the fast path. */
static __attribute__((noinline, cold)) int sw_vprint_again(FILE *fp, const struct sw_stream_marks *m, int saved_errno,
                                                           int flag, const char *fmt, va_list ap) {
    fp->_flags = m->flags;
    fp->_IO_read_base = m->read_base;
    fp->_IO_read_ptr = m->read_ptr;
    fp->_IO_read_end = m->read_end;
    fp->_IO_write_base = m->write_base;
    fp->_IO_write_ptr = m->write_ptr;
    fp->_IO_write_end = m->write_end;
    errno = saved_errno;
    return sw_vformat(fp, -1, flag, fmt, ap, sw_libc_vfprintf);
}

/* Below this much room a text would likely not fit: the buffer is written out first. */
#define SW_PRINT_ROOM 256

/*
 * The printf family into a stream. libc formats straight into the stream's buffer (its own
 * speed) with the stream's descriptor swapped for -1 while it does: a text that fits the room
 * left needs no flush; one that does not makes libc's flush fail on -1 (EBADF), which leaves
 * the buffered bytes where they were, and libc stops formatting; sw_vprint_again then formats
 * it here. So that this (formatting twice) stays rare, a buffer with less than SW_PRINT_ROOM
 * bytes of room is first written out through write(). The caller holds no lock; this takes
 * the stream's.
 */
/* The fast path's stream state: narrow, fully buffered, no error, writing, no read-ahead. */
static inline int sw_print_fast(const FILE *fp) {
    return !(fp->_flags & (SW_IO_LINE_BUF | SW_IO_UNBUFFERED | _IO_ERR_SEEN)) && (fp->_flags & SW_IO_CURRENTLY_PUTTING) &&
           fp->_IO_read_end == fp->_IO_write_base;
}

/* Everything but the fast path (the caller holds the lock when there are threads). */
static __attribute__((noinline)) int sw_vprint_slow(FILE *fp, int flag, const char *fmt, va_list ap) {
    if (SW_UNLIKELY(fp->_IO_write_end - fp->_IO_write_ptr < SW_PRINT_ROOM) && fp->_IO_write_ptr > fp->_IO_write_base &&
        sw_print_fast(fp)) {
        sw_drain(fp);
        if (sw_print_fast(fp)) return -2; /* room made: the fast path again */
    }
    return sw_vformat(fp, -1, flag, fmt, ap, sw_libc_vfprintf);
}

/*
 * The fast path, expanded in each entry point of the printf family (GCC inlines no function
 * that takes a va_list): `ap` is opened with OPEN and closed with CLOSE (va_start/va_end in a
 * variadic entry, va_copy/va_end of the caller's list otherwise), again for each pass over the
 * arguments; the result is left in r. While the text fits, a printf call costs a few loads and
 * stores more than libc's own.
 */
#define SW_VPRINT(fp, flag, fmt, ap, OPEN, CLOSE, r)                                                          \
    do {                                                                                                      \
        OPEN;                                                                                                 \
        if (!sw_owned(fp)) {                                                                                  \
            r = sw_libc_vfprintf(fp, -1, flag, fmt, ap);                                                      \
            CLOSE;                                                                                            \
            break;                                                                                            \
        }                                                                                                     \
        /* One thread: nobody else can see the descriptor set aside (glibc's own test). */                   \
        int lock_ = !__libc_single_threaded;                                                                  \
        if (lock_) flockfile(fp);                                                                             \
        if (SW_UNLIKELY(!sw_print_fast(fp) || fp->_IO_write_end - fp->_IO_write_ptr < SW_PRINT_ROOM)) {       \
            r = sw_vprint_slow(fp, flag, fmt, ap);                                                            \
            CLOSE;                                                                                            \
            if (r != -2) {                                                                                    \
                if (lock_) funlockfile(fp);                                                                   \
                break;                                                                                        \
            }                                                                                                 \
            OPEN;                                                                                             \
        }                                                                                                     \
        struct sw_stream_marks m_ = {fp->_IO_read_base,  fp->_IO_read_ptr,  fp->_IO_read_end, fp->_IO_write_base, \
                                     fp->_IO_write_ptr, fp->_IO_write_end, fp->_flags};                      \
        int fd_ = fp->_fileno, errno_ = errno;                                                                \
        fp->_fileno = -1;                                                                                     \
        r = (flag) >= 0 ? SW_REAL(__vfprintf_chk)(fp, flag, fmt, ap) : SW_REAL(vfprintf)(fp, fmt, ap);        \
        CLOSE;                                                                                                \
        fp->_fileno = fd_;                                                                                    \
        if (SW_UNLIKELY(fp->_flags & _IO_ERR_SEEN)) {                                                         \
            OPEN;                                                                                             \
            r = sw_vprint_again(fp, &m_, errno_, flag, fmt, ap);                                              \
            CLOSE;                                                                                            \
        }                                                                                                     \
        if (lock_) funlockfile(fp);                                                                           \
    } while (0)

/* The eight entry points of the narrow printf family into a stream. */
#define SW_VPRINT_LIST(fp, flag, fmt, list)                                                                   \
    va_list ap;                                                                                               \
    int r;                                                                                                    \
    SW_VPRINT(fp, flag, fmt, ap, va_copy(ap, list), va_end(ap), r);                                           \
    return r
#define SW_VPRINT_ARGS(fp, flag, fmt)                                                                         \
    va_list ap;                                                                                               \
    int r;                                                                                                    \
    SW_VPRINT(fp, flag, fmt, ap, va_start(ap, fmt), va_end(ap), r);                                           \
    return r

SW_EXPORT int vfprintf(FILE *fp, const char *fmt, va_list list) { SW_VPRINT_LIST(fp, -1, fmt, list); }
SW_EXPORT int vprintf(const char *fmt, va_list list) { SW_VPRINT_LIST(stdout, -1, fmt, list); }
SW_EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list list) { SW_VPRINT_LIST(fp, flag < 0 ? 0 : flag, fmt, list); }
SW_EXPORT int __vprintf_chk(int flag, const char *fmt, va_list list) { SW_VPRINT_LIST(stdout, flag < 0 ? 0 : flag, fmt, list); }
SW_EXPORT int fprintf(FILE *fp, const char *fmt, ...) { SW_VPRINT_ARGS(fp, -1, fmt); }
SW_EXPORT int printf(const char *fmt, ...) { SW_VPRINT_ARGS(stdout, -1, fmt); }
SW_EXPORT int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...) { SW_VPRINT_ARGS(fp, flag < 0 ? 0 : flag, fmt); }
SW_EXPORT int __printf_chk(int flag, const char *fmt, ...) { SW_VPRINT_ARGS(stdout, flag < 0 ? 0 : flag, fmt); }

/* The eight entry points of a printf family over `impl` (fp, flag or -1, format, va_list). */
#define SW_PRINT_FAMILY(ch, impl, vf, v, vf_chk, v_chk, f, p, f_chk, p_chk)                                        \
    SW_EXPORT int vf(FILE *fp, const ch *fmt, va_list ap) { return impl(fp, -1, fmt, ap); }                       \
    SW_EXPORT int v(const ch *fmt, va_list ap) { return impl(stdout, -1, fmt, ap); }                               \
    SW_EXPORT int vf_chk(FILE *fp, int flag, const ch *fmt, va_list ap) { return impl(fp, flag < 0 ? 0 : flag, fmt, ap); } \
    SW_EXPORT int v_chk(int flag, const ch *fmt, va_list ap) { return impl(stdout, flag < 0 ? 0 : flag, fmt, ap); } \
    SW_EXPORT int f(FILE *fp, const ch *fmt, ...) { SW_VARIADIC(impl(fp, -1, fmt, ap)); }                          \
    SW_EXPORT int p(const ch *fmt, ...) { SW_VARIADIC(impl(stdout, -1, fmt, ap)); }                                \
    SW_EXPORT int f_chk(FILE *fp, int flag, const ch *fmt, ...) { SW_VARIADIC(impl(fp, flag < 0 ? 0 : flag, fmt, ap)); } \
    SW_EXPORT int p_chk(int flag, const ch *fmt, ...) { SW_VARIADIC(impl(stdout, flag < 0 ? 0 : flag, fmt, ap)); }


/* ---- flushes, closes, seeks, exit ---------------------------------------------------- */

/* Write out a stream's buffer before libc's own call on it (the caller holds the lock). */
static void sw_drain_wide(FILE *fp);

static void sw_drain_owned(FILE *fp) {
    if (sw_owned(fp)) sw_drain(fp);
    else if (fp->_fileno >= 0 && fp->_mode > 0) sw_drain_wide(fp);
}

/* ---- wide-oriented streams ----------------------------------------------------------- */

/*
 * A wide stream's flush converts its wchar_t buffer through the stream's codecvt into the
 * byte buffer and writes that with libc's internal write; the conversion is libc's to do.
 * So a wide call runs first with the descriptor set aside (-1), as the printf family does: when
 * it needs no flush, that is all. When it does, the stream is put back as it was (its byte and
 * wide pointers and conversion state) and the call runs again with the descriptor swapped for
 * a memfd of the library's: libc converts and flushes into it, and the library then writes
 * those bytes to the stream's file with write(). A failure of that write marks the stream's
 * error, as libc would.
 */

/* The head of glibc's struct _IO_wide_data (libio.h): 11 pointers and the two conversion
 * states, which a flush changes. */
#define SW_WIDE_HEAD (11 * sizeof(void *) + 2 * sizeof(mbstate_t))

struct sw_stream_state {
    int flags;
    char *ptrs[6];
    unsigned char wide[SW_WIDE_HEAD];
};

static void sw_save(FILE *fp, struct sw_stream_state *st) {
    st->flags = fp->_flags;
    char *p[6] = {fp->_IO_read_ptr, fp->_IO_read_end, fp->_IO_read_base,
                  fp->_IO_write_base, fp->_IO_write_ptr, fp->_IO_write_end};
    memcpy(st->ptrs, p, sizeof p);
    if (fp->_wide_data != NULL) memcpy(st->wide, fp->_wide_data, SW_WIDE_HEAD);
}

static void sw_restore(FILE *fp, const struct sw_stream_state *st) {
    fp->_flags = st->flags;
    fp->_IO_read_ptr = st->ptrs[0];
    fp->_IO_read_end = st->ptrs[1];
    fp->_IO_read_base = st->ptrs[2];
    fp->_IO_write_base = st->ptrs[3];
    fp->_IO_write_ptr = st->ptrs[4];
    fp->_IO_write_end = st->ptrs[5];
    if (fp->_wide_data != NULL) memcpy(fp->_wide_data, st->wide, SW_WIDE_HEAD);
}

/* The memfd wide flushes go through, one at a time (a spin lock: no libpthread). */
static int sw_wide_fd = -1;
static int sw_wide_busy;

static int sw_wide_take(void) {
    while (__atomic_exchange_n(&sw_wide_busy, 1, __ATOMIC_ACQUIRE)) syscall(SYS_sched_yield);
    if (sw_wide_fd < 0) {
        int fd = (int)syscall(SYS_memfd_create, "spillway-stdio", MFD_CLOEXEC);
        if (fd >= 0) sw_wide_fd = sw_high_fd(fd);
    }
    if (sw_wide_fd < 0) __atomic_store_n(&sw_wide_busy, 0, __ATOMIC_RELEASE);
    return sw_wide_fd;
}

/* After a call wrote into the memfd: its bytes go to fd through write(); the memfd is emptied. */
static void sw_wide_give(FILE *fp, int fd) {
    char chunk[8192];
    off_t at = 0;
    for (;;) {
        ssize_t got = (ssize_t)syscall(SYS_pread64, sw_wide_fd, chunk, sizeof chunk, at);
        if (got <= 0) break;
        if (sw_put_fd(fd, chunk, (size_t)got) != (size_t)got) {
            fp->_flags |= _IO_ERR_SEEN;
            break;
        }
        at += got;
    }
    syscall(SYS_ftruncate, sw_wide_fd, 0);
    syscall(SYS_lseek, sw_wide_fd, 0, SEEK_SET);
    __atomic_store_n(&sw_wide_busy, 0, __ATOMIC_RELEASE);
}

/* Run `call` (an expression using fp) on a wide or not yet oriented stream as above; the
 * caller holds the stream's lock. `again` re-arms what `call` consumes (va_copy). */
#define SW_WIDE_CALL(fp, result, call)                                     \
    do {                                                                   \
        struct sw_stream_state sw_st_;                                     \
        int sw_fd_ = (fp)->_fileno, sw_errno_ = errno;                     \
        sw_save((fp), &sw_st_);                                            \
        (fp)->_fileno = -1;                                                \
        (result) = (call);                                                 \
        (fp)->_fileno = sw_fd_;                                            \
        if (SW_UNLIKELY(((fp)->_flags & _IO_ERR_SEEN) && !(sw_st_.flags & _IO_ERR_SEEN))) { \
            sw_restore((fp), &sw_st_);                                     \
            errno = sw_errno_;                                             \
            int sw_memfd_ = sw_wide_take();                                \
            if (sw_memfd_ >= 0) (fp)->_fileno = sw_memfd_;                 \
            (result) = (call);                                             \
            (fp)->_fileno = sw_fd_;                                        \
            if (sw_memfd_ >= 0) sw_wide_give((fp), sw_fd_);                \
        }                                                                  \
    } while (0)

/* A wide stream's buffer, flushed into the memfd by libc and written out by the library. */
static void sw_drain_wide(FILE *fp) {
    int fd = fp->_fileno;
    int memfd = sw_wide_take();
    if (memfd < 0) return;
    fp->_fileno = memfd;
    SW_REAL(fflush_unlocked)(fp);
    fp->_fileno = fd;
    sw_wide_give(fp, fd);
}

/* A stream the wide hooks serve: wide, on a descriptor, not read-only, its buffers made (the
 * first call makes them, and libc looks at the descriptor then, for the buffer's size and
 * whether it is a terminal: that call is libc's alone). */
static int sw_wide_owned(FILE *fp) {
    return fp->_fileno >= 0 && fp->_mode > 0 && !(fp->_flags & SW_IO_NO_WRITES) && fp->_IO_buf_base != NULL &&
           fp->_wide_data != NULL && ((wchar_t **)fp->_wide_data)[6] != NULL;
}

#define SW_WIDE_HOOK(ret, name, params, fp, args)                 \
    SW_REAL_DECL(ret, name, params);                              \
    SW_EXPORT ret name params {                                   \
        if (!sw_wide_owned(fp)) return SW_REAL(name) args;        \
        flockfile(fp);                                            \
        ret r_;                                                   \
        SW_WIDE_CALL(fp, r_, SW_REAL(name) args);                 \
        funlockfile(fp);                                          \
        return r_;                                                \
    }

SW_WIDE_HOOK(wint_t, fputwc, (wchar_t c, FILE *fp), fp, (c, fp))
SW_WIDE_HOOK(wint_t, putwc, (wchar_t c, FILE *fp), fp, (c, fp))
SW_WIDE_HOOK(wint_t, fputwc_unlocked, (wchar_t c, FILE *fp), fp, (c, fp))
SW_WIDE_HOOK(wint_t, putwc_unlocked, (wchar_t c, FILE *fp), fp, (c, fp))
SW_WIDE_HOOK(int, fputws, (const wchar_t *ws, FILE *fp), fp, (ws, fp))
SW_WIDE_HOOK(int, fputws_unlocked, (const wchar_t *ws, FILE *fp), fp, (ws, fp))
SW_WIDE_HOOK(wint_t, __woverflow, (FILE * fp, wint_t c), fp, (fp, c))

SW_EXPORT wint_t putwchar(wchar_t c) {
    return putwc(c, stdout);
}

SW_EXPORT wint_t putwchar_unlocked(wchar_t c) {
    return putwc_unlocked(c, stdout);
}

SW_REAL_DECL(int, vfwprintf, (FILE *, const wchar_t *, va_list));
SW_REAL_DECL(int, __vfwprintf_chk, (FILE *, int, const wchar_t *, va_list));

static int sw_libc_vfwprintf(FILE *fp, int flag, const wchar_t *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    int r = flag >= 0 ? SW_REAL(__vfwprintf_chk)(fp, flag, fmt, again) : SW_REAL(vfwprintf)(fp, fmt, again);
    va_end(again);
    return r;
}

static int sw_vwprint(FILE *fp, int flag, const wchar_t *fmt, va_list ap) {
    if (!sw_wide_owned(fp)) return sw_libc_vfwprintf(fp, flag, fmt, ap);
    flockfile(fp);
    int r;
    SW_WIDE_CALL(fp, r, sw_libc_vfwprintf(fp, flag, fmt, ap));
    funlockfile(fp);
    return r;
}

SW_PRINT_FAMILY(wchar_t, sw_vwprint, vfwprintf, vwprintf, __vfwprintf_chk, __vwprintf_chk, fwprintf, wprintf, __fwprintf_chk,
                __wprintf_chk)

/* Every stream libc knows, as glibc's own _IO_flush_all walks them. `wait`: take each lock
 * (fflush(NULL)); otherwise only the free ones (at exit a stream may be held forever). */
void sw_drain_all_streams(int wait) {
    _IO_list_lock();
    for (FILE *fp = _IO_list_all; fp != NULL; fp = fp->_chain) {
        if (wait) flockfile(fp);
        else if (ftrylockfile(fp) != 0) continue;
        sw_drain_owned(fp);
        funlockfile(fp);
    }
    _IO_list_unlock();
}

SW_EXPORT int fflush_unlocked(FILE *fp) {
    if (fp == NULL) return fflush(NULL);
    sw_drain_owned(fp);
    return SW_REAL(fflush_unlocked)(fp);
}

SW_EXPORT int fflush(FILE *fp) {
    if (fp == NULL) {
        sw_drain_all_streams(1);
        return SW_REAL(fflush)(NULL);
    }
    flockfile(fp);
    sw_drain_owned(fp);
    funlockfile(fp);
    return SW_REAL(fflush)(fp);
}

/* A call that flushes the stream first inside libc: drain it here, then libc's. */
#define SW_DRAIN_FIRST(ret, name, params, args)       \
    SW_REAL_DECL(ret, name, params);                  \
    SW_EXPORT ret name params {                       \
        flockfile(fp);                                \
        sw_drain_owned(fp);                           \
        funlockfile(fp);                              \
        return SW_REAL(name) args;                    \
    }

SW_DRAIN_FIRST(int, fseek, (FILE * fp, long off, int whence), (fp, off, whence))
SW_DRAIN_FIRST(int, fseeko, (FILE * fp, off_t off, int whence), (fp, off, whence))
SW_DRAIN_FIRST(int, fsetpos, (FILE * fp, const fpos_t *pos), (fp, pos))
SW_DRAIN_FIRST(void, rewind, (FILE * fp), (fp))

SW_DRAIN_FIRST(int, setvbuf, (FILE * fp, char *buf, int mode, size_t size), (fp, buf, mode, size))
SW_DRAIN_FIRST(void, setbuffer, (FILE * fp, char *buf, size_t size), (fp, buf, size))
SW_DRAIN_FIRST(void, setbuf, (FILE * fp, char *buf), (fp, buf))
SW_DRAIN_FIRST(void, setlinebuf, (FILE * fp), (fp))
SW_DRAIN_FIRST(int, pclose, (FILE * fp), (fp))

SW_REAL_DECL(int, fcloseall, (void));
SW_EXPORT int fcloseall(void) {
    sw_drain_all_streams(1);
    return SW_REAL(fcloseall)();
}

SW_EXPORT int putw(int w, FILE *fp) {
    return SW_LOCKED(fp, sw_put(fp, (const char *)&w, sizeof w) == sizeof w ? 0 : EOF);
}

SW_EXPORT int fseeko64(FILE *, off_t, int) __attribute__((alias("fseeko")));
SW_EXPORT int fsetpos64(FILE *, const fpos64_t *) __attribute__((alias("fsetpos")));

SW_EXPORT int fclose(FILE *fp) {
    flockfile(fp);
    sw_drain_owned(fp);
    funlockfile(fp);
    return SW_REAL(fclose)(fp);
}

void sw_stdio_adopt(FILE *fp) {
    (void)fp; /* glibc: every stream is served by the hooks above */
}

void sw_stdio_before_reopen(FILE *fp) {
    flockfile(fp);
    sw_drain_owned(fp);
    funlockfile(fp);
}

/* glibc's old libio names of the same functions (still exported for old binaries). */
SW_EXPORT size_t _IO_fwrite(const void *, size_t, size_t, FILE *) __attribute__((alias("fwrite"), copy(fwrite)));
SW_EXPORT int _IO_fputs(const char *, FILE *) __attribute__((alias("fputs"), copy(fputs)));
SW_EXPORT int _IO_puts(const char *) __attribute__((alias("puts"), copy(puts)));
SW_EXPORT int _IO_putc(int, FILE *) __attribute__((alias("fputc"), copy(fputc)));
SW_EXPORT int _IO_fprintf(FILE *, const char *, ...) __attribute__((alias("fprintf"), copy(fprintf)));
SW_EXPORT int _IO_printf(const char *, ...) __attribute__((alias("printf"), copy(printf)));
SW_EXPORT int _IO_vfprintf(FILE *, const char *, va_list) __attribute__((alias("vfprintf"), copy(vfprintf)));
SW_EXPORT int _IO_fflush(FILE *) __attribute__((alias("fflush"), copy(fflush)));
SW_EXPORT int _IO_fclose(FILE *) __attribute__((alias("fclose"), copy(fclose)));
SW_EXPORT int _IO_setvbuf(FILE *, char *, int, size_t) __attribute__((alias("setvbuf"), copy(setvbuf)));
SW_EXPORT void _IO_setbuffer(FILE *, char *, size_t) __attribute__((alias("setbuffer"), copy(setbuffer)));

/* glibc flushes every stream at exit (_IO_cleanup) after the destructors: write them out
 * here first. */
__attribute__((destructor)) static void sw_stdio_exit(void) {
    int saved = errno;
    sw_drain_all_streams(0);
    errno = saved;
}

#else /* musl */

/* musl's FILE (src/internal/stdio_impl.h), as far as the fields the library uses. */
struct sw_musl_file {
    unsigned flags;
    unsigned char *rpos, *rend;
    int (*close)(FILE *);
    unsigned char *wend, *wpos;
    unsigned char *mustbezero_1;
    unsigned char *wbase;
    size_t (*read)(FILE *, unsigned char *, size_t);
    size_t (*write)(FILE *, const unsigned char *, size_t);
    off_t (*seek)(FILE *, off_t, int);
    unsigned char *buf;
    size_t buf_size;
    FILE *prev, *next;
    int fd;
    int pipe_pid;
    long lockcount;
    int mode;
    volatile int lock;
    int lbf;
};
#define SW_MUSL_F_ERR 32
#define SW_MUSL_F_SVB 64

/* musl's __stdio_write, with the library's writev. */
static size_t sw_musl_write(FILE *file, const unsigned char *buf, size_t len) {
    struct sw_musl_file *f = (struct sw_musl_file *)file;
    struct iovec iovs[2] = {{.iov_base = f->wbase, .iov_len = (size_t)(f->wpos - f->wbase)},
                            {.iov_base = (void *)buf, .iov_len = len}};
    struct iovec *iov = iovs;
    size_t rem = iov[0].iov_len + iov[1].iov_len;
    int iovcnt = 2;
    for (;;) {
        ssize_t cnt = writev(f->fd, iov, iovcnt);
        if (cnt >= 0 && (size_t)cnt == rem) {
            f->wend = f->buf + f->buf_size;
            f->wpos = f->wbase = f->buf;
            return len;
        }
        if (cnt < 0) {
            if (errno == EINTR) continue;
            f->wpos = f->wbase = f->wend = 0;
            f->flags |= SW_MUSL_F_ERR;
            return iovcnt == 2 ? 0 : len - iov[0].iov_len;
        }
        rem -= (size_t)cnt;
        if ((size_t)cnt > iov[0].iov_len) {
            cnt -= (ssize_t)iov[0].iov_len;
            iov++;
            iovcnt--;
        }
        iov[0].iov_base = (char *)iov[0].iov_base + cnt;
        iov[0].iov_len -= (size_t)cnt;
    }
}

/* musl's __stdout_write: stdout is line-buffered only on a terminal. */
static size_t sw_musl_stdout_write(FILE *file, const unsigned char *buf, size_t len) {
    struct sw_musl_file *f = (struct sw_musl_file *)file;
    struct winsize wsz;
    f->write = sw_musl_write;
    if (!(f->flags & SW_MUSL_F_SVB) && ioctl(f->fd, TIOCGWINSZ, &wsz) != 0) f->lbf = -1;
    return sw_musl_write(file, buf, len);
}

/* musl's own __stdio_write, learnt from stderr (a static FILE that starts with it). */
static size_t (*sw_musl_stdio_write)(FILE *, const unsigned char *, size_t);

/* A stream musl writes with __stdio_write: the library's copy writes it instead. */
static void sw_adopt(FILE *fp) {
    struct sw_musl_file *f = (struct sw_musl_file *)fp;
    if (fp != NULL && sw_musl_stdio_write != NULL && f->write == sw_musl_stdio_write) f->write = sw_musl_write;
}

__attribute__((constructor)) static void sw_stdio_adopt_std(void) {
    struct sw_musl_file *err = (struct sw_musl_file *)stderr, *out = (struct sw_musl_file *)stdout;
    sw_musl_stdio_write = err->write;
    sw_adopt(stderr);
    /* stdout starts with __stdout_write, or __stdio_write once it has been flushed. */
    if (out->write == sw_musl_stdio_write) out->write = sw_musl_write;
    else if (out->write != NULL && out->write != sw_musl_write && out->wpos == out->wbase) out->write = sw_musl_stdout_write;
}

void sw_stdio_adopt(FILE *fp) {
    sw_adopt(fp);
}

SW_REAL_DECL(FILE *, fdopen, (int, const char *));
SW_EXPORT FILE *fdopen(int fd, const char *mode) {
    FILE *fp = SW_REAL(fdopen)(fd, mode);
    sw_adopt(fp);
    return fp;
}

void sw_stdio_before_reopen(FILE *fp) {
    (void)fp; /* musl's freopen keeps the stream's write function */
}

#endif
