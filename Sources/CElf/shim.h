/* libelf (elfutils) with gelf, to read a program's ELF headers. */
#include <gelf.h>
#include <libelf.h>
