//! Verify receipts inside a "service": a function that takes the receipt bytes, a policy and the challenge the
//! service issued, and returns a structured verdict as JSON. No network is needed: this example reads the
//! receipt from a file or stdin.
//!
//! ```sh
//! cargo run --example attest_ptx -- --out /tmp/r.cpr          # prints the challenge
//! cargo run --example verify_service -- --challenge HEX --receipt /tmp/r.cpr [--policy FILE]
//! cat /tmp/r.cpr | cargo run --example verify_service -- --challenge HEX
//! ```
//!
//! Exit code: 0 valid, 1 invalid, 2 usage or input error. The service itself needs only `cuproof-verify`
//! (pure Rust: no GPU, TPM or C dependency).

use cuproof_verify::{verify_receipt_bytes, Policy, VerifyContext};
use serde_json::json;
use std::io::Read;
use std::path::PathBuf;

/// The development policy shipped with cuproof-verify.
pub const DEV_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/verify/policies/development.toml"
);

/// Largest receipt the service accepts (bytes).
pub const MAX_RECEIPT: usize = 64 << 20;

/// The service: verify `receipt` under `policy` for the challenge this service issued. Never panics; any
/// malformed input is a verdict with a failed `receipt.decode` check.
pub fn verify_service(receipt: &[u8], policy: &Policy, challenge: [u8; 32]) -> serde_json::Value {
    if receipt.len() > MAX_RECEIPT {
        return json!({
            "valid": false,
            "policy": policy.name,
            "error": format!("receipt is {} bytes (at most {MAX_RECEIPT})", receipt.len()),
        });
    }
    let mut ctx = VerifyContext::new(challenge);
    let verdict = verify_receipt_bytes(receipt, policy, &mut ctx);
    let failed: Vec<&str> = verdict.failures().map(|c| c.name.as_str()).collect();
    json!({
        "valid": verdict.valid,
        "policy": verdict.policy,
        "failed": failed,
        "verdict": verdict.to_json(),
    })
}

fn parse_challenge(s: &str) -> Result<[u8; 32], String> {
    let v = hex::decode(s.trim()).map_err(|e| format!("--challenge: {e}"))?;
    v.try_into()
        .map_err(|v: Vec<u8>| format!("--challenge: {} bytes, expected 32", v.len()))
}

fn run(argv: impl IntoIterator<Item = String>, stdin: impl Read) -> Result<bool, String> {
    let mut receipt_path: Option<PathBuf> = None;
    let mut policy_path = PathBuf::from(DEV_POLICY);
    let mut challenge = None;
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--receipt" => receipt_path = Some(PathBuf::from(value()?)),
            "--policy" => policy_path = PathBuf::from(value()?),
            "--challenge" => challenge = Some(parse_challenge(&value()?)?),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --challenge HEX [--receipt FILE|-] [--policy FILE])"
                ))
            }
        }
    }
    let challenge = challenge.ok_or("--challenge HEX is required")?;
    let policy =
        Policy::load(&policy_path).map_err(|e| format!("policy {}: {e}", policy_path.display()))?;
    let mut bytes = Vec::new();
    match receipt_path {
        Some(p) if p.as_os_str() != "-" => {
            bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?
        }
        _ => {
            stdin
                .take(MAX_RECEIPT as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("stdin: {e}"))?;
        }
    }
    let v = verify_service(&bytes, &policy, challenge);
    println!(
        "{}",
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
    );
    Ok(v["valid"] == json!(true))
}

