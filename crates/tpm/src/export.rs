//! Export a quote in tpm2-tools' file formats so that anyone can run
//! `tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q <hex>`.

use crate::error::{Result, TpmError};
use crate::Quote;
use cuproof_attest::public::{KeyParams, PublicArea};
use std::path::{Path, PathBuf};

/// Paths of the exported files.
#[derive(Debug, Clone)]
pub struct ExportedQuote {
    /// TPMS_ATTEST bytes (`tpm2_quote -m`).
    pub message: PathBuf,
    /// TPMT_SIGNATURE bytes (`tpm2_quote -s`).
    pub signature: PathBuf,
    /// PCR file (`tpm2_quote -o`).
    pub pcrs: PathBuf,
    /// AK public, TPM2B_PUBLIC (tss format, `tpm2_createak -u`).
    pub ak_public: PathBuf,
    /// AK public key, PEM (SubjectPublicKeyInfo).
    pub ak_pem: PathBuf,
}

/// The AK public key as PEM SubjectPublicKeyInfo.
pub fn public_key_pem(area: &PublicArea) -> Result<String> {
    match &area.params {
        KeyParams::Rsa { .. } => {
            use rsa::pkcs8::EncodePublicKey;
            area.rsa_public_key()?
                .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|e| TpmError::Invalid(format!("PEM: {e}")))
        }
        KeyParams::Ecc { .. } => {
            use p256::pkcs8::EncodePublicKey;
            let (curve, point) = area.ecc_point()?;
            match curve {
                cuproof_attest::alg::TPM_ECC_NIST_P256 => p256::PublicKey::from_sec1_bytes(&point)
                    .map_err(|_| TpmError::Invalid("AK point".into()))?
                    .to_public_key_pem(p256::pkcs8::LineEnding::LF)
                    .map_err(|e| TpmError::Invalid(format!("PEM: {e}"))),
                cuproof_attest::alg::TPM_ECC_NIST_P384 => p384::PublicKey::from_sec1_bytes(&point)
                    .map_err(|_| TpmError::Invalid("AK point".into()))?
                    .to_public_key_pem(p384::pkcs8::LineEnding::LF)
                    .map_err(|e| TpmError::Invalid(format!("PEM: {e}"))),
                other => Err(TpmError::Invalid(format!("curve 0x{other:04x}"))),
            }
        }
    }
}

/// Write `quote.msg`, `quote.sig`, `quote.pcrs`, `ak.pub`, `ak.pem` into `dir`.
pub fn write_tpm2_quote_files(
    dir: &Path,
    quote: &Quote,
    ak_public: &[u8],
) -> Result<ExportedQuote> {
    let area = PublicArea::from_tpm2b(ak_public)?;
    let out = ExportedQuote {
        message: dir.join("quote.msg"),
        signature: dir.join("quote.sig"),
        pcrs: dir.join("quote.pcrs"),
        ak_public: dir.join("ak.pub"),
        ak_pem: dir.join("ak.pem"),
    };
    let pcr_file = cuproof_attest::tpm2tools::write_pcr_file(&quote.selection, &quote.pcrs)?;
    let pem = public_key_pem(&area)?;
    for (p, bytes) in [
        (&out.message, quote.attest.as_slice()),
        (&out.signature, quote.signature.as_slice()),
        (&out.pcrs, pcr_file.as_slice()),
        (&out.ak_public, ak_public),
        (&out.ak_pem, pem.as_bytes()),
    ] {
        std::fs::write(p, bytes).map_err(|e| TpmError::Io {
            path: p.display().to_string(),
            source: e,
        })?;
    }
    Ok(out)
}
