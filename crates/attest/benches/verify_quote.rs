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

/// NVIDIA's sample H100 evidence (docs/gpu-attestation.md): the whole check, against its bound in the same
/// process, the six ECDSA P-384 verifications it cannot avoid (five certificate signatures, root self-signature
/// included, and the report's), each done here on the report's signature with the attestation key.
fn bench_gpu(c: &mut Criterion) {
    use cuproof_attest::gpu::{verify_gpu_evidence, DeviceChain, GpuTrust, Report};
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    use sha2::Digest;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nvidia");
    let hex_report = std::fs::read_to_string(dir.join("h100-report.hex")).expect("report");
    let report = hex::decode(hex_report.trim()).expect("hex");
    let chain = std::fs::read(dir.join("h100-cert-chain.pem")).expect("chain");
    let nonce: [u8; 32] = report[4..36].try_into().expect("nonce");
    let trust = GpuTrust::nvidia(None);
    c.bench_function("gpu_evidence_h100_sample", |b| {
        b.iter(|| verify_gpu_evidence(&report, &chain, &nonce, &trust).expect("verifies"))
    });
    let parsed = Report::parse(&report).expect("parse");
    let key = DeviceChain::parse(&chain)
        .expect("chain")
        .attestation_key()
        .expect("key");
    let digest = sha2::Sha384::digest(parsed.signed_bytes());
    let sig = p384::ecdsa::Signature::from_slice(&parsed.response.signature).expect("sig");
    c.bench_function("baseline_6x_p384_verify", |b| {
        b.iter(|| {
            for _ in 0..6 {
                key.verify_prehash(&digest, &sig).expect("verifies");
            }
        })
    });
}

criterion_group!(benches, bench, bench_gpu);
criterion_main!(benches);
