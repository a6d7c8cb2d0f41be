//! EK certificates: parsing (DER/PEM), chain check to given roots, and EK key match.

use crate::alg::{HashAlg, TPM_ECC_NIST_P256, TPM_ECC_NIST_P384};
use crate::error::{Error, Result};
use crate::public::{KeyParams, PublicArea};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Reader as _};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// Maximum certificate chain length (leaf to root).
pub const MAX_CHAIN_DEPTH: usize = 8;
/// Largest certificate accepted.
pub const MAX_CERT_SIZE: usize = 16 * 1024;

/// Whether a TPM is a hardware TPM or a software one (swtpm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TpmKind {
    /// A discrete/firmware TPM whose EK certificate chains to a manufacturer root.
    Hardware,
    /// A software TPM (swtpm) whose EK certificate chains to a local CA, or no certificate at all.
    Software,
}

/// A parsed certificate with its exact DER.
#[derive(Debug, Clone)]
pub struct Cert {
    cert: Certificate,
    der: Vec<u8>,
    tbs: Vec<u8>,
}

impl Cert {
    /// Parse one DER certificate strictly (no trailing bytes).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CERT_SIZE {
            return Err(Error::SizeOutOfRange {
                what: "certificate",
                size: der.len(),
                max: MAX_CERT_SIZE,
            });
        }
        let cert = Certificate::from_der(der).map_err(|e| Error::EkCertificate(e.to_string()))?;
        // Extract the exact TBS bytes from the outer SEQUENCE.
        let outer =
            der::asn1::AnyRef::from_der(der).map_err(|e| Error::EkCertificate(e.to_string()))?;
        let mut inner = der::SliceReader::new(outer.value())
            .map_err(|e| Error::EkCertificate(e.to_string()))?;
        let tbs_any: der::asn1::AnyRef<'_> = inner
            .decode()
            .map_err(|e| Error::EkCertificate(e.to_string()))?;
        let tbs = tbs_any
            .to_der()
            .map_err(|e| Error::EkCertificate(e.to_string()))?;
        Ok(Cert {
            cert,
            der: der.to_vec(),
            tbs,
        })
    }

    /// Parse one or more certificates from PEM, or a single DER certificate.
    pub fn parse_many(bytes: &[u8]) -> Result<Vec<Self>> {
        if bytes.starts_with(b"-----BEGIN") || bytes.iter().take(64).all(|b| b.is_ascii()) {
            if let Ok(certs) = Certificate::load_pem_chain(bytes) {
                let mut out = Vec::with_capacity(certs.len());
                for c in certs {
                    let der = c
                        .to_der()
                        .map_err(|e| Error::EkCertificate(e.to_string()))?;
                    out.push(Self::from_der(&der)?);
                }
                if !out.is_empty() {
                    return Ok(out);
                }
            }
        }
        Ok(vec![Self::from_der(bytes)?])
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the DER.
    pub fn sha256(&self) -> [u8; 32] {
        crate::alg::sha256(&self.der)
    }

    /// The underlying x509-cert structure.
    pub fn inner(&self) -> &Certificate {
        &self.cert
    }

    pub(crate) fn is_ca(&self) -> bool {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()
            .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_BASIC_CONSTRAINTS))
            .and_then(|e| {
                x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes()).ok()
            })
            .map(|bc| bc.ca)
            .unwrap_or(false)
    }

    pub(crate) fn check_time(&self, now: Option<u64>) -> Result<()> {
        if let Some(now) = now {
            let v = &self.cert.tbs_certificate.validity;
            let nb = v.not_before.to_unix_duration().as_secs();
            let na = v.not_after.to_unix_duration().as_secs();
            if now < nb || now > na {
                return Err(Error::EkChain(format!(
                    "certificate not valid at {now} (valid {nb}..{na})"
                )));
            }
        }
        Ok(())
    }

    /// Verify that `self` was signed by `issuer`'s key.
    pub(crate) fn signed_by(&self, issuer: &Cert) -> Result<()> {
        let sig = self
            .cert
            .signature
            .as_bytes()
            .ok_or_else(|| Error::EkCertificate("signature has unused bits".into()))?;
        if self.cert.tbs_certificate.signature != self.cert.signature_algorithm {
            return Err(Error::EkCertificate(
                "inner and outer signature algorithms differ".into(),
            ));
        }
        let alg = self.cert.signature_algorithm.oid;
        let spki = &issuer.cert.tbs_certificate.subject_public_key_info;
        let key_bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::EkCertificate("issuer key has unused bits".into()))?;
        let hash = match alg {
            a if a == OID_SHA256_RSA || a == OID_ECDSA_SHA256 => HashAlg::Sha256,
            a if a == OID_SHA384_RSA || a == OID_ECDSA_SHA384 => HashAlg::Sha384,
            a if a == OID_SHA512_RSA || a == OID_ECDSA_SHA512 => HashAlg::Sha512,
            other => {
                return Err(Error::EkCertificate(format!(
                    "signature algorithm {other} not allowed"
                )))
            }
        };
        let digest = hash.digest(&self.tbs);
        let is_rsa = alg == OID_SHA256_RSA || alg == OID_SHA384_RSA || alg == OID_SHA512_RSA;
        if is_rsa {
            use rsa::pkcs1::DecodeRsaPublicKey;
            if spki.algorithm.oid != OID_RSA_ENCRYPTION {
                return Err(Error::EkChain("issuer key is not RSA".into()));
            }
            let pk = rsa::RsaPublicKey::from_pkcs1_der(key_bits)
                .map_err(|e| Error::EkCertificate(format!("issuer RSA key: {e}")))?;
            let padding = match hash {
                HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                _ => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            };
            pk.verify(padding, &digest, sig)
                .map_err(|_| Error::EkChain("certificate signature invalid".into()))
        } else {
            if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
                return Err(Error::EkChain("issuer key is not EC".into()));
            }
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok())
                .ok_or_else(|| Error::EkCertificate("issuer EC key without curve".into()))?;
            let bad = || Error::EkChain("certificate signature invalid".into());
            if curve == OID_P256 {
                use p256::ecdsa::signature::hazmat::PrehashVerifier;
                let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bits).map_err(|_| bad())?;
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                vk.verify_prehash(&digest, &s).map_err(|_| bad())
            } else if curve == OID_P384 {
                use p384::ecdsa::signature::hazmat::PrehashVerifier;
                let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bits).map_err(|_| bad())?;
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                vk.verify_prehash(&digest, &s).map_err(|_| bad())
            } else {
                Err(Error::EkCertificate(format!(
                    "issuer curve {curve} unsupported"
                )))
            }
        }
    }

    /// Whether the certificate's subject public key is exactly the key of `ek`.
    pub fn key_matches(&self, ek: &PublicArea) -> Result<bool> {
        let spki = &self.cert.tbs_certificate.subject_public_key_info;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::EkCertificate("key has unused bits".into()))?;
        match &ek.params {
            KeyParams::Rsa {
                exponent, modulus, ..
            } => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use rsa::traits::PublicKeyParts;
                if spki.algorithm.oid != OID_RSA_ENCRYPTION && spki.algorithm.oid != OID_RSAES_OAEP
                {
                    return Ok(false);
                }
                let pk = rsa::RsaPublicKey::from_pkcs1_der(bits)
                    .map_err(|e| Error::EkCertificate(format!("EK RSA key: {e}")))?;
                let e = if *exponent == 0 { 65537 } else { *exponent };
                Ok(pk.n() == &rsa::BigUint::from_bytes_be(modulus)
                    && pk.e() == &rsa::BigUint::from(e))
            }
            KeyParams::Ecc { curve, .. } => {
                if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
                    return Ok(false);
                }
                let cert_curve: Option<ObjectIdentifier> = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as().ok());
                let want = match *curve {
                    TPM_ECC_NIST_P256 => OID_P256,
                    TPM_ECC_NIST_P384 => OID_P384,
                    _ => return Ok(false),
                };
                if cert_curve != Some(want) {
                    return Ok(false);
                }
                let (_, point) = ek.ecc_point()?;
                Ok(bits == point.as_slice())
            }
        }
    }
}

