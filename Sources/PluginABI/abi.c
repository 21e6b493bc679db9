/* The ABI is the header; this file gives SwiftPM a C source to compile. */
#include "cchost_plugin.h"
