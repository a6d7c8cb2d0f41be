#![no_main]
//! Fuzz target: `cuproof_attest::fuzz::parse_tpm2_pcr_file` must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cuproof_attest::fuzz::parse_tpm2_pcr_file(data);
});
