/*
 * bad_pointers.h — the pointers the test probes hand to calls that must not
 * read them (posix_probe.c, badargs.c): an address with nothing mapped, a
 * page with no access, and a string that runs into such a page with no NUL.
 */
#ifndef SPILLWAY_TESTS_BAD_POINTERS_H
#define SPILLWAY_TESTS_BAD_POINTERS_H

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const bad_pointer_names[3] = {"unmapped", "no-access", "no-nul"};

/* Fill bad[0..2]; 0, or -1 when the mapping cannot be made. */
static inline int bad_pointers(const char *bad[3]) {
    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return -1;
    memset(area, 'a', (size_t)page);
    mprotect(area + page, (size_t)page, PROT_NONE);
    bad[0] = (const char *)0xdeadc0de;
    bad[1] = area + page;
    bad[2] = area + page - 16;
    return 0;
}

#endif
