//! Time to verify one real swtpm quote (signature + parse + nonce + selection + PCR digest).

use criterion::{criterion_group, criterion_main, Criterion};
use cuproof_attest::{verify_quote, HashAlg, PublicArea, QuoteExpectations};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .expect("fixture")
}

fn bench(c: &mut Criterion) {
    let required: Vec<(HashAlg, u8)> = [0u8, 1, 2, 3, 4, 5, 6, 7, 23]
        .iter()
        .map(|&p| (HashAlg::Sha256, p))
        .collect();
    for tag in ["rsa", "ecc"] {
        let ak = PublicArea::from_tpm2b(&data(&format!("ak_{tag}.pub"))).expect("ak");
        let ek = PublicArea::from_tpm2b(&data(&format!("ek_{tag}.pub"))).expect("ek");
        let qn = ak.qualified_name_under_ek(&ek);
        let attest = data(&format!("quote_{tag}.attest"));
        let sig = data(&format!("quote_{tag}.sig"));
        let (_, pcrs) =
            cuproof_attest::tpm2tools::parse_pcr_file(&data(&format!("quote_{tag}.pcrs")))
                .expect("pcrs");
        let nonce = cuproof_attest::alg::sha256(tag.as_bytes());
        c.bench_function(&format!("verify_quote_{tag}"), |b| {
            b.iter(|| {
                verify_quote(
                    &ak,
                    &attest,
                    &sig,
                    &pcrs,
                    &QuoteExpectations {
                        qualifying_data: &nonce,
                        required_pcrs: &required,
                        qualified_signer: Some(&qn),
                        signature_policy: Default::default(),
                    },
                )
                .expect("valid quote")
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
