//! The node's TPM session: open the configured TPM or start a private software TPM, EK + certificate, AK,
//! local enrollment (the registrar's MakeCredential and the node's ActivateCredential in one process), the job
//! PCR (reset, extend) and quotes in the receipt's format.
//!
//! A [`NodeSession`] is what a [`crate::job::MeasuredJob`] extends its checkpoints into and quotes with. The TPM
//! is the one named by `CUPROOF_TCTI`, `TPM2TOOLS_TCTI` or `TCTI`, else `/dev/tpmrm0`; when none is configured a
//! private `swtpm` is started for the session (the receipt then says `tpm = software`, and a production policy
//! rejects it).
//!
//! ```no_run
//! use cuproof::node::NodeSession;
//! let mut node = NodeSession::open(None)?;           // configured TPM or a private swtpm
//! let record = node.enroll_locally(node.local_ca_trust()?)?; // development enrollment
//! # let _ = record;
//! # Ok::<(), cuproof::node::NodeError>(())
//! ```

use cuproof_attest::{EkTrust, EnrollmentRequest, EnrollmentResponse, NodeRecord, RegistrarPolicy};
use cuproof_core::receipt::{NodeIdentity, PcrValue as ReceiptPcr, TpmKind, TpmQuote};
use cuproof_tpm::{swtpm::Swtpm, Ak, AkType, Ek, EkType, HashAlg, Tpm, TpmError};

/// Boot/driver PCRs quoted with the job PCR: the firmware's 0–7, the boot loader's 8–9 (GRUB: commands, kernel
/// command line, files read) and IMA's 10.
pub const BOOT_PCRS: [u8; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/// Errors of the node session.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A TPM command, the TPM transport or the private swtpm failed.
    #[error("TPM: {0}")]
    Tpm(#[from] TpmError),
    /// The AK key file could not be read.
    #[error("AK file {path}: {source}")]
    AkFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: TpmError,
    },
    /// The boot event log or IMA list named by `CUPROOF_BOOT_LOG` / `CUPROOF_IMA_LOG` could not be read.
    #[error("{path}: {why}")]
    BootLog {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// The registrar refused the enrollment request or the credential answer.
    #[error("enrollment: {0}")]
    Enrollment(#[from] cuproof_attest::Error),
}

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
    /// The firmware's measured-boot event log (empty if none could be read).
    pub boot_log: Vec<u8>,
    /// The kernel's IMA runtime measurement list as last read (empty if none); refreshed before each job quote
    /// ([`NodeSession::refresh_ima_log`]).
    pub ima_log: Vec<u8>,
    /// The simulated IMA list of a private swtpm (fixed: nothing else measures into that TPM).
    simulated_ima: Option<Vec<u8>>,
}

impl std::fmt::Debug for NodeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSession")
            .field("kind", &self.kind)
            .field("swtpm", &self.swtpm.is_some())
            .field("ek_cert_len", &self.ek_cert.len())
            .finish_non_exhaustive()
    }
}

