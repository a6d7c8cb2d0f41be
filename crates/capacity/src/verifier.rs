//! The verifier: issues a challenge, picks the rows after the commitment is fixed, and judges the transcript.
//!
//! ```text
//! let session = Verifier::new(policy).challenge("h100-sxm", &mut OsRng)?;    // send session.challenge()
//! let session = session.receive(commit_message, &mut OsRng)?;                 // send session.request()
//! let verdict = session.finish(&openings_message);                            // verdict.accepted
//! ```
//! Every check is run and reported ([`Verdict::checks`]); the node is accepted only if all pass.

use crate::class::{find, BoundBasis, ClassSpec};
use crate::error::CapacityError;
use crate::gpu::{gpu_attestation_check, AttestedCard, GpuAttestationPolicy};
use crate::row_check;
use crate::stack::{StackCheck, StackJudge};
use crate::wire::{
    CardIdentity, Challenge, CommitMessage, OpeningsMessage, QuoteEvidence, SampleRequest,
};
use crate::workload::{
    b_transposed, expected_rows, q1_qualifying_data, q2_qualifying_data, result_digest, work_seed,
    Workload,
};
use cuproof_attest::alg::HashAlg as TpmHash;
use cuproof_attest::public::PublicArea;
use cuproof_attest::quote::{verify_quote, QuoteExpectations, VerifiedQuote};
use cuproof_attest::signature::SignaturePolicy;
use cuproof_attest::TpmKind;
use rand::{CryptoRng, RngCore};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// What the verifier requires besides the class table.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The class table (see [`crate::class::builtin_classes`]).
    pub classes: Vec<ClassSpec>,
    /// PCRs of the SHA-256 bank both quotes must select (the job PCR 23 by default); the challenge asks for
    /// these and the [`Policy::stack`] judge's, exactly ([`Policy::quoted_pcrs`]).
    pub pcrs: Vec<u8>,
    /// The judge of the software stack Q2 quoted (boot and IMA logs against the quoted PCRs), if the verifier
    /// judges it ([`crate::stack`]); `None`: the `stack` check passes on the PCR selection alone.
    pub stack: Option<Arc<dyn StackJudge>>,
    /// Allowed signature schemes and hashes.
    pub signature_policy: SignaturePolicy,
    /// The Name of the node's enrolled AK (from credential activation). `None` accepts any key that has the
    /// attributes of an AK — acceptable only in tests: without it a software key could sign anything.
    pub pinned_ak_name: Option<Vec<u8>>,
    /// Require the `safe` flag of both quotes' clock info.
    pub require_safe_clock: bool,
    /// When set, the verifier's own elapsed time from issuing the challenge to receiving the commitment must be at
    /// most the class bound plus this allowance (network, quoting). Interactive sessions only.
    pub wall_clock_allowance_ms: Option<u64>,
    /// The class a claim must name, if one (the `policy` check).
    pub require_class: Option<String>,
    /// Fewest cards a claim must name.
    pub min_cards: u32,
    /// Accept the `cpu` class ([`BoundBasis::Cpu`]).
    pub accept_cpu_class: bool,
    /// Accept bounds not measured on a card of the class ([`BoundBasis::DerivedFromPeak`], [`BoundBasis::Custom`]).
    pub accept_unmeasured_bounds: bool,
    /// Require the pinned AK to be a hardware TPM's ([`Policy::ak_tpm_kind`]): a software TPM's clock is the host's,
    /// so its `t2 − t1` says nothing.
    pub require_hardware_tpm: bool,
    /// The kind of TPM the pinned AK was enrolled on (from the registrar's node record), if known.
    pub ak_tpm_kind: Option<TpmKind>,
    /// Allowed GPU names (exact) for the cards a node names; empty: any (the policy file's `[gpu] models`).
    pub gpu_models: Vec<String>,
    /// Allowed GPU UUIDs for the cards a node names; empty: any (the policy file's `[gpu] uuids`).
    pub gpu_uuids: Vec<[u8; 16]>,
    /// What the cards' own attestation reports must show (the `gpu-attestation` check; the policy file's
    /// `[gpu_attestation]`).
    pub gpu_attestation: GpuAttestationPolicy,
}

