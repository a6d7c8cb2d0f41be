//! # cuproof-verify
//!
//! The auditor's verifier: checks a cuproof receipt under a TOML [`Policy`] and returns a structured
//! [`Verdict`] (every check with ✓/✗ and the reason). Pure Rust, no C dependency, no GPU, no unsafe code.
//!
//! Checks run in the order of issue 5 (`docs/verify.md`):
//!
//! 1. trust the AK: EK certificate chain to the policy's roots, EK certificate key = EK, enrollment record
//!    (credential activation) names this EK and AK, AK attributes;
//! 2. per quote: signature scheme/hash on the allow-list; signature over the exact attest bytes **before
//!    anything in them is believed**; magic and type; qualifying data = `receipt.qualifying_data(challenge)` (binds the challenge and every field but the quotes) under the
//!    verifier's challenge (constant time); qualifiedSigner = the AK's qualified name under the EK; PCR
//!    selection as the policy requires; PCR digest recomputed from the PCR values;
//! 3. event-log replay equals the quoted job PCR; boot/driver PCRs in the policy's allowed values; the
//!    firmware's measured-boot log replays to the quoted boot PCRs, and Secure Boot, the boot applications and
//!    the Secure Boot databases it records are judged (`[boot]`, `docs/bootlog.md`);
//!    the IMA runtime measurement list replays to the quoted PCR 10 and the files it measured (the NVIDIA
//!    driver stack) are judged (`[ima]`, `docs/ima.md`);
//! 4. freshness: safe clock, reset/restart counts and clock monotone against the last receipt seen from the
//!    AK ([`state::FreshnessState`]), age of the challenge;
//! 5. log content: JobStart (job id, challenge, workload), Inventory backend and GPUs, module digests, launches
//!    of loaded modules only, Buffer records = statement tensors, JobEnd;
//! 6. proofs: Groth16/BN254 under the policy's verifying key for the circuit id, public input recomputed;
//! 7. software-TPM / CPU-backend flags against the policy.
//!
//! Any failure makes the receipt invalid. No input makes the verifier panic (see the tamper suite and the
//! fuzz targets).
//!
//! A capacity claim (`cuproof-capacity`) is judged under the same policy file through [`capacity`]: its
//! `[capacity]`, `[gpu]` and signature rules, and the stage-3 boot and IMA checks applied to the stack the
//! transcript's second quote covers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod boot;
pub mod capacity;
pub mod detached;
pub mod groth16;
pub mod ima;
pub mod policy;
pub mod state;
pub mod verdict;

pub use detached::{DetachedProof, DetachedProofError};
pub use policy::{
    BackendRequirement, BootPolicy, CapacityMeasurement, CapacityPolicy, FileDigest, ImaPolicy,
    Policy, PolicyError,
};
pub use state::{FreshnessState, StateError};
pub use verdict::{Check, Outcome, Verdict};

use cuproof_attest::alg::HashAlg as TpmHash;
use cuproof_attest::attest::{Attest, Attested, TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE};
use cuproof_attest::ekcert::{Cert, TpmKind as AttestTpmKind};
use cuproof_attest::enroll::{check_ak_attributes, NodeRecord};
use cuproof_attest::pcr::{pcr_digest, PcrValue as AttestPcrValue};
use cuproof_attest::public::PublicArea;
use cuproof_attest::signature::{verify_signature, Signature};
use cuproof_core::log::{Backend, BufferRole, Record};
use cuproof_core::receipt::{qualifying_data, Receipt, TpmKind, TpmQuote};
use std::collections::{BTreeMap, BTreeSet};
use subtle::ConstantTimeEq;

/// What the verifier knows besides the receipt and the policy.
#[derive(Debug)]
pub struct VerifyContext<'a> {
    /// The challenge (nonce) this verifier issued for the job.
    pub challenge: [u8; 32],
    /// When the challenge was issued (Unix seconds); needed when the policy bounds the receipt's age.
    pub challenge_issued_at: Option<u64>,
    /// The registrar's enrollment record of the node (credential activation).
    pub node: Option<&'a NodeRecord>,
    /// Current time (Unix seconds): certificate validity, age, clock-skew bound.
    pub now_unix: u64,
    /// Freshness state; updated with the job quote's clock when the receipt is valid.
    pub state: Option<&'a mut FreshnessState>,
    /// Proofs handed over next to the receipt (`cuproof prove`, `docs/proof-file.md`). Each is checked like an
    /// embedded proof (its public input recomputed from the receipt's statement) and counts for
    /// `proofs.required`; one for another statement or another verifying key fails the receipt.
    pub detached_proofs: &'a [DetachedProof],
}

impl<'a> VerifyContext<'a> {
    /// A context with the given challenge, the current system time and nothing else.
    pub fn new(challenge: [u8; 32]) -> Self {
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        VerifyContext {
            challenge,
            challenge_issued_at: None,
            node: None,
            now_unix,
            state: None,
            detached_proofs: &[],
        }
    }
}

