//! Shared by the commitment benches: the v1 implementation and the sequential baseline.

use cuproof_core::commitment::{bind_root, CommitParams, Commitment};
use cuproof_core::HashAlg;
use rayon::prelude::*;
use sha3::Digest;

/// The v1 commitment: every hash through `HashAlg::hash_parts` (the `sha3` crate), leaves collected, then
/// level by level (parallel while a level has at least 1,024 nodes).
pub fn commit_v1(data: &[u8], p: &CommitParams) -> Commitment {
    let alg = p.alg;
    let mut level: Vec<[u8; 32]> = if data.is_empty() {
        vec![alg.hash_parts(&[&[0]])]
    } else {
        data.par_chunks(p.chunk_size())
            .map(|c| alg.hash_parts(&[&[0], c]))
            .collect()
    };
    let pair = |x: &[[u8; 32]]| match x {
        [l, r] => alg.hash_parts(&[&[1], l, r]),
        [l] => *l,
        _ => [0; 32],
    };
    while level.len() > 1 {
        level = if level.len() >= 1024 {
            level.par_chunks(2).map(pair).collect()
        } else {
            level.chunks(2).map(pair).collect()
        };
    }
    let len = data.len() as u64;
    Commitment {
        params: *p,
        len,
        root: bind_root(p, len, &level[0]),
    }
}

pub fn sequential(alg: HashAlg, data: &[u8]) -> [u8; 32] {
    match alg {
        HashAlg::Keccak256 => sha3::Keccak256::digest(data).into(),
        HashAlg::Sha3_256 => sha3::Sha3_256::digest(data).into(),
    }
}
