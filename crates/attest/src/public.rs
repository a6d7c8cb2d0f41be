//! TPM2B_PUBLIC / TPMT_PUBLIC (RSA and ECC keys), names and qualified names.

use crate::alg::*;
use crate::error::{Error, Result};
use crate::wire::{put_tpm2b, put_u16, put_u32, Reader};

/// Largest TPMT_PUBLIC we accept (the TPM's own buffer is smaller than this).
pub const MAX_PUBLIC_SIZE: usize = 1024;
/// Largest digest (TPMU_HA) size.
pub const MAX_DIGEST_SIZE: usize = 64;
/// Largest RSA modulus in bytes (RSA-4096).
pub const MAX_RSA_KEY_BYTES: usize = 512;
/// Largest ECC coordinate in bytes (P-521).
pub const MAX_ECC_KEY_BYTES: usize = 66;

/// TPMA_OBJECT bits.
pub mod attrs {
    /// fixedTPM.
    pub const FIXED_TPM: u32 = 1 << 1;
    /// stClear.
    pub const ST_CLEAR: u32 = 1 << 2;
    /// fixedParent.
    pub const FIXED_PARENT: u32 = 1 << 4;
    /// sensitiveDataOrigin.
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    /// userWithAuth.
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    /// adminWithPolicy.
    pub const ADMIN_WITH_POLICY: u32 = 1 << 7;
    /// noDA.
    pub const NO_DA: u32 = 1 << 10;
    /// encryptedDuplication.
    pub const ENCRYPTED_DUPLICATION: u32 = 1 << 11;
    /// restricted.
    pub const RESTRICTED: u32 = 1 << 16;
    /// decrypt.
    pub const DECRYPT: u32 = 1 << 17;
    /// sign / encrypt.
    pub const SIGN_ENCRYPT: u32 = 1 << 18;
    /// Bits that the specification reserves (must be clear).
    pub const RESERVED: u32 = 1 | (1 << 3) | (0b11 << 8) | (0b1111 << 12) | (0xFFF0 << 16);
}

/// TPMT_SYM_DEF_OBJECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymDef {
    /// Algorithm (TPM_ALG_NULL when none).
    pub alg: u16,
    /// Key size in bits (0 when NULL).
    pub key_bits: u16,
    /// Mode (TPM_ALG_NULL when NULL).
    pub mode: u16,
}

/// An algorithm scheme: scheme id plus its hash (TPM_ALG_NULL when the scheme is NULL or has no hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// TPM_ALG_ID of the scheme.
    pub scheme: u16,
    /// TPM_ALG_ID of the hash, TPM_ALG_NULL when absent.
    pub hash: u16,
    /// ECDAA count (0 otherwise).
    pub count: u16,
}

/// Key-type specific part of a public area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParams {
    /// RSA key.
    Rsa {
        /// Symmetric definition (for storage/decrypt keys).
        symmetric: SymDef,
        /// Signing or encryption scheme.
        scheme: Scheme,
        /// Modulus size in bits.
        key_bits: u16,
        /// Public exponent as stored (0 means 65537).
        exponent: u32,
        /// Modulus bytes (big-endian).
        modulus: Vec<u8>,
    },
    /// ECC key.
    Ecc {
        /// Symmetric definition.
        symmetric: SymDef,
        /// Scheme.
        scheme: Scheme,
        /// TPM_ECC_CURVE.
        curve: u16,
        /// KDF scheme.
        kdf: Scheme,
        /// X coordinate.
        x: Vec<u8>,
        /// Y coordinate.
        y: Vec<u8>,
    },
}

/// A parsed TPMT_PUBLIC that keeps its exact marshalled bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicArea {
    /// TPMI_ALG_PUBLIC (RSA or ECC).
    pub alg_type: u16,
    /// nameAlg.
    pub name_alg: HashAlg,
    /// objectAttributes.
    pub attributes: u32,
    /// authPolicy digest.
    pub auth_policy: Vec<u8>,
    /// Parameters and unique field.
    pub params: KeyParams,
    raw: Vec<u8>,
}

