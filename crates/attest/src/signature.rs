//! TPMT_SIGNATURE and signature verification over attestation bytes.

use crate::alg::*;
use crate::error::{Error, Result};
use crate::public::{pad_left, PublicArea, MAX_ECC_KEY_BYTES, MAX_RSA_KEY_BYTES};
use crate::wire::Reader;

/// A parsed TPMT_SIGNATURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// TPM_ALG_RSASSA (PKCS#1 v1.5).
    RsaSsa {
        /// Hash algorithm id.
        hash: u16,
        /// Signature bytes.
        sig: Vec<u8>,
    },
    /// TPM_ALG_RSAPSS.
    RsaPss {
        /// Hash algorithm id.
        hash: u16,
        /// Signature bytes.
        sig: Vec<u8>,
    },
    /// An ECC signature (ECDSA, ECDAA, SM2, ECSCHNORR).
    Ecc {
        /// TPM_ALG_ID of the scheme.
        scheme: u16,
        /// Hash algorithm id.
        hash: u16,
        /// r.
        r: Vec<u8>,
        /// s.
        s: Vec<u8>,
    },
    /// TPM_ALG_HMAC.
    Hmac {
        /// Hash algorithm id.
        hash: u16,
        /// The HMAC.
        digest: Vec<u8>,
    },
    /// TPM_ALG_NULL.
    Null,
}

impl Signature {
    /// Parse a marshalled TPMT_SIGNATURE; all bytes must be consumed.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let alg = r.u16("TPMT_SIGNATURE.sigAlg")?;
        let sig = match alg {
            TPM_ALG_RSASSA | TPM_ALG_RSAPSS => {
                let hash = r.u16("TPMS_SIGNATURE_RSA.hash")?;
                let sig = r
                    .tpm2b("TPMS_SIGNATURE_RSA.sig", MAX_RSA_KEY_BYTES)?
                    .to_vec();
                if sig.is_empty() {
                    return Err(Error::invalid("TPMS_SIGNATURE_RSA.sig", "empty"));
                }
                if alg == TPM_ALG_RSASSA {
                    Signature::RsaSsa { hash, sig }
                } else {
                    Signature::RsaPss { hash, sig }
                }
            }
            TPM_ALG_ECDSA | TPM_ALG_ECDAA | TPM_ALG_SM2 | TPM_ALG_ECSCHNORR => {
                let hash = r.u16("TPMS_SIGNATURE_ECC.hash")?;
                let rr = r.tpm2b("TPMS_SIGNATURE_ECC.r", MAX_ECC_KEY_BYTES)?.to_vec();
                let s = r.tpm2b("TPMS_SIGNATURE_ECC.s", MAX_ECC_KEY_BYTES)?.to_vec();
                Signature::Ecc {
                    scheme: alg,
                    hash,
                    r: rr,
                    s,
                }
            }
            TPM_ALG_HMAC => {
                let hash = r.u16("TPMT_HA.hashAlg")?;
                let h = HashAlg::from_alg_id(hash)?;
                let digest = r.take(h.size(), "TPMT_HA.digest")?.to_vec();
                Signature::Hmac { hash, digest }
            }
            TPM_ALG_NULL => Signature::Null,
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "TPMT_SIGNATURE.sigAlg",
                    alg: other,
                })
            }
        };
        r.finish("TPMT_SIGNATURE")?;
        Ok(sig)
    }

    /// (scheme, hash) ids.
    pub fn scheme(&self) -> (u16, u16) {
        match self {
            Signature::RsaSsa { hash, .. } => (TPM_ALG_RSASSA, *hash),
            Signature::RsaPss { hash, .. } => (TPM_ALG_RSAPSS, *hash),
            Signature::Ecc { scheme, hash, .. } => (*scheme, *hash),
            Signature::Hmac { hash, .. } => (TPM_ALG_HMAC, *hash),
            Signature::Null => (TPM_ALG_NULL, TPM_ALG_NULL),
        }
    }
}

/// Allow-list of signature schemes and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// Allowed schemes (TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_ECDSA are the only ones implemented).
    pub schemes: Vec<u16>,
    /// Allowed hashes.
    pub hashes: Vec<HashAlg>,
}

impl Default for SignaturePolicy {
    /// RSASSA, RSAPSS, ECDSA with SHA-256/384/512 (SHA-1 refused).
    fn default() -> Self {
        SignaturePolicy {
            schemes: vec![TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_ECDSA],
            hashes: vec![HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512],
        }
    }
}

