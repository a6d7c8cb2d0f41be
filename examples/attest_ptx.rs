//! Attest a user-supplied PTX kernel end to end: measured load, committed inputs, logged launch, committed
//! output, TPM checkpoints and quote → a receipt, verified here under the development policy.
//!
//! ```sh
//! cargo run --example attest_ptx                                # the shipped examples/kernels/vadd.ptx
//! cargo run --example attest_ptx -- --ptx my.ptx --n 4096 --out receipt.cpr
//! ```
//!
//! The kernel is `vadd_i32(a, b, c, n)`: `c[i] = a[i] + b[i]` (int32, wrapping). On a GPU (`--features cuda`
//! and a device) the PTX runs; otherwise the CPU backend runs the **CPU twin** given below as a closure, and the
//! receipt says `backend = cpu`. A private swtpm is started when no TPM is configured (`CUPROOF_TCTI`, ...).
//! With `--out` the receipt is written and the challenge printed (hex), so that `verify_service` can check it.
//!
//! `--ptx FILE` takes another build of the same kernel (entry `vadd_i32`, parameters `a, b, c, n`), e.g. your
//! own nvcc output. For a different kernel, copy this file and change three things: the entry name, the CPU twin
//! (what the whole grid computes, on the buffers' bytes) and the `launch` arguments.

use cuproof::job::{u32_bytes, u32s, BackendChoice, JobSpec, KernelArg, LaunchConfig, MeasuredJob};
use cuproof::node::NodeSession;
use cuproof_core::log::DType;
use cuproof_core::receipt::Receipt;
use cuproof_verify::{verify_receipt, Policy, Verdict, VerifyContext};
use rand::RngCore;
use std::error::Error;
use std::path::{Path, PathBuf};

/// The example's own kernel.
pub const DEFAULT_PTX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/kernels/vadd.ptx");
/// The development policy shipped with cuproof-verify (software TPM and CPU backend accepted).
pub const DEV_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/verify/policies/development.toml"
);

/// What one attested run produced.
pub struct Attested {
    /// The receipt.
    pub receipt: Receipt,
    /// The challenge the job answered.
    pub challenge: [u8; 32],
    /// The output c, read back from the backend.
    pub c: Vec<i32>,
    /// Why the CPU backend ran, if it did.
    pub why_cpu: Option<String>,
}

/// The CPU twin of `vadd_i32`: what the whole grid computes, on the buffers' bytes.
fn vadd_twin(_cfg: &LaunchConfig, args: &mut [cuproof::job::CpuArg]) -> Result<(), String> {
    if args.len() != 4 {
        return Err(format!("vadd_i32 takes 4 arguments, got {}", args.len()));
    }
    let n = args[3].as_u32()? as usize;
    let a = u32s(args[0].buffer()?);
    let b = u32s(args[1].buffer()?);
    if a.len() < n || b.len() < n || args[2].buffer()?.len() < 4 * n {
        return Err("a buffer is shorter than n elements".into());
    }
    let c: Vec<u32> = a
        .iter()
        .zip(&b)
        .take(n)
        .map(|(x, y)| x.wrapping_add(*y))
        .collect();
    args[2].buffer_mut()?[..4 * n].copy_from_slice(&u32_bytes(&c));
    Ok(())
}

/// Runs the measured job over `ptx` with `n` elements on `backend`.
pub fn attest(
    node: &mut NodeSession,
    ptx: &str,
    n: u32,
    backend: BackendChoice,
) -> Result<Attested, Box<dyn Error>> {
    let mut challenge = [0u8; 32];
    let mut job_id = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut challenge);
    rand::rngs::OsRng.fill_bytes(&mut job_id);
    let spec = JobSpec::new("vadd-i32", job_id, challenge)
        .param("n", n.to_string())
        .label("attest_ptx example");
    let mut job = MeasuredJob::start(node, spec, backend)?;
    let why_cpu = job.why_cpu().map(str::to_string);

    job.load_ptx("vadd", ptx)?;
    job.cpu_twin("vadd", "vadd_i32", vadd_twin)?;

    let a: Vec<i32> = (0..n as i32).map(|i| i.wrapping_mul(7) - 3).collect();
    let b: Vec<i32> = (0..n as i32).map(|i| i32::MAX - i).collect();
    let bytes = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let shape = [n as u64];
    let da = job.input("a", DType::I32, &shape, &bytes(&a))?;
    let db = job.input("b", DType::I32, &shape, &bytes(&b))?;
    let dc = job.alloc(4 * n as usize)?;
    job.checkpoint()?; // inputs committed: extend them into the job PCR now

    job.launch(
        "vadd",
        "vadd_i32",
        LaunchConfig::linear(n, 256),
        &[
            KernelArg::Buffer(da),
            KernelArg::Buffer(db),
            KernelArg::Buffer(dc),
            KernelArg::U32(n),
        ],
    )?;
    job.commit_output(dc, "c", DType::I32, &shape)?;
    let c: Vec<i32> = u32s(&job.download(dc)?)
        .into_iter()
        .map(|x| x as i32)
        .collect();
    let expected: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
    if c != expected {
        return Err("the backend computed a wrong c".into());
    }
    let receipt = job.finish(&["c"])?;
    Ok(Attested {
        receipt,
        challenge,
        c,
        why_cpu,
    })
}