/// Errors of the file-based entry point ([`verify_with_state_file`]); verification failures are in the
/// [`Verdict`], not here.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The freshness state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Decode `bytes` strictly and verify the receipt. A decoding failure is a failed `receipt.decode` check.
pub fn verify_receipt_bytes(bytes: &[u8], policy: &Policy, ctx: &mut VerifyContext<'_>) -> Verdict {
    match Receipt::decode(bytes) {
        Ok(r) => {
            let mut v = verify_receipt(&r, policy, ctx);
            v.checks.insert(
                0,
                Check {
                    name: "receipt.decode".into(),
                    outcome: Outcome::Pass,
                    reason: format!("{} bytes, strict decoding", bytes.len()),
                },
            );
            v
        }
        Err(e) => {
            let mut v = Verdict::new(&policy.name);
            v.fail("receipt.decode", e.to_string());
            v.finish();
            v
        }
    }
}

/// Verify with the policy's freshness state file: load it (missing = empty), verify, and write it back
/// atomically when the receipt is valid. Without a `freshness.state_file` in the policy this is
/// [`verify_receipt_bytes`] with the context's own state.
pub fn verify_with_state_file(
    bytes: &[u8],
    policy: &Policy,
    ctx: &mut VerifyContext<'_>,
) -> Result<Verdict, VerifyError> {
    let Some(path) = &policy.state_file else {
        return Ok(verify_receipt_bytes(bytes, policy, ctx));
    };
    let mut state = FreshnessState::load(path)?;
    let v = {
        let mut inner = VerifyContext {
            challenge: ctx.challenge,
            challenge_issued_at: ctx.challenge_issued_at,
            node: ctx.node,
            now_unix: ctx.now_unix,
            state: Some(&mut state),
            detached_proofs: ctx.detached_proofs,
        };
        verify_receipt_bytes(bytes, policy, &mut inner)
    };
    if v.valid {
        state.save(path)?;
    }
    Ok(v)
}

/// What the AK-trust stage established.
struct AkTrust {
    ak: PublicArea,
    ek: Option<PublicArea>,
    trusted: bool,
}

/// The fields of a job quote that later stages use, known to be signed by the AK.
struct SignedQuote {
    attest: Attest,
    pcrs: BTreeMap<u8, Vec<u8>>,
    intact: bool,
}

