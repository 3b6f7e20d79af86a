#ifndef QUARRY_CZSTD_SHIM_H
#define QUARRY_CZSTD_SHIM_H
#include <zstd.h>
#endif
