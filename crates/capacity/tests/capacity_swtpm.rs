//! End to end on the CPU backend with a real software TPM (swtpm via cuproof-tpm's launcher): an honest node is
//! accepted, alone and as two cards side by side; nodes that compute only some rows, miss a card, are slower than
//! their class, replay an old response, swap the AK between the quotes, or precompute before Q1 are rejected — each
//! by the check that is meant to catch it.
//!
//! Needs `swtpm`, `swtpm_setup` and `swtpm_localca` (Debian: `swtpm swtpm-tools`); paths from `CUPROOF_SWTPM`,
//! `CUPROOF_SWTPM_SETUP`, `CUPROOF_SWTPM_LOCALCA`. The tests fail when they are missing.

use cuproof::runtime::Runtime;
use cuproof_capacity::class::{ClassSpec, CPU_WORKLOAD};
use cuproof_capacity::node::{self, begin, commit, IterationOutput, LeafDigests, Node, RowSource};
use cuproof_capacity::tpm::TpmQuoter;
use cuproof_capacity::verifier::{judge, judge_transcript, Policy, Verdict, Verifier};
use cuproof_capacity::wire::{Challenge, CommitMessage, OpeningsMessage, SampleRequest};
use cuproof_capacity::workload::{b_transposed, expected_row};
use cuproof_capacity::Workload;
use cuproof_tpm::swtpm::Swtpm;
use cuproof_tpm::{Ak, AkType, EkType, Tpm};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Fields drop in order: the TPM handles before the swtpm process.
struct Fixture {
    tpm: Tpm,
    ak: Ak,
    ak2: Ak,
    _sw: Swtpm,
}

fn fixture() -> Fixture {
    let sw = Swtpm::start().unwrap_or_else(|e| {
        panic!(
            "the capacity tests need a software TPM: install swtpm and swtpm-tools (apt-get install swtpm swtpm-tools) \
             or point CUPROOF_SWTPM / CUPROOF_SWTPM_SETUP / CUPROOF_SWTPM_LOCALCA at them: {e}"
        )
    });
    let mut tpm = Tpm::open(&sw.tcti()).expect("open swtpm");
    let ek = tpm.endorsement_key(EkType::Rsa2048).expect("EK");
    let blob = tpm.create_ak(&ek, AkType::Rsa2048Sha256).expect("AK");
    let ak = tpm.load_ak(&ek, &blob).expect("load AK");
    let blob2 = tpm.create_ak(&ek, AkType::Rsa2048Sha256).expect("AK 2");
    let ak2 = tpm.load_ak(&ek, &blob2).expect("load AK 2");
    Fixture {
        _sw: sw,
        tpm,
        ak,
        ak2,
    }
}

/// A small workload for the CPU backend (4 iterations of 64×64×256).
const SMALL: Workload = Workload {
    m: 64,
    n: 64,
    k: 256,
    iterations: 4,
};

fn policy(f: &Fixture, extra: Vec<ClassSpec>) -> Policy {
    let mut classes = cuproof_capacity::builtin_classes();
    classes.extend(extra);
    let mut p = Policy::new(classes);
    p.pinned_ak_name = Some(f.ak.name());
    p
}

fn rng(tag: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([tag; 32])
}

/// Every message through its encoding (as the CLI will move them through files).
fn wire<T>(bytes: Vec<u8>, dec: fn(&[u8]) -> Result<T, cuproof_capacity::CapacityError>) -> T {
    dec(&bytes).expect("message decodes")
}

fn assert_only_failed(v: &Verdict, want: &[&str]) {
    assert!(!v.accepted, "cheat accepted:\n{}", v.to_json());
    let mut failed = v.failed();
    failed.sort_unstable();
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(failed, want, "verdict:\n{}", v.to_json());
}

