//! The whole verifier on arbitrary bytes under a development policy (no files): never panics and never
//! accepts (a fuzzed input carries no valid TPM signature over the fixed challenge... unless it decodes to a
//! receipt without a TPM, which the policy refuses).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const POLICY: &str = r#"
name = "fuzz"
backend = "any"
[tpm]
accept = ["software", "hardware"]
require_ek_certificate = false
require_enrollment = false
[pcrs]
job = 23
exact_selection = false
[modules]
allow_any = true
"#;

fn policy() -> &'static cuproof_verify::Policy {
    static P: OnceLock<cuproof_verify::Policy> = OnceLock::new();
    P.get_or_init(|| {
        cuproof_verify::Policy::from_toml_str(POLICY, std::path::Path::new("."))
            .expect("fuzz policy")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut ctx = cuproof_verify::VerifyContext::new([0x5a; 32]);
    let v = cuproof_verify::verify_receipt_bytes(data, policy(), &mut ctx);
    let _ = v.render_table();
    let _ = v.to_json();
    assert!(!v.valid, "a fuzzed receipt was accepted");
});
