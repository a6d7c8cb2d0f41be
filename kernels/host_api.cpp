// Host build of the portable kernel math: the same headers the device kernels include, compiled as C++ by build.rs
// (cc crate) and called from the Rust tests through the C ABI below. Nothing here is used on the device.
#include <stdlib.h>

#include "freivalds.cuh"
#include "freivalds_tc.cuh"
#include "gemm.cuh"
#include "gemm_sm90.cuh"
#include "keccak.cuh"

extern "C" {

void cuproof_host_keccak_f1600(uint64_t state[25]) { cp_keccak_f1600(state); }

void cuproof_host_hash_prefixed(uint8_t prefix, const uint8_t* data, uint64_t len, uint32_t pad, uint8_t out[32]) {
    uint64_t d[4];
    cp_hash_prefixed(prefix, data, len, pad, d);
    for (int i = 0; i < 32; ++i) out[i] = (uint8_t)(d[i / 8] >> (8 * (i % 8)));
}

// The paired-load leaf hash variant (cp_hash_prefixed_v2); preconditions as documented there.
void cuproof_host_hash_prefixed_v2(uint8_t prefix, const uint8_t* data, uint64_t len, uint32_t pad,
                                   uint8_t out[32]) {
    uint64_t d[4];
    cp_hash_prefixed_v2(prefix, data, len, pad, d);
    for (int i = 0; i < 32; ++i) out[i] = (uint8_t)(d[i / 8] >> (8 * (i % 8)));
}

// Leaves + tree + root exactly as the device kernels do it (same functions, the subtree kernel's grouping).
// leaves_scratch must hold 4 * n_leaves words.
void cuproof_host_commit(const uint8_t* data, uint64_t len, uint32_t chunk_log2, uint32_t alg_id, uint32_t pad,
                         uint64_t* scratch, uint8_t tree_root[32], uint8_t root[32]) {
    const uint64_t csize = 1ULL << chunk_log2;
    const uint64_t n = len == 0 ? 1 : (len + csize - 1) / csize;
    for (uint64_t i = 0; i < n; ++i) {
        const uint64_t start = i << chunk_log2;
        const uint64_t clen = start >= len ? 0 : (len - start < csize ? len - start : csize);
        cp_hash_prefixed(0x00, data + start, clen, pad, scratch + 4 * i);
    }
    // the device's subtree launches: groups of CP_MERKLE_SUBTREE nodes, each reduced level by level in place
    uint64_t cnt = n;
    while (cnt > 1) {
        const uint64_t groups = (cnt + CP_MERKLE_SUBTREE - 1) / CP_MERKLE_SUBTREE;
        for (uint64_t g = 0; g < groups; ++g) {
            uint64_t* grp = scratch + 4 * g * CP_MERKLE_SUBTREE;
            uint64_t c = cnt - g * CP_MERKLE_SUBTREE < CP_MERKLE_SUBTREE ? cnt - g * CP_MERKLE_SUBTREE : CP_MERKLE_SUBTREE;
            while (c > 1) {
                const uint64_t c1 = (c + 1) / 2;
                for (uint64_t i = 0; i < c1; ++i) {
                    uint64_t d[4];
                    if (2 * i + 1 < c) {
                        cp_hash_node(grp + 8 * i, grp + 8 * i + 4, pad, d);
                    } else {
                        for (int j = 0; j < 4; ++j) d[j] = grp[8 * i + j];
                    }
                    for (int j = 0; j < 4; ++j) grp[4 * i + j] = d[j];
                }
                c = c1;
            }
            // group g's node moves to position g of the next level
            for (int j = 0; j < 4; ++j) scratch[4 * g + j] = grp[j];
        }
        cnt = groups;
    }
    uint64_t r[4];
    cp_hash_root((uint8_t)alg_id, (uint8_t)chunk_log2, len, scratch, pad, r);
    for (int i = 0; i < 32; ++i) {
        tree_root[i] = (uint8_t)(scratch[i / 8] >> (8 * (i % 8)));
        root[i] = (uint8_t)(r[i / 8] >> (8 * (i % 8)));
    }
}

void cuproof_host_fill(uint8_t* out, uint64_t len, const uint8_t seed[32], uint32_t stream) {
    uint64_t s[4] = {0, 0, 0, 0};
    for (int i = 0; i < 32; ++i) s[i / 8] |= (uint64_t)seed[i] << (8 * (i % 8));
    for (uint64_t b = 0; b * CP_KECCAK_RATE < len; ++b) {
        uint64_t blk[17];
        cp_fill_block(s, (uint8_t)stream, b, blk);
        for (uint64_t i = 0; i < CP_KECCAK_RATE && b * CP_KECCAK_RATE + i < len; ++i)
            out[b * CP_KECCAK_RATE + i] = (uint8_t)(blk[i / 8] >> (8 * (i % 8)));
    }
}

// C = A * B through the kernel's own tiling: every 128 x 128 block tile is staged slice by slice with the generic
// staging function, each warp's 64 x 32 tile is computed from fragments (cp_gemm_frag_a / _b) with the emulated
// mma and stored with cp_gemm_store_c. Buffers: smem scratch of 2 * 128 * 80 bytes is internal.
void cuproof_host_gemm_i8_tiled(const int8_t* A, const int8_t* Bt, int32_t* C, int m, int n, int k) {
    static thread_local int8_t As[CP_GEMM_BM * CP_GEMM_LDS];
    static thread_local int8_t Bs[CP_GEMM_BN * CP_GEMM_LDS];
    static thread_local int32_t acc[8][4][4][32][4];
    const int nk = (k + CP_GEMM_BK - 1) / CP_GEMM_BK;
    for (int bm = 0; bm < m; bm += CP_GEMM_BM) {
        for (int bn = 0; bn < n; bn += CP_GEMM_BN) {
            for (int w = 0; w < 8; ++w)
                for (int i = 0; i < 4; ++i)
                    for (int j = 0; j < 4; ++j)
                        for (int l = 0; l < 32; ++l)
                            for (int r = 0; r < 4; ++r) acc[w][i][j][l][r] = 0;
            for (int kt = 0; kt < nk; ++kt) {
                for (int t = 0; t < CP_GEMM_THREADS; ++t) {
                    cp_gemm_stage_generic(As, A, m, k, bm, kt * CP_GEMM_BK, CP_GEMM_BM, t, CP_GEMM_THREADS);
                    cp_gemm_stage_generic(Bs, Bt, n, k, bn, kt * CP_GEMM_BK, CP_GEMM_BN, t, CP_GEMM_THREADS);
                }
                for (int w = 0; w < 8; ++w) {
                    const int wm = w >> 2, wn = w & 3;
                    for (int kk = 0; kk < CP_GEMM_BK; kk += 32) {
                        uint32_t af[4][32][4], bf[4][32][2];
                        for (int l = 0; l < 32; ++l) {
                            for (int i = 0; i < 4; ++i)
                                cp_gemm_frag_a(As + (wm * 64 + i * 16) * CP_GEMM_LDS + kk, CP_GEMM_LDS, l, af[i][l]);
                            for (int j = 0; j < 4; ++j)
                                cp_gemm_frag_b(Bs + (wn * 32 + j * 8) * CP_GEMM_LDS + kk, CP_GEMM_LDS, l, bf[j][l]);
                        }
                        for (int i = 0; i < 4; ++i)
                            for (int j = 0; j < 4; ++j) cp_mma_emulate(acc[w][i][j], af[i], bf[j]);
                    }
                }
            }
            for (int w = 0; w < 8; ++w) {
                const int wm = w >> 2, wn = w & 3;
                for (int i = 0; i < 4; ++i)
                    for (int j = 0; j < 4; ++j)
                        for (int l = 0; l < 32; ++l)
                            cp_gemm_store_c(C, m, n, bm + wm * 64 + i * 16, bn + wn * 32 + j * 8, l, acc[w][i][j][l]);
            }
        }
    }
}

// Freivalds vectors with the kernels' limb accumulators, folded to residues within their exactness bounds (any
// summation order gives the same residues).
void cuproof_host_freivalds(const int8_t* A, const int8_t* Bt, const int32_t* C, const uint64_t* r, uint32_t m,
                            uint32_t n, uint32_t k, uint64_t* y, uint64_t* z, uint64_t* w) {
    for (uint32_t l = 0; l < k; ++l) {
        uint64_t v = 0;
        int32_t p[4] = {0, 0, 0, 0};
        for (uint32_t j = 0; j < n; ++j) {
            uint32_t lim[4];
            cp_limbs16(r[j], lim);
            cp_acc8_add(p, (int32_t)Bt[(size_t)j * k + l], lim);
            if ((j + 1) % CP_ACC8_FOLD == 0) v = cp_acc8_fold(v, p);
        }
        y[l] = cp_acc8_fold(v, p);
    }
    for (uint32_t i = 0; i < m; ++i) {
        uint64_t s = 0;
        {
            int32_t p[4] = {0, 0, 0, 0};
            for (uint32_t l = 0; l < k; ++l) {
                uint32_t lim[4];
                cp_limbs16(y[l], lim);
                cp_acc8_add(p, (int32_t)A[(size_t)i * k + l], lim);
                if ((l + 1) % CP_ACC8_FOLD == 0) s = cp_acc8_fold(s, p);
            }
            s = cp_acc8_fold(s, p);
        }
        z[i] = s;
        s = 0;
        for (uint32_t j0 = 0; j0 < n; j0 += (uint32_t)CP_ACC32_TERMS) {
            cp_acc32 acc;
            cp_acc32_init(&acc);
            for (uint32_t j = j0; j < n && j - j0 < (uint32_t)CP_ACC32_TERMS; ++j)
                cp_acc32_add(&acc, C[(size_t)i * n + j], cp_limb21(r[j], 0), cp_limb21(r[j], 1), cp_limb21(r[j], 2));
            s = cp_addmod61(s, cp_acc32_finish(&acc));
        }
        w[i] = s;
    }
}

// y = B·r and z = A·y with the two-way dot products grouped as the dp2a kernels group them (freivalds.cu,
// cuproof_freivalds_br_partial*_dp2a and _rows_i8_dp2a; k % 4 == 0, their fast path): B·r takes the rows of Bt in
// pairs within each fold of CP_ACC8_FOLD rows (the rows of a slice from `slice_start` on: an odd start pairs rows
// differently), four l at a time through cp_bytes_zip_*, a last unpaired row by cp_acc8_add; A·y takes each row's
// bytes four at a time against the paired limbs of y. The slice sum adds the residues of [0, slice_start) and
// [slice_start, n).
void cuproof_host_freivalds_dp2a(const int8_t* A, const int8_t* Bt, const uint64_t* r, uint32_t m, uint32_t n,
                                 uint32_t k, uint32_t slice_start, uint64_t* y, uint64_t* z) {
    for (uint32_t l0 = 0; l0 < k; l0 += 4) {
        uint64_t total[4] = {0, 0, 0, 0};
        const uint32_t bounds[3] = {0, slice_start < n ? slice_start : n, n};
        for (int sl = 0; sl < 2; ++sl) {
            uint64_t v[4] = {0, 0, 0, 0};
            int32_t p[4][4] = {};
            for (uint32_t jb = bounds[sl]; jb < bounds[sl + 1]; jb += CP_ACC8_FOLD) {
                const uint32_t je = bounds[sl + 1] - jb < CP_ACC8_FOLD ? bounds[sl + 1] : jb + CP_ACC8_FOLD;
                uint32_t j = jb;
                for (; j + 1 < je; j += 2) {
                    uint32_t pk[4];
                    cp_limb_pairs16(r[j], r[j + 1], pk);
                    uint32_t x0 = 0, x1 = 0;
                    for (int t = 0; t < 4; ++t) {
                        x0 |= (uint32_t)(uint8_t)Bt[(size_t)j * k + l0 + t] << (8 * t);
                        x1 |= (uint32_t)(uint8_t)Bt[(size_t)(j + 1) * k + l0 + t] << (8 * t);
                    }
                    const uint32_t z0 = cp_bytes_zip_lo(x0, x1), z1 = cp_bytes_zip_hi(x0, x1);
                    cp_acc8_add2<false>(p[0], z0, pk);
                    cp_acc8_add2<true>(p[1], z0, pk);
                    cp_acc8_add2<false>(p[2], z1, pk);
                    cp_acc8_add2<true>(p[3], z1, pk);
                }
                for (; j < je; ++j) {
                    uint32_t lim[4];
                    cp_limbs16(r[j], lim);
                    for (int t = 0; t < 4; ++t) cp_acc8_add(p[t], (int32_t)Bt[(size_t)j * k + l0 + t], lim);
                }
                for (int t = 0; t < 4; ++t) v[t] = cp_acc8_fold(v[t], p[t]);
            }
            for (int t = 0; t < 4; ++t) total[t] = cp_addmod61(total[t], v[t]);
        }
        for (int t = 0; t < 4; ++t) y[l0 + t] = total[t];
    }
    for (uint32_t i = 0; i < m; ++i) {
        uint64_t s = 0;
        int32_t p[4] = {0, 0, 0, 0};
        for (uint32_t l = 0; l < k; l += 4) {
            uint32_t word = 0;
            for (int t = 0; t < 4; ++t) word |= (uint32_t)(uint8_t)A[(size_t)i * k + l + t] << (8 * t);
            uint32_t lo[4], hi[4];
            cp_limb_pairs16(y[l], y[l + 1], lo);
            cp_limb_pairs16(y[l + 2], y[l + 3], hi);
            cp_acc8_add4(p, word, lo, hi);
            if ((l + 4) % CP_ACC8_FOLD == 0) s = cp_acc8_fold(s, p);
        }
        z[i] = cp_acc8_fold(s, p);
    }
}

// y from per-slice partial residues as cuproof_freivalds_br_fused sums them: the low 32 and high 29 bits of every
// slice's residue added into two u64 accumulators per l, then cp_fv_y_from_halves.
void cuproof_host_y_from_slices(const uint64_t* parts, uint32_t slices, uint32_t k, uint64_t* y) {
    for (uint32_t l = 0; l < k; ++l) {
        uint64_t lo = 0, hi = 0;
        for (uint32_t s = 0; s < slices; ++s) {
            lo += parts[(size_t)s * k + l] & 0xFFFFFFFFull;
            hi += parts[(size_t)s * k + l] >> 32;
        }
        y[l] = cp_fv_y_from_halves(lo, hi);
    }
}

// The item at queue position i of the bilinear queue schedule (cp_fvq_decode): out = [kind, a, b].
void cuproof_host_fvq_decode(uint32_t m, uint32_t n, uint32_t k, uint32_t per, uint32_t slices, uint32_t cr_chunk,
                             uint32_t tail_div, uint32_t rows_per_item, uint32_t i, uint32_t out[3]) {
    const cp_fvq_item it = cp_fvq_decode(cp_fvq_make(m, n, k, per, slices, cr_chunk, tail_div, rows_per_item), i);
    out[0] = it.kind;
    out[1] = it.a;
    out[2] = it.b;
}

// The bilinear queue kernel (freivalds.cu, cp_fvq_run) on the host: the items of the schedule (cp_fvq_make,
// cp_fvq_decode) completed one at a time in the order `order` (a permutation of the queue positions: the order in
// which the device's warps might finish them), each with the kernel's limb arithmetic over its rows or columns and
// the kernel's counters: a column group's last slice sums the slices (cp_fvq_slice_sum), the second of its two
// vectors adds the group's terms of u·v. Writes u, v and out = [u·v, s·w]. Returns 0, or -1 if `order` is not a
// permutation of the positions, -2 if two positions decode to one item, -3 if a group's counters did not end at
// slices and 2.
int cuproof_host_freivalds_queue(const int8_t* A, const int8_t* Bt, const int32_t* C, const uint64_t* r,
                                 const uint64_t* s, uint32_t m, uint32_t n, uint32_t k, uint32_t per,
                                 uint32_t slices, uint32_t cr_chunk, uint32_t tail_div, uint32_t rows_per_item,
                                 const uint32_t* order,
                                 uint64_t* u, uint64_t* v, uint64_t* part_u, uint64_t* part_v, uint32_t* ctr,
                                 uint8_t* seen, uint64_t out[2]) {
    const cp_fvq_shape sh = cp_fvq_make(m, n, k, per, slices, cr_chunk, tail_div, rows_per_item);
    uint32_t* const done = ctr;  // [2][groups] slices finished, [groups] vectors finished (zeroed by the caller)
    uint64_t dot = 0, sw = 0;
    for (uint32_t x = 0; x < sh.total; ++x) {
        const uint32_t i = order[x];
        if (i >= sh.total || seen[i] & 1u) return -1;
        seen[i] |= 1u;
        const cp_fvq_item it = cp_fvq_decode(sh, i);
        // the item's identity, marked once: column items 2 (g slices + sl) + kind, C·r items after them
        const uint64_t id = it.kind == CP_FVQ_KIND_CR
                                ? (uint64_t)sh.col_items + (uint64_t)it.a * sh.chunks + it.b
                                : 2ull * ((uint64_t)it.a * slices + it.b) + it.kind;
        if (id >= sh.total || seen[id] & 2u) return -2;
        seen[id] |= 2u;
        if (it.kind == CP_FVQ_KIND_CR) {
            const uint32_t j0 = it.b * cr_chunk, j1 = n - j0 < cr_chunk ? n : j0 + cr_chunk;
            for (uint32_t q = 0; q < rows_per_item; ++q) {
                const uint32_t row = it.a * rows_per_item + q;
                if (row >= m) break;
                uint64_t t = 0;
                for (uint32_t jb = j0; jb < j1; jb += (uint32_t)CP_ACC32_TERMS) {
                    cp_acc32 acc;
                    cp_acc32_init(&acc);
                    for (uint32_t j = jb; j < j1 && j - jb < (uint32_t)CP_ACC32_TERMS; ++j)
                        cp_acc32_add(&acc, C[(size_t)row * n + j], cp_limb21(r[j], 0), cp_limb21(r[j], 1),
                                     cp_limb21(r[j], 2));
                    t = cp_addmod61(t, cp_acc32_finish(&acc));
                }
                sw = cp_addmod61(sw, cp_mulmod61(s[row], t));
            }
            continue;
        }
        const bool is_u = it.kind == CP_FVQ_KIND_U;
        const int8_t* mat = is_u ? A : Bt;
        const uint64_t* vec = is_u ? s : r;
        uint64_t* part = is_u ? part_u : part_v;
        uint32_t j0, j1;
        cp_fvq_slice_rows(is_u ? m : n, slices, it.b, &j0, &j1);
        const uint32_t lo = 32u * per * it.a, hi = lo + 32u * per < k ? lo + 32u * per : k;
        for (uint32_t l = lo; l < hi; ++l) {
            uint64_t acc = 0;
            int32_t p[4] = {0, 0, 0, 0};
            for (uint32_t j = j0; j < j1; ++j) {
                uint32_t lim[4];
                cp_limbs16(vec[j], lim);
                cp_acc8_add(p, (int32_t)mat[(size_t)j * k + l], lim);
                if ((j - j0 + 1) % CP_ACC8_FOLD == 0) acc = cp_acc8_fold(acc, p);
            }
            part[(size_t)it.b * k + l] = cp_acc8_fold(acc, p);
        }
        if (done[it.kind * sh.groups + it.a]++ != slices - 1u) continue;
        uint64_t* vout = is_u ? u : v;
        for (uint32_t l = lo; l < hi; ++l) vout[l] = cp_fvq_slice_sum(part, k, slices, l);
        if (done[2u * sh.groups + it.a]++ != 1u) continue;
        for (uint32_t l = lo; l < hi; ++l) dot = cp_addmod61(dot, cp_mulmod61(u[l], v[l]));
    }
    for (uint32_t g = 0; g < sh.groups; ++g)
        if (done[g] != slices || done[sh.groups + g] != slices || done[2u * sh.groups + g] != 2u) return -3;
    out[0] = dot;
    out[1] = sw;
    return 0;
}

// A dot product mod p as cuproof_freivalds_dot2 computes it: `threads` strided partial sums, then their sum.
uint64_t cuproof_host_dot61(const uint64_t* a, const uint64_t* b, uint32_t n, uint32_t threads) {
    uint64_t total = 0;
    for (uint32_t t = 0; t < threads; ++t) total = cp_addmod61(total, cp_dot61_strided(a, b, n, t, threads));
    return total;
}

// The Hopper GEMM's schedule on the host (gemm_sm90.cuh): staging by the TMA swizzle, reads through the wgmma
// descriptors, the accumulator fragment map and the epilogue's bounds.
void cuproof_host_gemm_i8_sm90(const int8_t* A, const int8_t* Bt, int32_t* C, int m, int n, int k) {
    static thread_local uint8_t smem[CP_SM90_STAGE_BYTES];
    static thread_local int32_t acc[2 * 128 * 128];
    cp_gemm_sm90_emulate(A, Bt, C, m, n, k, smem, acc);
}


// The tensor-core Freivalds kernels (freivalds_tc.cuh) warp by warp: the same loads, transposes, fragments and limb
// combination, with the emulated mma and quad sums. br_per / ay_per / cr_per are the slice lengths the device plan
// uses (rows of Bt; bytes of rows of A and of C). Returns 0, 1 if the shape or a slice length is unsupported, 2 if
// scratch memory could not be allocated.
static void cp_host_fvtc_rows(const uint8_t* mat, uint32_t rows, uint32_t kbytes, const uint8_t* planes,
                              uint32_t pstride, uint32_t per, int words, uint64_t* part) {
    const uint32_t slices = (kbytes + per - 1) / per;
    for (uint32_t s = 0; s < slices; ++s) {
        const uint32_t kb0 = s * per, kb1 = kbytes - kb0 < per ? kbytes : kb0 + per;
        for (uint32_t row0 = 0; row0 < rows; row0 += CP_FVTC_ROWS_TILE) {
            int32_t acc[32][4] = {};
            int64_t tot[32][4] = {};
            uint32_t steps = 0;
            for (uint32_t kb = kb0; kb < kb1; kb += CP_FVTC_ROWS_STEP) {
                uint32_t u[32][4][4], v[32][4][4], pl[32][4][4];
                for (int lane = 0; lane < 32; ++lane)
                    cp_fvtc_rows_load(mat, rows, kbytes, kb, kb1, row0, planes, pstride, lane, words, u[lane],
                                      v[lane], pl[lane]);
                for (int c = 0; c < 4; ++c)
                    for (int e = 0; e < 2; ++e) {
                        uint32_t a[32][4], b[32][2];
                        for (int lane = 0; lane < 32; ++lane)
                            cp_fvtc_rows_frags(u[lane][c], v[lane][c], pl[lane][c], e, a[lane], b[lane]);
                        cp_mma_emulate_typed(acc, a, b, words ? 0 : 1, 0);
                    }
                if (++steps == CP_FVTC_ROWS_FOLD) {
                    for (int lane = 0; lane < 32; ++lane)
                        for (int i = 0; i < 4; ++i) {
                            tot[lane][i] += acc[lane][i];
                            acc[lane][i] = 0;
                        }
                    steps = 0;
                }
            }
            uint64_t lo[32], hi[32];
            for (int lane = 0; lane < 32; ++lane) {
                for (int i = 0; i < 4; ++i) tot[lane][i] += acc[lane][i];
                lo[lane] = cp_fvtc_limb_pair(tot[lane][0], tot[lane][1], (unsigned)lane & 3u);
                hi[lane] = cp_fvtc_limb_pair(tot[lane][2], tot[lane][3], (unsigned)lane & 3u);
            }
            for (int g = 0; g < 8; ++g) {
                uint64_t sl = 0, sh = 0;
                for (int q = 0; q < 4; ++q) {
                    sl = cp_addmod61(sl, lo[4 * g + q]);
                    sh = cp_addmod61(sh, hi[4 * g + q]);
                }
                if (row0 + g < rows) part[(size_t)s * rows + row0 + g] = sl;
                if (row0 + g + 8 < rows) part[(size_t)s * rows + row0 + g + 8] = sh;
            }
        }
    }
}

int cuproof_host_freivalds_tc(const int8_t* A, const int8_t* Bt, const int32_t* C, const uint64_t* r, uint32_t m,
                              uint32_t n, uint32_t k, uint32_t br_per, uint32_t ay_per, uint32_t cr_per, uint64_t* y,
                              uint64_t* z, uint64_t* w) {
    if (m == 0 || n == 0 || k == 0 || k % 16 != 0 || n % 4 != 0 || br_per == 0 || br_per % CP_FVTC_BR_ROWS != 0 ||
        br_per > CP_FVTC_BR_MAX_ROWS || ay_per == 0 || ay_per % CP_FVTC_ROWS_STEP != 0 || cr_per == 0 ||
        cr_per % CP_FVTC_ROWS_STEP != 0)
        return 1;
    // prep: planes of r and e, sum of r
    const uint32_t rstride = cp_fvtc_round_up(n, CP_FVTC_STRIDE_ALIGN);
    const uint32_t ystride = cp_fvtc_round_up(k, CP_FVTC_STRIDE_ALIGN);
    const uint32_t bslices = (n + br_per - 1) / br_per;
    const uint32_t zs = (k + ay_per - 1) / ay_per, ws = (4 * n + cr_per - 1) / cr_per;
    uint8_t* rpl = (uint8_t*)calloc((size_t)CP_FVTC_LIMBS * rstride, 1);
    uint8_t* epl = (uint8_t*)calloc((size_t)CP_FVTC_LIMBS * 4 * rstride, 1);
    uint8_t* ypl = (uint8_t*)calloc((size_t)CP_FVTC_LIMBS * ystride, 1);
    uint64_t* ypart = (uint64_t*)calloc((size_t)bslices * k, 8);
    uint64_t* zpart = (uint64_t*)calloc((size_t)zs * m, 8);
    uint64_t* wpart = (uint64_t*)calloc((size_t)ws * m, 8);
    if (!rpl || !epl || !ypl || !ypart || !zpart || !wpart) {
        free(rpl), free(epl), free(ypl), free(ypart), free(zpart), free(wpart);
        return 2;
    }
    uint64_t rsum = 0;
    for (uint32_t j = 0; j < rstride; ++j) {
        const uint64_t rj = j < n ? cp_mod61_u64(r[j]) : 0;
        rsum = cp_addmod61(rsum, rj);
        for (uint32_t l = 0; l < CP_FVTC_LIMBS; ++l) {
            rpl[(size_t)l * rstride + j] = (uint8_t)(rj >> (8u * l));
            const uint32_t ew = cp_fvtc_e_word(rj, l);
            for (int p = 0; p < 4; ++p) epl[(size_t)l * 4 * rstride + 4 * (size_t)j + p] = (uint8_t)(ew >> (8 * p));
        }
    }
    // y = B r
    for (uint32_t s = 0; s < bslices; ++s) {
        const uint32_t j0 = s * br_per, j1 = n - j0 < br_per ? n : j0 + br_per;
        for (uint32_t col0 = 0; col0 < k; col0 += CP_FVTC_BR_COLS) {
            static thread_local int32_t acc[8][32][4];
            for (int mi = 0; mi < 8; ++mi)
                for (int lane = 0; lane < 32; ++lane)
                    for (int i = 0; i < 4; ++i) acc[mi][lane][i] = 0;
            for (uint32_t j = j0; j < j1; j += CP_FVTC_BR_ROWS) {
                uint32_t a[8][32][4], b[32][2];
                for (int lane = 0; lane < 32; ++lane) {
                    uint32_t wv[2][4][4], af[8][4];
                    cp_fvtc_br_load(Bt, k, j, j1, col0, lane, wv);
                    cp_fvtc_br_bfrag(rpl, rstride, j, lane, b[lane]);
                    cp_fvtc_br_frags(wv, af);
                    for (int mi = 0; mi < 8; ++mi)
                        for (int i = 0; i < 4; ++i) a[mi][lane][i] = af[mi][i];
                }
                for (int mi = 0; mi < 8; ++mi) cp_mma_emulate_typed(acc[mi], a[mi], b, 1, 0);
            }
            for (int mi = 0; mi < 8; ++mi)
                for (int hr = 0; hr < 2; ++hr) {
                    uint64_t v[32];
                    for (int lane = 0; lane < 32; ++lane)
                        v[lane] = cp_fvtc_limb_pair(acc[mi][lane][2 * hr], acc[mi][lane][2 * hr + 1],
                                                    (unsigned)lane & 3u);
                    for (int lane = 0; lane < 32; ++lane) {
                        if ((lane & 3) != (mi & 3)) continue;
                        uint64_t t = 0;
                        for (int q = 0; q < 4; ++q) t = cp_addmod61(t, v[(lane & ~3) + q]);
                        const uint32_t col = col0 + cp_fvtc_br_col(lane, mi, 2 * hr);
                        if (col < k) ypart[(size_t)s * k + col] = t;
                    }
                }
        }
    }
    // finish y
    for (uint32_t l = 0; l < k; ++l) {
        uint64_t t = 0;
        for (uint32_t s = 0; s < bslices; ++s) t = cp_addmod61(t, ypart[(size_t)s * k + l]);
        y[l] = t;
        for (uint32_t b = 0; b < CP_FVTC_LIMBS; ++b) ypl[(size_t)b * ystride + l] = (uint8_t)(t >> (8u * b));
    }
    // z = A y, w = C r, finish
    cp_host_fvtc_rows((const uint8_t*)A, m, k, ypl, ystride, ay_per, 0, zpart);
    cp_host_fvtc_rows((const uint8_t*)C, m, 4 * n, epl, 4 * rstride, cr_per, 1, wpart);
    for (uint32_t i = 0; i < m; ++i) {
        uint64_t a = 0, b = 0;
        for (uint32_t s = 0; s < zs; ++s) a = cp_addmod61(a, zpart[(size_t)s * m + i]);
        for (uint32_t s = 0; s < ws; ++s) b = cp_addmod61(b, wpart[(size_t)s * m + i]);
        z[i] = a;
        w[i] = cp_submod61(b, cp_fvtc_offset(rsum));
    }
    free(rpl), free(epl), free(ypl), free(ypart), free(zpart), free(wpart);
    return 0;
}

}  // extern "C"
