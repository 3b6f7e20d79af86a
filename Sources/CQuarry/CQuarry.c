// The SIGBUS guard (see include/CQuarry.h). Slots are claimed and released with atomic operations, and the handler
// only reads them and calls mmap, so registering never blocks a fault being handled.

#define _GNU_SOURCE
#include "CQuarry.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QUARRY_GUARD_SLOTS 4096

struct quarry_guard_slot {
    uintptr_t start;  // 0: free
    uintptr_t end;
    int faulted;
};

static struct quarry_guard_slot slots[QUARRY_GUARD_SLOTS];
static uint64_t fault_count;
static int installed;
static struct sigaction previous;

static void quarry_guard_handler(int sig, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < QUARRY_GUARD_SLOTS; i++) {
        uintptr_t start = __atomic_load_n(&slots[i].start, __ATOMIC_ACQUIRE);
        if (start == 0 || address < start) continue;
        uintptr_t end = __atomic_load_n(&slots[i].end, __ATOMIC_RELAXED);
        if (address >= end) continue;
        long page = sysconf(_SC_PAGESIZE);
        uintptr_t page_start = address & ~((uintptr_t)page - 1);
        void *p = mmap((void *)page_start, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) break;
        __atomic_store_n(&slots[i].faulted, 1, __ATOMIC_RELEASE);
        __atomic_fetch_add(&fault_count, 1, __ATOMIC_RELAXED);
        return;  // the faulting read is retried and now reads zeros
    }
    // Not ours: behave as if we were not here.
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) {
            previous.sa_sigaction(sig, info, context);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN && previous.sa_handler) {
        previous.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
}

int quarry_guard_install(void) {
    int expected = 0;
    if (!__atomic_compare_exchange_n(&installed, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = quarry_guard_handler;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous) != 0) {
        __atomic_store_n(&installed, 0, __ATOMIC_RELEASE);
        return -1;
    }
    return 0;
}

int quarry_guard_register(const void *start, size_t length) {
    uintptr_t s = (uintptr_t)start;
    if (s == 0 || length == 0) return -1;
    for (int i = 0; i < QUARRY_GUARD_SLOTS; i++) {
        uintptr_t expected = 0;
        // Claim with a sentinel so that the handler never sees a half-written slot.
        if (__atomic_load_n(&slots[i].start, __ATOMIC_RELAXED) != 0) continue;
        if (!__atomic_compare_exchange_n(&slots[i].start, &expected, UINTPTR_MAX, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        __atomic_store_n(&slots[i].end, s + length, __ATOMIC_RELAXED);
        __atomic_store_n(&slots[i].faulted, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slots[i].start, s, __ATOMIC_RELEASE);
        return i;
    }
    return -1;
}

void quarry_guard_unregister(int slot) {
    if (slot < 0 || slot >= QUARRY_GUARD_SLOTS) return;
    __atomic_store_n(&slots[slot].start, 0, __ATOMIC_RELEASE);
}

int quarry_guard_faulted(int slot) {
    if (slot < 0 || slot >= QUARRY_GUARD_SLOTS) return 0;
    return __atomic_load_n(&slots[slot].faulted, __ATOMIC_ACQUIRE);
}

uint64_t quarry_guard_fault_count(void) {
    return __atomic_load_n(&fault_count, __ATOMIC_RELAXED);
}

// MARK: CRC-32C

static uint32_t crc32c_table[256];
static int crc32c_has_sse42;

// Built when the library is loaded, before any thread can ask: no lazy initialization to race on.
__attribute__((constructor)) static void crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_has_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_software(uint32_t crc, const unsigned char *p, size_t n) {
    while (n--) crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t quarry_crc32c(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
#if defined(__x86_64__)
    if (crc32c_has_sse42) return ~crc32c_sse42(crc, p, length);
#endif
    return ~crc32c_software(crc, p, length);
}

// MARK: The global executor hook (quarry serve)

// The runtime's hook: called with the job and the runtime's own enqueue function, in the Swift calling convention.
typedef void (*quarry_swift_enqueue_original)(void *job) __attribute__((swiftcall));
extern void *swift_task_enqueueGlobal_hook;

static quarry_enqueue_job_fn quarry_enqueue_job;

__attribute__((swiftcall)) static void quarry_enqueue_global(void *job, quarry_swift_enqueue_original original) {
    (void)original;
    quarry_enqueue_job(job);
}

int quarry_install_global_executor(quarry_enqueue_job_fn enqueue) {
    if (enqueue == NULL) return 0;
    quarry_enqueue_job = enqueue;
    void *expected = NULL;
    void *desired = (void *)&quarry_enqueue_global;
    return __atomic_compare_exchange_n(&swift_task_enqueueGlobal_hook, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST) ? 1 : 0;
}
