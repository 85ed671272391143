/*
 * spillway_slot.h — the shared-memory slot: one managed container's flag.
 *
 * The supervisor owns a page-sized slot file per container in its run
 * directory and writes it through a shared mapping; the preload library maps
 * the same file read-only inside the container and reads it. This header is
 * the only definition of that layout: the C preload library, the launcher and
 * the Swift supervisor (through SwiftPM's CSpillway module) all compile it,
 * and Tests/ pin it from both sides.
 *
 * Concurrency: `state` is read with one acquire load on every hooked call
 * (the whole cost of Spillway while `normal`). Multi-field updates use
 * `generation` as a sequence lock: odd while the supervisor is writing, even
 * when the slot is consistent; it only ever grows, so a reader can also tell
 * that "something changed since I last looked".
 */
#ifndef SPILLWAY_SLOT_H
#define SPILLWAY_SLOT_H

#include <stddef.h>
#include <stdint.h>

/* "SPILLWAY" read as a little-endian 64-bit integer. */
#define SPILLWAY_SLOT_MAGIC 0x5941574c4c495053ULL
#define SPILLWAY_SLOT_VERSION 1u
/* A slot file is exactly one page; the mapped length a reader requires. */
#define SPILLWAY_SLOT_FILE_SIZE 4096u
#define SPILLWAY_SLOT_ID_MAX 64u

/* The states of a container as the shim sees them (spec section 4). */
enum spillway_state {
    SPILLWAY_STATE_NORMAL = 0,   /* below threshold, spill area empty */
    SPILLWAY_STATE_SPILLING = 1, /* new and modified files go to the spill area */
    SPILLWAY_STATE_DRAINING = 2, /* files move back; lookups still prefer the spill area */
};
#define SPILLWAY_STATE_COUNT 3u

struct spillway_slot {
    uint64_t magic;        /* SPILLWAY_SLOT_MAGIC */
    uint32_t version;      /* SPILLWAY_SLOT_VERSION */
    uint32_t header_size;  /* sizeof(struct spillway_slot) when written */
    uint32_t state;        /* enum spillway_state; atomic */
    uint32_t flags;        /* SPILLWAY_SLOT_FLAG_* bits; zero for none */
    uint64_t generation;   /* sequence lock, see above; atomic */
    uint64_t spill_limit;  /* bytes the spill area may hold; 0 = no cap of its own */
    uint64_t main_limit;   /* the main-disk quota in bytes; 0 = unknown */
    uint64_t updated_ns;   /* CLOCK_REALTIME of the last update, nanoseconds */
    uint64_t move_epoch;   /* bumped when shims must re-check open descriptors */
    char container_id[SPILLWAY_SLOT_ID_MAX]; /* NUL-terminated, may be empty */
    uint64_t spill_used;   /* with SPILLWAY_SLOT_FLAG_LIBRARY_CAP: bytes the area held when last measured */
    uint64_t spill_epoch;  /* with SPILLWAY_SLOT_FLAG_LIBRARY_CAP: bumped with each new spill_used */
    uint8_t reserved[112];
};

/*
 * flags: the spill area's cap (spill_limit) is enforced by the preload library and the FUSE
 * union, not by the kernel (a directory partition): spill_used and spill_epoch carry the
 * supervisor's last measurement, and writers refuse to grow spill-area files past the room
 * left (spillway_cap_take). Without it, spill_limit is informational (the kernel enforces it).
 */
#define SPILLWAY_SLOT_FLAG_LIBRARY_CAP 1u

