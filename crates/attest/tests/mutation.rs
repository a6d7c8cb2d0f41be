//! Random mutations of valid structures through every fuzz entry point: never a panic, and a
//! mutated quote is never accepted.

use cuproof_attest::fuzz;
use cuproof_attest::wire::put_tpm2b;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn mutate(rng: &mut ChaCha20Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    let rounds = rng.gen_range(1..=3);
    for _ in 0..rounds {
        let len = v.len();
        match rng.gen_range(0..7) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len * 8);
                v[i / 8] ^= 1 << (i % 8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                v[i] = rng.gen();
            }
            2 => v.truncate(rng.gen_range(0..=len)),
            3 => {
                let n = rng.gen_range(1..8);
                for _ in 0..n {
                    v.push(rng.gen());
                }
            }
            4 if len > 1 => {
                // Length-field style damage: a big-endian u16 at a random place.
                let i = rng.gen_range(0..len - 1);
                let x: u16 = *[0u16, 1, 0xffff, 0x8000, rng.gen()]
                    .get(rng.gen_range(0..5))
                    .unwrap_or(&0);
                v[i..i + 2].copy_from_slice(&x.to_be_bytes());
            }
            5 if len > 0 => {
                let i = rng.gen_range(0..len);
                v.remove(i);
            }
            _ => {
                let i = rng.gen_range(0..=len);
                v.insert(i, rng.gen());
            }
        }
    }
    v
}

type Parser = fn(&[u8]) -> bool;

#[test]
fn parsers_never_panic_on_mutations() {
    let mut rng = ChaCha20Rng::seed_from_u64(0xc0ffee);
    let sel = cuproof_attest::PcrSelection::single(cuproof_attest::HashAlg::Sha256, &[0, 7, 23])
        .unwrap()
        .to_bytes();
    let mut name = Vec::new();
    let ak = cuproof_attest::PublicArea::from_tpm2b(&data("ak_rsa.pub")).unwrap();
    put_tpm2b(&mut name, "n", &ak.name()).unwrap();
    let record = br#"{"version":1,"ek_public":"00","ek_cert_sha256":null,"ak_public":"00","ak_name":"00","tpm_kind":"software","enrolled_at":1}"#.to_vec();
    let cases: Vec<(&str, Vec<u8>, Parser)> = vec![
        ("TPM2B_PUBLIC rsa", data("ak_rsa.pub"), |b| {
            fuzz::parse_tpm2b_public(b).is_ok()
        }),
        ("TPM2B_PUBLIC ecc", data("ak_ecc.pub"), |b| {
            fuzz::parse_tpm2b_public(b).is_ok()
        }),
        ("TPM2B_PUBLIC ek", data("ek_rsa.pub"), |b| {
            fuzz::parse_tpm2b_public(b).is_ok()
        }),
        ("TPMT_PUBLIC", data("ek_ecc.pub")[2..].to_vec(), |b| {
            fuzz::parse_tpmt_public(b).is_ok()
        }),
        ("TPMS_ATTEST", data("quote_rsa.attest"), |b| {
            fuzz::parse_attest(b).is_ok()
        }),
        ("TPMT_SIGNATURE rsa", data("quote_rsa.sig"), |b| {
            fuzz::parse_signature(b).is_ok()
        }),
        ("TPMT_SIGNATURE ecc", data("quote_ecc.sig"), |b| {
            fuzz::parse_signature(b).is_ok()
        }),
        ("TPML_PCR_SELECTION", sel, |b| {
            fuzz::parse_pcr_selection(b).is_ok()
        }),
        ("TPM2B_NAME", name, |b| fuzz::parse_name(b).is_ok()),
        ("certificate", data("ek_rsa.der"), |b| {
            fuzz::parse_certificate(b).is_ok()
        }),
        ("certificate ecc", data("ek_ecc.der"), |b| {
            fuzz::parse_certificate(b).is_ok()
        }),
        ("tpm2 pcr file", data("quote_rsa.pcrs"), |b| {
            fuzz::parse_tpm2_pcr_file(b).is_ok()
        }),
        ("node record", record, |b| {
            fuzz::parse_node_record(b).is_ok()
        }),
    ];
    let mut total = 0usize;
    for (what, seed, parse) in &cases {
        // The unmutated seed parses (except the dummy node record, which fails validation).
        if *what != "node record" {
            assert!(parse(seed), "{what}: seed must parse");
        }
        for _ in 0..8_000 {
            let m = mutate(&mut rng, seed);
            let _ = parse(&m);
            total += 1;
        }
        // Pure random input of random length.
        for _ in 0..500 {
            let n = rng.gen_range(0..300);
            let r: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            let _ = parse(&r);
            total += 1;
        }
    }
    assert!(total > 100_000);
}

#[test]
fn mutated_quotes_are_never_accepted() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for tag in ["rsa", "ecc"] {
        let ak = cuproof_attest::PublicArea::from_tpm2b(&data(&format!("ak_{tag}.pub"))).unwrap();
        let attest = data(&format!("quote_{tag}.attest"));
        let sig = data(&format!("quote_{tag}.sig"));
        let (_, pcrs) =
            cuproof_attest::tpm2tools::parse_pcr_file(&data(&format!("quote_{tag}.pcrs"))).unwrap();
        let nonce = cuproof_attest::alg::sha256(tag.as_bytes());
        let required: Vec<_> = [0u8, 1, 2, 3, 4, 5, 6, 7, 23]
            .iter()
            .map(|&p| (cuproof_attest::HashAlg::Sha256, p))
            .collect();
        let check = |a: &[u8], s: &[u8]| {
            cuproof_attest::verify_quote(
                &ak,
                a,
                s,
                &pcrs,
                &cuproof_attest::QuoteExpectations {
                    qualifying_data: &nonce,
                    required_pcrs: &required,
                    qualified_signer: None,
                    signature_policy: Default::default(),
                },
            )
        };
        assert!(check(&attest, &sig).is_ok());
        for i in 0..3_000 {
            let (a, s) = if i % 2 == 0 {
                (mutate(&mut rng, &attest), sig.clone())
            } else {
                (attest.clone(), mutate(&mut rng, &sig))
            };
            if a == attest && s == sig {
                continue;
            }
            assert!(check(&a, &s).is_err(), "{tag}: mutation {i} accepted");
        }
        // Whole-quote fuzz entry point on mutated framings.
        let mut framed = Vec::new();
        put_tpm2b(&mut framed, "ak", &data(&format!("ak_{tag}.pub"))).unwrap();
        put_tpm2b(&mut framed, "a", &attest).unwrap();
        put_tpm2b(&mut framed, "s", &sig).unwrap();
        for _ in 0..3_000 {
            let _ = fuzz::verify_quote_bytes(&mutate(&mut rng, &framed));
        }
    }
}
