//! The verifier's row check of a capacity challenge: 128 opened rows of a workload with `n = 2048`, `k = 16384`
//! (a quarter of the GPU classes' Bᵀ), checked by one random combination over F_p (`row_check::opened_rows_hold`:
//! one pass of `4·n·k` 16-bit multiply-adds over Bᵀ) against the same-process baseline of recomputing every row
//! (`workload::expected_rows`: `s·n·k` int8 multiply-adds, one pass over Bᵀ for all rows). The bound of both is the
//! integer multiply-adds: the combination does `4/s` of the baseline's.

use criterion::{criterion_group, criterion_main, Criterion};
use cuproof_capacity::row_check::opened_rows_hold;
use cuproof_capacity::workload::{b_transposed, expected_rows, Workload};

fn bench(c: &mut Criterion) {
    let w = Workload {
        m: 4096,
        n: 2048,
        k: 16384,
        iterations: 4,
    };
    let seed = [7u8; 32];
    let bt = b_transposed(&seed, &w);
    let rows: Vec<u64> = (0..128u64).map(|i| i * 127).collect();
    let opened_rows = expected_rows(&seed, &w, &bt, &rows).expect("rows");
    let opened: Vec<(u64, &[u8])> = rows
        .iter()
        .zip(&opened_rows)
        .map(|(r, c)| (*r, c.as_slice()))
        .collect();
    let digest = [3u8; 32];
    assert_eq!(
        opened_rows_hold(&seed, &w, &bt, &digest, &opened).expect("check"),
        Some(true)
    );
    let mut g = c.benchmark_group("capacity row check (128 rows, n 2048, k 16384)");
    g.sample_size(10);
    g.bench_function("one combination over F_p (row_check)", |b| {
        b.iter(|| opened_rows_hold(&seed, &w, &bt, &digest, &opened).expect("check"))
    });
    g.bench_function("baseline: recompute every row (expected_rows)", |b| {
        b.iter(|| expected_rows(&seed, &w, &bt, &rows).expect("rows"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