fn parse_symdef(r: &mut Reader<'_>) -> Result<SymDef> {
    let alg = r.u16("symmetric.algorithm")?;
    match alg {
        TPM_ALG_NULL => Ok(SymDef {
            alg,
            key_bits: 0,
            mode: TPM_ALG_NULL,
        }),
        TPM_ALG_AES | TPM_ALG_SM4 | TPM_ALG_CAMELLIA => {
            let key_bits = r.u16("symmetric.keyBits")?;
            let mode = r.u16("symmetric.mode")?;
            if !matches!(key_bits, 128 | 192 | 256) {
                return Err(Error::invalid(
                    "symmetric.keyBits",
                    format!("{key_bits} bits"),
                ));
            }
            Ok(SymDef {
                alg,
                key_bits,
                mode,
            })
        }
        other => Err(Error::UnsupportedAlgorithm {
            what: "symmetric",
            alg: other,
        }),
    }
}

fn parse_scheme(r: &mut Reader<'_>, what: &'static str, allowed: &[u16]) -> Result<Scheme> {
    let scheme = r.u16(what)?;
    if scheme == TPM_ALG_NULL {
        return Ok(Scheme {
            scheme,
            hash: TPM_ALG_NULL,
            count: 0,
        });
    }
    if !allowed.contains(&scheme) {
        return Err(Error::UnsupportedAlgorithm { what, alg: scheme });
    }
    if scheme == TPM_ALG_RSAES {
        return Ok(Scheme {
            scheme,
            hash: TPM_ALG_NULL,
            count: 0,
        });
    }
    let hash = r.u16(what)?;
    let count = if scheme == TPM_ALG_ECDAA {
        r.u16(what)?
    } else {
        0
    };
    Ok(Scheme {
        scheme,
        hash,
        count,
    })
}

fn put_symdef(out: &mut Vec<u8>, s: &SymDef) {
    put_u16(out, s.alg);
    if s.alg != TPM_ALG_NULL {
        put_u16(out, s.key_bits);
        put_u16(out, s.mode);
    }
}

fn put_scheme(out: &mut Vec<u8>, s: &Scheme) {
    put_u16(out, s.scheme);
    if s.scheme != TPM_ALG_NULL && s.scheme != TPM_ALG_RSAES {
        put_u16(out, s.hash);
        if s.scheme == TPM_ALG_ECDAA {
            put_u16(out, s.count);
        }
    }
}

const RSA_SCHEMES: &[u16] = &[TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_RSAES, TPM_ALG_OAEP];
const ECC_SCHEMES: &[u16] = &[
    TPM_ALG_ECDSA,
    TPM_ALG_ECDH,
    TPM_ALG_ECDAA,
    TPM_ALG_SM2,
    TPM_ALG_ECSCHNORR,
    TPM_ALG_ECMQV,
];
const KDF_SCHEMES: &[u16] = &[
    TPM_ALG_MGF1,
    TPM_ALG_KDF1_SP800_56A,
    TPM_ALG_KDF2,
    TPM_ALG_KDF1_SP800_108,
];

