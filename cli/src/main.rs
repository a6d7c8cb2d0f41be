//! `cuproof` — prove GPU work: run a measured job and write a receipt; verify receipts under a policy; export
//! verifiers and calldata for on-chain checks.
//!
//! Exit codes: 0 valid / success, 1 invalid receipt, 2 usage or input error, 3 environment (no TPM, GPU, tool).

mod bootlog;
mod capacity;
mod chain;
mod demo;
mod error;
mod gpu;
mod job;
mod node;
mod npy;
mod progress;
mod prove;

use clap::{Args, CommandFactory, Parser, Subcommand};
use error::{read_file, write_file, CliError, CliResult};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "cuproof",
    version,
    about = "Receipts for GPU work: measured kernels, TPM quotes, Groth16 proofs",
    long_about = "cuproof turns a GPU job into a receipt that an auditor verifies offline (`cuproof verify`) and \
an EVM contract verifies on-chain (`cuproof export solidity`, `cuproof calldata`).\n\n\
Start with `cuproof demo`: with no GPU and no TPM it uses the CPU backend and a private software TPM.\n\n\
Exit codes: 0 valid, 1 invalid receipt, 2 usage or input error, 3 environment (no TPM/GPU/tool).\n\
Logging: set RUST_LOG=debug."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show GPUs (or "none: CPU backend"), the TPM that would be used, and tool versions.
    Info(InfoArgs),
    /// Make circuit-specific Groth16 keys for matmul-i8 of one shape: a single-party setup (testing only), or
    /// export the circuit for a multi-party snarkjs ceremony and import its final zkey.
    Setup(SetupArgs),
    /// Run a job and write its receipt (and output tensor).
    Run(RunArgs),
    /// Prove a finished receipt: write a detached Groth16 proof file for its statement (docs/proof-file.md).
    Prove(ProveArgs),
    /// Verify a receipt under a policy (the auditor's command).
    Verify(VerifyArgs),
    /// Print a receipt in readable form (or JSON).
    Inspect(InspectArgs),
    /// Export a verifier: Solidity contracts, or snarkjs JSON files.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Print the ABI-encoded call that verifies a receipt's proof on-chain.
    Calldata(CalldataArgs),
    /// Node enrollment by TPM credential activation, through files.
    #[command(subcommand)]
    Enroll(EnrollCmd),
    /// Capacity challenge, verifier side: new challenge, choose rows, judge (docs/capacity.md).
    #[command(subcommand)]
    Challenge(ChallengeCmd),
    /// Capacity challenge, node side: commit (Q1, seeded work, Q2) and open the requested rows.
    #[command(subcommand)]
    Respond(RespondCmd),
    /// Show a firmware (measured-boot) event log: its events, the PCRs it replays to, and the `[boot]` policy
    /// table that accepts exactly that boot.
    Bootlog(MeasurementLogArgs),
    /// Show an IMA runtime measurement list (what the kernel measured after boot: the NVIDIA driver, binaries),
    /// the PCR-10 value it replays to, and the `[ima]` policy table that accepts exactly those files.
    Ima(MeasurementLogArgs),
    /// Check a GPU's own attestation report (SPDM measurements signed by a key NVIDIA certified for the chip), from
    /// NVML's files or a capacity commit message, and print the `[gpu_attestation]` table that accepts that card.
    GpuEvidence(GpuEvidenceArgs),
    /// The main job: setup → run → prove → verify → on-chain check, with a story of what was proven.
    Demo(DemoArgs),
    /// Print shell completions.
    Completions {
        /// Shell: bash, zsh, fish, elvish, powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct InfoArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SetupArgs {
    /// Rows of A and C.
    #[arg(long)]
    m: usize,
    /// Columns of A / rows of B.
    #[arg(long)]
    k: usize,
    /// Columns of B and C.
    #[arg(long)]
    n: usize,
    /// Output directory for `<circuit>.pk` and `<circuit>.vk`.
    #[arg(long, default_value = "keys")]
    out: PathBuf,
    /// Write the circuit as an iden3 `.r1cs` file for a snarkjs ceremony (no keys are made).
    #[arg(long, value_name = "FILE", conflicts_with = "import_zkey")]
    export_r1cs: Option<PathBuf>,
    /// Make the keys from the final `.zkey` of a snarkjs ceremony over the `--export-r1cs` file of this shape
    /// (replaces keys of this shape in `--out`).
    #[arg(long, value_name = "FILE")]
    import_zkey: Option<PathBuf>,
}