/// `w`'s iterations computed on the host and kept (rows from the CPU twin `expected_row`), `edit` applied to each
/// row (global row index, bytes) before committing.
fn kept_outputs_for(
    w: &Workload,
    work_seed: &[u8; 32],
    edit: impl Fn(u64, &mut [u8]),
) -> Vec<IterationOutput> {
    let params = w.commit_params().unwrap();
    let bt = b_transposed(work_seed, w);
    let m = w.m as u64;
    (0..w.iterations as u64)
        .map(|t| {
            let mut c = Vec::with_capacity(w.iteration_bytes() as usize);
            for i in 0..m {
                let mut row = expected_row(work_seed, w, &bt, t * m + i).unwrap();
                edit(t * m + i, &mut row);
                c.extend_from_slice(&row);
            }
            IterationOutput::kept(c, &params).unwrap()
        })
        .collect()
}

/// SMALL's iterations, kept, with `edit` applied to each row.
fn kept_outputs_with(work_seed: &[u8; 32], edit: impl Fn(u64, &mut [u8])) -> Vec<IterationOutput> {
    kept_outputs_for(&SMALL, work_seed, edit)
}

fn kept_outputs(work_seed: &[u8; 32]) -> Vec<IterationOutput> {
    kept_outputs_with(work_seed, |_, _| {})
}

