//! The `cuproof-commit-v1` buffer commitment on the GPU (`kernels/keccak_merkle.cu`); its CPU twin is
//! [`cuproof_core::commitment::commit`].
//!
//! Kernels: `cuproof_merkle_leaves` (one thread per chunk), `cuproof_merkle_level` (one launch per tree level,
//! odd last node promoted), `cuproof_merkle_root` (one thread). Digests are 4 little-endian u64 lanes.

use cuproof_core::commitment::{commit, CommitParams, Commitment};
use cuproof_core::HashAlg;

/// Leaf kernel entry.
pub const ENTRY_LEAVES: &str = "cuproof_merkle_leaves";
/// Tree-level kernel entry.
pub const ENTRY_LEVEL: &str = "cuproof_merkle_level";
/// Root kernel entry.
pub const ENTRY_ROOT: &str = "cuproof_merkle_root";
/// Block size of the leaf kernel.
pub const LEAF_BLOCK: u32 = 128;
/// Block size of the level kernel.
pub const LEVEL_BLOCK: u32 = 256;

/// The kernels' `pad` argument: the first padding byte of the hash (0x01 Keccak-256, 0x06 SHA3-256).
pub fn pad_byte(alg: HashAlg) -> u8 {
    match alg {
        HashAlg::Keccak256 => 0x01,
        HashAlg::Sha3_256 => 0x06,
    }
}

/// CPU twin: the commitment of `data`.
pub fn commit_cpu(data: &[u8], params: &CommitParams) -> Commitment {
    commit(data, params)
}

/// Digest bytes -> the kernels' 4 little-endian lanes.
pub fn digest_to_lanes(d: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, o) in out.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[8 * i..8 * i + 8]);
        *o = u64::from_le_bytes(b);
    }
    out
}

/// The kernels' 4 little-endian lanes -> digest bytes.
pub fn lanes_to_digest(l: &[u64]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, w) in l.iter().take(4).enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}
