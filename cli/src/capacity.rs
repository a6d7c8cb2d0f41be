//! `cuproof challenge` (verifier) and `cuproof respond` (node): the TPM-clocked capacity challenge through files
//! (`docs/capacity.md`). The verifier's messages: challenge → (node) commit → rows → (node) openings → judge.

use crate::error::{read_file, write_file, CliError, CliResult};
use cuproof_capacity::wire::{Challenge, CommitMessage, OpeningsMessage, SampleRequest};
use cuproof_capacity::{node, tpm::TpmQuoter, Policy, Verifier};
use std::path::Path;

fn cap(e: cuproof_capacity::CapacityError) -> CliError {
    CliError::input(e.to_string())
}

fn load<T>(
    p: &Path,
    what: &str,
    parse: impl Fn(&[u8]) -> Result<T, cuproof_capacity::CapacityError>,
) -> CliResult<T> {
    parse(&read_file(p, what)?).map_err(|e| CliError::input(format!("{what} {}: {e}", p.display())))
}

/// The capacity verifier's policy: the policy file applied by `cuproof_verify::capacity::capacity_policy`
/// (`[capacity]` with its measurements, `[gpu]`, signatures, and the `[pcrs]`/`[boot]`/`[ima]` tables judging the
/// stack Q2 quoted) or, without a file, the development policy; the AK pinned, and its TPM's kind known, from
/// the node record. Offline: no wall-clock check.
fn capacity_policy(
    file: Option<&Path>,
    record: Option<&cuproof_attest::NodeRecord>,
) -> CliResult<Policy> {
    let mut p = match file {
        None => {
            let mut p = Policy::default();
            if let Some(r) = record {
                p.pinned_ak_name = Some(r.ak_name.clone());
                p.ak_tpm_kind = Some(r.tpm_kind);
            }
            p
        }
        Some(path) => {
            let fp = crate::load_policy(path)?;
            cuproof_verify::capacity::capacity_policy(&fp, record)
                .map_err(|e| CliError::input(format!("policy {}: {e}", path.display())))?
        }
    };
    p.wall_clock_allowance_ms = None;
    Ok(p)
}

/// Verifier: a fresh challenge for `cards` cards of `class`, one the policy would accept.
pub fn new(class: &str, cards: u32, policy: Option<&Path>, out: &Path) -> CliResult<i32> {
    let v = Verifier::new(capacity_policy(policy, None)?);
    let ch = v
        .challenge_cards(class, cards, &mut rand::rngs::OsRng)
        .map_err(|e| CliError::input(format!("class {class} × {cards}: {e}")))?;
    let c = ch.challenge();
    write_file(out, &c.to_bytes(), "challenge")?;
    println!(
        "wrote {} (class {}, {} card(s), {} iterations, {} sampled rows)",
        out.display(),
        c.class,
        c.cards,
        c.workload.iterations,
        c.samples
    );
    Ok(0)
}

/// One runtime per claimed card: the CPU backend `cards` times where no GPU is usable (with a warning when the work
/// is `timed` for a GPU class), else GPUs `0..cards` (exit 3 when the node has fewer).
fn node_runtimes(ch: &Challenge, timed: bool) -> CliResult<Vec<cuproof::Runtime>> {
    let cards = ch.cards;
    let (first, why) = cuproof::Runtime::auto();
    let mut v = Vec::with_capacity(cards as usize);
    if first.backend() == cuproof_core::log::Backend::Cpu {
        if timed && ch.class != "cpu" {
            // the node can still answer, but a GPU class's bound is far beyond a CPU
            eprintln!(
                "cuproof: warning: answering a {} challenge on the CPU backend ({}): it will miss the bound",
                ch.class,
                why.map_or_else(|| "no GPU".to_string(), |e| e.to_string())
            );
        }
        v.push(first);
        v.extend((1..cards).map(|_| cuproof::Runtime::cpu()));
        return Ok(v);
    }
    v.push(first);
    #[cfg(feature = "cuda")]
    for i in 1..cards {
        v.push(cuproof::Runtime::cuda(i).map_err(|e| {
            CliError::env(format!(
                "the challenge claims {cards} cards and GPU {i} is not usable: {e}"
            ))
        })?);
    }
    Ok(v)
}

