//! Fuzz-friendly entry points: each takes arbitrary bytes and returns a `Result`, never panics.
//! Use them from cargo-fuzz targets or property tests.

use crate::error::Result;

/// TPM2B_PUBLIC parser.
pub fn parse_tpm2b_public(data: &[u8]) -> Result<crate::public::PublicArea> {
    crate::public::PublicArea::from_tpm2b(data)
}

/// TPMT_PUBLIC parser.
pub fn parse_tpmt_public(data: &[u8]) -> Result<crate::public::PublicArea> {
    crate::public::PublicArea::from_tpmt(data)
}

/// TPMS_ATTEST parser.
pub fn parse_attest(data: &[u8]) -> Result<crate::attest::Attest> {
    crate::attest::Attest::parse(data)
}

/// TPMT_SIGNATURE parser.
pub fn parse_signature(data: &[u8]) -> Result<crate::signature::Signature> {
    crate::signature::Signature::parse(data)
}

/// TPML_PCR_SELECTION parser.
pub fn parse_pcr_selection(data: &[u8]) -> Result<crate::pcr::PcrSelection> {
    crate::pcr::PcrSelection::parse(data)
}

/// TPM2B_NAME parser.
pub fn parse_name(data: &[u8]) -> Result<Vec<u8>> {
    crate::public::parse_tpm2b_name(data)
}

/// X.509 (EK certificate) parser.
pub fn parse_certificate(data: &[u8]) -> Result<crate::ekcert::Cert> {
    crate::ekcert::Cert::from_der(data)
}

/// Node record (JSON) parser with consistency checks.
pub fn parse_node_record(data: &[u8]) -> Result<crate::enroll::NodeRecord> {
    crate::enroll::NodeRecord::from_json(data)
}

/// Whole-quote check on arbitrary inputs: `data` is split into a key, an attest and a signature
/// by three TPM2B-style length prefixes.
pub fn verify_quote_bytes(data: &[u8]) -> Result<crate::quote::VerifiedQuote> {
    let mut r = crate::wire::Reader::new(data);
    let ak = r.tpm2b("fuzz.ak", u16::MAX as usize)?;
    let attest = r.tpm2b("fuzz.attest", u16::MAX as usize)?;
    let sig = r.tpm2b("fuzz.sig", u16::MAX as usize)?;
    let ak = crate::public::PublicArea::from_tpm2b(ak)?;
    let expect = crate::quote::QuoteExpectations {
        qualifying_data: &[],
        required_pcrs: &[(crate::alg::HashAlg::Sha256, 23)],
        qualified_signer: None,
        signature_policy: Default::default(),
    };
    crate::quote::verify_quote(&ak, attest, sig, &[], &expect)
}

/// tpm2_quote PCR file parser.
pub fn parse_tpm2_pcr_file(
    data: &[u8],
) -> Result<(crate::pcr::PcrSelection, Vec<crate::pcr::PcrValue>)> {
    crate::tpm2tools::parse_pcr_file(data)
}

/// Firmware event log parser, plus the replay and the UEFI structures of every event a policy reads.
pub fn parse_boot_log(data: &[u8]) -> std::result::Result<usize, crate::bootlog::BootLogError> {
    let log = crate::bootlog::BootLog::parse(data)?;
    let _ = log.replay(crate::bootlog::ALG_SHA256);
    let _ = log.replay(crate::bootlog::ALG_SHA1);
    for e in &log.events {
        let _ = e.data_is_bound();
        if let Ok(v) = crate::bootlog::uefi::UefiVariable::parse(&e.data) {
            // every variable's value also as a signature database (db, dbx), and the hints of its entries
            for s in crate::bootlog::uefi::parse_signature_lists(&v.data).unwrap_or_default() {
                let _ = (s.fingerprint(), s.type_name(), s.x509_subject());
            }
        }
        // the raw event data too: the parser must refuse or accept any bytes without panicking
        let _ = crate::bootlog::uefi::parse_signature_lists(&e.data);
        if let Ok(i) = crate::bootlog::uefi::ImageLoad::parse(&e.data) {
            let _ = i.file_path();
        }
    }
    Ok(log.events.len())
}

/// IMA measurement list parser plus its replay in both modes.
pub fn parse_ima_log(data: &[u8]) -> std::result::Result<usize, crate::ima::ImaError> {
    let log = crate::ima::ImaLog::parse(data)?;
    for m in [
        crate::ima::ReplayMode::PerBank,
        crate::ima::ReplayMode::PaddedSha1,
    ] {
        let _ = log.replay_sha256(crate::ima::IMA_PCR, log.entries.len(), m);
    }
    Ok(log.entries.len())
}
