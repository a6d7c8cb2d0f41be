// int8 GEMM C = A * B (s8 x s8 -> s32) on mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32.
//
// Layout: A is m x k row-major (A[i*k + l]); B is given transposed, as Bt = n x k row-major (Bt[j*k + l] = B[l][j],
// i.e. B column-major); C is m x n row-major int32 (C[i*n + j]). Any m, n, k >= 1: tiles are zero-padded.
// A block computes a 128 x 128 tile of C with 8 warps (2 x 4, 64 x 32 each), staging 128 x 64 slices of A and Bt
// in shared memory with a row stride of 80 bytes (conflict-free 32-bit fragment reads).
//
// mma m16n8k32 fragments (PTX ISA), lane -> g = lane / 4, q = lane % 4:
//   A (16 x 32, row): a0 = A[g][4q..4q+3], a1 = A[g+8][4q..], a2 = A[g][16+4q..], a3 = A[g+8][16+4q..]
//   B (32 x 8, col):  b0 = B[4q..4q+3][g], b1 = B[16+4q..16+4q+3][g]   (= Bt[g][4q..], Bt[g][16+4q..])
//   C (16 x 8):       c0 = C[g][2q], c1 = C[g][2q+1], c2 = C[g+8][2q], c3 = C[g+8][2q+1]
// The host build runs the same staging, fragment and store functions with an emulated mma (cp_mma_emulate).
#pragma once
#include "common.cuh"

#define CP_GEMM_BM 128
#define CP_GEMM_BN 128
#define CP_GEMM_BK 64
#define CP_GEMM_LDS 80
#define CP_GEMM_THREADS 256

CP_HD uint32_t cp_ld_u32(const int8_t* p) {
#if CP_DEVICE_CODE
    return *(const uint32_t*)p;
#else
    return (uint32_t)(uint8_t)p[0] | ((uint32_t)(uint8_t)p[1] << 8) | ((uint32_t)(uint8_t)p[2] << 16) |
           ((uint32_t)(uint8_t)p[3] << 24);
#endif
}

// Fragment of a 16 x 32 A sub-tile at `tile` (row stride ld bytes) for `lane`.
CP_HD void cp_gemm_frag_a(const int8_t* tile, int ld, int lane, uint32_t a[4]) {
    const int g = lane >> 2, q = lane & 3;
    a[0] = cp_ld_u32(tile + g * ld + 4 * q);
    a[1] = cp_ld_u32(tile + (g + 8) * ld + 4 * q);
    a[2] = cp_ld_u32(tile + g * ld + 16 + 4 * q);
    a[3] = cp_ld_u32(tile + (g + 8) * ld + 16 + 4 * q);
}

// Fragment of an 8 x 32 Bt sub-tile (8 columns of B) at `tile` (row stride ld bytes) for `lane`.
CP_HD void cp_gemm_frag_b(const int8_t* tile, int ld, int lane, uint32_t b[2]) {
    const int g = lane >> 2, q = lane & 3;
    b[0] = cp_ld_u32(tile + g * ld + 4 * q);
    b[1] = cp_ld_u32(tile + g * ld + 16 + 4 * q);
}

// Row/column of C held in accumulator register r (0..3) by `lane`, relative to the 16 x 8 tile.
CP_HD void cp_gemm_frag_c_pos(int lane, int r, int* row, int* col) {
    const int g = lane >> 2, q = lane & 3;
    *row = g + ((r >> 1) << 3);
    *col = 2 * q + (r & 1);
}

// Host emulation of one warp-wide mma.sync m16n8k32 with s8 or u8 operands (a_signed / b_signed): reassembles A, B
// from the 32 lanes' fragments by the layout above and accumulates D = A * B + C into each lane's registers.
CP_HD void cp_mma_emulate_typed(int32_t c[32][4], const uint32_t a[32][4], const uint32_t b[32][2], int a_signed,
                                int b_signed) {
    int32_t A[16][32], B[32][8];
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane >> 2, q = lane & 3;
        for (int i = 0; i < 4; ++i) {
            const uint32_t av[4] = {(a[lane][0] >> (8 * i)) & 0xFFu, (a[lane][1] >> (8 * i)) & 0xFFu,
                                    (a[lane][2] >> (8 * i)) & 0xFFu, (a[lane][3] >> (8 * i)) & 0xFFu};
            const uint32_t bv[2] = {(b[lane][0] >> (8 * i)) & 0xFFu, (b[lane][1] >> (8 * i)) & 0xFFu};
            int32_t ae[4], be[2];
            for (int t = 0; t < 4; ++t) ae[t] = a_signed ? (int32_t)(int8_t)(uint8_t)av[t] : (int32_t)av[t];
            for (int t = 0; t < 2; ++t) be[t] = b_signed ? (int32_t)(int8_t)(uint8_t)bv[t] : (int32_t)bv[t];
            A[g][4 * q + i] = ae[0];
            A[g + 8][4 * q + i] = ae[1];
            A[g][16 + 4 * q + i] = ae[2];
            A[g + 8][16 + 4 * q + i] = ae[3];
            B[4 * q + i][g] = be[0];
            B[16 + 4 * q + i][g] = be[1];
        }
    }
    for (int lane = 0; lane < 32; ++lane) {
        for (int r = 0; r < 4; ++r) {
            int row, col;
            cp_gemm_frag_c_pos(lane, r, &row, &col);
            uint32_t acc = 0;
            for (int l = 0; l < 32; ++l) acc += (uint32_t)(A[row][l] * B[l][col]);
            c[lane][r] = (int32_t)((uint32_t)c[lane][r] + acc);
        }
    }
}

// The GEMM's s8 x s8 mma.
CP_HD void cp_mma_emulate(int32_t c[32][4], const uint32_t a[32][4], const uint32_t b[32][2]) {
    cp_mma_emulate_typed(c, a, b, 1, 1);
}

// Generic (any alignment) staging of a rows x 64 slice starting at (row0, k0) of a row-major matrix with `rows`
// rows and `cols` columns into smem (row stride CP_GEMM_LDS), zero outside; thread `tid` of `nthreads`.
CP_HD void cp_gemm_stage_generic(int8_t* smem, const int8_t* src, int rows, int cols, int row0, int k0, int tile_rows,
                                 int tid, int nthreads) {
    for (int idx = tid; idx < tile_rows * CP_GEMM_BK; idx += nthreads) {
        const int r = idx / CP_GEMM_BK, c = idx % CP_GEMM_BK;
        const int gr = row0 + r, gc = k0 + c;
        smem[r * CP_GEMM_LDS + c] = (gr < rows && gc < cols) ? src[(size_t)gr * (size_t)cols + (size_t)gc] : (int8_t)0;
    }
}

// Store one warp-lane's 16 x 8 accumulator tile at (row0, col0) of C (m x n), bounds-checked.
CP_HD void cp_gemm_store_c(int32_t* C, int m, int n, int row0, int col0, int lane, const int32_t acc[4]) {
    for (int r = 0; r < 4; ++r) {
        int row, col;
        cp_gemm_frag_c_pos(lane, r, &row, &col);
        row += row0;
        col += col0;
        if (row < m && col < n) C[(size_t)row * (size_t)n + (size_t)col] = acc[r];
    }
}
