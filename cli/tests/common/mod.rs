//! Helpers shared by the CLI tests: run the binary, check exit codes and the one-line error.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn cuproof(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cuproof"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUPROOF_TCTI")
        .env_remove("TPM2TOOLS_TCTI")
        .env_remove("TCTI")
        .output()
        .expect("run cuproof")
}

pub fn hex32(b: u8) -> String {
    hex::encode([b; 32])
}

pub fn assert_fails(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {err}\nstdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("cuproof: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(
        lines[0].contains(needle),
        "{:?} does not mention {needle:?}",
        lines[0]
    );
}

/// Exit 0, or the test fails showing what the command printed.
pub fn assert_ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The text of the shipped development policy.
pub fn development_policy() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/verify/policies/development.toml"
    ))
    .expect("development.toml")
}

pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_s = if shape.len() == 1 {
        format!("({},)", shape[0])
    } else {
        format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    let total = 10 + h.len() + 1;
    h.push_str(&" ".repeat((64 - total % 64) % 64));
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A capacity challenge's node and row rounds in `dir` for challenge file `ch`, the files suffixed `tag`
/// (`commit{tag}.bin`, `rows{tag}.bin`, `open{tag}.bin`), `commit_args` added to `respond commit`. Each step must
/// succeed; returns what `respond commit` printed.
pub fn capacity_rounds(dir: &Path, ch: &str, tag: &str, commit_args: &[&str]) -> String {
    let f = |x: &str| format!("{x}{tag}.bin");
    let mut commit = vec!["respond", "commit", "--challenge", ch, "--out"];
    let commit_file = f("commit");
    commit.push(&commit_file);
    commit.extend_from_slice(commit_args);
    let o = cuproof(&commit, dir);
    assert_ok(&o);
    let (rows, open) = (f("rows"), f("open"));
    assert_ok(&cuproof(
        &[
            "challenge",
            "rows",
            "--challenge",
            ch,
            "--commit",
            &commit_file,
            "--out",
            &rows,
        ],
        dir,
    ));
    assert_ok(&cuproof(
        &[
            "respond",
            "open",
            "--challenge",
            ch,
            "--commit",
            &commit_file,
            "--rows",
            &rows,
            "--out",
            &open,
        ],
        dir,
    ));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// `challenge judge` of the files [`capacity_rounds`] wrote for `ch` and `tag`, with `extra` arguments.
pub fn capacity_judge(dir: &Path, ch: &str, tag: &str, extra: &[&str]) -> Output {
    let f = |x: &str| format!("{x}{tag}.bin");
    let (commit, rows, open) = (f("commit"), f("rows"), f("open"));
    let mut args = vec![
        "challenge",
        "judge",
        "--challenge",
        ch,
        "--commit",
        &commit,
        "--rows",
        &rows,
        "--openings",
        &open,
    ];
    args.extend_from_slice(extra);
    cuproof(&args, dir)
}
