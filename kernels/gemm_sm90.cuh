// int8 GEMM for Hopper (sm_90a): the layout math shared by the device kernel (gemm_i8_sm90.cu) and its host twin.
//
// Same operands as gemm.cuh: A is m x k row-major int8, Bt = B^T is n x k row-major int8 (both "K-major", the only
// layout wgmma accepts for 8-bit types), C is m x n row-major int32.
//
// A block (CTA) computes a 128 x 256 tile of C. Its k loop walks 128-byte slices of K: the tensor-memory accelerator
// (TMA) copies a 128 x 128 slice of A and a 256 x 128 slice of Bt into shared memory with the 128-byte swizzle, and
// two consumer warpgroups each issue four wgmma.m64n256k32.s32.s8.s8 per slice (rows 0..63 and 64..127 of the
// tile). A producer warpgroup (one thread) keeps CP_SM90_STAGES slices in flight, synchronised by mbarriers.
//
// 128-byte swizzle (TMA CU_TENSOR_MAP_SWIZZLE_128B, wgmma layout type 1): row r of a slice occupies bytes
// [128 r, 128 r + 128) of the stage buffer (1024-byte aligned); its 16-byte chunk j is stored at chunk j ^ (r % 8).
// A wgmma shared-memory descriptor names a start address, the stride between 8-row groups (SBO = 1024 bytes) and
// the swizzle mode; the k-th 32-byte step of a slice starts 32 k bytes into the (unswizzled) row, and the hardware
// applies the same XOR to the address it forms, so it reads exactly what the TMA wrote.
//
// Accumulators (wgmma m64nN, s32, per warpgroup): thread t (warp w = t / 32, lane l) holds d[4 c + 2 h + e] =
// D[16 w + l / 4 + 8 h][8 c + 2 (l % 4) + e] for c in 0..N/8, h, e in {0, 1}.
//
// The host build runs the whole schedule with these functions (cp_gemm_sm90_emulate): staging by the swizzle,
// reading by the descriptor, accumulating into the fragment map, storing with the epilogue's bounds.
#pragma once
#include "common.cuh"

#define CP_SM90_BM 128
#define CP_SM90_BN 256
#define CP_SM90_BK 128
#ifndef CP_SM90_STAGES
#define CP_SM90_STAGES 4
#endif
#define CP_SM90_THREADS 384
#define CP_SM90_A_BYTES (CP_SM90_BM * CP_SM90_BK)
#define CP_SM90_B_BYTES (CP_SM90_BN * CP_SM90_BK)
#define CP_SM90_STAGE_BYTES (CP_SM90_A_BYTES + CP_SM90_B_BYTES)
// Stage buffers, 2 * STAGES mbarriers, and 1024 bytes to align the dynamic shared memory base.
#define CP_SM90_SMEM_BYTES (CP_SM90_STAGES * CP_SM90_STAGE_BYTES + 16 * CP_SM90_STAGES + 1024)
// Tile rasterisation: consecutive blocks walk down GROUP_M row tiles before moving right (L2 reuse of B).
#ifndef CP_SM90_GROUP_M
#define CP_SM90_GROUP_M 16
#endif

// Byte offset, inside a 1024-aligned stage buffer, of element (row, kb) of a slice with 128-byte rows, as the TMA
// writes it with the 128-byte swizzle.
CP_HD uint32_t cp_sm90_swizzle_offset(uint32_t row, uint32_t kb) {
    return row * 128u + ((((kb >> 4) ^ (row & 7u)) & 7u) << 4) + (kb & 15u);
}

// wgmma shared-memory matrix descriptor: start address (bytes, shared window), K-major, 128-byte swizzle,
// 8-row groups 1024 bytes apart (SBO), LBO unused for swizzled K-major layouts (encoded as 1).
CP_HD uint64_t cp_sm90_desc(uint32_t smem_addr) {
    return (uint64_t)((smem_addr & 0x3FFFFu) >> 4) | ((uint64_t)1u << 16) | ((uint64_t)(1024u >> 4) << 32) |
           ((uint64_t)1u << 62);
}

// The address the tensor core reads for element (row, j) (j < 32) of the 64-row (A) or N-row (B) operand named by
// `desc`: the unswizzled address start + 1024 (row / 8) + 128 (row % 8) + j, with the 128-byte swizzle applied
// (bits 4..6 ^= bits 7..9), as the PTX ISA defines for layout type 1.
CP_HD uint32_t cp_sm90_desc_read_addr(uint64_t desc, uint32_t row, uint32_t j) {
    const uint32_t start = (uint32_t)(desc & 0x3FFFu) << 4;
    const uint32_t sbo = (uint32_t)((desc >> 32) & 0x3FFFu) << 4;
    const uint32_t a = start + sbo * (row >> 3) + 128u * (row & 7u) + j;
    return a ^ (((a >> 7) & 7u) << 4);
}

// Row and column of D held in accumulator register i (0 .. N/2 - 1) by thread t (0..127) of a warpgroup.
CP_HD void cp_sm90_acc_pos(uint32_t t, uint32_t i, uint32_t* row, uint32_t* col) {
    const uint32_t w = t >> 5, l = t & 31u;
    const uint32_t c = i >> 2, h = (i >> 1) & 1u, e = i & 1u;
    *row = 16u * w + (l >> 2) + 8u * h;
    *col = 8u * c + 2u * (l & 3u) + e;
}

