//! The GPU's device certificate chain, attestation key first, root last.
//!
//! On a Hopper card it has five links: the attestation key of the firmware layer that answers SPDM
//! (`GH100 A01 GSP FMC LF`, carrying that firmware's FWID), the chip's own certificate
//! (`GH100 A01 GSP BROM`, its subject serial number unique to the chip), NVIDIA's provisioner
//! and product CAs, and the NVIDIA Device Identity CA. Every link is checked: issuer name equals
//! the next subject, the signature verifies with the next key, every issuer is a CA, every
//! certificate is valid at the verifier's time when one is given; the path ends at one of the
//! trusted roots, sent as the last certificate (byte for byte) or left implied.

use super::opaque::FWID_LEN;
use super::{GpuError, GpuResult};
use crate::ekcert::{Cert, MAX_CERT_SIZE, MAX_CHAIN_DEPTH};
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Reader as _, Tag, Tagged};

/// NVIDIA Device Identity CA, the root of every NVIDIA GPU's device certificate chain
/// (self-signed, ECDSA P-384; SHA-256 of its DER in `docs/gpu-attestation.md`).
pub const NVIDIA_DEVICE_IDENTITY_CA_PEM: &str =
    include_str!("../../roots/nvidia-device-identity-ca.pem");

const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// TCG DICE TcbInfo: the FWID of the firmware layer a DICE certificate was issued for.
const OID_TCG_DICE_TCB_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.5.4.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// A parsed device certificate chain, attestation key's certificate first.
#[derive(Debug, Clone)]
pub struct DeviceChain {
    certs: Vec<Cert>,
}

impl DeviceChain {
    /// Parse PEM (one block per certificate) or DER certificates back to back, as NVML returns them.
    pub fn parse(bytes: &[u8]) -> GpuResult<Self> {
        let certs = if bytes.starts_with(b"-----BEGIN") {
            parse_pem(bytes)?
        } else {
            split_der(bytes)?
                .into_iter()
                .enumerate()
                .map(|(i, der)| {
                    Cert::from_der(der).map_err(|e| GpuError::Certificate {
                        index: i,
                        detail: e.to_string(),
                    })
                })
                .collect::<GpuResult<Vec<_>>>()?
        };
        if certs.len() < 2 || certs.len() > MAX_CHAIN_DEPTH {
            return Err(GpuError::Chain(format!(
                "{} certificate(s); a device chain has 2 to {MAX_CHAIN_DEPTH}",
                certs.len()
            )));
        }
        Ok(DeviceChain { certs })
    }

    /// The certificates, attestation key's first.
    pub fn certs(&self) -> &[Cert] {
        &self.certs
    }

    /// Check every link and that the path ends at one of `roots`: the last certificate is one
    /// (byte equality) or was issued by one.
    /// `now` (unix seconds), when given, must lie in every certificate's validity.
    pub fn verify(&self, roots: &[Cert], now: Option<u64>) -> GpuResult<()> {
        let n = self.certs.len();
        let last = &self.certs[n - 1];
        // The root may be sent (NVIDIA's tools do) or left implied (RFC 5280: the trust anchor is
        // not part of the path); either way the path must end at a trusted root.
        let implied_root = if roots.iter().any(|r| r.der() == last.der()) {
            None
        } else {
            let issued_by = roots.iter().find(|r| {
                r.inner().tbs_certificate.subject == last.inner().tbs_certificate.issuer
                    && last.signed_by(r).is_ok()
            });
            match issued_by {
                Some(root) => Some(root),
                None => return Err(GpuError::UntrustedRoot(hex::encode(last.sha256()))),
            }
        };
        for (i, cert) in self.certs.iter().enumerate() {
            cert.check_time(now).map_err(|e| GpuError::Certificate {
                index: i,
                detail: e.to_string(),
            })?;
            let (issuer, issuer_index) = match (self.certs.get(i + 1), implied_root) {
                (Some(next), _) => (next, i + 1),
                (None, Some(root)) => (root, n),
                (None, None) => (cert, i),
            };
            if cert.inner().tbs_certificate.issuer != issuer.inner().tbs_certificate.subject {
                return Err(GpuError::Chain(format!(
                    "certificate {i} (\"{}\") is issued by \"{}\", not by certificate {issuer_index} (\"{}\")",
                    cert.inner().tbs_certificate.subject,
                    cert.inner().tbs_certificate.issuer,
                    issuer.inner().tbs_certificate.subject
                )));
            }
            if i > 0 && !cert.is_ca() {
                return Err(GpuError::Certificate {
                    index: i,
                    detail: "issues a certificate but is not a CA".into(),
                });
            }
            cert.signed_by(issuer).map_err(|e| GpuError::Certificate {
                index: i,
                detail: e.to_string(),
            })?;
        }
        if let Some(root) = implied_root {
            root.check_time(now).map_err(|e| GpuError::Certificate {
                index: n,
                detail: format!("trusted root: {e}"),
            })?;
        }
        let leaf = &self.certs[0];
        if let Some(ku) = extension(leaf, OID_KEY_USAGE) {
            let ku = x509_cert::ext::pkix::KeyUsage::from_der(ku).map_err(|e| {
                GpuError::Certificate {
                    index: 0,
                    detail: format!("key usage: {e}"),
                }
            })?;
            if !ku.digital_signature() {
                return Err(GpuError::Certificate {
                    index: 0,
                    detail: "the attestation key may not sign (no digitalSignature usage)".into(),
                });
            }
        }
        Ok(())
    }

