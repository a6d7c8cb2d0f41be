// int8 GEMM on mma.sync m16n8k32 (layout and fragment maps in gemm.cuh).
#include "gemm.cuh"

#if defined(CP_SIMT_EMU)
// Host emulation (simt_emu.hpp): the warp's fragments gathered, the mma emulated (gemm.cuh), each lane's own
// accumulators kept; the asynchronous copies done at once (a wait then has nothing left to wait for).
__device__ __forceinline__ void cp_mma_m16n8k32(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
    emu_mma_m16n8k32(c, a, b, 1, 1);
}
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, uint32_t src_size) {
    memset(smem, 0, 16);
    memcpy(smem, gmem, src_size);
}
__device__ __forceinline__ void cp_async_commit() {}
__device__ __forceinline__ void cp_async_wait_1() {}
__device__ __forceinline__ void cp_async_wait_0() {}
#else
__device__ __forceinline__ void cp_mma_m16n8k32(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// 16-byte asynchronous copy global -> shared; src_size 0 writes zeros.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, uint32_t src_size) {
    const uint32_t s = (uint32_t)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_size));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_1() { asm volatile("cp.async.wait_group 1;\n" ::); }
__device__ __forceinline__ void cp_async_wait_0() { asm volatile("cp.async.wait_group 0;\n" ::); }
#endif

// Stage a 128 x 64 slice (rows row0.., columns k0..) of a rows x k row-major matrix; k % 16 == 0 and 16-byte aligned
// base: each of the 256 threads moves two 16-byte segments; segments outside the matrix are zero-filled.
__device__ __forceinline__ void cp_gemm_stage_async(int8_t* smem, const int8_t* src, int rows, int k, int row0, int k0) {
#pragma unroll
    for (int it = 0; it < 2; ++it) {
        const int seg = threadIdx.x + it * CP_GEMM_THREADS;  // 0..511
        const int r = seg >> 2, c = (seg & 3) * 16;
        const int gr = row0 + r, gc = k0 + c;
        const bool in = gr < rows && gc < k;
        const int8_t* g = in ? src + (size_t)gr * (size_t)k + gc : src;
        cp_async16(smem + r * CP_GEMM_LDS + c, g, in ? 16u : 0u);
    }
}

extern "C" __global__ void __launch_bounds__(CP_GEMM_THREADS) cuproof_gemm_i8(const int8_t* __restrict__ A,
                                                                              const int8_t* __restrict__ Bt,
                                                                              int32_t* __restrict__ C, int m, int n,
                                                                              int k) {
    CP_SHARED_ALIGNED(16, int8_t, As, [2][CP_GEMM_BM * CP_GEMM_LDS]);
    CP_SHARED_ALIGNED(16, int8_t, Bs, [2][CP_GEMM_BN * CP_GEMM_LDS]);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int wm = warp >> 2, wn = warp & 3;
    const int bm = blockIdx.y * CP_GEMM_BM, bn = blockIdx.x * CP_GEMM_BN;
    const bool fast = (k & 15) == 0 && (((uintptr_t)A) & 15u) == 0 && (((uintptr_t)Bt) & 15u) == 0;
    const int nk = (k + CP_GEMM_BK - 1) / CP_GEMM_BK;

    int32_t acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0;

    if (fast) {
        cp_gemm_stage_async(As[0], A, m, k, bm, 0);
        cp_gemm_stage_async(Bs[0], Bt, n, k, bn, 0);
        cp_async_commit();
    } else {
        cp_gemm_stage_generic(As[0], A, m, k, bm, 0, CP_GEMM_BM, threadIdx.x, CP_GEMM_THREADS);
        cp_gemm_stage_generic(Bs[0], Bt, n, k, bn, 0, CP_GEMM_BN, threadIdx.x, CP_GEMM_THREADS);
    }
    for (int kt = 0; kt < nk; ++kt) {
        const int cur = kt & 1;
        if (kt + 1 < nk) {
            if (fast) {
                cp_gemm_stage_async(As[cur ^ 1], A, m, k, bm, (kt + 1) * CP_GEMM_BK);
                cp_gemm_stage_async(Bs[cur ^ 1], Bt, n, k, bn, (kt + 1) * CP_GEMM_BK);
                cp_async_commit();
                cp_async_wait_1();
            } else {
                cp_gemm_stage_generic(As[cur ^ 1], A, m, k, bm, (kt + 1) * CP_GEMM_BK, CP_GEMM_BM, threadIdx.x,
                                      CP_GEMM_THREADS);
                cp_gemm_stage_generic(Bs[cur ^ 1], Bt, n, k, bn, (kt + 1) * CP_GEMM_BK, CP_GEMM_BN, threadIdx.x,
                                      CP_GEMM_THREADS);
            }
        } else if (fast) {
            cp_async_wait_0();
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < CP_GEMM_BK; kk += 32) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int i = 0; i < 4; ++i)
                cp_gemm_frag_a(As[cur] + (wm * 64 + i * 16) * CP_GEMM_LDS + kk, CP_GEMM_LDS, lane, af[i]);
#pragma unroll
            for (int j = 0; j < 4; ++j)
                cp_gemm_frag_b(Bs[cur] + (wn * 32 + j * 8) * CP_GEMM_LDS + kk, CP_GEMM_LDS, lane, bf[j]);
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) cp_mma_m16n8k32(acc[i][j], af[i], bf[j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
            cp_gemm_store_c(C, m, n, bm + wm * 64 + i * 16, bn + wn * 32 + j * 8, lane, acc[i][j]);
}