#[test]
fn honest_cpu_node_is_accepted() {
    let mut f = fixture();
    let verifier = Verifier::new(policy(&f, vec![]));
    let session = verifier.challenge("cpu", &mut rng(1)).unwrap();
    assert_eq!(session.challenge().workload, CPU_WORKLOAD);
    let challenge: Challenge = wire(session.challenge().to_bytes(), Challenge::from_bytes);

    let mut n = Node::new(Runtime::cpu());
    let (cm, ns) =
        node::respond(&mut n, &challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let cm: CommitMessage = wire(cm.to_bytes(), CommitMessage::from_bytes);

    let session = session.receive(cm.clone(), &mut rng(2)).unwrap();
    let request: SampleRequest = wire(session.request().to_bytes(), SampleRequest::from_bytes);
    assert_eq!(request.rows.len(), challenge.samples as usize);
    let openings: OpeningsMessage = wire(
        ns.open(&request).unwrap().to_bytes(),
        OpeningsMessage::from_bytes,
    );

    let v = session.finish(&openings);
    assert!(v.accepted, "honest node rejected:\n{}", v.to_json());
    assert!(v.tpm_elapsed_ms.is_some());
    for name in [
        "challenge",
        "policy",
        "ak",
        "q1",
        "q2",
        "same-signer",
        "clock-epoch",
        "clock-order",
        "clock-bound",
        "wall-clock",
        "commitments",
        "cards",
        "sample-request",
        "openings",
        "rows",
    ] {
        assert!(
            v.check(name).is_some_and(|c| c.passed),
            "check {name} missing or failed"
        );
    }
    // the verifier checked the opened rows by one combination, not row by row
    let rows = v.check("rows").unwrap();
    assert!(
        rows.detail.contains("one random combination"),
        "{}",
        rows.detail
    );

    // The runtime recorded the challenge's fills, GEMMs and commitments in its execution log.
    let gemms = n
        .runtime()
        .log()
        .records()
        .iter()
        .filter(|r| matches!(r, cuproof_core::log::Record::Launch { entry, .. } if entry == cuproof::kernels::gemm::ENTRY))
        .count();
    assert_eq!(gemms, CPU_WORKLOAD.iterations as usize);

    // The same transcript judged offline with an observed time far beyond the bound fails only the wall clock.
    let class = cuproof_capacity::class::find(&verifier.policy().classes, "cpu").unwrap();
    let v = judge(
        verifier.policy(),
        class,
        &challenge,
        &cm,
        &request,
        &openings,
        Some(10_000_000),
    );
    assert_only_failed(&v, &["wall-clock"]);
    // The same transcript from files, judged with the class looked up by name; a commitment of the wrong shape fails.
    // Offline there is no observed time: a policy without the wall-clock check judges by the TPM clock alone.
    let mut offline = verifier.policy().clone();
    offline.wall_clock_allowance_ms = None;
    let v = judge_transcript(&offline, &challenge, &cm, &request, &openings, None).unwrap();
    assert!(v.accepted, "{}", v.to_json());
    assert!(v.check("wall-clock").is_none());
    // A production policy refuses the same transcript by its `policy` check alone: the cpu class, and an AK the
    // registrar enrolled on a software TPM (whose clock is the host's).
    let mut prod = Policy::production(verifier.policy().classes.clone());
    prod.pinned_ak_name = Some(f.ak.name());
    prod.wall_clock_allowance_ms = None;
    prod.ak_tpm_kind = Some(cuproof_attest::TpmKind::Software);
    let v = judge_transcript(&prod, &challenge, &cm, &request, &openings, None).unwrap();
    assert_only_failed(&v, &["policy"]);
    let why = &v.check("policy").unwrap().detail;
    assert!(
        why.contains("cpu class is not accepted") && why.contains("software TPM"),
        "{why}"
    );
    // each refusal on its own
    let judged =
        |p: &Policy| judge_transcript(p, &challenge, &cm, &request, &openings, None).unwrap();
    let mut hw = prod.clone();
    hw.accept_cpu_class = true;
    hw.ak_tpm_kind = Some(cuproof_attest::TpmKind::Hardware);
    let v = judged(&hw);
    assert!(v.accepted, "{}", v.to_json());
    assert!(v.check("policy").unwrap().detail.contains("hardware TPM"));
    for (edit, needle) in [
        (
            (|p: &mut Policy| p.require_class = Some("h100-sxm".into())) as fn(&mut Policy),
            "requires class h100-sxm",
        ),
        (|p: &mut Policy| p.min_cards = 2, "at least 2"),
        (|p: &mut Policy| p.ak_tpm_kind = None, "not known"),
        (
            |p: &mut Policy| p.pinned_ak_name = None,
            "no enrolled AK is pinned",
        ),
    ] {
        let mut p = hw.clone();
        edit(&mut p);
        let v = judged(&p);
        assert!(!v.check("policy").unwrap().passed, "{needle}");
        assert!(
            v.check("policy").unwrap().detail.contains(needle),
            "{}",
            v.to_json()
        );
    }
    // and it will not issue a challenge it would refuse
    assert!(Verifier::new(prod.clone())
        .challenge("cpu", &mut rng(50))
        .is_err());
    let e = Verifier::new(prod.clone())
        .challenge("h100-sxm", &mut rng(51))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not measured"), "{e}");
    let measured = cuproof_capacity::class::find(&prod.classes, "h100-sxm")
        .unwrap()
        .clone()
        .with_measurement(1150, 640, "H100 SXM5 (example)", &prod.classes)
        .unwrap();
    let mut with_measurement = prod.clone();
    with_measurement.classes.retain(|c| c.name != "h100-sxm");
    with_measurement.classes.push(measured);
    Verifier::new(with_measurement)
        .challenge_cards("h100-sxm", 2, &mut rng(52))
        .unwrap();
    let v = judge_transcript(
        verifier.policy(),
        &challenge,
        &cm,
        &request,
        &openings,
        None,
    )
    .unwrap();
    assert_only_failed(&v, &["wall-clock"]);
    let mut short = cm.clone();
    short.commitments.pop();
    let v = judge_transcript(&offline, &challenge, &short, &request, &openings, None).unwrap();
    assert!(!v.check("commitments").unwrap().passed && !v.accepted);
    let mut unknown = challenge.clone();
    unknown.class = "h300".into();
    assert!(judge_transcript(&offline, &unknown, &cm, &request, &openings, None).is_err());
    // A malformed challenge is a failed check, not a panic.
    let mut bad = challenge.clone();
    bad.workload.m = 0;
    let v = judge(&offline, class, &bad, &cm, &request, &openings, None);
    assert_only_failed(&v, &["challenge"]);
    // A node that answers another sample request than the one sent is refused by the node session itself.
    let mut other = request.clone();
    other.commit_digest[0] ^= 1;
    assert!(ns.open(&other).is_err());
}

#[test]
fn node_computing_only_some_rows_is_rejected() {
    let mut f = fixture();
    let class = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![class]));
    let session = verifier.challenge("cpu-small", &mut rng(3)).unwrap();
    let challenge = session.challenge().clone();

    let mut n = Node::new(Runtime::cpu());
    let started = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    // The cheat: only the first quarter of the rows of each iteration is real; the rest is zeros (what a node that
    // skipped 3/4 of the work would commit). The commitment is made over what it has, so openings verify.
    let m = SMALL.m as u64;
    let outputs = kept_outputs_with(&started.work_seed, |row, bytes| {
        if row % m >= m / 4 {
            bytes.fill(0);
        }
    });
    // an honest node's first iteration has the same first quarter of leaves
    let honest = n.compute(&started).unwrap();
    let (_, honest_session) = n
        .commit(
            &started,
            honest.clone(),
            &mut TpmQuoter::new(&mut f.tpm, &f.ak),
        )
        .unwrap();
    drop(honest_session);
    let host = |o: &IterationOutput| match &o.leaves {
        LeafDigests::Host(l) => l.clone(),
        LeafDigests::Backend { .. } => panic!("kept outputs have host leaves"),
    };
    assert!(matches!(honest[0].leaves, LeafDigests::Backend { .. }));
    assert_ne!(honest[0].commitment, outputs[0].commitment);
    // the kept C's first quarter of leaves is the honest one's (rows are 256 bytes: one chunk each)
    let honest_leaves = kept_outputs(&started.work_seed);
    assert_eq!(host(&honest_leaves[0])[..16], host(&outputs[0])[..16]);
    assert_eq!(honest_leaves[0].commitment, honest[0].commitment);
    let (cm, ns) = commit(&started, outputs, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let session = session.receive(cm, &mut rng(4)).unwrap();
    let openings = ns.open(session.request()).unwrap();
    let v = session.finish(&openings);
    assert_only_failed(&v, &["rows"]);
    // the combination failed, and recomputing the rows names the wrong ones
    let rows = v.check("rows").unwrap();
    assert!(rows.detail.contains("row(s) wrong: ["), "{}", rows.detail);
}

