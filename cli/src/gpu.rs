//! `cuproof gpu-evidence`: check a GPU's own attestation report (SPDM measurements signed by a key that chains to
//! NVIDIA), from NVML's files or from a capacity commit message, and print the `[gpu_attestation]` policy table
//! that accepts exactly that card. And the node's choice of attester for `respond commit`.

use crate::error::{read_file, CliError, CliResult};
use cuproof::gpu_attest::{GpuAttester, SoftGpu};
use cuproof_attest::gpu::{GpuEvidence, GpuTrust, VerifiedGpu};
use cuproof_capacity::wire::{Challenge, CommitMessage};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the evidence and its nonce come from.
pub enum Source<'a> {
    /// A report (binary, or hex text as NVIDIA's samples are), a chain, and the nonce the request carried.
    Files {
        /// The report.
        report: &'a Path,
        /// The chain (PEM or DER).
        chain: &'a Path,
        /// The nonce, 64 hex digits.
        nonce: &'a str,
    },
    /// Card `card` of a capacity commit message, its nonce from the challenge.
    Commit {
        /// The challenge.
        challenge: &'a Path,
        /// The commit message.
        commit: &'a Path,
        /// The card.
        card: usize,
    },
}

/// Binary as is; text of hex digits (and whitespace) decoded.
fn binary_or_hex(bytes: Vec<u8>) -> Vec<u8> {
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !text.is_empty() && text.len().is_multiple_of(2) && text.iter().all(u8::is_ascii_hexdigit) {
        if let Ok(v) = hex::decode(&text) {
            return v;
        }
    }
    bytes
}

fn evidence_and_nonce(src: &Source<'_>) -> CliResult<(GpuEvidence, [u8; 32], String)> {
    match src {
        Source::Files {
            report,
            chain,
            nonce,
        } => {
            let nonce: [u8; 32] = hex::decode(nonce.trim())
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| CliError::input("--nonce: expected 64 hex digits"))?;
            Ok((
                GpuEvidence {
                    report: binary_or_hex(read_file(report, "GPU report")?),
                    cert_chain: read_file(chain, "GPU certificate chain")?,
                },
                nonce,
                format!("{}", report.display()),
            ))
        }
        Source::Commit {
            challenge,
            commit,
            card,
        } => {
            let ch = Challenge::from_bytes(&read_file(challenge, "challenge")?)
                .map_err(|e| CliError::input(format!("challenge {}: {e}", challenge.display())))?;
            let cm =
                CommitMessage::from_bytes(&read_file(commit, "commit message")?).map_err(|e| {
                    CliError::input(format!("commit message {}: {e}", commit.display()))
                })?;
            let named = cm.cards.get(*card).ok_or_else(|| {
                CliError::input(format!(
                    "commit message {} names {} card(s), not card {card}",
                    commit.display(),
                    cm.cards.len()
                ))
            })?;
            let evidence = named.evidence.clone().ok_or_else(|| {
                CliError::invalid(format!(
                    "card {card} ({}) of {} gave no attestation evidence",
                    named.name,
                    commit.display()
                ))
            })?;
            let nonce = cuproof_capacity::workload::card_nonce(&ch.digest(), *card as u32);
            Ok((
                evidence,
                nonce,
                format!("card {card} of {}", commit.display()),
            ))
        }
    }
}

/// Verify and print. Exit 0 when the evidence verifies, 1 when it does not.
pub fn run(
    src: &Source<'_>,
    roots: Option<&Path>,
    at: Option<u64>,
    policy_only: bool,
    json: bool,
) -> CliResult<i32> {
    let (evidence, nonce, what) = evidence_and_nonce(src)?;
    let now = at.or_else(cuproof_attest::gpu::unix_now);
    let trust = match roots {
        None => GpuTrust::nvidia(now),
        Some(p) => GpuTrust::with_roots(&read_file(p, "GPU roots")?, now)
            .map_err(|e| CliError::input(format!("--roots {}: {e}", p.display())))?,
    };
    let v = evidence
        .verify(&nonce, &trust)
        .map_err(|e| CliError::invalid(format!("{what}: {e}")))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::input(e.to_string()))?
        );
    } else if policy_only {
        print!("{}", policy_table(&v));
    } else {
        print_verified(&v, &what, roots.is_none());
        println!();
        println!("# the [gpu_attestation] table that accepts exactly this card:");
        print!("{}", policy_table(&v));
    }
    Ok(0)
}

