//! The seeded fill generator (`cuproof-fill-v1`): a counter-based stream of bytes from a 32-byte seed, computed
//! identically by the GPU kernel `cuproof_fill` (`kernels/keccak_merkle.cu`) and here. The capacity challenge
//! uses it to make matrices that nobody can know before the seed is revealed.
//!
//! Block `c` of stream `s` is the first 136 bytes of the Keccak-f\[1600\] state after absorbing, with Keccak padding
//! (`0x01 … 0x80`, rate 136), the 57-byte message `0x03 ‖ "cuproof-fill-v1" ‖ seed[32] ‖ s:u8 ‖ c:u64le`;
//! byte `i` of the stream is byte `i mod 136` of block `i / 136`. Any block is computable on its own, so a
//! verifier recomputes a few rows without generating the whole matrix.

use rayon::prelude::*;

/// Bytes per generator block (the Keccak rate for a 256-bit capacity).
pub const RATE: usize = 136;
/// Stream id of matrix A of a challenge.
pub const STREAM_A: u8 = 0xA0;
/// Stream id of matrix Bᵀ of a challenge.
pub const STREAM_B: u8 = 0xB0;
/// Stream id of the Freivalds vector r.
pub const STREAM_FREIVALDS: u8 = 0xF0;
const TAG: &[u8; 15] = b"cuproof-fill-v1";

/// One 136-byte generator block.
pub fn block(seed: &[u8; 32], stream: u8, counter: u64) -> [u8; RATE] {
    let mut padded = [0u8; RATE];
    padded[0] = 0x03;
    padded[1..16].copy_from_slice(TAG);
    padded[16..48].copy_from_slice(seed);
    padded[48] = stream;
    padded[49..57].copy_from_slice(&counter.to_le_bytes());
    padded[57] ^= 0x01;
    padded[RATE - 1] ^= 0x80;
    let mut s = [0u64; 25];
    for (lane, bytes) in s.iter_mut().zip(padded.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        *lane = u64::from_le_bytes(b);
    }
    keccak::f1600(&mut s);
    let mut out = [0u8; RATE];
    for (lane, dst) in s.iter().zip(out.chunks_exact_mut(8)) {
        dst.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// Bytes `start .. start + out.len()` of stream `stream` under `seed`, written into `out`.
pub fn fill_range(seed: &[u8; 32], stream: u8, start: u64, out: &mut [u8]) {
    let mut pos = start;
    let mut i = 0;
    while i < out.len() {
        let b = block(seed, stream, pos / RATE as u64);
        let off = (pos % RATE as u64) as usize;
        let n = (RATE - off).min(out.len() - i);
        out[i..i + n].copy_from_slice(&b[off..off + n]);
        i += n;
        pos += n as u64;
    }
}

/// The first `len` bytes of stream `stream` under `seed` (parallel).
pub fn fill(seed: &[u8; 32], stream: u8, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    out.par_chunks_mut(RATE).enumerate().for_each(|(c, dst)| {
        let b = block(seed, stream, c as u64);
        dst.copy_from_slice(&b[..dst.len()]);
    });
    out
}

/// [`fill`] read as int8 values (two's complement).
pub fn fill_i8(seed: &[u8; 32], stream: u8, len: usize) -> Vec<i8> {
    fill(seed, stream, len)
        .into_iter()
        .map(|b| b as i8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_the_keccak_sponge() {
        // Keccak[r=1088] absorbing the 57-byte message and squeezing 136 bytes: the first 32 bytes are Keccak-256.
        use sha3::Digest;
        let seed = [7u8; 32];
        let mut msg = vec![0x03];
        msg.extend_from_slice(TAG);
        msg.extend_from_slice(&seed);
        msg.push(STREAM_A);
        msg.extend_from_slice(&5u64.to_le_bytes());
        let k: [u8; 32] = sha3::Keccak256::digest(&msg).into();
        assert_eq!(&block(&seed, STREAM_A, 5)[..32], &k);
    }

    #[test]
    fn ranges_agree_with_the_stream() {
        let seed = [1u8; 32];
        let all = fill(&seed, STREAM_B, 1000);
        for (s, n) in [(0usize, 10usize), (130, 20), (271, 300), (999, 1)] {
            let mut part = vec![0u8; n];
            fill_range(&seed, STREAM_B, s as u64, &mut part);
            assert_eq!(part, all[s..s + n]);
        }
    }
}
