//! TPM_ALG_ID constants and the hash algorithms this crate computes.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// TPM_ALG_RSA.
pub const TPM_ALG_RSA: u16 = 0x0001;
/// TPM_ALG_SHA1.
pub const TPM_ALG_SHA1: u16 = 0x0004;
/// TPM_ALG_HMAC.
pub const TPM_ALG_HMAC: u16 = 0x0005;
/// TPM_ALG_AES.
pub const TPM_ALG_AES: u16 = 0x0006;
/// TPM_ALG_MGF1.
pub const TPM_ALG_MGF1: u16 = 0x0007;
/// TPM_ALG_KEYEDHASH.
pub const TPM_ALG_KEYEDHASH: u16 = 0x0008;
/// TPM_ALG_XOR.
pub const TPM_ALG_XOR: u16 = 0x000A;
/// TPM_ALG_SHA256.
pub const TPM_ALG_SHA256: u16 = 0x000B;
/// TPM_ALG_SHA384.
pub const TPM_ALG_SHA384: u16 = 0x000C;
/// TPM_ALG_SHA512.
pub const TPM_ALG_SHA512: u16 = 0x000D;
/// TPM_ALG_NULL.
pub const TPM_ALG_NULL: u16 = 0x0010;
/// TPM_ALG_SM3_256.
pub const TPM_ALG_SM3_256: u16 = 0x0012;
/// TPM_ALG_SM4.
pub const TPM_ALG_SM4: u16 = 0x0013;
/// TPM_ALG_RSASSA.
pub const TPM_ALG_RSASSA: u16 = 0x0014;
/// TPM_ALG_RSAES.
pub const TPM_ALG_RSAES: u16 = 0x0015;
/// TPM_ALG_RSAPSS.
pub const TPM_ALG_RSAPSS: u16 = 0x0016;
/// TPM_ALG_OAEP.
pub const TPM_ALG_OAEP: u16 = 0x0017;
/// TPM_ALG_ECDSA.
pub const TPM_ALG_ECDSA: u16 = 0x0018;
/// TPM_ALG_ECDH.
pub const TPM_ALG_ECDH: u16 = 0x0019;
/// TPM_ALG_ECDAA.
pub const TPM_ALG_ECDAA: u16 = 0x001A;
/// TPM_ALG_SM2.
pub const TPM_ALG_SM2: u16 = 0x001B;
/// TPM_ALG_ECSCHNORR.
pub const TPM_ALG_ECSCHNORR: u16 = 0x001C;
/// TPM_ALG_ECMQV.
pub const TPM_ALG_ECMQV: u16 = 0x001D;
/// TPM_ALG_KDF1_SP800_56A.
pub const TPM_ALG_KDF1_SP800_56A: u16 = 0x0020;
/// TPM_ALG_KDF2.
pub const TPM_ALG_KDF2: u16 = 0x0021;
/// TPM_ALG_KDF1_SP800_108.
pub const TPM_ALG_KDF1_SP800_108: u16 = 0x0022;
/// TPM_ALG_ECC.
pub const TPM_ALG_ECC: u16 = 0x0023;
/// TPM_ALG_SYMCIPHER.
pub const TPM_ALG_SYMCIPHER: u16 = 0x0025;
/// TPM_ALG_CAMELLIA.
pub const TPM_ALG_CAMELLIA: u16 = 0x0026;
/// TPM_ALG_CFB.
pub const TPM_ALG_CFB: u16 = 0x0043;

/// TPM_ECC_NIST_P256.
pub const TPM_ECC_NIST_P256: u16 = 0x0003;
/// TPM_ECC_NIST_P384.
pub const TPM_ECC_NIST_P384: u16 = 0x0004;

/// TPM_RH_ENDORSEMENT, the endorsement hierarchy handle (parent of a primary EK).
pub const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;

/// Hash algorithms that can be computed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    /// SHA-1 (only for reading SHA-1 PCR banks; never allowed for signatures by default).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Map a TPM_ALG_ID to a hash algorithm.
    pub fn from_alg_id(id: u16) -> Result<Self> {
        match id {
            TPM_ALG_SHA1 => Ok(HashAlg::Sha1),
            TPM_ALG_SHA256 => Ok(HashAlg::Sha256),
            TPM_ALG_SHA384 => Ok(HashAlg::Sha384),
            TPM_ALG_SHA512 => Ok(HashAlg::Sha512),
            other => Err(Error::UnsupportedAlgorithm {
                what: "hash",
                alg: other,
            }),
        }
    }

    /// The TPM_ALG_ID.
    pub fn alg_id(self) -> u16 {
        match self {
            HashAlg::Sha1 => TPM_ALG_SHA1,
            HashAlg::Sha256 => TPM_ALG_SHA256,
            HashAlg::Sha384 => TPM_ALG_SHA384,
            HashAlg::Sha512 => TPM_ALG_SHA512,
        }
    }

    /// Digest length in bytes.
    pub fn size(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// Hash the concatenation of `parts`.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(parts),
            HashAlg::Sha256 => run::<sha2::Sha256>(parts),
            HashAlg::Sha384 => run::<sha2::Sha384>(parts),
            HashAlg::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    /// Hash one byte string.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }

    /// HMAC with this hash over the concatenation of `parts`.
    pub fn hmac_parts(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        use hmac::{Mac, SimpleHmac};
        fn run<D>(key: &[u8], parts: &[&[u8]]) -> Vec<u8>
        where
            D: sha2::Digest + sha2::digest::core_api::BlockSizeUser + Clone,
        {
            // SimpleHmac accepts keys of any length; new_from_slice cannot fail.
            let mut m = match <SimpleHmac<D> as Mac>::new_from_slice(key) {
                Ok(m) => m,
                Err(_) => return Vec::new(),
            };
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(key, parts),
            HashAlg::Sha256 => run::<sha2::Sha256>(key, parts),
            HashAlg::Sha384 => run::<sha2::Sha384>(key, parts),
            HashAlg::Sha512 => run::<sha2::Sha512>(key, parts),
        }
    }
}

/// SHA-256 helper.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}
