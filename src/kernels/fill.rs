//! Seeded fill (`cuproof-fill-v1`, kernel `cuproof_fill` in `kernels/keccak_merkle.cu`).
//!
//! Block `c` of a stream is the first 136 bytes of the Keccak-f\[1600\] state after absorbing, with Keccak padding
//! (`0x01 … 0x80`, rate 136), the 57-byte message `0x03 ‖ "cuproof-fill-v1" ‖ seed[32] ‖ stream:u8 ‖ c:u64le`;
//! byte `i` of the stream is byte `i mod 136` of block `i / 136`. Equivalently, block c = the first 136 bytes of
//! the Keccak[r=1088] sponge squeezed from that message. Counter-based: any block is computable on its own.
//!
//! The CPU twin is [`cuproof_core::fill`] (the one definition the verifier side uses too); this module adds the
//! kernel's launch description.

pub use cuproof_core::fill::{block, RATE, STREAM_A, STREAM_B, STREAM_FREIVALDS};

/// Kernel entry.
pub const ENTRY: &str = "cuproof_fill";
/// Block size of the fill kernel.
pub const BLOCK: u32 = 128;

/// CPU twin of `cuproof_fill`: `len` bytes of stream `stream` under `seed`.
pub fn fill_cpu(seed: &[u8; 32], stream: u8, len: usize) -> Vec<u8> {
    cuproof_core::fill::fill(seed, stream, len)
}

/// [`fill_cpu`] as int8 values (two's complement).
pub fn fill_i8_cpu(seed: &[u8; 32], stream: u8, len: usize) -> Vec<i8> {
    cuproof_core::fill::fill_i8(seed, stream, len)
}

/// Seed words as the kernel takes them (4 little-endian u64).
pub fn seed_words(seed: &[u8; 32]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (i, o) in w.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&seed[8 * i..8 * i + 8]);
        *o = u64::from_le_bytes(b);
    }
    w
}
