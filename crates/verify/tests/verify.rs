//! End-to-end verification of receipts with real TPM evidence (swtpm + tpm2-tools), real enrollment and a real
//! Groth16 proof; each cheat of the threat model is caught by the named check.

use crate::common;

use common::{fixture, now, Fixture};
use cuproof_core::log::{Backend, BufferRole, Record};
use cuproof_core::receipt::{Receipt, TpmKind};
use cuproof_verify::{
    verify_receipt, verify_receipt_bytes, verify_with_state_file, FreshnessState, Outcome, Policy,
    Verdict, VerifyContext,
};

fn ctx(f: &Fixture) -> VerifyContext<'_> {
    VerifyContext {
        challenge: f.challenge,
        challenge_issued_at: Some(now()),
        node: Some(&f.node),
        now_unix: now(),
        state: None,
        detached_proofs: &[],
    }
}

/// The verdict is invalid and the named check failed.
fn assert_caught(v: &Verdict, check: &str) {
    assert!(!v.valid, "accepted:\n{}", v.render_table());
    let c = v
        .check(check)
        .unwrap_or_else(|| panic!("check {check} did not run:\n{}", v.render_table()));
    assert_eq!(
        c.outcome,
        Outcome::Fail,
        "{check} did not fail:\n{}",
        v.render_table()
    );
}

fn policy_with(f: &Fixture, extra_replace: &[(&str, &str)], append: &str) -> Policy {
    let mut text = std::fs::read_to_string(&f.policy_path).expect("policy");
    for (a, b) in extra_replace {
        assert!(text.contains(a), "policy text lacks {a}");
        text = text.replace(a, b);
    }
    text.push_str(append);
    Policy::from_toml_str(&text, f.dir.path()).expect("variant policy")
}

