//! The `cuproof-commit-v1` buffer commitment on the GPU (`kernels/keccak_merkle.cu`); its CPU twin is
//! [`cuproof_core::commitment::commit`].
//!
//! Kernels: `cuproof_merkle_leaves` (one thread per chunk), `cuproof_merkle_subtree`
//! (each block reduces [`SUBTREE`] nodes of a level to one, in shared memory; [`subtree_passes`] launches,
//! odd last node promoted), `cuproof_merkle_root` (one thread). Digests are 4 little-endian u64 lanes.

use cuproof_core::commitment::{commit, CommitParams, Commitment};
use cuproof_core::HashAlg;

/// Leaf kernel entry.
pub const ENTRY_LEAVES: &str = "cuproof_merkle_leaves";
/// Subtree kernel entry (tree levels).
pub const ENTRY_SUBTREE: &str = "cuproof_merkle_subtree";
/// Root kernel entry.
pub const ENTRY_ROOT: &str = "cuproof_merkle_root";
/// Block size of the leaf kernel.
pub const LEAF_BLOCK: u32 = 128;
/// Block size of the subtree kernel.
pub const SUBTREE_BLOCK: u32 = 256;
/// Nodes one subtree block reduces to one (`CP_MERKLE_SUBTREE` in `kernels/keccak.cuh`).
pub const SUBTREE: u64 = 2 * SUBTREE_BLOCK as u64;

/// The subtree launches that reduce `n` leaves to the tree root: `(grid, nodes in)` per pass, each pass turning a
/// level of `nodes in` nodes into `grid` nodes (empty for a single leaf, which is the tree root).
pub fn subtree_passes(n: u64) -> Vec<(u32, u64)> {
    let mut v = Vec::new();
    let mut cnt = n;
    while cnt > 1 {
        let groups = cnt.div_ceil(SUBTREE);
        v.push((groups.min(u32::MAX as u64) as u32, cnt));
        cnt = groups;
    }
    v
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_passes_reach_one_node() {
        assert!(subtree_passes(1).is_empty());
        assert_eq!(subtree_passes(3), vec![(1, 3)]);
        assert_eq!(subtree_passes(512), vec![(1, 512)]);
        assert_eq!(subtree_passes(513), vec![(2, 513), (1, 2)]);
        // 1 GiB in 4 KiB chunks: two passes instead of eighteen levels
        assert_eq!(subtree_passes(262_144), vec![(512, 262_144), (1, 512)]);
    }
}
