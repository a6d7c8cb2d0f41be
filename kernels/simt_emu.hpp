// A small SIMT emulator: runs CUDA __global__ kernels (the very source nvcc compiles) on the host, so that the CPU
// tests exercise whole kernels — their index arithmetic, bounds, early exits, warp shuffles, block barriers, atomic
// counters and grid-stride loops — and not only the portable math of the headers.
//
// Model: up to `in_flight` blocks of a launch run at a time (2 by default), each thread of each a POSIX thread
// (started once per launch, looping over its slot's blocks), so warps and blocks really interleave (atomic
// counters, fences and "last one finishes" logic race as they do on a GPU). Warp shuffles exchange through a
// per-warp slot array at a warp barrier; a thread that returns leaves its warp's and block's barriers (as an exited
// thread does on the device), so divergent exits cannot hang the emulation. Shared variables (CP_SHARED) live in each block slot's
// arena. Not modelled: the GPU's weak memory ordering (x86 is stronger), inline PTX (kernels using it stay outside
// the emulated build: CP_SIMT_EMU), timing, more blocks in flight than asked.
//
// Only the C library and POSIX threads are used (the host build links no C++ runtime).
#pragma once
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CP_SIMT_EMU 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// __shared__ is not defined: the kernels declare shared variables with CP_SHARED (common.cuh), which the emulation
// turns into references into the block's own arena (emu_shared), so blocks can run side by side.

struct dim3 {
    unsigned x, y, z;
};
struct int4 {
    int x, y, z, w;
};
struct ulonglong2 {
    unsigned long long x, y;
};

// A barrier that threads may leave (emu_bar_drop): pthread_barrier_t cannot shrink. The counts are kept under a
// mutex; waiters sleep on the generation word with a futex outside it, so a release wakes them without a convoy on
// the mutex (hundreds of host threads share two cores).
struct emu_bar {
    pthread_mutex_t mu;
    int expected;
    int arrived;
    unsigned gen;
};

