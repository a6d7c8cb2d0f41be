//! Quote verification in the order of issue 5.

use crate::alg::HashAlg;
use crate::attest::{Attest, Attested, TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE};
use crate::error::{Error, Result};
use crate::pcr::{pcr_digest, PcrSelection, PcrValue};
use crate::public::PublicArea;
use crate::signature::{verify_signature, Signature, SignaturePolicy};
use subtle::ConstantTimeEq;

/// What a quote must satisfy.
#[derive(Debug, Clone)]
pub struct QuoteExpectations<'a> {
    /// The expected qualifying data (extraData), compared in constant time.
    pub qualifying_data: &'a [u8],
    /// The PCRs that must be quoted, as (bank, index) pairs; the quoted selection must be exactly this set.
    pub required_pcrs: &'a [(HashAlg, u8)],
    /// When set, the attestation's qualifiedSigner must equal this qualified name.
    pub qualified_signer: Option<&'a [u8]>,
    /// Signature scheme/hash allow-list.
    pub signature_policy: SignaturePolicy,
}

/// A quote whose signature, nonce, selection and PCR digest have all been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedQuote {
    /// The parsed attestation (clock, resetCount, restartCount, safe, firmware version).
    pub attest: Attest,
    /// The hash the signature (and the PCR digest) used.
    pub hash: HashAlg,
    /// The quoted PCR selection.
    pub selection: PcrSelection,
    /// The PCR values, now known to be the quoted ones.
    pub pcrs: Vec<PcrValue>,
}

impl VerifiedQuote {
    /// The value of one quoted PCR.
    pub fn pcr(&self, bank: HashAlg, index: u8) -> Option<&[u8]> {
        self.pcrs
            .iter()
            .find(|p| p.bank == bank.alg_id() && p.index == index)
            .map(|p| p.value.as_slice())
    }
}

/// Verify a quote made by `ak`.
///
/// `attest` is the marshalled TPMS_ATTEST, `signature` the marshalled TPMT_SIGNATURE, `pcrs` the
/// PCR values read in the quoted selection. Checks, in order:
/// 1. the signature structure parses and its scheme/hash are on the allow-list and fit the AK;
/// 2. the signature is valid over the exact `attest` bytes — nothing in them is believed before;
/// 3. the attestation parses strictly; magic is TPM_GENERATED_VALUE; type is ATTEST_QUOTE;
/// 4. extraData equals the expected qualifying data (constant time);
/// 5. qualifiedSigner equals the expected one (if given);
/// 6. the quoted PCR selection is exactly the required set;
/// 7. the PCR digest recomputed from `pcrs` equals the quoted one.
pub fn verify_quote(
    ak: &PublicArea,
    attest: &[u8],
    signature: &[u8],
    pcrs: &[PcrValue],
    expect: &QuoteExpectations<'_>,
) -> Result<VerifiedQuote> {
    let sig = Signature::parse(signature)?;
    let hash = verify_signature(ak, attest, &sig, &expect.signature_policy)?;
    let parsed = Attest::parse(attest)?;
    if parsed.magic != TPM_GENERATED_VALUE {
        return Err(Error::BadMagic(parsed.magic));
    }
    if parsed.attest_type != TPM_ST_ATTEST_QUOTE {
        return Err(Error::WrongAttestType {
            found: parsed.attest_type,
            expected: TPM_ST_ATTEST_QUOTE,
        });
    }
    if !bool::from(parsed.extra_data.ct_eq(expect.qualifying_data)) {
        return Err(Error::NonceMismatch);
    }
    if let Some(qs) = expect.qualified_signer {
        if !bool::from(parsed.qualified_signer.ct_eq(qs)) {
            return Err(Error::QualifiedSignerMismatch);
        }
    }
    let (selection, quoted_digest) = match &parsed.attested {
        Attested::Quote {
            selection,
            pcr_digest,
        } => (selection.clone(), pcr_digest.clone()),
        _ => {
            return Err(Error::WrongAttestType {
                found: parsed.attest_type,
                expected: TPM_ST_ATTEST_QUOTE,
            })
        }
    };
    let required: std::collections::BTreeSet<(u16, u8)> = expect
        .required_pcrs
        .iter()
        .map(|(b, i)| (b.alg_id(), *i))
        .collect();
    let quoted = selection.as_set();
    if quoted != required {
        return Err(Error::PcrSelectionMismatch(format!(
            "quoted {:?}, required {:?}",
            quoted, required
        )));
    }
    let recomputed = pcr_digest(hash, &selection, pcrs)?;
    if !bool::from(recomputed.ct_eq(&quoted_digest)) {
        return Err(Error::PcrDigestMismatch);
    }
    Ok(VerifiedQuote {
        attest: parsed,
        hash,
        selection,
        pcrs: pcrs.to_vec(),
    })
}
