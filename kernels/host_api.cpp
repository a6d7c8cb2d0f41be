// Host build of the portable kernel math: the same headers the device kernels include, compiled as C++ by build.rs
// (cc crate) and called from the Rust tests through the C ABI below. Nothing here is used on the device.
#include "freivalds.cuh"
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

// The Hopper GEMM's schedule on the host (gemm_sm90.cuh): staging by the TMA swizzle, reads through the wgmma
// descriptors, the accumulator fragment map and the epilogue's bounds.
void cuproof_host_gemm_i8_sm90(const int8_t* A, const int8_t* Bt, int32_t* C, int m, int n, int k) {
    static thread_local uint8_t smem[CP_SM90_STAGE_BYTES];
    static thread_local int32_t acc[2 * 128 * 128];
    cp_gemm_sm90_emulate(A, Bt, C, m, n, k, smem, acc);
}

}  // extern "C"
