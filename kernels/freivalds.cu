// Freivalds check kernels (see freivalds.cuh). Partial sums are exact residues, so results are bit-identical to the
// host twin whatever the launch shape.
#include "freivalds.cuh"
#include "freivalds_tc.cuh"

// Shapes (docs/perf.md): each kernel runs in about one wave and keeps ~64 KiB of loads in flight per SM, issued
// in explicit batches (load phase, then arithmetic). Rows per warp of the row kernels share the y / r loads.
// The *_BATCH knobs change only how many loads are in flight (tuning); the others fix the launch shape and must
// match src/kernels/freivalds.rs.
#define CP_FV_BR_PER_THREAD 8
#ifndef CP_FV_BR_BATCH
#define CP_FV_BR_BATCH 8
#endif
// the dp2a B·r takes the rows of a batch in pairs
static_assert(CP_FV_BR_BATCH % 2 == 0, "CP_FV_BR_BATCH must be even");
#define CP_FV_ROWS_I8 4
#ifndef CP_FV_I8_BATCH
#define CP_FV_I8_BATCH 8
#endif
// Rows per warp of C·r (the launch in src/kernels/freivalds.rs sizes its grid for this many). The warps stride
// over the row groups, so a build with another value still computes every w on that launch: the device check
// times such builds as variants.
#ifndef CP_FV_ROWS_I32
#define CP_FV_ROWS_I32 2
#endif
#ifndef CP_FV_I32_BATCH
#define CP_FV_I32_BATCH 4
#endif
// Register double buffering of the matrix loads in the batched loops, per kernel: the next batch is loaded before
// the current one is used. Without it ptxas sinks every load next to its first use, so a warp has about one
// iteration's loads in flight rather than a batch (seen in the SASS; docs/perf.md §4). On for B·r and A·y (H100:
// 40 -> 36 us and 47 -> 38 us); off for C·r, where the extra registers (84 -> 128) cost more than they gain and
// keep the chain's blocks from sharing its SMs. Tuning knobs.
#ifndef CP_FV_PREFETCH_BR
#define CP_FV_PREFETCH_BR 1
#endif
#ifndef CP_FV_PREFETCH_I8
#define CP_FV_PREFETCH_I8 1
#endif
#ifndef CP_FV_PREFETCH_I32
#define CP_FV_PREFETCH_I32 0
#endif

// Programmatic dependent launch (kernels/freivalds_pdl_sm90.cu compiles this file for compute_90a with
// CP_FV_PDL = 1): a dependent kernel of the chain (slice sum, A·y) waits for its predecessor's completion and memory
// at its start instead of at its launch, so its launch overlaps the predecessor's tail; B·r and the sum let their
// dependent launch once their own reads are done. In this module (sm_80) both are empty.
#if defined(CP_FV_PDL) && CP_FV_PDL
#define CP_FV_WAIT_PRIMARY() asm volatile("griddepcontrol.wait;\n" ::: "memory")
#define CP_FV_LAUNCH_DEPENDENTS() asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory")
#else
#define CP_FV_WAIT_PRIMARY() ((void)0)
#define CP_FV_LAUNCH_DEPENDENTS() ((void)0)
#endif

// Loads of the matrices, each byte read once. (Streaming hints, ld.global.cs or L1::no_allocate, were measured on
// an H100 and changed nothing beyond noise: docs/perf.md §4.)
template <typename T>
__device__ __forceinline__ T cp_fv_ldm(const T* p) {
    return __ldg(p);
}

// Word holding a thread's PER bytes of one Bt row.
template <int PER>
struct cp_fv_br_word;
template <>
struct cp_fv_br_word<8> {
    typedef unsigned long long type;
};
template <>
struct cp_fv_br_word<4> {
    typedef unsigned int type;
};

// The partial sums of B·r over rows j0 .. j1 - 1 of Bt for this thread's PER consecutive l from l0 (< k):
// v[t] = sum over those j of B[l0 + t][j] * r[j] (mod p), B given as Bt (n x k row-major). One PER-byte load
// per j (32 PER bytes per warp), CP_FV_BR_BATCH rows loaded before use (double-buffered when kPrefetch), partials
// folded every CP_ACC8_FOLD rows from j0.
template <int PER, bool kPrefetch, bool kDp2a = false>
__device__ __forceinline__ void cp_fv_br_rows_t(const int8_t* __restrict__ bt, const uint64_t* __restrict__ r,
                                                uint32_t j0, uint32_t j1, uint32_t k, uint32_t l0,
                                                uint64_t (&v)[PER]) {
    typedef typename cp_fv_br_word<PER>::type word;
    int32_t p[PER][4];
#pragma unroll
    for (int t = 0; t < PER; ++t) {
        v[t] = 0;
        p[t][0] = p[t][1] = p[t][2] = p[t][3] = 0;
    }
    const bool fast = (k & (PER - 1u)) == 0 && (((uintptr_t)bt) & (PER - 1u)) == 0;
    for (uint32_t jb = j0; jb < j1; jb += CP_ACC8_FOLD) {
        const uint32_t je = min(j1, jb + CP_ACC8_FOLD);
        uint32_t j = jb;
        if (fast) {
            auto load_b = [&](uint32_t at, word (&w)[CP_FV_BR_BATCH], uint64_t (&rj)[CP_FV_BR_BATCH]) {
#pragma unroll
                for (int u = 0; u < CP_FV_BR_BATCH; ++u) {
                    w[u] = cp_fv_ldm((const word*)(bt + (size_t)(at + u) * k + l0));
                    rj[u] = __ldg(r + at + u);
                }
            };
            auto use_b = [&](const word (&w)[CP_FV_BR_BATCH], const uint64_t (&rj)[CP_FV_BR_BATCH]) {
                if (kDp2a) {
                    // rows u, u + 1 together: their r limbs paired, each 4-l half of the two words zipped so that
                    // every l's two entries are adjacent bytes (cp_bytes_zip_*), two terms per dp2a
#pragma unroll
                    for (int u = 0; u < CP_FV_BR_BATCH; u += 2) {
                        uint32_t pk[4];
                        cp_limb_pairs16(rj[u], rj[u + 1], pk);
#pragma unroll
                        for (int h = 0; h < PER / 4; ++h) {
                            const uint32_t x0 = (uint32_t)(w[u] >> (32 * h)), x1 = (uint32_t)(w[u + 1] >> (32 * h));
                            const uint32_t z0 = cp_bytes_zip_lo(x0, x1), z1 = cp_bytes_zip_hi(x0, x1);
                            cp_acc8_add2<false>(p[4 * h + 0], z0, pk);
                            cp_acc8_add2<true>(p[4 * h + 1], z0, pk);
                            cp_acc8_add2<false>(p[4 * h + 2], z1, pk);
                            cp_acc8_add2<true>(p[4 * h + 3], z1, pk);
                        }
                    }
                } else {
#pragma unroll
                    for (int u = 0; u < CP_FV_BR_BATCH; ++u) {
                        uint32_t lim[4];
                        cp_limbs16(rj[u], lim);
#pragma unroll
                        for (int t = 0; t < PER; ++t)
                            cp_acc8_add(p[t], (int32_t)(int8_t)(uint8_t)(w[u] >> (8 * t)), lim);
                    }
                }
            };
            if (kPrefetch) {
                if (j + CP_FV_BR_BATCH <= je) {
                    word w[CP_FV_BR_BATCH];
                    uint64_t rj[CP_FV_BR_BATCH];
                    load_b(j, w, rj);
                    for (;;) {
                        // the last batch reloads itself (in bounds, an L1 hit) instead of branching around the load
                        const bool more = j + 2 * CP_FV_BR_BATCH <= je;
                        word wn[CP_FV_BR_BATCH];
                        uint64_t rn[CP_FV_BR_BATCH];
                        load_b(more ? j + CP_FV_BR_BATCH : j, wn, rn);
                        use_b(w, rj);
                        j += CP_FV_BR_BATCH;
                        if (!more) break;
#pragma unroll
                        for (int u = 0; u < CP_FV_BR_BATCH; ++u) {
                            w[u] = wn[u];
                            rj[u] = rn[u];
                        }
                    }
                }
            } else {
                for (; j + CP_FV_BR_BATCH <= je; j += CP_FV_BR_BATCH) {
                    word w[CP_FV_BR_BATCH];
                    uint64_t rj[CP_FV_BR_BATCH];
                    load_b(j, w, rj);
                    use_b(w, rj);
                }
            }
        }
        for (; j < je; ++j) {
            uint32_t lim[4];
            cp_limbs16(r[j], lim);
#pragma unroll
            for (int t = 0; t < PER; ++t)
                if (l0 + t < k) cp_acc8_add(p[t], (int32_t)bt[(size_t)j * k + l0 + t], lim);
        }
#pragma unroll
        for (int t = 0; t < PER; ++t) v[t] = cp_acc8_fold(v[t], p[t]);
    }
}

