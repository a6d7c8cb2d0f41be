//! [`crate::Quoter`] over cuproof-tpm: quotes with a loaded AK over one PCR bank's selection.

use crate::error::CapacityError;
use crate::wire::QuoteEvidence;
use crate::Quoter;
use cuproof_tpm::{Ak, HashAlg, Tpm};

/// Quotes with `ak` on `tpm` over `pcrs` of `bank` (the verifier's policy must require the same selection).
pub struct TpmQuoter<'a> {
    tpm: &'a mut Tpm,
    ak: &'a Ak,
    bank: HashAlg,
    pcrs: Vec<u8>,
}

impl<'a> TpmQuoter<'a> {
    /// A quoter over the job PCR (`cuproof_tpm::DEFAULT_JOB_PCR`) of the SHA-256 bank.
    pub fn new(tpm: &'a mut Tpm, ak: &'a Ak) -> Self {
        Self::with_pcrs(tpm, ak, HashAlg::Sha256, &[cuproof_tpm::DEFAULT_JOB_PCR])
    }

    /// A quoter over `pcrs` of `bank`.
    pub fn with_pcrs(tpm: &'a mut Tpm, ak: &'a Ak, bank: HashAlg, pcrs: &[u8]) -> Self {
        TpmQuoter {
            tpm,
            ak,
            bank,
            pcrs: pcrs.to_vec(),
        }
    }
}

impl Quoter for TpmQuoter<'_> {
    fn ak_public(&self) -> Result<Vec<u8>, CapacityError> {
        Ok(self.ak.area.tpmt_bytes().to_vec())
    }

    fn quote(&mut self, qualifying_data: &[u8; 32]) -> Result<QuoteEvidence, CapacityError> {
        let q = self
            .tpm
            .quote(self.ak, self.bank, &self.pcrs, qualifying_data)
            .map_err(|e| CapacityError::Node(format!("TPM quote: {e}")))?;
        Ok(QuoteEvidence {
            attest: q.attest,
            signature: q.signature,
            pcrs: q.pcrs,
        })
    }
}