#[test]
fn valid_receipt_passes_every_check() {
    let f = fixture();
    let v = verify_receipt_bytes(&f.bytes, &f.policy, &mut ctx(f));
    assert!(v.valid, "{}", v.render_table());
    for name in [
        "receipt.decode",
        "statement.challenge",
        "ak.attributes",
        "ak.ek_certificate",
        "ak.enrollment",
        "ak.tpm_kind",
        "quote.scheme",
        "quote.signature",
        "quote.magic_type",
        "quote.qualifying_data",
        "quote.qualified_signer",
        "quote.pcr_selection",
        "quote.pcr_digest",
        "log.replay",
        "pcrs.boot",
        "freshness.safe",
        "log.pcr",
        "log.job_start",
        "log.job_end",
        "log.backend",
        "log.modules",
        "log.launches",
        "log.buffers",
        "proof.square",
        "proofs.required",
        "policy.tpm",
        "policy.backend",
    ] {
        let c = v.check(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(c.outcome, Outcome::Pass, "{name}: {}", c.reason);
    }
    // The order of issue 5: AK trust before the signature, the signature before anything in the quote.
    let pos = |n: &str| v.checks.iter().position(|c| c.name == n).expect("check");
    assert!(pos("ak.ek_certificate") < pos("quote.scheme"));
    assert!(pos("quote.scheme") < pos("quote.signature"));
    assert!(pos("quote.signature") < pos("quote.magic_type"));
    assert!(pos("quote.magic_type") < pos("quote.qualifying_data"));
    assert!(pos("quote.qualifying_data") < pos("quote.qualified_signer"));
    assert!(pos("quote.pcr_digest") < pos("log.replay"));
    assert!(pos("log.replay") < pos("pcrs.boot"));
    assert!(pos("pcrs.boot") < pos("freshness.safe"));
    assert!(pos("freshness.safe") < pos("log.job_start"));
    assert!(pos("log.buffers") < pos("proof.square"));
    assert!(pos("proofs.required") < pos("policy.tpm"));
    let table = v.render_table();
    assert!(table.contains("✓ quote.signature"));
    assert!(table.ends_with("RESULT: VALID\n"));
    let json = v.to_json();
    assert_eq!(json["valid"], true);
    assert!(json["checks"].as_array().map_or(0, |a| a.len()) >= 28);
}

#[test]
fn other_jobs_and_the_second_ak_are_valid_in_their_own_context() {
    let f = fixture();
    let mut c = ctx(f);
    c.challenge = f.challenge2;
    let v = verify_receipt(&f.receipt2, &f.policy, &mut c);
    assert!(v.valid, "{}", v.render_table());
    let mut c = ctx(f);
    c.node = Some(&f.node_other_ak);
    let v = verify_receipt(&f.receipt_other_ak, &f.policy, &mut c);
    assert!(v.valid, "{}", v.render_table());
    // An ECC P-256 AK (ECDSA-SHA256 quote by tpm2_quote).
    let mut c = ctx(f);
    c.node = Some(&f.node_ecc);
    let v = verify_receipt(&f.receipt_ecc, &f.policy, &mut c);
    assert!(v.valid, "{}", v.render_table());
    assert!(v
        .check("quote.scheme")
        .is_some_and(|c| c.reason.contains("0x0018")));
    // ECDSA is not on a policy that lists only RSASSA.
    let mut text = std::fs::read_to_string(&f.policy_path).expect("policy");
    text = text.replace(
        "software_roots = [\"root.pem\"]",
        "software_roots = [\"root.pem\"]\nsignature_schemes = [\"rsassa-sha256\"]",
    );
    let p = Policy::from_toml_str(&text, f.dir.path()).expect("policy");
    let mut c = ctx(f);
    c.node = Some(&f.node_ecc);
    let v = verify_receipt(&f.receipt_ecc, &p, &mut c);
    assert_caught(&v, "quote.scheme");
}

#[test]
fn old_nonce_is_rejected() {
    let f = fixture();
    // The old receipt answered an old challenge: verifying it for the current challenge fails.
    let v = verify_receipt(&f.receipt_old, &f.policy, &mut ctx(f));
    assert_caught(&v, "statement.challenge");
    assert_caught(&v, "quote.qualifying_data");
    // Rewriting the statement's challenge to the current one breaks the quote binding and the log.
    let mut r = f.receipt_old.clone();
    r.statement.challenge = f.challenge;
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.qualifying_data");
    assert_caught(&v, "log.job_start");
}

#[test]
fn another_jobs_quote_is_rejected() {
    let f = fixture();
    let mut r = f.receipt.clone();
    r.quotes = f.receipt2.quotes.clone();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.qualifying_data");
    assert_eq!(
        v.check("log.replay").map(|c| c.outcome),
        Some(Outcome::NotReached)
    );
}

#[test]
fn another_aks_quote_is_rejected() {
    let f = fixture();
    // A quote by the second AK presented under the first AK: the signature does not verify.
    let mut r = f.receipt.clone();
    r.quotes = f.receipt_other_ak.quotes.clone();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.signature");
    assert_eq!(
        v.check("quote.attest").map(|c| c.outcome),
        Some(Outcome::NotReached)
    );
    // The second AK's complete receipt against the first AK's enrollment record: not enrolled.
    let v = verify_receipt(&f.receipt_other_ak, &f.policy, &mut ctx(f));
    assert_caught(&v, "ak.enrollment");
    // No enrollment at all while the policy requires one.
    let mut c = ctx(f);
    c.node = None;
    let v = verify_receipt(&f.receipt, &f.policy, &mut c);
    assert_caught(&v, "ak.enrollment");
}

#[test]
fn reordered_log_is_rejected() {
    let f = fixture();
    // Swap two records and re-checkpoint into a fresh log: chain head and replay change.
    let recs = f.receipt.log.records().to_vec();
    let mut swapped = recs.clone();
    swapped.swap(2, 3);
    let mut log = cuproof_core::ExecutionLog::new();
    for (i, r) in swapped.into_iter().enumerate() {
        log.append(r);
        if i == 1 || i + 1 == recs.len() {
            log.checkpoint(23);
        }
    }
    let mut r = f.receipt.clone();
    r.log = log.clone();
    // Keeping the statement: the encoded receipt does not even decode (log_head differs).
    let bytes = r.encode().expect("encode");
    let v = verify_receipt_bytes(&bytes, &f.policy, &mut ctx(f));
    assert_caught(&v, "receipt.decode");
    // Updating the statement's log head: the quote no longer matches the statement, the PCR no longer the log.
    r.statement.log_head = log.head();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.qualifying_data");
}

#[test]
fn swapped_output_commitment_is_rejected() {
    let f = fixture();
    let other_c = f.receipt2.statement.tensors[2].clone();
    // In the statement only: the quote no longer covers the statement, the log disagrees.
    let mut r = f.receipt.clone();
    r.statement.tensors[2] = other_c.clone();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.qualifying_data");
    assert_caught(&v, "log.buffers");
    assert_eq!(
        v.check("proofs").map(|c| c.outcome),
        Some(Outcome::NotReached)
    );
    // The proof alone, against a statement whose output field commitment was swapped: the recomputed public
    // input differs.
    let mut st = f.receipt.statement.clone();
    st.tensors[2].field_commitment = other_c.field_commitment;
    let circuit = &f.policy.circuits[0];
    let e =
        cuproof_verify::groth16::check_proof(circuit, &st, &f.receipt.proofs[0]).expect_err("swap");
    assert!(e.contains("public input"), "{e}");
    // The same proof with its public input rewritten to match: the pairing fails.
    let mut entry = f.receipt.proofs[0].clone();
    entry.public_input = cuproof_verify::groth16::expected_public_input(circuit, &st).expect("x");
    let e = cuproof_verify::groth16::check_proof(circuit, &st, &entry).expect_err("pairing");
    assert!(e.contains("pairing"), "{e}");
    assert!(cuproof_verify::groth16::check_proof(
        circuit,
        &f.receipt.statement,
        &f.receipt.proofs[0]
    )
    .is_ok());
    // The proof of another job.
    let mut r = f.receipt.clone();
    r.proofs = f.receipt2.proofs.clone();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    // The job quote signs the proofs too (binding digest), so the swap is caught there first; the proof-level
    // check of the same substitution is the `check_proof` calls above.
    assert_caught(&v, "quote.qualifying_data");
    let e =
        cuproof_verify::groth16::check_proof(circuit, &f.receipt.statement, &f.receipt2.proofs[0])
            .expect_err("another job's proof");
    assert!(e.contains("public input"), "{e}");
    // A proof recomputed for the wrong public input (claiming the statement's x): pairing fails.
    let mut r = f.receipt.clone();
    r.proofs[0].public_input = f.receipt.proofs[0].public_input;
    r.proofs[0].proof = f.receipt2.proofs[0].proof.clone();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.qualifying_data");
    let e = cuproof_verify::groth16::check_proof(circuit, &f.receipt.statement, &r.proofs[0])
        .expect_err("foreign proof bytes");
    assert!(e.contains("pairing"), "{e}");
    // No proof at all: the binding breaks, and the policy's requirement is reported too.
    let mut r = f.receipt.clone();
    r.proofs.clear();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.qualifying_data");
}

#[test]
fn policy_flags_reject_software_tpm_and_cpu_backend() {
    let f = fixture();
    let p = policy_with(
        f,
        &[
            (
                "accept = [\"software\", \"hardware\"]",
                "accept = [\"hardware\"]",
            ),
            ("backend = \"any\"", "backend = \"cuda\""),
        ],
        "",
    );
    let v = verify_receipt(&f.receipt, &p, &mut ctx(f));
    assert_caught(&v, "policy.tpm");
    assert_caught(&v, "policy.backend");
    // Claiming a hardware TPM without a hardware EK chain is caught too.
    let mut r = f.receipt.clone();
    r.node.tpm = TpmKind::Hardware;
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "ak.tpm_kind");
    // Claiming the CUDA backend in the statement only: log and quote disagree.
    let mut r = f.receipt.clone();
    r.statement.backend = Backend::Cuda;
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "log.backend");
    assert_caught(&v, "quote.qualifying_data");
}

