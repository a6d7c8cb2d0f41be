// cuproof-commit-v1 on the GPU: leaf, tree-level and root kernels (see docs/commitment.md).
// pad: 0x01 (keccak256) or 0x06 (sha3-256). Digests are stored as 4 little-endian u64 lanes (= the 32 digest bytes).
#include "keccak.cuh"

// Leaf hash of full chunks with paired 16-byte loads (cp_hash_prefixed_v2); on by default since the H100 run of
// 2026-11-27 (383 -> 405 GB/s, docs/perf.md §2); CP_LEAF_V2=0 builds the one-block-per-load path.
#ifndef CP_LEAF_V2
#define CP_LEAF_V2 1
#endif

// Minimum resident blocks per SM asked of the compiler for the leaf kernel (register cap); tuning knob.
#ifndef CP_LEAF_MIN_BLOCKS
#define CP_LEAF_MIN_BLOCKS 1
#endif

// leaves[i] = H(0x00 || chunk_i); chunk i = data[i << k .. min((i + 1) << k, len)]. One thread per leaf.
extern "C" __global__ void __launch_bounds__(128, CP_LEAF_MIN_BLOCKS)
    cuproof_merkle_leaves(const uint8_t* __restrict__ data, uint64_t len, uint32_t chunk_log2, uint32_t pad,
                          uint64_t* __restrict__ leaves, uint64_t n_leaves) {
    const uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_leaves) return;
    const uint64_t start = i << chunk_log2;
    const uint64_t csize = 1ULL << chunk_log2;
    const uint64_t clen = start >= len ? 0 : (len - start < csize ? len - start : csize);
    uint64_t out[4];
#if CP_LEAF_V2
    if (clen == csize && (((uintptr_t)(data + start)) & 15u) == 0) {
        cp_hash_prefixed_v2(0x00, data + start, clen, pad, out);
    } else {
        cp_hash_prefixed(0x00, data + start, clen, pad, out);
    }
#else
    cp_hash_prefixed(0x00, data + start, clen, pad, out);
#endif
    leaves[4 * i + 0] = out[0];
    leaves[4 * i + 1] = out[1];
    leaves[4 * i + 2] = out[2];
    leaves[4 * i + 3] = out[3];
}

// Reduces the c digests in sh (c <= 2 * blockDim.x) to one at sh[0..4), level by level with the scheme's rule
// (node i = H(0x01 || sh[2i] || sh[2i+1]), an odd last node promoted unchanged). Every thread of the block calls it.
__device__ __forceinline__ void cp_block_reduce(uint64_t* sh, uint32_t c, uint32_t pad) {
    const uint32_t t = threadIdx.x;
    while (c > 1) {
        const uint32_t c1 = (c + 1) / 2;
        uint64_t d[4];
        const bool active = t < c1;
        if (active) {
            if (2 * t + 1 < c) {
                cp_hash_node(sh + 8 * t, sh + 8 * t + 4, pad, d);
            } else {
                d[0] = sh[8 * t];
                d[1] = sh[8 * t + 1];
                d[2] = sh[8 * t + 2];
                d[3] = sh[8 * t + 3];
            }
        }
        __syncthreads();
        if (active) {
            sh[4 * t + 0] = d[0];
            sh[4 * t + 1] = d[1];
            sh[4 * t + 2] = d[2];
            sh[4 * t + 3] = d[3];
        }
        __syncthreads();
        c = c1;
    }
}

// Subtrees of the tree levels: block g reduces the nodes in[g * G .. min((g + 1) * G, cnt)) of one level,
// G = CP_MERKLE_SUBTREE = 2 * blockDim.x, to one node out[g], level by level in shared memory with the scheme's
// rule. Groups are aligned at multiples of G, so every pairing and every promotion is the one the whole level
// makes: the result is the node of the global tree (the host twin in host_api.cpp runs the same grouping). Each
// launch shrinks a level by 512 (1 GiB in 4 KiB chunks: two launches instead of eighteen one-level launches).
extern "C" __global__ void __launch_bounds__(256) cuproof_merkle_subtree(const uint64_t* __restrict__ in, uint64_t cnt,
                                                                         uint32_t pad, uint64_t* __restrict__ out) {
    CP_SHARED(uint64_t, sh, [256 * 4]);
    const uint32_t t = threadIdx.x;
    const uint64_t base = (uint64_t)blockIdx.x * CP_MERKLE_SUBTREE;
    if (base >= cnt) return;
    const uint32_t c = (uint32_t)(cnt - base < CP_MERKLE_SUBTREE ? cnt - base : CP_MERKLE_SUBTREE);
    // first level from global memory
    const uint32_t c1 = (c + 1) / 2;
    if (t < c1) {
        uint64_t d[4];
        const uint64_t* p = in + 4 * (base + 2 * t);
        if (2 * t + 1 < c) {
            cp_hash_node(p, p + 4, pad, d);
        } else {
            d[0] = p[0];
            d[1] = p[1];
            d[2] = p[2];
            d[3] = p[3];
        }
        sh[4 * t + 0] = d[0];
        sh[4 * t + 1] = d[1];
        sh[4 * t + 2] = d[2];
        sh[4 * t + 3] = d[3];
    }
    __syncthreads();
    cp_block_reduce(sh, c1, pad);
    if (t < 4) out[4 * blockIdx.x + t] = sh[t];
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
