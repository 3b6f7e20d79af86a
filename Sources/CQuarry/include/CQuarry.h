// C support for the engine: what Swift cannot express safely itself.
//
// - Prefetch hints (the in-memory segment's batched term lookups).
// - Relaxed atomic operations on plain 64-bit words (the "verified chunk" bitmaps of mapped files, shared by the
//   threads searching one index).
// - The SIGBUS guard: a process that maps an index file dies with SIGBUS when it reads a page past the end of a
//   file that was truncated while mapped. Registered mappings are protected: the handler maps a zero page over the
//   faulting page (so the read returns zeros, which the readers' checks reject) and records the fault, which the
//   reader turns into a "file was truncated while open" error after the query.

#ifndef QUARRY_CQUARRY_H
#define QUARRY_CQUARRY_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t quarry_atomic_load64(const uint64_t *word) {
    return __atomic_load_n(word, __ATOMIC_RELAXED);
}

static inline void quarry_atomic_or64(uint64_t *word, uint64_t bits) {
    __atomic_fetch_or(word, bits, __ATOMIC_RELAXED);
}

/// Asks the CPU to bring the cache line of `address` in (a hint: it never faults, whatever the address).
static inline void quarry_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// As `quarry_prefetch`, for a line about to be written.
static inline void quarry_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Installs the SIGBUS handler (once; later calls do nothing). Returns 0, or -1 if sigaction failed.
int quarry_guard_install(void);

/// Protects the mapping [start, start + length). Returns a slot number, or -1 if every slot is taken (the mapping
/// is then unprotected).
int quarry_guard_register(const void *start, size_t length);

/// Stops protecting the mapping of `slot` (before it is unmapped).
void quarry_guard_unregister(int slot);

/// 1 if a read in the mapping of `slot` faulted (the file shrank under it), 0 otherwise.
int quarry_guard_faulted(int slot);

/// The number of faults handled in this process so far.
uint64_t quarry_guard_fault_count(void);

/// `quarry serve` only: makes `enqueue` receive every job the Swift concurrency runtime would put on its global
/// executor (the runtime's `swift_task_enqueueGlobal_hook`, the hook SwiftNIO's
/// `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor` sets, which cannot find it with
/// dlsym when the runtime is linked statically). Call once, before any task runs. Returns 1 if installed, 0 if a
/// hook was already set.
typedef void (*quarry_enqueue_job_fn)(void *job);
int quarry_install_global_executor(quarry_enqueue_job_fn enqueue);

#endif

/// CRC-32C (Castagnoli, as iSCSI, ext4 and RocksDB use) of `length` bytes, continuing from `crc` (0 to start):
/// the SSE4.2 instruction where the CPU has it (about 8 bytes a cycle), a table otherwise.
uint32_t quarry_crc32c(uint32_t crc, const void *data, size_t length);