    /// The root the chain ends at: its last certificate, or the trusted root that issued it.
    pub fn root<'a>(&'a self, roots: &'a [Cert]) -> &'a Cert {
        let last = &self.certs[self.certs.len() - 1];
        roots
            .iter()
            .find(|r| r.der() == last.der())
            .or_else(|| {
                roots.iter().find(|r| {
                    r.inner().tbs_certificate.subject == last.inner().tbs_certificate.issuer
                        && last.signed_by(r).is_ok()
                })
            })
            .unwrap_or(last)
    }

    /// The attestation key (P-384), from the first certificate.
    pub fn attestation_key(&self) -> GpuResult<p384::ecdsa::VerifyingKey> {
        let spki = &self.certs[0]
            .inner()
            .tbs_certificate
            .subject_public_key_info;
        let bad = |detail: &str| GpuError::Certificate {
            index: 0,
            detail: detail.to_string(),
        };
        if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(bad("the attestation key is not an EC key"));
        }
        let curve: Option<ObjectIdentifier> = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok());
        if curve != Some(OID_P384) {
            return Err(bad("the attestation key is not on P-384"));
        }
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("key bits are not whole bytes"))?;
        p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
            .map_err(|_| bad("the attestation key is not a P-384 point"))
    }

    /// The chip's identity: the subject serial number of the certificate that issued the
    /// attestation key (NVIDIA derives it from the chip's fused ID).
    pub fn device_serial(&self) -> GpuResult<String> {
        name_attribute(&self.certs[1], OID_SERIAL_NUMBER).ok_or_else(|| GpuError::Certificate {
            index: 1,
            detail: "the device certificate's subject has no serial number".into(),
        })
    }

    /// Common name of certificate `i`'s subject.
    pub fn common_name(&self, i: usize) -> Option<String> {
        self.certs
            .get(i)
            .and_then(|c| name_attribute(c, OID_COMMON_NAME))
    }

    /// The FWID (SHA-384) in the attestation key certificate's TCG DICE TcbInfo extension, if any.
    pub fn fwid(&self) -> GpuResult<Option<Vec<u8>>> {
        let Some(ext) = extension(&self.certs[0], OID_TCG_DICE_TCB_INFO) else {
            return Ok(None);
        };
        let bad = |e: String| GpuError::Certificate {
            index: 0,
            detail: format!("TcbInfo extension: {e}"),
        };
        let any = AnyRef::from_der(ext).map_err(|e| bad(e.to_string()))?;
        let mut found = Vec::new();
        collect_fwids(any, 0, &mut found).map_err(|e| bad(e.to_string()))?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            k => Err(bad(format!("{k} SHA-384 FWIDs, expected one"))),
        }
    }
}