#[test]
fn policy_loader_rejects_bad_values_naming_the_key() {
    let f = fixture();
    let text = std::fs::read_to_string(&f.policy_path).expect("policy");
    let bad = text.replacen("0 = [\"", "0 = [\"11", 1);
    let e = Policy::from_toml_str(&bad, f.dir.path()).expect_err("33-byte PCR value");
    assert!(e.to_string().contains("pcrs.allowed.0"), "{e}");
    let bad = text.replace("[gpu]", "[gpu]\nmodel = \"x\"");
    let e = Policy::from_toml_str(&bad, f.dir.path()).expect_err("unknown key");
    assert!(e.to_string().contains("model"), "{e}");
    let bad = text.replace("vk = \"square.vk\"", "vk = \"root.pem\"");
    let e = Policy::from_toml_str(&bad, f.dir.path()).expect_err("not a vk");
    assert!(e.to_string().contains("proofs.circuits.square.vk"), "{e}");
}

#[test]
fn policy_value_checks() {
    let f = fixture();
    let pcr0 = f.receipt.quotes[0]
        .pcrs
        .iter()
        .find(|p| p.index == 0)
        .map(|p| hex::encode(&p.value))
        .expect("PCR 0 quoted");
    let one = format!("{}01", "0".repeat(62));
    let p = policy_with(
        f,
        &[(&format!("0 = [\"{pcr0}\"]"), &format!("0 = [\"{one}\"]"))],
        "",
    );
    let v = verify_receipt(&f.receipt, &p, &mut ctx(f));
    assert_caught(&v, "pcrs.boot");
    let module = hex::encode(common::module_digest());
    let p = policy_with(f, &[(&module, &"ab".repeat(32))], "");
    let v = verify_receipt(&f.receipt, &p, &mut ctx(f));
    assert_caught(&v, "log.modules");
    let p = policy_with(
        f,
        &[
            (
                "models = [\"NVIDIA H100 80GB HBM3\"]",
                "models = [\"NVIDIA A100\"]",
            ),
            ("backend = \"any\"", "backend = \"cuda\""),
        ],
        "",
    );
    let mut r = f.receipt.clone();
    r.statement.backend = Backend::Cuda;
    let v = verify_receipt(&r, &p, &mut ctx(f));
    assert_caught(&v, "log.gpu");
    // A quote whose selection is not the policy's (policy asks for PCR 11 as well).
    let mut text = std::fs::read_to_string(&f.policy_path).expect("policy");
    text = text.replace("[pcrs]\njob = 23", "[pcrs]\njob = 23\nalso_quoted = [11]");
    let p2 = Policy::from_toml_str(&text, f.dir.path()).expect("policy");
    let v = verify_receipt(&f.receipt, &p2, &mut ctx(f));
    assert_caught(&v, "quote.pcr_selection");
}

