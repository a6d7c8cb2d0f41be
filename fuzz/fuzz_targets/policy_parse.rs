//! Policy TOML parsing (strict, unknown keys rejected): never panics. Only parsing and validation that
//! needs no file: paths named by a fuzzed policy are not opened.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cuproof_verify::Policy::parse_only(text);
    }
});