#[test]
fn two_cards_side_by_side_are_accepted_and_a_missing_card_is_caught() {
    let mut f = fixture();
    let small = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![small.clone()]));
    let mut offline = verifier.policy().clone();
    offline.wall_clock_allowance_ms = None;

    // Honest: two CPU runtimes, each driven from its own thread, each doing its half of the iterations.
    let session = verifier
        .challenge_cards("cpu-small", 2, &mut rng(40))
        .unwrap();
    let challenge: Challenge = wire(session.challenge().to_bytes(), Challenge::from_bytes);
    assert_eq!(challenge.cards, 2);
    assert_eq!(challenge.workload.iterations, 2 * SMALL.iterations);
    // one card missing would finish 55 % of the rows in time: 24 samples for 2^-20, more than the class's 16
    assert_eq!(challenge.samples, 24);
    let mut n = Node::with_runtimes(vec![Runtime::cpu(), Runtime::cpu()]).unwrap();
    let (cm, ns) =
        node::respond(&mut n, &challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let cm: CommitMessage = wire(cm.to_bytes(), CommitMessage::from_bytes);
    assert_eq!(cm.commitments.len(), 2 * SMALL.iterations as usize);
    let session = session.receive(cm.clone(), &mut rng(41)).unwrap();
    let request = session.request().clone();
    let openings = ns.open(&request).unwrap();
    let v = session.finish(&openings);
    assert!(v.accepted, "two honest cards rejected:\n{}", v.to_json());
    assert_eq!(v.cards, 2);
    assert!(v.check("challenge").unwrap().detail.contains("2 card(s)"));
    // the node named its two runtimes (CPU: no UUID), and Q2 signed them with the result
    assert_eq!(v.card_identities, n.cards());
    assert_eq!(cm.cards.len(), 2);
    assert!(cm
        .cards
        .iter()
        .all(|c| c.name.starts_with("cpu: ") && c.uuid == [0; 16]));
    assert!(v
        .check("cards")
        .unwrap()
        .detail
        .starts_with("2 card(s) named"));
    // A card added to the message after Q2 breaks Q2's binding of the result.
    let mut more = cm.clone();
    more.cards.push(cuproof_capacity::wire::CardIdentity {
        name: "NVIDIA H100 80GB HBM3".into(),
        uuid: [9; 16],
        evidence: None,
    });
    let v = judge_transcript(&offline, &challenge, &more, &request, &openings, None).unwrap();
    assert!(!v.check("q2").unwrap().passed, "{}", v.to_json());
    // each card's runtime logged the GEMMs of its own share
    for rt in n.runtimes() {
        let gemms = rt
            .log()
            .records()
            .iter()
            .filter(|r| matches!(r, cuproof_core::log::Record::Launch { entry, .. } if entry == cuproof::kernels::gemm::ENTRY))
            .count();
        assert_eq!(gemms, SMALL.iterations as usize);
    }
    // Offline, the claim is rebuilt from the challenge's class and card count.
    let v = judge_transcript(&offline, &challenge, &cm, &request, &openings, None).unwrap();
    assert!(v.accepted, "{}", v.to_json());
    // Judged as a claim for one card (the class's own spec), the challenge does not fit.
    let v = judge(&offline, &small, &challenge, &cm, &request, &openings, None);
    assert_only_failed(&v, &["challenge"]);
    // A claim the margin cannot support is refused, not judged.
    let mut eleven = challenge.clone();
    eleven.cards = 11;
    eleven.workload.iterations = 11 * SMALL.iterations;
    let e = judge_transcript(&offline, &eleven, &cm, &request, &openings, None).unwrap_err();
    assert!(e.to_string().contains("cannot be told from 10"), "{e}");
    assert!(verifier
        .challenge_cards("cpu-small", 11, &mut rng(44))
        .is_err());

    // A node with one card: it does the first card's share and commits zeros for the second's (what it would have
    // to do to meet a bound set for two cards). The commitment is over what it has, so the openings verify; the
    // rows do not.
    let session = verifier
        .challenge_cards("cpu-small", 2, &mut rng(42))
        .unwrap();
    let challenge = session.challenge().clone();
    let started = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let w = challenge.workload;
    let done = Node::share(w.iterations, 2, 0).end as u64 * w.m as u64;
    let outputs = kept_outputs_for(&w, &started.work_seed, |row, bytes| {
        if row >= done {
            bytes.fill(0);
        }
    });
    let (cm, ns) = commit(&started, outputs, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let session = session.receive(cm, &mut rng(43)).unwrap();
    let openings = ns.open(session.request()).unwrap();
    let v = session.finish(&openings);
    assert_only_failed(&v, &["rows"]);
}

#[test]
fn openings_out_of_order_or_missing_are_refused() {
    let mut f = fixture();
    let class = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![class]));

    // honest: 16 rows, 16 openings, accepted
    let session = verifier.challenge("cpu-small", &mut rng(30)).unwrap();
    let challenge = session.challenge().clone();
    let mut n = Node::new(Runtime::cpu());
    let (cm, ns) =
        node::respond(&mut n, &challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let session = session.receive(cm.clone(), &mut rng(31)).unwrap();
    let request = session.request().clone();
    let openings: OpeningsMessage = wire(
        ns.open(&request).unwrap().to_bytes(),
        OpeningsMessage::from_bytes,
    );
    assert_eq!(openings.openings.len(), 16);
    let v = session.finish(&openings);
    assert!(v.accepted, "honest node rejected:\n{}", v.to_json());

    // the same openings with two rows' openings swapped, or with one missing, are refused
    let class = cuproof_capacity::class::find(&verifier.policy().classes, "cpu-small").unwrap();
    let mut swapped = openings.clone();
    swapped.openings.swap(0, 1);
    let v = judge(
        verifier.policy(),
        class,
        &challenge,
        &cm,
        &request,
        &swapped,
        None,
    );
    assert!(!v.accepted);
    let detail = &v.check("openings").unwrap().detail;
    assert!(detail.contains("instead of"), "{}", v.to_json());
    let mut short = openings;
    short.openings.pop();
    let v = judge(
        verifier.policy(),
        class,
        &challenge,
        &cm,
        &request,
        &short,
        None,
    );
    assert!(!v.accepted);
    assert!(
        !v.check("sample-request").unwrap().passed,
        "{}",
        v.to_json()
    );
}

