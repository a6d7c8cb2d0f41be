// The Freivalds kernels of freivalds.cu run whole on the host under the SIMT emulator (simt_emu.hpp): the same
// __global__ functions nvcc compiles, launched by name (cuproof_emu_launch_freivalds) with the grids the runtime
// computes (src/kernels/freivalds.rs, from src/host/emu.rs), so the CPU tests check their index arithmetic, early
// exits, shuffles, barriers and counters against the Rust twin. The fused B·r and the queue kernel keep wrappers
// here: they relaunch on the same counters and check what each launch leaves behind.
#include "simt_emu.hpp"

#include "freivalds.cu"

static inline dim3 emu_dim(unsigned x, unsigned y = 1) { return dim3{x ? x : 1u, y ? y : 1u, 1u}; }

extern "C" {

// y = B·r by the fused kernel (atomic slice accumulation, the last block of a column group finishes y), launched
// `runs` times on the same accumulators. Returns 0, -1 if a launch failed, -2 if the accumulators or counters were
// not left zero after a launch.
int cuproof_emu_freivalds_br_fused(const int8_t* Bt, const uint64_t* r, uint32_t n, uint32_t k, uint32_t slices,
                                   uint32_t runs, uint64_t* y) {
    const uint32_t gx = (k + 256 * CP_FV_BR_PER_THREAD - 1) / (256 * CP_FV_BR_PER_THREAD);
    unsigned long long* acc = (unsigned long long*)calloc(2 * (size_t)k + 1, sizeof(unsigned long long));
    unsigned int* done = (unsigned int*)calloc(gx ? gx : 1, sizeof(unsigned int));
    int rc = 0;
    if (!acc || !done) rc = -1;
    for (uint32_t i = 0; i < runs && rc == 0; ++i) {
        auto f = [&]() { cuproof_freivalds_br_fused(Bt, r, n, k, acc, done, y); };
        if (emu_launch(emu_dim(gx, slices), emu_dim(256), f)) rc = -1;
        for (size_t j = 0; j < 2 * (size_t)k && rc == 0; ++j)
            if (acc[j]) rc = -2;
        for (uint32_t g = 0; g < gx && rc == 0; ++g)
            if (done[g]) rc = -2;
    }
    free(acc);
    free(done);
    return rc;
}

// The bilinear queue kernel (cp_fvq_run) with `grid` blocks of 256 threads, `in_flight` of them at a time, launched
// `runs` times on the same counters; entry by per (8 or 4) and dp2a. Writes u, v, out = [u·v, s·w] of the last launch and, when `times` is
// not null, every warp's start and end of the last launch (2 words per warp). Returns 0, -1 if a launch failed or
// the entry does not exist, -2 if a launch left a counter nonzero.
int cuproof_emu_freivalds_queue(const int8_t* A, const int8_t* Bt, const int32_t* C, const uint64_t* r,
                                const uint64_t* s, uint32_t m, uint32_t n, uint32_t k, uint32_t per, uint32_t dp2a,
                                uint32_t slices, uint32_t cr_chunk, uint32_t tail_div, uint32_t ahead, uint32_t grid,
                                uint32_t in_flight, uint32_t runs, uint64_t* u, uint64_t* v, uint64_t out[2],
                                uint64_t* times) {
    if ((per != 4 && per != 8) || slices == 0 || grid == 0) return -1;
    const cp_fvq_shape sh = cp_fvq_make(m, n, k, per, slices, cr_chunk, tail_div, CP_FV_ROWS_I32);
    const size_t nctr = 2 + 3 * (size_t)sh.groups;
    uint64_t* part_v = (uint64_t*)calloc((size_t)slices * k, sizeof(uint64_t));
    uint64_t* part_u = (uint64_t*)calloc((size_t)slices * k, sizeof(uint64_t));
    uint32_t* ctr = (uint32_t*)calloc(nctr, sizeof(uint32_t));
    uint64_t* bpart = (uint64_t*)calloc(2 * (size_t)grid, sizeof(uint64_t));
    int rc = 0;
    if (!part_v || !part_u || !ctr || !bpart) rc = -1;
    for (uint32_t i = 0; i < runs && rc == 0; ++i) {
        uint64_t* t = i + 1 == runs ? times : NULL;
        auto f = [&]() {
            if (per == 8 && !dp2a)
                cuproof_freivalds_bilinear_queue(Bt, A, C, r, s, m, n, k, slices, cr_chunk, tail_div, ahead, part_v,
                                                 part_u, v, u, ctr, bpart, t, out);
            else if (per == 8)
                cuproof_freivalds_bilinear_queue_dp2a(Bt, A, C, r, s, m, n, k, slices, cr_chunk, tail_div, ahead,
                                                      part_v, part_u, v, u, ctr, bpart, t, out);
            else if (!dp2a)
                cuproof_freivalds_bilinear_queue4(Bt, A, C, r, s, m, n, k, slices, cr_chunk, tail_div, ahead, part_v,
                                                  part_u, v, u, ctr, bpart, t, out);
            else
                cuproof_freivalds_bilinear_queue4_dp2a(Bt, A, C, r, s, m, n, k, slices, cr_chunk, tail_div, ahead,
                                                       part_v, part_u, v, u, ctr, bpart, t, out);
        };
        if (emu_launch(emu_dim(grid), emu_dim(256), f, in_flight)) rc = -1;
        for (size_t j = 0; j < nctr && rc == 0; ++j)
            if (ctr[j]) rc = -2;
    }
    free(part_v);
    free(part_u);
    free(ctr);
    free(bpart);
    return rc;
}

// Launch of a SIMT Freivalds kernel by name with the kernel's arguments as 64-bit words (pointers are host
// addresses; 32-bit arguments in the low half), as the runtime issues it. Returns 0, or -1 for an unknown entry, a
// wrong argument count or a launch the emulator cannot run.
int cuproof_emu_launch_freivalds(const char* entry, uint32_t gx, uint32_t gy, uint32_t block, const uint64_t* a,
                                 uint32_t nargs) {
    const dim3 grid = dim3{gx, gy, 1u}, blk = dim3{block, 1u, 1u};
    typedef void (*br_fn)(const int8_t*, const uint64_t*, uint32_t, uint32_t, uint64_t*);
    typedef void (*rows_fn)(const int8_t*, const uint64_t*, uint32_t, uint32_t, uint64_t*);
    struct named_br {
        const char* name;
        br_fn fn;
    };
    const named_br brs[] = {
        {"cuproof_freivalds_br_partial", cuproof_freivalds_br_partial},
        {"cuproof_freivalds_br_partial4", cuproof_freivalds_br_partial4},
        {"cuproof_freivalds_br_partial_dp2a", cuproof_freivalds_br_partial_dp2a},
        {"cuproof_freivalds_br_partial4_dp2a", cuproof_freivalds_br_partial4_dp2a},
    };
    for (const named_br& b : brs)
        if (strcmp(entry, b.name) == 0 && nargs == 5) {
            auto f = [&]() {
                b.fn((const int8_t*)a[0], (const uint64_t*)a[1], (uint32_t)a[2], (uint32_t)a[3], (uint64_t*)a[4]);
            };
            return emu_launch(grid, blk, f);
        }
    const rows_fn i8 = strcmp(entry, "cuproof_freivalds_rows_i8") == 0        ? cuproof_freivalds_rows_i8
                       : strcmp(entry, "cuproof_freivalds_rows_i8_dp2a") == 0 ? cuproof_freivalds_rows_i8_dp2a
                                                                               : (rows_fn)NULL;
    if (i8 && nargs == 5) {
        auto f = [&]() {
            i8((const int8_t*)a[0], (const uint64_t*)a[1], (uint32_t)a[2], (uint32_t)a[3], (uint64_t*)a[4]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_rows_i32") == 0 && nargs == 5) {
        auto f = [&]() {
            cuproof_freivalds_rows_i32((const int32_t*)a[0], (const uint64_t*)a[1], (uint32_t)a[2], (uint32_t)a[3],
                                       (uint64_t*)a[4]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_sum_slices") == 0 && nargs == 4) {
        auto f = [&]() {
            cuproof_freivalds_sum_slices((const uint64_t*)a[0], (uint32_t)a[1], (uint32_t)a[2], (uint64_t*)a[3]);
        };
        return emu_launch(grid, blk, f);
    }
    // the tensor-core kernels (mma.sync emulated warp-wide)
    if (strcmp(entry, "cuproof_freivalds_tc_prep") == 0 && nargs == 6) {
        auto f = [&]() {
            cuproof_freivalds_tc_prep((const uint64_t*)a[0], (uint32_t)a[1], (uint8_t*)a[2], (uint32_t)a[3],
                                      (uint8_t*)a[4], (uint64_t*)a[5]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_tc_br") == 0 && nargs == 7) {
        auto f = [&]() {
            cuproof_freivalds_tc_br((const int8_t*)a[0], (const uint8_t*)a[1], (uint32_t)a[2], (uint32_t)a[3],
                                    (uint32_t)a[4], (uint32_t)a[5], (uint64_t*)a[6]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_tc_finish_y") == 0 && nargs == 6) {
        auto f = [&]() {
            cuproof_freivalds_tc_finish_y((const uint64_t*)a[0], (uint32_t)a[1], (uint32_t)a[2], (uint64_t*)a[3],
                                          (uint8_t*)a[4], (uint32_t)a[5]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_tc_ay") == 0 && nargs == 7) {
        auto f = [&]() {
            cuproof_freivalds_tc_ay((const int8_t*)a[0], (const uint8_t*)a[1], (uint32_t)a[2], (uint32_t)a[3],
                                    (uint32_t)a[4], (uint32_t)a[5], (uint64_t*)a[6]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_tc_cr") == 0 && nargs == 7) {
        auto f = [&]() {
            cuproof_freivalds_tc_cr((const int32_t*)a[0], (const uint8_t*)a[1], (uint32_t)a[2], (uint32_t)a[3],
                                    (uint32_t)a[4], (uint32_t)a[5], (uint64_t*)a[6]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_tc_finish_zw") == 0 && nargs == 9) {
        auto f = [&]() {
            cuproof_freivalds_tc_finish_zw((const uint64_t*)a[0], (uint32_t)a[1], (const uint64_t*)a[2],
                                           (uint32_t)a[3], (uint32_t)a[4], (const uint64_t*)a[5], (uint32_t)a[6],
                                           (uint64_t*)a[7], (uint64_t*)a[8]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_freivalds_dot2") == 0 && nargs == 7) {
        auto f = [&]() {
            cuproof_freivalds_dot2((const uint64_t*)a[0], (const uint64_t*)a[1], (uint32_t)a[2], (const uint64_t*)a[3],
                                   (const uint64_t*)a[4], (uint32_t)a[5], (uint64_t*)a[6]);
        };
        return emu_launch(grid, blk, f);
    }
    return -1;
}

}  // extern "C"
