//! `cuproof prove` and detached proof files (docs/proof-file.md), and verification with a wrong verifying key.
//!
//! One fixture (built once, shared by the tests): two single-party setups (matmul-i8 8x8x8 and 4x4x4, run
//! in parallel), two receipts of the same 8x8x8 job under different challenges (r1, r2: same tensors,
//! different statements), and a detached proof of r1. Receipts come from a private swtpm (the binary starts
//! it), as in `cli.rs`.

mod common;

use common::{assert_fails, cuproof, hex32, npy};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

const SEED: u8 = 3;

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    /// Policy requiring a proof of matmul-i8-8x8x8 under the 8x8x8 key.
    policy: PathBuf,
    circuit8: String,
    circuit4: String,
}

use common::assert_ok as ok;

fn setup_id(o: &Output) -> String {
    ok(o);
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .find_map(|l| l.strip_prefix("id        "))
        .expect("setup prints the circuit id")
        .trim()
        .to_string()
}

/// A policy accepting the swtpm/CPU receipts of the tests (as development.toml) with one circuit, required.
fn policy_text(name: &str, circuit_id: &str, vk: &Path, vk_digest: Option<&str>) -> String {
    format!(
        r#"version = 1
name = "test-proof-required"
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

[proofs]
required = ["{name}"]

[proofs.circuits.{name}]
circuit_id = "{circuit_id}"
vk = "{vk}"
{digest}workloads = ["matmul-i8"]
inputs = ["A", "B"]
output = "C"
"#,
        vk = vk.display(),
        digest = vk_digest
            .map(|d| format!("vk_digest = \"{d}\"\n"))
            .unwrap_or_default()
    )
}

fn run_job(dir: &Path, out: &str, challenge: u8) {
    ok(&cuproof(
        &[
            "run",
            "matmul-i8",
            "--seed",
            &hex32(SEED),
            "--m",
            "8",
            "--k",
            "8",
            "--n",
            "8",
            "--challenge",
            &hex32(challenge),
            "--out",
            out,
        ],
        dir,
    ));
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let td = tempfile::tempdir().unwrap();
        let dir = td.path().to_path_buf();
        let (d1, d2) = (dir.clone(), dir.clone());
        let s8 = std::thread::spawn(move || {
            cuproof(
                &["setup", "--m", "8", "--k", "8", "--n", "8", "--out", "keys"],
                &d1,
            )
        });
        let s4 = std::thread::spawn(move || {
            cuproof(
                &["setup", "--m", "4", "--k", "4", "--n", "4", "--out", "keys"],
                &d2,
            )
        });
        run_job(&dir, "r1", 7);
        run_job(&dir, "r2", 8);
        let circuit8 = setup_id(&s8.join().unwrap());
        let circuit4 = setup_id(&s4.join().unwrap());
        ok(&cuproof(
            &[
                "prove",
                "r1/receipt.bin",
                "--seed",
                &hex32(SEED),
                "--keys",
                "keys",
                "--out",
                "r1.proof",
            ],
            &dir,
        ));
        let policy = dir.join("policy.toml");
        std::fs::write(
            &policy,
            policy_text(
                "matmul-i8-8x8x8",
                &circuit8,
                &dir.join("keys/matmul-i8-8x8x8.vk"),
                None,
            ),
        )
        .unwrap();
        Fixture {
            _dir: td,
            dir,
            policy,
            circuit8,
            circuit4,
        }
    })
}

