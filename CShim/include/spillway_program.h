/*
 * spillway_program.h — what kind of program a file is, and how Spillway
 * serves that kind: the one ELF reader of the launcher (spillway-entry), the
 * preload library's exec hooks and the Swift side (ElfInspector, through
 * CSpillway), so all three classify a program the same way.
 *
 *  - a Go program (the Go build-id note, owner "Go", type 4, in a PT_NOTE
 *    segment, or a `.go.buildinfo` section), with or without cgo: Go makes
 *    its own system calls, which no preload library sees;
 *  - otherwise a program without PT_INTERP is static;
 *  - otherwise its PT_INTERP names musl's loader (ld-musl) or glibc's.
 *
 * The serving of each kind (spillway_program_serving) mirrors the rule table
 * in Sources/SpillwayCore/ProgramServing.swift; a test checks that the two
 * agree for every kind.
 *
 * The file is hostile input (it comes from a container): only pread on a
 * descriptor the caller opened, every offset and size bounded, no malloc
 * (the exec hooks may run in a vfork child). Header-only: each user gets
 * its own static copy and nothing is exported from the preload library.
 */
#ifndef SPILLWAY_PROGRAM_H
#define SPILLWAY_PROGRAM_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Values of SPILLWAY_PROGRAM_* are also Swift's ProgramKind.Class raw values. */
enum spillway_program_kind {
    SPILLWAY_PROGRAM_UNKNOWN = 0, /* not readable as an ELF program: run as is */
    SPILLWAY_PROGRAM_GLIBC = 1,
    SPILLWAY_PROGRAM_MUSL = 2,
    SPILLWAY_PROGRAM_STATIC = 3,
    SPILLWAY_PROGRAM_GO = 4,
};
#define SPILLWAY_PROGRAM_KIND_COUNT 5

/* How a kind is served; Swift's ProgramServing.Serving.cValue gives these numbers. */
enum spillway_serving {
    SPILLWAY_SERVED_AS_IS = 0,     /* nothing can serve it (unknown) */
    SPILLWAY_SERVED_BY_GLIBC_LIBRARY = 1, /* libspillway.so */
    SPILLWAY_SERVED_BY_MUSL_LIBRARY = 2,  /* libspillway-musl.so */
    SPILLWAY_SERVED_BY_FUSE = 3,   /* the container's FUSE union */
};

#define SPILLWAY_INTERP_MAX 512

struct spillway_program {
    enum spillway_program_kind kind;
    int go_note;    /* the Go build-id note was found */
    int go_section; /* a .go.buildinfo section was found */
    char interp[SPILLWAY_INTERP_MAX]; /* PT_INTERP, "" when there is none */
    const char *why; /* for SPILLWAY_PROGRAM_UNKNOWN: what was wrong */
};

/* The serving rule (mirrors ProgramServing.rules). */
static inline enum spillway_serving spillway_program_serving(enum spillway_program_kind kind) {
    switch (kind) {
    case SPILLWAY_PROGRAM_GLIBC: return SPILLWAY_SERVED_BY_GLIBC_LIBRARY;
    case SPILLWAY_PROGRAM_MUSL: return SPILLWAY_SERVED_BY_MUSL_LIBRARY;
    case SPILLWAY_PROGRAM_STATIC: return SPILLWAY_SERVED_BY_FUSE;
    case SPILLWAY_PROGRAM_GO: return SPILLWAY_SERVED_BY_FUSE;
    case SPILLWAY_PROGRAM_UNKNOWN: break;
    }
    return SPILLWAY_SERVED_AS_IS;
}

/* Why a kind is served as it is: the `why` of its ProgramServing row, word for word. */
static inline const char *spillway_program_why(enum spillway_program_kind kind) {
    switch (kind) {
    case SPILLWAY_PROGRAM_GLIBC: return "its file calls go through glibc, where libspillway.so hooks them";
    case SPILLWAY_PROGRAM_MUSL: return "its file calls go through musl, where libspillway-musl.so hooks them";
    case SPILLWAY_PROGRAM_STATIC: return "a program without a dynamic loader loads no preload library";
    case SPILLWAY_PROGRAM_GO: return "Go makes its own system calls, with cgo or without, and no preload library sees them";
    case SPILLWAY_PROGRAM_UNKNOWN: break;
    }
    return "it cannot be read as an ELF program";
}