/// Verify a decoded receipt under `policy`. Never panics; any failed check makes the verdict invalid.
pub fn verify_receipt(receipt: &Receipt, policy: &Policy, ctx: &mut VerifyContext<'_>) -> Verdict {
    let mut v = Verdict::new(&policy.name);
    let st = &receipt.statement;
    let digest = st.digest();
    v.statement_digest = Some(hex::encode(digest));

    // The statement answers our challenge (the qualifying data check below binds the quote to it too).
    if bool::from(st.challenge.ct_eq(&ctx.challenge)) {
        v.pass(
            "statement.challenge",
            "statement answers the verifier's challenge",
        );
    } else {
        v.fail(
            "statement.challenge",
            "statement challenge is not the verifier's challenge (old or foreign nonce)",
        );
    }

    let tpm_checked = check_tpm(receipt, policy, ctx, &mut v, &digest);
    check_log(receipt, policy, &mut v);
    if v.any_failed() {
        // Pairings are the expensive part: a receipt that already failed does not get them.
        v.not_reached("proofs", "an earlier check failed: proofs not verified");
    } else {
        check_proofs(receipt, policy, ctx.detached_proofs, &mut v);
    }

    // Flags against the policy.
    let kind = receipt.node.tpm;
    if policy.accepts_tpm(kind) {
        v.pass("policy.tpm", format!("TPM kind {kind:?} accepted"));
    } else {
        v.fail(
            "policy.tpm",
            format!(
                "TPM kind {kind:?} not accepted (accept: {:?})",
                policy.tpm_accept
            ),
        );
    }
    if policy.backend.admits(st.backend) {
        v.pass(
            "policy.backend",
            format!("backend {:?} accepted", st.backend),
        );
    } else {
        v.fail(
            "policy.backend",
            format!(
                "backend {:?} not accepted (policy requires {:?})",
                st.backend, policy.backend
            ),
        );
    }
    v.push(
        "receipt.claims",
        Outcome::Pass,
        format!(
            "node label {:?} and {} timing(s): the provider's own statements, signed by the job quote (binding digest) but not otherwise checked",
            sanitize(&receipt.node.label),
            receipt.timings.len()
        ),
    );
    v.finish();

    // Commit freshness only for a valid receipt.
    if v.valid {
        if let (Some(state), Some((ak_key, ci))) = (ctx.state.as_deref_mut(), tpm_checked) {
            state.record(
                &ak_key,
                ci.reset_count,
                ci.restart_count,
                ci.clock,
                ctx.now_unix,
            );
        }
    }
    v
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Stage 1: trust the AK.
fn check_ak(
    receipt: &Receipt,
    policy: &Policy,
    ctx: &VerifyContext<'_>,
    v: &mut Verdict,
) -> Option<AkTrust> {
    let node = &receipt.node;
    let ak = match PublicArea::from_tpm2b(&node.ak_public) {
        Ok(a) => a,
        Err(e) => {
            v.fail("ak.public", format!("AK public area: {e}"));
            return None;
        }
    };
    let mut trusted = true;
    if !v.record(
        "ak.attributes",
        check_ak_attributes(&ak)
            .map(|_| {
                "restricted signing key, fixedTPM, fixedParent, sensitiveDataOrigin".to_string()
            })
            .map_err(|e| e.to_string()),
    ) {
        trusted = false;
    }
    let ek = match PublicArea::from_tpm2b(&node.ek_public) {
        Ok(e) => Some(e),
        Err(e) => {
            v.fail("ak.ek_public", format!("EK public area: {e}"));
            trusted = false;
            None
        }
    };
    let mut proven_kind = None;
    // EK certificate chain.
    if node.ek_cert.is_empty() {
        if policy.require_ek_certificate {
            v.fail(
                "ak.ek_certificate",
                "no EK certificate, the policy requires one",
            );
            trusted = false;
        } else {
            v.skip(
                "ak.ek_certificate",
                "no EK certificate; policy does not require one (TPM treated as software)",
            );
        }
    } else if !policy.require_ek_certificate && policy.ek_trust.roots.is_empty() {
        v.skip(
            "ak.ek_certificate",
            "policy names no EK roots and does not require a certificate (TPM treated as software)",
        );
    } else {
        let r = (|| -> Result<String, String> {
            let ek = ek.as_ref().ok_or("EK public area unusable")?;
            let cert = Cert::from_der(&node.ek_cert).map_err(|e| e.to_string())?;
            if !cert.key_matches(ek).map_err(|e| e.to_string())? {
                return Err("EK certificate's key is not the EK".into());
            }
            let mut trust = policy.ek_trust.clone();
            trust.now = Some(ctx.now_unix);
            let kind = trust.verify_chain(&cert).map_err(|e| e.to_string())?;
            proven_kind = Some(kind);
            Ok(format!(
                "EK certificate chains to a trusted {kind:?} root and certifies the EK"
            ))
        })();
        if !v.record("ak.ek_certificate", r) {
            trusted = false;
        }
    }
    // Enrollment record.
    match ctx.node {
        None if policy.require_enrollment => {
            v.fail(
                "ak.enrollment",
                "no enrollment record for this node; the policy requires credential activation",
            );
            trusted = false;
        }
        None => v.skip(
            "ak.enrollment",
            "policy does not require an enrollment record",
        ),
        Some(rec) => {
            let r = (|| -> Result<String, String> {
                rec.validate().map_err(|e| e.to_string())?;
                if !ct_eq(&rec.ek_public, &node.ek_public) {
                    return Err("enrollment record names another EK".into());
                }
                if !ct_eq(&rec.ak_public, &node.ak_public) || !ct_eq(&rec.ak_name, &ak.name()) {
                    return Err("enrollment record names another AK".into());
                }
                match (&rec.ek_cert_sha256, node.ek_cert.is_empty()) {
                    (Some(d), false) => {
                        if !ct_eq(d, &cuproof_core::hash::sha256(&node.ek_cert)) {
                            return Err("EK certificate differs from the enrolled one".into());
                        }
                    }
                    (None, true) => {}
                    _ => return Err("EK certificate presence differs from enrollment".into()),
                }
                if proven_kind.is_none() {
                    proven_kind = Some(rec.tpm_kind);
                } else if proven_kind != Some(rec.tpm_kind) {
                    return Err("TPM kind differs between EK chain and enrollment".into());
                }
                Ok(format!(
                    "AK enrolled by credential activation at {} under this EK",
                    rec.enrolled_at
                ))
            })();
            if !v.record("ak.enrollment", r) {
                trusted = false;
            }
        }
    }
    // The receipt's own TPM-kind claim must not exceed what was proven.
    let claim = node.tpm;
    let r = match (claim, proven_kind) {
        (TpmKind::Hardware, Some(AttestTpmKind::Hardware)) => {
            Ok("hardware TPM, proven by the EK chain".into())
        }
        (TpmKind::Hardware, _) => {
            Err("receipt claims a hardware TPM, the EK chain does not prove one".into())
        }
        (TpmKind::Software, _) => Ok("software TPM (declared)".into()),
        (TpmKind::None, _) => Err("receipt declares no TPM but carries TPM evidence".into()),
    };
    if !v.record("ak.tpm_kind", r) {
        trusted = false;
    }
    Some(AkTrust { ak, ek, trusted })
}

/// Stage 2: one quote's signature and structure. Returns the signed attestation when every check passed.
fn check_quote(
    name: &str,
    q: &TpmQuote,
    trust: &AkTrust,
    policy: &Policy,
    expected_qd: Option<&[u8; 32]>,
    v: &mut Verdict,
) -> Option<SignedQuote> {
    let n = |s: &str| format!("{name}.{s}");
    let sig = match Signature::parse(&q.signature) {
        Ok(s) => s,
        Err(e) => {
            v.fail(n("scheme"), format!("TPMT_SIGNATURE: {e}"));
            return None;
        }
    };
    let (scheme, hash) = sig.scheme();
    if !policy.allows_scheme(scheme, hash) {
        v.fail(
            n("scheme"),
            format!("scheme 0x{scheme:04x} with hash 0x{hash:04x} is not on the allow-list"),
        );
        return None;
    }
    v.pass(
        n("scheme"),
        format!("scheme 0x{scheme:04x} / hash 0x{hash:04x} allowed"),
    );
    let qhash = match verify_signature(&trust.ak, &q.attest, &sig, &policy.signature_policy()) {
        Ok(h) => h,
        Err(e) => {
            v.fail(n("signature"), e.to_string());
            v.not_reached(
                n("attest"),
                "signature not valid: nothing in the attestation is believed",
            );
            return None;
        }
    };
    v.pass(
        n("signature"),
        "valid AK signature over the exact attest bytes",
    );
    let attest = match Attest::parse(&q.attest) {
        Ok(a) => a,
        Err(e) => {
            v.fail(n("attest"), format!("TPMS_ATTEST: {e}"));
            return None;
        }
    };
    if attest.magic != TPM_GENERATED_VALUE || attest.attest_type != TPM_ST_ATTEST_QUOTE {
        v.fail(
            n("magic_type"),
            format!(
                "magic 0x{:08x} type 0x{:04x} (expected TPM_GENERATED_VALUE, ATTEST_QUOTE)",
                attest.magic, attest.attest_type
            ),
        );
        return None;
    }
    v.pass(n("magic_type"), "TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE");
    let mut intact = true;
    match expected_qd {
        Some(qd) => {
            if ct_eq(&attest.extra_data, qd) {
                v.pass(
                    n("qualifying_data"),
                    "extraData = H(challenge ‖ binding digest of the receipt)",
                );
            } else {
                v.fail(
                    n("qualifying_data"),
                    "extraData is not this receipt under this challenge",
                );
                intact = false;
            }
        }
        None => v.skip(
            n("qualifying_data"),
            "not a job quote: its qualifying data is judged by the verifier of its purpose",
        ),
    }
    match &trust.ek {
        Some(ek) => {
            let qn = trust.ak.qualified_name_under_ek(ek);
            if ct_eq(&attest.qualified_signer, &qn) {
                v.pass(n("qualified_signer"), "AK's qualified name under the EK");
            } else {
                v.fail(
                    n("qualified_signer"),
                    "qualifiedSigner is not the AK under this EK",
                );
                intact = false;
            }
        }
        None => {
            v.fail(
                n("qualified_signer"),
                "no usable EK to derive the AK's qualified name",
            );
            intact = false;
        }
    }
    let Attested::Quote {
        selection,
        pcr_digest: quoted_digest,
    } = &attest.attested
    else {
        v.fail(n("magic_type"), "attested body is not a quote");
        return None;
    };
    // Selection: the policy's set in the SHA-256 bank (job quote only; other quotes select for their purpose).
    if expected_qd.is_some() {
        let required: BTreeSet<(u16, u8)> = policy
            .required_selection()
            .into_iter()
            .map(|i| (policy.pcr_bank, i))
            .collect();
        let quoted = selection.as_set();
        if quoted == required {
            v.pass(
                n("pcr_selection"),
                format!("SHA-256 PCRs {:?}", policy.required_selection()),
            );
        } else if !policy.exact_selection && quoted.is_superset(&required) {
            v.pass(
                n("pcr_selection"),
                format!(
                    "selection {} includes the required SHA-256 PCRs {:?}",
                    show_selection(&quoted),
                    policy.required_selection()
                ),
            );
        } else {
            v.fail(
                n("pcr_selection"),
                format!(
                    "quoted {}, policy requires {}",
                    show_selection(&quoted),
                    show_selection(&required)
                ),
            );
            intact = false;
        }
    } else {
        v.skip(
            n("pcr_selection"),
            "not a job quote: its selection is judged by the verifier of its purpose",
        );
    }
    let values: Vec<AttestPcrValue> = q
        .pcrs
        .iter()
        .map(|p| AttestPcrValue {
            bank: p.bank,
            index: p.index,
            value: p.value.clone(),
        })
        .collect();
    match pcr_digest(qhash, selection, &values) {
        Ok(d) if ct_eq(&d, quoted_digest) => {
            v.pass(n("pcr_digest"), "PCR values hash to the quoted digest")
        }
        Ok(_) => {
            v.fail(n("pcr_digest"), "PCR values are not the quoted ones");
            intact = false;
        }
        Err(e) => {
            v.fail(n("pcr_digest"), e.to_string());
            intact = false;
        }
    }
    let pcrs = q
        .pcrs
        .iter()
        .filter(|p| p.bank == policy.pcr_bank)
        .map(|p| (p.index, p.value.clone()))
        .collect();
    Some(SignedQuote {
        attest,
        pcrs,
        intact,
    })
}

/// Stages 1–4. Returns the AK key and clock info to record when the receipt turns out valid.
fn check_tpm(
    receipt: &Receipt,
    policy: &Policy,
    ctx: &VerifyContext<'_>,
    v: &mut Verdict,
    statement_digest: &[u8; 32],
) -> Option<(String, cuproof_attest::attest::ClockInfo)> {
    if receipt.node.tpm == TpmKind::None {
        if !receipt.quotes.is_empty() {
            v.fail("tpm", "receipt declares no TPM but carries quotes");
        } else if policy.accepts_tpm(TpmKind::None) {
            v.skip(
                "tpm",
                "no TPM evidence; the policy accepts receipts without a TPM",
            );
        } else {
            v.fail("tpm", "no TPM evidence; the policy requires a TPM quote");
        }
        return None;
    }
    let trust = check_ak(receipt, policy, ctx, v)?;
    if !trust.trusted {
        v.not_reached("quotes", "AK not trusted: quotes are not examined");
        return None;
    }
    let _ = statement_digest;
    let expected_qd = match receipt.binding_digest() {
        Ok(b) => qualifying_data(&ctx.challenge, &b),
        Err(e) => {
            v.fail(
                "quote.binding",
                format!("receipt cannot be re-encoded: {e}"),
            );
            return None;
        }
    };
    let job_quotes: Vec<usize> = receipt
        .quotes
        .iter()
        .enumerate()
        .filter(|(_, q)| q.purpose == policy.job_quote)
        .map(|(i, _)| i)
        .collect();
    if job_quotes.len() != 1 {
        v.fail(
            "quote.job",
            format!(
                "{} quotes with purpose {:?} (exactly one required)",
                job_quotes.len(),
                policy.job_quote
            ),
        );
    }
    let mut job = None;
    for (i, q) in receipt.quotes.iter().enumerate() {
        let is_job = job_quotes.len() == 1 && job_quotes[0] == i;
        let name = if is_job {
            "quote".to_string()
        } else {
            format!("quote[{i}:{}]", sanitize(&q.purpose))
        };
        let qd = if is_job { Some(&expected_qd) } else { None };
        let signed = check_quote(&name, q, &trust, policy, qd, v);
        if is_job {
            job = signed;
        }
    }
    let job = job?;
    if !job.intact {
        v.not_reached("log.replay", "job quote failed a check");
        return None;
    }

    // Stage 3: replay and boot PCRs.
    let job_pcr = policy.job_pcr;
    let replayed = receipt.log.replay_pcrs();
    let r = match (replayed.get(&job_pcr), job.pcrs.get(&(job_pcr as u8))) {
        (Some(want), Some(got)) if ct_eq(want, got) => Ok(format!(
            "log replays to the quoted PCR {job_pcr} ({} checkpoints)",
            receipt.log.checkpoints().len()
        )),
        (Some(_), Some(_)) => Err(format!(
            "log replays to a value other than the quoted PCR {job_pcr}"
        )),
        (None, _) => Err(format!("log has no checkpoint in PCR {job_pcr}")),
        (_, None) => Err(format!("PCR {job_pcr} value missing")),
    };
    let replay_ok = v.record("log.replay", r);
    check_stack(
        policy,
        &job.pcrs,
        &receipt.node.boot_log,
        &receipt.node.ima_log,
        v,
    );

    // Stage 4: freshness.
    let ci = job.attest.clock_info;
    if policy.require_safe_clock && !ci.safe {
        v.fail(
            "freshness.safe",
            "TPM clock not marked safe (possible rollback)",
        );
    } else if ci.safe {
        v.pass("freshness.safe", "TPM clock safe");
    } else {
        v.skip("freshness.safe", "policy does not require a safe clock");
    }
    match policy.max_age_seconds {
        None => v.skip("freshness.age", "policy sets no maximum age"),
        Some(max) => {
            let r = match ctx.challenge_issued_at {
                None => Err("challenge issue time unknown; the policy bounds the age".into()),
                Some(t) if t > ctx.now_unix => Err(format!(
                    "challenge issued in the future ({t} > now {})",
                    ctx.now_unix
                )),
                Some(t) if ctx.now_unix - t > max => Err(format!(
                    "receipt is {} s old (challenge issued at {t}), maximum {max} s",
                    ctx.now_unix - t
                )),
                Some(t) => Ok(format!(
                    "{} s since the challenge, maximum {max} s",
                    ctx.now_unix - t
                )),
            };
            v.record("freshness.age", r);
        }
    }
    let ak_key = hex::encode(trust.ak.name());
    match ctx.state.as_deref() {
        None if policy.state_file.is_some() => {
            v.fail(
                "freshness.clock",
                "the policy keeps a freshness state file but none was supplied",
            );
        }
        None => v.skip("freshness.clock", "no freshness state kept"),
        Some(state) => {
            let r = state
                .judge(
                    &ak_key,
                    ci.reset_count,
                    ci.restart_count,
                    ci.clock,
                    ctx.now_unix,
                    policy
                        .max_age_seconds
                        .map(|a| a.saturating_add(policy.max_clock_skew_seconds)),
                )
                .map(|rel| {
                    format!(
                        "{rel:?}: resetCount {} restartCount {} clock {} ms",
                        ci.reset_count, ci.restart_count, ci.clock
                    )
                });
            v.record("freshness.clock", r);
        }
    }
    if replay_ok {
        Some((ak_key, ci))
    } else {
        None
    }
}

/// The software stack a quote covers (`pcrs.boot`, `boot.*`, `ima.*`): the boot/driver PCR values against the
/// allowed ones, the firmware event log and the IMA list replayed against the quoted PCRs and judged. Shared by
/// the receipt verifier and the capacity verifier's stack judge ([`capacity::PolicyStack`]).
pub(crate) fn check_stack(
    policy: &Policy,
    quoted: &BTreeMap<u8, Vec<u8>>,
    boot_log: &[u8],
    ima_log: &[u8],
    v: &mut Verdict,
) {
    if policy.allowed_pcrs.is_empty() {
        v.skip("pcrs.boot", "policy pins no boot/driver PCR values");
    } else {
        let mut bad = Vec::new();
        for (idx, allowed) in &policy.allowed_pcrs {
            match quoted.get(&(*idx as u8)) {
                Some(val) if allowed.iter().any(|a| ct_eq(a, val)) => {}
                Some(val) => bad.push(format!("PCR {idx} = {} not allowed", hex::encode(val))),
                None => bad.push(format!("PCR {idx} not quoted")),
            }
        }
        let keys: Vec<_> = policy.allowed_pcrs.keys().collect();
        v.record(
            "pcrs.boot",
            if bad.is_empty() {
                Ok(format!("PCRs {keys:?} hold allowed values"))
            } else {
                Err(bad.join("; "))
            },
        );
    }
    boot::check_boot(boot_log, policy.boot.as_ref(), quoted, v);
    ima::check_ima(ima_log, policy.ima.as_ref(), quoted, v);
}

/// `sha256:[0, 7, 23]`-style rendering of a PCR selection.
fn show_selection(set: &BTreeSet<(u16, u8)>) -> String {
    let mut banks: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    for (bank, i) in set {
        banks.entry(*bank).or_default().push(*i);
    }
    let parts: Vec<String> = banks
        .into_iter()
        .map(|(bank, pcrs)| {
            let name = match TpmHash::from_alg_id(bank) {
                Ok(TpmHash::Sha1) => "sha1".to_string(),
                Ok(TpmHash::Sha256) => "sha256".to_string(),
                Ok(TpmHash::Sha384) => "sha384".to_string(),
                Ok(TpmHash::Sha512) => "sha512".to_string(),
                Err(_) => format!("0x{bank:04x}"),
            };
            format!("{name}:{pcrs:?}")
        })
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(" ")
    }
}