fn verify(f: &Fixture, receipt: &str, policy: &Path, challenge: u8, proofs: &[&str]) -> Output {
    let mut args = vec![
        "verify".to_string(),
        receipt.to_string(),
        "--policy".into(),
        policy.display().to_string(),
        "--challenge".into(),
        hex32(challenge),
    ];
    for p in proofs {
        args.push("--proof".into());
        args.push(p.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cuproof(&args, &f.dir)
}

#[test]
fn run_prove_verify_with_detached_proof() {
    let f = fixture();
    // The policy requires a proof: the receipt alone (run without --prove) fails...
    let o = verify(f, "r1/receipt.bin", &f.policy, 7, &[]);
    assert_fails(&o, 1, "proofs.required");
    // ...and passes with the detached proof, which is checked and counted like an embedded one.
    let o = verify(f, "r1/receipt.bin", &f.policy, 7, &["r1.proof"]);
    ok(&o);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("✓ proof.matmul-i8-8x8x8.detached"),
        "{table}"
    );
    assert!(table.contains("RESULT: VALID"), "{table}");
    // The file is what docs/proof-file.md says: 143-byte header + 128-byte compressed proof.
    let b = std::fs::read(f.dir.join("r1.proof")).unwrap();
    assert_eq!(b.len(), 271);
    assert_eq!(&b[..11], b"CUPROOFP\x01\x00\x01");
    assert_eq!(hex::encode(&b[11..43]), f.circuit8);
    assert_eq!(&b[139..143], &128u32.to_le_bytes());
    // JSON verdict names the detached check.
    let o = cuproof(
        &[
            "verify",
            "r1/receipt.bin",
            "--policy",
            f.policy.to_str().unwrap(),
            "--challenge",
            &hex32(7),
            "--proof",
            "r1.proof",
            "--json",
        ],
        &f.dir,
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    // calldata and snarkjs export take the detached proof.
    let o = cuproof(
        &["calldata", "r1/receipt.bin", "--proof", "r1.proof"],
        &f.dir,
    );
    ok(&o);
    let cd = String::from_utf8_lossy(&o.stdout);
    assert!(cd.trim().starts_with("0x") && cd.trim().len() > 2 + 8 + 2 * 256);
    let o = cuproof(&["calldata", "r1/receipt.bin"], &f.dir);
    assert_fails(&o, 2, "no proof");
    let d = tempfile::tempdir().unwrap();
    let sj = d.path().join("sj");
    let o = cuproof(
        &[
            "export",
            "snarkjs",
            "--receipt",
            "r1/receipt.bin",
            "--proof",
            "r1.proof",
            "--vk",
            "keys/matmul-i8-8x8x8.vk",
            "--out",
            sj.to_str().unwrap(),
        ],
        &f.dir,
    );
    ok(&o);
    let public: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sj.join("public.json")).unwrap()).unwrap();
    assert_eq!(public.as_array().map(Vec::len), Some(1));
    // prove --json: machine-readable, and --a/--b .npy operands work like the seed (same tensors).
    let o = cuproof(&["inspect", "r1/receipt.bin", "--json"], &f.dir);
    ok(&o);
    let a = cuproof_seeded(8 * 8, cuproof_core::fill::STREAM_A);
    let b = cuproof_seeded(8 * 8, cuproof_core::fill::STREAM_B);
    std::fs::write(d.path().join("A.npy"), npy("|i1", &[8, 8], &a)).unwrap();
    std::fs::write(d.path().join("B.npy"), npy("|i1", &[8, 8], &b)).unwrap();
    let out = d.path().join("npy.proof");
    let o = cuproof(
        &[
            "prove",
            "r1/receipt.bin",
            "--a",
            d.path().join("A.npy").to_str().unwrap(),
            "--b",
            d.path().join("B.npy").to_str().unwrap(),
            "--c",
            "r1/C.npy",
            "--keys",
            "keys/matmul-i8-8x8x8.pk",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        &f.dir,
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["bytes"], 271);
    assert_eq!(v["circuit_id"], f.circuit8.as_str());
    let o = verify(f, "r1/receipt.bin", &f.policy, 7, &[out.to_str().unwrap()]);
    ok(&o);
}

/// The seeded operands of the fixture job, as `cuproof run --seed` makes them (the public seeded fill).
fn cuproof_seeded(len: usize, stream: u8) -> Vec<u8> {
    cuproof_core::fill::fill_i8(&[SEED; 32], stream, len)
        .into_iter()
        .map(|x| x as u8)
        .collect()
}

#[test]
fn prove_refuses_wrong_tensors_and_writes_nothing() {
    let f = fixture();
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("x.proof");
    let prove_with = |keys: &str, extra: &[&str]| {
        let mut args = vec![
            "prove",
            "r1/receipt.bin",
            "--keys",
            keys,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        cuproof(&args, &f.dir)
    };
    let prove = |extra: &[&str]| prove_with("keys", extra);
    // Other operands (another seed): A is not the receipt's A.
    let other = hex32(SEED + 1);
    assert_fails(&prove(&["--seed", &other]), 2, "A is not the receipt's A");
    // The right operands with a wrong C.
    let mut c = std::fs::read(f.dir.join("r1/C.npy")).unwrap();
    let last = c.len() - 1;
    c[last] ^= 1;
    std::fs::write(d.path().join("C.npy"), &c).unwrap();
    let seed = hex32(SEED);
    let cpath = d.path().join("C.npy");
    assert_fails(
        &prove(&["--seed", &seed, "--c", cpath.to_str().unwrap()]),
        2,
        "C is not the receipt's C",
    );
    // Another shape than the receipt's.
    assert_fails(
        &prove(&["--seed", &seed, "--m", "4", "--k", "4", "--n", "4"]),
        2,
        "the receipt's job is 8x8x8",
    );
    // A key for another shape.
    assert_fails(
        &prove_with("keys/matmul-i8-4x4x4.pk", &["--seed", &seed]),
        2,
        "is for 4x4x4",
    );
    // No operands; a corrupt receipt.
    assert_fails(&prove(&[]), 2, "give either --seed");
    std::fs::write(d.path().join("bad.bin"), b"CUPROOF\0garbage").unwrap();
    let o = cuproof(
        &[
            "prove",
            d.path().join("bad.bin").to_str().unwrap(),
            "--seed",
            &seed,
            "--keys",
            "keys",
            "--out",
            out.to_str().unwrap(),
        ],
        &f.dir,
    );
    assert_fails(&o, 2, "bad.bin");
    assert!(!out.exists(), "a failed prove wrote {}", out.display());
}

#[test]
fn detached_proof_for_another_receipt_is_rejected() {
    let f = fixture();
    // r2 is the same job (same tensors) under another challenge: another statement.
    let o = verify(f, "r2/receipt.bin", &f.policy, 8, &["r1.proof"]);
    assert_fails(&o, 1, "the detached proof is for statement");
    let o = cuproof(
        &["calldata", "r2/receipt.bin", "--proof", "r1.proof"],
        &f.dir,
    );
    assert_fails(&o, 2, "the proof file is for statement");
}

#[test]
fn corrupt_proof_files_never_pass_and_never_panic() {
    let f = fixture();
    let d = tempfile::tempdir().unwrap();
    let good = std::fs::read(f.dir.join("r1.proof")).unwrap();
    let path = d.path().join("p.proof");
    let p = path.to_str().unwrap();
    let check = |bytes: &[u8], what: &str| -> i32 {
        std::fs::write(&path, bytes).unwrap();
        let o = verify(f, "r1/receipt.bin", &f.policy, 7, &[p]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{what}: {err}");
        let code = o.status.code().unwrap_or(-1);
        assert!(code == 1 || code == 2, "{what}: exit {code}: {err}");
        code
    };
    // Not a proof file at all, or cut short: input errors (exit 2, one line naming the file).
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert_fails(
        &verify(f, "r1/receipt.bin", &f.policy, 7, &[p]),
        2,
        "proof file truncated",
    );
    std::fs::write(&path, [good.as_slice(), &[0]].concat()).unwrap();
    assert_fails(
        &verify(f, "r1/receipt.bin", &f.policy, 7, &[p]),
        2,
        "trailing bytes",
    );
    assert_fails(
        &verify(f, "r1/receipt.bin", &f.policy, 7, &["r1/receipt.bin"]),
        2,
        "this is a receipt",
    );
    assert_fails(
        &verify(f, "r1/receipt.bin", &f.policy, 7, &["missing.proof"]),
        2,
        "missing.proof",
    );
    // A well-formed file whose proof bytes are wrong: a failed check (exit 1).
    let mut b = good.clone();
    b[200] ^= 0x01;
    assert_eq!(check(&b, "proof byte"), 1);
    // Another vk digest inside the file: exit 1.
    let mut b = good.clone();
    b[50] ^= 0x80;
    let o = {
        std::fs::write(&path, &b).unwrap();
        verify(f, "r1/receipt.bin", &f.policy, 7, &[p])
    };
    assert_fails(&o, 1, "vk_digest");
    // Flips across the whole file: never accepted, never a panic.
    for i in (0..good.len()).step_by(9) {
        let mut b = good.clone();
        b[i] ^= 1 << (i % 8);
        check(&b, &format!("bit flip at byte {i}"));
    }
    // The fixture proof itself still passes (the loop above did not touch it).
    ok(&verify(f, "r1/receipt.bin", &f.policy, 7, &["r1.proof"]));
}

#[test]
fn wrong_verifying_key() {
    let f = fixture();
    let d = tempfile::tempdir().unwrap();
    let vk8 = f.dir.join("keys/matmul-i8-8x8x8.vk");
    let vk4 = f.dir.join("keys/matmul-i8-4x4x4.vk");
    // The policy names the receipt's circuit but a key file of another shape: the auditor's own policy is
    // inconsistent, an input error (exit 2) before any receipt is judged.
    let p = d.path().join("mixed.toml");
    std::fs::write(&p, policy_text("matmul-i8-8x8x8", &f.circuit8, &vk4, None)).unwrap();
    let o = verify(f, "r1/receipt.bin", &p, 7, &["r1.proof"]);
    assert_fails(&o, 2, "the key file is for circuit");
    // The policy's only circuit is another shape (4x4x4, with its own key): the proof is for a circuit the
    // policy has no key for (exit 1).
    let p = d.path().join("other.toml");
    std::fs::write(&p, policy_text("matmul-i8-4x4x4", &f.circuit4, &vk4, None)).unwrap();
    let o = verify(f, "r1/receipt.bin", &p, 7, &["r1.proof"]);
    assert_fails(&o, 1, "is not in the policy");
    // The policy pins another verifying key (digest) for the right circuit: a proof made under another key
    // is refused (exit 1).
    let other_digest = hex::encode([0x42u8; 32]);
    let p = d.path().join("pinned.toml");
    std::fs::write(
        &p,
        policy_text("matmul-i8-8x8x8", &f.circuit8, &vk8, Some(&other_digest)),
    )
    .unwrap();
    let o = verify(f, "r1/receipt.bin", &p, 7, &["r1.proof"]);
    assert_fails(&o, 1, "vk_digest");
}

/// Progress is drawn when stderr is a terminal (here a pseudo-terminal from util-linux `script`): `run` and
/// `prove` finish (no deadlock between step lines and spinners) and stdout keeps its plain output.
#[test]
fn progress_on_a_terminal() {
    let f = fixture();
    let script = std::process::Command::new("script")
        .arg("--version")
        .output();
    assert!(
        script.is_ok_and(|o| o.status.success()),
        "this test needs `script` (Debian package bsdutils) on PATH"
    );
    let bin = env!("CARGO_BIN_EXE_cuproof");
    let d = tempfile::tempdir().unwrap();
    let proof = d.path().join("tty.proof");
    let run = format!(
        "{bin} run matmul-i8 --seed {} --m 8 --k 8 --n 8 --challenge {} --out {} && \
         {bin} prove r1/receipt.bin --seed {} --keys keys --out {}",
        hex32(SEED),
        hex32(9),
        d.path().join("out").display(),
        hex32(SEED),
        proof.display()
    );
    let o = std::process::Command::new("timeout")
        .args(["120", "script", "-qec", &run, "/dev/null"])
        .current_dir(&f.dir)
        .env_remove("CUPROOF_TCTI")
        .env_remove("TPM2TOOLS_TCTI")
        .env_remove("TCTI")
        .output()
        .expect("run script");
    let all = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(
        all.contains("job finished"),
        "no step lines on a terminal: {all}"
    );
    assert!(all.contains("proving matmul-i8 8x8x8"), "no spinner: {all}");
    assert!(all.contains("proof     "), "{all}");
    assert_eq!(std::fs::read(&proof).unwrap().len(), 271);
}