fn parse_pem(bytes: &[u8]) -> GpuResult<Vec<Cert>> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| GpuError::Chain("PEM chain is not UTF-8".into()))?;
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        if !rest[..start].trim().is_empty() {
            return Err(GpuError::Chain("text between PEM blocks".into()));
        }
        let tail = &rest[start..];
        let end_marker = "-----END CERTIFICATE-----";
        let end = tail
            .find(end_marker)
            .ok_or_else(|| GpuError::Chain(format!("PEM block {} is not closed", certs.len())))?
            + end_marker.len();
        let (label, der) =
            der::pem::decode_vec(&tail.as_bytes()[..end]).map_err(|e| GpuError::Certificate {
                index: certs.len(),
                detail: format!("PEM: {e}"),
            })?;
        if label != "CERTIFICATE" {
            return Err(GpuError::Certificate {
                index: certs.len(),
                detail: format!("PEM label {label}, expected CERTIFICATE"),
            });
        }
        certs.push(Cert::from_der(&der).map_err(|e| GpuError::Certificate {
            index: certs.len(),
            detail: e.to_string(),
        })?);
        rest = &tail[end..];
    }
    if !rest.trim().is_empty() {
        return Err(GpuError::Chain("text after the last PEM block".into()));
    }
    Ok(certs)
}

/// Split DER certificates placed back to back (each a SEQUENCE with a definite length).
fn split_der(bytes: &[u8]) -> GpuResult<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let bad = |detail: &str| GpuError::Certificate {
            index: out.len(),
            detail: format!("DER at byte {pos}: {detail}"),
        };
        let rest = &bytes[pos..];
        if rest[0] != 0x30 || rest.len() < 2 {
            return Err(bad("not a SEQUENCE"));
        }
        let (header, len) = match rest[1] {
            l @ 0..=0x7f => (2, l as usize),
            0x81 if rest.len() >= 3 => (3, rest[2] as usize),
            0x82 if rest.len() >= 4 => (4, u16::from_be_bytes([rest[2], rest[3]]) as usize),
            _ => return Err(bad("length form not allowed")),
        };
        let total = header + len;
        if total > MAX_CERT_SIZE || total > rest.len() {
            return Err(bad("length past the end"));
        }
        out.push(&rest[..total]);
        pos += total;
        if out.len() > MAX_CHAIN_DEPTH {
            break;
        }
    }
    Ok(out)
}

fn extension(cert: &Cert, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.inner()
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn name_attribute(cert: &Cert, oid: ObjectIdentifier) -> Option<String> {
    for rdn in cert.inner().tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == oid {
                if let Ok(s) = atv.value.decode_as::<der::asn1::PrintableStringRef<'_>>() {
                    return Some(s.as_str().to_string());
                }
                if let Ok(s) = atv.value.decode_as::<der::asn1::Utf8StringRef<'_>>() {
                    return Some(s.as_str().to_string());
                }
            }
        }
    }
    None
}

/// Collect every `SEQUENCE { hashAlg sha384, digest OCTET STRING (48) }` in the extension value,
/// at any depth up to 4: NVIDIA's TcbInfo nests it directly, DICE's `[6] fwids` one level down.
fn collect_fwids(any: AnyRef<'_>, depth: usize, out: &mut Vec<Vec<u8>>) -> der::Result<()> {
    let constructed = any.tag() == Tag::Sequence
        || any.tag() == Tag::Set
        || (any.tag().is_context_specific() && any.tag().is_constructed());
    if !constructed || depth > 4 {
        return Ok(());
    }
    let mut reader = der::SliceReader::new(any.value())?;
    let mut children = Vec::new();
    while !reader.is_finished() {
        children.push(reader.decode::<AnyRef<'_>>()?);
    }
    if any.tag() == Tag::Sequence && children.len() == 2 {
        let (alg, digest) = (children[0], children[1]);
        if alg.tag() == Tag::ObjectIdentifier
            && digest.tag() == Tag::OctetString
            && alg.decode_as::<ObjectIdentifier>().ok() == Some(OID_SHA384)
            && digest.value().len() == FWID_LEN
        {
            out.push(digest.value().to_vec());
            return Ok(());
        }
    }
    for child in children {
        collect_fwids(child, depth + 1, out)?;
    }
    Ok(())
}
