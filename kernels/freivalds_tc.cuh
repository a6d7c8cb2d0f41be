// Freivalds check on the tensor cores: the same vectors as freivalds.cuh (y = B r, z = A y, w = C r over F_p,
// p = 2^61 - 1), with every multiply-add of a matrix entry done by mma.sync m16n8k32 (s8/u8 x u8 -> s32).
//
// The vector side of each product is split into its eight byte limbs, stored as eight byte planes
// (plane[l][i] = byte l of v_i, plane stride a multiple of 256, zero beyond the vector): a vector is the N = 8
// columns of the mma's B operand, so one mma adds 16 x 32 matrix entries times 8 limbs into exact int32 sums
// S_l, and a row's residue is sum_l 2^(8 l) S_l (mod p). The summation order of K inside an mma is free, so each
// thread loads 16 contiguous bytes and the fragments are assigned to match (maps below).
//
//   y = B r:  Bt (n x k) is read 32 rows x 128 columns per warp step; each lane's four 4-byte words of 4 rows
//             are transposed with PRMT (cp_fvtc_transpose4) into A fragments whose rows are columns of Bt.
//             Operands s8 x u8; a slice of at most CP_FVTC_BR_MAX_ROWS rows keeps |S_l| < 2^31.
//   z = A y:  A (m x k) rows against the limb planes of y; s8 x u8; 16 rows x 256 bytes per warp step.
//   w = C r:  C (m x n int32) read as m x 4n bytes against the planes of e, e_(4j+p) = 2^(8p) r_j mod p (so that
//             sum_p byte_p(c) 2^(8p) r_j = c r_j). u8 x u8 with the top byte of each word offset by 0x80
//             (c + 2^31 is the unsigned word); the offset is removed at the end: w_i -= 2^31 sum_j r_j.
//   The row kernels fold their int32 sums into int64 every CP_FVTC_ROWS_FOLD steps (256 bytes x 255 x 255 x 128
//   < 2^31), so any slice length is exact.
// Work is split into slices of the reduction (K) dimension, each writing residues part[s][i]; the finish kernels
// add the slices. Every partial is an exact residue: the result is bit-identical to freivalds.cuh and the CPU
// twin whatever the split. The host build runs the same load, fragment and combine functions with the emulated
// mma (host_api.cpp: cuproof_host_freivalds_tc).
//
// Requirements (checked by the host, src/kernels/freivalds.rs): k % 16 == 0, n % 4 == 0, 16-byte aligned buffers.
#pragma once
#include "freivalds.cuh"

#define CP_FVTC_LIMBS 8u
#define CP_FVTC_WARPS 8u             // warps per block (256 threads)
#define CP_FVTC_BR_COLS 128u         // columns of Bt per warp
#define CP_FVTC_BR_ROWS 32u          // rows of Bt per warp step
#define CP_FVTC_BR_MAX_ROWS 32768u   // rows per slice: 32768 * 128 * 255 < 2^31
#define CP_FVTC_ROWS_TILE 16u        // matrix rows per warp in the row kernels
#define CP_FVTC_ROWS_STEP 256u       // bytes of each row per warp step
#define CP_FVTC_ROWS_FOLD 128u       // steps between int64 folds: 128 * 256 * 255 * 255 < 2^31
#define CP_FVTC_STRIDE_ALIGN 256u    // plane strides are multiples of this

// cp_prmt (__byte_perm / PRMT, default mode) is in freivalds.cuh.

// 4 x 4 byte transpose: byte c of w[i] is M[i][c]; byte i of t[c] is M[i][c]. Eight PRMT.
CP_HD void cp_fvtc_transpose4(const uint32_t w[4], uint32_t t[4]) {
    const uint32_t p0 = cp_prmt(w[0], w[1], 0x5140u), p1 = cp_prmt(w[0], w[1], 0x7362u);
    const uint32_t q0 = cp_prmt(w[2], w[3], 0x5140u), q1 = cp_prmt(w[2], w[3], 0x7362u);
    t[0] = cp_prmt(p0, q0, 0x5410u);
    t[1] = cp_prmt(p0, q0, 0x7632u);
    t[2] = cp_prmt(p1, q1, 0x5410u);
    t[3] = cp_prmt(p1, q1, 0x7632u);
}

