// Freivalds check kernels (see freivalds.cuh). Partial sums are exact residues, so results are bit-identical to the
// host twin whatever the launch shape.
#include "freivalds.cuh"

// y_part[s][l] = sum over columns j in slice s of B[l][j] * r[j] (mod p), B given as Bt (n x k row-major).
// Each thread owns 4 consecutive l. grid = (ceil(k / 1024), slices), block = 256.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_br_partial(const int8_t* __restrict__ bt,
                                                                               const uint64_t* __restrict__ r,
                                                                               uint32_t n, uint32_t k,
                                                                               uint64_t* __restrict__ y_part) {
    const uint32_t l0 = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
    if (l0 >= k) return;
    const uint32_t per = (n + gridDim.y - 1) / gridDim.y;
    const uint32_t j0 = blockIdx.y * per;
    const uint32_t j1 = min(n, j0 + per);
    cp_sacc acc[4];
#pragma unroll
    for (int t = 0; t < 4; ++t) cp_sacc_init(&acc[t]);
    if ((k & 3u) == 0 && (((uintptr_t)bt) & 3u) == 0) {
        for (uint32_t j = j0; j < j1; ++j) {
            const uint32_t v = *(const uint32_t*)(bt + (size_t)j * k + l0);
            const uint64_t rj = r[j];
#pragma unroll
            for (int t = 0; t < 4; ++t) cp_sacc_add(&acc[t], cp_bias_i8((int8_t)(uint8_t)(v >> (8 * t))), rj);
        }
    } else {
        for (uint32_t j = j0; j < j1; ++j) {
            const uint64_t rj = r[j];
#pragma unroll
            for (int t = 0; t < 4; ++t)
                if (l0 + t < k) cp_sacc_add(&acc[t], cp_bias_i8(bt[(size_t)j * k + l0 + t]), rj);
        }
    }
#pragma unroll
    for (int t = 0; t < 4; ++t)
        if (l0 + t < k) y_part[(size_t)blockIdx.y * k + l0 + t] = cp_sacc_finish(&acc[t], CP_BIAS_I8);
}

// y[l] = sum over slices of y_part[s][l] (mod p).
extern "C" __global__ void cuproof_freivalds_sum_slices(const uint64_t* __restrict__ y_part, uint32_t k,
                                                        uint32_t slices, uint64_t* __restrict__ y) {
    const uint32_t l = blockIdx.x * blockDim.x + threadIdx.x;
    if (l >= k) return;
    uint64_t s = 0;
    for (uint32_t i = 0; i < slices; ++i) s = cp_addmod61(s, y_part[(size_t)i * k + l]);
    y[l] = s;
}

__device__ __forceinline__ uint64_t cp_warp_sum61(uint64_t v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = cp_addmod61(v, __shfl_down_sync(0xffffffffu, v, off));
    return v;
}

// z[i] = sum_l A[i][l] * y[l] (mod p): one warp per row. block = 256 (8 rows), grid = ceil(m / 8).
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_rows_i8(const int8_t* __restrict__ a,
                                                                            const uint64_t* __restrict__ y, uint32_t m,
                                                                            uint32_t k, uint64_t* __restrict__ z) {
    const uint32_t row = blockIdx.x * 8 + (threadIdx.x >> 5);
    const uint32_t lane = threadIdx.x & 31;
    if (row >= m) return;
    cp_sacc acc;
    cp_sacc_init(&acc);
    const int8_t* ar = a + (size_t)row * k;
    if ((k & 15u) == 0 && (((uintptr_t)a) & 15u) == 0) {
        for (uint32_t l = 16 * lane; l < k; l += 512) {
            const uint4 v = *(const uint4*)(ar + l);
            const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
            for (int t = 0; t < 16; ++t)
                cp_sacc_add(&acc, cp_bias_i8((int8_t)(uint8_t)(w[t >> 2] >> (8 * (t & 3)))), y[l + t]);
        }
    } else {
        for (uint32_t l = lane; l < k; l += 32) cp_sacc_add(&acc, cp_bias_i8(ar[l]), y[l]);
    }
    const uint64_t v = cp_warp_sum61(cp_sacc_finish(&acc, CP_BIAS_I8));
    if (lane == 0) z[row] = v;
}

// w[i] = sum_j C[i][j] * r[j] (mod p) for int32 C: one warp per row.
extern "C" __global__ void __launch_bounds__(256) cuproof_freivalds_rows_i32(const int32_t* __restrict__ c,
                                                                             const uint64_t* __restrict__ r,
                                                                             uint32_t m, uint32_t n,
                                                                             uint64_t* __restrict__ w) {
    const uint32_t row = blockIdx.x * 8 + (threadIdx.x >> 5);
    const uint32_t lane = threadIdx.x & 31;
    if (row >= m) return;
    cp_sacc acc;
    cp_sacc_init(&acc);
    const int32_t* cr = c + (size_t)row * n;
    if ((n & 3u) == 0 && (((uintptr_t)c) & 15u) == 0) {
        for (uint32_t j = 4 * lane; j < n; j += 128) {
            const int4 v = *(const int4*)(cr + j);
            cp_sacc_add(&acc, cp_bias_i32(v.x), r[j]);
            cp_sacc_add(&acc, cp_bias_i32(v.y), r[j + 1]);
            cp_sacc_add(&acc, cp_bias_i32(v.z), r[j + 2]);
            cp_sacc_add(&acc, cp_bias_i32(v.w), r[j + 3]);
        }
    } else {
        for (uint32_t j = lane; j < n; j += 32) cp_sacc_add(&acc, cp_bias_i32(cr[j]), r[j]);
    }
    const uint64_t v = cp_warp_sum61(cp_sacc_finish(&acc, CP_BIAS_I32));
    if (lane == 0) w[row] = v;
}
