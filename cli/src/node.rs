//! The node's TPM session: open the configured TPM or start a private software TPM, EK + certificate, AK, and
//! local enrollment (the registrar's MakeCredential and the node's ActivateCredential in one process) for the
//! embedded default.

use crate::error::{CliError, CliResult};
use cuproof_attest::{EkTrust, EnrollmentRequest, EnrollmentResponse, NodeRecord, RegistrarPolicy};
use cuproof_core::receipt::{NodeIdentity, PcrValue as ReceiptPcr, TpmKind, TpmQuote};
use cuproof_tpm::{swtpm::Swtpm, Ak, AkType, Ek, EkType, HashAlg, Tpm};

/// Boot/driver PCRs quoted with the job PCR.
pub const BOOT_PCRS: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

/// An open TPM with its keys loaded.
pub struct NodeSession {
    /// The TPM.
    pub tpm: Tpm,
    /// The private software TPM, when one was started (kept alive with the session).
    pub swtpm: Option<Swtpm>,
    /// Software or hardware.
    pub kind: TpmKind,
    /// Endorsement key.
    pub ek: Ek,
    /// EK certificate (DER), empty if the TPM has none.
    pub ek_cert: Vec<u8>,
    /// Attestation key.
    pub ak: Ak,
}

fn tpm_err(e: impl std::fmt::Display) -> CliError {
    CliError::env(format!("TPM: {e}"))
}

impl NodeSession {
    /// Open the configured TPM (CUPROOF_TCTI, TPM2TOOLS_TCTI, TCTI, /dev/tpmrm0), or start a private swtpm when
    /// none is configured; create the EK and a fresh AK (or load the AK from `ak_file`).
    pub fn open(ak_file: Option<&std::path::Path>) -> CliResult<Self> {
        let (mut tpm, swtpm, kind) = cuproof_tpm::open_or_start_swtpm().map_err(tpm_err)?;
        let kind = match kind {
            cuproof_attest::TpmKind::Hardware => TpmKind::Hardware,
            _ => TpmKind::Software,
        };
        let ek = tpm.endorsement_key(EkType::Rsa2048).map_err(tpm_err)?;
        let ek_cert = tpm.ek_certificate(EkType::Rsa2048).unwrap_or_default();
        let blob = match ak_file {
            Some(p) => cuproof_tpm::akfile::load(p)
                .map_err(|e| CliError::input(format!("AK file {}: {e}", p.display())))?,
            None => tpm.create_ak(&ek, AkType::Rsa2048Sha256).map_err(tpm_err)?,
        };
        let ak = tpm.load_ak(&ek, &blob).map_err(tpm_err)?;
        Ok(NodeSession {
            tpm,
            swtpm,
            kind,
            ek,
            ek_cert,
            ak,
        })
    }

    /// The enrollment request (EK public, EK certificate, AK public).
    pub fn enrollment_request(&self) -> EnrollmentRequest {
        EnrollmentRequest {
            ek_public: self.ek.public.clone(),
            ek_cert: if self.ek_cert.is_empty() {
                None
            } else {
                Some(self.ek_cert.clone())
            },
            ak_public: self.ak.public.clone(),
        }
    }

    /// The EK trust anchors of this node's own software TPM (its per-instance local CA), if any.
    pub fn local_ca_trust(&self) -> CliResult<EkTrust> {
        let mut trust = EkTrust::default();
        if let Some(sw) = &self.swtpm {
            let root = sw.ca_root_pem().map_err(tpm_err)?;
            trust
                .add_roots(&root, cuproof_attest::TpmKind::Software)
                .map_err(tpm_err)?;
            if let Ok(inter) = sw.ca_intermediate_pem() {
                let _ = trust.add_intermediates(&inter);
            }
        }
        Ok(trust)
    }

    /// Enroll against a registrar in this process: MakeCredential (registrar, pure Rust) → ActivateCredential
    /// (this TPM) → the registrar's node record.
    pub fn enroll_locally(&mut self, trust: EkTrust) -> CliResult<NodeRecord> {
        let policy = RegistrarPolicy {
            trust,
            allow_uncertified: false,
        };
        let (challenge, pending) = cuproof_attest::start_enrollment(
            &self.enrollment_request(),
            &policy,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| CliError::invalid(format!("enrollment refused: {e}")))?;
        let credential = self
            .tpm
            .activate_credential(
                &self.ek,
                &self.ak,
                &challenge.id_object,
                &challenge.encrypted_secret,
            )
            .map_err(tpm_err)?;
        pending
            .finish(&EnrollmentResponse { credential }, now_unix())
            .map_err(|e| CliError::invalid(format!("enrollment failed: {e}")))
    }

    /// The receipt's node identity.
    pub fn identity(&self, label: &str) -> NodeIdentity {
        NodeIdentity {
            label: label.to_string(),
            tpm: self.kind,
            ek_public: self.ek.public.clone(),
            ek_cert: self.ek_cert.clone(),
            ak_public: self.ak.public.clone(),
        }
    }

    /// Extend a checkpoint digest into the job PCR.
    pub fn extend(&mut self, pcr: u8, digest: &[u8; 32]) -> CliResult<()> {
        self.tpm.extend(pcr, digest).map_err(tpm_err)
    }

    /// Reset the job PCR before a job (PCR 23 is resettable from locality 0).
    pub fn reset(&mut self, pcr: u8) -> CliResult<()> {
        self.tpm.reset_pcr(pcr).map_err(tpm_err)
    }

    /// Quote the boot PCRs and the job PCR with the given qualifying data.
    pub fn quote(&mut self, purpose: &str, job_pcr: u8, qualifying: &[u8]) -> CliResult<TpmQuote> {
        let mut pcrs = BOOT_PCRS.to_vec();
        pcrs.push(job_pcr);
        let q = self
            .tpm
            .quote(&self.ak, HashAlg::Sha256, &pcrs, qualifying)
            .map_err(tpm_err)?;
        Ok(TpmQuote {
            purpose: purpose.to_string(),
            attest: q.attest,
            signature: q.signature,
            pcrs: q
                .pcrs
                .into_iter()
                .map(|p| ReceiptPcr {
                    bank: p.bank,
                    index: p.index,
                    value: p.value,
                })
                .collect(),
        })
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
