//! The shipped example policies parse and load; the development one accepts a software-TPM, CPU-backend
//! receipt that the production settings reject.

use crate::common;

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
    // development accepts every capacity class, a software TPM's clock included
    let c = &p.capacity;
    assert!(c.accept_cpu_class && c.accept_unmeasured_bounds && !c.require_hardware_tpm);
    assert_eq!(c.require_class, None);
}

/// production.toml without the operator-supplied files (EK roots, the verifying key), so that it loads here.
fn production_without_operator_files() -> String {
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
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn production_holds_a_capacity_claim_to_its_boot_and_ima_tables() {
    let p = Policy::from_toml_str(&production_without_operator_files(), dir()).expect("loads");
    let c = cuproof_verify::capacity::capacity_policy(&p, None).expect("capacity policy");
    // the challenge asks for the boot PCRs the [boot] table explains, IMA's PCR 10 and the job PCR
    let pcrs = c.quoted_pcrs();
    for want in [0u8, 4, 7, 9, 10, 23] {
        assert!(pcrs.contains(&want), "PCR {want} missing from {pcrs:?}");
    }
    assert!(!c.accept_cpu_class && !c.accept_unmeasured_bounds && c.require_hardware_tpm);
    assert_eq!(c.wall_clock_allowance_ms, Some(5_000));
    // no logs: the stack fails on both tables' require_log
    let checks = c.stack.as_ref().expect("stack judge").judge(
        &std::collections::BTreeMap::new(),
        &cuproof_capacity::MeasurementLogs::default(),
    );
    assert!(!cuproof_capacity::stack::accepted(&checks));
    for name in ["boot.log", "ima.log"] {
        let c = checks.iter().find(|c| c.name == name).expect(name);
        assert_eq!(
            c.outcome,
            cuproof_capacity::stack::StackOutcome::Fail,
            "{name}"
        );
    }
}

#[test]
fn production_policy_requires_a_measured_secure_boot() {
    let p = Policy::from_toml_str(&production_without_operator_files(), dir()).expect("loads");
    let b = p.boot.as_ref().expect("[boot] table");
    assert!(b.require_log && b.secure_boot);
    assert_eq!(b.pcrs, (0..10).collect::<Vec<u8>>());
    assert!(b.kernel_cmdline_forbid.contains(&"ima=".to_string()));
    // the boot PCRs are the quote the node makes (cuproof::node::BOOT_PCRS and the job PCR)
    assert_eq!(
        p.required_selection(),
        vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 23]
    );
    let ima = p.ima.as_ref().expect("[ima] table");
    assert!(ima.require_log && !ima.allow_violations);
    // and a policy that would judge a boot it does not require a log for is refused, naming the key
    let lax =
        production_without_operator_files().replace("require_log = true", "require_log = false");
    let e = Policy::from_toml_str(&lax, dir()).expect_err("judging without a log");
    assert!(e.to_string().contains("boot.require_log"), "{e}");
    let bad = production_without_operator_files().replace(
        "secure_boot = true",
        "secure_boot = true\n[boot.variables]\nMok = [\"00\"]",
    );
    let e = Policy::from_toml_str(&bad, dir()).expect_err("unknown variable");
    assert!(e.to_string().contains("boot.variables.Mok"), "{e}");
    let prod = production_without_operator_files();
    let empty = prod.replace(
        "secure_boot = true",
        "secure_boot = true\nloaded_files = []",
    );
    let e = Policy::from_toml_str(&empty, dir()).expect_err("empty list");
    assert!(e.to_string().contains("boot.loaded_files"), "{e}");
    let unjudged = prod
        .replace("pcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", "pcrs = [0, 7, 8]")
        .replace(
            "secure_boot = true",
            &format!(
                "secure_boot = true\nloaded_files = [\"{}\"]",
                "ab".repeat(32)
            ),
        );
    let e = Policy::from_toml_str(&unjudged, dir()).expect_err("PCR 9 not judged");
    assert!(e.to_string().contains("PCR 9"), "{e}");
    // per-entry judgements of db and dbx: hex fingerprints, a non-empty db list, PCR 7 judged
    let with = |extra: &str| {
        prod.replace(
            "secure_boot = true",
            &format!("secure_boot = true\n{extra}"),
        )
    };
    let ok = with(&format!(
        "dbx_required = [\"{}\"]\ndb_allowed = [\"{}\"]",
        "ab".repeat(32),
        "cd".repeat(32)
    ));
    let b = Policy::from_toml_str(&ok, dir()).expect("dbx/db policy");
    let b = b.boot.as_ref().expect("[boot]");
    assert_eq!(b.dbx_required, vec![[0xab; 32]]);
    assert_eq!(b.db_allowed, Some(vec![[0xcd; 32]]));
    assert_eq!(b.authorities, None);
    for (extra, key) in [
        ("dbx_required = [\"abcd\"]", "boot.dbx_required[0]"),
        ("db_allowed = []", "boot.db_allowed"),
        ("db_allowed = [\"zz\"]", "boot.db_allowed[0]"),
        ("authorities = []", "boot.authorities"),
        ("authorities = [\"12\"]", "boot.authorities[0]"),
    ] {
        let e = Policy::from_toml_str(&with(extra), dir()).expect_err(extra);
        assert!(e.to_string().contains(key), "{extra}: {e}");
    }
    let no7 = with(&format!("dbx_required = [\"{}\"]", "ab".repeat(32)))
        .replace("pcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", "pcrs = [0, 8]")
        .replace("secure_boot = true", "secure_boot = false");
    let e = Policy::from_toml_str(&no7, dir()).expect_err("PCR 7 not judged");
    assert!(e.to_string().contains("PCR 7"), "{e}");
}

