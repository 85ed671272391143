/*
 * CSpillway.c — SwiftPM's compilation unit for CShim's headers (the slot layout and the
 * ELF program reader).
 *
 * SwiftPM needs one source file per C target; this one also makes the
 * header's _Static_assert layout checks run in every Swift build.
 */
#include "spillway_slot.h"
#include "spillway_program.h"