// 16 bytes at p (16-byte aligned on the device) as four little-endian words.
CP_HD void cp_fvtc_ld16(const uint8_t* p, uint32_t w[4]) {
#if CP_DEVICE_CODE
    const uint4 v = __ldg((const uint4*)p);
    w[0] = v.x;
    w[1] = v.y;
    w[2] = v.z;
    w[3] = v.w;
#else
    for (int i = 0; i < 4; ++i)
        w[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) | ((uint32_t)p[4 * i + 2] << 16) |
               ((uint32_t)p[4 * i + 3] << 24);
#endif
}

CP_HD uint32_t cp_fvtc_ld4(const uint8_t* p) {
#if CP_DEVICE_CODE
    return __ldg((const uint32_t*)p);
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}

// ---- vector preparation (prep kernel) ----

// Byte l of r (the r planes) and the word of the e planes at (l, j): bytes p = 0..3 are byte l of 2^(8p) r mod p.
// r < p.
CP_HD uint32_t cp_fvtc_e_word(uint64_t r, unsigned l) {
    uint32_t v = 0;
    for (unsigned p = 0; p < 4; ++p) v |= (uint32_t)((cp_shl61(r, 8u * p) >> (8u * l)) & 0xFFu) << (8u * p);
    return v;
}

// ---- y = B r ----

// Lane (g, q)'s loads for the step at row j of Bt (rows < jend are in the slice, columns < k exist), warp columns
// from col0: w[h][i] = 16 bytes of row j + 16 h + 4 q + i at columns col0 + 16 g .. + 15 (zero outside).
CP_HD void cp_fvtc_br_load(const int8_t* bt, uint32_t k, uint32_t j, uint32_t jend, uint32_t col0, int lane,
                           uint32_t w[2][4][4]) {
    const uint32_t g = (uint32_t)lane >> 2, q = (uint32_t)lane & 3u;
    const uint32_t col = col0 + 16u * g;
    for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) {
            const uint32_t row = j + 16u * h + 4u * q + i;
            if (row < jend && col < k) {
                cp_fvtc_ld16((const uint8_t*)bt + (size_t)row * k + col, w[h][i]);
            } else {
                w[h][i][0] = w[h][i][1] = w[h][i][2] = w[h][i][3] = 0;
            }
        }
}

// A fragments of the step's eight mma (mi = 2 c + e): rows g and g + 8 of mma mi are Bt columns
// col0 + 16 g + 4 c + 2 e and that + 1 (cp_fvtc_br_col); K = the 32 rows of the step, in the order of the B
// fragments below.
CP_HD void cp_fvtc_br_frags(const uint32_t w[2][4][4], uint32_t a[8][4]) {
    for (int c = 0; c < 4; ++c) {
        uint32_t x[4], y[4], t[4];
        for (int i = 0; i < 4; ++i) t[i] = w[0][i][c];
        cp_fvtc_transpose4(t, x);
        for (int i = 0; i < 4; ++i) t[i] = w[1][i][c];
        cp_fvtc_transpose4(t, y);
        for (int e = 0; e < 2; ++e) {
            a[2 * c + e][0] = x[2 * e];
            a[2 * c + e][1] = x[2 * e + 1];
            a[2 * c + e][2] = y[2 * e];
            a[2 * c + e][3] = y[2 * e + 1];
        }
    }
}

// B fragment of the step at row j: limb g of r_(j + 4q .. + 3) and of r_(j + 16 + 4q .. + 3).
CP_HD void cp_fvtc_br_bfrag(const uint8_t* rplanes, uint32_t rstride, uint32_t j, int lane, uint32_t b[2]) {
    const uint32_t g = (uint32_t)lane >> 2, q = (uint32_t)lane & 3u;
    const uint8_t* pl = rplanes + (size_t)g * rstride + j + 4u * q;
    b[0] = cp_fvtc_ld4(pl);
    b[1] = cp_fvtc_ld4(pl + 16);
}

