//! Node side of enrollment as files: identity preparation, challenge answer, JSON file I/O.
//!
//! Files: `enroll-request.json` (node → registrar), `enroll-challenge.json` (registrar → node),
//! `enroll-response.json` (node → registrar), `node-record.json` (registrar's record), and the
//! node's AK key file (mode 0600, see [`crate::akfile`]).

use crate::error::{Result, TpmError};
use crate::{akfile, Ak, AkType, Ek, EkType, Tpm};
use cuproof_attest::{EnrollmentChallenge, EnrollmentRequest, EnrollmentResponse};
use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::path::Path;

/// The node's loaded identity: EK (+ certificate when the TPM has one) and AK.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// The endorsement key (loaded).
    pub ek: Ek,
    /// The EK certificate (DER) read from NV, if provisioned.
    pub ek_cert: Option<Vec<u8>>,
    /// The attestation key (loaded).
    pub ak: Ak,
}

impl NodeIdentity {
    /// The enrollment request for this identity.
    pub fn request(&self) -> EnrollmentRequest {
        EnrollmentRequest {
            ek_public: self.ek.public.clone(),
            ek_cert: self.ek_cert.clone(),
            ak_public: self.ak.public.clone(),
        }
    }
}

impl Tpm {
    fn ek_cert_opt(&mut self, ek_type: EkType) -> Result<Option<Vec<u8>>> {
        match self.ek_certificate(ek_type) {
            Ok(c) => Ok(Some(c)),
            Err(TpmError::NoEkCert(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create a new AK under the EK, save it to `ak_file` (created 0600, must not exist) and
    /// load it. Returns the identity; its [`NodeIdentity::request`] goes to the registrar.
    pub fn new_identity(
        &mut self,
        ek_type: EkType,
        ak_type: AkType,
        ak_file: &Path,
    ) -> Result<NodeIdentity> {
        let ek = self.endorsement_key(ek_type)?;
        let ek_cert = self.ek_cert_opt(ek_type)?;
        let blob = self.create_ak(&ek, ak_type)?;
        akfile::save(ak_file, &blob)?;
        let ak = self.load_ak(&ek, &blob)?;
        Ok(NodeIdentity { ek, ek_cert, ak })
    }

    /// Load an identity made earlier by [`Tpm::new_identity`] from its AK file.
    pub fn load_identity(&mut self, ak_file: &Path) -> Result<NodeIdentity> {
        let blob = akfile::load(ak_file)?;
        let ek = self.endorsement_key(blob.ek_type)?;
        let ek_cert = self.ek_cert_opt(blob.ek_type)?;
        let ak = self.load_ak(&ek, &blob)?;
        Ok(NodeIdentity { ek, ek_cert, ak })
    }

    /// Answer the registrar's challenge with TPM2_ActivateCredential.
    pub fn answer_challenge(
        &mut self,
        id: &NodeIdentity,
        challenge: &EnrollmentChallenge,
    ) -> Result<EnrollmentResponse> {
        let credential = self.activate_credential(
            &id.ek,
            &id.ak,
            &challenge.id_object,
            &challenge.encrypted_secret,
        )?;
        Ok(EnrollmentResponse { credential })
    }
}

/// Largest JSON file read (1 MiB).
pub const MAX_JSON_FILE: u64 = 1 << 20;

/// Write `value` as pretty JSON, atomically (temporary file in the same directory, then rename),
/// so that no partial file is ever left behind.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |e: std::io::Error| TpmError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| TpmError::Invalid(format!("{}: {e}", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Read a JSON file (≤ [`MAX_JSON_FILE`] bytes) strictly into `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let io = |e: std::io::Error| TpmError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_JSON_FILE {
        return Err(TpmError::Invalid(format!(
            "{}: larger than {MAX_JSON_FILE} bytes",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| TpmError::Invalid(format!("{}: {e}", path.display())))
}