// cp_fv_br_rows_t over column slice blockIdx.y of gridDim.y: rows j of Bt in [y per, (y + 1) per), per =
// ceil(n / gridDim.y).
template <int PER, bool kPrefetch, bool kDp2a = false>
__device__ __forceinline__ void cp_fv_br_slice_t(const int8_t* __restrict__ bt, const uint64_t* __restrict__ r,
                                                 uint32_t n, uint32_t k, uint32_t l0, uint64_t (&v)[PER]) {
    const uint32_t per = (n + gridDim.y - 1) / gridDim.y;
    const uint32_t j0 = blockIdx.y * per;
    const uint32_t j1 = min(n, j0 + per);
    cp_fv_br_rows_t<PER, kPrefetch, kDp2a>(bt, r, j0, j1, k, l0, v);
}

// The production slice: CP_FV_BR_PER_THREAD = 8 l per thread, double-buffered loads (CP_FV_PREFETCH_BR).
__device__ __forceinline__ void cp_fv_br_slice(const int8_t* __restrict__ bt, const uint64_t* __restrict__ r,
                                               uint32_t n, uint32_t k, uint32_t l0,
                                               uint64_t (&v)[CP_FV_BR_PER_THREAD]) {
    cp_fv_br_slice_t<CP_FV_BR_PER_THREAD, CP_FV_PREFETCH_BR != 0>(bt, r, n, k, l0, v);
}

// y_part[s][l] = sum over columns j in slice s of B[l][j] * r[j] (mod p), PER l per thread (cp_fv_br_slice_t).
// grid = (ceil(k / (256 * PER)), slices), block = 256.
template <int PER, bool kPrefetch, bool kDp2a>
__device__ __forceinline__ void cp_fv_br_partial(const int8_t* __restrict__ bt, const uint64_t* __restrict__ r,
                                                 uint32_t n, uint32_t k, uint64_t* __restrict__ y_part) {
    const uint32_t l0 = PER * (blockIdx.x * blockDim.x + threadIdx.x);
    if (l0 >= k) return;
    uint64_t v[PER];
    cp_fv_br_slice_t<PER, kPrefetch, kDp2a>(bt, r, n, k, l0, v);
    CP_FV_LAUNCH_DEPENDENTS();
#pragma unroll
    for (int t = 0; t < PER; ++t)
        if (l0 + t < k) y_part[(size_t)blockIdx.y * k + l0 + t] = v[t];
}

// The B·r entries: cp_fv_br_partial<PER, kPrefetch, kDp2a> under the name the runtime launches.
#define CP_FV_BR_ENTRY(name, PER, kPrefetch, kDp2a)                                                              \
    extern "C" __global__ void __launch_bounds__(256)                                                            \
        name(const int8_t* __restrict__ bt, const uint64_t* __restrict__ r, uint32_t n, uint32_t k,              \
             uint64_t* __restrict__ y_part) {                                                                     \
        cp_fv_br_partial<PER, kPrefetch, kDp2a>(bt, r, n, k, y_part);                                            \
    }

// The production B·r: CP_FV_BR_PER_THREAD = 8 l per thread, double-buffered loads.
CP_FV_BR_ENTRY(cuproof_freivalds_br_partial, CP_FV_BR_PER_THREAD, CP_FV_PREFETCH_BR != 0, false)
// 4 l per thread (4-byte loads) and no double buffering: about half the registers, so that two of its blocks fit
// on an SM beside C·r's (docs/perf.md §4).
CP_FV_BR_ENTRY(cuproof_freivalds_br_partial4, 4, false, false)
// The two above with the multiply-adds as two-way dot products (dp2a, two rows per instruction; freivalds.cuh):
// the same partials, so the same y_part, with half the arithmetic instructions (docs/kernels.md §4e).
CP_FV_BR_ENTRY(cuproof_freivalds_br_partial_dp2a, CP_FV_BR_PER_THREAD, CP_FV_PREFETCH_BR != 0, true)
CP_FV_BR_ENTRY(cuproof_freivalds_br_partial4_dp2a, 4, false, true)

// y = B·r with the slice sum folded in (no second launch): every block adds its slice's partials into two u64
// accumulators per l with fire-and-forget atomic adds (acc[l] += the residue's low 32 bits, acc[k + l] += its high
// 29 bits: exact for up to 2^32 slices), then counts itself done on its column group's counter done[blockIdx.x];
// the group's last block turns the accumulators into residues y[l] = acc[l] + 2^32 acc[k + l] (mod p) and clears
// them and the counter, so the next launch finds them zero (the executor allocates them zeroed).
// grid = (ceil(k / (256 * 8)), slices), block = 256; acc: 2k words, done: grid.x words.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_br_fused(const int8_t* __restrict__ bt,
                                                                             const uint64_t* __restrict__ r,
                                                                             uint32_t n, uint32_t k,
                                                                             unsigned long long* __restrict__ acc,
                                                                             unsigned int* __restrict__ done,
                                                                             uint64_t* __restrict__ y) {
    CP_SHARED(uint32_t, last);
    const uint32_t l0 = CP_FV_BR_PER_THREAD * (blockIdx.x * blockDim.x + threadIdx.x);
    if (l0 < k) {
        uint64_t v[CP_FV_BR_PER_THREAD];
        cp_fv_br_slice(bt, r, n, k, l0, v);
#pragma unroll
        for (int t = 0; t < CP_FV_BR_PER_THREAD; ++t)
            if (l0 + t < k) {
                atomicAdd(acc + l0 + t, (unsigned long long)(v[t] & 0xFFFFFFFFull));
                atomicAdd(acc + k + l0 + t, (unsigned long long)(v[t] >> 32));
            }
    }
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(done + blockIdx.x, 1u) == gridDim.y - 1u;
    __syncthreads();
    if (!last) return;
    __threadfence();
    if (l0 < k) {
#pragma unroll
        for (int t = 0; t < CP_FV_BR_PER_THREAD; ++t)
            if (l0 + t < k) {
                const uint64_t lo = __ldcg(acc + l0 + t), hi = __ldcg(acc + k + l0 + t);
                y[l0 + t] = cp_fv_y_from_halves(lo, hi);
                acc[l0 + t] = 0;
                acc[k + l0 + t] = 0;
            }
    }
    if (threadIdx.x == 0) done[blockIdx.x] = 0;
}

