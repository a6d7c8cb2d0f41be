//! A capacity claim held to a policy file's measured stack (`docs/capacity.md`, *The node's software stack*): a
//! node on the CPU backend with a private software TPM (its simulated firmware and IMA list played into the PCRs)
//! answers challenges whose quotes select the boot and IMA PCRs; the verifier judges the logs it sends with the
//! receipt's functions. An honest node is accepted; a node that edits, withholds or truncates a log, or quotes
//! fewer PCRs than asked, is rejected by the check meant to catch it.
//!
//! Needs `swtpm` and `swtpm-tools` (the node session starts a private swtpm when no TPM is configured).

use cuproof::node::NodeSession;
use cuproof::runtime::Runtime;
use cuproof_capacity::class::ClassSpec;
use cuproof_capacity::node::{respond, Node};
use cuproof_capacity::stack::StackOutcome;
use cuproof_capacity::tpm::TpmQuoter;
use cuproof_capacity::verifier::{Verdict, Verifier};
use cuproof_capacity::{CapacityError, MeasurementLogs, QuoteEvidence, Quoter, Workload};
use cuproof_verify::capacity::capacity_policy;
use cuproof_verify::Policy;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const SMALL: Workload = Workload {
    m: 32,
    n: 32,
    k: 64,
    iterations: 2,
};

fn session() -> NodeSession {
    NodeSession::open(None).unwrap_or_else(|e| {
        panic!("the capacity stack tests need a TPM or swtpm + swtpm-tools (apt-get install swtpm swtpm-tools): {e}")
    })
}

/// The development policy with the reference `[boot]` and `[ima]` tables of `s`'s own logs.
fn stack_policy(s: &NodeSession) -> Policy {
    let dev = include_str!("../policies/development.toml");
    let boot = cuproof_verify::boot::reference_policy(&s.boot_log).unwrap();
    let ima = cuproof_verify::ima::reference_policy(&s.ima_log).unwrap();
    Policy::from_toml_str(&format!("{dev}\n{boot}\n{ima}"), std::path::Path::new(".")).unwrap()
}

fn verifier(policy: &Policy) -> Verifier {
    let mut p = capacity_policy(policy, None).unwrap();
    p.classes
        .push(ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap());
    Verifier::new(p)
}

/// A node that runs the protocol honestly with `quoter` and a fresh CPU runtime; the verdict.
fn run(v: &Verifier, quoter: &mut dyn Quoter, tag: u8) -> Verdict {
    let mut rng = ChaCha20Rng::from_seed([tag; 32]);
    let s = v.challenge("cpu-small", &mut rng).unwrap();
    let challenge = s.challenge().clone();
    let (cm, ns) = respond(&mut Node::new(Runtime::cpu()), &challenge, quoter).unwrap();
    let s = s.receive(cm, &mut rng).unwrap();
    let openings = ns.open(s.request()).unwrap();
    s.finish(&openings)
}

fn outcome(v: &Verdict, name: &str) -> StackOutcome {
    v.stack
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no stack check {name}:\n{}", v.to_json()))
        .outcome
}

fn assert_only_failed(v: &Verdict, want: &[&str]) {
    assert!(!v.accepted, "cheat accepted:\n{}", v.to_json());
    let mut failed = v.failed();
    failed.sort_unstable();
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(failed, want, "verdict:\n{}", v.to_json());
}

/// A quoter that changes what it quotes or the logs it sends.
struct Cheat<'a> {
    inner: TpmQuoter<'a>,
    pcrs: Option<Vec<u8>>,
    edit: fn(&mut MeasurementLogs),
}

impl Quoter for Cheat<'_> {
    fn ak_public(&self) -> Result<Vec<u8>, CapacityError> {
        self.inner.ak_public()
    }
    fn quote(&mut self, pcrs: &[u8], qd: &[u8; 32]) -> Result<QuoteEvidence, CapacityError> {
        let pcrs = self.pcrs.clone().unwrap_or_else(|| pcrs.to_vec());
        self.inner.quote(&pcrs, qd)
    }
    fn measurement_logs(&mut self, q: &QuoteEvidence) -> Result<MeasurementLogs, CapacityError> {
        let mut logs = self.inner.measurement_logs(q)?;
        (self.edit)(&mut logs);
        Ok(logs)
    }
}