impl PublicArea {
    /// Parse a TPMT_PUBLIC (no size prefix); all bytes must be consumed.
    pub fn from_tpmt(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_PUBLIC_SIZE {
            return Err(Error::SizeOutOfRange {
                what: "TPMT_PUBLIC",
                size: bytes.len(),
                max: MAX_PUBLIC_SIZE,
            });
        }
        let mut r = Reader::new(bytes);
        let alg_type = r.u16("TPMT_PUBLIC.type")?;
        let name_alg = HashAlg::from_alg_id(r.u16("TPMT_PUBLIC.nameAlg")?)?;
        let attributes = r.u32("TPMT_PUBLIC.objectAttributes")?;
        if attributes & attrs::RESERVED != 0 {
            return Err(Error::invalid(
                "TPMT_PUBLIC.objectAttributes",
                format!("reserved bits set: 0x{attributes:08x}"),
            ));
        }
        let auth_policy = r.tpm2b("TPMT_PUBLIC.authPolicy", MAX_DIGEST_SIZE)?.to_vec();
        if !auth_policy.is_empty() && auth_policy.len() != name_alg.size() {
            return Err(Error::invalid(
                "TPMT_PUBLIC.authPolicy",
                "length differs from the nameAlg digest size",
            ));
        }
        let params = match alg_type {
            TPM_ALG_RSA => {
                let symmetric = parse_symdef(&mut r)?;
                let scheme = parse_scheme(&mut r, "RSA scheme", RSA_SCHEMES)?;
                let key_bits = r.u16("RSA keyBits")?;
                if !matches!(key_bits, 1024 | 2048 | 3072 | 4096) {
                    return Err(Error::invalid("RSA keyBits", format!("{key_bits}")));
                }
                let exponent = r.u32("RSA exponent")?;
                let modulus = r.tpm2b("RSA unique", MAX_RSA_KEY_BYTES)?.to_vec();
                if !modulus.is_empty() && modulus.len() != key_bits as usize / 8 {
                    return Err(Error::invalid(
                        "RSA unique",
                        "modulus length differs from keyBits",
                    ));
                }
                KeyParams::Rsa {
                    symmetric,
                    scheme,
                    key_bits,
                    exponent,
                    modulus,
                }
            }
            TPM_ALG_ECC => {
                let symmetric = parse_symdef(&mut r)?;
                let scheme = parse_scheme(&mut r, "ECC scheme", ECC_SCHEMES)?;
                let curve = r.u16("ECC curveID")?;
                let kdf = parse_scheme(&mut r, "ECC kdf", KDF_SCHEMES)?;
                let x = r.tpm2b("ECC unique.x", MAX_ECC_KEY_BYTES)?.to_vec();
                let y = r.tpm2b("ECC unique.y", MAX_ECC_KEY_BYTES)?.to_vec();
                KeyParams::Ecc {
                    symmetric,
                    scheme,
                    curve,
                    kdf,
                    x,
                    y,
                }
            }
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "TPMT_PUBLIC.type",
                    alg: other,
                })
            }
        };
        r.finish("TPMT_PUBLIC")?;
        Ok(PublicArea {
            alg_type,
            name_alg,
            attributes,
            auth_policy,
            params,
            raw: bytes.to_vec(),
        })
    }

    /// Parse a TPM2B_PUBLIC (u16 size then TPMT_PUBLIC); all bytes must be consumed.
    pub fn from_tpm2b(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let inner = r.tpm2b("TPM2B_PUBLIC", MAX_PUBLIC_SIZE)?;
        r.finish("TPM2B_PUBLIC")?;
        if inner.is_empty() {
            return Err(Error::invalid("TPM2B_PUBLIC", "empty"));
        }
        Self::from_tpmt(inner)
    }

    /// Build and marshal a public area from its parts (used by tests and tools).
    pub fn build(
        name_alg: HashAlg,
        attributes: u32,
        auth_policy: &[u8],
        params: KeyParams,
    ) -> Result<Self> {
        let mut out = Vec::new();
        let alg_type = match &params {
            KeyParams::Rsa { .. } => TPM_ALG_RSA,
            KeyParams::Ecc { .. } => TPM_ALG_ECC,
        };
        put_u16(&mut out, alg_type);
        put_u16(&mut out, name_alg.alg_id());
        put_u32(&mut out, attributes);
        put_tpm2b(&mut out, "authPolicy", auth_policy)?;
        match &params {
            KeyParams::Rsa {
                symmetric,
                scheme,
                key_bits,
                exponent,
                modulus,
            } => {
                put_symdef(&mut out, symmetric);
                put_scheme(&mut out, scheme);
                put_u16(&mut out, *key_bits);
                put_u32(&mut out, *exponent);
                put_tpm2b(&mut out, "RSA unique", modulus)?;
            }
            KeyParams::Ecc {
                symmetric,
                scheme,
                curve,
                kdf,
                x,
                y,
            } => {
                put_symdef(&mut out, symmetric);
                put_scheme(&mut out, scheme);
                put_u16(&mut out, *curve);
                put_scheme(&mut out, kdf);
                put_tpm2b(&mut out, "ECC x", x)?;
                put_tpm2b(&mut out, "ECC y", y)?;
            }
        }
        Self::from_tpmt(&out)
    }

    /// The exact TPMT_PUBLIC bytes.
    pub fn tpmt_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The TPM2B_PUBLIC encoding.
    pub fn tpm2b_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.raw.len() + 2);
        // raw.len() <= MAX_PUBLIC_SIZE, which fits u16.
        put_u16(&mut v, self.raw.len() as u16);
        v.extend_from_slice(&self.raw);
        v
    }

    /// The object's Name: nameAlg (u16) ‖ H_nameAlg(TPMT_PUBLIC).
    pub fn name(&self) -> Vec<u8> {
        let mut n = self.name_alg.alg_id().to_be_bytes().to_vec();
        n.extend_from_slice(&self.name_alg.digest(&self.raw));
        n
    }

    /// Qualified name of this object given its parent's qualified name
    /// (for a primary key, the parent's qualified name is the 4-byte hierarchy handle):
    /// QN = nameAlg ‖ H_nameAlg(QN_parent ‖ Name).
    pub fn qualified_name(&self, parent_qualified_name: &[u8]) -> Vec<u8> {
        let mut n = self.name_alg.alg_id().to_be_bytes().to_vec();
        n.extend_from_slice(
            &self
                .name_alg
                .digest_parts(&[parent_qualified_name, &self.name()]),
        );
        n
    }

    /// Qualified name of a key created directly under the primary EK given its EK (primary in the
    /// endorsement hierarchy).
    pub fn qualified_name_under_ek(&self, ek: &PublicArea) -> Vec<u8> {
        let ek_qn = ek.qualified_name(&TPM_RH_ENDORSEMENT.to_be_bytes());
        self.qualified_name(&ek_qn)
    }

    /// Whether all of the attribute bits in `mask` are set.
    pub fn has(&self, mask: u32) -> bool {
        self.attributes & mask == mask
    }

    /// The signing/encryption scheme declared in the public area.
    pub fn scheme(&self) -> Scheme {
        match &self.params {
            KeyParams::Rsa { scheme, .. } | KeyParams::Ecc { scheme, .. } => *scheme,
        }
    }

    /// The symmetric definition (the EK's credential-protection cipher).
    pub fn symmetric(&self) -> SymDef {
        match &self.params {
            KeyParams::Rsa { symmetric, .. } | KeyParams::Ecc { symmetric, .. } => *symmetric,
        }
    }

    /// RSA public key (for RSA areas).
    pub fn rsa_public_key(&self) -> Result<rsa::RsaPublicKey> {
        match &self.params {
            KeyParams::Rsa {
                exponent, modulus, ..
            } => {
                if modulus.is_empty() {
                    return Err(Error::invalid("RSA unique", "empty modulus"));
                }
                let e = if *exponent == 0 { 65537 } else { *exponent };
                rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(modulus), rsa::BigUint::from(e))
                    .map_err(|e| Error::Crypto(format!("RSA public key: {e}")))
            }
            KeyParams::Ecc { .. } => Err(Error::KeyMismatch("not an RSA key".into())),
        }
    }

    /// Uncompressed SEC1 point (0x04 ‖ X ‖ Y) padded to the curve size, and the curve id.
    pub fn ecc_point(&self) -> Result<(u16, Vec<u8>)> {
        match &self.params {
            KeyParams::Ecc { curve, x, y, .. } => {
                let size = match *curve {
                    TPM_ECC_NIST_P256 => 32,
                    TPM_ECC_NIST_P384 => 48,
                    other => {
                        return Err(Error::UnsupportedAlgorithm {
                            what: "ECC curve",
                            alg: other,
                        })
                    }
                };
                let mut p = vec![4u8];
                p.extend_from_slice(&pad_left(x, size, "ECC x")?);
                p.extend_from_slice(&pad_left(y, size, "ECC y")?);
                Ok((*curve, p))
            }
            KeyParams::Rsa { .. } => Err(Error::KeyMismatch("not an ECC key".into())),
        }
    }
}