/// The start the measurement-log checks share (`boot.log`, `ima.log`): without the policy table (`require` is
/// `None`) the log is not judged; a missing log fails when the table requires one. True when there is a log to
/// judge.
pub(crate) fn log_to_judge(
    v: &mut Verdict,
    check: &str,
    table: &str,
    what: &str,
    log: &[u8],
    require: Option<bool>,
) -> bool {
    match (require, log.is_empty()) {
        (None, true) => v.skip(check, format!("policy has no {table} table")),
        (None, false) => v.skip(
            check,
            format!(
                "policy has no {table} table: the {what} sent ({} bytes) is not judged",
                log.len()
            ),
        ),
        (Some(true), true) => v.fail(
            check,
            format!("no {what} was sent; the policy requires one"),
        ),
        (Some(false), true) => v.skip(check, format!("no {what}; the policy does not require one")),
        (Some(_), false) => return true,
    }
    false
}

pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .take(32)
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Stage 5: the log's content against the statement and the policy.
fn check_log(receipt: &Receipt, policy: &Policy, v: &mut Verdict) {
    let st = &receipt.statement;
    let recs = receipt.log.records();

    // Checkpoints into the job PCR only.
    let cps = receipt.log.checkpoints();
    v.record(
        "log.pcr",
        if cps.is_empty() {
            Err("log has no checkpoint".into())
        } else if cps.iter().all(|c| c.pcr == policy.job_pcr) {
            Ok(format!(
                "{} checkpoints, all into PCR {}",
                cps.len(),
                policy.job_pcr
            ))
        } else {
            Err(format!(
                "a checkpoint extends a PCR other than {}",
                policy.job_pcr
            ))
        },
    );

    // JobStart: first, unique, matches the statement.
    let starts: Vec<_> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Record::JobStart { .. }))
        .collect();
    let r = match starts.as_slice() {
        [(
            0,
            Record::JobStart {
                job_id,
                workload,
                params,
                challenge,
            },
        )] => {
            if !ct_eq(job_id, &st.job_id) {
                Err("JobStart job id differs from the statement".to_string())
            } else if !ct_eq(challenge, &st.challenge) {
                Err("JobStart challenge differs from the statement".to_string())
            } else if workload != &st.workload || params != &st.params {
                Err("JobStart workload or parameters differ from the statement".to_string())
            } else {
                Ok(format!(
                    "job {} workload {:?}",
                    hex::encode(job_id),
                    sanitize(workload)
                ))
            }
        }
        [] => Err("no JobStart record".into()),
        [_] => Err("JobStart is not the first record".into()),
        _ => Err("more than one JobStart record".into()),
    };
    v.record("log.job_start", r);

    // JobEnd: last, unique, success.
    let ends: Vec<_> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Record::JobEnd { .. }))
        .collect();
    let r = match ends.as_slice() {
        [(i, Record::JobEnd { status, .. })] if *i + 1 == recs.len() => {
            if *status == 0 {
                Ok("job ended with status 0".to_string())
            } else {
                Err(format!("job ended with status {status}"))
            }
        }
        [] => Err("no JobEnd record".into()),
        [_] => Err("JobEnd is not the last record".into()),
        _ => Err("more than one JobEnd record".into()),
    };
    v.record("log.job_end", r);

    // Inventory: unique; backend = statement backend; GPUs allowed.
    let invs: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Inventory(i) => Some(i),
            _ => None,
        })
        .collect();
    let inv = match invs.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    v.record(
        "log.backend",
        match inv {
            None => Err(format!(
                "{} Inventory records (exactly one required)",
                invs.len()
            )),
            Some(i) if i.backend != st.backend => Err(format!(
                "Inventory backend {:?} differs from the statement's {:?}",
                i.backend, st.backend
            )),
            Some(i) => Ok(format!("backend {:?} (Inventory = statement)", i.backend)),
        },
    );
    match inv {
        None => v.not_reached("log.gpu", "no unique Inventory"),
        Some(i) if st.backend == Backend::Cpu => {
            let _ = i;
            v.skip("log.gpu", "CPU backend: no GPU claim")
        }
        Some(i) => {
            let r = if i.gpus.is_empty() {
                Err("CUDA backend without a GPU in the Inventory".to_string())
            } else if policy.gpu_models.is_empty() && policy.gpu_uuids.is_empty() {
                Ok(format!("{} GPU(s); policy allows any model", i.gpus.len()))
            } else {
                let bad: Vec<String> = i
                    .gpus
                    .iter()
                    .filter(|g| {
                        !((policy.gpu_models.is_empty() || policy.gpu_models.contains(&g.name))
                            && (policy.gpu_uuids.is_empty() || policy.gpu_uuids.contains(&g.uuid)))
                    })
                    .map(|g| format!("{:?} ({})", sanitize(&g.name), hex::encode(g.uuid)))
                    .collect();
                if bad.is_empty() {
                    Ok(format!(
                        "GPU(s) allowed: {}",
                        i.gpus
                            .iter()
                            .map(|g| sanitize(&g.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                } else {
                    Err(format!("GPU(s) not allowed: {}", bad.join(", ")))
                }
            };
            v.record("log.gpu", r);
        }
    }

    // Modules and launches.
    let mut loaded = BTreeSet::new();
    let mut bad_mod = Vec::new();
    let mut bad_launch = Vec::new();
    let mut launches = 0usize;
    for r in recs {
        match r {
            Record::ModuleLoad {
                module,
                image_digest,
                name,
                ..
            } => {
                if !loaded.insert(*module) {
                    bad_mod.push(format!("module handle {module} loaded twice"));
                }
                if !policy.modules_allow_any
                    && !policy
                        .allowed_modules
                        .iter()
                        .any(|a| ct_eq(a, image_digest))
                {
                    bad_mod.push(format!(
                        "{:?} image {} not allowed",
                        sanitize(name),
                        hex::encode(image_digest)
                    ));
                }
            }
            Record::Launch { module, entry, .. } => {
                launches += 1;
                if !loaded.contains(module) {
                    bad_launch.push(format!(
                        "launch of {:?} refers to module {module}, not loaded before",
                        sanitize(entry)
                    ));
                }
            }
            _ => {}
        }
    }
    v.record(
        "log.modules",
        if !bad_mod.is_empty() {
            Err(bad_mod.join("; "))
        } else if policy.modules_allow_any {
            Ok(format!(
                "{} module(s); policy allows any module",
                loaded.len()
            ))
        } else {
            Ok(format!(
                "{} module(s), every image digest allowed",
                loaded.len()
            ))
        },
    );
    v.record(
        "log.launches",
        if bad_launch.is_empty() {
            Ok(format!("{launches} launch(es), each of a loaded module"))
        } else {
            Err(bad_launch.join("; "))
        },
    );

    // Buffers = statement tensors.
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for t in &st.tensors {
        if !names.insert((t.role.id(), t.name.as_str())) {
            problems.push(format!(
                "statement names tensor {:?} twice",
                sanitize(&t.name)
            ));
        }
        if t.role == BufferRole::Intermediate {
            problems.push(format!(
                "statement tensor {:?} is intermediate",
                sanitize(&t.name)
            ));
        }
    }
    let bufs: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Buffer {
                role,
                name,
                dtype,
                shape,
                commitment,
                ..
            } if *role != BufferRole::Intermediate => Some((role, name, dtype, shape, commitment)),
            _ => None,
        })
        .collect();
    for t in &st.tensors {
        let n = bufs
            .iter()
            .filter(|(role, name, dtype, shape, c)| {
                **role == t.role
                    && **name == t.name
                    && **dtype == t.dtype
                    && **shape == t.shape
                    && **c == t.commitment
            })
            .count();
        if n != 1 {
            problems.push(format!(
                "statement tensor {:?} has {n} matching Buffer record(s)",
                sanitize(&t.name)
            ));
        }
    }
    for (role, name, ..) in &bufs {
        if st.tensor(**role, name).is_none() {
            problems.push(format!(
                "{role:?} Buffer {:?} is not in the statement",
                sanitize(name)
            ));
        }
    }
    v.record(
        "log.buffers",
        if problems.is_empty() {
            Ok(format!(
                "{} tensor(s): Buffer records = statement commitments",
                st.tensors.len()
            ))
        } else {
            Err(problems.join("; "))
        },
    );
}

/// Stage 6: proofs, embedded then detached.
fn check_proofs(receipt: &Receipt, policy: &Policy, detached: &[DetachedProof], v: &mut Verdict) {
    let st = &receipt.statement;
    let mut verified = BTreeSet::new();
    for (i, p) in receipt.proofs.iter().enumerate() {
        match policy.circuit(&p.circuit_id) {
            None => v.fail(
                format!("proof[{i}]"),
                format!(
                    "circuit {} is not in the policy: no verifying key",
                    hex::encode(p.circuit_id)
                ),
            ),
            Some(c) => {
                let name = format!("proof.{}", sanitize(&c.name));
                if verified.contains(&c.name) {
                    v.fail(name, "two proofs for one circuit");
                    continue;
                }
                if v.record(&name, groth16::check_proof(c, st, p)) {
                    verified.insert(c.name.clone());
                }
            }
        }
    }
    let digest = st.digest();
    for (i, d) in detached.iter().enumerate() {
        let p = &d.entry;
        if !ct_eq(&d.statement_digest, &digest) {
            v.fail(
                format!("proof.detached[{i}]"),
                format!(
                    "the detached proof is for statement {}, this receipt's statement is {}",
                    hex::encode(d.statement_digest),
                    hex::encode(digest)
                ),
            );
            continue;
        }
        match policy.circuit(&p.circuit_id) {
            None => v.fail(
                format!("proof.detached[{i}]"),
                format!(
                    "detached proof's circuit {} is not in the policy: no verifying key",
                    hex::encode(p.circuit_id)
                ),
            ),
            Some(c) => {
                let name = format!("proof.{}.detached", sanitize(&c.name));
                if verified.contains(&c.name) {
                    v.fail(name, "two proofs for one circuit (embedded or detached)");
                    continue;
                }
                let r = groth16::check_proof(c, st, p).map(|s| format!("{s}; detached proof"));
                if v.record(&name, r) {
                    verified.insert(c.name.clone());
                }
            }
        }
    }
    if policy.required_proofs.is_empty() {
        v.skip("proofs.required", "policy requires no proof");
    } else {
        let missing: Vec<_> = policy
            .required_proofs
            .iter()
            .filter(|r| !verified.contains(*r))
            .cloned()
            .collect();
        v.record(
            "proofs.required",
            if missing.is_empty() {
                Ok(format!(
                    "required proofs verified: {:?}",
                    policy.required_proofs
                ))
            } else {
                Err(format!(
                    "no valid proof for required circuit(s) {missing:?}"
                ))
            },
        );
    }
}
