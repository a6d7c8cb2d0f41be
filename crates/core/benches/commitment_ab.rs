//! Interleaved A/B timing of the CPU commitment on a shared machine, printing the acceptance ratio directly.
//!
//! Criterion (`benches/commitment.rs`) runs each variant's samples back to back, so a burst of load from another
//! process lands on whichever variant runs at that moment. This bench runs one iteration of every variant per
//! round, for `CUPROOF_BENCH_ROUNDS` rounds (default 8, after one discarded warm-up round), and reports each variant's minimum and median: load
//! only ever adds time, so the minimum over interleaved rounds compares the variants under the same conditions.
//! Ratios are `cores × baseline throughput` against the variant (`≥ 0.9` is the issue-2 acceptance line).
//!
//! `cargo bench -p cuproof-core --bench commitment_ab` (size: `CUPROOF_BENCH_MIB`, default 256).

mod common;

use common::{commit_v1, sequential};
use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::HashAlg;
use rand::RngCore;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters by algorithm name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // `cargo test --all-targets` runs this binary without `--bench`: a 1 MiB, one-round smoke run then.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mib = env_usize("CUPROOF_BENCH_MIB", if bench_mode { 256 } else { 1 });
    let rounds = env_usize("CUPROOF_BENCH_ROUNDS", if bench_mode { 8 } else { 1 }).max(1);
    let mut data = vec![0u8; mib << 20];
    rand::thread_rng().fill_bytes(&mut data);
    let cores = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let part = data.len().div_ceil(cores);
    println!("{mib} MiB, {cores} threads, {rounds} interleaved rounds; ms: min / median");

    for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
        if !filter.is_empty() && !filter.iter().any(|f| alg.name().contains(f.as_str())) {
            continue;
        }
        let p = CommitParams::new(alg, 12).expect("params");
        assert_eq!(
            commit(&data, &p),
            commit_v1(&data, &p),
            "v1 and v2 disagree"
        );
        let names = [
            "sha3 crate, sequential (baseline)".to_string(),
            format!("sha3 crate, {cores} parts at once"),
            "tree v1, 1 thread".to_string(),
            format!("tree v1, {cores} threads"),
            "tree v2, 1 thread".to_string(),
            format!("tree v2, {cores} threads"),
        ];
        let mut t: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
        // One discarded round first (rayon pools start, caches and branch predictors warm).
        for round in 0..=rounds {
            if round == 1 {
                t.iter_mut().for_each(Vec::clear);
            }
            t[0].push(time(|| {
                black_box(sequential(alg, black_box(&data)));
            }));
            t[1].push(time(|| {
                let parts: Vec<[u8; 32]> = black_box(&data)
                    .par_chunks(part)
                    .map(|d| sequential(alg, d))
                    .collect();
                black_box(parts);
            }));
            t[2].push(time(|| {
                one.install(|| black_box(commit_v1(black_box(&data), &p)));
            }));
            t[3].push(time(|| {
                black_box(commit_v1(black_box(&data), &p));
            }));
            t[4].push(time(|| {
                one.install(|| black_box(commit(black_box(&data), &p)));
            }));
            t[5].push(time(|| {
                black_box(commit(black_box(&data), &p));
            }));
        }
        let stats: Vec<(f64, f64)> = t
            .iter_mut()
            .map(|v| {
                v.sort();
                (ms(v[0]), ms(v[v.len() / 2]))
            })
            .collect();
        let base_min = stats[0].0;
        let base_med = stats[0].1;
        println!("{}", alg.name());
        for (i, (name, (min, med))) in names.iter().zip(&stats).enumerate() {
            let threads = if i == 0 || name.contains("1 thread") {
                1.0
            } else {
                cores as f64
            };
            println!(
                "  {name:<36} {min:8.1} / {med:8.1}   ratio to {threads} × baseline: {:.3} (min) {:.3} (median)",
                base_min / (threads * min),
                base_med / (threads * med),
            );
        }
    }
}
