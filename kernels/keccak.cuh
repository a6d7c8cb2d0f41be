// Keccak-f[1600] and the cuproof-commit-v1 hashing steps (leaf, node, root), portable between device and host.
//
// On the device the permutation works on 32-bit halves: 64-bit rotates are pairs of `shf.l.wrap.b32` funnel
// shifts, theta's five-way parities and chi's `a ^ (~b & c)` are `lop3.b32` (LUTs 0x96 and 0xD2). On the host the
// same code uses plain shifts and boolean operators; CPU tests compare it with the `sha3` crate.
#pragma once
#include "common.cuh"

#define CP_KECCAK_RATE 136u
// Nodes a subtree launch reduces to one (2 x 256 threads), see cuproof_merkle_subtree.
#define CP_MERKLE_SUBTREE 512u
#define CP_PAD_KECCAK 0x01u
#define CP_PAD_SHA3 0x06u

#if CP_DEVICE_CODE
__constant__ uint64_t CP_KECCAK_RC[24] = {
#else
static const uint64_t CP_KECCAK_RC[24] = {
#endif
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// 64-bit rotate left by a compile-time-known amount.
CP_HD uint64_t cp_rotl64(uint64_t x, unsigned n) {
#if CP_DEVICE_CODE
    uint32_t lo = (uint32_t)x, hi = (uint32_t)(x >> 32), rlo, rhi;
    if (n == 0) return x;
    if (n >= 32) {
        uint32_t t = lo;
        lo = hi;
        hi = t;
        n -= 32;
    }
    if (n == 0) return ((uint64_t)hi << 32) | lo;
    asm("shf.l.wrap.b32 %0, %1, %2, %3;" : "=r"(rhi) : "r"(lo), "r"(hi), "r"(n));
    asm("shf.l.wrap.b32 %0, %1, %2, %3;" : "=r"(rlo) : "r"(hi), "r"(lo), "r"(n));
    return ((uint64_t)rhi << 32) | rlo;
#else
    n &= 63u;
    return n == 0 ? x : (x << n) | (x >> (64u - n));
#endif
}

// a ^ b ^ c
CP_HD uint64_t cp_xor3(uint64_t a, uint64_t b, uint64_t c) {
#if CP_DEVICE_CODE
    uint32_t lo, hi;
    asm("lop3.b32 %0, %1, %2, %3, 0x96;" : "=r"(lo) : "r"((uint32_t)a), "r"((uint32_t)b), "r"((uint32_t)c));
    asm("lop3.b32 %0, %1, %2, %3, 0x96;"
        : "=r"(hi)
        : "r"((uint32_t)(a >> 32)), "r"((uint32_t)(b >> 32)), "r"((uint32_t)(c >> 32)));
    return ((uint64_t)hi << 32) | lo;
#else
    return a ^ b ^ c;
#endif
}

// a ^ (~b & c)
CP_HD uint64_t cp_chi(uint64_t a, uint64_t b, uint64_t c) {
#if CP_DEVICE_CODE
    uint32_t lo, hi;
    asm("lop3.b32 %0, %1, %2, %3, 0xD2;" : "=r"(lo) : "r"((uint32_t)a), "r"((uint32_t)b), "r"((uint32_t)c));
    asm("lop3.b32 %0, %1, %2, %3, 0xD2;"
        : "=r"(hi)
        : "r"((uint32_t)(a >> 32)), "r"((uint32_t)(b >> 32)), "r"((uint32_t)(c >> 32)));
    return ((uint64_t)hi << 32) | lo;
#else
    return a ^ (~b & c);
#endif
}

// Rounds unrolled per loop iteration on the device (tuning knob; 1 keeps the code small).
#ifndef CP_KECCAK_ROUND_UNROLL
#define CP_KECCAK_ROUND_UNROLL 1
#endif
#define CP_PRAGMA_STR(x) _Pragma(#x)
#define CP_PRAGMA_UNROLL(n) CP_PRAGMA_STR(unroll n)

// Keccak-f[1600] on 25 lanes, lane (x, y) at index x + 5y.
CP_HD void cp_keccak_f1600(uint64_t s[25]) {
#if CP_DEVICE_CODE
    CP_PRAGMA_UNROLL(CP_KECCAK_ROUND_UNROLL)
#endif
    for (int round = 0; round < 24; ++round) {
        uint64_t c0 = cp_xor3(cp_xor3(s[0], s[5], s[10]), s[15], s[20]);
        uint64_t c1 = cp_xor3(cp_xor3(s[1], s[6], s[11]), s[16], s[21]);
        uint64_t c2 = cp_xor3(cp_xor3(s[2], s[7], s[12]), s[17], s[22]);
        uint64_t c3 = cp_xor3(cp_xor3(s[3], s[8], s[13]), s[18], s[23]);
        uint64_t c4 = cp_xor3(cp_xor3(s[4], s[9], s[14]), s[19], s[24]);
        uint64_t d0 = c4 ^ cp_rotl64(c1, 1);
        uint64_t d1 = c0 ^ cp_rotl64(c2, 1);
        uint64_t d2 = c1 ^ cp_rotl64(c3, 1);
        uint64_t d3 = c2 ^ cp_rotl64(c4, 1);
        uint64_t d4 = c3 ^ cp_rotl64(c0, 1);
        // theta fused with rho and pi: b[y][2x+3y] = rotl(s[x][y] ^ d[x], r[x][y])
        uint64_t b00 = s[0] ^ d0;
        uint64_t b10 = cp_rotl64(s[6] ^ d1, 44);
        uint64_t b20 = cp_rotl64(s[12] ^ d2, 43);
        uint64_t b30 = cp_rotl64(s[18] ^ d3, 21);
        uint64_t b40 = cp_rotl64(s[24] ^ d4, 14);
        uint64_t b01 = cp_rotl64(s[3] ^ d3, 28);
        uint64_t b11 = cp_rotl64(s[9] ^ d4, 20);
        uint64_t b21 = cp_rotl64(s[10] ^ d0, 3);
        uint64_t b31 = cp_rotl64(s[16] ^ d1, 45);
        uint64_t b41 = cp_rotl64(s[22] ^ d2, 61);
        uint64_t b02 = cp_rotl64(s[1] ^ d1, 1);
        uint64_t b12 = cp_rotl64(s[7] ^ d2, 6);
        uint64_t b22 = cp_rotl64(s[13] ^ d3, 25);
        uint64_t b32 = cp_rotl64(s[19] ^ d4, 8);
        uint64_t b42 = cp_rotl64(s[20] ^ d0, 18);
        uint64_t b03 = cp_rotl64(s[4] ^ d4, 27);
        uint64_t b13 = cp_rotl64(s[5] ^ d0, 36);
        uint64_t b23 = cp_rotl64(s[11] ^ d1, 10);
        uint64_t b33 = cp_rotl64(s[17] ^ d2, 15);
        uint64_t b43 = cp_rotl64(s[23] ^ d3, 56);
        uint64_t b04 = cp_rotl64(s[2] ^ d2, 62);
        uint64_t b14 = cp_rotl64(s[8] ^ d3, 55);
        uint64_t b24 = cp_rotl64(s[14] ^ d4, 39);
        uint64_t b34 = cp_rotl64(s[15] ^ d0, 41);
        uint64_t b44 = cp_rotl64(s[21] ^ d1, 2);
        // chi (+ iota on lane 0); row y holds b_y0..b_y4 as x = 0..4
        s[0] = cp_chi(b00, b10, b20) ^ CP_KECCAK_RC[round];
        s[1] = cp_chi(b10, b20, b30);
        s[2] = cp_chi(b20, b30, b40);
        s[3] = cp_chi(b30, b40, b00);
        s[4] = cp_chi(b40, b00, b10);
        s[5] = cp_chi(b01, b11, b21);
        s[6] = cp_chi(b11, b21, b31);
        s[7] = cp_chi(b21, b31, b41);
        s[8] = cp_chi(b31, b41, b01);
        s[9] = cp_chi(b41, b01, b11);
        s[10] = cp_chi(b02, b12, b22);
        s[11] = cp_chi(b12, b22, b32);
        s[12] = cp_chi(b22, b32, b42);
        s[13] = cp_chi(b32, b42, b02);
        s[14] = cp_chi(b42, b02, b12);
        s[15] = cp_chi(b03, b13, b23);
        s[16] = cp_chi(b13, b23, b33);
        s[17] = cp_chi(b23, b33, b43);
        s[18] = cp_chi(b33, b43, b03);
        s[19] = cp_chi(b43, b03, b13);
        s[20] = cp_chi(b04, b14, b24);
        s[21] = cp_chi(b14, b24, b34);
        s[22] = cp_chi(b24, b34, b44);
        s[23] = cp_chi(b34, b44, b04);
        s[24] = cp_chi(b44, b04, b14);
    }
}

// Little-endian 64-bit word t (bytes 8t .. 8t+8) of a byte string of length len, zero beyond len.
CP_HD uint64_t cp_load_word(const uint8_t* data, uint64_t len, uint64_t t) {
    uint64_t off = t * 8u;
    if (off + 8u <= len) {
#if CP_DEVICE_CODE
        if ((((uintptr_t)(data + off)) & 7u) == 0) return *(const uint64_t*)(data + off);
#endif
        uint64_t w = 0;
        for (int i = 7; i >= 0; --i) w = (w << 8) | data[off + (uint64_t)i];
        return w;
    }
    uint64_t w = 0;
    for (uint64_t i = 0; i < 8u; ++i) {
        if (off + i < len) w |= (uint64_t)data[off + i] << (8u * i);
    }
    return w;
}

// H(prefix || data) where data is len bytes; pad = CP_PAD_KECCAK or CP_PAD_SHA3; digest as 4 little-endian lanes.
// The message lanes are the data words shifted up by one byte (the prefix byte occupies byte 0): lane t =
// (w[t-1] >> 56) | (w[t] << 8), w[-1] = prefix << 56.
CP_HD void cp_hash_prefixed(uint8_t prefix, const uint8_t* data, uint64_t len, uint32_t pad, uint64_t out[4]) {
    uint64_t s[25];
    for (int i = 0; i < 25; ++i) s[i] = 0;
    const uint64_t msg_len = len + 1u;
    const uint64_t blocks = msg_len / CP_KECCAK_RATE + 1u;
    uint64_t prev = (uint64_t)prefix << 56;
    uint64_t t = 0;
    for (uint64_t b = 0; b < blocks; ++b) {
#if CP_DEVICE_CODE
#pragma unroll
#endif
        for (int j = 0; j < 17; ++j) {
            uint64_t w = cp_load_word(data, len, t);
            s[j] ^= (prev >> 56) | (w << 8);
            prev = w;
            ++t;
        }
        if (b + 1u == blocks) {
            // Padding byte at message offset r of the last block, 0x80 on its last byte. The lane is selected by a
            // compare in an unrolled loop so that the state stays in registers on the device.
            const uint64_t r = msg_len % CP_KECCAK_RATE;
            const uint64_t padw = (uint64_t)pad << (8u * (r % 8u));
#if CP_DEVICE_CODE
#pragma unroll
#endif
            for (int j = 0; j < 17; ++j) {
                if ((uint64_t)j == r / 8u) s[j] ^= padw;
            }
            s[16] ^= 0x80ULL << 56;
        }
        cp_keccak_f1600(s);
    }
    out[0] = s[0];
    out[1] = s[1];
    out[2] = s[2];
    out[3] = s[3];
}

// Words t and t + 1 (bytes 8t .. 8t + 16) of data; on the device one 16-byte load (data + 8t 16-byte aligned).
CP_HD void cp_load_pair(const uint8_t* data, uint64_t len, uint64_t t, uint64_t* lo, uint64_t* hi) {
#if CP_DEVICE_CODE
    const ulonglong2 v = *(const ulonglong2*)(data + 8u * t);
    (void)len;
    *lo = v.x;
    *hi = v.y;
#else
    *lo = cp_load_word(data, len, t);
    *hi = cp_load_word(data, len, t + 1u);
#endif
}

// H(prefix || data) like cp_hash_prefixed, reading the full blocks two at a time with 16-byte loads (17 loads per
// 272 bytes instead of 34): a tuning variant of the leaf hash (CP_LEAF_V2 in keccak_merkle.cu). Preconditions:
// data is 16-byte aligned and (len + 1) % 136 != 0 (true of every full chunk, len = 2^k): then every word the
// paired loop reads lies inside the data. The blocks after the pairs (at most one full block and the padded last
// block) take cp_hash_prefixed's path.
CP_HD void cp_hash_prefixed_v2(uint8_t prefix, const uint8_t* data, uint64_t len, uint32_t pad, uint64_t out[4]) {
    uint64_t s[25];
    for (int i = 0; i < 25; ++i) s[i] = 0;
    const uint64_t msg_len = len + 1u;
    const uint64_t blocks = msg_len / CP_KECCAK_RATE + 1u;
    const uint64_t full = blocks - 1u;
    uint64_t prev = (uint64_t)prefix << 56;
    uint64_t t = 0;
    uint64_t b = 0;
    for (; b + 2u <= full; b += 2u) {
        uint64_t w[18];
#if CP_DEVICE_CODE
#pragma unroll
#endif
        for (int i = 0; i < 9; ++i) cp_load_pair(data, len, t + 2u * i, &w[2 * i], &w[2 * i + 1]);
#if CP_DEVICE_CODE
#pragma unroll
#endif
        for (int j = 0; j < 17; ++j) {
            s[j] ^= (prev >> 56) | (w[j] << 8);
            prev = w[j];
        }
        cp_keccak_f1600(s);
        uint64_t u[17];
        u[0] = w[17];
#if CP_DEVICE_CODE
#pragma unroll
#endif
        for (int i = 0; i < 8; ++i) cp_load_pair(data, len, t + 18u + 2u * i, &u[1 + 2 * i], &u[2 + 2 * i]);
#if CP_DEVICE_CODE
#pragma unroll
#endif
        for (int j = 0; j < 17; ++j) {
            s[j] ^= (prev >> 56) | (u[j] << 8);
            prev = u[j];
        }
        cp_keccak_f1600(s);
        t += 34u;
    }
    for (; b < blocks; ++b) {
#if CP_DEVICE_CODE
#pragma unroll
#endif
        for (int j = 0; j < 17; ++j) {
            uint64_t w = cp_load_word(data, len, t);
            s[j] ^= (prev >> 56) | (w << 8);
            prev = w;
            ++t;
        }
        if (b + 1u == blocks) {
            const uint64_t r = msg_len % CP_KECCAK_RATE;
            const uint64_t padw = (uint64_t)pad << (8u * (r % 8u));
#if CP_DEVICE_CODE
#pragma unroll
#endif
            for (int j = 0; j < 17; ++j) {
                if ((uint64_t)j == r / 8u) s[j] ^= padw;
            }
            s[16] ^= 0x80ULL << 56;
        }
        cp_keccak_f1600(s);
    }
    out[0] = s[0];
    out[1] = s[1];
    out[2] = s[2];
    out[3] = s[3];
}

// H(0x01 || left || right), digests as 4 little-endian lanes each (a single permutation).
CP_HD void cp_hash_node(const uint64_t left[4], const uint64_t right[4], uint32_t pad, uint64_t out[4]) {
    uint64_t s[25];
    for (int i = 0; i < 25; ++i) s[i] = 0;
    uint64_t w[8] = {left[0], left[1], left[2], left[3], right[0], right[1], right[2], right[3]};
    uint64_t prev = 0x01ULL << 56;
    for (int j = 0; j < 8; ++j) {
        s[j] = (prev >> 56) | (w[j] << 8);
        prev = w[j];
    }
    s[8] = prev >> 56;  // byte 64; message length 65
    s[8] ^= (uint64_t)pad << 8;
    s[16] ^= 0x80ULL << 56;
    cp_keccak_f1600(s);
    out[0] = s[0];
    out[1] = s[1];
    out[2] = s[2];
    out[3] = s[3];
}

// root = H(0x02 || "cuproof-commit-v1" || alg_id || k || L:u64le || tree_root)
CP_HD void cp_hash_root(uint8_t alg_id, uint8_t chunk_log2, uint64_t len, const uint64_t tree_root[4], uint32_t pad,
                        uint64_t out[4]) {
    const char tag[17] = {'c', 'u', 'p', 'r', 'o', 'o', 'f', '-', 'c', 'o', 'm', 'm', 'i', 't', '-', 'v', '1'};
    uint8_t m[59];
    for (int i = 0; i < 17; ++i) m[i] = (uint8_t)tag[i];
    m[17] = alg_id;
    m[18] = chunk_log2;
    for (int i = 0; i < 8; ++i) m[19 + i] = (uint8_t)(len >> (8 * i));
    for (int i = 0; i < 32; ++i) m[27 + i] = (uint8_t)(tree_root[i / 8] >> (8 * (i % 8)));
    cp_hash_prefixed(0x02, m, 59, pad, out);
}

// Fill generator (cuproof-fill-v1): block c (136 bytes) = first 136 bytes of the Keccak-f state after absorbing,
// with Keccak padding, the 57-byte message 0x03 || "cuproof-fill-v1" (15 bytes) || seed (32 bytes)
// || stream:u8 || c:u64le. Output byte i of a stream is byte i % 136 of block i / 136.
CP_HD void cp_fill_block(const uint64_t seed[4], uint8_t stream, uint64_t counter, uint64_t out[17]) {
    const char tag[15] = {'c', 'u', 'p', 'r', 'o', 'o', 'f', '-', 'f', 'i', 'l', 'l', '-', 'v', '1'};
    uint8_t m[56];
    for (int i = 0; i < 15; ++i) m[i] = (uint8_t)tag[i];
    for (int i = 0; i < 32; ++i) m[15 + i] = (uint8_t)(seed[i / 8] >> (8 * (i % 8)));
    m[47] = stream;
    for (int i = 0; i < 8; ++i) m[48 + i] = (uint8_t)(counter >> (8 * i));
    uint64_t s[25];
    for (int i = 0; i < 25; ++i) s[i] = 0;
    uint64_t prev = 0x03ULL << 56;
    for (int j = 0; j < 7; ++j) {
        uint64_t w = cp_load_word(m, 56, (uint64_t)j);
        s[j] = (prev >> 56) | (w << 8);
        prev = w;
    }
    s[7] = (prev >> 56) | ((uint64_t)CP_PAD_KECCAK << 8);  // message length 57: byte 56 is the last counter byte
    s[16] ^= 0x80ULL << 56;
    cp_keccak_f1600(s);
    for (int i = 0; i < 17; ++i) out[i] = s[i];
}
