//! Setup, prove and verify for 5×40×3 and 64×64×64 (8×8×8 is proved in `groth16_8.rs`), one size per test,
//! each with its own setup.

use crate::common;

use std::time::Instant;

use cuproof_circuits::{groth::ProveStage, prove, setup_from_seed, verify};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn roundtrip(m: usize, k: usize, n: usize) {
    let t = Instant::now();
    let pk = setup_from_seed(m, k, n, [m as u8; 32]).expect("setup");
    let setup_time = t.elapsed();
    let (circ, ..) = common::instance(m, k, n, 7);
    let x = circ.public_input().expect("x");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut stages = Vec::new();
    let mut cb = |s: ProveStage| stages.push(s);
    let t = Instant::now();
    let proof = prove(&pk, circ, &mut rng, Some(&mut cb)).expect("prove");
    let prove_time = t.elapsed();
    assert!(matches!(stages.first(), Some(ProveStage::Witness)));
    assert!(matches!(stages.last(), Some(ProveStage::Done { .. })));
    assert!(verify(pk.verifying_key(), &x, &proof).expect("verify"));
    // Wrong public input.
    assert!(!verify(
        pk.verifying_key(),
        &(x + cuproof_circuits::Fr::from(1u64)),
        &proof
    )
    .unwrap());
    eprintln!(
        "{m}x{k}x{n}: {} constraints, setup {:?}, prove {:?}",
        pk.size().constraints,
        setup_time,
        prove_time
    );
}

#[test]
fn prove_verify_5x40x3() {
    // Non-square, and lengths that do not fill the last packed element (200 = 6·31 + 14 int8, 15 = 2·7 + 1 int32).
    roundtrip(5, 40, 3);
}

#[test]
fn prove_verify_64() {
    roundtrip(64, 64, 64);
}
