//! Verifying measurement lists: an IMA list of 50,000 entries (a busy server under `ima_policy=tcb`) parsed
//! strictly (SHA-1 of every template data checked) and replayed into PCR 10 (SHA-256 of every template data, and
//! the extend chain), against the same-process baseline of hashing the template data once with the `sha2`
//! crate. The physical bound is the hashing: one SHA-1 and two SHA-256 passes over each entry's data and its
//! digest. Also the firmware event log of the simulated boot (30 events).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cuproof_attest::bootlog::{build::simulated_firmware, BootLog, ALG_SHA256};
use cuproof_attest::ima::build::ImaLogBuilder;
use cuproof_attest::ima::{ImaLog, ReplayMode, IMA_PCR};
use sha2::{Digest, Sha256};

const ENTRIES: usize = 50_000;

fn ima_list() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut b = ImaLogBuilder::new();
    b.boot_aggregate(&[1; 32]);
    for i in 1..ENTRIES {
        let path = format!("/usr/lib/x86_64-linux-gnu/lib{i}.so.{}", i % 7);
        let d: [u8; 32] = Sha256::digest(path.as_bytes()).into();
        b.file("ima-ng", &path, &d, None);
    }
    let bytes = b.finish();
    let datas = ImaLog::parse(&bytes)
        .expect("list")
        .entries
        .into_iter()
        .map(|e| e.template_data)
        .collect();
    (bytes, datas)
}

fn bench(c: &mut Criterion) {
    let (bytes, datas) = ima_list();
    let log = ImaLog::parse(&bytes).expect("list");
    let quoted = log.replay_sha256(IMA_PCR, log.entries.len(), ReplayMode::PerBank);
    let mut g = c.benchmark_group("ima_50k");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("parse_and_match_quote", |b| {
        b.iter(|| {
            let l = ImaLog::parse(&bytes).expect("list");
            assert_eq!(l.matches_quote(IMA_PCR, &quoted), Some(ReplayMode::PerBank));
        })
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| ImaLog::parse(&bytes).expect("list").entries.len())
    });
    g.bench_function("match_quote_only", |b| {
        b.iter(|| {
            assert_eq!(
                log.matches_quote(IMA_PCR, &quoted),
                Some(ReplayMode::PerBank)
            )
        })
    });
    g.bench_function("baseline_sha256_of_each_template_data", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for d in &datas {
                acc ^= Sha256::digest(d)[0];
            }
            acc
        })
    });
    g.finish();

    let boot = simulated_firmware();
    let mut g = c.benchmark_group("boot_log");
    g.throughput(Throughput::Bytes(boot.bytes.len() as u64));
    g.bench_function("parse_and_replay_30_events", |b| {
        b.iter(|| {
            let l = BootLog::parse(&boot.bytes).expect("log");
            l.replay(ALG_SHA256).expect("replay").len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
