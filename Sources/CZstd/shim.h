#ifndef QUARRY_CZSTD_SHIM_H
#define QUARRY_CZSTD_SHIM_H
// ZSTD_createDDict_byReference (a dictionary read in place from the mapped store) is in the static-only section.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
// ZDICT_trainFromBuffer_fastCover with explicit parameters (one pass, no search over them) is in zdict.h's
// "experimental" section; libzstd exports it.
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
#endif
