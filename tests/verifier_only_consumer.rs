//! Tried as a new user would: a project **outside** the workspace that depends only on `cuproof-verify` (by path)
//! builds without libtss2, CUDA or a C compiler, and verifies a receipt made by the CLI (`cuproof run`).
//!
//! * `cargo tree` of the consumer must not contain tss-esapi, cust or cc (nor their -sys crates, bindgen, cmake,
//!   pkg-config);
//! * it is built with `CC=/bin/false` and `CXX=/bin/false`, so any attempt to run a C compiler fails the build;
//! * the receipt comes from the `cuproof` binary: `$CUPROOF_BIN`, else `<target dir>/debug/cuproof` next to this
//!   test (built by `cargo test --workspace` or `cargo build -p cuproof-cli`); missing, the test fails saying so.
//!
//! The consumer's own target dir is `<target dir>/verifier-consumer` (kept between runs: the first run compiles
//! the verifier's dependencies, arkworks included, at the consumer's default dev profile; later runs compile only
//! the tiny crate). It is a separate directory because the outer `cargo test` holds the workspace target dir's
//! lock while tests run; `CUPROOF_CONSUMER_TARGET_DIR` overrides it (e.g. a cache kept by CI). Needs swtpm + swtpm-tools for `cuproof run` unless a TPM is configured.

use std::path::{Path, PathBuf};
use std::process::Command;

const CONSUMER_MAIN: &str = r#"//! A service that verifies cuproof receipts: `consumer RECEIPT POLICY CHALLENGE_HEX` prints the verdict as
//! JSON and exits 0 when the receipt is valid, 1 when it is not, 2 on bad arguments.
use cuproof_verify::{verify_receipt_bytes, Policy, VerifyContext};

fn hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: consumer RECEIPT POLICY CHALLENGE_HEX");
        std::process::exit(2);
    }
    let (Ok(bytes), Ok(policy), Some(challenge)) = (
        std::fs::read(&args[1]),
        Policy::load(std::path::Path::new(&args[2])),
        hex32(&args[3]),
    ) else {
        eprintln!("cannot read the receipt, the policy or the challenge");
        std::process::exit(2);
    };
    let verdict = verify_receipt_bytes(&bytes, &policy, &mut VerifyContext::new(challenge));
    println!("{}", verdict.to_json());
    std::process::exit(if verdict.valid { 0 } else { 1 });
}
"#;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target dir this test was built into (`<target>/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("test binary under <target>/<profile>/deps")
}

fn cuproof_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CUPROOF_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let p = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("cuproof"))
        .expect("profile dir");
    assert!(
        p.exists(),
        "the cuproof CLI binary is missing at {} — build it first (`cargo build -p cuproof-cli` with the same \
         target dir, or `cargo test --workspace`), or set CUPROOF_BIN",
        p.display()
    );
    p
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Nothing from the outer build leaks in: the consumer is built as a stranger would build it.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("CARGO_") && k != "CARGO_HOME" || k == "RUSTFLAGS" || k == "RUSTC_WRAPPER"
        {
            c.env_remove(&k);
        }
    }
    c
}

fn run_ok(c: &mut Command, what: &str) -> String {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_verifier_only_consumer_builds_without_c_and_verifies_a_cli_receipt() {
    let ws = workspace();
    let dir = tempfile::tempdir().expect("tempdir");
    let proj = dir.path().join("consumer");
    std::fs::create_dir_all(proj.join("src")).expect("mkdir");
    std::fs::write(
        proj.join("Cargo.toml"),
        format!(
            "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\ncuproof-verify = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("crates/verify").display().to_string()
        ),
    )
    .expect("Cargo.toml");
    std::fs::write(proj.join("src/main.rs"), CONSUMER_MAIN).expect("main.rs");
    // The workspace's lock file pins the same versions the workspace tests use.
    std::fs::copy(ws.join("Cargo.lock"), proj.join("Cargo.lock")).expect("Cargo.lock");
    let manifest = proj.join("Cargo.toml");
    let consumer_target = std::env::var_os("CUPROOF_CONSUMER_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("verifier-consumer"));

    // 1. The dependency tree (normal and build dependencies) has no TPM, CUDA or C-compiler crate.
    let tree = run_ok(
        cargo()
            .args([
                "tree",
                "--prefix",
                "none",
                "-e",
                "normal,build",
                "--manifest-path",
            ])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &consumer_target),
        "cargo tree",
    );
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"cuproof-verify"), "{tree}");
    for banned in [
        "tss-esapi",
        "tss-esapi-sys",
        "cust",
        "cust_raw",
        "cc",
        "cmake",
        "bindgen",
        "pkg-config",
    ] {
        assert!(
            !names.contains(&banned),
            "the verifier-only consumer depends on {banned}:\n{tree}"
        );
    }

    // 2. It builds with no C compiler at all.
    run_ok(
        cargo()
            .args(["build", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &consumer_target)
            .env("CC", "/bin/false")
            .env("CXX", "/bin/false"),
        "cargo build of the consumer with CC=/bin/false",
    );
    let consumer = consumer_target.join("debug/consumer");

    // 3. A receipt made by the CLI.
    let out = dir.path().join("cli-out");
    let challenge = "5a".repeat(32);
    run_ok(
        Command::new(cuproof_bin())
            .args([
                "run",
                "matmul-i8",
                "--m",
                "8",
                "--k",
                "8",
                "--n",
                "8",
                "--seed",
            ])
            .arg("11".repeat(32))
            .args(["--challenge", &challenge, "--out"])
            .arg(&out),
        "cuproof run",
    );
    let receipt = out.join("receipt.bin");
    let policy = ws.join("crates/verify/policies/development.toml");

    // 4. The consumer verifies it (valid), and refuses it for another challenge.
    let json = run_ok(
        Command::new(&consumer)
            .arg(&receipt)
            .arg(&policy)
            .arg(&challenge),
        "the consumer's verification",
    );
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("verdict JSON");
    assert_eq!(v["valid"], serde_json::json!(true), "{json}");
    let st = Command::new(&consumer)
        .arg(&receipt)
        .arg(&policy)
        .arg("00".repeat(32))
        .status()
        .expect("consumer");
    assert_eq!(st.code(), Some(1), "a foreign challenge must be refused");
}
