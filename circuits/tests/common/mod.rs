//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cuproof_circuits::{matmul_i8, MatmulCircuit};

/// Deterministic int8 matrices.
pub fn sample(m: usize, k: usize, n: usize, seed: u64) -> (Vec<i8>, Vec<i8>) {
    let mut s = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 56) as u8 as i8
    };
    let a = (0..m * k).map(|_| next()).collect();
    let b = (0..k * n).map(|_| next()).collect();
    (a, b)
}

/// A correct circuit instance and its parts.
pub fn instance(
    m: usize,
    k: usize,
    n: usize,
    seed: u64,
) -> (MatmulCircuit, Vec<i8>, Vec<i8>, Vec<i32>) {
    let (a, b) = sample(m, k, n, seed);
    let c = matmul_i8(&a, &b, m, k, n).expect("shape");
    let job = [seed as u8; 32];
    let circ = MatmulCircuit::new(m, k, n, a.clone(), b.clone(), c.clone(), job).expect("circuit");
    (circ, a, b, c)
}

/// Where the npm packages are: `CUPROOF_NODE_MODULES`, else `<workspace>/.tools/node/node_modules`.
pub fn node_modules() -> PathBuf {
    match std::env::var_os("CUPROOF_NODE_MODULES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(".tools/node/node_modules"),
    }
}

/// Fails with a clear message when an npm package is missing.
pub fn require_npm(pkg: &str, install: &str) -> PathBuf {
    let dir = node_modules().join(pkg);
    assert!(
        dir.join("package.json").exists(),
        "npm package `{pkg}` not found at {} — install it with `npm install --prefix <workspace>/.tools/node {install}` \
         or point CUPROOF_NODE_MODULES at a node_modules directory that has it",
        dir.display()
    );
    assert!(
        std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok(),
        "`node` is not on PATH (Node.js ≥ 18 is needed for the {pkg} test)"
    );
    dir
}

/// Runs the snarkjs CLI (`node <node_modules>/snarkjs/build/cli.cjs args…`) in `dir`: (exit success, stdout and
/// stderr).
pub fn run_snarkjs<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> (bool, String) {
    let cli = node_modules().join("snarkjs").join("build").join("cli.cjs");
    assert!(cli.exists(), "snarkjs CLI not found at {}", cli.display());
    let out = std::process::Command::new("node")
        .arg(&cli)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run snarkjs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