impl NodeSession {
    /// Open the configured TPM (`CUPROOF_TCTI`, `TPM2TOOLS_TCTI`, `TCTI`, `/dev/tpmrm0`), or start a private
    /// swtpm when none is configured; create the EK and a fresh AK (or load the AK from `ak_file`).
    pub fn open(ak_file: Option<&std::path::Path>) -> Result<Self, NodeError> {
        let (mut tpm, swtpm, kind) = cuproof_tpm::open_or_start_swtpm()?;
        let kind = match kind {
            cuproof_attest::TpmKind::Hardware => TpmKind::Hardware,
            _ => TpmKind::Software,
        };
        let ek = tpm.endorsement_key(EkType::Rsa2048)?;
        let ek_cert = tpm.ek_certificate(EkType::Rsa2048).unwrap_or_default();
        let blob = match ak_file {
            Some(p) => cuproof_tpm::akfile::load(p).map_err(|source| NodeError::AkFile {
                path: p.display().to_string(),
                source,
            })?,
            None => tpm.create_ak(&ek, AkType::Rsa2048Sha256)?,
        };
        let ak = tpm.load_ak(&ek, &blob)?;
        let boot_log = if swtpm.is_some() {
            // A TPM this session manufactured has seen no boot: play the simulated firmware into it, so that
            // the boot PCRs and the log agree as on a real machine (the receipt still says `software`).
            let sim = cuproof_attest::bootlog::build::simulated_firmware_for(&[
                cuproof_attest::bootlog::ALG_SHA256,
            ]);
            for (pcr, digest) in &sim.extends {
                tpm.extend(*pcr, digest)?;
            }
            sim.bytes
        } else {
            read_boot_log()?
        };
        let simulated_ima = if swtpm.is_some() {
            // ... and the runtime measurements a kernel would add after that boot (PCR 10).
            let mut pcrs = [[0u8; 32]; 10];
            for p in tpm.read_pcrs(HashAlg::Sha256, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])? {
                if let (Some(slot), Ok(v)) = (
                    pcrs.get_mut(p.index as usize),
                    <[u8; 32]>::try_from(p.value.as_slice()),
                ) {
                    *slot = v;
                }
            }
            let ima = cuproof_attest::ima::build::simulated_runtime(&pcrs);
            for (pcr, digest) in &ima.extends {
                tpm.extend(*pcr, digest)?;
            }
            Some(ima.bytes)
        } else {
            None
        };
        Ok(NodeSession {
            tpm,
            swtpm,
            kind,
            ek,
            ek_cert,
            ak,
            boot_log,
            ima_log: simulated_ima.clone().unwrap_or_default(),
            simulated_ima,
        })
    }

    /// Re-read the IMA measurement list (it grows while the machine runs): the simulated one of a private swtpm,
    /// else the file named by `CUPROOF_IMA_LOG`, else [`DEFAULT_IMA_LOG`] when readable.
    pub fn refresh_ima_log(&mut self) -> Result<(), NodeError> {
        self.ima_log = match &self.simulated_ima {
            Some(b) => b.clone(),
            None => read_measurements("CUPROOF_IMA_LOG", DEFAULT_IMA_LOG, "IMA measurement list")?,
        };
        Ok(())
    }

    /// Whether the current IMA list accounts for exactly the PCR-10 value of `quote` (false when the kernel
    /// measured something between reading the list and quoting: read again and quote again).
    pub fn ima_log_matches(&self, quote: &TpmQuote) -> bool {
        if self.ima_log.is_empty() {
            return true;
        }
        let Some(q) = quote
            .pcrs
            .iter()
            .find(|p| p.index as u32 == cuproof_attest::ima::IMA_PCR)
        else {
            return true;
        };
        cuproof_attest::ima::ImaLog::parse(&self.ima_log)
            .ok()
            .and_then(|l| l.matches_quote(cuproof_attest::ima::IMA_PCR, &q.value))
            .is_some()
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

    /// The EK trust anchors of this node's own software TPM (its per-instance local CA); empty for a TPM that
    /// this session did not start.
    pub fn local_ca_trust(&self) -> Result<EkTrust, NodeError> {
        let mut trust = EkTrust::default();
        if let Some(sw) = &self.swtpm {
            let root = sw.ca_root_pem()?;
            trust.add_roots(&root, cuproof_attest::TpmKind::Software)?;
            if let Ok(inter) = sw.ca_intermediate_pem() {
                // The intermediate is optional: the chain may also be root → EK.
                let _ = trust.add_intermediates(&inter);
            }
        }
        Ok(trust)
    }

    /// Enroll against a registrar in this process: MakeCredential (registrar, pure Rust) → ActivateCredential
    /// (this TPM) → the registrar's node record.
    pub fn enroll_locally(&mut self, trust: EkTrust) -> Result<NodeRecord, NodeError> {
        let policy = RegistrarPolicy {
            trust,
            allow_uncertified: false,
        };
        let (challenge, pending) = cuproof_attest::start_enrollment(
            &self.enrollment_request(),
            &policy,
            &mut rand::rngs::OsRng,
        )?;
        let credential = self.tpm.activate_credential(
            &self.ek,
            &self.ak,
            &challenge.id_object,
            &challenge.encrypted_secret,
        )?;
        Ok(pending.finish(&EnrollmentResponse { credential }, now_unix())?)
    }

    /// The receipt's node identity.
    pub fn identity(&self, label: &str) -> NodeIdentity {
        NodeIdentity {
            label: label.to_string(),
            tpm: self.kind,
            ek_public: self.ek.public.clone(),
            ek_cert: self.ek_cert.clone(),
            ak_public: self.ak.public.clone(),
            boot_log: self.boot_log.clone(),
            ima_log: self.ima_log.clone(),
        }
    }

    /// Extend a checkpoint digest into the job PCR.
    pub fn extend(&mut self, pcr: u8, digest: &[u8; 32]) -> Result<(), NodeError> {
        Ok(self.tpm.extend(pcr, digest)?)
    }

    /// Reset the job PCR before a job (PCR 23 is resettable from locality 0).
    pub fn reset(&mut self, pcr: u8) -> Result<(), NodeError> {
        Ok(self.tpm.reset_pcr(pcr)?)
    }

    /// Quote the boot PCRs and the job PCR with the given qualifying data.
    pub fn quote(
        &mut self,
        purpose: &str,
        job_pcr: u8,
        qualifying: &[u8],
    ) -> Result<TpmQuote, NodeError> {
        let mut pcrs = BOOT_PCRS.to_vec();
        pcrs.push(job_pcr);
        let q = self
            .tpm
            .quote(&self.ak, HashAlg::Sha256, &pcrs, qualifying)?;
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

/// Where Linux exposes the firmware's event log.
pub const DEFAULT_BOOT_LOG: &str = "/sys/kernel/security/tpm0/binary_bios_measurements";

/// Largest boot log read (real ones are tens of KiB).
const MAX_BOOT_LOG: u64 = 16 << 20;

/// Where Linux exposes the IMA runtime measurement list.
pub const DEFAULT_IMA_LOG: &str = "/sys/kernel/security/ima/binary_runtime_measurements";

/// The firmware event log of this machine: the file named by `CUPROOF_BOOT_LOG` (an error if it cannot be
/// read; an empty value means "none"), else [`DEFAULT_BOOT_LOG`] when readable (it needs root), else none.
pub fn read_boot_log() -> Result<Vec<u8>, NodeError> {
    read_measurements("CUPROOF_BOOT_LOG", DEFAULT_BOOT_LOG, "boot event log")
}

fn read_measurements(var: &str, default: &str, what: &str) -> Result<Vec<u8>, NodeError> {
    use std::io::Read;
    let (path, explicit) = match std::env::var_os(var) {
        Some(p) if p.is_empty() => return Ok(Vec::new()),
        Some(p) => (std::path::PathBuf::from(p), true),
        None => (std::path::PathBuf::from(default), false),
    };
    let read = std::fs::File::open(&path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(MAX_BOOT_LOG + 1).read_to_end(&mut buf)?;
        Ok(buf)
    });
    match read {
        Ok(buf) if buf.len() as u64 > MAX_BOOT_LOG => Err(NodeError::BootLog {
            path: format!("{what} {}", path.display()),
            why: format!("larger than {MAX_BOOT_LOG} bytes"),
        }),
        Ok(buf) => Ok(buf),
        Err(e) if explicit => Err(NodeError::BootLog {
            path: format!("{what} {}", path.display()),
            why: e.to_string(),
        }),
        Err(_) => Ok(Vec::new()),
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