/* Does such a program, started later, make a container FUSE-served (startedLaterMeansFuse)?
 * The exec hooks warn when a preload-served container starts one. */
static inline int spillway_program_started_later_means_fuse(enum spillway_program_kind kind) {
    return kind == SPILLWAY_PROGRAM_GO;
}

/* The value of SPILLWAY_PROGRAM the launcher sets for a kind. */
static inline const char *spillway_program_kind_name(enum spillway_program_kind kind) {
    switch (kind) {
    case SPILLWAY_PROGRAM_GLIBC: return "glibc";
    case SPILLWAY_PROGRAM_MUSL: return "musl";
    case SPILLWAY_PROGRAM_STATIC: return "static";
    case SPILLWAY_PROGRAM_GO: return "go";
    case SPILLWAY_PROGRAM_UNKNOWN: break;
    }
    return "unknown";
}

#ifndef SPILLWAY_PREAD
#define SPILLWAY_PREAD pread
#endif

/* Reads exactly n bytes at off; 0 on success. */
static inline int spillway_elf_read(int fd, void *buf, size_t n, uint64_t off) {
    if (off > (uint64_t)INT64_MAX - n) return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t got = SPILLWAY_PREAD(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (got <= 0) return -1;
        done += (size_t)got;
    }
    return 0;
}

/* Field readers in the file's byte order (big != 0: ELFDATA2MSB). */
static inline uint64_t spillway_elf_get(const unsigned char *p, size_t width, int big) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++) v |= (uint64_t)p[big ? width - 1 - i : i] << (8 * i);
    return v;
}

/* Does a PT_NOTE segment at [off, off+size) hold the Go build-id note? */
static inline int spillway_elf_go_note(int fd, uint64_t off, uint64_t size, int big) {
    unsigned char notes[4096];
    size_t n = size < sizeof notes ? (size_t)size : sizeof notes;
    if (n < 12 || spillway_elf_read(fd, notes, n, off) != 0) return 0;
    for (size_t at = 0; at + 12 <= n;) {
        uint64_t namesz = spillway_elf_get(notes + at, 4, big);
        uint64_t descsz = spillway_elf_get(notes + at + 4, 4, big);
        uint64_t type = spillway_elf_get(notes + at + 8, 4, big);
        if (namesz > n || descsz > n) return 0;
        if (type == 4 && namesz == 3 + 1 && at + 12 + 4 <= n && memcmp(notes + at + 12, "Go\0", 3) == 0) return 1;
        uint64_t next = at + 12 + ((namesz + 3) & ~(uint64_t)3) + ((descsz + 3) & ~(uint64_t)3);
        if (next <= at || next > n) return 0;
        at = (size_t)next;
    }
    return 0;
}

/* Is there a section named .go.buildinfo? Section headers are read 4 KiB at a time and
 * the first 4 KiB of the section-name table once (names past it one by one). */
static inline int spillway_elf_go_section(int fd, const unsigned char *eh, int wide, int big) {
    uint64_t shoff = spillway_elf_get(eh + (wide ? 0x28 : 0x20), wide ? 8 : 4, big);
    uint64_t shentsize = spillway_elf_get(eh + (wide ? 0x3A : 0x2E), 2, big);
    uint64_t shnum = spillway_elf_get(eh + (wide ? 0x3C : 0x30), 2, big);
    uint64_t shstrndx = spillway_elf_get(eh + (wide ? 0x3E : 0x32), 2, big);
    size_t need = wide ? 64 : 40;
    if (shoff == 0 || shnum == 0 || shnum > 4096 || shentsize < need || shentsize > 256 || shstrndx >= shnum) return 0;
    unsigned char sh[4096];
    if (spillway_elf_read(fd, sh, need, shoff + shstrndx * shentsize) != 0) return 0;
    uint64_t stroff = spillway_elf_get(sh + (wide ? 0x18 : 0x10), wide ? 8 : 4, big);
    uint64_t strsize = spillway_elf_get(sh + (wide ? 0x20 : 0x14), wide ? 8 : 4, big);
    static const char wanted[] = ".go.buildinfo";
    char names[4096];
    size_t held = strsize < sizeof names ? (size_t)strsize : sizeof names;
    if (held == 0 || spillway_elf_read(fd, names, held, stroff) != 0) return 0;
    size_t per_chunk = sizeof sh / (size_t)shentsize;
    for (uint64_t first = 0; first < shnum; first += per_chunk) {
        size_t count = shnum - first < per_chunk ? (size_t)(shnum - first) : per_chunk;
        if (spillway_elf_read(fd, sh, (count - 1) * (size_t)shentsize + need, shoff + first * shentsize) != 0) return 0;
        for (size_t i = 0; i < count; i++) {
            uint64_t name = spillway_elf_get(sh + i * shentsize, 4, big);
            if (name >= strsize || strsize - name < sizeof wanted) continue;
            char got[sizeof wanted];
            if (name + sizeof wanted <= held)
                memcpy(got, names + name, sizeof got);
            else if (spillway_elf_read(fd, got, sizeof got, stroff + name) != 0)
                continue;
            if (memcmp(got, wanted, sizeof wanted) == 0) return 1;
        }
    }
    return 0;
}

