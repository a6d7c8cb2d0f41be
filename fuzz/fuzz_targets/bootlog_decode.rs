//! Firmware event logs (measured boot): the strict parser, the replay of both banks, the UEFI structures of
//! every event, and the verifier's boot checks and reference policy on whatever parses. Never a panic.
#![no_main]
use cuproof_attest::bootlog::BootLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cuproof_attest::fuzz::parse_boot_log(data);
    if let Ok(log) = BootLog::parse(data) {
        // Re-serialising is not offered; the replay must be deterministic.
        assert_eq!(
            log.replay(cuproof_attest::bootlog::ALG_SHA256),
            log.replay(cuproof_attest::bootlog::ALG_SHA256)
        );
        let _ = cuproof_verify::boot::reference_policy(data);
    }
});