// y[l] = sum over slices of y_part[s][l] (mod p): eight threads per l (adjacent lanes) split the slices, then
// combine by shuffles. block = 256 (32 l), grid = ceil(k / 32).
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_sum_slices(const uint64_t* __restrict__ y_part,
                                                                               uint32_t k, uint32_t slices,
                                                                               uint64_t* __restrict__ y) {
    CP_FV_WAIT_PRIMARY();
    CP_FV_LAUNCH_DEPENDENTS();
    const uint32_t l = blockIdx.x * 32u + (threadIdx.x >> 3);
    const uint32_t part = threadIdx.x & 7u;
    uint64_t s = 0;
    if (l < k) {
#pragma unroll 8
        for (uint32_t i = part; i < slices; i += 8) s = cp_addmod61(s, __ldg(y_part + (size_t)i * k + l));
    }
    s = cp_addmod61(s, __shfl_xor_sync(0xffffffffu, s, 1));
    s = cp_addmod61(s, __shfl_xor_sync(0xffffffffu, s, 2));
    s = cp_addmod61(s, __shfl_xor_sync(0xffffffffu, s, 4));
    if (l < k && part == 0) y[l] = s;
}

__device__ __forceinline__ uint64_t cp_warp_sum61(uint64_t v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = cp_addmod61(v, __shfl_down_sync(0xffffffffu, v, off));
    return v;
}

// z[i] = sum_l A[i][l] * y[l] (mod p): CP_FV_ROWS_I8 rows per warp; lane handles bytes 4 lane + 128 t of each row
// (coalesced 4-byte loads of A, CP_FV_I8_BATCH iterations loaded before use; 32 contiguous bytes of y per lane,
// shared by the rows). Partials are folded every 64 iterations (256 terms per lane, CP_ACC8_FOLD).
// block = 256 (8 warps), grid = ceil(m / (8 * CP_FV_ROWS_I8)).
template <bool kDp2a>
__device__ __forceinline__ void cp_fv_rows_i8(const int8_t* __restrict__ a, const uint64_t* __restrict__ y, uint32_t m,
                                              uint32_t k, uint64_t* __restrict__ z) {
    const uint32_t row0 = (blockIdx.x * 8 + (threadIdx.x >> 5)) * CP_FV_ROWS_I8;
    const uint32_t lane = threadIdx.x & 31;
    if (row0 >= m) return;
    CP_FV_WAIT_PRIMARY();
    const int8_t* rows[CP_FV_ROWS_I8];
#pragma unroll
    for (int q = 0; q < CP_FV_ROWS_I8; ++q) rows[q] = a + (size_t)(row0 + q < m ? row0 + q : row0) * k;
    int32_t p[CP_FV_ROWS_I8][4];
    uint64_t v[CP_FV_ROWS_I8];
#pragma unroll
    for (int q = 0; q < CP_FV_ROWS_I8; ++q) {
        v[q] = 0;
        p[q][0] = p[q][1] = p[q][2] = p[q][3] = 0;
    }
    const bool fast = (k & 3u) == 0 && (((uintptr_t)a) & 3u) == 0;
    if (fast) {
        // 64 iterations of 128 columns = 256 terms per lane per fold
        const uint32_t span = 128u * (CP_ACC8_FOLD / 4u);
        for (uint32_t kb = 0; kb < k; kb += span) {
            const uint32_t ke = k - kb < span ? k : kb + span;
            uint32_t l = kb + 4 * lane;
            auto load_a = [&](uint32_t at, uint32_t (&dst)[CP_FV_I8_BATCH][CP_FV_ROWS_I8]) {
#pragma unroll
                for (int u = 0; u < CP_FV_I8_BATCH; ++u)
#pragma unroll
                    for (int q = 0; q < CP_FV_ROWS_I8; ++q)
                        dst[u][q] = cp_fv_ldm((const unsigned int*)(rows[q] + at + 128 * u));
            };
            auto use_a = [&](uint32_t at, const uint32_t (&av)[CP_FV_I8_BATCH][CP_FV_ROWS_I8]) {
#pragma unroll
                for (int u = 0; u < CP_FV_I8_BATCH; ++u) {
                    const ulonglong2 y01 = __ldg((const ulonglong2*)(y + at + 128 * u));
                    const ulonglong2 y23 = __ldg((const ulonglong2*)(y + at + 128 * u + 2));
                    const uint64_t yv[4] = {y01.x, y01.y, y23.x, y23.y};
                    if (kDp2a) {
                        uint32_t lo[4], hi[4];
                        cp_limb_pairs16(yv[0], yv[1], lo);
                        cp_limb_pairs16(yv[2], yv[3], hi);
#pragma unroll
                        for (int q = 0; q < CP_FV_ROWS_I8; ++q) cp_acc8_add4(p[q], av[u][q], lo, hi);
                    } else {
#pragma unroll
                        for (int t = 0; t < 4; ++t) {
                            uint32_t lim[4];
                            cp_limbs16(yv[t], lim);
#pragma unroll
                            for (int q = 0; q < CP_FV_ROWS_I8; ++q)
                                cp_acc8_add(p[q], (int32_t)(int8_t)(uint8_t)(av[u][q] >> (8 * t)), lim);
                        }
                    }
                }
            };
            const uint32_t step = 128 * CP_FV_I8_BATCH;
#if CP_FV_PREFETCH_I8
            if (l + 128 * (CP_FV_I8_BATCH - 1) < ke) {
                uint32_t cur[CP_FV_I8_BATCH][CP_FV_ROWS_I8];
                load_a(l, cur);
                for (;;) {
                    // the last batch reloads itself (in bounds, an L1 hit) instead of branching around the load
                    const bool more = l + step + 128 * (CP_FV_I8_BATCH - 1) < ke;
                    uint32_t nxt[CP_FV_I8_BATCH][CP_FV_ROWS_I8];
                    load_a(more ? l + step : l, nxt);
                    use_a(l, cur);
                    l += step;
                    if (!more) break;
#pragma unroll
                    for (int u = 0; u < CP_FV_I8_BATCH; ++u)
#pragma unroll
                        for (int q = 0; q < CP_FV_ROWS_I8; ++q) cur[u][q] = nxt[u][q];
                }
            }
#else
            for (; l + 128 * (CP_FV_I8_BATCH - 1) < ke; l += step) {
                uint32_t av[CP_FV_I8_BATCH][CP_FV_ROWS_I8];
                load_a(l, av);
                use_a(l, av);
            }
#endif
            for (; l < ke; l += 128) {
                const ulonglong2 y01 = __ldg((const ulonglong2*)(y + l));
                const ulonglong2 y23 = __ldg((const ulonglong2*)(y + l + 2));
                const uint64_t yv[4] = {y01.x, y01.y, y23.x, y23.y};
                uint32_t av[CP_FV_ROWS_I8];
#pragma unroll
                for (int q = 0; q < CP_FV_ROWS_I8; ++q) av[q] = *(const uint32_t*)(rows[q] + l);
                if (kDp2a) {
                    uint32_t lo[4], hi[4];
                    cp_limb_pairs16(yv[0], yv[1], lo);
                    cp_limb_pairs16(yv[2], yv[3], hi);
#pragma unroll
                    for (int q = 0; q < CP_FV_ROWS_I8; ++q) cp_acc8_add4(p[q], av[q], lo, hi);
                } else {
#pragma unroll
                    for (int t = 0; t < 4; ++t) {
                        uint32_t lim[4];
                        cp_limbs16(yv[t], lim);
#pragma unroll
                        for (int q = 0; q < CP_FV_ROWS_I8; ++q)
                            cp_acc8_add(p[q], (int32_t)(int8_t)(uint8_t)(av[q] >> (8 * t)), lim);
                    }
                }
            }
#pragma unroll
            for (int q = 0; q < CP_FV_ROWS_I8; ++q) v[q] = cp_acc8_fold(v[q], p[q]);
        }
    } else {
        // 256 iterations of 32 columns = 256 terms per lane per fold
        const uint32_t span = 32u * CP_ACC8_FOLD;
        for (uint32_t kb = 0; kb < k; kb += span) {
            const uint32_t ke = k - kb < span ? k : kb + span;
            for (uint32_t l = kb + lane; l < ke; l += 32) {
                uint32_t lim[4];
                cp_limbs16(y[l], lim);
#pragma unroll
                for (int q = 0; q < CP_FV_ROWS_I8; ++q) cp_acc8_add(p[q], (int32_t)rows[q][l], lim);
            }
#pragma unroll
            for (int q = 0; q < CP_FV_ROWS_I8; ++q) v[q] = cp_acc8_fold(v[q], p[q]);
        }
    }
#pragma unroll
    for (int q = 0; q < CP_FV_ROWS_I8; ++q) {
        const uint64_t w = cp_warp_sum61(v[q]);
        if (lane == 0 && row0 + q < m) z[row0 + q] = w;
    }
}

extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_rows_i8(const int8_t* __restrict__ a,
                                                                            const uint64_t* __restrict__ y, uint32_t m,
                                                                            uint32_t k, uint64_t* __restrict__ z) {
    cp_fv_rows_i8<false>(a, y, m, k, z);
}

// As cuproof_freivalds_rows_i8 with the multiply-adds as two-way dot products (dp2a: a row's four bytes of a load
// against the paired limbs of four y values, freivalds.cuh): the same partials, so the same z.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_rows_i8_dp2a(const int8_t* __restrict__ a,
                                                                                 const uint64_t* __restrict__ y,
                                                                                 uint32_t m, uint32_t k,
                                                                                 uint64_t* __restrict__ z) {
    cp_fv_rows_i8<true>(a, y, m, k, z);
}

// Row sums over a span of columns for int32 C: this lane's share sum[q] of the sum over j in [j0, j1) of
// C[row0 + q][j] * r[j] (mod p) for the CP_FV_ROWS_I32 rows from row0 (rows >= m read row0 and are not to be used;
// cp_warp_sum61 completes each). Lane handles columns j0 + 4 lane + 128 t (16-byte loads of C when n % 4 == 0, j0 % 4 == 0 and C is
// 16-byte aligned; CP_FV_I32_BATCH iterations loaded before use; 32 contiguous bytes of r per lane, shared by the
// rows). Lane terms are folded every 2^16 columns (2^11 terms per lane, CP_ACC32_TERMS).
__device__ __forceinline__ void cp_fv_cr_span(const int32_t* __restrict__ c, const uint64_t* __restrict__ r,
                                              uint32_t m, uint32_t n, uint32_t row0, uint32_t j0, uint32_t j1,
                                              uint32_t lane, uint64_t (&sum)[CP_FV_ROWS_I32]) {
    const int32_t* rows[CP_FV_ROWS_I32];
#pragma unroll
    for (int q = 0; q < CP_FV_ROWS_I32; ++q) rows[q] = c + (size_t)(row0 + q < m ? row0 + q : row0) * n;
#pragma unroll
    for (int q = 0; q < CP_FV_ROWS_I32; ++q) sum[q] = 0;
    const bool fast = (n & 3u) == 0 && (j0 & 3u) == 0 && (((uintptr_t)c) & 15u) == 0;
    const uint32_t chunk = 1u << 16;
    for (uint32_t jb = j0; jb < j1; jb += chunk) {
        const uint32_t je = j1 - jb < chunk ? j1 : jb + chunk;
        cp_acc32 acc[CP_FV_ROWS_I32];
#pragma unroll
        for (int q = 0; q < CP_FV_ROWS_I32; ++q) cp_acc32_init(&acc[q]);
        if (fast) {
            uint32_t j = jb + 4 * lane;
            auto load_c = [&](uint32_t at, int4 (&cv)[CP_FV_I32_BATCH][CP_FV_ROWS_I32]) {
#pragma unroll
                for (int u = 0; u < CP_FV_I32_BATCH; ++u)
#pragma unroll
                    for (int q = 0; q < CP_FV_ROWS_I32; ++q) cv[u][q] = cp_fv_ldm((const int4*)(rows[q] + at + 128 * u));
            };
            auto use_c = [&](uint32_t at, const int4 (&cv)[CP_FV_I32_BATCH][CP_FV_ROWS_I32]) {
#pragma unroll
                for (int u = 0; u < CP_FV_I32_BATCH; ++u) {
                    const ulonglong2 r01 = __ldg((const ulonglong2*)(r + at + 128 * u));
                    const ulonglong2 r23 = __ldg((const ulonglong2*)(r + at + 128 * u + 2));
                    const uint64_t rv[4] = {r01.x, r01.y, r23.x, r23.y};
#pragma unroll
                    for (int t = 0; t < 4; ++t) {
                        const uint32_t x0 = cp_limb21(rv[t], 0), x1 = cp_limb21(rv[t], 1), x2 = cp_limb21(rv[t], 2);
#pragma unroll
                        for (int q = 0; q < CP_FV_ROWS_I32; ++q) {
                            const int4 e4 = cv[u][q];
                            const int32_t e = t == 0 ? e4.x : t == 1 ? e4.y : t == 2 ? e4.z : e4.w;
                            cp_acc32_add(&acc[q], e, x0, x1, x2);
                        }
                    }
                }
            };
            const uint32_t step = 128 * CP_FV_I32_BATCH;
#if CP_FV_PREFETCH_I32
            if (j + 128 * (CP_FV_I32_BATCH - 1) < je) {
                int4 cur[CP_FV_I32_BATCH][CP_FV_ROWS_I32];
                load_c(j, cur);
                for (;;) {
                    // the last batch reloads itself (in bounds, an L1 hit) instead of branching around the load
                    const bool more = j + step + 128 * (CP_FV_I32_BATCH - 1) < je;
                    int4 nxt[CP_FV_I32_BATCH][CP_FV_ROWS_I32];
                    load_c(more ? j + step : j, nxt);
                    use_c(j, cur);
                    j += step;
                    if (!more) break;
#pragma unroll
                    for (int u = 0; u < CP_FV_I32_BATCH; ++u)
#pragma unroll
                        for (int q = 0; q < CP_FV_ROWS_I32; ++q) cur[u][q] = nxt[u][q];
                }
            }
#else
            for (; j + 128 * (CP_FV_I32_BATCH - 1) < je; j += step) {
                int4 cv[CP_FV_I32_BATCH][CP_FV_ROWS_I32];
                load_c(j, cv);
                use_c(j, cv);
            }
#endif
            for (; j < je; j += 128) {
                const ulonglong2 r01 = __ldg((const ulonglong2*)(r + j));
                const ulonglong2 r23 = __ldg((const ulonglong2*)(r + j + 2));
                const uint64_t rv[4] = {r01.x, r01.y, r23.x, r23.y};
#pragma unroll
                for (int q = 0; q < CP_FV_ROWS_I32; ++q) {
                    const int4 e4 = *(const int4*)(rows[q] + j);
                    const int32_t ev[4] = {e4.x, e4.y, e4.z, e4.w};
#pragma unroll
                    for (int t = 0; t < 4; ++t)
                        cp_acc32_add(&acc[q], ev[t], cp_limb21(rv[t], 0), cp_limb21(rv[t], 1), cp_limb21(rv[t], 2));
                }
            }
        } else {
            for (uint32_t j = jb + lane; j < je; j += 32) {
                const uint32_t x0 = cp_limb21(r[j], 0), x1 = cp_limb21(r[j], 1), x2 = cp_limb21(r[j], 2);
#pragma unroll
                for (int q = 0; q < CP_FV_ROWS_I32; ++q) cp_acc32_add(&acc[q], rows[q][j], x0, x1, x2);
            }
        }
#pragma unroll
        for (int q = 0; q < CP_FV_ROWS_I32; ++q) sum[q] = cp_addmod61(sum[q], cp_acc32_finish(&acc[q]));
    }
}