_Static_assert(sizeof(struct spillway_slot) == 256, "slot header is 256 bytes");
_Static_assert(offsetof(struct spillway_slot, magic) == 0, "magic at 0");
_Static_assert(offsetof(struct spillway_slot, version) == 8, "version at 8");
_Static_assert(offsetof(struct spillway_slot, header_size) == 12, "header_size at 12");
_Static_assert(offsetof(struct spillway_slot, state) == 16, "state at 16");
_Static_assert(offsetof(struct spillway_slot, flags) == 20, "flags at 20");
_Static_assert(offsetof(struct spillway_slot, generation) == 24, "generation at 24");
_Static_assert(offsetof(struct spillway_slot, spill_limit) == 32, "spill_limit at 32");
_Static_assert(offsetof(struct spillway_slot, main_limit) == 40, "main_limit at 40");
_Static_assert(offsetof(struct spillway_slot, updated_ns) == 48, "updated_ns at 48");
_Static_assert(offsetof(struct spillway_slot, move_epoch) == 56, "move_epoch at 56");
_Static_assert(offsetof(struct spillway_slot, container_id) == 64, "container_id at 64");
_Static_assert(offsetof(struct spillway_slot, spill_used) == 128, "spill_used at 128");
_Static_assert(offsetof(struct spillway_slot, spill_epoch) == 136, "spill_epoch at 136");
_Static_assert(offsetof(struct spillway_slot, reserved) == 144, "reserved at 144");
_Static_assert(sizeof(struct spillway_slot) <= SPILLWAY_SLOT_FILE_SIZE, "slot fits its page");

/* A consistent copy of a slot's fields, as a reader takes it. */
struct spillway_slot_view {
    uint64_t generation;
    uint32_t state;
    uint32_t flags;
    uint64_t spill_limit;
    uint64_t main_limit;
    uint64_t updated_ns;
    uint64_t move_epoch;
    char container_id[SPILLWAY_SLOT_ID_MAX];
    uint64_t spill_used;
    uint64_t spill_epoch;
};

/* The value of a field read without tearing (all fields are naturally aligned). */
#define SPILLWAY__LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define SPILLWAY__STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* The hot path: the container's state, with one acquire load. */
static inline uint32_t spillway_slot_state(const struct spillway_slot *slot) {
    return __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
}

/* Nonzero when `slot`, mapped with `mapped_len` bytes, is a slot this build understands. */
static inline int spillway_slot_is_valid(const struct spillway_slot *slot, size_t mapped_len) {
    if (slot == NULL || mapped_len < sizeof(struct spillway_slot)) return 0;
    if (SPILLWAY__LOAD(&slot->magic) != SPILLWAY_SLOT_MAGIC) return 0;
    if (SPILLWAY__LOAD(&slot->version) != SPILLWAY_SLOT_VERSION) return 0;
    if (SPILLWAY__LOAD(&slot->header_size) < sizeof(struct spillway_slot)) return 0;
    return spillway_slot_state(slot) < SPILLWAY_STATE_COUNT;
}

/*
 * Take a consistent copy of the slot. Returns 1 on success, 0 when no stable
 * copy could be had within `max_tries` (a writer stalled mid-update).
 */
static inline int spillway_slot_read(const struct spillway_slot *slot, struct spillway_slot_view *out,
                                     unsigned max_tries) {
    for (unsigned attempt = 0; attempt < max_tries; attempt++) {
        uint64_t before = __atomic_load_n(&slot->generation, __ATOMIC_ACQUIRE);
        if (before & 1u) continue;
        out->generation = before;
        out->state = SPILLWAY__LOAD(&slot->state);
        out->flags = SPILLWAY__LOAD(&slot->flags);
        out->spill_limit = SPILLWAY__LOAD(&slot->spill_limit);
        out->main_limit = SPILLWAY__LOAD(&slot->main_limit);
        out->updated_ns = SPILLWAY__LOAD(&slot->updated_ns);
        out->move_epoch = SPILLWAY__LOAD(&slot->move_epoch);
        out->spill_used = SPILLWAY__LOAD(&slot->spill_used);
        out->spill_epoch = SPILLWAY__LOAD(&slot->spill_epoch);
        for (unsigned i = 0; i < SPILLWAY_SLOT_ID_MAX; i++)
            out->container_id[i] = SPILLWAY__LOAD(&slot->container_id[i]);
        out->container_id[SPILLWAY_SLOT_ID_MAX - 1] = '\0';
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&slot->generation, __ATOMIC_RELAXED) == before) return 1;
    }
    return 0;
}

