//! Measures the verifier's CPU cost for a class: generating Bᵀ, recomputing sampled rows (the fallback, and what
//! the node does to open them), and the row check by one random combination (what the verifier does).
//!
//! `cargo run --release -p cuproof-capacity --example verifier_cost -- [class] [rows]` (defaults: `h100-sxm`, 2).

use cuproof_capacity::class::{builtin_classes, find};
use cuproof_capacity::row_check::opened_rows_hold;
use cuproof_capacity::workload::{b_transposed, expected_row, expected_rows};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let class = args.get(1).map(String::as_str).unwrap_or("h100-sxm");
    let rows: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let table = builtin_classes();
    let spec = match find(&table, class) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let w = spec.workload;
    let seed = [7u8; 32];
    let t0 = Instant::now();
    let bt = b_transposed(&seed, &w);
    let gen = t0.elapsed();
    // one row alone (streams all of Bᵀ), then the class's samples in one pass over Bᵀ (what the verifier does)
    let t1 = Instant::now();
    for r in 0..rows.min(w.total_rows()) {
        if let Err(e) = expected_row(&seed, &w, &bt, r * 7919 % w.total_rows()) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let per_row = t1.elapsed() / rows.max(1) as u32;
    let sample: Vec<u64> = (0..u64::from(spec.samples).min(w.total_rows()))
        .map(|r| r * 7919 % w.total_rows())
        .collect();
    let mut sample = sample;
    sample.sort_unstable();
    sample.dedup();
    let t2 = Instant::now();
    let rows_c = match expected_rows(&seed, &w, &bt, &sample) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let batch = t2.elapsed();
    let opened: Vec<(u64, &[u8])> = sample
        .iter()
        .zip(&rows_c)
        .map(|(r, c)| (*r, c.as_slice()))
        .collect();
    let t3 = Instant::now();
    match opened_rows_hold(&seed, &w, &bt, &[5u8; 32], &opened) {
        Ok(Some(true)) => {}
        other => {
            eprintln!("the combination did not accept the recomputed rows: {other:?}");
            std::process::exit(1);
        }
    }
    let combined = t3.elapsed();
    println!(
        "class {class}: Bt {} MiB generated in {:.2?}; one row alone {:.2?} ({} multiply-adds); {} samples in one pass \
         over Bt {:.2?} ({:.2?} per row) -> {:.2?} total",
        bt.len() >> 20,
        gen,
        per_row,
        w.n as u64 * w.k as u64,
        sample.len(),
        batch,
        batch / sample.len().max(1) as u32,
        gen + batch
    );
    println!(
        "class {class}: the verifier's row check of the {} samples by one combination over F_p: {:.2?} -> {:.2?} total",
        sample.len(),
        combined,
        gen + combined
    );
}