#[test]
fn node_with_a_faulty_device_refuses_to_open_rather_than_send_wrong_rows() {
    let mut f = fixture();
    let class = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![class]));
    let session = verifier.challenge("cpu-small", &mut rng(20)).unwrap();
    let challenge = session.challenge().clone();

    let started = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    // What a device that flips a bit in every row would commit: the node keeps only the leaves and recomputes the
    // opened rows on the CPU, which then do not hash to their leaves.
    let outputs: Vec<IterationOutput> =
        kept_outputs_with(&started.work_seed, |_, row| row[5] ^= 0x10)
            .into_iter()
            .map(|mut o| {
                o.rows = RowSource::Recompute;
                o
            })
            .collect();
    let (cm, ns) = commit(&started, outputs, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let session = session.receive(cm, &mut rng(21)).unwrap();
    let err = ns.open(session.request()).unwrap_err().to_string();
    assert!(
        err.contains("does not hash to its committed leaf"),
        "unexpected error: {err}"
    );
}

#[test]
fn node_slower_than_its_class_is_rejected_by_the_tpm_clock() {
    let mut f = fixture();
    // A class whose bound is 1 s; the node takes more than 1.5 s of real time between Q1 and Q2.
    let tight = ClassSpec::custom("cpu-tight", SMALL, 1_000, 16).unwrap();
    let mut p = policy(&f, vec![tight]);
    p.wall_clock_allowance_ms = None; // judged by the TPM clock alone
    let verifier = Verifier::new(p);
    let session = verifier.challenge("cpu-tight", &mut rng(5)).unwrap();
    let challenge = session.challenge().clone();

    let mut n = Node::new(Runtime::cpu());
    let started = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let outputs = n.compute(&started).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_600)); // a slow device
    let (cm, ns) = n
        .commit(&started, outputs, &mut TpmQuoter::new(&mut f.tpm, &f.ak))
        .unwrap();
    let session = session.receive(cm, &mut rng(6)).unwrap();
    let openings = ns.open(session.request()).unwrap();
    let v = session.finish(&openings);
    assert_only_failed(&v, &["clock-bound"]);
    assert!(v.tpm_elapsed_ms.unwrap() > 1_000);
}

