//! Strict receipt decoding: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = cuproof_core::Receipt::decode(data) {
        let again = r.encode().expect("a decoded receipt encodes");
        assert_eq!(again, data, "decoding is not canonical");
        let _ = r.statement.digest();
        let _ = r.to_json();
    }
});