/// Left-pad a big-endian integer to `size` bytes; fails when it is longer (after stripping zeros).
pub(crate) fn pad_left(v: &[u8], size: usize, what: &'static str) -> Result<Vec<u8>> {
    let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    let v = &v[start..];
    if v.len() > size {
        return Err(Error::SizeOutOfRange {
            what,
            size: v.len(),
            max: size,
        });
    }
    let mut out = vec![0u8; size - v.len()];
    out.extend_from_slice(v);
    Ok(out)
}

/// Parse a TPM2B_NAME's contents: empty, a 4-byte handle, or nameAlg ‖ digest of that size.
pub fn check_name(name: &[u8]) -> Result<()> {
    match name.len() {
        0 | 4 => Ok(()),
        n if n >= 2 => {
            let alg = u16::from_be_bytes([name[0], name[1]]);
            let h = HashAlg::from_alg_id(alg)?;
            if n - 2 != h.size() {
                return Err(Error::invalid(
                    "TPM2B_NAME",
                    "digest length differs from alg",
                ));
            }
            Ok(())
        }
        _ => Err(Error::invalid("TPM2B_NAME", "length 1")),
    }
}

/// Parse a marshalled TPM2B_NAME (size prefix included); all bytes must be consumed.
pub fn parse_tpm2b_name(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut r = Reader::new(bytes);
    let n = r.tpm2b("TPM2B_NAME", 2 + MAX_DIGEST_SIZE)?;
    r.finish("TPM2B_NAME")?;
    check_name(n)?;
    Ok(n.to_vec())
}