static inline void emu_futex_wait(unsigned* addr, unsigned val) {
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static inline void emu_futex_wake_all(unsigned* addr) {
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void emu_bar_init(emu_bar* b, int n) {
    pthread_mutex_init(&b->mu, NULL);
    b->expected = n;
    b->arrived = 0;
    b->gen = 0;
}

static inline void emu_bar_destroy(emu_bar* b) { pthread_mutex_destroy(&b->mu); }

// Called with the mutex held: the round is complete.
static inline void emu_bar_release(emu_bar* b) {
    b->arrived = 0;
    __atomic_fetch_add(&b->gen, 1u, __ATOMIC_SEQ_CST);
}

static inline void emu_bar_sleep(emu_bar* b, unsigned g) {
    while (__atomic_load_n(&b->gen, __ATOMIC_SEQ_CST) == g) emu_futex_wait(&b->gen, g);
}

static inline void emu_bar_wait(emu_bar* b) {
    pthread_mutex_lock(&b->mu);
    const unsigned g = b->gen;
    const bool last = ++b->arrived >= b->expected;
    if (last) emu_bar_release(b);
    pthread_mutex_unlock(&b->mu);
    if (last)
        emu_futex_wake_all(&b->gen);
    else
        emu_bar_sleep(b, g);
}

static inline void emu_bar_drop(emu_bar* b) {
    pthread_mutex_lock(&b->mu);
    b->expected--;
    const bool release = b->arrived > 0 && b->arrived >= b->expected;
    if (release) emu_bar_release(b);
    pthread_mutex_unlock(&b->mu);
    if (release) emu_futex_wake_all(&b->gen);
}

#define EMU_MAX_THREADS 1024
struct emu_warp {
    emu_bar bar;
    // shuffle slots, two phases: a lane can reach the next shuffle's write only after every lane has passed this
    // shuffle's barrier and read, so one barrier per shuffle suffices (the mma exchange shares the phases)
    uint64_t slot[2][32];
    struct {
        uint32_t a[4], b[2];
        int32_t c[4];
    } mma[2][32];
};
#define EMU_SHARED_IDS 64
#define EMU_SHARED_BYTES (64u << 10)
struct emu_block {
    emu_bar bar;
    unsigned round;  // blocks finished (emu_block_end)
    emu_warp warps[EMU_MAX_THREADS / 32];
    // shared memory: the CP_SHARED variables at offsets assigned on first use (one slot per declaration site)
    pthread_mutex_t shared_mu;
    uint32_t shared_off[EMU_SHARED_IDS];
    uint32_t shared_used;
    alignas(16) unsigned char shared[EMU_SHARED_BYTES];
};

static __thread dim3 threadIdx, blockIdx, blockDim, gridDim;
static __thread emu_block* emu_cur_block;
static __thread unsigned emu_shfl_phase;

static inline emu_warp* emu_my_warp() { return &emu_cur_block->warps[threadIdx.x / 32]; }

// `T` itself (lets CP_SHARED spell a reference to an array type without a declarator).
template <typename T>
using emu_type = T;

// The block's copy of shared variable `id` (a CP_SHARED declaration site) of `size` bytes.
static inline void* emu_shared(unsigned id, size_t size) {
    emu_block* b = emu_cur_block;
    if (id >= EMU_SHARED_IDS) abort();
    pthread_mutex_lock(&b->shared_mu);
    if (b->shared_off[id] == 0) {
        const uint32_t at = (b->shared_used + 15u) & ~15u;
        if (at + size > EMU_SHARED_BYTES) abort();
        b->shared_off[id] = at + 1u;  // stored + 1: 0 means unassigned
        b->shared_used = at + (uint32_t)size;
    }
    void* p = b->shared + (b->shared_off[id] - 1u);
    pthread_mutex_unlock(&b->shared_mu);
    return p;
}

static inline void __syncthreads() { emu_bar_wait(&emu_cur_block->bar); }
static inline void __syncwarp(unsigned = 0xffffffffu) { emu_bar_wait(&emu_my_warp()->bar); }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// value of lane `src` (every live lane of the warp takes part, as in the kernels' full-mask shuffles)
template <typename T>
static inline T emu_shfl(T v, int src) {
    emu_warp* w = emu_my_warp();
    const int lane = (int)(threadIdx.x & 31u);
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    const unsigned ph = emu_shfl_phase;
    emu_shfl_phase ^= 1u;
    w->slot[ph][lane] = bits;
    emu_bar_wait(&w->bar);
    const uint64_t got = w->slot[ph][src & 31];
    T r;
    memcpy(&r, &got, sizeof(T));
    return r;
}
template <typename T>
static inline T __shfl_sync(unsigned, T v, int src) {
    return emu_shfl(v, src);
}
template <typename T>
static inline T __shfl_down_sync(unsigned, T v, unsigned d) {
    const unsigned lane = threadIdx.x & 31u;
    return emu_shfl(v, (int)(lane + d < 32u ? lane + d : lane));
}
template <typename T>
static inline T __shfl_xor_sync(unsigned, T v, int mask) {
    return emu_shfl(v, (int)((threadIdx.x & 31u) ^ (unsigned)mask));
}

#include "gemm.cuh"  // cp_mma_emulate_typed

// One warp-wide mma.sync m16n8k32 (int8 operands, signed or unsigned; int32 accumulators): every lane's fragments
// gathered through the warp's exchange slots, the product emulated by gemm.cuh's cp_mma_emulate_typed (the layout
// the host tests check), each lane keeping its own four accumulators.
static inline void emu_mma_m16n8k32(int32_t c[4], const uint32_t a[4], const uint32_t b[2], int a_signed,
                                    int b_signed) {
    emu_warp* w = emu_my_warp();
    const unsigned lane = threadIdx.x & 31u;
    const unsigned ph = emu_shfl_phase;
    emu_shfl_phase ^= 1u;
    auto* f = &w->mma[ph][lane];
    memcpy(f->a, a, sizeof f->a);
    memcpy(f->b, b, sizeof f->b);
    memcpy(f->c, c, sizeof f->c);
    emu_bar_wait(&w->bar);
    uint32_t A[32][4], B[32][2];
    int32_t C[32][4];
    for (unsigned l = 0; l < 32; ++l) {
        memcpy(A[l], w->mma[ph][l].a, sizeof A[l]);
        memcpy(B[l], w->mma[ph][l].b, sizeof B[l]);
        memcpy(C[l], w->mma[ph][l].c, sizeof C[l]);
    }
    cp_mma_emulate_typed(C, A, B, a_signed, b_signed);
    memcpy(c, C[lane], sizeof C[lane]);
}

static inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

template <typename T>
static inline T __ldg(const T* p) {
    return *p;
}
template <typename T>
static inline T __ldcg(const T* p) {
    T v;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    memcpy(&v, (const void*)p, sizeof(T));
    return v;
}

template <typename T>
static inline T min(T a, T b) {
    return b < a ? b : a;
}
template <typename T>
static inline T max(T a, T b) {
    return a < b ? b : a;
}

static inline uint64_t emu_globaltimer() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// ---- launching ----

// One host thread per thread of a block, started once per launch: each runs the kernel for every block in turn
// (blockIdx set before each), and the block's barriers are made whole again between blocks.
struct emu_launch_state {
    void (*body)(void*);
    void* ctx;
    emu_block* blocks;  // one per slot: the blocks in flight
    unsigned slots;
    dim3 grid, bdim;
    // the threads wait at the gate until all are started; `run` = 0 sends them home (a thread failed to start)
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    int open, run;
};

struct emu_thread_arg {
    emu_launch_state* st;
    unsigned slot;
    unsigned tid;
};

static inline void emu_block_reset(emu_block* b, unsigned nt) {
    b->bar.expected = (int)nt;
    b->bar.arrived = 0;
    for (unsigned w = 0; w < (nt + 31) / 32; ++w) {
        b->warps[w].bar.expected = (int)(nt - 32 * w < 32 ? nt - 32 * w : 32);
        b->warps[w].bar.arrived = 0;
    }
}

static inline void emu_block_end(emu_block* b, unsigned nt) {
    emu_bar* bar = &b->bar;
    pthread_mutex_lock(&bar->mu);
    bar->expected--;
    const unsigned r = b->round;
    bool wake_bar = false, next = false;
    if (bar->expected == 0) {
        // every thread is done with this block: make its barriers whole and let the threads into the next one
        emu_block_reset(b, nt);
        __atomic_fetch_add(&b->round, 1u, __ATOMIC_SEQ_CST);
        next = true;
    } else if (bar->arrived > 0 && bar->arrived >= bar->expected) {
        emu_bar_release(bar);
        wake_bar = true;
    }
    pthread_mutex_unlock(&bar->mu);
    if (wake_bar) emu_futex_wake_all(&bar->gen);
    if (next)
        emu_futex_wake_all(&b->round);
    else
        while (__atomic_load_n(&b->round, __ATOMIC_SEQ_CST) == r) emu_futex_wait(&b->round, r);
}

static void* emu_thread_main(void* p) {
    emu_thread_arg* a = (emu_thread_arg*)p;
    emu_launch_state* st = a->st;
    pthread_mutex_lock(&st->gate_mu);
    while (!st->open) pthread_cond_wait(&st->gate_cv, &st->gate_mu);
    const int run = st->run;
    pthread_mutex_unlock(&st->gate_mu);
    if (!run) return NULL;
    threadIdx = dim3{a->tid, 0, 0};
    blockDim = st->bdim;
    gridDim = st->grid;
    emu_cur_block = &st->blocks[a->slot];
    const uint64_t total = (uint64_t)st->grid.x * st->grid.y * st->grid.z;
    // slot s runs blocks s, s + slots, ... (linear order x, then y, then z)
    for (uint64_t b = a->slot; b < total; b += st->slots) {
        blockIdx = dim3{(unsigned)(b % st->grid.x), (unsigned)(b / st->grid.x % st->grid.y),
                        (unsigned)(b / ((uint64_t)st->grid.x * st->grid.y))};
        emu_shfl_phase = 0;
        st->body(st->ctx);
        // an exited thread no longer takes part in its warp's or block's barriers; the block's last thread makes
        // them whole again for the slot's next block and releases the others into it
        emu_bar_drop(&emu_my_warp()->bar);
        emu_block_end(emu_cur_block, st->bdim.x);
    }
    return NULL;
}

// Runs body(ctx) as every thread of every block of the grid (block.y = block.z = 1), up to `in_flight` blocks at a
// time (each with its own barriers and shared memory). Returns 0, or -1 if the launch shape is not supported or
// its threads could not be started.
static inline int emu_launch_raw(dim3 grid, dim3 block, void (*body)(void*), void* ctx, unsigned in_flight) {
    const unsigned nt = block.x;
    if (nt == 0 || nt > EMU_MAX_THREADS || block.y != 1 || block.z != 1) return -1;
    const uint64_t total = (uint64_t)grid.x * grid.y * grid.z;
    if (total == 0) return 0;
    const unsigned slots = (unsigned)(total < (in_flight ? in_flight : 1u) ? total : (in_flight ? in_flight : 1u));
    const unsigned nthreads = slots * nt;
    emu_launch_state st;
    st.body = body;
    st.ctx = ctx;
    st.grid = grid;
    st.bdim = block;
    st.slots = slots;
    st.blocks = (emu_block*)calloc(slots, sizeof(emu_block));
    emu_thread_arg* args = (emu_thread_arg*)calloc(nthreads, sizeof(emu_thread_arg));
    pthread_t* th = (pthread_t*)calloc(nthreads, sizeof(pthread_t));
    if (!st.blocks || !args || !th) {
        free(st.blocks);
        free(args);
        free(th);
        return -1;
    }
    for (unsigned sl = 0; sl < slots; ++sl) {
        emu_block* b = &st.blocks[sl];
        emu_bar_init(&b->bar, (int)nt);
        for (unsigned w = 0; w < (nt + 31) / 32; ++w) emu_bar_init(&b->warps[w].bar, 32);
        emu_block_reset(b, nt);
        pthread_mutex_init(&b->shared_mu, NULL);
    }
    pthread_mutex_init(&st.gate_mu, NULL);
    pthread_cond_init(&st.gate_cv, NULL);
    st.open = 0;
    st.run = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256u << 10);
    unsigned started = 0;
    for (unsigned t = 0; t < nthreads; ++t) {
        args[t].st = &st;
        args[t].slot = t / nt;
        args[t].tid = t % nt;
        if (pthread_create(&th[t], &attr, emu_thread_main, &args[t]) != 0) break;
        started++;
    }
    // a launch whose threads could not all start does not run (it would hang at the first full barrier)
    pthread_mutex_lock(&st.gate_mu);
    st.run = started == nthreads;
    st.open = 1;
    pthread_cond_broadcast(&st.gate_cv);
    pthread_mutex_unlock(&st.gate_mu);
    for (unsigned t = 0; t < started; ++t) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&st.gate_mu);
    pthread_cond_destroy(&st.gate_cv);
    pthread_attr_destroy(&attr);
    for (unsigned sl = 0; sl < slots; ++sl) {
        emu_block* b = &st.blocks[sl];
        for (unsigned w = 0; w < (nt + 31) / 32; ++w) emu_bar_destroy(&b->warps[w].bar);
        emu_bar_destroy(&b->bar);
        pthread_mutex_destroy(&b->shared_mu);
    }
    free(th);
    free(args);
    free(st.blocks);
    return started == nthreads ? 0 : -1;
}

// Runs a callable (a lambda calling the kernel with its arguments) over the grid.
template <typename F>
static inline int emu_launch(dim3 grid, dim3 block, F& f, unsigned in_flight = 2) {
    return emu_launch_raw(grid, block, [](void* p) { (*(F*)p)(); }, &f, in_flight);
}
