//! [`crate::Quoter`] over cuproof-tpm: quotes with a loaded AK over the challenge's PCR selection (SHA-256 bank),
//! and hands over the measurement logs that explain the quoted PCRs.

use crate::error::CapacityError;
use crate::wire::{MeasurementLogs, QuoteEvidence};
use crate::Quoter;
use cuproof::node::NodeSession;
use cuproof_attest::ima::{quoted_prefix_bytes, IMA_PCR};
use cuproof_tpm::{Ak, HashAlg, Tpm};

/// The last PCR the firmware and the boot loader measure into (PCRs 0–9).
const LAST_BOOT_PCR: u8 = 9;
/// TPM_ALG_SHA256.
const SHA256_BANK: u16 = 0x000B;

enum Keys<'a> {
    /// A TPM and an AK, with fixed logs (empty: none).
    Loaded {
        tpm: &'a mut Tpm,
        ak: &'a Ak,
        logs: MeasurementLogs,
    },
    /// A node session: its firmware log, and its IMA list re-read after each quote.
    Session(&'a mut NodeSession),
}

/// Quotes with an AK on a TPM.
pub struct TpmQuoter<'a> {
    keys: Keys<'a>,
}

impl<'a> TpmQuoter<'a> {
    /// A quoter with `ak` on `tpm` and no measurement logs (a challenge that selects boot or IMA PCRs then gets
    /// empty logs, which a verifier that judges the stack refuses).
    pub fn new(tpm: &'a mut Tpm, ak: &'a Ak) -> Self {
        Self::with_logs(tpm, ak, MeasurementLogs::default())
    }

    /// A quoter with `ak` on `tpm` whose PCRs `logs` account for (the IMA list may run past a quote: only the
    /// prefix the quote covers is sent).
    pub fn with_logs(tpm: &'a mut Tpm, ak: &'a Ak, logs: MeasurementLogs) -> Self {
        TpmQuoter {
            keys: Keys::Loaded { tpm, ak, logs },
        }
    }

    /// A quoter over a node session: its TPM and AK, its firmware event log, and its IMA list as the kernel
    /// has it when the logs are asked for.
    pub fn for_session(session: &'a mut NodeSession) -> Self {
        TpmQuoter {
            keys: Keys::Session(session),
        }
    }
}

impl Quoter for TpmQuoter<'_> {
    fn ak_public(&self) -> Result<Vec<u8>, CapacityError> {
        let ak = match &self.keys {
            Keys::Loaded { ak, .. } => *ak,
            Keys::Session(s) => &s.ak,
        };
        Ok(ak.area.tpmt_bytes().to_vec())
    }

    fn quote(
        &mut self,
        pcrs: &[u8],
        qualifying_data: &[u8; 32],
    ) -> Result<QuoteEvidence, CapacityError> {
        let (tpm, ak) = match &mut self.keys {
            Keys::Loaded { tpm, ak, .. } => (&mut **tpm, *ak),
            Keys::Session(s) => (&mut s.tpm, &s.ak),
        };
        let q = tpm
            .quote(ak, HashAlg::Sha256, pcrs, qualifying_data)
            .map_err(|e| CapacityError::Node(format!("TPM quote: {e}")))?;
        Ok(QuoteEvidence {
            attest: q.attest,
            signature: q.signature,
            pcrs: q.pcrs,
        })
    }

    fn measurement_logs(
        &mut self,
        quote: &QuoteEvidence,
    ) -> Result<MeasurementLogs, CapacityError> {
        let selected = |f: &dyn Fn(u8) -> bool| {
            quote
                .pcrs
                .iter()
                .any(|p| p.bank == SHA256_BANK && f(p.index))
        };
        let (boot, ima) = match &mut self.keys {
            Keys::Loaded { logs, .. } => (logs.boot.clone(), logs.ima.clone()),
            Keys::Session(s) => {
                s.refresh_ima_log()
                    .map_err(|e| CapacityError::Node(e.to_string()))?;
                (s.boot_log.clone(), s.ima_log.clone())
            }
        };
        let boot = if selected(&|i| i <= LAST_BOOT_PCR) {
            boot
        } else {
            Vec::new()
        };
        let ima_value = quote
            .pcrs
            .iter()
            .find(|p| p.bank == SHA256_BANK && u32::from(p.index) == IMA_PCR);
        let ima = match ima_value {
            Some(q) if !ima.is_empty() => quoted_prefix_bytes(&ima, IMA_PCR, &q.value)
                .map_err(|e| CapacityError::Node(format!("IMA list: {e}")))?
                .ok_or_else(|| {
                    CapacityError::Node(format!(
                        "the IMA list ({} bytes) does not account for the quoted PCR {IMA_PCR}: a list of \
                         another boot, or a kernel that measures into another PCR",
                        ima.len()
                    ))
                })?
                .to_vec(),
            _ => Vec::new(),
        };
        Ok(MeasurementLogs { boot, ima })
    }
}