/// Node: the cards' attestation reports (through `gpu_attestation`: see [`crate::gpu::attester`]), Q1, the seeded
/// workload, the commitments, Q2.
pub fn commit(
    challenge: &Path,
    ak: Option<&Path>,
    out: &Path,
    gpu_attestation: &str,
) -> CliResult<i32> {
    let ch = load(challenge, "challenge", Challenge::from_bytes)?;
    let runtimes = node_runtimes(&ch, true)?;
    let on_gpu = runtimes
        .iter()
        .any(|r| r.backend() != cuproof_core::log::Backend::Cpu);
    let attester = crate::gpu::attester(gpu_attestation, ch.cards, on_gpu)?;
    let mut session = crate::node::NodeSession::open(ak)?;
    let mut worker = node::Node::with_runtimes(runtimes).map_err(cap)?;
    if let Some(a) = &attester {
        worker = worker.with_gpu_attester(a.clone());
    }
    let mut quoter = TpmQuoter::for_session(&mut session);
    let started = worker
        .begin(&ch, &mut quoter)
        .map_err(|e| CliError::env(e.to_string()))?;
    let outputs = worker
        .compute(&started)
        .map_err(|e| CliError::env(e.to_string()))?;
    let (msg, _) = worker
        .commit(&started, outputs, &mut quoter)
        .map_err(|e| CliError::env(e.to_string()))?;
    write_file(out, &msg.to_bytes(), "commit message")?;
    println!(
        "wrote {} ({} iteration commitments on {} card(s), Q1 and Q2 over SHA-256 PCRs {:?}; boot log {} bytes, \
         IMA list {} bytes)",
        out.display(),
        msg.commitments.len(),
        worker.runtimes().len(),
        ch.pcrs,
        msg.logs.boot.len(),
        msg.logs.ima.len()
    );
    let attested = msg.cards.iter().filter(|c| c.evidence.is_some()).count();
    match &attester {
        Some(a) => println!(
            "GPU attestation: {attested} of {} card(s) gave a report ({})",
            msg.cards.len(),
            a.describe()
        ),
        None => println!("GPU attestation: none ({gpu_attestation})"),
    }
    for note in worker.gpu_attestation_notes() {
        println!("  {note}");
    }
    Ok(0)
}

/// Verifier: choose the rows to open, after the commitment is fixed.
pub fn rows(challenge: &Path, commit: &Path, out: &Path) -> CliResult<i32> {
    let ch = load(challenge, "challenge", Challenge::from_bytes)?;
    let cm = load(commit, "commit message", CommitMessage::from_bytes)?;
    let req = cuproof_capacity::verifier::sample_request(&ch, &cm, &mut rand::rngs::OsRng)
        .map_err(cap)?;
    write_file(out, &req.to_bytes(), "row request")?;
    println!("wrote {} ({} rows)", out.display(), req.rows.len());
    Ok(0)
}

/// Node: open the requested rows (recomputing the work from the seed Q1 fixed).
pub fn open(challenge: &Path, commit: &Path, rows: &Path, out: &Path) -> CliResult<i32> {
    let ch = load(challenge, "challenge", Challenge::from_bytes)?;
    let cm = load(commit, "commit message", CommitMessage::from_bytes)?;
    let req = load(rows, "row request", SampleRequest::from_bytes)?;
    let mut worker = node::Node::with_runtimes(node_runtimes(&ch, false)?).map_err(cap)?;
    let session = node::resume(&ch, &cm, &mut worker).map_err(cap)?;
    let op = session.open(&req).map_err(cap)?;
    write_file(out, &op.to_bytes(), "openings")?;
    println!("wrote {} ({} openings)", out.display(), op.openings.len());
    Ok(0)
}

/// Verifier: judge the transcript. Exit 0 when the node proved its class, 1 when not.
pub fn judge(
    challenge: &Path,
    commit: &Path,
    rows: &Path,
    openings: &Path,
    node_record: Option<&Path>,
    policy: Option<&Path>,
    json: bool,
) -> CliResult<i32> {
    let ch = load(challenge, "challenge", Challenge::from_bytes)?;
    let cm = load(commit, "commit message", CommitMessage::from_bytes)?;
    let req = load(rows, "row request", SampleRequest::from_bytes)?;
    let op = load(openings, "openings", OpeningsMessage::from_bytes)?;
    // Offline judging: the verifier's own wall clock is not part of the transcript.
    let record = match node_record {
        Some(p) => Some(crate::load_node_record(p)?),
        None => None,
    };
    let policy = capacity_policy(policy, record.as_ref())?;
    let v = cuproof_capacity::verifier::judge_transcript(&policy, &ch, &cm, &req, &op, None)
        .map_err(cap)?;
    if json {
        println!("{}", v.to_json());
    } else {
        for c in &v.checks {
            println!(
                "{} {:<14} {}",
                if c.passed { "✓" } else { "✗" },
                c.name,
                c.detail
            );
            if c.name == "gpu-attestation" {
                for a in &v.attested_gpus {
                    println!(
                        "    ✓ card {:<2} chip {} ({}), driver {}, VBIOS {}, {} of {} measurements golden",
                        a.card,
                        a.device_serial,
                        a.device_name.as_deref().unwrap_or("?"),
                        a.driver_version.as_deref().unwrap_or("-"),
                        a.vbios_version.as_deref().unwrap_or("-"),
                        a.measurements_judged,
                        a.measurements
                    );
                }
            }
            if c.name == "stack" {
                for s in &v.stack {
                    use cuproof_capacity::stack::StackOutcome as O;
                    let mark = match s.outcome {
                        O::Pass => "✓",
                        O::Fail => "✗",
                        O::SkippedByPolicy => "–",
                        O::NotReached => "·",
                    };
                    println!("    {mark} {:<20} {}", s.name, s.detail);
                }
            }
        }
    }
    if v.accepted {
        println!(
            "class {} × {} proven: TPM clock t2 − t1 = {} ms ≤ {} ms",
            v.class,
            v.cards,
            v.tpm_elapsed_ms.unwrap_or(0),
            v.bound_ms
        );
    }
    let failed = v.failed();
    if v.accepted && failed.is_empty() {
        Ok(0)
    } else {
        Err(CliError::invalid(format!(
            "capacity challenge failed: {}",
            failed.join(", ")
        )))
    }
}
