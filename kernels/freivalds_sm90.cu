// Freivalds row passes for Hopper (compute_90a): w = C·r and z = A·y with the matrix streamed into shared memory by
// the tensor-memory accelerator (1-D bulk copies completing on mbarriers) instead of through registers.
//
// Why (docs/perf.md §4): the SIMT row kernels (freivalds.cu) hold their loads in flight in registers, so the bytes in
// flight per SM are tied to the registers they occupy. C·r run beside the B·r -> A·y chain then either starves the
// chain of registers (uncapped) or the memory system of requests (capped). Here one thread per block keeps `stages`
// tiles of the matrix in flight in shared memory whatever the consumer warps' register use, so a small persistent
// block per SM can stream C near the copy rate and leave the SM's registers to the chain. (Measured: alone as fast as
// the SIMT kernels or 4 % faster, beside the chain slower, because the shared memory it takes is the chain's L1;
// not the default. docs/perf.md §4, v9.)
//
// Same arithmetic as the SIMT kernels (freivalds.cuh limb accumulators, folded to residues mod p = 2^61 - 1), so the
// vectors are bit-identical to theirs and to the host twin (src/kernels/freivalds.rs) whatever the launch shape.
//
// Launch (both entries): block = (cw + 1) warps: cw consumer warps and one producer warp (its lane 0 issues the
// copies). A tile is R = cw * RPW consecutive rows by `seg` bytes of each row (one bulk copy per row); consumer warp
// w owns rows w * RPW .. + RPW of every tile, lane l reads 16 bytes (int32 C) or 4 bytes (int8 A) at 16 l (4 l) +
// 512 i (128 i) of the segment. Blocks stride over groups of R rows (grid = a fixed number of blocks per SM).
// Dynamic shared memory: [full[stages], empty[stages] mbarriers | vector (if staged) | stages * R * seg bytes], see
// cp_fvb_data_offset and freivalds::bulk::launch. Requirements checked by the host: rows 16-byte aligned (ncols * elem % 16 == 0, base aligned),
// seg a multiple of 512 (int32) / 128 (int8), int8 seg <= 8192 (one fold per 256 lane terms).
#include "freivalds.cuh"
#include "sm90.cuh"

// Rows per consumer warp (register arrays; the host's tile arithmetic in src/kernels/freivalds.rs must match).
#define CP_FVB_RPW_I32 2
#define CP_FVB_RPW_I8 4
// At most 8 consumer warps and the producer.
#define CP_FVB_MAX_THREADS 288

// Byte offset of the vector and of the stage buffers in the dynamic shared memory.
CP_HD uint32_t cp_fvb_vec_offset(uint32_t stages) { return (16u * stages + 127u) & ~127u; }
CP_HD uint32_t cp_fvb_data_offset(uint32_t stages, uint32_t vec_bytes) {
    return (cp_fvb_vec_offset(stages) + vec_bytes + 127u) & ~127u;
}

// Lane steps loaded before any is used (shared-memory latency hidden by independent loads; a tuning knob).
#ifndef CP_FVB_UNROLL
#define CP_FVB_UNROLL 4
#endif

// Two vector entries: from shared memory (the vector staged at block start) or through the read-only path.
template <bool kVecShared>
__device__ __forceinline__ ulonglong2 cp_fvb_ldv(const uint64_t* p) {
    if (kVecShared) return *(const ulonglong2*)p;
    return __ldg((const ulonglong2*)p);
}

