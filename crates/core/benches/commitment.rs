//! CPU commitment throughput against the `sha3` crate hashing the same bytes sequentially, in one process.
//!
//! Acceptance (issue 2): on 256 MiB the tree commitment reaches at least 0.9 × (cores × single-core `sha3`
//! throughput). Besides the acceptance baseline (one core, sequential) this bench measures, in the same run:
//! - `sha3-crate-*-all-cores`: the `sha3` crate hashing `cores` equal parts of the buffer at once, the bound
//!   as the machine actually delivers it with every core busy;
//! - `tree-v1-*`: the first implementation (leaves through the `sha3` crate's incremental hasher, then the tree
//!   level by level), rebuilt here from public API so that before/after are measured under the same load.
//!
//! Size: `CUPROOF_BENCH_MIB` (default 256). Flat sampling, 10 samples: about two minutes on 2 cores.
//! `cargo bench -p cuproof-core --bench commitment -- --measurement-time 5`

mod common;

use common::{commit_v1, sequential};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::HashAlg;
use rand::RngCore;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Duration;

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
    for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
        let p = CommitParams::new(alg, 12).expect("params");
        assert_eq!(
            commit(&data, &p),
            commit_v1(&data, &p),
            "v1 and v2 disagree"
        );
    }

    let mut g = c.benchmark_group(format!("commit-{mib}MiB"));
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(data.len() as u64));
    for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
        let name = alg.name();
        let p = CommitParams::new(alg, 12).expect("params");
        g.bench_function(format!("sha3-crate-{name}-sequential"), |b| {
            b.iter(|| black_box(sequential(alg, black_box(&data))))
        });
        let part = data.len().div_ceil(cores);
        g.bench_function(format!("sha3-crate-{name}-all-cores"), |b| {
            b.iter(|| {
                let parts: Vec<[u8; 32]> = black_box(&data)
                    .par_chunks(part)
                    .map(|d| sequential(alg, d))
                    .collect();
                black_box(parts)
            })
        });
        g.bench_function(format!("tree-v1-{name}-1-thread"), |b| {
            b.iter(|| one.install(|| black_box(commit_v1(black_box(&data), &p))))
        });
        g.bench_function(format!("tree-v1-{name}-{cores}-threads"), |b| {
            b.iter(|| black_box(commit_v1(black_box(&data), &p)))
        });
        g.bench_function(format!("tree-{name}-1-thread"), |b| {
            b.iter(|| one.install(|| black_box(commit(black_box(&data), &p))))
        });
        g.bench_function(format!("tree-{name}-{cores}-threads"), |b| {
            b.iter(|| black_box(commit(black_box(&data), &p)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