/// Check `sig` over `message` with `key` under `policy`. Returns the hash used.
///
/// Order: scheme/hash on the allow-list; the scheme fits the key (type and, when the key fixes a
/// scheme, that scheme and hash); then the cryptographic check over the exact bytes.
pub fn verify_signature(
    key: &PublicArea,
    message: &[u8],
    sig: &Signature,
    policy: &SignaturePolicy,
) -> Result<HashAlg> {
    let (scheme, hash_id) = sig.scheme();
    let hash = match HashAlg::from_alg_id(hash_id) {
        Ok(h) if policy.hashes.contains(&h) && policy.schemes.contains(&scheme) => h,
        _ => {
            return Err(Error::SchemeNotAllowed {
                scheme,
                hash: hash_id,
            })
        }
    };
    let key_scheme = key.scheme();
    if key_scheme.scheme != TPM_ALG_NULL
        && (key_scheme.scheme != scheme || key_scheme.hash != hash_id)
    {
        return Err(Error::KeyMismatch(format!(
            "key fixes scheme 0x{:04x}/0x{:04x}, signature uses 0x{scheme:04x}/0x{hash_id:04x}",
            key_scheme.scheme, key_scheme.hash
        )));
    }
    let digest = hash.digest(message);
    match sig {
        Signature::RsaSsa { sig, .. } => {
            let pk = key.rsa_public_key()?;
            let padding = match hash {
                HashAlg::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            pk.verify(padding, &digest, sig)
                .map_err(|_| Error::BadSignature)?;
        }
        Signature::RsaPss { sig, .. } => {
            use rsa::traits::PublicKeyParts;
            let pk = key.rsa_public_key()?;
            let key_bits = pk.n().bits();
            let em_len = (key_bits - 1).div_ceil(8);
            let max_salt = em_len.saturating_sub(hash.size() + 2);
            let mut ok = false;
            for salt in [hash.size(), max_salt] {
                let pss = match hash {
                    HashAlg::Sha1 => rsa::Pss::new_with_salt::<sha1::Sha1>(salt),
                    HashAlg::Sha256 => rsa::Pss::new_with_salt::<sha2::Sha256>(salt),
                    HashAlg::Sha384 => rsa::Pss::new_with_salt::<sha2::Sha384>(salt),
                    HashAlg::Sha512 => rsa::Pss::new_with_salt::<sha2::Sha512>(salt),
                };
                if pk.verify(pss, &digest, sig).is_ok() {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(Error::BadSignature);
            }
        }
        Signature::Ecc { r, s, scheme, .. } => {
            if *scheme != TPM_ALG_ECDSA {
                return Err(Error::SchemeNotAllowed {
                    scheme: *scheme,
                    hash: hash_id,
                });
            }
            let (curve, point) = key.ecc_point()?;
            match curve {
                TPM_ECC_NIST_P256 => {
                    use p256::ecdsa::signature::hazmat::PrehashVerifier;
                    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|_| Error::Crypto("invalid P-256 point".into()))?;
                    let rb = pad_left(r, 32, "ECDSA r")?;
                    let sb = pad_left(s, 32, "ECDSA s")?;
                    let sig = p256::ecdsa::Signature::from_scalars(
                        *p256::FieldBytes::from_slice(&rb),
                        *p256::FieldBytes::from_slice(&sb),
                    )
                    .map_err(|_| Error::BadSignature)?;
                    vk.verify_prehash(&digest, &sig)
                        .map_err(|_| Error::BadSignature)?;
                }
                TPM_ECC_NIST_P384 => {
                    use p384::ecdsa::signature::hazmat::PrehashVerifier;
                    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|_| Error::Crypto("invalid P-384 point".into()))?;
                    let rb = pad_left(r, 48, "ECDSA r")?;
                    let sb = pad_left(s, 48, "ECDSA s")?;
                    let sig = p384::ecdsa::Signature::from_scalars(
                        *p384::FieldBytes::from_slice(&rb),
                        *p384::FieldBytes::from_slice(&sb),
                    )
                    .map_err(|_| Error::BadSignature)?;
                    vk.verify_prehash(&digest, &sig)
                        .map_err(|_| Error::BadSignature)?;
                }
                other => {
                    return Err(Error::UnsupportedAlgorithm {
                        what: "ECC curve",
                        alg: other,
                    })
                }
            }
        }
        Signature::Hmac { .. } | Signature::Null => {
            return Err(Error::SchemeNotAllowed {
                scheme,
                hash: hash_id,
            })
        }
    }
    Ok(hash)
}
