/* The build's version. See version.h; the Makefile defines KEFU_VERSION. */
#include "lib/version.h"

#ifndef KEFU_VERSION
#define KEFU_VERSION "unknown"
#endif

const char kefu_version[] = KEFU_VERSION;
