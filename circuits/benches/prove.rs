//! Our prover (cached constraint matrices, witness-only synthesis) against arkworks' plain
//! `Groth16::prove` (synthesizes and builds the matrices on every proof) on the same circuit and key, in the
//! same run. Throughput is reported in constraints per second.
//!
//! Size: `CUPROOF_BENCH_SIZE=m,k,n` (default 8,8,8).

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cuproof_circuits::{groth, matmul_i8, prove_unchecked, MatmulCircuit};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn shape() -> (usize, usize, usize) {
    let s = std::env::var("CUPROOF_BENCH_SIZE").unwrap_or_else(|_| "8,8,8".into());
    let v: Vec<usize> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    match v.as_slice() {
        [m, k, n] => (*m, *k, *n),
        _ => (8, 8, 8),
    }
}

fn circuit(m: usize, k: usize, n: usize) -> MatmulCircuit {
    let a: Vec<i8> = (0..m * k).map(|i| (i * 37 % 256) as u8 as i8).collect();
    let b: Vec<i8> = (0..k * n).map(|i| (i * 91 % 256) as u8 as i8).collect();
    let c = matmul_i8(&a, &b, m, k, n).expect("shape");
    MatmulCircuit::new(m, k, n, a, b, c, [1; 32]).expect("circuit")
}

fn bench(c: &mut Criterion) {
    let (m, k, n) = shape();
    let pk = groth::setup_from_seed(m, k, n, [9; 32]).expect("setup");
    let constraints = pk.size().constraints as u64;
    eprintln!("matmul-i8 {m}x{k}x{n}: {constraints} constraints");
    let circ = circuit(m, k, n);
    let x = circ.public_input().expect("x");
    let mut rng = ChaCha20Rng::seed_from_u64(1);

    let mut g = c.benchmark_group("groth16-prove");
    g.sample_size(10);
    g.throughput(Throughput::Elements(constraints));
    let label = format!("{m}x{k}x{n}");
    g.bench_function(BenchmarkId::new("cuproof-cached-matrices", &label), |bch| {
        bch.iter(|| prove_unchecked(&pk, circ.clone(), &mut rng, None).expect("prove"))
    });
    g.bench_function(BenchmarkId::new("arkworks-Groth16::prove", &label), |bch| {
        bch.iter(|| Groth16::<Bn254>::prove(&pk.pk, circ.clone(), &mut rng).expect("prove"))
    });
    g.finish();

    // Interleaved pairs (the machine is shared: alternating the provers spreads load changes over both).
    let pairs: usize = std::env::var("CUPROOF_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (mut best_ours, mut best_plain) = (f64::MAX, f64::MAX);
    for _ in 0..pairs {
        let t = std::time::Instant::now();
        prove_unchecked(&pk, circ.clone(), &mut rng, None).expect("prove");
        best_ours = best_ours.min(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        Groth16::<Bn254>::prove(&pk.pk, circ.clone(), &mut rng).expect("prove");
        best_plain = best_plain.min(t.elapsed().as_secs_f64());
    }
    eprintln!(
        "interleaved best of {pairs}: ours {best_ours:.3} s ({:.0} constraints/s), arkworks {best_plain:.3} s \
         ({:.0} constraints/s), speed-up {:.2}x",
        constraints as f64 / best_ours,
        constraints as f64 / best_plain,
        best_plain / best_ours
    );

    // Both provers' outputs verify.
    let ours = prove_unchecked(&pk, circ.clone(), &mut rng, None).expect("prove");
    let plain = Groth16::<Bn254>::prove(&pk.pk, circ, &mut rng).expect("prove");
    assert!(groth::verify(pk.verifying_key(), &x, &ours).expect("verify"));
    assert!(groth::verify(pk.verifying_key(), &x, &plain).expect("verify"));
}

criterion_group!(benches, bench);
criterion_main!(benches);