/// Verifies `receipt` under the policy file `policy` with the job's challenge.
pub fn verify(
    receipt: &Receipt,
    policy: &Path,
    challenge: [u8; 32],
) -> Result<Verdict, Box<dyn Error>> {
    let policy = Policy::load(policy)?;
    Ok(verify_receipt(
        receipt,
        &policy,
        &mut VerifyContext::new(challenge),
    ))
}

struct Args {
    ptx: PathBuf,
    n: u32,
    out: Option<PathBuf>,
    cpu: bool,
}

fn parse_args(argv: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        ptx: PathBuf::from(DEFAULT_PTX),
        n: 1000,
        out: None,
        cpu: false,
    };
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--ptx" => args.ptx = PathBuf::from(value()?),
            "--n" => {
                args.n = value()?
                    .parse()
                    .map_err(|e| format!("--n: {e}"))
                    .and_then(|n: u32| {
                        if n == 0 {
                            Err("--n must be > 0".into())
                        } else {
                            Ok(n)
                        }
                    })?
            }
            "--out" => args.out = Some(PathBuf::from(value()?)),
            "--cpu" => args.cpu = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --ptx FILE, --n N, --out FILE, --cpu)"
                ))
            }
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("attest_ptx: {e}");
            std::process::exit(2);
        }
    };
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("attest_ptx: {e}");
            std::process::exit(3);
        }
    }
}

fn run(args: &Args) -> Result<bool, Box<dyn Error>> {
    let ptx = std::fs::read_to_string(&args.ptx)
        .map_err(|e| format!("cannot read {}: {e}", args.ptx.display()))?;
    let mut node = NodeSession::open(None)?;
    let backend = if args.cpu {
        BackendChoice::Cpu
    } else {
        BackendChoice::Auto
    };
    let out = attest(&mut node, &ptx, args.n, backend)?;
    if let Some(why) = &out.why_cpu {
        println!("backend: cpu ({why})");
    } else {
        println!("backend: {:?}", out.receipt.statement.backend);
    }
    println!(
        "c[0..4] = {:?}, {} launches and {} records logged",
        &out.c[..out.c.len().min(4)],
        out.receipt
            .log
            .records()
            .iter()
            .filter(|r| matches!(r, cuproof_core::log::Record::Launch { .. }))
            .count(),
        out.receipt.log.records().len()
    );
    let verdict = verify(&out.receipt, Path::new(DEV_POLICY), out.challenge)?;
    print!("{}", verdict.render_table());
    if let Some(path) = &args.out {
        std::fs::write(path, out.receipt.encode()?)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("receipt: {}", path.display());
        println!("challenge: {}", hex::encode(out.challenge));
    }
    Ok(verdict.valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuproof_core::log::{Backend, Record};

    #[test]
    fn attests_and_verifies_the_shipped_kernel_on_the_cpu_backend() {
        let ptx = std::fs::read_to_string(DEFAULT_PTX).expect("the example's PTX is shipped");
        let mut node = NodeSession::open(None).expect(
            "a TPM: set CUPROOF_TCTI, or install swtpm + swtpm-tools (apt) for a private software TPM",
        );
        let out = attest(&mut node, &ptx, 300, BackendChoice::Cpu).expect("job");
        assert_eq!(out.receipt.statement.backend, Backend::Cpu);
        assert_eq!(out.c.len(), 300);
        let recs = out.receipt.log.records();
        assert!(recs
            .iter()
            .any(|r| matches!(r, Record::Launch { entry, .. } if entry == "vadd_i32")));
        let v = verify(&out.receipt, Path::new(DEV_POLICY), out.challenge).expect("policy");
        assert!(v.valid, "{}", v.render_table());
        // Another verifier's challenge is refused.
        let v = verify(&out.receipt, Path::new(DEV_POLICY), [9; 32]).expect("policy");
        assert!(!v.valid);
    }

    #[test]
    fn the_command_line_writes_a_verified_receipt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("r.cpr");
        let argv = ["--n", "64", "--cpu", "--out"].map(String::from);
        let mut args =
            parse_args(argv.into_iter().chain([out.display().to_string()])).expect("args");
        assert_eq!((args.n, args.cpu), (64, true));
        assert!(run(&args).expect("run"), "the receipt verifies");
        let r = Receipt::decode(&std::fs::read(&out).expect("written")).expect("decodes");
        assert_eq!(
            r.statement.params,
            vec![("n".to_string(), "64".to_string())]
        );
        // Bad command lines are refused, an unreadable kernel is an error.
        assert!(parse_args(["--n", "0"].map(String::from)).is_err());
        assert!(parse_args(["--bogus"].map(String::from)).is_err());
        args.ptx = dir.path().join("missing.ptx");
        assert!(run(&args).is_err());
    }
}
