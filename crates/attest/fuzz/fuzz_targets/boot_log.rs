#![no_main]
//! Fuzz target: `cuproof_attest::fuzz::parse_boot_log` (parse, replay both banks, decode every event's UEFI
//! structures, signature databases included) must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cuproof_attest::fuzz::parse_boot_log(data);
});