// w-row kernel policy: int32 elements against r (three 21-bit limbs, exact for CP_ACC32_TERMS lane terms).
struct cp_fvb_i32 {
    enum { RPW = CP_FVB_RPW_I32, ELEM = 4, LANE_BYTES = 16, FOLD_TERMS = (int)CP_ACC32_TERMS };
    cp_acc32 acc[RPW];
    uint64_t sum[RPW];
    __device__ __forceinline__ void clear() {
#pragma unroll
        for (int q = 0; q < RPW; ++q) {
            cp_acc32_init(&acc[q]);
            sum[q] = 0;
        }
    }
    __device__ __forceinline__ void fold() {
#pragma unroll
        for (int q = 0; q < RPW; ++q) {
            sum[q] = cp_addmod61(sum[q], cp_acc32_finish(&acc[q]));
            cp_acc32_init(&acc[q]);
        }
    }
    // One lane step: 16 bytes (4 columns from col) of each of the warp's RPW rows (row q at rows + q * seg).
    struct Regs {
        ulonglong2 r01, r23;
        int4 e4[RPW];
    };
    template <bool kVecShared>
    __device__ __forceinline__ static void load(Regs& g, const uint8_t* rows, uint32_t seg, const uint64_t* v,
                                                uint32_t col) {
        g.r01 = cp_fvb_ldv<kVecShared>(v + col);
        g.r23 = cp_fvb_ldv<kVecShared>(v + col + 2);
#pragma unroll
        for (int q = 0; q < RPW; ++q) g.e4[q] = *(const int4*)(rows + (size_t)q * seg);
    }
    __device__ __forceinline__ void use(const Regs& g) {
        const uint64_t rv[4] = {g.r01.x, g.r01.y, g.r23.x, g.r23.y};
#pragma unroll
        for (int t = 0; t < 4; ++t) {
            const uint32_t x0 = cp_limb21(rv[t], 0), x1 = cp_limb21(rv[t], 1), x2 = cp_limb21(rv[t], 2);
#pragma unroll
            for (int q = 0; q < RPW; ++q) {
                const int4 e4 = g.e4[q];
                const int32_t e = t == 0 ? e4.x : t == 1 ? e4.y : t == 2 ? e4.z : e4.w;
                cp_acc32_add(&acc[q], e, x0, x1, x2);
            }
        }
    }
};

// z-row kernel policy: int8 elements against y (four 16-bit limbs, int32 partials exact for CP_ACC8_FOLD terms).
struct cp_fvb_i8 {
    enum { RPW = CP_FVB_RPW_I8, ELEM = 1, LANE_BYTES = 4, FOLD_TERMS = (int)CP_ACC8_FOLD };
    int32_t p[RPW][4];
    uint64_t sum[RPW];
    __device__ __forceinline__ void clear() {
#pragma unroll
        for (int q = 0; q < RPW; ++q) {
            p[q][0] = p[q][1] = p[q][2] = p[q][3] = 0;
            sum[q] = 0;
        }
    }
    __device__ __forceinline__ void fold() {
#pragma unroll
        for (int q = 0; q < RPW; ++q) sum[q] = cp_acc8_fold(sum[q], p[q]);
    }
    // One lane step: 4 bytes (4 columns from col) of each of the warp's RPW rows (row q at rows + q * seg).
    struct Regs {
        ulonglong2 y01, y23;
        uint32_t av[RPW];
    };
    template <bool kVecShared>
    __device__ __forceinline__ static void load(Regs& g, const uint8_t* rows, uint32_t seg, const uint64_t* v,
                                                uint32_t col) {
        g.y01 = cp_fvb_ldv<kVecShared>(v + col);
        g.y23 = cp_fvb_ldv<kVecShared>(v + col + 2);
#pragma unroll
        for (int q = 0; q < RPW; ++q) g.av[q] = *(const uint32_t*)(rows + (size_t)q * seg);
    }
    __device__ __forceinline__ void use(const Regs& g) {
        const uint64_t yv[4] = {g.y01.x, g.y01.y, g.y23.x, g.y23.y};
#pragma unroll
        for (int t = 0; t < 4; ++t) {
            uint32_t lim[4];
            cp_limbs16(yv[t], lim);
#pragma unroll
            for (int q = 0; q < RPW; ++q) cp_acc8_add(p[q], (int32_t)(int8_t)(uint8_t)(g.av[q] >> (8 * t)), lim);
        }
    }
};

