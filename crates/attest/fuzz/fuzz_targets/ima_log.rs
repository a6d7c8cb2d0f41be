#![no_main]
//! Fuzz target: `cuproof_attest::fuzz::parse_ima_log` (parse, replay in both kernel modes) must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cuproof_attest::fuzz::parse_ima_log(data);
});
