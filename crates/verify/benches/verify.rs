//! Verifying a receipt with one TPM quote (RSA-2048 AK, EK certificate chain) and one Groth16/BN254 proof.
//! Target: ≤ 3 ms median on one core. Needs swtpm + tpm2-tools (see tests/common).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use cuproof_verify::{verify_receipt_bytes, VerifyContext};

fn bench(c: &mut Criterion) {
    let f = common::fixture();
    let now = common::now();
    let mut g = c.benchmark_group("verify");
    g.sample_size(30);
    g.measurement_time(std::time::Duration::from_secs(4));
    g.bench_function("receipt_quote_groth16", |b| {
        b.iter(|| {
            let mut ctx = VerifyContext {
                challenge: f.challenge,
                challenge_issued_at: Some(now),
                node: Some(&f.node),
                now_unix: now,
                state: None,
                detached_proofs: &[],
            };
            let v = verify_receipt_bytes(&f.bytes, &f.policy, &mut ctx);
            assert!(v.valid);
        })
    });
    g.finish();
    cpu_time(f, now);
}

/// On-CPU time of this thread (ns) from /proc/thread-self/schedstat: a figure that other processes sharing
/// the cores do not inflate (criterion's wall-clock figure above is, on a loaded machine).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn cpu_time(f: &common::Fixture, now: u64) {
    let n = 500u64;
    let Some(start) = thread_cpu_ns() else {
        return;
    };
    for _ in 0..n {
        let mut ctx = VerifyContext {
            challenge: f.challenge,
            challenge_issued_at: Some(now),
            node: Some(&f.node),
            now_unix: now,
            state: None,
            detached_proofs: &[],
        };
        let v = verify_receipt_bytes(&f.bytes, &f.policy, &mut ctx);
        assert!(v.valid);
    }
    let total = thread_cpu_ns().unwrap_or(start).saturating_sub(start);
    eprintln!(
        "verify/receipt_quote_groth16 on-CPU time: mean {:.3} ms over {n} runs",
        total as f64 / n as f64 / 1e6
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
