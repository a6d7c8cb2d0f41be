//! The shipped example policies parse and load; the development one accepts a software-TPM, CPU-backend
//! receipt that the production settings reject.

mod common;

use common::{fixture, now};
use cuproof_verify::{verify_receipt, Policy, VerifyContext};
use std::path::Path;

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/policies"))
}

#[test]
fn production_policy_parses_strictly() {
    let text = std::fs::read_to_string(dir().join("production.toml")).expect("read");
    Policy::parse_only(&text).expect("production.toml parses");
    // It names files an operator provides (manufacturer roots, verifying key): loading says which is missing.
    let e = Policy::load(&dir().join("production.toml")).expect_err("roots not shipped");
    assert!(e.to_string().contains("ek-roots.pem"), "{e}");
    let bad = text.replace("[gpu]", "[gpu]\nmodell = []");
    let e = Policy::parse_only(&bad).expect_err("unknown key");
    assert!(e.to_string().contains("modell"), "{e}");
}

#[test]
fn development_policy_accepts_software_tpm_and_cpu() {
    let f = fixture();
    Policy::load(&dir().join("development.toml")).expect("development.toml loads");
    // The development policy with the fixture's test circuit added (the receipt carries a proof of it).
    let text = std::fs::read_to_string(dir().join("development.toml")).expect("read")
        + &format!(
            "\n[proofs.circuits.square]\ncircuit_id = \"{}\"\nvk = \"square.vk\"\n",
            hex::encode(common::circuit_id())
        );
    let p = Policy::from_toml_str(&text, f.dir.path()).expect("development + circuit loads");
    // The receipt as made (removing its proof would break the job quote's binding of every field).
    let r = f.receipt.clone();
    let mut ctx = VerifyContext {
        challenge: f.challenge,
        challenge_issued_at: Some(now()),
        node: None,
        now_unix: now(),
        state: None,
        detached_proofs: &[],
    };
    let v = verify_receipt(&r, &p, &mut ctx);
    assert!(v.valid, "{}", v.render_table());
    assert_eq!(
        p.capacity.classify(1024, 30.0).map(|c| c.name.as_str()),
        Some("any")
    );
    assert!(p.capacity.classify(1024, 61.0).is_none());
}

#[test]
fn capacity_classes_pick_the_most_demanding_met() {
    let text = std::fs::read_to_string(dir().join("production.toml")).expect("read");
    let text = text
        .replace("hardware_roots = [\"roots/ek-roots.pem\"]", "")
        .replace("intermediates = [\"roots/ek-intermediates.pem\"]", "")
        .replace(
            "require_ek_certificate = true",
            "require_ek_certificate = false",
        )
        .replace("required = [\"matmul-i8\"]", "required = []");
    let start = text.find("[proofs.circuits.matmul-i8]").expect("circuit");
    let end = text.find("[capacity]").expect("capacity");
    let text = format!("{}{}", &text[..start], &text[end..]);
    let p = Policy::from_toml_str(&text, dir()).expect("loads");
    let c = &p.capacity;
    assert_eq!(
        c.classify(16384, 0.4).map(|c| c.name.as_str()),
        Some("h100")
    );
    assert_eq!(
        c.classify(16384, 1.0).map(|c| c.name.as_str()),
        Some("a100")
    );
    assert_eq!(
        c.classify(16384, 3.0).map(|c| c.name.as_str()),
        Some("consumer")
    );
    assert!(c.classify(16384, 5.0).is_none());
    assert!(c.classify(8192, 0.1).is_none(), "no class for another size");
    assert!(c.classify(16384, f64::NAN).is_none());
    assert!(c.meets("h100", 16384, 0.5) && !c.meets("h100", 16384, 0.51));
    assert_eq!(c.require_class.as_deref(), Some("h100"));
}

#[test]
fn policy_format_version_is_checked() {
    let text = std::fs::read_to_string(dir().join("development.toml")).expect("read");
    assert!(text.contains("version = 1"));
    Policy::parse_only(&text).expect("version 1 parses");
    let v2 = text.replace("version = 1", "version = 2");
    let e = Policy::from_toml_str(&v2, dir()).expect_err("version 2 refused");
    assert!(e.to_string().contains("version 2"), "{e}");
}