fn main() {
    match run(std::env::args().skip(1), std::io::stdin()) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("verify_service: {e}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuproof::job::{BackendChoice, CpuArg, JobSpec, KernelArg, LaunchConfig, MeasuredJob};
    use cuproof_core::log::DType;

    /// A small job whose kernel negates bytes (the "PTX" is a stub module with one entry; the CPU twin runs).
    fn receipt(challenge: [u8; 32]) -> Vec<u8> {
        let mut node = cuproof::node::NodeSession::open(None).expect(
            "a TPM: set CUPROOF_TCTI, or install swtpm + swtpm-tools (apt) for a private software TPM",
        );
        let ptx = ".version 7.0\n.target sm_52\n.address_size 64\n\
                   .visible .entry neg_u8(.param .u64 p, .param .u32 n)\n{\n\tret;\n}\n";
        let spec = JobSpec::new("neg-u8", [3; 32], challenge);
        let mut job = MeasuredJob::start(&mut node, spec, BackendChoice::Cpu).expect("start");
        job.load_ptx("neg", ptx).expect("load");
        job.cpu_twin("neg", "neg_u8", |_: &LaunchConfig, args: &mut [CpuArg]| {
            for b in args[0].buffer_mut()? {
                *b = b.wrapping_neg();
            }
            Ok(())
        })
        .expect("twin");
        let x = job
            .input("x", DType::U8, &[8], &[1, 2, 3, 4, 5, 6, 7, 8])
            .expect("input");
        // The kernel negates its buffer in place; the negated x is committed as the output "x".
        job.launch(
            "neg",
            "neg_u8",
            LaunchConfig::linear(8, 32),
            &[KernelArg::Buffer(x), KernelArg::U32(8)],
        )
        .expect("launch");
        job.commit_output(x, "x", DType::U8, &[8]).expect("commit");
        job.finish(&["x"])
            .expect("finish")
            .encode()
            .expect("encode")
    }

    #[test]
    fn the_service_returns_a_structured_verdict() {
        let policy = Policy::load(std::path::Path::new(DEV_POLICY)).expect("policy");
        let bytes = receipt([5; 32]);
        let v = verify_service(&bytes, &policy, [5; 32]);
        assert_eq!(v["valid"], json!(true), "{v:#}");
        assert!(v["verdict"]["checks"]
            .as_array()
            .is_some_and(|c| c.len() > 5));

        // A foreign challenge, a forged output, a truncated receipt and garbage are invalid, with the failing checks named.
        let v = verify_service(&bytes, &policy, [6; 32]);
        assert_eq!(v["valid"], json!(false));
        assert!(v["failed"]
            .as_array()
            .is_some_and(|f| f.iter().any(|n| n == "statement.challenge")));
        let mut forged = cuproof_core::receipt::Receipt::decode(&bytes).expect("decode");
        forged.statement.tensors[1].commitment.root[0] ^= 1; // the output "x"
        let v = verify_service(&forged.encode().expect("encode"), &policy, [5; 32]);
        assert_eq!(v["valid"], json!(false));
        let mut truncated = bytes.clone();
        truncated.pop();
        let v = verify_service(&truncated, &policy, [5; 32]);
        assert_eq!(v["failed"], json!(["receipt.decode"]));
        let v = verify_service(b"not a receipt", &policy, [5; 32]);
        assert_eq!(v["failed"], json!(["receipt.decode"]));

        // The command line: from a file and from stdin; bad arguments are errors.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.cpr");
        std::fs::write(&path, &bytes).expect("write");
        let ch = "05".repeat(32);
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let file = path.display().to_string();
        assert_eq!(
            run(
                argv(&["--challenge", &ch, "--receipt", &file]),
                std::io::empty()
            ),
            Ok(true)
        );
        assert_eq!(run(argv(&["--challenge", &ch]), &bytes[..]), Ok(true));
        assert_eq!(
            run(argv(&["--challenge", &"06".repeat(32)]), &bytes[..]),
            Ok(false)
        );
        assert!(run(argv(&["--challenge", "0506"]), &bytes[..]).is_err());
        assert!(run(argv(&["--receipt", &file]), std::io::empty()).is_err());
        assert!(run(
            argv(&["--challenge", &ch, "--policy", "/nonexistent"]),
            std::io::empty()
        )
        .is_err());
    }
}
