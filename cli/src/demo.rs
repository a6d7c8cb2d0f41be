//! `cuproof demo` — the README's main job. On a machine with no GPU and no TPM it uses the CPU backend and a
//! private software TPM; it goes from setup to a verified receipt and an on-chain check, and says what was
//! proven and what a production policy would still refuse.

use crate::error::{write_file, CliError, CliResult};
use crate::{job, node};
use cuproof_core::log::Record;
use std::path::Path;
use std::time::Instant;

fn say(title: &str, lines: &[String]) {
    println!("\n== {title}");
    for l in lines {
        println!("   {l}");
    }
}

fn short(b: &[u8]) -> String {
    let h = hex::encode(b);
    format!("{}…", &h[..16.min(h.len())])
}

#[allow(clippy::too_many_arguments)]
fn policy_toml(
    name: &str,
    production: bool,
    ca_pem: &str,
    inter_pem: &str,
    boot_pcrs: &[(u8, Vec<u8>)],
    boot_table: Option<&str>,
    ima_table: Option<&str>,
    modules: &[[u8; 32]],
    circuit_id: &[u8; 32],
    vk: &str,
    state: &str,
) -> String {
    let (backend, accept) = if production {
        ("cuda", r#"["hardware"]"#)
    } else {
        ("any", r#"["software", "hardware"]"#)
    };
    let mods: Vec<String> = modules
        .iter()
        .map(|m| format!("  \"{}\",", hex::encode(m)))
        .collect();
    format!(
        r#"# Written by `cuproof demo`.
version = 1
name = "{name}"
description = "{desc}"
backend = "{backend}"

[tpm]
accept = {accept}
software_roots = ["{ca_pem}"]
intermediates = ["{inter_pem}"]
require_ek_certificate = true
require_enrollment = true

[pcrs]
job = 23
{also}{pcrs}

{ima}
[freshness]
require_safe_clock = true
state_file = "{state}"

[modules]
allow_any = false
allowed = [
{mods}
]

[proofs]
required = ["matmul-i8"]

[proofs.circuits.matmul-i8]
circuit_id = "{cid}"
vk = "{vk}"
workloads = ["matmul-i8"]
inputs = ["A", "B"]
output = "C"
"#,
        desc = if production {
            "production-like: hardware TPM and the CUDA backend required"
        } else {
            "demo: software TPM and CPU backend accepted, everything else enforced"
        },
        mods = mods.join("\n"),
        pcrs = match boot_table {
            // The boot judged by its event log: what booted, not raw PCR values (docs/bootlog.md).
            Some(t) => format!(
                "\n# The node's measured boot, taken from its event log as from a known-good machine\n\
                 # (`cuproof bootlog --policy`); the log must replay to the quoted PCRs 0-7.\n{t}"
            ),
            // No event log: the boot PCRs pinned to the values this node quoted.
            None => format!(
                "\n# Boot PCRs pinned to the values this node quoted (no boot event log).\n[pcrs.allowed]\n{}\n",
                boot_pcrs
                    .iter()
                    .map(|(i, v)| format!("{i} = [\"{}\"]", hex::encode(v)))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        },
        cid = hex::encode(circuit_id),
        // the node quotes PCR 10 (IMA) too; without an [ima] table it is quoted but not judged
        also = if ima_table.is_some() { "" } else { "also_quoted = [10]\n" },
        ima = match ima_table {
            Some(t) => format!(
                "# What the kernel measured after boot (IMA, PCR 10), taken from the node's list as from a\n\
                 # known-good machine (`cuproof ima --policy`): the NVIDIA modules are required, unknown files refused.\n{t}"
            ),
            None => String::new(),
        },
    )
}

/// Run the demo in `dir` with m = k = n = `size`.
pub fn run(dir: &Path, size: usize, json: bool) -> CliResult<i32> {
    let t0 = Instant::now();
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| CliError::input(format!("{}: {e}", dir.display())))?;
    let (m, k, n) = (size, size, size);
    println!("cuproof demo: a {m}x{k}x{n} int8 matrix product, from setup to a verified receipt and an on-chain check");

    // 1. Keys.
    let t = Instant::now();
    let (pk, vk_path) = crate::setup_keys(&dir.join("keys"), m, k, n)?;
    let size_info = pk.size();
    say(
        "1. circuit keys (single-party Groth16 setup: for testing only)",
        &[
            format!(
                "circuit matmul-i8 {m}x{k}x{n}, id {}",
                short(&pk.circuit_id)
            ),
            format!(
                "{} R1CS constraints; keys in {} ({:.1} s)",
                size_info.constraints,
                dir.join("keys").display(),
                t.elapsed().as_secs_f64()
            ),
        ],
    );

    // 2. Node and enrollment.
    let mut node = node::NodeSession::open(None)?;
    let trust = node.local_ca_trust()?;
    let ca_pem = match &node.swtpm {
        Some(sw) => sw
            .ca_root_pem()
            .map_err(|e| CliError::env(format!("TPM: {e}")))?,
        None => Vec::new(),
    };
    let inter_pem = match &node.swtpm {
        Some(sw) => sw
            .ca_intermediate_pem()
            .map_err(|e| CliError::env(format!("TPM: {e}")))?,
        None => Vec::new(),
    };
    let ca_path = dir.join("ek-ca.pem");
    write_file(&ca_path, &ca_pem, "EK CA")?;
    let inter_path = dir.join("ek-intermediate.pem");
    write_file(&inter_path, &inter_pem, "EK intermediate CA")?;
    let record = node.enroll_locally(trust)?;
    write_file(
        &dir.join("node.json"),
        &record
            .to_json()
            .map_err(|e| CliError::input(e.to_string()))?,
        "node record",
    )?;
    say(
        "2. node identity (TPM)",
        &[
            match &node.swtpm {
                Some(sw) => format!("no TPM configured: started a private software TPM (swtpm on 127.0.0.1:{})", sw.port()),
                None => format!("TPM {} ({:?})", node.tpm.tcti(), node.kind),
            },
            format!("EK RSA-2048 with certificate ({} bytes) from the TPM's CA", node.ek_cert.len()),
            format!("AK {} enrolled by credential activation: the registrar's secret came back through the TPM", short(&node.ak.name())),
            match (&node.swtpm, node.boot_log.len()) {
                (Some(_), _) => format!(
                    "measured boot: a simulated UEFI boot (Secure Boot, shim → GRUB → Linux; {} events) played into PCRs 0-9, its event log kept for the receipt",
                    cuproof_attest::bootlog::BootLog::parse(&node.boot_log).map(|l| l.events.len()).unwrap_or(0)
                ),
                (None, 0) => "measured boot: no firmware event log readable (the policy then pins PCR values)".to_string(),
                (None, n) => format!("measured boot: the firmware event log ({n} bytes) kept for the receipt"),
            },
            match (&node.swtpm, node.ima_log.len()) {
                (Some(_), _) => format!(
                    "runtime measurements: a simulated IMA list (boot_aggregate, the NVIDIA driver stack; {} entries) played into PCR 10",
                    cuproof_attest::ima::ImaLog::parse(&node.ima_log).map(|l| l.entries.len()).unwrap_or(0)
                ),
                (None, 0) => "runtime measurements: no IMA list readable".to_string(),
                (None, n) => format!("runtime measurements: the IMA list ({n} bytes), read again before the job quote"),
            },
        ],
    );

    // 3. The job.
    let challenge = crate::random32_pub();
    let job_id = crate::random32_pub();
    let seed = crate::random32_pub();
    let inputs = job::MatmulInputs::from_seed(m, k, n, &seed);
    let t = Instant::now();
    let mut quiet = |_: &str| {};
    let out = job::run_matmul(
        &mut node,
        &inputs,
        job::JobOptions {
            challenge,
            job_id,
            label: "demo-node".into(),
            pcr: 23,
            proving_key: Some(&pk),
            progress: &mut quiet,
        },
    )?;
    crate::write_outputs(&dir, &out, Some(&record), m, n)?;
    let r = &out.receipt;
    let launches = r
        .log
        .records()
        .iter()
        .filter(|x| matches!(x, Record::Launch { .. }))
        .count();
    let modules: Vec<[u8; 32]> = r
        .log
        .records()
        .iter()
        .filter_map(|x| match x {
            Record::ModuleLoad { image_digest, .. } => Some(*image_digest),
            _ => None,
        })
        .collect();
    say(
        "3. the job (measured)",
        &[
            format!(
                "backend: {:?}{}",
                r.statement.backend,
                out.why_cpu.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
            ),
            format!("challenge from the verifier {}", short(&challenge)),
            format!(
                "{} records in the execution log: {} modules measured, {} launches, 3 tensor commitments; {} checkpoints extended into PCR 23",
                r.log.records().len(),
                modules.len(),
                launches,
                r.log.checkpoints().len()
            ),
            format!("statement digest {} quoted by the AK together with PCRs 0-10 and 23", short(&r.statement.digest())),
            format!("Groth16 proof that C = A·B for the committed A, B, C ({:.1} s for the whole job)", t.elapsed().as_secs_f64()),
            format!("receipt: {} ({} bytes)", dir.join("receipt.bin").display(), r.encode().map(|b| b.len()).unwrap_or(0)),
        ],
    );

    // 4. Verification under two policies.
    let vk_rel = vk_path.to_string_lossy().to_string();
    let state = dir.join("freshness.json");
    let _ = std::fs::remove_file(&state);
    let demo_policy = dir.join("policy-demo.toml");
    let prod_policy = dir.join("policy-production.toml");
    let ca = ca_path.to_string_lossy().to_string();
    let boot: Vec<(u8, Vec<u8>)> = r
        .quotes
        .iter()
        .flat_map(|q| q.pcrs.iter())
        .filter(|p| p.index != 23)
        .map(|p| (p.index, p.value.clone()))
        .collect();
    let inter = inter_path.to_string_lossy().to_string();
    let boot_table = if r.node.boot_log.is_empty() {
        None
    } else {
        Some(
            cuproof_verify::boot::reference_policy(&r.node.boot_log)
                .map_err(|e| CliError::input(format!("boot event log: {e}")))?,
        )
    };
    let ima_table = if r.node.ima_log.is_empty() {
        None
    } else {
        Some(
            cuproof_verify::ima::reference_policy(&r.node.ima_log)
                .map_err(|e| CliError::input(format!("IMA list: {e}")))?,
        )
    };
    write_file(
        &demo_policy,
        policy_toml(
            "demo",
            false,
            &ca,
            &inter,
            &boot,
            boot_table.as_deref(),
            ima_table.as_deref(),
            &modules,
            &pk.circuit_id,
            &vk_rel,
            &state.to_string_lossy(),
        )
        .as_bytes(),
        "policy",
    )?;
    write_file(
        &prod_policy,
        policy_toml(
            "production-like",
            true,
            &ca,
            &inter,
            &boot,
            boot_table.as_deref(),
            ima_table.as_deref(),
            &modules,
            &pk.circuit_id,
            &vk_rel,
            &dir.join("freshness-prod.json").to_string_lossy(),
        )
        .as_bytes(),
        "policy",
    )?;
    let bytes = r
        .encode()
        .map_err(|e| CliError::input(format!("receipt: {e}")))?;
    let pol = crate::load_policy(&demo_policy)?;
    let verdict = crate::verify_bytes(&bytes, &pol, challenge, Some(&record))?;
    println!("\n== 4. the auditor: cuproof verify receipt.bin --policy policy-demo.toml");
    print!("{}", verdict.render_table());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict.to_json()).unwrap_or_default()
        );
    }
    if verdict.any_failed() {
        return Err(CliError::invalid(
            "the demo receipt did not verify under the demo policy",
        ));
    }
    let prod = crate::load_policy(&prod_policy)?;
    let pv = crate::verify_bytes(&bytes, &prod, challenge, Some(&record))?;
    let refused: Vec<String> = pv
        .failures()
        .map(|c| format!("✗ {}: {}", c.name, c.reason))
        .collect();
    say(
        "5. what a production policy still refuses (policy-production.toml)",
        &refused,
    );

    // Tampering is caught.
    let mut forged = r.clone();
    if let Some(t) = forged.statement.tensors.iter_mut().find(|t| t.name == "C") {
        t.commitment.root[0] ^= 1;
    }
    let fb = forged
        .encode()
        .map_err(|e| CliError::input(e.to_string()))?;
    let mut ctx = cuproof_verify::VerifyContext::new(challenge);
    ctx.node = Some(&record);
    let fv = cuproof_verify::verify_receipt_bytes(&fb, &pol, &mut ctx);
    let first = fv
        .failures()
        .next()
        .map(|c| format!("{}: {}", c.name, c.reason))
        .unwrap_or_else(|| "accepted (!)".into());
    say(
        "6. a forged receipt (one bit of C's commitment flipped)",
        &[format!("rejected: {first}")],
    );
    if !fv.any_failed() {
        return Err(CliError::invalid("a forged receipt was accepted"));
    }

    // 7. On-chain.
    let vk = pk.verifying_key().clone();
    match cuproof_chain::compile_contracts(&vk) {
        Ok(compiled) => {
            let mut evm = cuproof_chain::RevmHarness::new();
            let stack = cuproof_chain::deploy_receipt_stack(&mut evm, &compiled, &pk.circuit_id)
                .map_err(|e| CliError::env(format!("revm: {e}")))?;
            let verify_call = crate::chain::calldata(r, false)?;
            let v = evm
                .call(stack.verifier.address, &verify_call)
                .map_err(|e| CliError::env(format!("revm: {e}")))?;
            let ok = cuproof_chain::calldata::decode_bool(&v.output).unwrap_or(false);
            let submit = crate::chain::calldata(r, true)?;
            let s1 = evm
                .call(stack.receipts.address, &submit)
                .map_err(|e| CliError::env(format!("revm: {e}")))?;
            let s2 = evm
                .call(stack.receipts.address, &submit)
                .map_err(|e| CliError::env(format!("revm: {e}")))?;
            let floor = cuproof_chain::calldata::verification_gas_floor(&verify_call);
            say(
                "7. on-chain (contracts compiled by solc, executed in revm)",
                &[
                    format!(
                        "verifyProof: {} with {} gas (floor {}: {:.4}x)",
                        if ok { "true" } else { "false" },
                        v.gas_used,
                        floor,
                        v.gas_used as f64 / floor as f64
                    ),
                    format!(
                        "receipt contract submit: {} ({} gas); replaying the same job: {}",
                        if s1.is_success() {
                            "recorded"
                        } else {
                            "REVERTED"
                        },
                        s1.gas_used,
                        if s2.is_success() {
                            "ACCEPTED (!)"
                        } else {
                            "rejected"
                        }
                    ),
                ],
            );
            if !ok || !s1.is_success() || s2.is_success() {
                return Err(CliError::invalid("the on-chain check did not behave"));
            }
        }
        Err(e) => {
            return Err(CliError::env(format!(
                "on-chain step needs solc (run scripts/setup): {e}"
            )))
        }
    }
    say(
        "what was proven",
        &[
            "what ran: the log names every module (by digest) and launch; the TPM holds its checkpoints in PCR 23".into(),
            "where: a TPM quote by an enrolled AK binds the log, the boot PCRs and this verifier's challenge".into(),
            "on what: the boot log and the IMA list replay to the quoted PCRs: Secure Boot, boot loaders, kernel, NVIDIA driver build".into(),
            "that it is right: a Groth16 proof that C = A·B for the committed A, B, C, checked offline and on-chain".into(),
            "but: a software TPM and the CPU backend prove nothing about real hardware; a production policy refuses them".into(),
            format!("done in {:.1} s; files in {}", t0.elapsed().as_secs_f64(), dir.display()),
        ],
    );
    Ok(0)
}