#[test]
fn production_policy_allows_exactly_the_shipped_kernel_modules() {
    use sha2::{Digest, Sha256};
    let p = Policy::from_toml_str(&production_without_operator_files(), dir()).expect("loads");
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut shipped: Vec<[u8; 32]> = std::fs::read_dir(root.join("kernels/ptx"))
        .expect("kernels/ptx")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ptx"))
        .chain([root.join("kernels/keccak.ptx")])
        .map(|p| Sha256::digest(std::fs::read(&p).expect("read ptx")).into())
        .collect();
    let mut allowed = p.allowed_modules.clone();
    shipped.sort();
    allowed.sort();
    assert_eq!(
        allowed.iter().map(hex::encode).collect::<Vec<_>>(),
        shipped.iter().map(hex::encode).collect::<Vec<_>>(),
        "production.toml [modules] allowed must list the SHA-256 of every shipped PTX module (kernels changed?)"
    );
}

#[test]
fn capacity_section_names_what_the_capacity_verifier_accepts() {
    let p = Policy::from_toml_str(&production_without_operator_files(), dir()).expect("loads");
    let c = &p.capacity;
    assert_eq!(c.require_class.as_deref(), Some("h100-sxm"));
    assert_eq!(c.min_cards, 1);
    assert!(!c.accept_cpu_class && !c.accept_unmeasured_bounds);
    assert!(c.require_hardware_tpm && c.require_safe_clock);
    assert!(c.measured.is_empty(), "no measurement shipped yet");
    // a measurement, and every way to get one wrong
    let with = |extra: &str| {
        Policy::from_toml_str(
            &format!("{}\n{extra}", production_without_operator_files()),
            dir(),
        )
    };
    let m = with(
        "[capacity.measured.h100-sxm]\nmeasured_ms = 1150\ntensor_ms = 640\non = \"H100 SXM5\"\n",
    )
    .expect("a measurement loads");
    assert_eq!(
        m.capacity.measured,
        vec![cuproof_verify::CapacityMeasurement {
            class: "h100-sxm".into(),
            measured_ms: 1150,
            tensor_ms: 640,
            on: "H100 SXM5".into(),
        }]
    );
    for (bad, key) in [
        (
            "[capacity.measured.h100-sxm]\nmeasured_ms = 100\ntensor_ms = 101\non = \"x\"\n",
            "capacity.measured.h100-sxm",
        ),
        (
            "[capacity.measured.h100-sxm]\nmeasured_ms = 0\ntensor_ms = 0\non = \"x\"\n",
            "capacity.measured.h100-sxm",
        ),
        (
            "[capacity.measured.h100-sxm]\nmeasured_ms = 100\ntensor_ms = 50\non = \" \"\n",
            "capacity.measured.h100-sxm.on",
        ),
        (
            "[capacity.measured.h100-sxm]\nmeasured_ms = 100\ntensor_ms = 50\n",
            "missing field",
        ),
    ] {
        let e = with(bad).unwrap_err().to_string();
        assert!(e.contains(key), "{bad}: {e}");
    }
    // (class names are checked against the class table where the capacity verifier is built: the CLI's test)
    let text = production_without_operator_files();
    for (from, to, key) in [
        ("min_cards = 1", "min_cards = 0", "capacity.min_cards"),
        ("min_cards = 1", "min_cards = 65", "capacity.min_cards"),
        (
            "require_safe_clock = true",
            "require_safe_clock = true\nsize = 16384",
            "size",
        ),
    ] {
        let e = Policy::from_toml_str(&text.replace(from, to), dir())
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{to}: {e}");
    }
    // without a [capacity] section the strict defaults hold
    let i = text.find("[capacity]").unwrap();
    let p = Policy::from_toml_str(&text[..i], dir()).expect("loads without [capacity]");
    assert_eq!(p.capacity, cuproof_verify::CapacityPolicy::default());
    assert!(p.capacity.require_hardware_tpm && !p.capacity.accept_unmeasured_bounds);
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

/// A cuproof verifying-key file (docs/circuits.md "Key files") around `vk` for matmul-i8 2x2x2, with setup flag
/// `flag` (1 single-party test setup, 2 snarkjs ceremony).
fn vk_file(vk: &[u8], flag: u8) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let id = cuproof_circuits::matmul_circuit_id(2, 2, 2);
    let src = b"test";
    let mut h = b"CUPRFKEY".to_vec();
    h.extend_from_slice(&1u16.to_be_bytes());
    h.push(2);
    h.push(flag);
    h.extend_from_slice(&id);
    for d in [2u32, 2, 2] {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h.extend_from_slice(&(src.len() as u16).to_be_bytes());
    h.extend_from_slice(src);
    h.extend_from_slice(&(vk.len() as u64).to_be_bytes());
    let digest: [u8; 32] = Sha256::new()
        .chain_update(b"cuproof.key.v1")
        .chain_update(&h)
        .chain_update(vk)
        .finalize()
        .into();
    h.extend_from_slice(&digest);
    h.extend_from_slice(vk);
    h
}

#[test]
fn production_policy_refuses_test_only_keys() {
    // proofs.allow_test_keys = false (production.toml): a key file from the single-party setup is refused at
    // load; one imported from a ceremony, or a bare key whose origin the file does not say, loads
    let f = fixture();
    let vk = std::fs::read(f.dir.path().join("square.vk")).expect("fixture vk");
    let id = hex::encode(cuproof_circuits::matmul_circuit_id(2, 2, 2));
    let with = |file: &str, allow: bool| {
        let base = production_without_operator_files();
        let base = if allow {
            base.replace("allow_test_keys = false", "allow_test_keys = true")
        } else {
            base
        };
        let text = base.replace(
            "[capacity]",
            &format!("[proofs.circuits.mm]\ncircuit_id = \"{id}\"\nvk = \"{file}\"\n\n[capacity]"),
        );
        Policy::from_toml_str(&text, f.dir.path())
    };
    std::fs::write(f.dir.path().join("test.vk"), vk_file(&vk, 1)).unwrap();
    std::fs::write(f.dir.path().join("ceremony.vk"), vk_file(&vk, 2)).unwrap();
    let e = with("test.vk", false).expect_err("test key refused");
    assert!(e.to_string().contains("test-only"), "{e}");
    with("test.vk", true).expect("allowed when the policy says so");
    with("ceremony.vk", false).expect("ceremony key");
    with("square.vk", false).expect("bare key");
    // the header is checked: a flag that is neither is not a key file
    std::fs::write(f.dir.path().join("odd.vk"), vk_file(&vk, 3)).unwrap();
    assert!(with("odd.vk", true).is_err());
}