// The consumer warps' loop: wait for a tile, fold when the next segment would pass the exactness bound, run the
// lane steps in batches of CP_FVB_UNROLL (all loads of a batch before its arithmetic), release the stage.
template <typename K, bool kVecShared>
__device__ __forceinline__ void cp_fvb_consume(const uint64_t* __restrict__ v, uint32_t m, uint32_t row_bytes,
                                               uint32_t groups, uint32_t rows_per_tile, uint32_t seg,
                                               uint32_t stages, uint32_t sbase, uint32_t data_off,
                                               uint64_t* __restrict__ out) {
    extern __shared__ __align__(128) uint8_t cp_fvb_smem[];
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t tile_bytes = rows_per_tile * seg;
    const uint32_t seg_terms = (seg / (32u * K::LANE_BYTES)) * (K::LANE_BYTES / K::ELEM);  // lane terms per segment
    const uint32_t stride = 32u * K::LANE_BYTES;
    K k;
    uint32_t s = 0, ph = 0;
    for (uint32_t g = blockIdx.x; g < groups; g += gridDim.x) {
        k.clear();
        uint32_t terms = 0;
        for (uint32_t off = 0; off < row_bytes; off += seg) {
            const uint32_t bytes = min(seg, row_bytes - off);
            if (terms + seg_terms > (uint32_t)K::FOLD_TERMS) {
                k.fold();
                terms = 0;
            }
            cp_mbar_wait(sbase + 8u * s, ph);
            const uint8_t* rows = cp_fvb_smem + data_off + s * tile_bytes + warp * K::RPW * seg;
            const uint32_t col0 = off / K::ELEM;
            uint32_t x = K::LANE_BYTES * lane;
            for (; x + stride * (CP_FVB_UNROLL - 1) < bytes; x += stride * CP_FVB_UNROLL) {
                typename K::Regs regs[CP_FVB_UNROLL];
#pragma unroll
                for (int u = 0; u < CP_FVB_UNROLL; ++u)
                    K::template load<kVecShared>(regs[u], rows + x + stride * u, seg, v, col0 + (x + stride * u) / K::ELEM);
#pragma unroll
                for (int u = 0; u < CP_FVB_UNROLL; ++u) k.use(regs[u]);
            }
            for (; x < bytes; x += stride) {
                typename K::Regs one;
                K::template load<kVecShared>(one, rows + x, seg, v, col0 + x / K::ELEM);
                k.use(one);
            }
            terms += seg_terms;
            __syncwarp();
            if (lane == 0) cp_mbar_arrive(sbase + 8u * (stages + s));
            if (++s == stages) {
                s = 0;
                ph ^= 1u;
            }
        }
        k.fold();
        const uint32_t row0 = g * rows_per_tile + warp * K::RPW;
#pragma unroll
        for (int q = 0; q < K::RPW; ++q) {
            uint64_t t = k.sum[q];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) t = cp_addmod61(t, __shfl_down_sync(0xffffffffu, t, o));
            if (lane == 0 && row0 + q < m) out[row0 + q] = t;
        }
    }
}