// w[i] = sum_j C[i][j] * r[j] (mod p) for int32 C: CP_FV_ROWS_I32 rows per warp, all n columns (cp_fv_cr_span).
// block = 256 (or any multiple of 32 up to it), grid <= ceil(m / (warps per block * CP_FV_ROWS_I32)): warps stride
// over the row groups.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_rows_i32(const int32_t* __restrict__ c,
                                                                             const uint64_t* __restrict__ r,
                                                                             uint32_t m, uint32_t n,
                                                                             uint64_t* __restrict__ w) {
    const uint32_t lane = threadIdx.x & 31;
    // grid-stride over groups of CP_FV_ROWS_I32 rows: the launch may use fewer blocks than groups (a fixed share
    // of each SM, leaving room for the B·r -> A·y chain that runs beside it)
    const uint32_t wpb = blockDim.x >> 5;  // warps per block: 8 by default, fewer for a finer share of each SM
    for (uint32_t grp = blockIdx.x * wpb + (threadIdx.x >> 5); (size_t)grp * CP_FV_ROWS_I32 < m; grp += gridDim.x * wpb) {
        const uint32_t row0 = grp * CP_FV_ROWS_I32;
        uint64_t sum[CP_FV_ROWS_I32];
        cp_fv_cr_span(c, r, m, n, row0, 0, n, lane, sum);
#pragma unroll
        for (int q = 0; q < CP_FV_ROWS_I32; ++q) {
            const uint64_t v = cp_warp_sum61(sum[q]);
            if (lane == 0 && row0 + q < m) w[row0 + q] = v;
        }
    }
}

// The bilinear check's last step (docs/kernels.md §4b): out[0] = u . v (k terms), out[1] = s . w (m terms), mod p.
// Block 0 computes the first dot product, block 1 the second; 1,024 threads each, strided terms, then a warp and
// a block reduction. grid = 2, block = 1024.
extern "C" __global__ void __launch_bounds__(1024) cuproof_freivalds_dot2(const uint64_t* __restrict__ u,
                                                                        const uint64_t* __restrict__ v, uint32_t k,
                                                                        const uint64_t* __restrict__ s,
                                                                        const uint64_t* __restrict__ w, uint32_t m,
                                                                        uint64_t* __restrict__ out) {
    CP_SHARED(uint64_t, warp_sums, [32]);
    const bool second = blockIdx.x == 1;
    uint64_t acc = second ? cp_dot61_strided(s, w, m, threadIdx.x, blockDim.x)
                          : cp_dot61_strided(u, v, k, threadIdx.x, blockDim.x);
    acc = cp_warp_sum61(acc);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
        acc = threadIdx.x < (blockDim.x >> 5) ? warp_sums[threadIdx.x] : 0;
        acc = cp_warp_sum61(acc);
        if (threadIdx.x == 0) out[blockIdx.x] = acc;
    }
}

// ---- The bilinear check as one persistent kernel over a work queue (freivalds.cuh, docs/kernels.md §4f) ----

// v[l0 + t] (t < PER, l0 + t < k) from the slices' partials part[sl][l]: PER contiguous words per slice read as
// 16-byte loads through L2, four slices per batch (a warp then has 4 KiB in flight: the group's 32 · PER · slices
// words take a few microseconds, not one L2 latency per word), or word by word (cp_fvq_slice_sum) when the
// lane's words are not whole 16-byte pairs.
template <int PER>
__device__ __forceinline__ void cp_fvq_group_sum(const uint64_t* part, uint32_t k, uint32_t slices, uint32_t l0,
                                                 uint64_t* vec) {
    if (l0 + PER > k || (k & 1u) != 0 || (((uintptr_t)part) & 15u) != 0) {
        for (uint32_t t = 0; t < PER && l0 + t < k; ++t) vec[l0 + t] = cp_fvq_slice_sum(part, k, slices, l0 + t);
        return;
    }
    uint64_t acc[PER];
#pragma unroll
    for (int t = 0; t < PER; ++t) acc[t] = 0;
    uint32_t sl = 0;
    for (; sl + 4u <= slices; sl += 4u) {
        ulonglong2 x[4][PER / 2];
#pragma unroll
        for (int q = 0; q < 4; ++q)
#pragma unroll
            for (int h = 0; h < PER / 2; ++h) x[q][h] = __ldcg((const ulonglong2*)(part + (size_t)(sl + q) * k + l0) + h);
#pragma unroll
        for (int q = 0; q < 4; ++q)
#pragma unroll
            for (int h = 0; h < PER / 2; ++h) {
                acc[2 * h] = cp_addmod61(acc[2 * h], x[q][h].x);
                acc[2 * h + 1] = cp_addmod61(acc[2 * h + 1], x[q][h].y);
            }
    }
    for (; sl < slices; ++sl)
#pragma unroll
        for (int h = 0; h < PER / 2; ++h) {
            const ulonglong2 x = __ldcg((const ulonglong2*)(part + (size_t)sl * k + l0) + h);
            acc[2 * h] = cp_addmod61(acc[2 * h], x.x);
            acc[2 * h + 1] = cp_addmod61(acc[2 * h + 1], x.y);
        }
#pragma unroll
    for (int t = 0; t < PER; ++t) vec[l0 + t] = acc[t];
}

