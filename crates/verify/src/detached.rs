//! Detached proof files (`docs/proof-file.md`): a Groth16 proof made *after* a receipt was finished
//! (`cuproof prove`), kept next to the receipt instead of inside it.
//!
//! A receipt's job quote is taken last and its qualifying data binds everything but the quotes, proofs
//! included, so a proof cannot be added to a finished receipt without breaking the quote. A detached proof
//! does not need to be signed by the TPM: its public input is recomputed from the receipt's signed statement
//! (statement digest and field commitments), so a proof verifies only for the statement it was made for.
//!
//! ```text
//! offset size
//!      0    8  magic "CUPROOFP"
//!      8    2  version u16le = 1
//!     10    1  system u8 (1 = Groth16/BN254)
//!     11   32  circuit_id
//!     43   32  vk_digest          SHA-256 of the verifying-key file's bytes (as in a receipt's proof entry)
//!     75   32  statement_digest   Statement::digest() of the receipt the proof is for
//!    107   32  public_input       32 bytes big-endian (recomputed by the verifier, never trusted)
//!    139    4  proof_len u32le    1..=256
//!    143    n  proof              compressed arkworks Groth16 proof (128 bytes for BN254)
//! ```
//!
//! Decoding is strict: exact magic (a receipt's magic `CUPROOF\0` is recognised and named), known version and
//! system, every length checked, no trailing bytes. Every decodable file re-encodes to the same bytes.

use cuproof_core::receipt::{ProofEntry, ProofSystem};

/// Magic of a detached proof file.
pub const MAGIC: &[u8; 8] = b"CUPROOFP";
/// Format version.
pub const VERSION: u16 = 1;
/// Largest proof encoding accepted (a compressed BN254 Groth16 proof is 128 bytes).
pub const MAX_PROOF_BYTES: usize = 256;
/// Length of everything before the proof bytes.
pub const HEADER_LEN: usize = 8 + 2 + 1 + 32 * 4 + 4;
/// Magic of a receipt, recognised to give a clearer error.
const RECEIPT_MAGIC: &[u8; 8] = b"CUPROOF\0";

/// Why a detached proof file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetachedProofError {
    /// Shorter than the fixed header.
    #[error("proof file truncated: {have} bytes, the header alone is {need}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The file is a receipt, not a proof file.
    #[error(
        "this is a receipt, not a proof file (magic CUPROOF\\0; proof files start with CUPROOFP)"
    )]
    IsReceipt,
    /// Unknown magic.
    #[error("not a cuproof proof file (bad magic)")]
    BadMagic,
    /// Unknown format version.
    #[error("unsupported proof file version {0} (this build reads version {VERSION})")]
    UnsupportedVersion(u16),
    /// Unknown proof system.
    #[error("unknown proof system {0} (1 = Groth16/BN254)")]
    UnknownSystem(u8),
    /// Proof length out of range.
    #[error("proof length {0} out of range (1..={MAX_PROOF_BYTES})")]
    ProofLength(u64),
    /// The proof bytes end before the announced length.
    #[error("proof file truncated: proof of {want} bytes announced, {have} present")]
    ProofTruncated {
        /// Announced length.
        want: usize,
        /// Bytes present.
        have: usize,
    },
    /// Bytes after the proof.
    #[error("{0} trailing bytes after the proof")]
    TrailingBytes(usize),
}

/// A proof detached from the receipt it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetachedProof {
    /// `Statement::digest()` of the receipt's statement.
    pub statement_digest: [u8; 32],
    /// The proof, as it would appear in a receipt's proof list.
    pub entry: ProofEntry,
}

fn system_id(s: ProofSystem) -> u8 {
    match s {
        ProofSystem::Groth16Bn254 => 1,
    }
}

fn array32(b: &[u8], at: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&b[at..at + 32]);
    out
}