fn print_verified(v: &VerifiedGpu, what: &str, nvidia: bool) {
    println!("✓ {what}: verified");
    println!(
        "  chip        {} ({})",
        v.device_serial,
        v.device_name.as_deref().unwrap_or("?")
    );
    println!(
        "  root        {}{}",
        hex::encode(&v.root_sha256),
        if nvidia {
            " (NVIDIA Device Identity CA)"
        } else {
            ""
        }
    );
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    println!("  driver      {}", opt(&v.driver_version));
    println!("  VBIOS       {}", opt(&v.vbios_version));
    println!(
        "  board       project {} SKU {}, chip SKU {}",
        opt(&v.project),
        opt(&v.project_sku),
        opt(&v.chip_sku)
    );
    if let Some(f) = &v.fwid {
        println!(
            "  FWID        {} (= the attestation certificate's)",
            hex::encode(f)
        );
    }
    let nonzero = v
        .measurements
        .iter()
        .filter(|m| m.value.iter().any(|&b| b != 0))
        .count();
    println!(
        "  measurements {} ({} non-zero):",
        v.measurements.len(),
        nonzero
    );
    for m in &v.measurements {
        println!(
            "    {:>3} {:<24} {}",
            m.index,
            m.kind(),
            hex::encode(&m.value)
        );
    }
}

/// The `[gpu_attestation]` table (the chip and every measurement, zero ones included: a measurement that starts
/// being taken is a change too) that accepts exactly this card.
pub fn policy_table(v: &VerifiedGpu) -> String {
    let mut s = String::from("[gpu_attestation]\nrequired = true\n");
    s.push_str(&format!("devices = [\"{}\"]\n", v.device_serial));
    s.push_str("\n[gpu_attestation.measurements]\n");
    for m in &v.measurements {
        s.push_str(&format!(
            "\"{}\" = [\"{}\"]\n",
            m.index,
            hex::encode(&m.value)
        ));
    }
    s
}

/// The node's attester for `respond commit --gpu-attestation`: `auto` (NVML where the node runs on GPUs and the
/// build has CUDA), `none`, or `soft:DIR` (the software responder with `DIR/cardN-ak.key.pem` and
/// `DIR/cardN-chain.pem` for each card: a rehearsal, its root is no NVIDIA root).
pub fn attester(choice: &str, cards: u32, on_gpu: bool) -> CliResult<Option<Arc<dyn GpuAttester>>> {
    match choice {
        "none" => Ok(None),
        "auto" => {
            if !on_gpu {
                return Ok(None);
            }
            #[cfg(feature = "cuda")]
            {
                match cuproof::gpu_attest::Nvml::open() {
                    Ok(n) => Ok(Some(Arc::new(n))),
                    Err(e) => {
                        eprintln!("cuproof: note: cards named without attestation evidence: {e}");
                        Ok(None)
                    }
                }
            }
            #[cfg(not(feature = "cuda"))]
            Ok(None)
        }
        other => {
            let Some(dir) = other.strip_prefix("soft:") else {
                return Err(CliError::input(format!(
                    "--gpu-attestation {other:?}: expected auto, none or soft:DIR"
                )));
            };
            let dir = PathBuf::from(dir);
            let mut gpu = SoftGpu::new();
            for i in 0..cards {
                let key = dir.join(format!("card{i}-ak.key.pem"));
                let chain = dir.join(format!("card{i}-chain.pem"));
                let key_pem = String::from_utf8(read_file(&key, "attestation key")?)
                    .map_err(|_| CliError::input(format!("{}: not PEM", key.display())))?;
                gpu = gpu
                    .with_card(&key_pem, &read_file(&chain, "certificate chain")?)
                    .map_err(|e| CliError::input(format!("{}: {e}", dir.display())))?;
            }
            Ok(Some(Arc::new(gpu)))
        }
    }
}

/// Whether this node's cards can give attestation reports (`cuproof info`): asks NVML for a report from each GPU
/// over a throwaway nonce and checks it against NVIDIA's root.
pub fn attestation_status(gpus: &[cuproof_core::log::GpuInfo]) -> String {
    if gpus.is_empty() {
        return "none: no GPU (the CPU backend's cards cannot attest)".into();
    }
    #[cfg(feature = "cuda")]
    {
        let nvml = match cuproof::gpu_attest::Nvml::open() {
            Ok(n) => n,
            Err(e) => return format!("none: {e}"),
        };
        let nonce = cuproof_attest::gpu::gpu_nonce(b"cuproof info");
        let now = cuproof_attest::gpu::unix_now();
        let each: Vec<String> = gpus
            .iter()
            .map(|g| match nvml.attest(g.ordinal as usize, &g.uuid, &nonce) {
                Err(e) => format!("GPU {}: {e}", g.ordinal),
                Ok(ev) => match ev.verify(&nonce, &GpuTrust::nvidia(now)) {
                    Ok(v) => format!(
                        "GPU {}: report verified, chip {}",
                        g.ordinal, v.device_serial
                    ),
                    Err(e) => format!("GPU {}: report refused: {e}", g.ordinal),
                },
            })
            .collect();
        format!("{} ({})", each.join("; "), nvml.describe())
    }
    #[cfg(not(feature = "cuda"))]
    {
        "none: this build has no NVML (build with --features cuda)".into()
    }
}
