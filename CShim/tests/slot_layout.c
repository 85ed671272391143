/*
 * slot_layout.c — prints the slot layout as the C compiler sees it, one
 * "name value" per line, for the Swift test that checks both sides agree.
 */
#include <stddef.h>
#include <stdio.h>

#include "spillway_slot.h"

#define FIELD(f) printf("offset.%s %zu\n", #f, offsetof(struct spillway_slot, f))

int main(void) {
    printf("size %zu\n", sizeof(struct spillway_slot));
    printf("file_size %u\n", SPILLWAY_SLOT_FILE_SIZE);
    printf("magic %llu\n", (unsigned long long)SPILLWAY_SLOT_MAGIC);
    printf("version %u\n", SPILLWAY_SLOT_VERSION);
    printf("state.normal %d\n", SPILLWAY_STATE_NORMAL);
    printf("state.spilling %d\n", SPILLWAY_STATE_SPILLING);
    printf("state.draining %d\n", SPILLWAY_STATE_DRAINING);
    FIELD(magic);
    FIELD(version);
    FIELD(header_size);
    FIELD(state);
    FIELD(flags);
    FIELD(generation);
    FIELD(spill_limit);
    FIELD(main_limit);
    FIELD(updated_ns);
    FIELD(move_epoch);
    FIELD(container_id);
    FIELD(spill_used);
    FIELD(spill_epoch);
    FIELD(reserved);
    return 0;
}