impl DetachedProof {
    /// The canonical encoding. Fails only when the proof is empty or longer than [`MAX_PROOF_BYTES`].
    pub fn encode(&self) -> Result<Vec<u8>, DetachedProofError> {
        let e = &self.entry;
        if e.proof.is_empty() || e.proof.len() > MAX_PROOF_BYTES {
            return Err(DetachedProofError::ProofLength(e.proof.len() as u64));
        }
        let mut out = Vec::with_capacity(HEADER_LEN + e.proof.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(system_id(e.system));
        out.extend_from_slice(&e.circuit_id);
        out.extend_from_slice(&e.vk_digest);
        out.extend_from_slice(&self.statement_digest);
        out.extend_from_slice(&e.public_input);
        out.extend_from_slice(&(e.proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.proof);
        Ok(out)
    }

    /// Strict decoding (see the module documentation). Never panics.
    pub fn decode(b: &[u8]) -> Result<Self, DetachedProofError> {
        if b.len() >= 8 && &b[..8] == RECEIPT_MAGIC {
            return Err(DetachedProofError::IsReceipt);
        }
        if b.len() < 8 || &b[..8] != MAGIC {
            // A short prefix of the magic is a truncated file, anything else is not ours.
            if b.len() < 8 && MAGIC.starts_with(b) {
                return Err(DetachedProofError::Truncated {
                    need: HEADER_LEN,
                    have: b.len(),
                });
            }
            return Err(DetachedProofError::BadMagic);
        }
        if b.len() < HEADER_LEN {
            return Err(DetachedProofError::Truncated {
                need: HEADER_LEN,
                have: b.len(),
            });
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != VERSION {
            return Err(DetachedProofError::UnsupportedVersion(version));
        }
        let system = match b[10] {
            1 => ProofSystem::Groth16Bn254,
            v => return Err(DetachedProofError::UnknownSystem(v)),
        };
        let circuit_id = array32(b, 11);
        let vk_digest = array32(b, 43);
        let statement_digest = array32(b, 75);
        let public_input = array32(b, 107);
        let len = u32::from_le_bytes([b[139], b[140], b[141], b[142]]) as usize;
        if len == 0 || len > MAX_PROOF_BYTES {
            return Err(DetachedProofError::ProofLength(len as u64));
        }
        let rest = &b[HEADER_LEN..];
        if rest.len() < len {
            return Err(DetachedProofError::ProofTruncated {
                want: len,
                have: rest.len(),
            });
        }
        if rest.len() > len {
            return Err(DetachedProofError::TrailingBytes(rest.len() - len));
        }
        Ok(DetachedProof {
            statement_digest,
            entry: ProofEntry {
                system,
                circuit_id,
                vk_digest,
                public_input,
                proof: rest.to_vec(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngCore, SeedableRng};

    fn sample() -> DetachedProof {
        DetachedProof {
            statement_digest: [0x33; 32],
            entry: ProofEntry {
                system: ProofSystem::Groth16Bn254,
                circuit_id: [0x11; 32],
                vk_digest: [0x22; 32],
                public_input: [0x04; 32],
                proof: (0..128u32).map(|i| i as u8).collect(),
            },
        }
    }

    #[test]
    fn layout_is_pinned() {
        let b = sample().encode().unwrap();
        assert_eq!(b.len(), HEADER_LEN + 128);
        assert_eq!(HEADER_LEN, 143);
        let mut want = Vec::new();
        want.extend_from_slice(b"CUPROOFP");
        want.extend_from_slice(&[1, 0, 1]);
        for x in [0x11u8, 0x22, 0x33, 0x04] {
            want.extend_from_slice(&[x; 32]);
        }
        want.extend_from_slice(&[128, 0, 0, 0]);
        want.extend((0..128u32).map(|i| i as u8));
        assert_eq!(b, want);
        // The hex test vector of docs/proof-file.md: header and first proof bytes.
        assert_eq!(hex::encode(&b[..11]), "435550524f4f4650010001");
        assert_eq!(hex::encode(&b[139..147]), "8000000000010203");
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&b)),
            "bc19b52876585009b434400a011421f4b7a5e61b8ffd3ef3633a0569981902d7"
        );
        assert_eq!(DetachedProof::decode(&b).unwrap(), sample());
    }

    #[test]
    fn strict_errors() {
        let good = sample().encode().unwrap();
        let mut b = good.clone();
        b.push(0);
        assert_eq!(
            DetachedProof::decode(&b),
            Err(DetachedProofError::TrailingBytes(1))
        );
        assert_eq!(
            DetachedProof::decode(&good[..good.len() - 1]),
            Err(DetachedProofError::ProofTruncated {
                want: 128,
                have: 127
            })
        );
        assert_eq!(
            DetachedProof::decode(&good[..100]),
            Err(DetachedProofError::Truncated {
                need: 143,
                have: 100
            })
        );
        assert_eq!(
            DetachedProof::decode(b"CUPR"),
            Err(DetachedProofError::Truncated { need: 143, have: 4 })
        );
        assert_eq!(
            DetachedProof::decode(b"CUPROOF\0\x01\x00rest"),
            Err(DetachedProofError::IsReceipt)
        );
        assert_eq!(
            DetachedProof::decode(b"\x93NUMPY\x01\x00"),
            Err(DetachedProofError::BadMagic)
        );
        let mut b = good.clone();
        b[8] = 2;
        assert_eq!(
            DetachedProof::decode(&b),
            Err(DetachedProofError::UnsupportedVersion(2))
        );
        let mut b = good.clone();
        b[10] = 0;
        assert_eq!(
            DetachedProof::decode(&b),
            Err(DetachedProofError::UnknownSystem(0))
        );
        let mut b = good.clone();
        b[139..143].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            DetachedProof::decode(&b),
            Err(DetachedProofError::ProofLength(u32::MAX as u64))
        );
        let mut b = good;
        b[139..143].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            DetachedProof::decode(&b),
            Err(DetachedProofError::ProofLength(0))
        );
        let mut empty = sample();
        empty.entry.proof.clear();
        assert!(empty.encode().is_err());
    }

    /// Fuzz-style: random bytes, every truncation, random mutations and splices never panic, and whatever
    /// decodes re-encodes to the same bytes.
    #[test]
    fn parser_never_panics_and_is_canonical() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5eed);
        let good = sample().encode().unwrap();
        let check = |b: &[u8]| {
            if let Ok(d) = DetachedProof::decode(b) {
                assert_eq!(d.encode().unwrap(), b, "decoded bytes must be canonical");
            }
        };
        for cut in 0..=good.len() {
            check(&good[..cut]);
            assert!(cut == good.len() || DetachedProof::decode(&good[..cut]).is_err());
        }
        for _ in 0..20_000 {
            let len = rng.gen_range(0..400);
            let mut b = vec![0u8; len];
            rng.fill_bytes(&mut b);
            if rng.gen_bool(0.5) && len >= 8 {
                b[..8].copy_from_slice(MAGIC);
            }
            check(&b);
            let mut m = good.clone();
            for _ in 0..rng.gen_range(1..6) {
                let i = rng.gen_range(0..m.len());
                m[i] ^= 1 << rng.gen_range(0..8);
            }
            if rng.gen_bool(0.2) {
                let at = rng.gen_range(0..=m.len());
                m.insert(at, rng.gen());
            }
            if rng.gen_bool(0.2) && !m.is_empty() {
                let at = rng.gen_range(0..m.len());
                m.remove(at);
            }
            check(&m);
        }
    }
}
