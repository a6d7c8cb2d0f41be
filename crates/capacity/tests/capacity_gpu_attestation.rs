//! The `gpu-attestation` check end to end: a node whose cards answer SPDM `GET_MEASUREMENTS` (the software
//! responder `cuproof::gpu_attest::SoftGpu`, signing under the test authority of `tests/data/gpu-test-authority/`)
//! and a real software TPM. Honest attested cards are accepted; one chip named as two cards, a card without
//! evidence where the policy requires it, a firmware off the golden values, a chip off the list, evidence from
//! another challenge and a root the policy does not trust are each refused by this check alone.
//!
//! Real NVIDIA evidence (an H100's report and chain) is verified in `crates/attest/tests/gpu_evidence.rs`.

use cuproof::gpu_attest::SoftGpu;
use cuproof::runtime::Runtime;
use cuproof_attest::gpu::GpuTrust;
use cuproof_capacity::class::ClassSpec;
use cuproof_capacity::gpu::{gpu_attestation_check, GpuAttestationPolicy};
use cuproof_capacity::node::{self, Node};
use cuproof_capacity::tpm::TpmQuoter;
use cuproof_capacity::verifier::{Policy, Verdict, Verifier};
use cuproof_capacity::wire::{Challenge, CommitMessage};
use cuproof_capacity::Workload;
use cuproof_tpm::swtpm::Swtpm;
use cuproof_tpm::{Ak, AkType, EkType, Tpm};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;

const ROOT: &str = include_str!("../../../tests/data/gpu-test-authority/root.pem");
const CARD0_KEY: &str = include_str!("../../../tests/data/gpu-test-authority/card0-ak.key.pem");
const CARD0_CHAIN: &str = include_str!("../../../tests/data/gpu-test-authority/card0-chain.pem");
const CARD1_KEY: &str = include_str!("../../../tests/data/gpu-test-authority/card1-ak.key.pem");
const CARD1_CHAIN: &str = include_str!("../../../tests/data/gpu-test-authority/card1-chain.pem");

const TINY: Workload = Workload {
    m: 32,
    n: 32,
    k: 64,
    iterations: 2,
};

/// Fields drop in order: the TPM handles before the swtpm process.
struct Fixture {
    tpm: Tpm,
    ak: Ak,
    _sw: Swtpm,
}

fn fixture() -> Fixture {
    let sw = Swtpm::start().unwrap_or_else(|e| {
        panic!("these tests need swtpm and swtpm-tools (apt-get install swtpm swtpm-tools): {e}")
    });
    let mut tpm = Tpm::open(&sw.tcti()).expect("open swtpm");
    let ek = tpm.endorsement_key(EkType::Rsa2048).expect("EK");
    let blob = tpm.create_ak(&ek, AkType::Rsa2048Sha256).expect("AK");
    let ak = tpm.load_ak(&ek, &blob).expect("load AK");
    Fixture { _sw: sw, tpm, ak }
}

fn test_trust() -> GpuTrust {
    GpuTrust::with_roots(ROOT.as_bytes(), None).unwrap()
}

fn soft(cards: &[(&str, &str)]) -> SoftGpu {
    cards.iter().fold(SoftGpu::new(), |g, (k, c)| {
        g.with_card(k, c.as_bytes()).unwrap()
    })
}

fn policy(f: &Fixture, gpu: GpuAttestationPolicy) -> Policy {
    let mut classes = cuproof_capacity::builtin_classes();
    classes.push(ClassSpec::custom("cpu-tiny", TINY, 60_000, 8).unwrap());
    let mut p = Policy::new(classes);
    p.pinned_ak_name = Some(f.ak.name());
    p.wall_clock_allowance_ms = None;
    p.gpu_attestation = gpu;
    p
}

fn required() -> GpuAttestationPolicy {
    GpuAttestationPolicy {
        required: true,
        roots: test_trust().roots,
        ..Default::default()
    }
}

/// One claim of two cards under `policy`, the node's cards answering through `gpu` (if any).
fn run(
    f: &mut Fixture,
    gpu_policy: GpuAttestationPolicy,
    gpu: Option<SoftGpu>,
    seed: u8,
) -> (Verdict, CommitMessage) {
    let verifier = Verifier::new(policy(f, gpu_policy));
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let session = verifier.challenge_cards("cpu-tiny", 2, &mut rng).unwrap();
    let challenge = Challenge::from_bytes(&session.challenge().to_bytes()).unwrap();
    let mut n = Node::with_runtimes(vec![Runtime::cpu(), Runtime::cpu()]).unwrap();
    if let Some(g) = gpu {
        n = n.with_gpu_attester(Arc::new(g));
    }
    let (cm, ns) =
        node::respond(&mut n, &challenge, &mut TpmQuoter::new(&mut f.tpm, &f.ak)).unwrap();
    let cm = CommitMessage::from_bytes(&cm.to_bytes()).unwrap();
    let session = session.receive(cm.clone(), &mut rng).unwrap();
    let openings = ns.open(session.request()).unwrap();
    (session.finish(&openings), cm)
}

