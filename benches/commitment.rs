//! CPU commitment throughput against the `sha3` crate hashing the same bytes sequentially, in one run.
//!
//! Acceptance (issue 2): on 256 MiB the tree commitment reaches at least 0.9 × (cores × single-core `sha3`
//! throughput). Size: `CUPROOF_BENCH_MIB` (default 256).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::HashAlg;
use rand::RngCore;
use sha3::Digest;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mib: usize = std::env::var("CUPROOF_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut data = vec![0u8; mib << 20];
    rand::thread_rng().fill_bytes(&mut data);
    let cores = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");

    let mut g = c.benchmark_group(format!("commit-{mib}MiB"));
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("sha3-crate-keccak256-sequential", |b| {
        b.iter(|| black_box(sha3::Keccak256::digest(black_box(&data))))
    });
    g.bench_function("sha3-crate-sha3-256-sequential", |b| {
        b.iter(|| black_box(sha3::Sha3_256::digest(black_box(&data))))
    });
    for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
        let p = CommitParams::new(alg, 12).expect("params");
        g.bench_function(format!("tree-{}-1-thread", alg.name()), |b| {
            b.iter(|| one.install(|| black_box(commit(black_box(&data), &p))))
        });
        g.bench_function(format!("tree-{}-{cores}-threads", alg.name()), |b| {
            b.iter(|| black_box(commit(black_box(&data), &p)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
