//! Hash functions used by the commitment scheme and the log, behind one small enum.

use sha2::{Digest as _, Sha256};
use sha3::{Keccak256, Sha3_256};

/// The hash of a commitment: Keccak-256 (the Ethereum hash) or FIPS 202 SHA3-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlg {
    /// Keccak-256, padding `0x01 … 0x80` (id 1).
    Keccak256,
    /// SHA3-256, padding `0x06 … 0x80` (id 2).
    #[serde(rename = "sha3-256")]
    Sha3_256,
}

impl HashAlg {
    /// Wire identifier.
    pub fn id(self) -> u8 {
        match self {
            HashAlg::Keccak256 => 1,
            HashAlg::Sha3_256 => 2,
        }
    }

    /// From a wire identifier.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(HashAlg::Keccak256),
            2 => Some(HashAlg::Sha3_256),
            _ => None,
        }
    }

    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Keccak256 => "keccak256",
            HashAlg::Sha3_256 => "sha3-256",
        }
    }

    /// Hash the concatenation of `parts` without copying them together.
    pub fn hash_parts(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            HashAlg::Keccak256 => {
                let mut h = Keccak256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
            HashAlg::Sha3_256 => {
                let mut h = Sha3_256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }
}

/// SHA-256 of `tag ‖ 0x00 ‖ parts…`: every SHA-256 the project computes over its own data is domain-separated
/// by a tag such as `b"cuproof.log.record.v1"`.
pub fn tagged_sha256(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag);
    h.update([0u8]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Plain SHA-256 (for TPM structures whose hashing is fixed by the TPM specification).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// PCR extend in the SHA-256 bank: `SHA-256(old ‖ digest)`.
pub fn pcr_extend(old: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(old);
    h.update(digest);
    h.finalize().into()
}
