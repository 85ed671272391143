/*
 * slot_layout.c — prints the slot layout as the C compiler sees it, one
 * "name value" per line, for the Swift test that checks both sides agree.
 */
#include <stddef.h>
#include <stdio.h>

#include "spillway_slot.h"

#define FIELD(f) printf("offset.%s %zu\n", #f, offsetof(struct spillway_slot, f))
#define ASK_FIELD(f) printf("ask.offset.%s %zu\n", #f, offsetof(struct spillway_ask, f))

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
    /* The ask socket's messages (AskMessageTests). */
    printf("ask.size %zu\n", sizeof(struct spillway_ask));
    printf("ask.reply_size %zu\n", sizeof(struct spillway_ask_reply));
    printf("ask.magic %u\n", SPILLWAY_ASK_MAGIC);
    ASK_FIELD(magic);
    ASK_FIELD(version);
    ASK_FIELD(kind);
    ASK_FIELD(path_len);
    ASK_FIELD(reason_len);
    ASK_FIELD(container_id);
    ASK_FIELD(path);
    ASK_FIELD(reason);
    printf("ask.reply.offset.error %zu\n", offsetof(struct spillway_ask_reply, error));
    return 0;
}
