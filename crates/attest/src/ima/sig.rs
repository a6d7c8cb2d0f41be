//! IMA file signatures: the `ima-sig` template's third field, i.e. the file's `security.ima` extended attribute in
//! the digital-signature v2 format that `evmctl ima_sign` writes and the kernel appraises:
//! `type = 0x03 ‖ version = 0x02 ‖ hash_algo: u8 ‖ keyid[4] ‖ sig_size: u16 (big-endian) ‖ signature`.
//! The signature is over the file digest itself: RSA PKCS#1 v1.5 with the DigestInfo of `hash_algo`, or ECDSA
//! (DER) on P-256, P-384 or secp256k1. The keyid is the last four bytes of SHA-1 of the key's subjectPublicKey
//! (the PKCS#1 `RSAPublicKey`, or the EC point).
//!
//! With signing keys in the policy, a file signed by a distribution's or a vendor's IMA key is accepted without
//! pinning its digest, so a policy survives package updates.

use super::FileMeasurement;
use der::asn1::ObjectIdentifier;
use der::Decode;
use sha2::Digest as _;

/// `EVM_IMA_XATTR_DIGSIG`.
pub const IMA_DIGSIG: u8 = 0x03;
/// Signature format version 2.
pub const DIGSIG_VERSION_2: u8 = 0x02;

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// A parsed v2 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImaSignature {
    /// The kernel's `enum hash_algo` value (2 = SHA-1, 4 = SHA-256, 5 = SHA-384, 6 = SHA-512).
    pub hash_algo: u8,
    /// Key identifier.
    pub keyid: [u8; 4],
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// The kernel's name for an `enum hash_algo` value this crate verifies.
pub fn hash_algo_name(v: u8) -> Option<&'static str> {
    Some(match v {
        2 => "sha1",
        4 => "sha256",
        5 => "sha384",
        6 => "sha512",
        _ => return None,
    })
}

impl ImaSignature {
    /// Strictly parse a signature field (type, version, length exact).
    pub fn parse(b: &[u8]) -> Result<Self, String> {
        if b.len() < 9 {
            return Err(format!("signature of {} bytes", b.len()));
        }
        if b[0] != IMA_DIGSIG || b[1] != DIGSIG_VERSION_2 {
            return Err(format!(
                "signature type {:#04x} version {} (digsig v2 expected)",
                b[0], b[1]
            ));
        }
        let size = u16::from_be_bytes([b[7], b[8]]) as usize;
        if size != b.len() - 9 || size == 0 {
            return Err(format!(
                "signature size {size}, {} bytes follow",
                b.len() - 9
            ));
        }
        Ok(ImaSignature {
            hash_algo: b[2],
            keyid: [b[3], b[4], b[5], b[6]],
            signature: b[9..].to_vec(),
        })
    }
}

#[derive(Clone)]
enum KeyKind {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    K256(k256::ecdsa::VerifyingKey),
}

/// A public key that signs IMA files.
#[derive(Clone)]
pub struct ImaKey {
    kind: KeyKind,
    keyid: [u8; 4],
}

impl std::fmt::Debug for ImaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self.kind {
            KeyKind::Rsa(_) => "RSA",
            KeyKind::P256(_) => "P-256",
            KeyKind::P384(_) => "P-384",
            KeyKind::K256(_) => "secp256k1",
        };
        write!(f, "ImaKey({k}, keyid {})", hex::encode(self.keyid))
    }
}

