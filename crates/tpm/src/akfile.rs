//! AK key file: the TPM-wrapped AK (public + EK-wrapped private), created with mode 0600.
//!
//! Format (binary, big-endian): `"CUPROOF-AK\x00\x01"` (12 bytes) ‖ u8 EK type (1 RSA-2048,
//! 2 ECC P-256, 3 ECC P-384) ‖ TPM2B_PUBLIC ‖ TPM2B_PRIVATE. No byte of the AK's private key
//! exists outside the TPM in clear: the private blob is encrypted under the EK's storage key.

use crate::error::{Result, TpmError};
use crate::{AkBlob, EkType};
use cuproof_attest::wire::{put_tpm2b, Reader};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 12] = b"CUPROOF-AK\x00\x01";

/// Serialize an AK blob.
pub fn encode(blob: &AkBlob) -> Result<Vec<u8>> {
    let mut out = MAGIC.to_vec();
    out.push(blob.ek_type.code());
    put_tpm2b(
        &mut out,
        "AK public",
        cuproof_attest::wire::untpm2b("AK public", &blob.public)?,
    )?;
    put_tpm2b(&mut out, "AK private", &blob.private)?;
    Ok(out)
}

/// Parse an AK file strictly.
pub fn decode(bytes: &[u8]) -> Result<AkBlob> {
    let mut r = Reader::new(bytes);
    let magic = r.take(MAGIC.len(), "AK file magic")?;
    if magic != MAGIC {
        return Err(TpmError::Invalid("not a cuproof AK file".into()));
    }
    let ek_type = EkType::from_code(r.u8("AK file EK type")?)
        .ok_or_else(|| TpmError::Invalid("AK file: unknown EK type".into()))?;
    let public = r.tpm2b("AK public", 1024)?;
    let private = r.tpm2b("AK private", 1024)?.to_vec();
    r.finish("AK file")?;
    let public = cuproof_attest::wire::tpm2b("AK public", public)?;
    cuproof_attest::PublicArea::from_tpm2b(&public)?;
    Ok(AkBlob {
        ek_type,
        public,
        private,
    })
}

/// Write a new AK file with mode 0600 (fails if it exists).
pub fn save(path: &Path, blob: &AkBlob) -> Result<()> {
    let bytes = encode(blob)?;
    let io = |e| TpmError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(&bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Read an AK file.
pub fn load(path: &Path) -> Result<AkBlob> {
    let bytes = std::fs::read(path).map_err(|e| TpmError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    decode(&bytes)
}