#[test]
fn the_stack_q2_quoted_is_judged_by_the_policy() {
    let mut s = session();
    let policy = stack_policy(&s);
    let v = verifier(&policy);
    assert_eq!(
        v.policy().quoted_pcrs(),
        vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 23]
    );

    // Honest: both logs replay to Q2 and pass the reference tables.
    let verdict = run(&v, &mut TpmQuoter::for_session(&mut s), 1);
    assert!(verdict.accepted, "{}", verdict.to_json());
    for name in ["boot.log", "boot.applications", "ima.log", "ima.files"] {
        assert_eq!(outcome(&verdict, name), StackOutcome::Pass, "{name}");
    }

    // An IMA list read after more was measured: the node sends only the prefix Q2 covers, and is accepted.
    let mut longer = s.ima_log.clone();
    let mut b = cuproof_attest::ima::build::ImaLogBuilder::new();
    b.file("ima-ng", "/usr/bin/after-q2", &[5u8; 32], None);
    longer.extend_from_slice(&b.finish());
    let logs = MeasurementLogs {
        boot: s.boot_log.clone(),
        ima: longer,
    };
    let verdict = run(&v, &mut TpmQuoter::with_logs(&mut s.tpm, &s.ak, logs), 2);
    assert!(verdict.accepted, "{}", verdict.to_json());

    // A firmware log that names another boot application (the digest of the first PCR-4 event edited: TCG_PCR_EVENT2
    // is pcr ‖ type ‖ count ‖ (alg ‖ digest)…) no longer replays to the quoted boot PCRs.
    let mut cheat = Cheat {
        inner: TpmQuoter::for_session(&mut s),
        pcrs: None,
        edit: |l| {
            let log = cuproof_attest::bootlog::BootLog::parse(&l.boot).unwrap();
            let app = log.events.iter().find(|e| e.pcr == 4).unwrap();
            assert_eq!(app.digests[0].0, cuproof_attest::bootlog::ALG_SHA256);
            l.boot[app.offset + 14] ^= 1;
        },
    };
    let verdict = run(&v, &mut cheat, 3);
    assert_only_failed(&verdict, &["stack"]);
    assert_ne!(outcome(&verdict, "boot.log"), StackOutcome::Pass);

    // Withheld logs: the policy requires both.
    let mut cheat = Cheat {
        inner: TpmQuoter::for_session(&mut s),
        pcrs: None,
        edit: |l| *l = MeasurementLogs::default(),
    };
    let verdict = run(&v, &mut cheat, 4);
    assert_only_failed(&verdict, &["stack"]);
    assert_eq!(outcome(&verdict, "boot.log"), StackOutcome::Fail);
    assert_eq!(outcome(&verdict, "ima.log"), StackOutcome::Fail);

    // An IMA list without its last entry (a file hidden from the policy) does not replay to the quoted PCR 10.
    let mut cheat = Cheat {
        inner: TpmQuoter::for_session(&mut s),
        pcrs: None,
        edit: |l| {
            let log = cuproof_attest::ima::ImaLog::parse(&l.ima).unwrap();
            let last = log.entries.last().unwrap().offset;
            l.ima.truncate(last);
        },
    };
    let verdict = run(&v, &mut cheat, 5);
    assert_only_failed(&verdict, &["stack"]);
    assert_eq!(outcome(&verdict, "ima.log"), StackOutcome::Fail);
    assert_eq!(outcome(&verdict, "ima.entries"), StackOutcome::NotReached);

    // Quoting the job PCR only (the boot state kept out of the quotes): both quotes fail the selection, and the
    // stack is not evidence.
    let mut cheat = Cheat {
        inner: TpmQuoter::for_session(&mut s),
        pcrs: Some(vec![23]),
        edit: |_| {},
    };
    let verdict = run(&v, &mut cheat, 6);
    assert_only_failed(
        &verdict,
        &[
            "q1",
            "q2",
            "same-signer",
            "clock-epoch",
            "clock-order",
            "clock-bound",
            "stack",
        ],
    );
}