/// A trusted root certificate and the kind of TPM that chains to it.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    /// The root certificate.
    pub cert: Cert,
    /// Hardware manufacturer root, or a software TPM's local CA.
    pub kind: TpmKind,
}

/// Roots and intermediates against which EK certificates are checked.
#[derive(Debug, Clone, Default)]
pub struct EkTrust {
    /// Trust anchors.
    pub roots: Vec<TrustAnchor>,
    /// Untrusted intermediates that may complete a chain.
    pub intermediates: Vec<Cert>,
    /// When set (unix seconds), every certificate in the chain must be valid at this time.
    pub now: Option<u64>,
}

impl EkTrust {
    /// Add root certificates (PEM, possibly several, or one DER).
    pub fn add_roots(&mut self, bytes: &[u8], kind: TpmKind) -> Result<()> {
        for cert in Cert::parse_many(bytes)? {
            self.roots.push(TrustAnchor { cert, kind });
        }
        Ok(())
    }

    /// Add intermediate certificates (PEM, possibly several, or one DER).
    pub fn add_intermediates(&mut self, bytes: &[u8]) -> Result<()> {
        self.intermediates.extend(Cert::parse_many(bytes)?);
        Ok(())
    }

    /// Check `leaf`'s chain to a root; returns the root's kind.
    pub fn verify_chain(&self, leaf: &Cert) -> Result<TpmKind> {
        leaf.check_time(self.now)?;
        let mut current = leaf.clone();
        for _ in 0..MAX_CHAIN_DEPTH {
            let issuer_name = &current.cert.tbs_certificate.issuer;
            for root in &self.roots {
                if &root.cert.cert.tbs_certificate.subject == issuer_name
                    && current.signed_by(&root.cert).is_ok()
                {
                    root.cert.check_time(self.now)?;
                    return Ok(root.kind);
                }
            }
            let next = self.intermediates.iter().find(|c| {
                &c.cert.tbs_certificate.subject == issuer_name
                    && c.is_ca()
                    && current.signed_by(c).is_ok()
            });
            match next {
                Some(c) => {
                    c.check_time(self.now)?;
                    current = c.clone();
                }
                None => {
                    return Err(Error::EkChain(format!(
                        "no trusted issuer for \"{}\"",
                        issuer_name
                    )))
                }
            }
        }
        Err(Error::EkChain("chain too long".into()))
    }
}