impl ImaKey {
    /// From a DER SubjectPublicKeyInfo (RSA, or EC on P-256, P-384, secp256k1).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or("public key has unused bits")?;
        let sha1: [u8; 20] = sha1::Sha1::digest(bits).into();
        let keyid = [sha1[16], sha1[17], sha1[18], sha1[19]];
        let kind = if spki.algorithm.oid == OID_RSA_ENCRYPTION {
            use rsa::pkcs1::DecodeRsaPublicKey;
            KeyKind::Rsa(
                rsa::RsaPublicKey::from_pkcs1_der(bits).map_err(|e| format!("RSA key: {e}"))?,
            )
        } else if spki.algorithm.oid == OID_EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok())
                .ok_or("EC key without a named curve")?;
            let bad = |_| "EC point not on the curve".to_string();
            if curve == OID_P256 {
                KeyKind::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(bad)?)
            } else if curve == OID_P384 {
                KeyKind::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(bad)?)
            } else if curve == OID_SECP256K1 {
                KeyKind::K256(k256::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(bad)?)
            } else {
                return Err(format!("curve {curve} not supported"));
            }
        } else {
            return Err(format!(
                "key algorithm {} not supported",
                spki.algorithm.oid
            ));
        };
        Ok(ImaKey { kind, keyid })
    }

    /// Every `PUBLIC KEY` block of a PEM text (other blocks are skipped), or one DER key.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Vec<Self>, String> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) if t.contains("-----BEGIN") => t,
            _ => return Ok(vec![Self::from_spki_der(bytes)?]),
        };
        let mut keys = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN PUBLIC KEY-----") {
            let end = rest[start..]
                .find("-----END PUBLIC KEY-----")
                .ok_or("unterminated PUBLIC KEY block")?
                + start
                + "-----END PUBLIC KEY-----".len();
            let (label, der) = der::pem::decode_vec(&rest.as_bytes()[start..end])
                .map_err(|e| format!("PEM: {e}"))?;
            if label != "PUBLIC KEY" {
                return Err(format!("PEM label {label}"));
            }
            keys.push(Self::from_spki_der(&der)?);
            rest = &rest[end..];
        }
        if keys.is_empty() {
            return Err("no PUBLIC KEY block".into());
        }
        Ok(keys)
    }

    /// The key identifier signatures name.
    pub fn keyid(&self) -> [u8; 4] {
        self.keyid
    }

    fn verify(&self, alg: &str, digest: &[u8], sig: &[u8]) -> bool {
        match &self.kind {
            KeyKind::Rsa(k) => {
                let scheme = match alg {
                    "sha1" => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                    "sha256" => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    "sha384" => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    "sha512" => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                    _ => return false,
                };
                k.verify(scheme, digest, sig).is_ok()
            }
            KeyKind::P256(k) => {
                use p256::ecdsa::signature::hazmat::PrehashVerifier;
                p256::ecdsa::Signature::from_der(sig)
                    .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok())
            }
            KeyKind::P384(k) => {
                use p384::ecdsa::signature::hazmat::PrehashVerifier;
                p384::ecdsa::Signature::from_der(sig)
                    .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok())
            }
            KeyKind::K256(k) => {
                use k256::ecdsa::signature::hazmat::PrehashVerifier;
                // k256 accepts only low-S signatures; (r, s) and (r, n - s) are the same ECDSA signature, and
                // evmctl (OpenSSL) writes either
                k256::ecdsa::Signature::from_der(sig).is_ok_and(|s| {
                    let s = s.normalize_s().unwrap_or(s);
                    k.verify_prehash(digest, &s).is_ok()
                })
            }
        }
    }
}

/// What a file's signature field says under a set of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No signature (empty field, or a template without one).
    Unsigned,
    /// Signed by a key not among those given.
    UnknownKey([u8; 4]),
    /// A valid signature of the file digest by the key with this id.
    Valid([u8; 4]),
    /// Malformed, for another hash than the file's digest, or not valid under the key it names.
    Invalid(String),
}

/// Judge the signature field `sig` of `file` (from `ima-sig`) against `keys`.
pub fn check_file_signature(file: &FileMeasurement, sig: &[u8], keys: &[ImaKey]) -> SignatureCheck {
    if sig.is_empty() {
        return SignatureCheck::Unsigned;
    }
    let s = match ImaSignature::parse(sig) {
        Ok(s) => s,
        Err(e) => return SignatureCheck::Invalid(e),
    };
    match hash_algo_name(s.hash_algo) {
        Some(a) if a == file.alg => {}
        _ => {
            return SignatureCheck::Invalid(format!(
                "signature hash {} does not match the file digest ({})",
                s.hash_algo, file.alg
            ))
        }
    }
    let named: Vec<&ImaKey> = keys.iter().filter(|k| k.keyid == s.keyid).collect();
    if named.is_empty() {
        return SignatureCheck::UnknownKey(s.keyid);
    }
    if named
        .iter()
        .any(|k| k.verify(file.alg, &file.digest, &s.signature))
    {
        SignatureCheck::Valid(s.keyid)
    } else {
        SignatureCheck::Invalid(format!(
            "signature by key {} does not verify",
            hex::encode(s.keyid)
        ))
    }
}
