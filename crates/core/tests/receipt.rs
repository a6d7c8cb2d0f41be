//! Receipt encoding: round trip, strictness, pinned encoding, and decoding of many random mutations never
//! panics (and never yields a different receipt that re-encodes to the mutated bytes).

mod common;

use cuproof_core::receipt::{Receipt, ReceiptError, RECEIPT_VERSION};
use cuproof_core::DecodeError;
use rand::{Rng, SeedableRng};

#[test]
fn roundtrip() {
    let r = common::sample_receipt();
    let bytes = r.encode().unwrap();
    let back = Receipt::decode(&bytes).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.encode().unwrap(), bytes);
    let json = r.to_json();
    assert_eq!(json["format"], "cuproof-receipt");
    assert_eq!(json["statement"]["workload"], "matmul-i8");
    assert_eq!(json["log"]["records"][0]["type"], "job_start");
}

#[test]
fn strict_decoding() {
    let bytes = common::sample_receipt().encode().unwrap();
    let mut t = bytes.clone();
    t.push(0);
    assert!(matches!(
        Receipt::decode(&t),
        Err(ReceiptError::Decode(DecodeError::TrailingBytes { .. }))
    ));
    let mut v = bytes.clone();
    v[8] = (RECEIPT_VERSION + 1) as u8;
    assert!(matches!(
        Receipt::decode(&v),
        Err(ReceiptError::Decode(DecodeError::UnsupportedVersion { .. }))
    ));
    let mut m = bytes.clone();
    m[0] ^= 1;
    assert!(matches!(
        Receipt::decode(&m),
        Err(ReceiptError::Decode(DecodeError::BadMagic { .. }))
    ));
    for cut in 0..bytes.len() {
        assert!(
            Receipt::decode(&bytes[..cut]).is_err(),
            "truncation at {cut} accepted"
        );
    }
}

/// The encoding of the pinned sample is part of the format: if this digest changes, the receipt format changed,
/// and RECEIPT_VERSION must be bumped (and this pin updated together with docs/receipt.md).
#[test]
fn pinned_encoding() {
    let r = common::sample_receipt();
    assert_eq!(RECEIPT_VERSION, 2);
    assert_eq!(
        hex::encode(r.digest().unwrap()),
        include_str!("vectors/receipt_v2.digest").trim()
    );
}

#[test]
fn random_mutations_never_panic() {
    let bytes = common::sample_receipt().encode().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut accepted = 0usize;
    for i in 0..20_000 {
        let mut m = bytes.clone();
        match i % 4 {
            0 => {
                let p = rng.gen_range(0..m.len());
                m[p] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                let p = rng.gen_range(0..m.len());
                m[p] = rng.gen();
            }
            2 => {
                let p = rng.gen_range(0..m.len());
                let n = rng.gen_range(1..8).min(m.len() - p);
                m.drain(p..p + n);
            }
            _ => {
                let p = rng.gen_range(0..m.len());
                for _ in 0..rng.gen_range(1..8) {
                    m.insert(p, rng.gen());
                }
            }
        }
        if let Ok(r) = Receipt::decode(&m) {
            // Whatever decodes must be canonical: it re-encodes to exactly the mutated bytes.
            assert_eq!(
                r.encode().unwrap(),
                m,
                "non-canonical decoding at iteration {i}"
            );
            accepted += 1;
        }
    }
    // Mutations inside opaque blobs (quote bytes, proof bytes) still decode; the verifier rejects them later.
    assert!(accepted < 20_000);
}