#[test]
fn log_content_cheats_are_caught() {
    let f = fixture();
    // A launch of a module that was never loaded (rebuild the log with the launch's module changed).
    let rebuild = |edit: &dyn Fn(&mut Vec<Record>)| -> Receipt {
        let mut recs = f.receipt.log.records().to_vec();
        edit(&mut recs);
        let mut log = cuproof_core::ExecutionLog::new();
        let n = recs.len();
        for (i, r) in recs.into_iter().enumerate() {
            log.append(r);
            if i == 1 || i + 1 == n {
                log.checkpoint(23);
            }
        }
        let mut r = f.receipt.clone();
        r.statement.log_head = log.head();
        r.log = log;
        r
    };
    let r = rebuild(&|recs| {
        for rec in recs.iter_mut() {
            if let Record::Launch { module, .. } = rec {
                *module = 7;
            }
        }
    });
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "log.launches");
    let r = rebuild(&|recs| {
        if let Some(Record::JobEnd { status, .. }) = recs.last_mut() {
            *status = 1;
        }
    });
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "log.job_end");
    let r = rebuild(&|recs| {
        recs.retain(|r| {
            !matches!(
                r,
                Record::Buffer {
                    role: BufferRole::Output,
                    ..
                }
            )
        });
    });
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "log.buffers");
    let r = rebuild(&|recs| {
        if let Record::JobStart { job_id, .. } = &mut recs[0] {
            job_id[0] ^= 1;
        }
    });
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "log.job_start");
}