fn assert_only_gpu_attestation_failed(v: &Verdict, why: &str) {
    assert!(!v.accepted, "accepted:\n{}", v.to_json());
    assert_eq!(v.failed(), vec!["gpu-attestation"], "{}", v.to_json());
    let detail = &v.check("gpu-attestation").unwrap().detail;
    assert!(detail.contains(why), "{detail}");
}

#[test]
fn cards_attested_by_their_own_reports() {
    let mut f = fixture();
    let two = || soft(&[(CARD0_KEY, CARD0_CHAIN), (CARD1_KEY, CARD1_CHAIN)]);

    // Honest: each card's report verifies under the policy's root, over its own nonce.
    let (v, cm) = run(&mut f, required(), Some(two()), 1);
    assert!(v.accepted, "{}", v.to_json());
    let serials: Vec<&str> = v
        .attested_gpus
        .iter()
        .map(|a| a.device_serial.as_str())
        .collect();
    assert_eq!(serials, ["C0FFEE0000000001", "C0FFEE0000000002"]);
    assert_eq!(
        v.attested_gpus[0].driver_version.as_deref(),
        Some("cuproof-soft")
    );
    assert!(cm.cards.iter().all(|c| c.evidence.is_some()));
    let detail = &v.check("gpu-attestation").unwrap().detail;
    assert!(detail.starts_with("2 of 2 card(s) attested"), "{detail}");

    // The evidence is the card's for this challenge only: moved to another challenge's cards, the nonce differs.
    let (ok, detail, _) = gpu_attestation_check(&required(), &[7; 32], &cm.cards);
    assert!(!ok && detail.contains("nonce"), "{detail}");
    // ... and card 0's report in card 1's place is over card 0's nonce.
    let mut swapped = cm.cards.clone();
    swapped.swap(0, 1);
    let (ok, detail, _) = gpu_attestation_check(&required(), &cm.challenge_digest, &swapped);
    assert!(!ok && detail.contains("nonce"), "{detail}");

    // One chip named as two cards.
    let twice = soft(&[(CARD0_KEY, CARD0_CHAIN), (CARD0_KEY, CARD0_CHAIN)]);
    let (v, _) = run(&mut f, required(), Some(twice), 2);
    assert_only_gpu_attestation_failed(&v, "are one chip (serial C0FFEE0000000001)");

    // Required, and one card cannot attest (the responder knows one card only).
    let one = soft(&[(CARD0_KEY, CARD0_CHAIN)]);
    let (v, cm) = run(&mut f, required(), Some(one), 3);
    assert_only_gpu_attestation_failed(&v, "no attestation evidence from card 1");
    assert!(cm.cards[0].evidence.is_some() && cm.cards[1].evidence.is_none());

    // Not required: evidence is checked where given, and its absence is said.
    let optional = GpuAttestationPolicy {
        required: false,
        ..required()
    };
    let (v, _) = run(&mut f, optional.clone(), None, 4);
    assert!(v.accepted, "{}", v.to_json());
    assert!(v
        .check("gpu-attestation")
        .unwrap()
        .detail
        .contains("not required"));

    // Golden measurements: a card whose firmware measures otherwise is refused.
    let mut golden = required();
    golden.measurements.insert(3, vec![vec![0xAB; 48]]);
    let (v, _) = run(&mut f, golden, Some(two()), 5);
    assert_only_gpu_attestation_failed(&v, "GPU measurement 3");
    let mut golden = required();
    let good = SoftGpu::new().measurements()[2].value.clone();
    golden.measurements.insert(3, vec![vec![0xAB; 48], good]);
    let (v, _) = run(&mut f, golden, Some(two()), 6);
    assert!(v.accepted, "{}", v.to_json());
    assert!(v
        .check("gpu-attestation")
        .unwrap()
        .detail
        .contains("1 of 8 measurements golden"));

    // A list of chips.
    let mut listed = required();
    listed.devices = vec!["C0FFEE0000000001".into()];
    let (v, _) = run(&mut f, listed, Some(two()), 7);
    assert_only_gpu_attestation_failed(&v, "chip C0FFEE0000000002 is not one the policy allows");

    // The default trust is NVIDIA's root alone: the test authority's cards are not genuine NVIDIA chips.
    let nvidia = GpuAttestationPolicy {
        required: true,
        ..Default::default()
    };
    let (v, _) = run(&mut f, nvidia, Some(two()), 8);
    assert_only_gpu_attestation_failed(&v, "untrusted root");
}

#[test]
fn the_soft_responder_refuses_a_key_its_chain_does_not_certify() {
    let err = SoftGpu::new()
        .with_card(CARD1_KEY, CARD0_CHAIN.as_bytes())
        .err()
        .unwrap();
    assert!(err.to_string().contains("not the one"), "{err}");
}