// One queue item (cp_fvq_decode) done by the whole warp; dot and sw are the lane's shares of u·v and s·w.
template <int PER, bool kDp2a>
__device__ __forceinline__ void cp_fvq_item_run(const cp_fvq_shape& sh, const cp_fvq_item& it,
                                                const int8_t* __restrict__ bt, const int8_t* __restrict__ a,
                                                const int32_t* __restrict__ c, const uint64_t* __restrict__ r,
                                                const uint64_t* __restrict__ s, uint32_t m, uint32_t n, uint32_t k,
                                                uint32_t cr_chunk, uint64_t* part_v, uint64_t* part_u, uint64_t* v,
                                                uint64_t* u, uint32_t* done, uint32_t lane, uint64_t& dot,
                                                uint64_t& sw) {
    if (it.kind == CP_FVQ_KIND_CR) {
        const uint32_t row0 = it.a * CP_FV_ROWS_I32;
        const uint32_t j0 = it.b * cr_chunk;
        const uint32_t j1 = n - j0 < cr_chunk ? n : j0 + cr_chunk;
        uint64_t rs[CP_FV_ROWS_I32];
        cp_fv_cr_span(c, r, m, n, row0, j0, j1, lane, rs);
#pragma unroll
        for (int q = 0; q < CP_FV_ROWS_I32; ++q) {
            const uint64_t t = cp_warp_sum61(rs[q]);
            if (lane == 0 && row0 + q < m) sw = cp_addmod61(sw, cp_mulmod61(__ldg(s + row0 + q), t));
        }
        return;
    }
    const bool is_u = it.kind == CP_FVQ_KIND_U;
    uint64_t* const part = is_u ? part_u : part_v;
    uint32_t j0, j1;
    cp_fvq_slice_rows(is_u ? m : n, sh.slices, it.b, &j0, &j1);
    const uint32_t l0 = PER * (32u * it.a + lane);
    if (l0 < k) {
        uint64_t pv[PER];
        cp_fv_br_rows_t<PER, PER == CP_FV_BR_PER_THREAD && CP_FV_PREFETCH_BR != 0, kDp2a>(
            is_u ? a : bt, is_u ? s : r, j0, j1, k, l0, pv);
#pragma unroll
        for (int t = 0; t < PER; ++t)
            if (l0 + t < k) part[(size_t)it.b * k + l0 + t] = pv[t];
    }
    // the group's last slice sums the slices; the second of its two vectors adds the group's terms of u·v
    __threadfence();
    __syncwarp();
    uint32_t prev = 0;
    if (lane == 0) prev = atomicAdd(done + it.kind * sh.groups + it.a, 1u);
    prev = __shfl_sync(0xffffffffu, prev, 0);
    if (prev != sh.slices - 1u) return;
    __threadfence();
    if (l0 < k) cp_fvq_group_sum<PER>(part, k, sh.slices, l0, is_u ? u : v);
    __threadfence();
    __syncwarp();
    if (lane == 0) prev = atomicAdd(done + 2u * sh.groups + it.a, 1u);
    prev = __shfl_sync(0xffffffffu, prev, 0);
    if (prev != 1u) return;
    __threadfence();
    if (l0 < k) {
#pragma unroll
        for (int t = 0; t < PER; ++t)
            if (l0 + t < k) dot = cp_addmod61(dot, cp_mulmod61(CP_FVQ_LD(u + l0 + t), CP_FVQ_LD(v + l0 + t)));
    }
}

// ctr (u32, zero before the first launch; the last block leaves it zero): [0] the queue head, [1] blocks done,
// [2 + kind * groups + g] finished slices of column group g for kind V / U, [2 + 2 groups + g] finished vectors of
// group g. part_v, part_u: slices x k partial residues. bpart: 2 per block. times: null, or 2 words per warp (the
// global timer when it starts and ends its items). out = [u·v, s·w]. With `ahead` a
// warp claims its next item when it starts one (the claim's latency hidden behind the item; a warp may then hold
// one item more than the others at the end), otherwise when it has finished one.
// grid: any (persistent: blocks_per_sm x SMs), block = 256.
__device__ __forceinline__ uint64_t cp_globaltimer() {
#if defined(CP_SIMT_EMU)
    return emu_globaltimer();
#else
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
#endif
}

