// Exact Freivalds check of C = A * B over F_p, p = 2^61 - 1.
//
// With r in F_p^n (from the fill generator, stream CP_FREIVALDS_STREAM, see docs/kernels.md):
//   y = B r  (k entries),  z = A y  (m entries),  w = C r  (m entries);  accept iff z == w.
// Entries are signed (A, B int8; C int32) and are mapped to F_p as x mod p. Sums are accumulated exactly in 128-bit
// (products are < 2^92, a row of up to 2^32 terms stays < 2^124) and reduced once at the end, so every value is the
// exact residue: the device and the host compute bit-identical vectors.
#pragma once
#include "common.cuh"

#define CP_P61 0x1FFFFFFFFFFFFFFFULL
#define CP_FREIVALDS_STREAM 0xF0u

// 128-bit unsigned accumulator as (hi, lo).
struct cp_u128 {
    uint64_t lo, hi;
};

CP_HD void cp_u128_add_mul(cp_u128* acc, uint64_t a, uint64_t b) {
#if CP_DEVICE_CODE
    const uint64_t lo = a * b, hi = __umul64hi(a, b);
#else
    const unsigned __int128 p = (unsigned __int128)a * b;
    const uint64_t lo = (uint64_t)p, hi = (uint64_t)(p >> 64);
#endif
    const uint64_t nlo = acc->lo + lo;
    acc->hi += hi + (nlo < lo ? 1u : 0u);
    acc->lo = nlo;
}

CP_HD uint64_t cp_mod61_u64(uint64_t x) {
    uint64_t r = (x & CP_P61) + (x >> 61);
    return r >= CP_P61 ? r - CP_P61 : r;
}

// (hi * 2^64 + lo) mod p, for hi < 2^64.
CP_HD uint64_t cp_mod61_u128(cp_u128 v) {
    // 2^64 = 2^3 * 2^61 = 8 (mod p)
    const uint64_t lo = cp_mod61_u64(v.lo);
    const uint64_t hi = cp_mod61_u64(v.hi);  // < p
    // hi * 8 < 2^64; reduce it, add.
    uint64_t r = cp_mod61_u64(hi << 3) + lo;
    return r >= CP_P61 ? r - CP_P61 : r;
}

CP_HD uint64_t cp_addmod61(uint64_t a, uint64_t b) {
    uint64_t r = a + b;
    return r >= CP_P61 ? r - CP_P61 : r;
}

CP_HD uint64_t cp_submod61(uint64_t a, uint64_t b) { return a >= b ? a - b : a + CP_P61 - b; }

// Branch-free signed accumulation: a * r = (a + bias) * r - bias * r with a + bias >= 0; the biased products and
// the sum of r are accumulated apart and combined as (pos - bias * rsum) mod p at the end.
struct cp_sacc {
    cp_u128 pos, rsum;
};

CP_HD void cp_sacc_init(cp_sacc* s) {
    s->pos.lo = s->pos.hi = 0;
    s->rsum.lo = s->rsum.hi = 0;
}

// Adds (a + bias) * r where `biased` = a + bias (non-negative by construction of the caller).
CP_HD void cp_sacc_add(cp_sacc* s, uint64_t biased, uint64_t r) {
    cp_u128_add_mul(&s->pos, biased, r);
    const uint64_t nlo = s->rsum.lo + r;
    s->rsum.hi += nlo < r ? 1u : 0u;
    s->rsum.lo = nlo;
}

CP_HD uint64_t cp_sacc_finish(const cp_sacc* s, uint64_t bias) {
    cp_u128 t;
    t.lo = 0;
    t.hi = 0;
    cp_u128_add_mul(&t, cp_mod61_u128(s->rsum), bias);
    return cp_submod61(cp_mod61_u128(s->pos), cp_mod61_u128(t));
}

#define CP_BIAS_I8 128u
#define CP_BIAS_I32 2147483648ULL

CP_HD uint64_t cp_bias_i8(int8_t a) { return (uint64_t)((int32_t)a + 128); }
CP_HD uint64_t cp_bias_i32(int32_t c) { return (uint64_t)((int64_t)c + 2147483648LL); }

// r_j = (LE word j of the fill stream) & (2^61 - 1), reduced mod p.
CP_HD uint64_t cp_freivalds_r_from_word(uint64_t w) { return cp_mod61_u64(w & CP_P61); }
