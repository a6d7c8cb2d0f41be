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

// The same int8 terms with two-way dot products (dp2a, docs/kernels.md §4e): one instruction adds two terms to a
// limb's partial, p_i += limb_i(x0) * b0 + limb_i(x1) * b1, with the two residues' limbs packed as the 16-bit halves
// of one word (unsigned) and the two int8 entries as two bytes of another (signed). Every partial receives exactly
// the integers cp_acc8_add would add, so folds, residues and results are bit-identical; per int8 term the arithmetic
// is 2 dp2a instead of 4 IMAD and a byte extraction.

// __byte_perm / PRMT (default mode): byte i of the result is byte ((s >> 4i) & 7) of the pair {y:x} (bytes 0-3 of
// x, 4-7 of y).
CP_HD uint32_t cp_prmt(uint32_t x, uint32_t y, uint32_t s) {
#if CP_DEVICE_CODE
    return __byte_perm(x, y, s);
#else
    const uint64_t v = (uint64_t)x | ((uint64_t)y << 32);
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r |= (uint32_t)((v >> (8 * ((s >> (4 * i)) & 7u))) & 0xFFu) << (8 * i);
    return r;
#endif
}

// c + a.lo16 * b.byte0 + a.hi16 * b.byte1 (dp2a.lo) or with bytes 2, 3 (kHi: dp2a.hi); a's halves unsigned, b's
// bytes signed.
template <bool kHi>
CP_HD int32_t cp_dp2a(uint32_t a, uint32_t b, int32_t c) {
#if CP_DEVICE_CODE
    int32_t d;
    if (kHi)
        asm("dp2a.hi.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    else
        asm("dp2a.lo.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
#else
    const uint32_t h = kHi ? b >> 16 : b;
    return c + (int32_t)(a & 0xFFFFu) * (int32_t)(int8_t)(uint8_t)h + (int32_t)(a >> 16) * (int32_t)(int8_t)(uint8_t)(h >> 8);
#endif
}

// pk[i] = limb_i(x0) | limb_i(x1) << 16 (cp_limbs16's limbs of two residues, paired): four byte permutations.
CP_HD void cp_limb_pairs16(uint64_t x0, uint64_t x1, uint32_t pk[4]) {
    const uint32_t a = (uint32_t)x0, b = (uint32_t)x1, c = (uint32_t)(x0 >> 32), d = (uint32_t)(x1 >> 32);
    pk[0] = cp_prmt(a, b, 0x5410u);
    pk[1] = cp_prmt(a, b, 0x7632u);
    pk[2] = cp_prmt(c, d, 0x5410u);
    pk[3] = cp_prmt(c, d, 0x7632u);
}

// Two int8 terms, bytes 0, 1 (or 2, 3: kHi) of b, against the limb pairs pk of their residues.
template <bool kHi>
CP_HD void cp_acc8_add2(int32_t p[4], uint32_t b, const uint32_t pk[4]) {
    p[0] = cp_dp2a<kHi>(pk[0], b, p[0]);
    p[1] = cp_dp2a<kHi>(pk[1], b, p[1]);
    p[2] = cp_dp2a<kHi>(pk[2], b, p[2]);
    p[3] = cp_dp2a<kHi>(pk[3], b, p[3]);
}

// Four int8 terms, the bytes of b against residues x0..x3 given as lo = pairs(x0, x1), hi = pairs(x2, x3).
CP_HD void cp_acc8_add4(int32_t p[4], uint32_t b, const uint32_t lo[4], const uint32_t hi[4]) {
    cp_acc8_add2<false>(p, b, lo);
    cp_acc8_add2<true>(p, b, hi);
}

// Bytes of two words interleaved: zip_lo = [x0, y0, x1, y1], zip_hi = [x2, y2, x3, y3]. For two rows j, j + 1 of Bt
// holding four consecutive l each, zip_lo holds l0's pair (bytes 0, 1) and l1's (bytes 2, 3).
CP_HD uint32_t cp_bytes_zip_lo(uint32_t x, uint32_t y) { return cp_prmt(x, y, 0x5140u); }
CP_HD uint32_t cp_bytes_zip_hi(uint32_t x, uint32_t y) { return cp_prmt(x, y, 0x7362u); }

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

// ---- The bilinear check as one persistent kernel over a work queue (docs/kernels.md §4f) ----
//
// The three passes of the bilinear check (v = B·r over Bt, u = sᵀA over A, s·w = sᵀ(C r) over C) cut into warp-sized
// items that every warp of a persistent grid takes from one atomic counter, so that no stream schedule decides when
// a pass ends: every SM streams until the last item. Items:
//   * column items (kind 0: Bt with r -> v; kind 1: A with s -> u): column group g (the 32 * per columns l from
//     32 * per * g) over row slice sl of `slices` (rows [sl * q, (sl + 1) * q), q = ceil(rows / slices)); the warp
//     writes its partial residues part[sl][l]; the group's last item to finish sums the slices into v or u, and the
//     second of a group's two finished vectors adds the group's terms of u·v;
//   * C·r items (kind 2): rows [CP_FV_ROWS_I32 * rg, ...) over columns [chunk * cr_chunk, ...): the warp adds
//     s_i * (its row sums) to s·w. w itself is never stored.
// Queue position i maps to an item so that the column items are spread evenly (Bresenham) over the first `lead`
// positions and the last cr_items / tail_div positions are C·r items only: the tail is made of small items
// (tail_div = 1: every column item first, then every C·r item; a tail_div above cr_items: spread over the whole
// queue). The mapping and the finishing arithmetic are here, shared with the host model (host_api.cpp).
#define CP_FVQ_KIND_V 0u
#define CP_FVQ_KIND_U 1u
#define CP_FVQ_KIND_CR 2u

struct cp_fvq_shape {
    uint32_t groups;      // column groups, ceil(k / (32 per))
    uint32_t slices;      // row slices of the column passes
    uint32_t col_items;   // 2 groups slices
    uint32_t chunks;      // column chunks of a C·r row group, ceil(n / cr_chunk)
    uint32_t cr_items;    // ceil(m / CP_FV_ROWS_I32) chunks (CP_FV_ROWS_I32 rows per item)
    uint32_t lead;        // positions over which the column items are spread
    uint32_t total;       // col_items + cr_items
};

// The shape for an m x k by k x n product (the runtime keeps every count below 2^31: src/kernels/freivalds.rs).
CP_HD cp_fvq_shape cp_fvq_make(uint32_t m, uint32_t n, uint32_t k, uint32_t per, uint32_t slices,
                               uint32_t cr_chunk, uint32_t tail_div, uint32_t rows_per_item) {
    cp_fvq_shape s;
    s.groups = (k + 32u * per - 1u) / (32u * per);
    s.slices = slices;
    s.col_items = 2u * s.groups * slices;
    s.chunks = (n + cr_chunk - 1u) / cr_chunk;
    s.cr_items = (m + rows_per_item - 1u) / rows_per_item * s.chunks;
    s.lead = s.col_items + (s.cr_items - s.cr_items / (tail_div ? tail_div : 1u));
    s.total = s.col_items + s.cr_items;
    return s;
}

// Column items among queue positions [0, i).
CP_HD uint32_t cp_fvq_cols_before(const cp_fvq_shape& s, uint32_t i) {
    return i >= s.lead ? s.col_items : (uint32_t)((uint64_t)i * s.col_items / s.lead);
}

struct cp_fvq_item {
    uint32_t kind;  // CP_FVQ_KIND_*
    uint32_t a;     // column group (kinds V, U) or row group (CR)
    uint32_t b;     // row slice (V, U) or column chunk (CR)
};

// The item at queue position i < s.total. Column items run group-major (a group's 2 slices items are consecutive
// in the order, so groups finish early and one after another), alternating V and U.
CP_HD cp_fvq_item cp_fvq_decode(const cp_fvq_shape& s, uint32_t i) {
    const uint32_t c0 = cp_fvq_cols_before(s, i);
    cp_fvq_item it;
    if (cp_fvq_cols_before(s, i + 1u) > c0) {
        const uint32_t rest = c0 >> 1;
        it.kind = c0 & 1u;
        it.a = rest / s.slices;
        it.b = rest % s.slices;
    } else {
        const uint32_t cr = i - c0;
        it.kind = CP_FVQ_KIND_CR;
        it.a = cr / s.chunks;
        it.b = cr % s.chunks;
    }
    return it;
}

// Rows [*j0, *j1) of row slice `slice` of `rows` rows cut in `slices` (empty past the end).
CP_HD void cp_fvq_slice_rows(uint32_t rows, uint32_t slices, uint32_t slice, uint32_t* j0, uint32_t* j1) {
    const uint32_t q = (rows + slices - 1u) / slices;
    const uint64_t a = (uint64_t)slice * q;
    *j0 = a < rows ? (uint32_t)a : rows;
    *j1 = a + q < rows ? (uint32_t)(a + q) : rows;
}

// Loads of values other warps wrote during the launch: through L2 on the device (L1 is not coherent).
#if CP_DEVICE_CODE
#define CP_FVQ_LD(p) __ldcg(p)
#else
#define CP_FVQ_LD(p) (*(p))
#endif

// v[l] from the slices' partials part[sl][l] (sl < slices, row stride k).
CP_HD uint64_t cp_fvq_slice_sum(const uint64_t* part, uint32_t k, uint32_t slices, uint32_t l) {
    uint64_t s = 0;
    for (uint32_t sl = 0; sl < slices; ++sl) s = cp_addmod61(s, CP_FVQ_LD(part + (size_t)sl * k + l));
    return s;
}