template <int PER, bool kDp2a>
__device__ __forceinline__ void cp_fvq_run(const int8_t* __restrict__ bt, const int8_t* __restrict__ a,
                                           const int32_t* __restrict__ c, const uint64_t* __restrict__ r,
                                           const uint64_t* __restrict__ s, uint32_t m, uint32_t n, uint32_t k,
                                           uint32_t slices, uint32_t cr_chunk, uint32_t tail_div, uint32_t ahead,
                                           uint64_t* part_v, uint64_t* part_u, uint64_t* v, uint64_t* u,
                                           uint32_t* ctr, uint64_t* bpart, uint64_t* times,
                                           uint64_t* __restrict__ out) {
    CP_SHARED(uint64_t, wsum, [2][8]);
    CP_SHARED(uint32_t, last);
    const cp_fvq_shape sh = cp_fvq_make(m, n, k, PER, slices, cr_chunk, tail_div, CP_FV_ROWS_I32);
    const uint32_t lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    // where the time goes (times != null): each warp's start and end of its items, ns of the global timer
    const size_t tw = 2u * ((size_t)blockIdx.x * (blockDim.x >> 5) + warp);
    if (times && lane == 0) times[tw] = cp_globaltimer();
    uint32_t* const done = ctr + 2;
    uint64_t dot = 0;  // this lane's share of u·v
    uint64_t sw = 0;   // this lane's share of s·w
    uint32_t i = 0;
    if (lane == 0) i = atomicAdd(ctr, 1u);
    i = __shfl_sync(0xffffffffu, i, 0);
    while (i < sh.total) {
        uint32_t next = 0;
        if (ahead && lane == 0) next = atomicAdd(ctr, 1u);
        cp_fvq_item_run<PER, kDp2a>(sh, cp_fvq_decode(sh, i), bt, a, c, r, s, m, n, k, cr_chunk, part_v, part_u, v,
                                    u, done, lane, dot, sw);
        if (!ahead && lane == 0) next = atomicAdd(ctr, 1u);
        i = __shfl_sync(0xffffffffu, next, 0);
    }
    if (times && lane == 0) times[tw + 1] = cp_globaltimer();
    // the block's shares, then the last block's sum of every block's, and the counters cleared for the next launch
    dot = cp_warp_sum61(dot);
    sw = cp_warp_sum61(sw);
    if (lane == 0) {
        wsum[0][warp] = dot;
        wsum[1][warp] = sw;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        uint64_t d = 0, t = 0;
        for (uint32_t w = 0; w < (blockDim.x >> 5); ++w) {
            d = cp_addmod61(d, wsum[0][w]);
            t = cp_addmod61(t, wsum[1][w]);
        }
        bpart[2u * blockIdx.x] = d;
        bpart[2u * blockIdx.x + 1u] = t;
        __threadfence();
        last = atomicAdd(ctr + 1, 1u) == gridDim.x - 1u;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    uint64_t d = 0, t = 0;
    for (uint32_t b = threadIdx.x; b < gridDim.x; b += blockDim.x) {
        d = cp_addmod61(d, CP_FVQ_LD(bpart + 2u * b));
        t = cp_addmod61(t, CP_FVQ_LD(bpart + 2u * b + 1u));
    }
    d = cp_warp_sum61(d);
    t = cp_warp_sum61(t);
    __syncthreads();
    if (lane == 0) {
        wsum[0][warp] = d;
        wsum[1][warp] = t;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        d = t = 0;
        for (uint32_t w = 0; w < (blockDim.x >> 5); ++w) {
            d = cp_addmod61(d, wsum[0][w]);
            t = cp_addmod61(t, wsum[1][w]);
        }
        out[0] = d;
        out[1] = t;
        ctr[0] = 0;
        ctr[1] = 0;
    }
    for (uint32_t g = threadIdx.x; g < 3u * sh.groups; g += blockDim.x) done[g] = 0;
}

// The queue kernels: column items of PER l per lane (8: the production B·r's 8-byte loads, double-buffered; 4: the
// narrow B·r's 4-byte loads), by IMAD or dp2a. Every variant computes the same u, v and sides. minBlocks bounds the
// registers (2: <= 128, for the 8-l column path's ~100-120; 4: <= 64) so that the persistent grid's blocks all fit.
#define CP_FVQ_ENTRY(name, PER, kDp2a, kMinBlocks)                                                               \
    extern "C" __global__ void __launch_bounds__(256, kMinBlocks)                                                \
        name(const int8_t* __restrict__ bt, const int8_t* __restrict__ a, const int32_t* __restrict__ c,         \
             const uint64_t* __restrict__ r, const uint64_t* __restrict__ s, uint32_t m, uint32_t n, uint32_t k,  \
             uint32_t slices, uint32_t cr_chunk, uint32_t tail_div, uint32_t ahead, uint64_t* part_v,             \
             uint64_t* part_u, uint64_t* v, uint64_t* u, uint32_t* ctr, uint64_t* bpart, uint64_t* times,          \
             uint64_t* __restrict__ out) {                                                                        \
        cp_fvq_run<PER, kDp2a>(bt, a, c, r, s, m, n, k, slices, cr_chunk, tail_div, ahead, part_v, part_u, v, u,  \
                               ctr, bpart, times, out);                                                           \
    }

CP_FVQ_ENTRY(cuproof_freivalds_bilinear_queue, 8, false, 2)
CP_FVQ_ENTRY(cuproof_freivalds_bilinear_queue_dp2a, 8, true, 2)
CP_FVQ_ENTRY(cuproof_freivalds_bilinear_queue4, 4, false, 4)
CP_FVQ_ENTRY(cuproof_freivalds_bilinear_queue4_dp2a, 4, true, 4)

// ---- Tensor-core Freivalds (freivalds_tc.cuh): prep, B r, finish y, A y, C r, finish z/w ----

#if defined(CP_SIMT_EMU)
// host emulation (simt_emu.hpp): the warp's fragments gathered and the mma emulated
__device__ __forceinline__ void cp_mma_s8u8(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
    emu_mma_m16n8k32(c, a, b, 1, 0);
}
__device__ __forceinline__ void cp_mma_u8u8(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
    emu_mma_m16n8k32(c, a, b, 0, 0);
}
#else
__device__ __forceinline__ void cp_mma_s8u8(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.u8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ void cp_mma_u8u8(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.u8.u8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

// Sum over the four lanes of a quad (lanes differing in bits 0 and 1), mod p.
__device__ __forceinline__ uint64_t cp_quad_sum61(uint64_t v) {
    v = cp_addmod61(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return cp_addmod61(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

// Planes of r (rplanes[l][j], stride rstride) and of e (eplanes[l][4j .. 4j + 3], stride 4 rstride), zero for
// j >= n; rsum_part[block] = sum of the block's r_j (mod p). r is reduced mod p first.
// grid = rstride / 256, block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_tc_prep(const uint64_t* __restrict__ r, uint32_t n,
                                                                            uint8_t* __restrict__ rplanes,
                                                                            uint32_t rstride,
                                                                            uint8_t* __restrict__ eplanes,
                                                                            uint64_t* __restrict__ rsum_part) {
    CP_SHARED(uint64_t, ws, [8]);
    const uint32_t j = blockIdx.x * 256u + threadIdx.x;
    const uint64_t rj = j < n ? cp_mod61_u64(r[j]) : 0;
#pragma unroll
    for (uint32_t l = 0; l < CP_FVTC_LIMBS; ++l) {
        rplanes[(size_t)l * rstride + j] = (uint8_t)(rj >> (8u * l));
        *(uint32_t*)(eplanes + (size_t)l * 4u * rstride + 4u * j) = cp_fvtc_e_word(rj, l);
    }
    const uint64_t s = cp_warp_sum61(rj);
    if ((threadIdx.x & 31u) == 0) ws[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        uint64_t t = 0;
        for (int i = 0; i < 8; ++i) t = cp_addmod61(t, ws[i]);
        rsum_part[blockIdx.x] = t;
    }
}

// y_part[s][l] = (B r)_l over the rows of slice s (rows s * per .. , per a multiple of 32, at most
// CP_FVTC_BR_MAX_ROWS). Warp w of block b covers columns (8 b + w) * 128 .. + 127.
// grid = (ceil(k / 1024), slices), block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_tc_br(const int8_t* __restrict__ bt,
                                                                          const uint8_t* __restrict__ rplanes,
                                                                          uint32_t rstride, uint32_t n, uint32_t k,
                                                                          uint32_t per, uint64_t* __restrict__ y_part) {
    const int lane = threadIdx.x & 31;
    const uint32_t col0 = (blockIdx.x * CP_FVTC_WARPS + (threadIdx.x >> 5)) * CP_FVTC_BR_COLS;
    if (col0 >= k) return;
    const uint32_t j0 = blockIdx.y * per;
    const uint32_t j1 = min(n, j0 + per);
    int32_t acc[8][4];
#pragma unroll
    for (int mi = 0; mi < 8; ++mi) acc[mi][0] = acc[mi][1] = acc[mi][2] = acc[mi][3] = 0;
    for (uint32_t j = j0; j < j1; j += CP_FVTC_BR_ROWS) {
        uint32_t w[2][4][4], a[8][4], b[2];
        cp_fvtc_br_load(bt, k, j, j1, col0, lane, w);
        cp_fvtc_br_bfrag(rplanes, rstride, j, lane, b);
        cp_fvtc_br_frags(w, a);
#pragma unroll
        for (int mi = 0; mi < 8; ++mi) cp_mma_s8u8(acc[mi], a[mi], b);
    }
    const unsigned q = (unsigned)lane & 3u;
#pragma unroll
    for (int mi = 0; mi < 8; ++mi)
#pragma unroll
        for (int hr = 0; hr < 2; ++hr) {
            const uint64_t v = cp_quad_sum61(cp_fvtc_limb_pair(acc[mi][2 * hr], acc[mi][2 * hr + 1], q));
            const uint32_t col = col0 + cp_fvtc_br_col(lane, mi, 2 * hr);
            if ((unsigned)(mi & 3) == q && col < k) y_part[(size_t)blockIdx.y * k + col] = v;
        }
}

// y[l] = sum of the slices (mod p), and its limb planes yplanes[l'][l] (stride ystride; the padding is never read).
// grid = ceil(k / 256), block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_tc_finish_y(const uint64_t* __restrict__ y_part,
                                                                                uint32_t k, uint32_t slices,
                                                                                uint64_t* __restrict__ y,
                                                                                uint8_t* __restrict__ yplanes,
                                                                                uint32_t ystride) {
    const uint32_t l = blockIdx.x * 256u + threadIdx.x;
    if (l >= k) return;
    uint64_t s = 0;
    for (uint32_t i = 0; i < slices; ++i) s = cp_addmod61(s, __ldg(y_part + (size_t)i * k + l));
    y[l] = s;
#pragma unroll
    for (uint32_t b = 0; b < CP_FVTC_LIMBS; ++b) yplanes[(size_t)b * ystride + l] = (uint8_t)(s >> (8u * b));
}

// part[s][i] = row i of mat (rows x kbytes, row stride ld bytes) times the vector of `planes`, over bytes
// s * per .. of each row (per a multiple of 256). Warp w of block b covers rows (8 b + w) * 16 .. + 15.
template <bool kWords>
__device__ __forceinline__ void cp_fvtc_rows(const uint8_t* __restrict__ mat, uint32_t rows, uint32_t kbytes,
                                             const uint8_t* __restrict__ planes, uint32_t pstride, uint32_t per,
                                             uint64_t* __restrict__ part) {
    const int lane = threadIdx.x & 31;
    const uint32_t row0 = (blockIdx.x * CP_FVTC_WARPS + (threadIdx.x >> 5)) * CP_FVTC_ROWS_TILE;
    if (row0 >= rows) return;
    const uint32_t kb0 = blockIdx.y * per;
    const uint32_t kb1 = min(kbytes, kb0 + per);
    int32_t acc[4] = {0, 0, 0, 0};
    int64_t tot[4] = {0, 0, 0, 0};
    uint32_t steps = 0;
    for (uint32_t kb = kb0; kb < kb1; kb += CP_FVTC_ROWS_STEP) {
        uint32_t u[4][4], v[4][4], pl[4][4];
        cp_fvtc_rows_load(mat, rows, kbytes, kb, kb1, row0, planes, pstride, lane, kWords ? 1 : 0, u, v, pl);
#pragma unroll
        for (int c = 0; c < 4; ++c)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                uint32_t a[4], b[2];
                cp_fvtc_rows_frags(u[c], v[c], pl[c], e, a, b);
                if (kWords) {
                    cp_mma_u8u8(acc, a, b);
                } else {
                    cp_mma_s8u8(acc, a, b);
                }
            }
        if (++steps == CP_FVTC_ROWS_FOLD) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                tot[i] += acc[i];
                acc[i] = 0;
            }
            steps = 0;
        }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) tot[i] += acc[i];
    const unsigned q = (unsigned)lane & 3u;
    const uint64_t lo = cp_quad_sum61(cp_fvtc_limb_pair(tot[0], tot[1], q));
    const uint64_t hi = cp_quad_sum61(cp_fvtc_limb_pair(tot[2], tot[3], q));
    const uint32_t row = row0 + ((uint32_t)lane >> 2) + (q == 1u ? 8u : 0u);
    if (q < 2u && row < rows) part[(size_t)blockIdx.y * rows + row] = q == 0u ? lo : hi;
}