#[test]
fn freshness_state_rejects_replay_and_is_written_atomically() {
    let f = fixture();
    let d = tempfile::tempdir().expect("tempdir");
    let state_path = d.path().join("fresh.json");
    let p = policy_with(
        f,
        &[],
        &format!(
            "\n[freshness]\nstate_file = \"{}\"\nmax_age_seconds = 600\n",
            state_path.display()
        ),
    );
    let bytes_old = f.receipt_old.encode().expect("encode");
    let bytes2 = f.receipt2.encode().expect("encode");
    // The second job (later TPM clock) is accepted and recorded.
    let mut c = ctx(f);
    c.challenge = f.challenge2;
    let v = verify_with_state_file(&bytes2, &p, &mut c).expect("state");
    assert!(v.valid, "{}", v.render_table());
    let st = FreshnessState::load(&state_path).expect("load");
    assert_eq!(st.aks.len(), 1);
    // The same receipt again: replay.
    let mut c = ctx(f);
    c.challenge = f.challenge2;
    let v = verify_with_state_file(&bytes2, &p, &mut c).expect("state");
    assert_caught(&v, "freshness.clock");
    // An earlier quote (old job, older clock) presented after: rollback.
    let mut c = ctx(f);
    c.challenge = f.challenge_old;
    let v = verify_with_state_file(&bytes_old, &p, &mut c).expect("state");
    assert_caught(&v, "freshness.clock");
    assert_eq!(
        FreshnessState::load(&state_path).expect("load"),
        st,
        "state unchanged by rejects"
    );
    // Age: a challenge issued too long ago.
    let mut c = ctx(f);
    c.challenge_issued_at = Some(now() - 3600);
    let mut state = FreshnessState::new();
    c.state = Some(&mut state);
    let v = verify_receipt(&f.receipt, &p, &mut c);
    assert_caught(&v, "freshness.age");
    // The policy keeps state but the caller gave none.
    let v = verify_receipt(&f.receipt, &p, &mut ctx(f));
    assert_caught(&v, "freshness.clock");
}

#[test]
fn garbage_and_truncations_never_panic() {
    let f = fixture();
    for n in 0..f.bytes.len().min(4096) {
        let v = verify_receipt_bytes(&f.bytes[..n], &f.policy, &mut ctx(f));
        assert!(!v.valid);
    }
    let mut b = f.bytes.clone();
    b.push(0);
    assert_caught(
        &verify_receipt_bytes(&b, &f.policy, &mut ctx(f)),
        "receipt.decode",
    );
}

#[test]
fn other_quotes_are_signature_checked_and_exactly_one_job_quote_is_required() {
    let f = fixture();
    // A second genuine quote of the same AK for another purpose (as a capacity challenge carries).
    let mut extra = f.receipt2.quotes[0].clone();
    extra.purpose = "capacity-start".into();
    let mut r = f.receipt.clone();
    r.quotes.push(extra.clone());
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert!(v.valid, "{}", v.render_table());
    let c = v
        .check("quote[1:capacity-start].signature")
        .expect("checked");
    assert_eq!(c.outcome, Outcome::Pass);
    // The same with its signature damaged.
    let mut bad = extra.clone();
    let last = bad.signature.len() - 1;
    bad.signature[last] ^= 1;
    let mut r = f.receipt.clone();
    r.quotes.push(bad);
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote[1:capacity-start].signature");
    // Two job quotes.
    let mut r = f.receipt.clone();
    r.quotes.push(f.receipt.quotes[0].clone());
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.job");
    // No quote at all.
    let mut r = f.receipt.clone();
    r.quotes.clear();
    let v = verify_receipt(&r, &f.policy, &mut ctx(f));
    assert_caught(&v, "quote.job");
}

/// Detached proofs (`docs/proof-file.md`) are bound to the statement and counted with the embedded ones.
#[test]
fn detached_proofs_are_bound_to_the_statement() {
    use cuproof_verify::DetachedProof;
    let f = fixture();
    // A proof of another job's statement: refused before any pairing.
    let other = [DetachedProof {
        statement_digest: f.receipt2.statement.digest(),
        entry: f.receipt2.proofs[0].clone(),
    }];
    let mut c = ctx(f);
    c.detached_proofs = &other;
    let v = verify_receipt(&f.receipt, &f.policy, &mut c);
    assert_caught(&v, "proof.detached[0]");
    assert!(
        v.check("proof.detached[0]")
            .is_some_and(|c| c.reason.contains("is for statement")),
        "{}",
        v.render_table()
    );
    // Another job's proof relabelled with this statement's digest: the public input is recomputed from the
    // statement, so it fails like a swapped embedded proof.
    let relabelled = [DetachedProof {
        statement_digest: f.receipt.statement.digest(),
        entry: f.receipt2.proofs[0].clone(),
    }];
    let mut c = ctx(f);
    c.detached_proofs = &relabelled;
    let v = verify_receipt(&f.receipt, &f.policy, &mut c);
    assert!(!v.valid, "{}", v.render_table());
    // The receipt's own proof once more, detached: two proofs for one circuit.
    let twice = [DetachedProof {
        statement_digest: f.receipt.statement.digest(),
        entry: f.receipt.proofs[0].clone(),
    }];
    let mut c = ctx(f);
    c.detached_proofs = &twice;
    let v = verify_receipt(&f.receipt, &f.policy, &mut c);
    assert_caught(&v, "proof.square.detached");
    // Without detached proofs the fixture stays valid.
    assert!(verify_receipt(&f.receipt, &f.policy, &mut ctx(f)).valid);
}

