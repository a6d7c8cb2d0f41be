//! Criterion benchmarks of the kernels' CPU twins (short runs: 10 samples, ~1 s each).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cuproof::kernels::{fill, freivalds, gemm, keccak, merkle};
use cuproof_core::commitment::CommitParams;
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernels-cpu-twins");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));

    g.throughput(Throughput::Bytes(200));
    g.bench_function("keccak_f1600", |b| {
        let mut s = [7u64; 25];
        b.iter(|| keccak::f1600(black_box(&mut s)))
    });

    let data = fill::fill_cpu(&[1; 32], 0, 1 << 20);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("commit_1MiB_keccak_4KiB", |b| {
        b.iter(|| merkle::commit_cpu(black_box(&data), &CommitParams::default()))
    });
    g.bench_function("fill_1MiB", |b| {
        b.iter(|| fill::fill_cpu(black_box(&[2; 32]), 0, 1 << 20))
    });

    let n = 128;
    let a = fill::fill_i8_cpu(&[3; 32], fill::STREAM_A, n * n);
    let bt = fill::fill_i8_cpu(&[3; 32], fill::STREAM_B, n * n);
    let cm = gemm::gemm_i8_cpu(&a, &bt, n, n, n).expect("shape");
    g.throughput(Throughput::Elements(gemm::ops(n, n, n) as u64));
    g.bench_function("gemm_i8_128", |b| {
        b.iter(|| gemm::gemm_i8_cpu(black_box(&a), &bt, n, n, n))
    });
    g.throughput(Throughput::Elements((3 * n * n) as u64));
    g.bench_function("freivalds_128", |b| {
        b.iter(|| freivalds::freivalds_cpu(black_box(&a), &bt, &cm, n, n, n, &[4; 32]))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