#[test]
fn replayed_response_is_rejected() {
    let mut f = fixture();
    let class = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![class]));

    // Round 1, honest and accepted.
    let s1 = verifier.challenge("cpu-small", &mut rng(7)).unwrap();
    let mut n = Node::new(Runtime::cpu());
    let (cm1, ns1) = node::respond(
        &mut n,
        s1.challenge(),
        &mut TpmQuoter::new(&mut f.tpm, &f.ak),
    )
    .unwrap();
    let s1 = s1.receive(cm1.clone(), &mut rng(8)).unwrap();
    let o1 = ns1.open(s1.request()).unwrap();
    assert!(s1.finish(&o1).accepted);

    // Round 2: the node answers the new challenge with round 1's commitment and openings.
    let s2 = verifier.challenge("cpu-small", &mut rng(9)).unwrap();
    let s2 = s2.receive(cm1, &mut rng(10)).unwrap();
    let o2 = ns1.open(s2.request()).unwrap();
    let v = s2.finish(&o2);
    assert!(!v.accepted);
    for name in ["challenge", "q1", "q2"] {
        assert!(
            !v.check(name).unwrap().passed,
            "{name} should fail:\n{}",
            v.to_json()
        );
    }
}

#[test]
fn swapping_the_ak_between_quotes_is_rejected() {
    let mut f = fixture();
    let class = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![class]));
    let session = verifier.challenge("cpu-small", &mut rng(11)).unwrap();
    let challenge = session.challenge().clone();

    let mut n = Node::new(Runtime::cpu());
    let started = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let outputs = n.compute(&started).unwrap();
    // Q2 from another AK (e.g. another machine's TPM that did not see Q1).
    let (cm, ns) = n
        .commit(&started, outputs, &mut TpmQuoter::new(&mut f.tpm, &f.ak2))
        .unwrap();
    let session = session.receive(cm.clone(), &mut rng(12)).unwrap();
    let openings = ns.open(session.request()).unwrap();
    let v = session.finish(&openings);
    assert_only_failed(
        &v,
        &[
            "q2",
            "same-signer",
            "clock-epoch",
            "clock-order",
            "clock-bound",
            "stack",
        ],
    );

    // Declaring the second AK instead: it is not the enrolled (pinned) AK, and Q1 does not verify under it.
    let mut cm2 = cm;
    cm2.ak_public = f.ak2.area.tpmt_bytes().to_vec();
    let class = cuproof_capacity::class::find(&verifier.policy().classes, "cpu-small").unwrap();
    let req = cuproof_capacity::verifier::sample_request(&challenge, &cm2, &mut rng(13)).unwrap();
    assert!(
        ns.open(&req).is_err(),
        "the node session only answers its own commitment"
    );
    let none = OpeningsMessage {
        request_digest: req.digest(),
        openings: vec![],
    };
    let v = judge(
        verifier.policy(),
        class,
        &challenge,
        &cm2,
        &req,
        &none,
        None,
    );
    assert!(!v.accepted);
    for name in ["ak", "q1", "q2"] {
        assert!(
            !v.check(name).unwrap().passed,
            "{name} should fail:\n{}",
            v.to_json()
        );
    }
}

