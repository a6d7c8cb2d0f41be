//! The public statement of a receipt and its compression into the single Groth16 public input.
//!
//! ```text
//! digest = sha256("cuproof.stmt.v1" || circuitId || jobDigest || commitA || commitB || commitC)   (175 bytes in)
//! x      = uint256(digest) & (2^253 - 1)
//! ```
//!
//! This is exactly what the receipt contract computes with
//! `sha256(abi.encodePacked(bytes15("cuproof.stmt.v1"), circuitId, jobDigest, commitA, commitB, commitC))`.
//! Masking to 253 bits makes `x < 2^253 < r`, so `x` is always a canonical BN254 scalar.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Domain separation tag of the statement digest (15 bytes, `bytes15` in Solidity).
pub const STATEMENT_DOMAIN: &[u8; 15] = b"cuproof.stmt.v1";

/// The statement fields that a receipt contract receives and hashes into the public input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Statement {
    /// Identifier of the circuit (and thus of the verifying key) the proof is for.
    pub circuit_id: [u8; 32],
    /// Digest of the job (its execution log / receipt), the replay-protection key on-chain.
    pub job_digest: [u8; 32],
    /// Commitment to the first input (matrix A for a matmul job).
    pub commit_a: [u8; 32],
    /// Commitment to the second input (matrix B).
    pub commit_b: [u8; 32],
    /// Commitment to the output (matrix C).
    pub commit_c: [u8; 32],
}

impl Statement {
    /// The 175-byte preimage `domain || circuitId || jobDigest || commitA || commitB || commitC`.
    pub fn preimage(&self) -> [u8; 175] {
        let mut out = [0u8; 175];
        out[..15].copy_from_slice(STATEMENT_DOMAIN);
        for (i, field) in [
            &self.circuit_id,
            &self.job_digest,
            &self.commit_a,
            &self.commit_b,
            &self.commit_c,
        ]
        .into_iter()
        .enumerate()
        {
            out[15 + 32 * i..15 + 32 * (i + 1)].copy_from_slice(field);
        }
        out
    }

    /// The full (unmasked) SHA-256 digest of the statement.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.preimage()).into()
    }

    /// The public input as a 32-byte big-endian EVM word (top three bits cleared).
    pub fn public_input(&self) -> [u8; 32] {
        let mut word = self.digest();
        word[0] &= 0x1f;
        word
    }

    /// The public input as a BN254 scalar.
    pub fn public_input_fr(&self) -> Fr {
        // The word is below 2^253 < r, so the reduction is the identity.
        Fr::from_be_bytes_mod_order(&self.public_input())
    }

    /// Whether `word` is this statement's public input (constant-time comparison).
    pub fn matches_public_input(&self, word: &[u8; 32]) -> bool {
        self.public_input().ct_eq(word).into()
    }
}

/// Compress statement fields into the single public input word (see the module documentation).
pub fn statement_public_input(
    circuit_id: &[u8; 32],
    job_digest: &[u8; 32],
    commit_a: &[u8; 32],
    commit_b: &[u8; 32],
    commit_c: &[u8; 32],
) -> [u8; 32] {
    Statement {
        circuit_id: *circuit_id,
        job_digest: *job_digest,
        commit_a: *commit_a,
        commit_b: *commit_b,
        commit_c: *commit_c,
    }
    .public_input()
}

/// Same as [`statement_public_input`], as a BN254 scalar.
pub fn statement_public_input_fr(
    circuit_id: &[u8; 32],
    job_digest: &[u8; 32],
    commit_a: &[u8; 32],
    commit_b: &[u8; 32],
    commit_c: &[u8; 32],
) -> Fr {
    Fr::from_be_bytes_mod_order(&statement_public_input(
        circuit_id, job_digest, commit_a, commit_b, commit_c,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::BigInteger;

    /// Fixed vector, also checked against the Solidity implementation in `tests/onchain.rs` and listed in
    /// docs/onchain.md.
    pub(crate) fn vector_statement() -> Statement {
        Statement {
            circuit_id: [0x11; 32],
            job_digest: [0x22; 32],
            commit_a: [0x33; 32],
            commit_b: [0x44; 32],
            commit_c: [0x55; 32],
        }
    }

    #[test]
    fn fixed_vector() {
        // sha256 of the preimage is 8afa3ddb...; masking clears the top three bits (0x8a -> 0x0a).
        assert_eq!(
            hex::encode(vector_statement().digest()),
            "8afa3ddb89c5d85b53858f72e6f76a2f69031400b7e7a64cbbe89af47e08970b"
        );
        assert_eq!(
            hex::encode(vector_statement().public_input()),
            "0afa3ddb89c5d85b53858f72e6f76a2f69031400b7e7a64cbbe89af47e08970b"
        );
    }

    #[test]
    fn preimage_layout() {
        let p = vector_statement().preimage();
        assert_eq!(&p[..15], b"cuproof.stmt.v1");
        assert!(p[15..47].iter().all(|&b| b == 0x11));
        assert!(p[143..175].iter().all(|&b| b == 0x55));
    }

    #[test]
    fn masking_clears_top_three_bits_only() {
        for seed in 0u8..32 {
            let mut s = vector_statement();
            s.job_digest[0] = seed;
            let full = s.digest();
            let x = s.public_input();
            assert_eq!(x[0], full[0] & 0x1f);
            assert_eq!(x[1..], full[1..]);
            let fr = s.public_input_fr();
            let back = fr.into_bigint().to_bytes_be();
            assert_eq!(back.as_slice(), &x[..], "x < r: conversion is exact");
            assert!(s.matches_public_input(&x));
            let mut other = x;
            other[31] ^= 1;
            assert!(!s.matches_public_input(&other));
        }
    }

    #[test]
    fn every_field_changes_the_input() {
        let base = vector_statement();
        let x = base.public_input();
        for i in 0..5 {
            let mut s = base;
            let f = match i {
                0 => &mut s.circuit_id,
                1 => &mut s.job_digest,
                2 => &mut s.commit_a,
                3 => &mut s.commit_b,
                _ => &mut s.commit_c,
            };
            f[31] ^= 1;
            assert_ne!(s.public_input(), x, "field {i}");
        }
        let free = statement_public_input(
            &base.circuit_id,
            &base.job_digest,
            &base.commit_a,
            &base.commit_b,
            &base.commit_c,
        );
        assert_eq!(free, x);
        assert_eq!(
            statement_public_input_fr(
                &base.circuit_id,
                &base.job_digest,
                &base.commit_a,
                &base.commit_b,
                &base.commit_c
            ),
            base.public_input_fr()
        );
    }
}
