// cuproof-commit-v1 on the GPU: leaf, tree-level and root kernels (see docs/commitment.md).
// pad: 0x01 (keccak256) or 0x06 (sha3-256). Digests are stored as 4 little-endian u64 lanes (= the 32 digest bytes).
#include "keccak.cuh"

// One thread per chunk: leaves[i] = H(0x00 || chunk_i); chunk i = data[i << k .. min((i + 1) << k, len)].
extern "C" __global__ void __launch_bounds__(128) cuproof_merkle_leaves(const uint8_t* __restrict__ data, uint64_t len,
                                                                        uint32_t chunk_log2, uint32_t pad,
                                                                        uint64_t* __restrict__ leaves,
                                                                        uint64_t n_leaves) {
    const uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_leaves) return;
    const uint64_t start = i << chunk_log2;
    const uint64_t csize = 1ULL << chunk_log2;
    const uint64_t clen = start >= len ? 0 : (len - start < csize ? len - start : csize);
    uint64_t out[4];
    cp_hash_prefixed(0x00, data + start, clen, pad, out);
    leaves[4 * i + 0] = out[0];
    leaves[4 * i + 1] = out[1];
    leaves[4 * i + 2] = out[2];
    leaves[4 * i + 3] = out[3];
}

// One tree level: out[i] = H(0x01 || in[2i] || in[2i+1]); an odd last node is promoted unchanged.
extern "C" __global__ void __launch_bounds__(256) cuproof_merkle_level(const uint64_t* __restrict__ in, uint64_t n_in,
                                                                       uint32_t pad, uint64_t* __restrict__ out) {
    const uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const uint64_t n_out = (n_in + 1) / 2;
    if (i >= n_out) return;
    uint64_t d[4];
    if (2 * i + 1 < n_in) {
        cp_hash_node(in + 8 * i, in + 8 * i + 4, pad, d);
    } else {
        d[0] = in[8 * i];
        d[1] = in[8 * i + 1];
        d[2] = in[8 * i + 2];
        d[3] = in[8 * i + 3];
    }
    out[4 * i + 0] = d[0];
    out[4 * i + 1] = d[1];
    out[4 * i + 2] = d[2];
    out[4 * i + 3] = d[3];
}

// root = H(0x02 || "cuproof-commit-v1" || alg_id || k || len || tree_root), one thread.
extern "C" __global__ void cuproof_merkle_root(const uint64_t* __restrict__ tree_root, uint32_t alg_id,
                                               uint32_t chunk_log2, uint64_t len, uint32_t pad,
                                               uint64_t* __restrict__ root) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    uint64_t t[4] = {tree_root[0], tree_root[1], tree_root[2], tree_root[3]};
    uint64_t out[4];
    cp_hash_root((uint8_t)alg_id, (uint8_t)chunk_log2, len, t, pad, out);
    root[0] = out[0];
    root[1] = out[1];
    root[2] = out[2];
    root[3] = out[3];
}

// Seeded fill (cuproof-fill-v1): one thread per 136-byte block of the output stream.
extern "C" __global__ void __launch_bounds__(128) cuproof_fill(uint8_t* __restrict__ out, uint64_t len, uint64_t seed0,
                                                               uint64_t seed1, uint64_t seed2, uint64_t seed3,
                                                               uint32_t stream) {
    const uint64_t b = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const uint64_t start = b * CP_KECCAK_RATE;
    if (start >= len) return;
    const uint64_t seed[4] = {seed0, seed1, seed2, seed3};
    uint64_t blk[17];
    cp_fill_block(seed, (uint8_t)stream, b, blk);
    if (start + CP_KECCAK_RATE <= len && (((uintptr_t)(out + start)) & 7u) == 0) {
        uint64_t* o = (uint64_t*)(out + start);
#pragma unroll
        for (int j = 0; j < 17; ++j) o[j] = blk[j];
    } else {
#pragma unroll
        for (int j = 0; j < 17; ++j) {
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                const uint64_t p = start + 8 * j + i;
                if (p < len) out[p] = (uint8_t)(blk[j] >> (8 * i));
            }
        }
    }
}