#[test]
fn work_done_before_q1_is_useless() {
    let mut f = fixture();
    let class = ClassSpec::custom("cpu-small", SMALL, 60_000, 16).unwrap();
    let verifier = Verifier::new(policy(&f, vec![class]));
    let session = verifier.challenge("cpu-small", &mut rng(14)).unwrap();
    let challenge = session.challenge().clone();

    // The cheat: take a Q1, do the work at leisure, then take a fresh Q1 and Q2 back to back so that t2 − t1 is
    // tiny, and send the fresh Q1 with the old work. The work seed depends on Q1's signature, so the rows are wrong.
    let mut n = Node::new(Runtime::cpu());
    let early = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let outputs = n.compute(&early).unwrap();
    // the cheater keeps its early C to open rows from (an honest session recomputes rows from its own seed); the
    // free `commit` refuses outputs whose digests are still on the runtime
    assert!(commit(
        &early,
        outputs.clone(),
        &mut TpmQuoter::new(&mut f.tpm, &f.ak)
    )
    .err()
    .is_some_and(|e| e.to_string().contains("Node::commit")));
    let kept = kept_outputs(&early.work_seed);
    assert_eq!(
        outputs.iter().map(|o| o.commitment).collect::<Vec<_>>(),
        kept.iter().map(|o| o.commitment).collect::<Vec<_>>()
    );
    let late = begin(&challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    assert_ne!(early.work_seed, late.work_seed);
    let (cm, ns) = commit(&late, kept, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let session = session.receive(cm, &mut rng(15)).unwrap();
    let openings = ns.open(session.request()).unwrap();
    let v = session.finish(&openings);
    assert_only_failed(&v, &["rows"]);
}
