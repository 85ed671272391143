/* libfuse3's high-level API, version 3.10 (Debian 12's libfuse3-dev). */
#define FUSE_USE_VERSION 31
#include <fuse.h>
