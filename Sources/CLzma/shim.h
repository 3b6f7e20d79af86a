#ifndef QUARRY_CLZMA_SHIM_H
#define QUARRY_CLZMA_SHIM_H
#include <lzma.h>
#endif
