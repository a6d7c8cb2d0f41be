#![no_main]
//! Fuzz target: `cuproof_attest::fuzz::parse_tpmt_public` must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cuproof_attest::fuzz::parse_tpmt_public(data);
});