#[test]
fn measured_boot_is_checked_against_the_quoted_pcrs() {
    let f = fixture();
    // The valid receipt's boot log replays to the quoted PCRs 0-7 and shows Secure Boot, allowed applications and
    // the pinned db.
    let v = verify_receipt(&f.receipt, &f.policy, &mut ctx(f));
    assert!(v.valid, "{}", v.render_table());
    for name in [
        "boot.log",
        "boot.secure_boot",
        "boot.applications",
        "boot.loaded_files",
        "boot.variables",
    ] {
        let c = v.check(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(c.outcome, Outcome::Pass, "{name}: {}", c.reason);
    }
    let pos = |n: &str| v.checks.iter().position(|c| c.name == n).expect("check");
    assert!(pos("quote.pcr_digest") < pos("boot.log"));
    // A log of a Secure-Boot-off boot in a receipt whose TPM measured otherwise (the quote itself is genuine
    // and binds this log): the replay does not match PCR 7.
    let v = verify_receipt(&f.receipt_boot_forged, &f.policy, &mut ctx(f));
    assert_caught(&v, "boot.log");
    assert!(v.check("boot.log").expect("log").reason.contains("PCR 7"));
    assert_eq!(
        v.check("boot.events").expect("not reached").outcome,
        Outcome::NotReached
    );
    // No log while the policy requires one.
    let v = verify_receipt(&f.receipt_boot_missing, &f.policy, &mut ctx(f));
    assert_caught(&v, "boot.log");
    // Without a [boot] table the log is not judged, and the receipt stays valid.
    let text = std::fs::read_to_string(&f.policy_path).expect("policy");
    let cut = text.find("\n[boot]").expect("boot table");
    let no_boot = Policy::from_toml_str(&text[..cut], f.dir.path()).expect("policy");
    assert!(
        no_boot.ima.is_none(),
        "[ima] follows [boot] in the test policy"
    );
    let v = verify_receipt(&f.receipt_boot_missing, &no_boot, &mut ctx(f));
    assert!(v.valid, "{}", v.render_table());
    assert_eq!(
        v.check("boot.log").expect("skip").outcome,
        Outcome::SkippedByPolicy
    );
}

#[test]
fn runtime_measurements_are_checked_against_pcr_10() {
    let f = fixture();
    // The valid receipt's IMA list replays to the quoted PCR 10 and every measured file is the allowed one,
    // the NVIDIA kernel modules included.
    let v = verify_receipt(&f.receipt, &f.policy, &mut ctx(f));
    assert!(v.valid, "{}", v.render_table());
    for name in [
        "ima.log",
        "ima.boot_aggregate",
        "ima.violations",
        "ima.files",
    ] {
        let c = v.check(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(c.outcome, Outcome::Pass, "{name}: {}", c.reason);
    }
    assert!(v
        .check("ima.files")
        .expect("files")
        .reason
        .contains("nvidia.ko"));
    let pos = |n: &str| v.checks.iter().position(|c| c.name == n).expect("check");
    assert!(pos("boot.log") < pos("ima.log"));
    // A list with its last measurement dropped (the quote is genuine and binds the shorter list): it no longer
    // accounts for PCR 10.
    let v = verify_receipt(&f.receipt_ima_truncated, &f.policy, &mut ctx(f));
    assert_caught(&v, "ima.log");
    assert_eq!(
        v.check("ima.entries").expect("not reached").outcome,
        Outcome::NotReached
    );
    // A policy that requires another build of the driver refuses the genuine list.
    let text = std::fs::read_to_string(&f.policy_path).expect("policy");
    let nvidia = common::ima()
        .files
        .iter()
        .find(|(p, _)| p.ends_with("/nvidia.ko"))
        .map(|(_, d)| hex::encode(d))
        .expect("nvidia.ko");
    let other = Policy::from_toml_str(&text.replace(&nvidia, &"cd".repeat(32)), f.dir.path())
        .expect("policy");
    let v = verify_receipt(&f.receipt, &other, &mut ctx(f));
    assert_caught(&v, "ima.files");
}