template <typename K>
__device__ __forceinline__ void cp_fvb_rows(const uint8_t* __restrict__ mat, const uint64_t* __restrict__ vec,
                                            uint32_t m, uint32_t ncols, uint32_t seg, uint32_t stages,
                                            uint32_t vec_in_smem, uint64_t* __restrict__ out) {
    extern __shared__ __align__(128) uint8_t cp_fvb_smem[];
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t cw = (blockDim.x >> 5) - 1u;  // consumer warps; the last warp produces
    const uint32_t rows_per_tile = cw * K::RPW;
    const uint32_t row_bytes = ncols * K::ELEM;
    const uint32_t groups = (m + rows_per_tile - 1) / rows_per_tile;
    const uint32_t vec_bytes = vec_in_smem ? ncols * 8u : 0u;
    const uint32_t sbase = cp_smem_addr(cp_fvb_smem);
    const uint32_t data_off = cp_fvb_data_offset(stages, vec_bytes);
    const uint32_t tile_bytes = rows_per_tile * seg;
    // full[s] at 8 s, empty[s] at 8 (stages + s)
    if (threadIdx.x == 0) {
        for (uint32_t s = 0; s < stages; ++s) {
            cp_mbar_init(sbase + 8u * s, 1);
            cp_mbar_init(sbase + 8u * (stages + s), cw);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    uint64_t* svec = (uint64_t*)(cp_fvb_smem + cp_fvb_vec_offset(stages));
    if (vec_in_smem) {
        for (uint32_t i = threadIdx.x; i < ncols / 2u; i += blockDim.x)
            ((ulonglong2*)svec)[i] = __ldg((const ulonglong2*)vec + i);
        if ((ncols & 1u) && threadIdx.x == 0) svec[ncols - 1u] = __ldg(vec + ncols - 1u);
    }
    __syncthreads();

    if (warp == cw) {
        // producer: lane 0 keeps `stages` tiles in flight
        if (lane == 0) {
            uint32_t s = 0, ph = 0;
            for (uint32_t g = blockIdx.x; g < groups; g += gridDim.x) {
                const uint32_t row0 = g * rows_per_tile;
                const uint32_t rows = min(rows_per_tile, m - row0);
                for (uint32_t off = 0; off < row_bytes; off += seg) {
                    const uint32_t bytes = min(seg, row_bytes - off);
                    cp_mbar_wait(sbase + 8u * (stages + s), ph ^ 1u);
                    const uint32_t full = sbase + 8u * s;
                    cp_mbar_arrive_expect_tx(full, bytes * rows);
                    const uint32_t dst = sbase + data_off + s * tile_bytes;
                    for (uint32_t q = 0; q < rows; ++q)
                        cp_bulk_load(dst + q * seg, mat + (size_t)(row0 + q) * row_bytes + off, bytes, full);
                    if (++s == stages) {
                        s = 0;
                        ph ^= 1u;
                    }
                }
            }
        }
        return;
    }

    if (vec_in_smem) {
        cp_fvb_consume<K, true>(svec, m, row_bytes, groups, rows_per_tile, seg, stages, sbase, data_off, out);
    } else {
        cp_fvb_consume<K, false>(vec, m, row_bytes, groups, rows_per_tile, seg, stages, sbase, data_off, out);
    }
}
// w[i] = sum_j C[i][j] r[j] (mod p), C int32 m x n row-major. See the launch notes above.
extern "C" __global__ void __launch_bounds__(CP_FVB_MAX_THREADS, 1) cuproof_freivalds_cr_bulk(const int32_t* __restrict__ c,
                                                                             const uint64_t* __restrict__ r,
                                                                             uint32_t m, uint32_t n, uint32_t seg,
                                                                             uint32_t stages, uint32_t vec_in_smem,
                                                                             uint64_t* __restrict__ w) {
    cp_fvb_rows<cp_fvb_i32>((const uint8_t*)c, r, m, n, seg, stages, vec_in_smem, w);
}

// z[i] = sum_l A[i][l] y[l] (mod p), A int8 m x k row-major. See the launch notes above.
extern "C" __global__ void __launch_bounds__(CP_FVB_MAX_THREADS, 1) cuproof_freivalds_ay_bulk(const int8_t* __restrict__ a,
                                                                             const uint64_t* __restrict__ y,
                                                                             uint32_t m, uint32_t k, uint32_t seg,
                                                                             uint32_t stages, uint32_t vec_in_smem,
                                                                             uint64_t* __restrict__ z) {
    cp_fvb_rows<cp_fvb_i8>((const uint8_t*)a, y, m, k, seg, stages, vec_in_smem, z);
}