/// The operands of a matmul-i8 job: a seed and sizes, or two int8 `.npy` files.
#[derive(Args)]
pub struct InputArgs {
    /// Rows of A (with --seed; `prove` takes it from the receipt).
    #[arg(long)]
    m: Option<usize>,
    /// Columns of A / rows of B (with --seed; `prove` takes it from the receipt).
    #[arg(long)]
    k: Option<usize>,
    /// Columns of B (with --seed; `prove` takes it from the receipt).
    #[arg(long)]
    n: Option<usize>,
    /// Generate A and B from this 32-byte hex seed (seeded fill).
    #[arg(long)]
    seed: Option<String>,
    /// A as an int8 .npy file (m×k).
    #[arg(long)]
    a: Option<PathBuf>,
    /// B as an int8 .npy file (k×n).
    #[arg(long)]
    b: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// Workload: matmul-i8.
    workload: String,
    #[command(flatten)]
    input: InputArgs,
    /// The verifier's challenge, 32-byte hex.
    #[arg(long)]
    challenge: String,
    /// Job identifier, 32-byte hex (default: random).
    #[arg(long)]
    job_id: Option<String>,
    /// Output directory: receipt.bin, receipt.json, C.npy (and node.json for a self-enrolled software TPM).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Attach a Groth16 proof made with this proving key (from `cuproof setup`).
    #[arg(long)]
    prove: Option<PathBuf>,
    /// Load the enrolled AK from this file (node side of `cuproof enroll`); default: a fresh AK, self-enrolled.
    #[arg(long)]
    ak: Option<PathBuf>,
    /// Node label written into the receipt.
    #[arg(long, default_value = "node")]
    label: String,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProveArgs {
    /// The receipt (binary, as written by `cuproof run`): the proof is made for its statement.
    receipt: PathBuf,
    /// The job's operands, exactly as given to `cuproof run` (their commitments must equal the receipt's).
    #[command(flatten)]
    input: InputArgs,
    /// The output C as an int32 .npy file (the C.npy written by `run`); default: recomputed as A·B.
    #[arg(long)]
    c: Option<PathBuf>,
    /// Proving key: a file from `cuproof setup`, or the directory it wrote (matmul-i8-MxKxN.pk is picked).
    #[arg(long)]
    keys: PathBuf,
    /// Where to write the proof file (default: the receipt's path with extension .proof).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// The receipt (binary, as written by `cuproof run`).
    receipt: PathBuf,
    /// The policy (TOML).
    #[arg(long)]
    policy: PathBuf,
    /// The challenge you issued for this job, 32-byte hex.
    #[arg(long)]
    challenge: String,
    /// The registrar's node record (JSON) from enrollment.
    #[arg(long)]
    node: Option<PathBuf>,
    /// A detached proof file from `cuproof prove` (repeatable); it counts like a proof inside the receipt.
    #[arg(long)]
    proof: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `cuproof bootlog` and `cuproof ima`.
#[derive(Args)]
struct MeasurementLogArgs {
    /// The log (default: this machine's, under /sys/kernel/security: binary_bios_measurements for `bootlog`,
    /// ima/binary_runtime_measurements for `ima`).
    file: Option<PathBuf>,
    /// Take the log a receipt carries instead.
    #[arg(long, conflicts_with = "file")]
    receipt: Option<PathBuf>,
    /// Take the log a capacity commit message (`cuproof respond commit`) carries instead.
    #[arg(long, conflicts_with_all = ["file", "receipt"])]
    commit: Option<PathBuf>,
    /// Print only the policy table (`[boot]` or `[ima]`).
    #[arg(long)]
    policy: bool,
}

impl MeasurementLogArgs {
    fn source(&self) -> bootlog::Source<'_> {
        match (&self.file, &self.receipt, &self.commit) {
            (_, Some(r), _) => bootlog::Source::Receipt(r),
            (_, _, Some(c)) => bootlog::Source::Commit(c),
            (Some(f), _, _) => bootlog::Source::File(f),
            (None, None, None) => bootlog::Source::Machine,
        }
    }
}

#[derive(Args)]
struct GpuEvidenceArgs {
    /// The report: the SPDM GET_MEASUREMENTS request and signed response (binary, or hex text).
    #[arg(long, requires_all = ["chain", "nonce"], conflicts_with = "commit")]
    report: Option<PathBuf>,
    /// The attestation key's certificate chain (PEM, or DER back to back), attestation key first.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// The nonce the request carried (64 hex digits).
    #[arg(long)]
    nonce: Option<String>,
    /// Take the evidence of a card of a capacity commit message (`cuproof respond commit`) instead.
    #[arg(long, requires = "challenge")]
    commit: Option<PathBuf>,
    /// The challenge the commit message answers (the card's nonce comes from it).
    #[arg(long)]
    challenge: Option<PathBuf>,
    /// Which card of the commit message.
    #[arg(long, default_value_t = 0)]
    card: usize,
    /// Trusted roots (PEM); default: NVIDIA's Device Identity CA.
    #[arg(long)]
    roots: Option<PathBuf>,
    /// Check certificate validity at this Unix time instead of now.
    #[arg(long)]
    at: Option<u64>,
    /// Print only the `[gpu_attestation]` policy table.
    #[arg(long)]
    policy: bool,
    /// Print the verified content as JSON.
    #[arg(long, conflicts_with = "policy")]
    json: bool,
}

#[derive(Args)]
struct InspectArgs {
    /// The receipt.
    receipt: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ExportCmd {
    /// Write the Groth16 verifier contract for a verifying key, and the receipt contract.
    Solidity {
        /// Verifying key file (from `cuproof setup`).
        #[arg(long)]
        vk: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "contracts")]
        out: PathBuf,
    },
    /// Write verification_key.json, proof.json, public.json for `snarkjs groth16 verify`.
    Snarkjs {
        /// Receipt carrying a proof (or the receipt a --proof file is for).
        #[arg(long)]
        receipt: PathBuf,
        /// A detached proof file from `cuproof prove` (default: the receipt's embedded proof).
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Verifying key file.
        #[arg(long)]
        vk: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "snarkjs")]
        out: PathBuf,
    },
    /// Write the receipt's TCG event log (for tpm2_eventlog).
    Eventlog {
        /// The receipt.
        #[arg(long)]
        receipt: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct CalldataArgs {
    /// Receipt carrying a proof (or the receipt a --proof file is for).
    receipt: PathBuf,
    /// A detached proof file from `cuproof prove` (default: the receipt's embedded proof).
    #[arg(long)]
    proof: Option<PathBuf>,
    /// Encode the receipt contract's `submit(...)` instead of the verifier's `verifyProof(...)`.
    #[arg(long)]
    submit: bool,
}

#[derive(Subcommand)]
enum EnrollCmd {
    /// Node: create an AK under the EK and write the enrollment request (EK public, EK cert, AK public).
    Request {
        /// Where to write the request (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Where to save the TPM-wrapped AK (created 0600).
        #[arg(long)]
        ak_out: PathBuf,
    },
    /// Registrar: check the request (EK certificate chain, AK attributes) and make the credential challenge.
    Challenge {
        /// The node's request.
        #[arg(long)]
        request: PathBuf,
        /// Trusted EK root certificates (PEM or DER), repeatable.
        #[arg(long = "ek-root")]
        ek_roots: Vec<PathBuf>,
        /// Where to write the challenge for the node.
        #[arg(long)]
        out: PathBuf,
        /// Where to keep the registrar's pending state (secret: created 0600).
        #[arg(long)]
        pending: PathBuf,
    },
    /// Node: activate the credential with the TPM and write the response.
    Activate {
        /// The registrar's challenge.
        #[arg(long)]
        challenge: PathBuf,
        /// The AK file from `enroll request`.
        #[arg(long)]
        ak: PathBuf,
        /// Where to write the response.
        #[arg(long)]
        out: PathBuf,
    },
    /// Registrar: check the response and write the node record used by `cuproof verify --node`.
    Finish {
        /// The pending state from `enroll challenge`.
        #[arg(long)]
        pending: PathBuf,
        /// The node's response.
        #[arg(long)]
        response: PathBuf,
        /// Where to write the node record.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ChallengeCmd {
    /// A fresh challenge (seed, nonce, workload) for a claimed class (see docs/capacity.md; `cpu` for the CPU).
    New {
        /// Claimed class, e.g. h100-sxm, h200, a100, cpu.
        #[arg(long)]
        class: String,
        /// Number of cards claimed: the class's workload that many times over under the class's bound, so the
        /// node's cards must work side by side (refused where the margin cannot tell N cards from N − 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        cards: u32,
        /// Policy file whose `[capacity]` says which claims count (without it: development, everything accepted).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Where to write the challenge.
        #[arg(long)]
        out: PathBuf,
    },
    /// Choose the rows to open (only after the node's commitment arrived).
    Rows {
        /// The challenge.
        #[arg(long)]
        challenge: PathBuf,
        /// The node's commit message.
        #[arg(long)]
        commit: PathBuf,
        /// Where to write the row request.
        #[arg(long)]
        out: PathBuf,
    },
    /// Judge the transcript: exit 0 if the node proved its class, 1 if not.
    Judge {
        /// The challenge.
        #[arg(long)]
        challenge: PathBuf,
        /// The node's commit message.
        #[arg(long)]
        commit: PathBuf,
        /// The row request.
        #[arg(long)]
        rows: PathBuf,
        /// The node's openings.
        #[arg(long)]
        openings: PathBuf,
        /// The node's enrollment record (pins its AK, and says whether its TPM is hardware).
        #[arg(long)]
        node: Option<PathBuf>,
        /// Policy file whose `[capacity]` says which claims count (without it: development, everything accepted).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RespondCmd {
    /// Take Q1, run the seeded GEMM workload, commit the results, take Q2.
    Commit {
        /// The verifier's challenge.
        #[arg(long)]
        challenge: PathBuf,
        /// The enrolled AK file (default: a fresh AK on the TPM, or a private swtpm).
        #[arg(long)]
        ak: Option<PathBuf>,
        /// Where to write the commit message.
        #[arg(long)]
        out: PathBuf,
        /// How the cards attest (before Q1): `auto` (NVML on a GPU node), `none`, or `soft:DIR` (a software
        /// responder with DIR/cardN-ak.key.pem and DIR/cardN-chain.pem: a rehearsal under a test authority).
        #[arg(long, default_value = "auto")]
        gpu_attestation: String,
    },
    /// Open the rows the verifier asked for.
    Open {
        /// The verifier's challenge.
        #[arg(long)]
        challenge: PathBuf,
        /// This node's commit message.
        #[arg(long)]
        commit: PathBuf,
        /// The verifier's row request.
        #[arg(long)]
        rows: PathBuf,
        /// Where to write the openings.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Working directory for keys, receipt and contracts.
    #[arg(long, default_value = "cuproof-demo")]
    dir: PathBuf,
    /// Matrix size (m = k = n).
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Print the verdicts as JSON too.
    #[arg(long)]
    json: bool,
}

/// A reader that stops reading (`cuproof bootlog | head`) closes the pipe; Rust ignores SIGPIPE, so the next
/// `println!` panics. Exit quietly instead, as a filter killed by SIGPIPE would; any other panic keeps the default
/// report.
fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() {
    exit_quietly_on_closed_stdout();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => error::EXIT_USAGE,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match dispatch(cli.cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cuproof: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn dispatch(cmd: Cmd) -> CliResult<i32> {
    match cmd {
        Cmd::Info(a) => info(a),
        Cmd::Setup(a) => setup(a),
        Cmd::Run(a) => run(a),
        Cmd::Prove(a) => prove::run(
            &a.receipt,
            &a.input,
            a.c.as_deref(),
            &a.keys,
            a.out.as_deref(),
            a.json,
        ),
        Cmd::Verify(a) => verify(a),
        Cmd::Inspect(a) => inspect(a),
        Cmd::Bootlog(a) => bootlog::run(&a.source(), a.policy),
        Cmd::Ima(a) => bootlog::run_ima(&a.source(), a.policy),
        Cmd::GpuEvidence(a) => {
            let src = match (&a.report, &a.commit) {
                (Some(report), _) => gpu::Source::Files {
                    report,
                    chain: a.chain.as_deref().unwrap_or(Path::new("")),
                    nonce: a.nonce.as_deref().unwrap_or(""),
                },
                (None, Some(commit)) => gpu::Source::Commit {
                    challenge: a.challenge.as_deref().unwrap_or(Path::new("")),
                    commit,
                    card: a.card,
                },
                (None, None) => return Err(CliError::input(
                    "gpu-evidence: give --report, --chain and --nonce, or --commit and --challenge",
                )),
            };
            gpu::run(&src, a.roots.as_deref(), a.at, a.policy, a.json)
        }
        Cmd::Export(e) => export(e),
        Cmd::Calldata(a) => calldata(a),
        Cmd::Enroll(e) => enroll(e),
        Cmd::Challenge(c) => match c {
            ChallengeCmd::New {
                class,
                cards,
                policy,
                out,
            } => capacity::new(&class, cards, policy.as_deref(), &out),
            ChallengeCmd::Rows {
                challenge,
                commit,
                out,
            } => capacity::rows(&challenge, &commit, &out),
            ChallengeCmd::Judge {
                challenge,
                commit,
                rows,
                openings,
                node,
                policy,
                json,
            } => capacity::judge(
                &challenge,
                &commit,
                &rows,
                &openings,
                node.as_deref(),
                policy.as_deref(),
                json,
            ),
        },
        Cmd::Respond(r) => match r {
            RespondCmd::Commit {
                challenge,
                ak,
                out,
                gpu_attestation,
            } => capacity::commit(&challenge, ak.as_deref(), &out, &gpu_attestation),
            RespondCmd::Open {
                challenge,
                commit,
                rows,
                out,
            } => capacity::open(&challenge, &commit, &rows, &out),
        },
        Cmd::Demo(a) => demo::run(&a.dir, a.size, a.json),
        Cmd::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "cuproof",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}

/// Parse a 32-byte hex value.
pub fn hex32(what: &str, s: &str) -> CliResult<[u8; 32]> {
    let s = s.trim().trim_start_matches("0x");
    let v = hex::decode(s).map_err(|_| CliError::input(format!("{what}: not hex: {s}")))?;
    v.try_into()
        .map_err(|v: Vec<u8>| CliError::input(format!("{what}: {} bytes, expected 32", v.len())))
}

/// 32 random bytes from the OS.
pub fn random32_pub() -> [u8; 32] {
    random32()
}

fn random32() -> [u8; 32] {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn tool_version(cmd: &str, arg: &str) -> String {
    std::process::Command::new(cmd)
        .arg(arg)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string()
                + &String::from_utf8_lossy(&o.stderr);
            s.lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "not found".into())
}

fn info(a: InfoArgs) -> CliResult<i32> {
    let (rt, why) = cuproof::Runtime::auto();
    let inv = rt.inventory().clone();
    let gpus: Vec<String> = inv
        .gpus
        .iter()
        .map(|g| {
            format!(
                "{} (sm_{}{}, {} SMs, {} MiB, driver {})",
                g.name,
                g.compute_capability.0,
                g.compute_capability.1,
                g.sm_count,
                g.memory_bytes >> 20,
                g.driver_version
            )
        })
        .collect();
    let tpm = match cuproof_tpm::configured_tcti() {
        Some(t) => format!("configured: {t}"),
        None if cuproof_tpm::tpm_available() => "hardware: /dev/tpmrm0".into(),
        None => "none: a private software TPM (swtpm) will be started".into(),
    };
    let gpu_attestation = gpu::attestation_status(&inv.gpus);
    let tools = [
        ("swtpm", tool_version("swtpm", "--version")),
        ("tpm2-tools", tool_version("tpm2_eventlog", "--version")),
        ("node", tool_version("node", "--version")),
        ("nvcc", tool_version("nvcc", "--version")),
    ];
    if a.json {
        let v = serde_json::json!({
            "backend": format!("{:?}", inv.backend).to_lowercase(),
            "gpus": gpus,
            "why_not_gpu": why.map(|e| e.to_string()),
            "host": inv.host, "cpu": inv.cpu,
            "tpm": tpm,
            "gpu_attestation": gpu_attestation,
            "tools": tools.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone()))).collect::<serde_json::Map<_,_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        println!("host        {} ({})", inv.host, inv.cpu);
        if gpus.is_empty() {
            println!(
                "GPUs        none: CPU backend{}",
                why.map(|e| format!(" ({e})")).unwrap_or_default()
            );
        } else {
            for g in &gpus {
                println!("GPU         {g}");
            }
        }
        println!("TPM         {tpm}");
        println!("GPU attest. {gpu_attestation}");
        for (k, v) in tools {
            println!("{k:<12}{v}");
        }
    }
    Ok(0)
}

fn key_paths(dir: &Path, m: usize, k: usize, n: usize) -> (PathBuf, PathBuf) {
    let stem = format!("matmul-i8-{m}x{k}x{n}");
    (
        dir.join(format!("{stem}.pk")),
        dir.join(format!("{stem}.vk")),
    )
}

/// Make (or load, when present) the proving key for a shape; writes `.pk` and `.vk` files.
pub fn setup_keys(
    dir: &Path,
    m: usize,
    k: usize,
    n: usize,
) -> CliResult<(cuproof_circuits::ProvingKey, PathBuf)> {
    let (pkp, vkp) = key_paths(dir, m, k, n);
    if pkp.exists() && vkp.exists() {
        let pk = load_proving_key(&pkp)?;
        if pk.shape == (m, k, n) {
            return Ok((pk, vkp));
        }
    }
    let task = progress::spinner(format!(
        "single-party Groth16 setup for matmul-i8 {m}x{k}x{n} (test-only keys)"
    ));
    let pk = cuproof_circuits::setup_from_seed(m, k, n, random32())
        .map_err(|e| CliError::input(format!("setup: {e}")))?;
    task.set_message("writing the key files");
    write_keys(dir, &pk)?;
    Ok((pk, vkp))
}

/// Writes the `.pk` and `.vk` files of `pk` into `dir` (created if needed); returns the `.vk` path.
fn write_keys(dir: &Path, pk: &cuproof_circuits::ProvingKey) -> CliResult<PathBuf> {
    let (m, k, n) = pk.shape;
    let (pkp, vkp) = key_paths(dir, m, k, n);
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", dir.display())))?;
    let pkb = pk
        .to_bytes()
        .map_err(|e| CliError::input(format!("setup: {e}")))?;
    let vkb = pk
        .verifying_key_bytes()
        .map_err(|e| CliError::input(format!("setup: {e}")))?;
    write_file(&pkp, &pkb, "proving key")?;
    write_file(&vkp, &vkb, "verifying key")?;
    Ok(vkp)
}

/// Load a proving key file (from `cuproof setup`), with a byte bar for large files.
pub fn load_proving_key(path: &Path) -> CliResult<cuproof_circuits::ProvingKey> {
    let bytes = progress::read_file(path, "proving key")?;
    let _task = progress::spinner(format!("loading proving key {}", path.display()));
    cuproof_circuits::ProvingKey::from_bytes(&bytes)
        .map_err(|e| CliError::input(format!("proving key {}: {e}", path.display())))
}

/// Where `cuproof setup --out DIR` puts the proving key of a shape.
pub fn proving_key_path(dir: &Path, m: usize, k: usize, n: usize) -> PathBuf {
    key_paths(dir, m, k, n).0
}

fn setup(a: SetupArgs) -> CliResult<i32> {
    let p = progress::Progress::new();
    if let Some(path) = &a.export_r1cs {
        let task = progress::spinner(format!("synthesizing matmul-i8 {}x{}x{}", a.m, a.k, a.n));
        let bytes = cuproof_circuits::matmul_r1cs(a.m, a.k, a.n)
            .map_err(|e| CliError::input(format!("export r1cs: {e}")))?;
        drop(task);
        write_file(path, &bytes, "r1cs file")?;
        p.step("circuit exported for a multi-party ceremony");
        p.done();
        let size = cuproof_circuits::circuit_size(a.m, a.k, a.n)
            .map_err(|e| CliError::input(format!("export r1cs: {e}")))?;
        let power = (size.constraints + size.instance_variables)
            .next_power_of_two()
            .trailing_zeros();
        println!("circuit   matmul-i8 {}x{}x{}", a.m, a.k, a.n);
        println!(
            "r1cs      {} ({} constraints, {} variables)",
            path.display(),
            size.constraints,
            size.instance_variables + size.witness_variables
        );
        println!(
            "ceremony  needs a prepared powers of tau of power >= {power} (e.g. the public Hermez/Polygon ptau files)"
        );
        println!(
            "  snarkjs groth16 setup {} pot{power}_final.ptau c0000.zkey",
            path.display()
        );
        println!("  snarkjs zkey contribute c0000.zkey c0001.zkey --name=<party>     # each party in turn");
        println!("  snarkjs zkey beacon c000N.zkey final.zkey <beacon hex> 10");
        println!(
            "  snarkjs zkey verify {} pot{power}_final.ptau final.zkey",
            path.display()
        );
        println!(
            "  cuproof setup --m {} --k {} --n {} --import-zkey final.zkey --out {}",
            a.m,
            a.k,
            a.n,
            a.out.display()
        );
        return Ok(0);
    }
    let (pk, vkp) = match &a.import_zkey {
        Some(zpath) => {
            let zbytes = progress::read_file(zpath, "zkey")?;
            let task = progress::spinner(format!(
                "importing {} for matmul-i8 {}x{}x{}",
                zpath.display(),
                a.m,
                a.k,
                a.n
            ));
            let pk = cuproof_circuits::ProvingKey::from_snarkjs_zkey(a.m, a.k, a.n, &zbytes)
                .map_err(|e| CliError::input(format!("zkey {}: {e}", zpath.display())))?;
            task.set_message("writing the key files");
            let vkp = write_keys(&a.out, &pk)?;
            p.step("keys imported from a snarkjs ceremony");
            (pk, vkp)
        }
        None => {
            let keys = setup_keys(&a.out, a.m, a.k, a.n)?;
            p.step("single-party Groth16 setup (test-only keys)");
            keys
        }
    };
    p.done();
    println!("circuit   matmul-i8 {}x{}x{}", a.m, a.k, a.n);
    println!("id        {}", hex::encode(pk.circuit_id));
    println!(
        "vk        {} (digest {})",
        vkp.display(),
        hex::encode(job::vk_file_digest(&pk)?)
    );
    match pk.origin {
        cuproof_circuits::SetupOrigin::TestOnly => println!(
            "note      single-party setup: whoever ran it can forge proofs; for testing only"
        ),
        cuproof_circuits::SetupOrigin::SnarkjsCeremony => {
            println!("source    {}", pk.rng_source);
            println!(
                "note      sound if one phase-1 and one phase-2 contributor was honest; check the transcript with `snarkjs zkey verify`"
            );
        }
    }
    println!("policy    to accept its proofs, add to a policy:");
    println!(
        "\n[proofs.circuits.matmul-i8-{m}x{k}x{n}]\ncircuit_id = \"{}\"\nvk = \"{}\"\nworkloads = [\"matmul-i8\"]",
        hex::encode(pk.circuit_id),
        vkp.canonicalize().unwrap_or(vkp.clone()).display(),
        m = a.m,
        k = a.k,
        n = a.n
    );
    Ok(0)
}

/// The operands from the command line. `shape`: the shape the job must have (the receipt's, for `prove`); then
/// `--m/--k/--n` may be left out with `--seed`, and whatever is given must agree with it.
pub fn load_inputs(
    a: &InputArgs,
    shape: Option<(usize, usize, usize)>,
) -> CliResult<job::MatmulInputs> {
    let inputs = load_inputs_unchecked(a, shape)?;
    if let Some((m, k, n)) = shape {
        if (inputs.m, inputs.k, inputs.n) != (m, k, n) {
            return Err(CliError::input(format!(
                "the inputs are {}x{}x{}, the receipt's job is {m}x{k}x{n}",
                inputs.m, inputs.k, inputs.n
            )));
        }
    }
    Ok(inputs)
}

fn load_inputs_unchecked(
    a: &InputArgs,
    shape: Option<(usize, usize, usize)>,
) -> CliResult<job::MatmulInputs> {
    if (a.a.is_some() || a.b.is_some()) && (a.m.is_some() || a.k.is_some() || a.n.is_some()) {
        return Err(CliError::input(
            "--m/--k/--n go with --seed; with --a/--b the shapes come from the .npy files",
        ));
    }
    match (&a.seed, &a.a, &a.b) {
        (Some(seed), None, None) => {
            let given = (a.m, a.k, a.n);
            let (m, k, n) = match (given, shape) {
                ((Some(m), Some(k), Some(n)), _) => (m, k, n),
                ((None, None, None), Some(s)) => s,
                _ => return Err(CliError::input("--seed needs --m, --k and --n")),
            };
            if m == 0 || k == 0 || n == 0 || m * k > 1 << 30 || k * n > 1 << 30 {
                return Err(CliError::input(
                    "matrix dimensions must be positive and at most 2^30 elements",
                ));
            }
            Ok(job::MatmulInputs::from_seed(
                m,
                k,
                n,
                &hex32("--seed", seed)?,
            ))
        }
        (None, Some(pa), Some(pb)) => {
            let ta = npy::parse(&progress::read_file(pa, "A")?)
                .map_err(|e| CliError::input(format!("{}: {e}", pa.display())))?;
            let tb = npy::parse(&progress::read_file(pb, "B")?)
                .map_err(|e| CliError::input(format!("{}: {e}", pb.display())))?;
            for (t, p) in [(&ta, pa), (&tb, pb)] {
                if t.descr != "|i1" {
                    return Err(CliError::input(format!(
                        "{}: dtype {} but matmul-i8 takes int8",
                        p.display(),
                        t.descr
                    )));
                }
                if t.shape.len() != 2 {
                    return Err(CliError::input(format!(
                        "{}: shape {:?} is not a matrix",
                        p.display(),
                        t.shape
                    )));
                }
            }
            let (m, k) = (ta.shape[0], ta.shape[1]);
            let (k2, n) = (tb.shape[0], tb.shape[1]);
            if k != k2 || m == 0 || k == 0 || n == 0 {
                return Err(CliError::input(format!(
                    "shape mismatch: A is {m}x{k}, B is {k2}x{n}"
                )));
            }
            Ok(job::MatmulInputs {
                m,
                k,
                n,
                a: ta.data.iter().map(|&b| b as i8).collect(),
                b: tb.data.iter().map(|&b| b as i8).collect(),
            })
        }
        _ => Err(CliError::input(
            "give either --seed with --m --k --n, or both --a and --b (.npy int8)",
        )),
    }
}

fn run(a: RunArgs) -> CliResult<i32> {
    if a.workload != job::WORKLOAD {
        return Err(CliError::input(format!(
            "unknown workload {} (available: {})",
            a.workload,
            job::WORKLOAD
        )));
    }
    let challenge = hex32("--challenge", &a.challenge)?;
    let job_id = match &a.job_id {
        Some(s) => hex32("--job-id", s)?,
        None => random32(),
    };
    let inputs = load_inputs(&a.input, None)?;
    let pk = match &a.prove {
        Some(p) => Some(load_proving_key(p)?),
        None => None,
    };
    std::fs::create_dir_all(&a.out)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", a.out.display())))?;
    let p = progress::Progress::new();
    p.step("opening the TPM");
    let mut node = node::NodeSession::open(a.ak.as_deref())?;
    let record = if a.ak.is_none() {
        let trust = node.local_ca_trust()?;
        Some(node.enroll_locally(trust)?)
    } else {
        None
    };
    let mut say = |s: &str| p.step(s);
    let out = job::run_matmul(
        &mut node,
        &inputs,
        job::JobOptions {
            challenge,
            job_id,
            label: a.label.clone(),
            pcr: cuproof_core::log::DEFAULT_JOB_PCR as u8,
            proving_key: pk.as_ref(),
            progress: &mut say,
        },
    )?;
    p.done();
    write_outputs(&a.out, &out, record.as_ref(), inputs.m, inputs.n)?;
    let r = &out.receipt;
    let digest = r.digest().map_err(|e| CliError::input(e.to_string()))?;
    if a.json {
        let v = serde_json::json!({
            "receipt": a.out.join("receipt.bin"),
            "receipt_digest": hex::encode(digest),
            "statement_digest": hex::encode(r.statement.digest()),
            "backend": format!("{:?}", r.statement.backend).to_lowercase(),
            "tpm": format!("{:?}", r.node.tpm).to_lowercase(),
            "proofs": r.proofs.len(),
            "why_cpu": out.why_cpu,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    println!("receipt   {}", a.out.join("receipt.bin").display());
    println!("digest    {}", hex::encode(digest));
    println!("statement {}", hex::encode(r.statement.digest()));
    println!(
        "backend   {:?}, TPM {:?}, proofs {}",
        r.statement.backend,
        r.node.tpm,
        r.proofs.len()
    );
    Ok(0)
}

/// Write receipt.bin, receipt.json, C.npy and node.json (when given) into `dir`.
pub fn write_outputs(
    dir: &Path,
    out: &job::JobOutput,
    record: Option<&cuproof_attest::NodeRecord>,
    m: usize,
    n: usize,
) -> CliResult<()> {
    let bytes = out
        .receipt
        .encode()
        .map_err(|e| CliError::input(format!("receipt encoding: {e}")))?;
    write_file(&dir.join("receipt.bin"), &bytes, "receipt")?;
    let json = serde_json::to_string_pretty(&out.receipt.to_json()).unwrap_or_default();
    write_file(&dir.join("receipt.json"), json.as_bytes(), "receipt JSON")?;
    let c: Vec<u8> = out.c.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_file(
        &dir.join("C.npy"),
        &npy::encode("<i4", &[m, n], &c),
        "output",
    )?;
    if let Some(rec) = record {
        let j = rec
            .to_json()
            .map_err(|e| CliError::input(format!("node record: {e}")))?;
        write_file(&dir.join("node.json"), &j, "node record")?;
    }
    Ok(())
}

/// Read and strictly decode a receipt (a corrupt one is an input error).
pub fn load_receipt(path: &Path) -> CliResult<cuproof_core::Receipt> {
    let bytes = read_file(path, "receipt")?;
    cuproof_core::Receipt::decode(&bytes)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

pub fn load_policy(path: &Path) -> CliResult<cuproof_verify::Policy> {
    if !path.exists() {
        return Err(CliError::input(format!(
            "cannot read policy {}: no such file",
            path.display()
        )));
    }
    cuproof_verify::Policy::load(path)
        .map_err(|e| CliError::input(format!("policy {}: {e}", path.display())))
}

pub fn load_node_record(path: &Path) -> CliResult<cuproof_attest::NodeRecord> {
    cuproof_attest::NodeRecord::from_json(&read_file(path, "node record")?)
        .map_err(|e| CliError::input(format!("node record {}: {e}", path.display())))
}

fn verify(a: VerifyArgs) -> CliResult<i32> {
    let policy = load_policy(&a.policy)?;
    let challenge = hex32("--challenge", &a.challenge)?;
    let record = match &a.node {
        Some(p) => Some(load_node_record(p)?),
        None => None,
    };
    let detached = a
        .proof
        .iter()
        .map(|p| load_proof_file(p))
        .collect::<CliResult<Vec<_>>>()?;
    let bytes = read_file(&a.receipt, "receipt")?;
    let verdict = verify_bytes_with(&bytes, &policy, challenge, record.as_ref(), &detached)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict.to_json()).unwrap_or_default()
        );
    } else {
        print!("{}", verdict.render_table());
    }
    if verdict.any_failed() {
        let first = verdict
            .failures()
            .next()
            .map(|c| format!("{}: {}", c.name, c.reason))
            .unwrap_or_default();
        return Err(CliError::invalid(format!("receipt invalid: {first}")));
    }
    Ok(0)
}

/// Verify receipt bytes under a policy, with the policy's freshness state file when it names one.
pub fn verify_bytes(
    bytes: &[u8],
    policy: &cuproof_verify::Policy,
    challenge: [u8; 32],
    record: Option<&cuproof_attest::NodeRecord>,
) -> CliResult<cuproof_verify::Verdict> {
    verify_bytes_with(bytes, policy, challenge, record, &[])
}

/// [`verify_bytes`] with detached proofs (`cuproof prove`), which count like embedded ones.
pub fn verify_bytes_with(
    bytes: &[u8],
    policy: &cuproof_verify::Policy,
    challenge: [u8; 32],
    record: Option<&cuproof_attest::NodeRecord>,
    detached: &[cuproof_verify::DetachedProof],
) -> CliResult<cuproof_verify::Verdict> {
    let mut ctx = cuproof_verify::VerifyContext::new(challenge);
    ctx.node = record;
    ctx.detached_proofs = detached;
    cuproof_verify::verify_with_state_file(bytes, policy, &mut ctx)
        .map_err(|e| CliError::input(format!("freshness state: {e}")))
}

/// Read and strictly decode a detached proof file. A file that does not parse is an input error (exit 2):
/// nothing was judged. A well-formed proof that does not verify is a failed check (exit 1).
pub fn load_proof_file(path: &Path) -> CliResult<cuproof_verify::DetachedProof> {
    let bytes = read_file(path, "proof file")?;
    cuproof_verify::DetachedProof::decode(&bytes)
        .map_err(|e| CliError::input(format!("proof file {}: {e}", path.display())))
}

fn inspect(a: InspectArgs) -> CliResult<i32> {
    let r = load_receipt(&a.receipt)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r.to_json()).unwrap_or_default()
        );
        return Ok(0);
    }
    let s = &r.statement;
    println!("workload   {} {:?}", s.workload, s.params);
    println!("backend    {:?}", s.backend);
    println!("job id     {}", hex::encode(s.job_id));
    println!("challenge  {}", hex::encode(s.challenge));
    println!("statement  {}", hex::encode(s.digest()));
    for t in &s.tensors {
        println!(
            "tensor     {:?} {} {} {:?} merkle {}",
            t.role,
            t.name,
            t.dtype.name(),
            t.shape,
            hex::encode(t.commitment.root)
        );
    }
    println!(
        "log        {} records, {} checkpoints, head {}",
        r.log.records().len(),
        r.log.checkpoints().len(),
        hex::encode(r.log.head())
    );
    println!("node       {} ({:?} TPM)", r.node.label, r.node.tpm);
    let summary =
        |label: &str, log: &[u8], count: Result<usize, String>, unit: &str, cmd: &str| match (
            log.is_empty(),
            count,
        ) {
            (true, _) => println!("{label} none"),
            (false, Ok(n)) => println!(
                "{label} {n} {unit}, {} bytes (cuproof {cmd} --receipt … shows them)",
                log.len()
            ),
            (false, Err(e)) => println!("{label} {} bytes, not readable: {e}", log.len()),
        };
    summary(
        "boot log  ",
        &r.node.boot_log,
        cuproof_attest::bootlog::BootLog::parse(&r.node.boot_log)
            .map(|l| l.events.len())
            .map_err(|e| e.to_string()),
        "events",
        "bootlog",
    );
    summary(
        "IMA list  ",
        &r.node.ima_log,
        cuproof_attest::ima::ImaLog::parse(&r.node.ima_log)
            .map(|l| l.entries.len())
            .map_err(|e| e.to_string()),
        "entries",
        "ima",
    );
    for q in &r.quotes {
        println!("quote      {} ({} PCRs)", q.purpose, q.pcrs.len());
    }
    for p in &r.proofs {
        println!(
            "proof      {:?} circuit {}",
            p.system,
            hex::encode(p.circuit_id)
        );
    }
    for t in &r.timings {
        println!("timing     {} {:.3} ms", t.label, t.nanos as f64 / 1e6);
    }
    Ok(0)
}

fn export(e: ExportCmd) -> CliResult<i32> {
    match e {
        ExportCmd::Solidity { vk, out } => {
            let files = chain::write_contracts(&read_file(&vk, "verifying key")?, &out)?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(0)
        }
        ExportCmd::Snarkjs {
            receipt,
            proof,
            vk,
            out,
        } => {
            let r = load_receipt(&receipt)?;
            let d = proof.as_deref().map(load_proof_file).transpose()?;
            let p = chain::select_proof(&r, d.as_ref())?;
            let files = chain::write_snarkjs(&r, &p, &read_file(&vk, "verifying key")?, &out)?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(0)
        }
        ExportCmd::Eventlog { receipt, out } => {
            let r = load_receipt(&receipt)?;
            let bytes = r
                .log
                .to_tcg_bytes()
                .map_err(|e| CliError::input(format!("event log: {e}")))?;
            write_file(&out, &bytes, "event log")?;
            println!(
                "wrote {} (read it with: tpm2_eventlog {})",
                out.display(),
                out.display()
            );
            Ok(0)
        }
    }
}

fn calldata(a: CalldataArgs) -> CliResult<i32> {
    let r = load_receipt(&a.receipt)?;
    let d = a.proof.as_deref().map(load_proof_file).transpose()?;
    let p = chain::select_proof(&r, d.as_ref())?;
    let data = chain::calldata_for(&r, &p, a.submit)?;
    println!("0x{}", hex::encode(data));
    Ok(0)
}

fn enroll(e: EnrollCmd) -> CliResult<i32> {
    use cuproof_attest::{
        EnrollmentChallenge, EnrollmentRequest, EnrollmentResponse, PendingEnrollment,
    };
    fn json_in<T: serde::de::DeserializeOwned>(p: &Path, what: &str) -> CliResult<T> {
        serde_json::from_slice(&read_file(p, what)?)
            .map_err(|e| CliError::input(format!("{what} {}: {e}", p.display())))
    }
    fn json_out<T: serde::Serialize>(p: &Path, v: &T, what: &str, secret: bool) -> CliResult<()> {
        let bytes = serde_json::to_vec_pretty(v).map_err(|e| CliError::input(e.to_string()))?;
        if secret {
            cuproof_core::fsutil::write_secret(p, &bytes)
                .map_err(|e| CliError::input(format!("cannot write {what} {}: {e}", p.display())))
        } else {
            write_file(p, &bytes, what)
        }
    }
    match e {
        EnrollCmd::Request { out, ak_out } => {
            let mut tpm =
                cuproof_tpm::Tpm::open_default().map_err(|e| CliError::env(format!("TPM: {e}")))?;
            let ek = tpm
                .endorsement_key(cuproof_tpm::EkType::Rsa2048)
                .map_err(|e| CliError::env(format!("TPM: {e}")))?;
            let cert = tpm.ek_certificate(cuproof_tpm::EkType::Rsa2048).ok();
            let blob = tpm
                .create_ak(&ek, cuproof_tpm::AkType::Rsa2048Sha256)
                .map_err(|e| CliError::env(format!("TPM: {e}")))?;
            cuproof_tpm::akfile::save(&ak_out, &blob)
                .map_err(|e| CliError::input(format!("AK file {}: {e}", ak_out.display())))?;
            let req = EnrollmentRequest {
                ek_public: ek.public.clone(),
                ek_cert: cert,
                ak_public: blob.public.clone(),
            };
            json_out(&out, &req, "request", false)?;
            println!("wrote {} and {} (0600)", out.display(), ak_out.display());
        }
        EnrollCmd::Challenge {
            request,
            ek_roots,
            out,
            pending,
        } => {
            let req: EnrollmentRequest = json_in(&request, "request")?;
            let mut trust = cuproof_attest::EkTrust::default();
            for r in &ek_roots {
                trust
                    .add_roots(&read_file(r, "EK root")?, cuproof_attest::TpmKind::Hardware)
                    .map_err(|e| CliError::input(format!("EK root {}: {e}", r.display())))?;
            }
            let policy = cuproof_attest::RegistrarPolicy {
                trust,
                allow_uncertified: false,
            };
            let (ch, pend) =
                cuproof_attest::start_enrollment(&req, &policy, &mut rand::rngs::OsRng)
                    .map_err(|e| CliError::invalid(format!("enrollment refused: {e}")))?;
            json_out(&out, &ch, "challenge", false)?;
            json_out(&pending, &pend, "pending state", true)?;
            println!(
                "wrote {} (send to the node) and {} (keep, 0600)",
                out.display(),
                pending.display()
            );
        }
        EnrollCmd::Activate { challenge, ak, out } => {
            let ch: EnrollmentChallenge = json_in(&challenge, "challenge")?;
            let mut node = node::NodeSession::open(Some(&ak))?;
            let credential = node
                .tpm
                .activate_credential(&node.ek, &node.ak, &ch.id_object, &ch.encrypted_secret)
                .map_err(|e| CliError::env(format!("TPM: {e}")))?;
            json_out(&out, &EnrollmentResponse { credential }, "response", false)?;
            println!("wrote {}", out.display());
        }
        EnrollCmd::Finish {
            pending,
            response,
            out,
        } => {
            let pend: PendingEnrollment = json_in(&pending, "pending state")?;
            let resp: EnrollmentResponse = json_in(&response, "response")?;
            let rec = pend
                .finish(&resp, node::now_unix())
                .map_err(|e| CliError::invalid(format!("enrollment failed: {e}")))?;
            let j = rec.to_json().map_err(|e| CliError::input(e.to_string()))?;
            write_file(&out, &j, "node record")?;
            println!(
                "wrote {} (AK name {})",
                out.display(),
                hex::encode(&rec.ak_name)
            );
        }
    }
    Ok(0)
}
