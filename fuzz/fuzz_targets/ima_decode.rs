//! IMA runtime measurement lists: the strict parser, the replay in both kernel modes, and the verifier's
//! reference policy on whatever parses. Never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if cuproof_attest::fuzz::parse_ima_log(data).is_ok() {
        let text = cuproof_verify::ima::reference_policy(data).expect("a list that parses has a reference policy");
        assert!(text.starts_with("[ima]"));
    }
});
