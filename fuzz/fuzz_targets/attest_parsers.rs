//! cuproof-attest's strict TPM parsers: TPMS_ATTEST, TPMT_SIGNATURE, TPM2B_PUBLIC, TPML_PCR_SELECTION,
//! TPM2B_NAME, X.509 EK certificates, node records. The first byte picks the parser.
#![no_main]
use cuproof_attest::attest::Attest;
use cuproof_attest::ekcert::Cert;
use cuproof_attest::enroll::NodeRecord;
use cuproof_attest::pcr::PcrSelection;
use cuproof_attest::public::{parse_tpm2b_name, PublicArea};
use cuproof_attest::signature::Signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 8 {
        0 => {
            let _ = Attest::parse(rest);
        }
        1 => {
            let _ = Signature::parse(rest);
        }
        2 => {
            if let Ok(p) = PublicArea::from_tpm2b(rest) {
                assert_eq!(
                    p.tpm2b_bytes(),
                    rest,
                    "TPM2B_PUBLIC parsing is not canonical"
                );
                let _ = p.name();
                let _ = p.rsa_public_key();
                let _ = p.ecc_point();
            }
        }
        3 => {
            if let Ok(s) = PcrSelection::parse(rest) {
                let _ = s.ordered();
            }
        }
        4 => {
            let _ = parse_tpm2b_name(rest);
        }
        5 => {
            let _ = Cert::from_der(rest);
        }
        6 => {
            let _ = NodeRecord::from_json(rest);
        }
        _ => {
            let _ = PublicArea::from_tpmt(rest);
        }
    }
});