impl Policy {
    /// A development policy: the built-in class table, the job PCR 23 (cuproof-tpm's `DEFAULT_JOB_PCR`) of the
    /// SHA-256 bank, default signature policy, safe clock required, 5 s wall-clock allowance, no pinned AK, every
    /// class (the CPU class and unmeasured bounds included) and any TPM accepted.
    pub fn new(classes: Vec<ClassSpec>) -> Self {
        Policy {
            classes,
            pcrs: vec![23],
            stack: None,
            signature_policy: SignaturePolicy::default(),
            pinned_ak_name: None,
            require_safe_clock: true,
            wall_clock_allowance_ms: Some(5_000),
            require_class: None,
            min_cards: 1,
            accept_cpu_class: true,
            accept_unmeasured_bounds: true,
            require_hardware_tpm: false,
            ak_tpm_kind: None,
            gpu_models: Vec::new(),
            gpu_uuids: Vec::new(),
            gpu_attestation: GpuAttestationPolicy::default(),
        }
    }

    /// [`Policy::new`] with the production settings: no CPU class, measured bounds only, the pinned AK of a
    /// hardware TPM (set [`Policy::pinned_ak_name`] and [`Policy::ak_tpm_kind`] from the node record).
    pub fn production(classes: Vec<ClassSpec>) -> Self {
        Policy {
            accept_cpu_class: false,
            accept_unmeasured_bounds: false,
            require_hardware_tpm: true,
            ..Policy::new(classes)
        }
    }

