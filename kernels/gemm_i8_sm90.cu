// int8 GEMM for Hopper (sm_90a): TMA + mbarrier pipeline feeding wgmma.m64n256k32.s32.s8.s8.
// Layout, swizzle, descriptors and the accumulator map are in gemm_sm90.cuh (with the host twin of the schedule).
// Compiled for compute_90a only; the runtime loads it on compute capability 9.0 and falls back to gemm_i8.cu
// (mma.sync) elsewhere or when k % 16 != 0 (the TMA needs 16-byte row strides).
#include "gemm_sm90.cuh"
#include "sm90.cuh"

__device__ __forceinline__ void cp_wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void cp_wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// One wgmma.m64n256k32.s32.s8.s8 (A and B from shared memory): d = A(desc_a) * B(desc_b) + (scale_d ? d : 0), 128 accumulators.
__device__ __forceinline__ void cp_wgmma_m64n256k32(uint32_t d[128], uint64_t desc_a, uint64_t desc_b,
                                                    uint32_t scale_d) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {"
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
        "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
        "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "
        "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "
        "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
        "}, %128, %129, p;\n"
        "}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]),
          "+r"(d[64]), "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]),
          "+r"(d[72]), "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]),
          "+r"(d[80]), "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]),
          "+r"(d[88]), "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95]),
          "+r"(d[96]), "+r"(d[97]), "+r"(d[98]), "+r"(d[99]), "+r"(d[100]), "+r"(d[101]), "+r"(d[102]), "+r"(d[103]),
          "+r"(d[104]), "+r"(d[105]), "+r"(d[106]), "+r"(d[107]), "+r"(d[108]), "+r"(d[109]), "+r"(d[110]), "+r"(d[111]),
          "+r"(d[112]), "+r"(d[113]), "+r"(d[114]), "+r"(d[115]), "+r"(d[116]), "+r"(d[117]), "+r"(d[118]), "+r"(d[119]),
          "+r"(d[120]), "+r"(d[121]), "+r"(d[122]), "+r"(d[123]), "+r"(d[124]), "+r"(d[125]), "+r"(d[126]), "+r"(d[127])
        : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// C = A * B. tmaps: two CUtensorMap (128 bytes each, 64-byte aligned) in global memory, for A (dims {k, m}) and Bt
// (dims {k, n}), uint8, box {128, 128} and {128, 256}, 128-byte swizzle, zero fill. A, Bt are passed too: they are
// the pointers the tensor maps were encoded from, so the launch record names the buffers read.
// grid = (ceil(m / 128) * ceil(n / 256)), block = 384 (producer warpgroup + two consumer warpgroups),
// dynamic shared memory = CP_SM90_SMEM_BYTES.
extern "C" __global__ void __launch_bounds__(CP_SM90_THREADS, 1)
    cuproof_gemm_i8_sm90(const int8_t* __restrict__ A, const int8_t* __restrict__ Bt, int32_t* __restrict__ C, int m,
                         int n, int k, const uint8_t* __restrict__ tmaps) {
    extern __shared__ __align__(1024) uint8_t cp_sm90_smem[];
    (void)A;
    (void)Bt;
    const uint32_t base = (cp_smem_addr(cp_sm90_smem) + 1023u) & ~1023u;
    const uint32_t bars = base + CP_SM90_STAGES * CP_SM90_STAGE_BYTES;  // full[s] at 8 s, empty[s] at 8 (S + s)
    const uint32_t tiles_m = (uint32_t)((m + CP_SM90_BM - 1) / CP_SM90_BM);
    const uint32_t tiles_n = (uint32_t)((n + CP_SM90_BN - 1) / CP_SM90_BN);
    uint32_t tm, tn;
    cp_sm90_tile_of(blockIdx.x, tiles_m, tiles_n, &tm, &tn);
    const int bm = (int)tm * CP_SM90_BM, bn = (int)tn * CP_SM90_BN;
    const int nk = (k + CP_SM90_BK - 1) / CP_SM90_BK;
    const int wg = threadIdx.x >> 7;

    if (threadIdx.x == 0) {
#pragma unroll
        for (int s = 0; s < CP_SM90_STAGES; ++s) {
            cp_mbar_init(bars + 8u * s, 1);
            cp_mbar_init(bars + 8u * (CP_SM90_STAGES + s), 256);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg == 0) {
        // producer warpgroup: one thread issues the TMA loads
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
        if (threadIdx.x == 0) {
            const uint8_t* tmap_a = tmaps;
            const uint8_t* tmap_b = tmaps + 128;
            asm volatile("prefetch.tensormap [%0];\n" ::"l"(tmap_a) : "memory");
            asm volatile("prefetch.tensormap [%0];\n" ::"l"(tmap_b) : "memory");
            for (int kt = 0; kt < nk; ++kt) {
                const uint32_t s = (uint32_t)kt % CP_SM90_STAGES;
                const uint32_t ph = ((uint32_t)kt / CP_SM90_STAGES) & 1u;
                cp_mbar_wait(bars + 8u * (CP_SM90_STAGES + s), ph ^ 1u);
                const uint32_t full = bars + 8u * s;
                cp_mbar_arrive_expect_tx(full, CP_SM90_STAGE_BYTES);
                const uint32_t sa = base + s * CP_SM90_STAGE_BYTES;
                cp_tma_load_2d(sa, tmap_a, kt * CP_SM90_BK, bm, full);
                cp_tma_load_2d(sa + CP_SM90_A_BYTES, tmap_b, kt * CP_SM90_BK, bn, full);
            }
        }
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
        const uint32_t c = (uint32_t)wg - 1u;  // rows 64 c .. 64 c + 63 of the tile
        const uint32_t t = threadIdx.x & 127u;
        uint32_t d[128];
#pragma unroll
        for (int i = 0; i < 128; ++i) d[i] = 0;
        for (int kt = 0; kt < nk; ++kt) {
            const uint32_t s = (uint32_t)kt % CP_SM90_STAGES;
            const uint32_t ph = ((uint32_t)kt / CP_SM90_STAGES) & 1u;
            cp_mbar_wait(bars + 8u * s, ph);
            const uint32_t sa = base + s * CP_SM90_STAGE_BYTES;
            cp_wgmma_fence();
#pragma unroll
            for (uint32_t kk = 0; kk < CP_SM90_BK / 32; ++kk) {
                cp_wgmma_m64n256k32(d, cp_sm90_desc(sa + c * 64u * 128u + kk * 32u),
                                    cp_sm90_desc(sa + CP_SM90_A_BYTES + kk * 32u), 1u);
            }
            cp_wgmma_commit();
            // keep one group in flight: the previous slice's reads are done once at most one group is pending
            cp_wgmma_wait<1>();
            if (kt > 0) cp_mbar_arrive(bars + 8u * (CP_SM90_STAGES + ((uint32_t)(kt - 1) % CP_SM90_STAGES)));
        }
        cp_wgmma_wait<0>();
        // epilogue: bounds-checked stores, 8 bytes per (row, column pair) when the pair is inside
#pragma unroll
        for (uint32_t i = 0; i < 128; i += 2) {
            uint32_t row, col;
            cp_sm90_acc_pos(t, i, &row, &col);
            const int gr = bm + (int)(c * 64u + row), gc = bn + (int)col;
            if (gr >= m) continue;
            int32_t* p = C + (size_t)gr * (size_t)n + (size_t)gc;
            if (gc + 1 < n && ((((uintptr_t)p) & 7u) == 0)) {
                *(int2*)p = make_int2((int32_t)d[i], (int32_t)d[i + 1]);
            } else {
                if (gc < n) p[0] = (int32_t)d[i];
                if (gc + 1 < n) p[1] = (int32_t)d[i + 1];
            }
        }
    }
}