// z_part[s][i] = (A y)_i over the columns of slice s. grid = (ceil(m / 128), slices), block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_tc_ay(const int8_t* __restrict__ a,
                                                                          const uint8_t* __restrict__ yplanes,
                                                                          uint32_t ystride, uint32_t m, uint32_t k,
                                                                          uint32_t per, uint64_t* __restrict__ z_part) {
    cp_fvtc_rows<false>((const uint8_t*)a, m, k, yplanes, ystride, per, z_part);
}

// w_part[s][i] = ((C + 2^31) r)_i over the bytes of slice s (C read as m x 4n bytes against the e planes).
// grid = (ceil(m / 128), slices), block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_tc_cr(const int32_t* __restrict__ c,
                                                                          const uint8_t* __restrict__ eplanes,
                                                                          uint32_t estride, uint32_t m, uint32_t n,
                                                                          uint32_t per, uint64_t* __restrict__ w_part) {
    cp_fvtc_rows<true>((const uint8_t*)c, m, 4u * n, eplanes, estride, per, w_part);
}

// z[i] = sum of the z slices; w[i] = sum of the w slices - 2^31 sum_j r_j (all mod p). With wslices = 0 only z is
// written (the hybrid launch computes w with the integer-ALU C·r kernel, cuproof_freivalds_rows_i32).
// grid = ceil(m / 256), block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_tc_finish_zw(
    const uint64_t* __restrict__ z_part, uint32_t zslices, const uint64_t* __restrict__ w_part, uint32_t wslices,
    uint32_t m, const uint64_t* __restrict__ rsum_part, uint32_t nrsum, uint64_t* __restrict__ z,
    uint64_t* __restrict__ w) {
    const uint32_t i = blockIdx.x * 256u + threadIdx.x;
    if (i >= m) return;
    uint64_t zs = 0;
    for (uint32_t s = 0; s < zslices; ++s) zs = cp_addmod61(zs, __ldg(z_part + (size_t)s * m + i));
    z[i] = zs;
    if (wslices == 0) return;
    uint64_t rs = 0, ws = 0;
    for (uint32_t b = 0; b < nrsum; ++b) rs = cp_addmod61(rs, __ldg(rsum_part + b));
    for (uint32_t s = 0; s < wslices; ++s) ws = cp_addmod61(ws, __ldg(w_part + (size_t)s * m + i));
    w[i] = cp_submod61(ws, cp_fvtc_offset(rs));
}
