// Exact Freivalds check of C = A * B over F_p, p = 2^61 - 1.
//
// With r in F_p^n (from the fill generator, stream CP_FREIVALDS_STREAM, see docs/kernels.md):
//   y = B r  (k entries),  z = A y  (m entries),  w = C r  (m entries);  accept iff z == w.
// Entries are signed (A, B int8; C int32) and are mapped to F_p as x mod p. Sums are accumulated exactly in int64
// limbs (below) and reduced to residues, so every value is the exact residue: the device and the host compute
// bit-identical vectors.
#pragma once
#include "common.cuh"

#define CP_P61 0x1FFFFFFFFFFFFFFFULL
#define CP_FREIVALDS_STREAM 0xF0u

CP_HD uint64_t cp_mod61_u64(uint64_t x) {
    uint64_t r = (x & CP_P61) + (x >> 61);
    return r >= CP_P61 ? r - CP_P61 : r;
}

CP_HD uint64_t cp_addmod61(uint64_t a, uint64_t b) {
    uint64_t r = a + b;
    return r >= CP_P61 ? r - CP_P61 : r;
}

CP_HD uint64_t cp_submod61(uint64_t a, uint64_t b) { return a >= b ? a - b : a + CP_P61 - b; }

// Limb accumulators. Every term is a product of a small signed integer and a residue x < p split into limbs, each
// limb product a 32-bit multiply-add (int8 terms) or a 32 x 32 -> 64-bit one (int32 terms). The accumulators stay
// exact for the number of terms stated per type (the kernels fold to a residue before that bound) and are combined
// into the residue, so the result is the exact residue whatever the split of the work: device and host stay
// bit-identical. (Measured on an H200: the 64-bit multiply-adds bound the kernels, see docs/perf.md.)

// x mod p for a signed 64-bit x (|x| < 2^63).
CP_HD uint64_t cp_mod61_s64(int64_t x) {
    return x >= 0 ? cp_mod61_u64((uint64_t)x) : cp_submod61(0, cp_mod61_u64((uint64_t)(-x)));
}

// 2^e * x mod p for x < p, 0 <= e < 61 (2^61 = 1 mod p: a rotation within 61 bits).
CP_HD uint64_t cp_shl61(uint64_t x, unsigned e) {
    if (e == 0) return x;
    const uint64_t r = ((x << e) & CP_P61) | (x >> (61u - e));
    return r == CP_P61 ? 0 : r;
}

// int8 terms a * x: x < p is split into four 16-bit limbs (the last < 2^13); each term adds a * limb_i to an int32
// partial p_i with one 32-bit IMAD (|a * limb| < 2^23). The partials stay exact for CP_ACC8_FOLD = 256 terms
// (256 * 128 * 65535 < 2^31) and are then folded into a residue: v + sum_i 2^(16 i) p_i (mod p).
#define CP_ACC8_FOLD 256u

CP_HD void cp_limbs16(uint64_t x, uint32_t l[4]) {
    l[0] = (uint32_t)x & 0xFFFFu;
    l[1] = (uint32_t)(x >> 16) & 0xFFFFu;
    l[2] = (uint32_t)(x >> 32) & 0xFFFFu;
    l[3] = (uint32_t)(x >> 48);
}

CP_HD void cp_acc8_add(int32_t p[4], int32_t a, const uint32_t l[4]) {
    p[0] += a * (int32_t)l[0];
    p[1] += a * (int32_t)l[1];
    p[2] += a * (int32_t)l[2];
    p[3] += a * (int32_t)l[3];
}

// Returns v + sum_i 2^(16 i) p_i (mod p) and clears the partials.
CP_HD uint64_t cp_acc8_fold(uint64_t v, int32_t p[4]) {
    v = cp_addmod61(v, cp_mod61_s64((int64_t)p[0]));
    v = cp_addmod61(v, cp_shl61(cp_mod61_s64((int64_t)p[1]), 16));
    v = cp_addmod61(v, cp_shl61(cp_mod61_s64((int64_t)p[2]), 32));
    v = cp_addmod61(v, cp_shl61(cp_mod61_s64((int64_t)p[3]), 48));
    p[0] = p[1] = p[2] = p[3] = 0;
    return v;
}

// int32 terms c * x with x split into three 21-bit limbs x = x0 + x1 * 2^21 + x2 * 2^42 (x2 < 2^19):
// |c * xi| < 2^52: exact for up to 2^11 terms (CP_ACC32_TERMS). Three IMAD.WIDE per term.
#define CP_ACC32_TERMS (1ULL << 11)
struct cp_acc32 {
    int64_t a0, a1, a2;
};

CP_HD void cp_acc32_init(cp_acc32* s) { s->a0 = s->a1 = s->a2 = 0; }

CP_HD uint32_t cp_limb21(uint64_t x, unsigned i) { return (uint32_t)(x >> (21u * i)) & 0x1FFFFFu; }

CP_HD void cp_acc32_add(cp_acc32* s, int32_t c, uint32_t x0, uint32_t x1, uint32_t x2) {
    s->a0 += (int64_t)c * (int64_t)(int32_t)x0;
    s->a1 += (int64_t)c * (int64_t)(int32_t)x1;
    s->a2 += (int64_t)c * (int64_t)(int32_t)x2;
}

CP_HD uint64_t cp_acc32_finish(const cp_acc32* s) {
    uint64_t v = cp_mod61_s64(s->a0);
    v = cp_addmod61(v, cp_shl61(cp_mod61_s64(s->a1), 21));
    v = cp_addmod61(v, cp_shl61(cp_mod61_s64(s->a2), 42));
    return v;
}

// a * b mod p for a, b < p: the 122-bit product is hi * 2^64 + lo = (hi * 8 + lo / 2^61) * 2^61 + lo mod 2^61,
// and 2^61 = 1 mod p. Used by the bilinear check's two dot products (docs/kernels.md §4b).
CP_HD uint64_t cp_mulmod61(uint64_t a, uint64_t b) {
#if CP_DEVICE_CODE
    const uint64_t hi = __umul64hi(a, b);
#else
    const uint64_t hi = (uint64_t)(((unsigned __int128)a * b) >> 64);
#endif
    const uint64_t lo = a * b;
    return cp_mod61_u64(((hi << 3) | (lo >> 61)) + (lo & CP_P61));
}

// sum_i a_i * b_i mod p, terms i = first, first + stride, ... < n (one thread's share of a dot product).
CP_HD uint64_t cp_dot61_strided(const uint64_t* a, const uint64_t* b, uint32_t n, uint32_t first, uint32_t stride) {
    uint64_t s = 0;
    for (uint32_t i = first; i < n; i += stride) s = cp_addmod61(s, cp_mulmod61(a[i], b[i]));
    return s;
}

// y = lo + 2^32 hi (mod p) from the fused B·r kernel's two accumulators (sums of the low 32 and high 29 bits of
// residues; any u64 values are reduced correctly).
CP_HD uint64_t cp_fv_y_from_halves(uint64_t lo, uint64_t hi) { return cp_addmod61(cp_mod61_u64(lo), cp_shl61(cp_mod61_u64(hi), 32)); }

// r_j = (LE word j of the fill stream) & (2^61 - 1), reduced mod p.
CP_HD uint64_t cp_freivalds_r_from_word(uint64_t w) { return cp_mod61_u64(w & CP_P61); }
