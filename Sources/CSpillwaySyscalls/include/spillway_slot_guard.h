/*
 * spillway_slot_guard.h — keeps a SIGBUS from a shrunk slot file away from a
 * host process that maps one slot read-only (the FUSE union's server).
 *
 * Reading a mapping past the end of its file raises SIGBUS. Once installed,
 * a fault inside the guarded page replaces it with a zero page (magic 0 and
 * state 0: not a slot, `normal`), so the reader carries on failing open; any
 * other SIGBUS goes on as it would have without the guard. When the slot is
 * repaired in place (the supervisor rewrites the same inode), restore maps
 * the real file back over the zero page. The preload library has its own
 * guard (CShim/src/signal.c), which must also keep the program's handlers.
 */
#ifndef SPILLWAY_SLOT_GUARD_H
#define SPILLWAY_SLOT_GUARD_H

#include <stddef.h>

/* Guards `size` bytes at `page` (one mapping of a slot; one per process).
 * Returns 0, or -1 with errno set when the handler cannot be installed. */
int spillway_slot_guard_install(const void *page, size_t size);

/* 1 while a fault has left a zero page in the guarded place, else 0 (one
 * relaxed load). */
int spillway_slot_guard_tripped(void);

/* After a trip, at most once a millisecond: when `fd` (the slot file) is a
 * full `size` bytes again, maps it back over the zero page. Returns 1 when
 * the real slot is mapped again, 0 when not (yet). */
int spillway_slot_guard_restore(int fd);

#endif /* SPILLWAY_SLOT_GUARD_H */
