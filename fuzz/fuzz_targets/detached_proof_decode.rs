//! Detached proof files (`cuproof prove`): never panics; decoded files re-encode to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = cuproof_verify::DetachedProof::decode(data) {
        assert_eq!(d.encode().expect("a decoded file re-encodes"), data);
    }
});