/*
 * Classifies the ELF program open on fd (read with pread only). Returns the
 * kind, also stored in p->kind; SPILLWAY_PROGRAM_UNKNOWN with p->why set
 * when the file is not an ELF program this can read.
 */
static inline enum spillway_program_kind spillway_program_read(int fd, struct spillway_program *p) {
    memset(p, 0, sizeof *p);
    p->kind = SPILLWAY_PROGRAM_UNKNOWN;
    unsigned char eh[64];
    if (spillway_elf_read(fd, eh, 52, 0) != 0 || memcmp(eh, "\177ELF", 4) != 0) {
        p->why = "is not an ELF file";
        return p->kind;
    }
    int wide = eh[4] == 2, big = eh[5] == 2;
    if ((eh[4] != 1 && eh[4] != 2) || (eh[5] != 1 && eh[5] != 2) || (wide && spillway_elf_read(fd, eh, 64, 0) != 0)) {
        p->why = "is not an ELF file";
        return p->kind;
    }
    uint64_t type = spillway_elf_get(eh + 16, 2, big);
    if (type != 2 && type != 3) { /* ET_EXEC, ET_DYN */
        p->why = "is not an ELF program";
        return p->kind;
    }
    uint64_t phoff = spillway_elf_get(eh + (wide ? 0x20 : 0x1C), wide ? 8 : 4, big);
    uint64_t phentsize = spillway_elf_get(eh + (wide ? 0x36 : 0x2A), 2, big);
    uint64_t phnum = spillway_elf_get(eh + (wide ? 0x38 : 0x2C), 2, big);
    size_t need = wide ? 56 : 32;
    if (phnum == 0 || phnum >= 0xffff || phentsize < need || phentsize > 256) {
        p->why = "has unreadable program headers";
        return p->kind;
    }
    int has_interp = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        unsigned char ph[56];
        if (spillway_elf_read(fd, ph, need, phoff + i * phentsize) != 0) {
            p->why = "has unreadable program headers";
            return p->kind;
        }
        uint64_t ptype = spillway_elf_get(ph, 4, big);
        uint64_t off = spillway_elf_get(ph + (wide ? 8 : 4), wide ? 8 : 4, big);
        uint64_t filesz = spillway_elf_get(ph + (wide ? 32 : 16), wide ? 8 : 4, big);
        if (ptype == 3 && !has_interp) { /* PT_INTERP */
            if (filesz == 0 || filesz >= SPILLWAY_INTERP_MAX || spillway_elf_read(fd, p->interp, (size_t)filesz, off) != 0) {
                memset(p->interp, 0, sizeof p->interp);
                p->why = "cannot read its program interpreter";
                return p->kind;
            }
            p->interp[SPILLWAY_INTERP_MAX - 1] = '\0';
            has_interp = 1;
        } else if (ptype == 4 && !p->go_note) { /* PT_NOTE */
            p->go_note = spillway_elf_go_note(fd, off, filesz, big);
        }
    }
    if (!p->go_note) p->go_section = spillway_elf_go_section(fd, eh, wide, big);
    if (p->go_note || p->go_section)
        p->kind = SPILLWAY_PROGRAM_GO;
    else if (!has_interp)
        p->kind = SPILLWAY_PROGRAM_STATIC;
    else
        p->kind = strstr(p->interp, "ld-musl") != NULL ? SPILLWAY_PROGRAM_MUSL : SPILLWAY_PROGRAM_GLIBC;
    return p->kind;
}

#endif