    /// The PCRs (SHA-256 bank) a challenge asks both quotes to select: [`Policy::pcrs`] and the stack judge's,
    /// sorted, each once.
    pub fn quoted_pcrs(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self
            .pcrs
            .iter()
            .copied()
            .chain(self.stack.iter().flat_map(|j| j.pcrs()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Why this policy refuses a claim of `class` (the class of the table, or its claim for several cards), if it
    /// does: the required class, the card count, the bound's basis. (The TPM kind is judged with the transcript.)
    pub fn refuses_claim(&self, class: &ClassSpec) -> Option<String> {
        let mut why = Vec::new();
        if let Some(rc) = &self.require_class {
            if *rc != class.name {
                why.push(format!("the policy requires class {rc}"));
            }
        }
        if class.card_count < self.min_cards {
            why.push(format!(
                "{} card(s), the policy requires at least {}",
                class.card_count, self.min_cards
            ));
        }
        match class.basis {
            BoundBasis::Cpu if !self.accept_cpu_class => {
                why.push("the cpu class is not accepted".into())
            }
            BoundBasis::DerivedFromPeak | BoundBasis::Custom if !self.accept_unmeasured_bounds => {
                why.push(format!(
                    "the bound of {} is not measured on a card of the class",
                    class.name
                ))
            }
            _ => {}
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new(crate::class::builtin_classes())
    }
}

/// One check of the verdict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Check name (`q1`, `clock-bound`, `rows`, …; see `docs/capacity.md`).
    pub name: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// The structured verdict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// True only if every check passed.
    pub accepted: bool,
    /// The claimed class.
    pub class: String,
    /// The number of cards claimed (the claim is "`cards` cards of `class`").
    pub cards: u32,
    /// The cards the node named (device name and UUID, signed by Q2 with the result; reported by a software
    /// stack the `stack` check judged, where the policy judges one).
    pub card_identities: Vec<CardIdentity>,
    /// The checks of the software stack Q2 quoted (empty when the policy judges none, or Q2 did not verify).
    pub stack: Vec<StackCheck>,
    /// The cards whose own attestation reports verified (the `gpu-attestation` check).
    pub attested_gpus: Vec<AttestedCard>,
    /// The class's TPM-clock bound (ms).
    pub bound_ms: u64,
    /// `t2 − t1` from the verified quotes, when both verified.
    pub tpm_elapsed_ms: Option<u64>,
    /// The verifier's own elapsed time from challenge to commitment, when measured.
    pub observed_ms: Option<u64>,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Names of the failed checks.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect()
    }

    /// JSON rendering.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// Issues challenges under a policy.
#[derive(Clone, Debug)]
pub struct Verifier {
    policy: Policy,
}

impl Verifier {
    /// A verifier with `policy`.
    pub fn new(policy: Policy) -> Self {
        Verifier { policy }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Step 1: a fresh challenge for a node that claims one card of `class`.
    pub fn challenge<R: RngCore + CryptoRng>(
        &self,
        class: &str,
        rng: &mut R,
    ) -> Result<AwaitingCommitment, CapacityError> {
        self.challenge_cards(class, 1, rng)
    }

    /// Step 1 for a node that claims `cards` cards of `class`: the class's workload `cards` times over, under the
    /// class's bound, with the samples that also catch one card missing ([`ClassSpec::for_cards`]; refused where
    /// the margin cannot tell `cards` from `cards − 1`).
    pub fn challenge_cards<R: RngCore + CryptoRng>(
        &self,
        class: &str,
        cards: u32,
        rng: &mut R,
    ) -> Result<AwaitingCommitment, CapacityError> {
        let base = find(&self.policy.classes, class)?;
        base.validate()?;
        let spec = base.for_cards(cards)?;
        if let Some(why) = self.policy.refuses_claim(&spec) {
            return Err(CapacityError::Class {
                name: spec.name.clone(),
                why,
            });
        }
        let mut seed = [0u8; 32];
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut seed);
        rng.fill_bytes(&mut nonce);
        let challenge = Challenge {
            seed,
            nonce,
            class: spec.name.clone(),
            cards: spec.card_count,
            workload: spec.workload,
            samples: spec.samples,
            pcrs: self.policy.quoted_pcrs(),
        };
        challenge.validate()?;
        Ok(AwaitingCommitment {
            policy: self.policy.clone(),
            class: spec,
            challenge,
            issued: Instant::now(),
        })
    }
}

/// A challenge sent, waiting for the node's commitment.
#[derive(Debug)]
pub struct AwaitingCommitment {
    policy: Policy,
    class: ClassSpec,
    challenge: Challenge,
    issued: Instant,
}

impl AwaitingCommitment {
    /// The challenge to send.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// Step 3: record the commitment (and the verifier's elapsed time), then choose the rows to open with fresh
    /// randomness: `samples` distinct rows, uniform over all `m·iterations` rows, sorted.
    pub fn receive<R: RngCore + CryptoRng>(
        self,
        commit: CommitMessage,
        rng: &mut R,
    ) -> Result<AwaitingOpenings, CapacityError> {
        let observed_ms = self.issued.elapsed().as_millis().min(u64::MAX as u128) as u64;
        let request = sample_request(&self.challenge, &commit, rng)?;
        Ok(AwaitingOpenings {
            policy: self.policy,
            class: self.class,
            challenge: self.challenge,
            commit,
            request,
            observed_ms: Some(observed_ms),
        })
    }
}

/// Step 3 on its own (for a verifier that keeps its state in files): `challenge.samples` distinct rows chosen
/// uniformly with `rng` among the `m·iterations` rows, sorted, bound to `commit`. Call it only after `commit` was
/// received: the node must not be able to predict the rows before its commitment is fixed.
pub fn sample_request<R: RngCore + CryptoRng>(
    challenge: &Challenge,
    commit: &CommitMessage,
    rng: &mut R,
) -> Result<SampleRequest, CapacityError> {
    let total = challenge.workload.total_rows();
    let total_usize = usize::try_from(total)
        .map_err(|_| CapacityError::Workload(format!("{total} rows do not fit this platform")))?;
    let s = challenge.samples as usize;
    if s == 0 || s > total_usize {
        return Err(CapacityError::Workload(format!(
            "cannot sample {s} of {total} rows"
        )));
    }
    let mut rows: Vec<u64> = rand::seq::index::sample(rng, total_usize, s)
        .into_iter()
        .map(|r| r as u64)
        .collect();
    rows.sort_unstable();
    Ok(SampleRequest {
        commit_digest: commit.digest(),
        rows,
    })
}

/// Rows requested, waiting for the openings.
#[derive(Debug)]
pub struct AwaitingOpenings {
    policy: Policy,
    class: ClassSpec,
    challenge: Challenge,
    commit: CommitMessage,
    request: SampleRequest,
    observed_ms: Option<u64>,
}

impl AwaitingOpenings {
    /// The sample request to send.
    pub fn request(&self) -> &SampleRequest {
        &self.request
    }

    /// Step 4: judge everything.
    pub fn finish(self, openings: &OpeningsMessage) -> Verdict {
        judge(
            &self.policy,
            &self.class,
            &self.challenge,
            &self.commit,
            &self.request,
            openings,
            self.observed_ms,
        )
    }
}

struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, name: &'static str, passed: bool, detail: impl Into<String>) -> bool {
        self.0.push(Check {
            name,
            passed,
            detail: detail.into(),
        });
        passed
    }
}

fn verify_one(
    policy: &Policy,
    ak: Option<&PublicArea>,
    q: &QuoteEvidence,
    qualifying_data: &[u8; 32],
) -> Result<VerifiedQuote, String> {
    let ak = ak.ok_or("no usable AK")?;
    let required: Vec<(TpmHash, u8)> = policy
        .quoted_pcrs()
        .into_iter()
        .map(|i| (TpmHash::Sha256, i))
        .collect();
    let expect = QuoteExpectations {
        qualifying_data,
        required_pcrs: &required,
        qualified_signer: None,
        signature_policy: policy.signature_policy.clone(),
    };
    verify_quote(ak, &q.attest, &q.signature, &q.pcrs, &expect).map_err(|e| e.to_string())
}

/// [`judge`] with the class looked up in the policy's table by the challenge's class name, for the challenge's
/// card count (for a verifier that reads the four messages from files).
pub fn judge_transcript(
    policy: &Policy,
    challenge: &Challenge,
    commit: &CommitMessage,
    request: &SampleRequest,
    openings: &OpeningsMessage,
    observed_ms: Option<u64>,
) -> Result<Verdict, CapacityError> {
    let class = find(&policy.classes, &challenge.class)?.for_cards(challenge.cards)?;
    Ok(judge(
        policy,
        &class,
        challenge,
        commit,
        request,
        openings,
        observed_ms,
    ))
}

/// Judge a complete transcript against `class` (a class of the table, or its claim for several cards from
/// [`ClassSpec::for_cards`]) under `policy`. `observed_ms` is the verifier's own elapsed time from challenge to
/// commitment (checked only when the policy sets an allowance).
pub fn judge(
    policy: &Policy,
    class: &ClassSpec,
    challenge: &Challenge,
    commit: &CommitMessage,
    request: &SampleRequest,
    openings: &OpeningsMessage,
    observed_ms: Option<u64>,
) -> Verdict {
    let mut c = Checks(Vec::new());
    if let Err(e) = challenge.validate() {
        c.push("challenge", false, format!("invalid challenge: {e}"));
        return finish(
            c,
            class,
            &commit.cards,
            (Vec::new(), Vec::new()),
            None,
            observed_ms,
            None,
        );
    }
    let w = challenge.workload;
    let cd = challenge.digest();

    // The challenge answered is this one, for this class.
    let same_challenge = bool::from(commit.challenge_digest.ct_eq(&cd))
        && challenge.class == class.name
        && challenge.cards == class.card_count
        && challenge.workload == class.workload
        && challenge.samples == class.samples
        && challenge.pcrs == policy.quoted_pcrs();
    c.push(
        "challenge",
        same_challenge,
        if same_challenge {
            format!(
                "the commitment answers this challenge ({} card(s) of {})",
                challenge.cards, challenge.class
            )
        } else {
            "the commitment names another challenge (replay?) or the challenge does not fit the class and the \
             policy's PCR selection"
                .to_string()
        },
    );

    // The claim and the TPM are ones the policy accepts.
    let tpm_refused = if !policy.require_hardware_tpm {
        None
    } else if policy.pinned_ak_name.is_none() {
        Some("a hardware TPM is required and no enrolled AK is pinned".to_string())
    } else {
        match policy.ak_tpm_kind {
            Some(TpmKind::Hardware) => None,
            Some(TpmKind::Software) => {
                Some("a hardware TPM is required; the AK was enrolled on a software TPM".into())
            }
            None => Some(
                "a hardware TPM is required and the kind of the AK's TPM is not known (no node record)"
                    .into(),
            ),
        }
    };
    let refused: Vec<String> = policy
        .refuses_claim(class)
        .into_iter()
        .chain(tpm_refused)
        .collect();
    c.push(
        "policy",
        refused.is_empty(),
        if refused.is_empty() {
            format!(
                "{} × {} ({}) accepted{}",
                class.card_count,
                class.name,
                match &class.basis {
                    BoundBasis::Measured { .. } => "measured bound",
                    BoundBasis::DerivedFromPeak => "derived bound",
                    BoundBasis::Cpu => "cpu class",
                    BoundBasis::Custom => "custom class",
                },
                if policy.require_hardware_tpm {
                    ", hardware TPM"
                } else {
                    ""
                }
            )
        } else {
            refused.join("; ")
        },
    );

    // The AK: an attestation key, the pinned one when the policy pins it.
    let ak = match PublicArea::from_tpmt(&commit.ak_public) {
        Ok(ak) => {
            let attrs = cuproof_attest::enroll::check_ak_attributes(&ak);
            let pinned = match &policy.pinned_ak_name {
                Some(n) => bool::from(ak.name().ct_eq(n)),
                None => true,
            };
            match (attrs, pinned) {
                (Ok(()), true) => {
                    let how = if policy.pinned_ak_name.is_some() {
                        "pinned AK"
                    } else {
                        "AK attributes ok (not pinned)"
                    };
                    c.push("ak", true, how);
                    Some(ak)
                }
                (Err(e), _) => {
                    c.push("ak", false, format!("not an attestation key: {e}"));
                    None
                }
                (_, false) => {
                    c.push("ak", false, "AK is not the node's enrolled AK");
                    None
                }
            }
        }
        Err(e) => {
            c.push("ak", false, format!("AK public area: {e}"));
            None
        }
    };

    // Q1 binds the challenge; Q2 binds the result and Q1.
    let q1 = verify_one(policy, ak.as_ref(), &commit.q1, &q1_qualifying_data(&cd));
    c.push(
        "q1",
        q1.is_ok(),
        match &q1 {
            Ok(v) => format!("verified; clock {} ms", v.attest.clock_info.clock),
            Err(e) => e.clone(),
        },
    );
    let rd = result_digest(&w, &commit.commitments, &commit.cards);
    let q2 = verify_one(
        policy,
        ak.as_ref(),
        &commit.q2,
        &q2_qualifying_data(&cd, &rd, &commit.q1.digest()),
    );
    c.push(
        "q2",
        q2.is_ok(),
        match &q2 {
            Ok(v) => format!(
                "verified by the same AK; clock {} ms",
                v.attest.clock_info.clock
            ),
            Err(e) => e.clone(),
        },
    );

    let mut tpm_elapsed = None;
    match (&q1, &q2) {
        (Ok(a), Ok(b)) => {
            let (x, y) = (&a.attest, &b.attest);
            let same = bool::from(x.qualified_signer.ct_eq(&y.qualified_signer))
                && x.firmware_version == y.firmware_version;
            c.push(
                "same-signer",
                same,
                if same {
                    "same qualified signer and firmware"
                } else {
                    "signer or firmware differs"
                },
            );
            let (ci, cj) = (x.clock_info, y.clock_info);
            let epoch = ci.reset_count == cj.reset_count && ci.restart_count == cj.restart_count;
            let safe = !policy.require_safe_clock || (ci.safe && cj.safe);
            c.push(
                "clock-epoch",
                epoch && safe,
                format!(
                    "reset {}/{}, restart {}/{}, safe {}/{}",
                    ci.reset_count,
                    cj.reset_count,
                    ci.restart_count,
                    cj.restart_count,
                    ci.safe,
                    cj.safe
                ),
            );
            let ordered = cj.clock > ci.clock;
            c.push(
                "clock-order",
                ordered,
                format!("t1 = {} ms, t2 = {} ms", ci.clock, cj.clock),
            );
            if ordered {
                let dt = cj.clock - ci.clock;
                tpm_elapsed = Some(dt);
                c.push(
                    "clock-bound",
                    dt <= class.bound_ms,
                    format!("t2 - t1 = {dt} ms, bound {} ms", class.bound_ms),
                );
            } else {
                c.push("clock-bound", false, "no positive elapsed time");
            }
        }
        _ => {
            for name in ["same-signer", "clock-epoch", "clock-order", "clock-bound"] {
                c.push(name, false, "needs both quotes verified");
            }
        }
    }

    if let Some(allow) = policy.wall_clock_allowance_ms {
        match observed_ms {
            Some(o) => {
                let limit = class.bound_ms.saturating_add(allow);
                c.push(
                    "wall-clock",
                    o <= limit,
                    format!("observed {o} ms, limit {limit} ms"),
                );
            }
            None => {
                c.push(
                    "wall-clock",
                    false,
                    "the policy requires an observed time and none was measured",
                );
            }
        }
    }

    // The software stack Q2 quoted, judged from the logs the node sent.
    let stack = match (&q2, &policy.stack) {
        (Err(_), _) => {
            c.push(
                "stack",
                false,
                "not judged: Q2 did not verify, so its PCR values are not evidence",
            );
            Vec::new()
        }
        (Ok(_), None) => {
            c.push(
                "stack",
                true,
                format!(
                    "the policy judges no software stack (quotes select SHA-256 PCRs {:?}{})",
                    policy.quoted_pcrs(),
                    if commit.logs.boot.is_empty() && commit.logs.ima.is_empty() {
                        ""
                    } else {
                        "; the logs sent are not judged"
                    }
                ),
            );
            Vec::new()
        }
        (Ok(q), Some(judge)) => {
            let quoted: BTreeMap<u8, Vec<u8>> = q
                .pcrs
                .iter()
                .filter(|p| p.bank == TpmHash::Sha256.alg_id())
                .map(|p| (p.index, p.value.clone()))
                .collect();
            let checks = judge.judge(&quoted, &commit.logs);
            let failed: Vec<String> = checks
                .iter()
                .filter(|x| {
                    !matches!(
                        x.outcome,
                        crate::stack::StackOutcome::Pass
                            | crate::stack::StackOutcome::SkippedByPolicy
                    )
                })
                .map(|x| format!("{}: {}", x.name, x.detail))
                .collect();
            let judged = checks
                .iter()
                .filter(|x| x.outcome == crate::stack::StackOutcome::Pass)
                .count();
            let accepted = crate::stack::accepted(&checks);
            c.push(
                "stack",
                accepted,
                if accepted {
                    format!(
                        "the stack Q2 quoted passes the policy ({judged} of {} stack checks ran and passed, \
                         the rest not asked for)",
                        checks.len()
                    )
                } else {
                    failed.join("; ")
                },
            );
            checks
        }
    };

    // The commitments have the shape of the workload.
    let params = w.commit_params();
    let shape_ok = match &params {
        Ok(p) => {
            commit.commitments.len() as u64 == w.iterations as u64
                && commit
                    .commitments
                    .iter()
                    .all(|x| x.params == *p && x.len == w.iteration_bytes())
        }
        Err(_) => false,
    };
    c.push(
        "commitments",
        shape_ok,
        format!(
            "{} commitment(s) for {} iteration(s) of {} bytes, one row per chunk",
            commit.commitments.len(),
            w.iterations,
            w.iteration_bytes()
        ),
    );

    // The cards named: as many distinct GPUs as a GPU claim names cards, none twice.
    let (cards_ok, cards_detail) = cards_check(policy, class, &commit.cards);
    c.push("cards", cards_ok, cards_detail);

    // The cards' own attestation reports, over nonces only this challenge gives.
    let (gpu_ok, gpu_detail, attested) =
        gpu_attestation_check(&policy.gpu_attestation, &cd, &commit.cards);
    c.push("gpu-attestation", gpu_ok, gpu_detail);

    // The openings answer this request, which was made after this commitment.
    let req_ok = bool::from(request.commit_digest.ct_eq(&commit.digest()))
        && bool::from(openings.request_digest.ct_eq(&request.digest()))
        && request.rows.len() == challenge.samples as usize
        && request.check_rows(w.total_rows()).is_ok()
        && openings.openings.len() == request.rows.len();
    c.push(
        "sample-request",
        req_ok,
        format!(
            "{} row(s) requested, {} opening(s)",
            request.rows.len(),
            openings.openings.len()
        ),
    );

    // Each opening is chunk i of commitment t and verifies; each row equals the recomputation.
    let mut open_fail = Vec::new();
    let mut opened: Vec<(u64, &[u8])> = Vec::new();
    if req_ok && shape_ok {
        for (row, o) in request.rows.iter().zip(&openings.openings) {
            let t = (row / w.m as u64) as usize;
            let i = row % w.m as u64;
            if o.index != i {
                open_fail.push(format!(
                    "row {row}: opening of chunk {} instead of {i}",
                    o.index
                ));
                continue;
            }
            match commit.commitments.get(t).map(|cm| o.verify(cm)) {
                Some(Ok(())) => opened.push((*row, &o.chunk)),
                Some(Err(e)) => open_fail.push(format!("row {row}: {e}")),
                None => open_fail.push(format!("row {row}: no commitment {t}")),
            }
        }
        c.push(
            "openings",
            open_fail.is_empty(),
            if open_fail.is_empty() {
                format!("{} opening(s) verify", opened.len())
            } else {
                open_fail.join("; ")
            },
        );
    } else {
        c.push(
            "openings",
            false,
            "not checked: the request or the commitments are wrong",
        );
    }

    let rows = if req_ok && shape_ok && open_fail.is_empty() {
        let ws = work_seed(&cd, &commit.q1.attest, &commit.q1.signature);
        rows_check(&ws, &w, &request.digest(), &opened)
    } else {
        (false, "not recomputed: openings failed".to_string())
    };
    finish(
        c,
        class,
        &commit.cards,
        (stack, attested),
        tpm_elapsed,
        observed_ms,
        Some(("rows", rows.0, rows.1)),
    )
}

/// The `rows` check: all opened rows at once by one random combination (one pass over Bᵀ, [`row_check`]); each
/// row recomputed only where the combination does not apply or fails, to say which rows are wrong.
fn rows_check(
    ws: &[u8; 32],
    w: &Workload,
    request_digest: &[u8; 32],
    opened: &[(u64, &[u8])],
) -> (bool, String) {
    let bt = b_transposed(ws, w);
    match row_check::opened_rows_hold(ws, w, &bt, request_digest, opened) {
        Ok(Some(true)) => {
            return (
                true,
                format!(
                    "{} row(s) equal the product from the seed: one random combination over F_p (false accept ≤ 2^-60)",
                    opened.len()
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return (false, e.to_string()),
    }
    let rows: Vec<u64> = opened.iter().map(|(row, _)| *row).collect();
    let wants = match expected_rows(ws, w, &bt, &rows) {
        Ok(v) => v,
        Err(e) => return (false, e.to_string()),
    };
    let wrong: Vec<u64> = opened
        .iter()
        .zip(&wants)
        .filter(|((_, chunk), want)| !bool::from(want.as_slice().ct_eq(chunk)))
        .map(|((row, _), _)| *row)
        .collect();
    if wrong.is_empty() {
        (
            true,
            format!("{} row(s) recomputed from the seed and equal", opened.len()),
        )
    } else {
        (
            false,
            format!(
                "{} of {} row(s) wrong: {:?}",
                wrong.len(),
                opened.len(),
                wrong
            ),
        )
    }
}

/// The `cards` check: the cards a node names for a claim of `class` (`CommitMessage::cards`). No nonzero UUID may
/// be named twice; a GPU class (one with a published peak or a measured bound) must name at least as many distinct
/// nonzero UUIDs as it claims cards; every GPU named must be in the policy's non-empty `gpu_models` / `gpu_uuids`.
/// The names are the node's own (signed by Q2, not verified); what the check catches is a node that does not even
/// claim the cards it is paid for, or claims cards the policy does not allow.
pub fn cards_check(policy: &Policy, class: &ClassSpec, cards: &[CardIdentity]) -> (bool, String) {
    let gpus: Vec<&CardIdentity> = cards.iter().filter(|c| c.uuid != [0; 16]).collect();
    let unlisted: Vec<String> = gpus
        .iter()
        .filter(|c| {
            !((policy.gpu_models.is_empty() || policy.gpu_models.contains(&c.name))
                && (policy.gpu_uuids.is_empty() || policy.gpu_uuids.contains(&c.uuid)))
        })
        .map(|c| format!("{} ({})", c.name, hex_prefix(&c.uuid)))
        .collect();
    if !unlisted.is_empty() {
        return (
            false,
            format!("GPU(s) the policy does not allow: {}", unlisted.join(", ")),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    let twice: Vec<String> = gpus
        .iter()
        .filter(|c| !seen.insert(c.uuid))
        .map(|c| hex_prefix(&c.uuid))
        .collect();
    let gpu_class = class.peak_tops.is_some() || matches!(class.basis, BoundBasis::Measured { .. });
    let listed = cards
        .iter()
        .map(|c| {
            if c.uuid == [0; 16] {
                c.name.clone()
            } else {
                format!("{} ({})", c.name, hex_prefix(&c.uuid))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    if !twice.is_empty() {
        return (false, format!("UUID named twice: {}", twice.join(", ")));
    }
    if gpu_class && (seen.len() as u64) < u64::from(class.card_count) {
        return (
            false,
            format!(
                "claims {} card(s) of {} and names {} GPU(s){}",
                class.card_count,
                class.name,
                seen.len(),
                if listed.is_empty() {
                    String::new()
                } else {
                    format!(": {listed}")
                }
            ),
        );
    }
    (
        true,
        if cards.is_empty() {
            "no cards named (a result computed outside a node's runtimes)".to_string()
        } else {
            format!("{} card(s) named: {listed}", cards.len())
        },
    )
}

/// The first 4 bytes of a UUID in hex, then an ellipsis.
fn hex_prefix(uuid: &[u8; 16]) -> String {
    let h: String = uuid[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{h}…")
}

fn finish(
    mut c: Checks,
    class: &ClassSpec,
    named: &[CardIdentity],
    (stack, attested_gpus): (Vec<StackCheck>, Vec<AttestedCard>),
    tpm_elapsed_ms: Option<u64>,
    observed_ms: Option<u64>,
    last: Option<(&'static str, bool, String)>,
) -> Verdict {
    if let Some((n, p, d)) = last {
        c.push(n, p, d);
    }
    Verdict {
        accepted: c.0.iter().all(|x| x.passed),
        class: class.name.clone(),
        cards: class.card_count,
        card_identities: named.to_vec(),
        stack,
        attested_gpus,
        bound_ms: class.bound_ms,
        tpm_elapsed_ms,
        observed_ms,
        checks: c.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str, b: u8) -> CardIdentity {
        CardIdentity {
            name: name.into(),
            uuid: [b; 16],
            evidence: None,
        }
    }

    /// A judge that needs its first field's PCRs quoted and returns its second field's checks.
    #[derive(Debug)]
    struct FixedJudge(Vec<u8>, Vec<StackCheck>);

    impl StackJudge for FixedJudge {
        fn pcrs(&self) -> Vec<u8> {
            self.0.clone()
        }
        fn judge(
            &self,
            _: &BTreeMap<u8, Vec<u8>>,
            _: &crate::wire::MeasurementLogs,
        ) -> Vec<StackCheck> {
            self.1.clone()
        }
    }

    #[test]
    fn the_challenge_names_the_job_pcr_and_the_judges_pcrs() {
        use crate::stack::{accepted, StackOutcome};
        let mut p = Policy::default();
        assert_eq!(p.quoted_pcrs(), vec![23]);
        p.stack = Some(Arc::new(FixedJudge(vec![10, 0, 23, 7], Vec::new())));
        assert_eq!(p.quoted_pcrs(), vec![0, 7, 10, 23]);
        let mut rng = rand::rngs::OsRng;
        let s = Verifier::new(p.clone()).challenge("cpu", &mut rng).unwrap();
        assert_eq!(s.challenge().pcrs, vec![0, 7, 10, 23]);
        // a selection no quote can have is refused when the challenge is made
        p.pcrs = vec![24];
        assert!(Verifier::new(p).challenge("cpu", &mut rng).is_err());
        // skipped checks pass, failed and unreached ones do not
        let check = |outcome| StackCheck {
            name: "x".into(),
            outcome,
            detail: String::new(),
        };
        assert!(accepted(&[]));
        assert!(accepted(&[
            check(StackOutcome::Pass),
            check(StackOutcome::SkippedByPolicy)
        ]));
        assert!(!accepted(&[
            check(StackOutcome::Pass),
            check(StackOutcome::Fail)
        ]));
        assert!(!accepted(&[check(StackOutcome::NotReached)]));
    }

    #[test]
    fn a_gpu_claim_names_as_many_distinct_gpus_as_cards() {
        let t = crate::class::builtin_classes();
        let dev = Policy::new(t.clone());
        let h = crate::class::find(&t, "h100-sxm").unwrap();
        let h8 = h.for_cards(8).unwrap();
        let eight: Vec<_> = (1..=8).map(|i| card("NVIDIA H100 80GB HBM3", i)).collect();
        let (ok, detail) = cards_check(&dev, &h8, &eight);
        assert!(ok, "{detail}");
        assert!(
            detail.starts_with("8 card(s) named: NVIDIA H100 80GB HBM3 (01010101…)"),
            "{detail}"
        );
        // seven named for eight
        let (ok, detail) = cards_check(&dev, &h8, &eight[..7]);
        assert!(
            !ok && detail.contains("claims 8 card(s) of h100-sxm and names 7 GPU(s)"),
            "{detail}"
        );
        // one card named twice
        let mut dup = eight.clone();
        dup[7].uuid = dup[0].uuid;
        let (ok, detail) = cards_check(&dev, &h8, &dup);
        assert!(
            !ok && detail.contains("UUID named twice: 01010101…"),
            "{detail}"
        );
        // CPU runtimes (zero UUIDs) do not count as GPUs
        let cpus = vec![card("cpu: x", 0); 8];
        assert!(!cards_check(&dev, &h8, &cpus).0);
        assert!(!cards_check(&dev, h, &[]).0);
        // the cpu class and custom classes need no GPU, and may name none
        let cpu = crate::class::find(&t, "cpu").unwrap().for_cards(2).unwrap();
        assert!(cards_check(&dev, &cpu, &cpus[..2]).0);
        let (ok, detail) = cards_check(&dev, &cpu, &[]);
        assert!(ok && detail.starts_with("no cards named"), "{detail}");
        // but never one UUID twice
        assert!(!cards_check(&dev, &cpu, &[card("a", 5), card("b", 5)]).0);
        // a measured class is a GPU class
        let m = h.clone().with_measurement(800, 800, "x", &t).unwrap();
        assert!(!cards_check(&dev, &m, &[]).0);
        assert!(cards_check(&dev, &m, &eight[..1]).0);
        // the policy's GPU lists: every GPU named must be allowed (CPU runtimes are not GPUs)
        let mut models = dev.clone();
        models.gpu_models = vec!["NVIDIA H100 80GB HBM3".into()];
        assert!(cards_check(&models, &h8, &eight).0);
        let mut other = eight.clone();
        other[3].name = "NVIDIA A100-SXM4-80GB".into();
        let (ok, detail) = cards_check(&models, &h8, &other);
        assert!(
            !ok && detail.contains("does not allow: NVIDIA A100-SXM4-80GB (04040404…)"),
            "{detail}"
        );
        assert!(cards_check(&models, &cpu, &cpus[..2]).0);
        let mut uuids = dev.clone();
        uuids.gpu_uuids = eight.iter().map(|c| c.uuid).collect();
        assert!(cards_check(&uuids, &h8, &eight).0);
        uuids.gpu_uuids.pop();
        assert!(!cards_check(&uuids, &h8, &eight).0);
    }
}
