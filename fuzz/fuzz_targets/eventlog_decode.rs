//! TCG event-log parsing: never panics; whatever parses re-encodes to the same bytes and replays.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = cuproof_core::ExecutionLog::from_tcg_bytes(data) {
        let again = log.to_tcg_bytes().expect("a parsed log encodes");
        assert_eq!(again, data, "log parsing is not canonical");
        let _ = log.replay_pcrs();
    }
});
