//! Tamper suite: from a valid receipt with real TPM evidence and a real Groth16 proof, every single-bit flip
//! of the encoded receipt is rejected (never accepted, never a panic), and so are random multi-byte
//! corruptions. Field substitutions (another job's quote, another AK, an old nonce, a reordered log, a
//! swapped output commitment) are in `tests/verify.rs`.

use crate::common;

use common::{fixture, now};
use cuproof_verify::{verify_receipt_bytes, VerifyContext};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

fn verify(bytes: &[u8]) -> Result<bool, String> {
    let f = fixture();
    let mut ctx = VerifyContext {
        challenge: f.challenge,
        challenge_issued_at: Some(now()),
        node: Some(&f.node),
        now_unix: now(),
        state: None,
        detached_proofs: &[],
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verify_receipt_bytes(bytes, &f.policy, &mut ctx).valid
    }))
    .map_err(|_| "panic".to_string())
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let f = fixture();
    assert_eq!(
        verify(&f.bytes),
        Ok(true),
        "the untampered receipt must pass"
    );
    let bits = f.bytes.len() * 8;
    let accepted: Vec<(usize, Result<bool, String>)> = (0..bits)
        .into_par_iter()
        .filter_map(|bit| {
            let mut b = f.bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            match verify(&b) {
                Ok(false) => None,
                other => Some((bit, other)),
            }
        })
        .collect();
    assert!(
        accepted.is_empty(),
        "{} of {bits} flips not rejected (first: {:?})",
        accepted.len(),
        accepted.first()
    );
    // Every field is covered: the statement, log and proofs by their own checks, and everything but the quotes
    // (node label and timings included) by the job quote's qualifying data (the receipt's binding digest).
    eprintln!(
        "{bits} single-bit flips of a {}-byte receipt: all rejected",
        f.bytes.len()
    );
}

#[test]
fn random_corruptions_are_rejected() {
    let f = fixture();
    let n = 20_000u64;
    let bad: Vec<u64> = (0..n)
        .into_par_iter()
        .filter(|&i| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i);
            let mut b = f.bytes.clone();
            match i % 4 {
                // several random bytes replaced
                0 | 1 => {
                    for _ in 0..rng.gen_range(2..8) {
                        let at = rng.gen_range(0..b.len());
                        b[at] = rng.gen();
                    }
                }
                // a random range zeroed
                2 => {
                    let at = rng.gen_range(0..b.len());
                    let len = rng.gen_range(1..64).min(b.len() - at);
                    b[at..at + len].iter_mut().for_each(|x| *x = 0);
                }
                // bytes inserted or removed
                _ => {
                    let at = rng.gen_range(0..b.len());
                    if rng.gen() {
                        b.insert(at, rng.gen());
                    } else {
                        b.remove(at);
                    }
                }
            }
            b != f.bytes && verify(&b) != Ok(false)
        })
        .collect();
    assert!(
        bad.is_empty(),
        "corruptions not rejected: seeds {:?}",
        &bad[..bad.len().min(10)]
    );
}

/// The fixture's structures parse with the entry points the fuzz targets use; with `CUPROOF_FUZZ_CORPUS` set,
/// they are written there as seed corpora (`<dir>/<target>/seed-*`, see docs/verify.md).
#[test]
fn fuzz_seeds_parse() {
    let f = fixture();
    let q = &f.receipt.quotes[0];
    let log = f.receipt.log.to_tcg_bytes().expect("log");
    assert!(cuproof_core::ExecutionLog::from_tcg_bytes(&log).is_ok());
    assert!(cuproof_attest::attest::Attest::parse(&q.attest).is_ok());
    assert!(cuproof_attest::signature::Signature::parse(&q.signature).is_ok());
    assert!(cuproof_attest::public::PublicArea::from_tpm2b(&f.receipt.node.ak_public).is_ok());
    assert!(cuproof_attest::ekcert::Cert::from_der(&f.receipt.node.ek_cert).is_ok());
    let policy = std::fs::read(&f.policy_path).expect("policy");
    assert!(
        cuproof_verify::Policy::parse_only(std::str::from_utf8(&policy).expect("utf8")).is_ok()
    );
    let tagged = |tag: u8, b: &[u8]| {
        let mut v = vec![tag];
        v.extend_from_slice(b);
        v
    };
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("receipt_decode", f.bytes.clone()),
        ("verify_receipt", f.bytes.clone()),
        ("eventlog_decode", log),
        ("policy_parse", policy),
        ("attest_parsers", tagged(0, &q.attest)),
        ("attest_parsers", tagged(1, &q.signature)),
        ("attest_parsers", tagged(2, &f.receipt.node.ak_public)),
        ("attest_parsers", tagged(2, &f.receipt.node.ek_public)),
        ("attest_parsers", tagged(5, &f.receipt.node.ek_cert)),
        (
            "attest_parsers",
            tagged(6, &f.node.to_json().expect("json")),
        ),
    ];
    if let Some(dir) = std::env::var_os("CUPROOF_FUZZ_CORPUS") {
        for (i, (target, bytes)) in seeds.iter().enumerate() {
            let d = std::path::Path::new(&dir).join(target);
            std::fs::create_dir_all(&d).expect("corpus dir");
            std::fs::write(d.join(format!("seed-{i}")), bytes).expect("seed");
        }
    }
}