// Column (relative to col0) of accumulator register `reg` of mma mi for `lane`; its limb is 2 q + (reg & 1).
CP_HD uint32_t cp_fvtc_br_col(int lane, int mi, int reg) {
    return 16u * ((uint32_t)lane >> 2) + 4u * (uint32_t)(mi >> 1) + 2u * (uint32_t)(mi & 1) + (uint32_t)(reg >> 1);
}

// ---- z = A y and w = C r (row kernels) ----

// Lane (g, q)'s loads for the step at byte kb of rows row0 + g and row0 + g + 8: u[c] (row g) and v[c] (row g + 8)
// are bytes kb + 64 c + 16 q .. + 15 (zero at or past kend or for rows >= rows); pl[c] the same bytes of plane g.
// `words`: the matrix is int32 (C), each word's top byte is offset by 0x80 (the unsigned value c + 2^31).
CP_HD void cp_fvtc_rows_load(const uint8_t* mat, uint32_t rows, uint32_t ld, uint32_t kb, uint32_t kend,
                             uint32_t row0, const uint8_t* planes, uint32_t pstride, int lane, int words,
                             uint32_t u[4][4], uint32_t v[4][4], uint32_t pl[4][4]) {
    const uint32_t g = (uint32_t)lane >> 2, q = (uint32_t)lane & 3u;
    const uint32_t flip = words ? 0x80000000u : 0u;
    for (int c = 0; c < 4; ++c) {
        const uint32_t off = kb + 64u * c + 16u * q;
        const bool in = off < kend;
        for (int h = 0; h < 2; ++h) {
            uint32_t* dst = h == 0 ? u[c] : v[c];
            const uint32_t row = row0 + g + 8u * h;
            if (in && row < rows) {
                cp_fvtc_ld16(mat + (size_t)row * ld + off, dst);
                for (int i = 0; i < 4; ++i) dst[i] ^= flip;
            } else {
                dst[0] = dst[1] = dst[2] = dst[3] = 0;
            }
        }
        if (in) {
            cp_fvtc_ld16(planes + (size_t)g * pstride + off, pl[c]);
        } else {
            pl[c][0] = pl[c][1] = pl[c][2] = pl[c][3] = 0;
        }
    }
}

// Fragments of the two mma of chunk c: mma 2c + e takes words 2e and 2e + 1 of the 16 bytes.
CP_HD void cp_fvtc_rows_frags(const uint32_t u[4], const uint32_t v[4], const uint32_t pl[4], int e, uint32_t a[4],
                              uint32_t b[2]) {
    a[0] = u[2 * e];
    a[1] = v[2 * e];
    a[2] = u[2 * e + 1];
    a[3] = v[2 * e + 1];
    b[0] = pl[2 * e];
    b[1] = pl[2 * e + 1];
}

// ---- combining limbs ----

// 2^(16q) s_lo + 2^(16q + 8) s_hi (mod p): the limbs 2q and 2q + 1 that lane q holds.
CP_HD uint64_t cp_fvtc_limb_pair(int64_t s_lo, int64_t s_hi, unsigned q) {
    return cp_addmod61(cp_shl61(cp_mod61_s64(s_lo), 16u * q), cp_shl61(cp_mod61_s64(s_hi), 16u * q + 8u));
}

// 2^31 x (mod p), the offset correction of w for x = sum_j r_j.
CP_HD uint64_t cp_fvtc_offset(uint64_t rsum) { return cp_shl61(rsum, 31u); }

// Launch geometry shared by the host plan (src/kernels/freivalds.rs) and the host twin.
CP_HD uint32_t cp_fvtc_round_up(uint32_t x, uint32_t a) { return (x + a - 1u) / a * a; }