/*
 * Write every field of a slot from `view` (its generation is ignored). Only
 * one writer may update a slot at a time: the supervisor serialises writers.
 * Readers of `state` alone see either the old or the new value; readers
 * through spillway_slot_read see all old or all new.
 */
static inline void spillway_slot_write(struct spillway_slot *slot, const struct spillway_slot_view *view) {
    uint64_t gen = __atomic_load_n(&slot->generation, __ATOMIC_RELAXED);
    if (gen & 1u) gen++; /* a writer died mid-update: start from the next even value */
    __atomic_store_n(&slot->generation, gen + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    SPILLWAY__STORE(&slot->flags, view->flags);
    SPILLWAY__STORE(&slot->spill_limit, view->spill_limit);
    SPILLWAY__STORE(&slot->main_limit, view->main_limit);
    SPILLWAY__STORE(&slot->updated_ns, view->updated_ns);
    SPILLWAY__STORE(&slot->move_epoch, view->move_epoch);
    SPILLWAY__STORE(&slot->spill_used, view->spill_used);
    SPILLWAY__STORE(&slot->spill_epoch, view->spill_epoch);
    for (unsigned i = 0; i < SPILLWAY_SLOT_ID_MAX; i++)
        SPILLWAY__STORE(&slot->container_id[i], view->container_id[i]);
    __atomic_store_n(&slot->state, view->state, __ATOMIC_RELEASE);
    __atomic_store_n(&slot->generation, gen + 2, __ATOMIC_RELEASE);
}

/* Fill a fresh slot's identity fields (magic, version, size); the rest zero. */
static inline void spillway_slot_format(struct spillway_slot *slot) {
    uint8_t *bytes = (uint8_t *)slot;
    for (size_t i = 0; i < sizeof(*slot); i++) bytes[i] = 0;
    slot->magic = SPILLWAY_SLOT_MAGIC;
    slot->version = SPILLWAY_SLOT_VERSION;
    slot->header_size = (uint32_t)sizeof(*slot);
}

/*
 * The library-enforced cap (SPILLWAY_SLOT_FLAG_LIBRARY_CAP): the one rule the preload library
 * and the FUSE union apply before a write grows a spill-area file.
 *
 * The room is spill_limit - spill_used as last measured. Each writer (one process of the
 * library, one FUSE server) keeps a ledger of the bytes it added since that measurement
 * (spill_epoch); a new epoch starts the ledger at zero, since the measurement now counts
 * them. A write that would take the ledger past the room is cut to what is left; with nothing
 * left it fails with ENOSPC, after waiting for one fresh measurement when the writer's own
 * bytes may be counted twice (spillway_cap_should_remeasure). Several processes writing at once each count only their own
 * bytes, so between two measurements they can together pass the cap by up to the room each
 * (docs/DAEMON.md, "Partition enforcement").
 */
struct spillway_cap_ledger {
    uint64_t epoch;   /* the spill_epoch `charged` counts from; atomic */
    uint64_t charged; /* bytes added since; atomic */
};

/* How many of `growth` new bytes the writer with `ledger` may add now (and charges them). */
static inline uint64_t spillway_cap_take(struct spillway_cap_ledger *ledger, uint64_t limit, uint64_t used,
                                         uint64_t epoch, uint64_t growth) {
    uint64_t seen = __atomic_load_n(&ledger->epoch, __ATOMIC_ACQUIRE);
    if (seen != epoch &&
        __atomic_compare_exchange_n(&ledger->epoch, &seen, epoch, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        __atomic_store_n(&ledger->charged, 0, __ATOMIC_RELEASE);
    if (growth == 0) return 0;
    uint64_t room = limit > used ? limit - used : 0;
    uint64_t before = __atomic_fetch_add(&ledger->charged, growth, __ATOMIC_ACQ_REL);
    uint64_t left = before < room ? room - before : 0;
    uint64_t allowed = left < growth ? left : growth;
    if (allowed < growth) __atomic_fetch_sub(&ledger->charged, growth - allowed, __ATOMIC_ACQ_REL);
    return allowed;
}

/* The bytes a write of `n` bytes at `start` adds to a file of `size` bytes: what lies past its
 * end (a hole it skips over holds no blocks). */
static inline uint64_t spillway_cap_growth(uint64_t start, uint64_t size, uint64_t n) {
    uint64_t from = start > size ? start : size;
    uint64_t end = start + n;
    return end > from ? end - from : 0;
}

/*
 * Whether a writer refused by spillway_cap_take should wait for the supervisor's next
 * measurement and ask again: when it charged bytes since the last one, that measurement may
 * count some of them already (a file moved into the area while the supervisor walked it), so
 * the refusal may be early; a fresh measurement settles it. Without such bytes the room is
 * truly gone.
 */
static inline int spillway_cap_should_remeasure(const struct spillway_cap_ledger *ledger, uint64_t epoch) {
    return __atomic_load_n(&ledger->epoch, __ATOMIC_ACQUIRE) == epoch &&
           __atomic_load_n(&ledger->charged, __ATOMIC_ACQUIRE) > 0;
}

/* How long a refused writer waits for the next measurement at most, in milliseconds. */
#define SPILLWAY_CAP_REMEASURE_WAIT_MS 3000u

/* Gives back `bytes` taken with spillway_cap_take that were not written after all. */
static inline void spillway_cap_refund(struct spillway_cap_ledger *ledger, uint64_t bytes) {
    if (bytes == 0) return;
    uint64_t now = __atomic_load_n(&ledger->charged, __ATOMIC_ACQUIRE);
    while (!__atomic_compare_exchange_n(&ledger->charged, &now, now > bytes ? now - bytes : 0, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
    }
}

/* Charges `bytes` the writer added without asking (a file it moved into the spill area). */
static inline void spillway_cap_charge(struct spillway_cap_ledger *ledger, uint64_t bytes) {
    __atomic_fetch_add(&ledger->charged, bytes, __ATOMIC_ACQ_REL);
}

/*
 * Moves between a container's main disk and its spill area (docs/SHIM.md, "Moves"). The
 * preload library and the supervisor's drain follow one protocol and share these names.
 *
 * - A mover works on a temporary file named SPILLWAY_MOVE_TEMP_PREFIX + suffix in the
 *   destination directory; listings hide such names.
 * - The library records a move into the spill area in a file named
 *   SPILLWAY_MOVE_INTENT_PREFIX + suffix beside the temporary file, holding exactly:
 *     "spillway-move 2\n" "to-spill\n" <path relative to the tree root> "\n"
 *     <source inode> " " <source size> " " <source mtime in ns> "\n"
 *   The relative path names the file both in the tree and in the spill area.
 * - A moved file carries SPILLWAY_ORIGIN_XATTR = "<st_dev>:<st_ino>" of its original.
 * - Movers serialise on flock(LOCK_EX) of the source file.
 * - Every open file description the library opens for writing a spill-area file holds an OFD
 *   write lock (F_OFD_SETLK, F_WRLCK) on one byte of the range SPILLWAY_WRITER_MARK_OFFSET,
 *   SPILLWAY_WRITER_MARK_SPAN bytes long (each writer its own byte: a read lock would need a
 *   readable descriptor). The lock lives as long as the description. The drain asks
 *   F_OFD_GETLK about the whole range and leaves the file alone while any writer holds a byte.
 * - The drain moves a spill-area file back while holding flock(LOCK_EX) on it. A library that
 *   opens a spill-area file for writing while the slot is `draining` places its mark under
 *   flock(LOCK_SH), then checks st_nlink: 0 means the drain moved it first, and it opens the
 *   name again (now on the main disk).
 */
#define SPILLWAY_MOVE_TEMP_PREFIX ".spillway-move."
#define SPILLWAY_MOVE_INTENT_PREFIX ".spillway-intent."
#define SPILLWAY_MOVE_INTENT_MAGIC "spillway-move 2"
#define SPILLWAY_ORIGIN_XATTR "user.spillway.origin"
#define SPILLWAY_WRITER_MARK_OFFSET 0x7fffff0000000000LL
#define SPILLWAY_WRITER_MARK_SPAN 0x100000LL

/*
 * The ask socket: how the preload library asks the supervisor for what the calling process
 * may not do itself, and tells it when it could not help (docs/SHIM.md, "Asking the
 * supervisor"). One SOCK_SEQPACKET unix socket per container; the container is the socket the
 * request came on, never what the message says (a message naming another container is
 * refused). The library finds it at SPILLWAY_ASK (in a container SPILLWAY_ASK_CONTAINER_PATH,
 * a read-only bind of the daemon's run_dir/ask/<id>/ directory).
 *
 * One request per connection: exactly one message of sizeof(struct spillway_ask) bytes, every
 * text NUL-terminated within its field and as long as its *_len says. Anything else (another
 * size, magic, version or kind, a text not so terminated, a path that is absolute, empty, has
 * an empty, "." or ".." component) is refused, with an event, and nothing is done.
 *
 * - SPILLWAY_ASK_PARENTS: `path` is a name relative to the managed tree's root ("tmp/a/f").
 *   The supervisor makes every directory above it that the spill area lacks, each with the
 *   owner and mode of the same directory in the container's main-disk tree, resolving both
 *   trees beneath held descriptors (openat2 RESOLVE_BENEATH | NO_SYMLINKS | NO_MAGICLINKS |
 *   NO_XDEV). It replies with struct spillway_ask_reply: error 0 when the parent exists in the
 *   spill area afterwards, else a positive errno (EPERM: refused).
 * - SPILLWAY_ASK_CANNOT_HELP: the library could not help with `path` (as the program named it)
 *   for `reason` (one line of text); the supervisor counts it. No reply.
 */
#define SPILLWAY_ASK_MAGIC 0x4b534157u /* "WASK" little-endian */
#define SPILLWAY_ASK_VERSION 1u
#define SPILLWAY_ASK_PATH_MAX 4096u
#define SPILLWAY_ASK_REASON_MAX 256u
#define SPILLWAY_ASK_CONTAINER_PATH "/.spillway/ask/sock"
/* The socket's name inside the daemon's per-container directory. */
#define SPILLWAY_ASK_SOCKET_NAME "sock"

enum spillway_ask_kind {
    SPILLWAY_ASK_PARENTS = 1,
    SPILLWAY_ASK_CANNOT_HELP = 2,
};

struct spillway_ask {
    uint32_t magic;      /* SPILLWAY_ASK_MAGIC */
    uint32_t version;    /* SPILLWAY_ASK_VERSION */
    uint32_t kind;       /* enum spillway_ask_kind */
    uint32_t path_len;   /* strlen(path) */
    uint32_t reason_len; /* strlen(reason); 0 for SPILLWAY_ASK_PARENTS */
    uint32_t reserved;   /* zero */
    char container_id[SPILLWAY_SLOT_ID_MAX]; /* the slot's container_id, NUL-terminated */
    char path[SPILLWAY_ASK_PATH_MAX];
    char reason[SPILLWAY_ASK_REASON_MAX];
};

struct spillway_ask_reply {
    uint32_t magic;   /* SPILLWAY_ASK_MAGIC */
    uint32_t version; /* SPILLWAY_ASK_VERSION */
    int32_t error;    /* 0, or a positive errno */
    uint32_t reserved;
};

_Static_assert(sizeof(struct spillway_ask) == 4440, "ask request is 4440 bytes");
_Static_assert(offsetof(struct spillway_ask, container_id) == 24, "ask container_id at 24");
_Static_assert(offsetof(struct spillway_ask, path) == 88, "ask path at 88");
_Static_assert(offsetof(struct spillway_ask, reason) == 4184, "ask reason at 4184");
_Static_assert(sizeof(struct spillway_ask_reply) == 16, "ask reply is 16 bytes");

#undef SPILLWAY__LOAD
#undef SPILLWAY__STORE

#endif /* SPILLWAY_SLOT_H */