// Block index -> (row tile, column tile), grouped rasterisation.
CP_HD void cp_sm90_tile_of(uint32_t pid, uint32_t tiles_m, uint32_t tiles_n, uint32_t* tm, uint32_t* tn) {
    const uint32_t per_group = CP_SM90_GROUP_M * tiles_n;
    const uint32_t group = pid / per_group;
    const uint32_t first_m = group * CP_SM90_GROUP_M;
    const uint32_t rem = tiles_m - first_m;
    const uint32_t size_m = rem < CP_SM90_GROUP_M ? rem : CP_SM90_GROUP_M;
    const uint32_t in_group = pid % per_group;
    *tm = first_m + in_group % size_m;
    *tn = in_group / size_m;
}

#if !CP_DEVICE_CODE
// Host twin of the whole kernel schedule (slow; for tests): per block tile and k slice, stage A and Bt as the TMA
// would (swizzled, zero outside the matrix), then for each consumer warpgroup, each 32-byte k step and each
// accumulator register, read operands through the descriptors and accumulate; store with the epilogue's bounds.
// smem must hold CP_SM90_STAGE_BYTES bytes; acc must hold 2 * 128 * 128 int32.
static inline void cp_gemm_sm90_emulate(const int8_t* A, const int8_t* Bt, int32_t* C, int m, int n, int k,
                                        uint8_t* smem, int32_t* acc) {
    const uint32_t tiles_m = (uint32_t)((m + CP_SM90_BM - 1) / CP_SM90_BM);
    const uint32_t tiles_n = (uint32_t)((n + CP_SM90_BN - 1) / CP_SM90_BN);
    const int nk = (k + CP_SM90_BK - 1) / CP_SM90_BK;
    for (uint32_t pid = 0; pid < tiles_m * tiles_n; ++pid) {
        uint32_t tm, tn;
        cp_sm90_tile_of(pid, tiles_m, tiles_n, &tm, &tn);
        const int bm = (int)tm * CP_SM90_BM, bn = (int)tn * CP_SM90_BN;
        for (int i = 0; i < 2 * 128 * 128; ++i) acc[i] = 0;
        for (int kt = 0; kt < nk; ++kt) {
            uint8_t* sa = smem;
            uint8_t* sb = smem + CP_SM90_A_BYTES;
            for (uint32_t r = 0; r < CP_SM90_BM; ++r)
                for (uint32_t kb = 0; kb < CP_SM90_BK; ++kb) {
                    const int gr = bm + (int)r, gk = kt * CP_SM90_BK + (int)kb;
                    sa[cp_sm90_swizzle_offset(r, kb)] =
                        (uint8_t)((gr < m && gk < k) ? A[(size_t)gr * (size_t)k + (size_t)gk] : 0);
                }
            for (uint32_t r = 0; r < CP_SM90_BN; ++r)
                for (uint32_t kb = 0; kb < CP_SM90_BK; ++kb) {
                    const int gr = bn + (int)r, gk = kt * CP_SM90_BK + (int)kb;
                    sb[cp_sm90_swizzle_offset(r, kb)] =
                        (uint8_t)((gr < n && gk < k) ? Bt[(size_t)gr * (size_t)k + (size_t)gk] : 0);
                }
            for (uint32_t wg = 0; wg < 2; ++wg) {
                for (uint32_t kk = 0; kk < CP_SM90_BK / 32; ++kk) {
                    // descriptors relative to a stage buffer at shared address 0 (1024-aligned)
                    const uint64_t da = cp_sm90_desc(wg * 64u * 128u + kk * 32u);
                    const uint64_t db = cp_sm90_desc((uint32_t)CP_SM90_A_BYTES + kk * 32u);
                    for (uint32_t t = 0; t < 128; ++t)
                        for (uint32_t i = 0; i < 128; ++i) {
                            uint32_t row, col;
                            cp_sm90_acc_pos(t, i, &row, &col);
                            int32_t s = 0;
                            for (uint32_t j = 0; j < 32; ++j)
                                s += (int32_t)(int8_t)smem[cp_sm90_desc_read_addr(da, row, j)] *
                                     (int32_t)(int8_t)smem[cp_sm90_desc_read_addr(db, col, j)];
                            int32_t* a = &acc[(wg * 128u + t) * 128u + i];
                            *a = (int32_t)((uint32_t)*a + (uint32_t)s);
                        }
                }
            }
        }
        for (uint32_t wg = 0; wg < 2; ++wg)
            for (uint32_t t = 0; t < 128; ++t)
                for (uint32_t i = 0; i < 128; ++i) {
                    uint32_t row, col;
                    cp_sm90_acc_pos(t, i, &row, &col);
                    const int gr = bm + (int)(wg * 64u + row), gc = bn + (int)col;
                    if (gr < m && gc < n) C[(size_t)gr * (size_t)n + (size_t)gc] = acc[(wg * 128u + t) * 128u + i];
                }
    }
}
#endif
