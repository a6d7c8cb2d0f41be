//! int8 GEMM `C = A·B` (s8 × s8 → s32) on `mma.sync.aligned.m16n8k32` (`kernels/gemm_i8.cu`).
//!
//! Layout: A is m×k row-major, B is given transposed as Bt (n×k row-major, i.e. B column-major), C is m×n
//! row-major int32. Any m, n, k ≥ 1 (tiles are zero-padded). Sums are exact for k ≤ [`MAX_K`]
//! (|Σ| ≤ k·2^14 < 2^31); the twin and the kernel both wrap modulo 2^32 beyond, so they stay bit-identical.

use crate::error::RuntimeError;

/// Kernel entry.
pub const ENTRY: &str = "cuproof_gemm_i8";
/// Threads per block.
pub const THREADS: u32 = 256;
/// Rows of C per block.
pub const BM: u32 = 128;
/// Columns of C per block.
pub const BN: u32 = 128;
/// Largest k for which every int32 sum is exact (and the Freivalds check applies).
pub const MAX_K: usize = (1 << 17) - 1;

/// Checks the operand lengths against (m, n, k); all dims ≥ 1 and below 2^31.
pub fn check_shape(
    a_len: usize,
    bt_len: usize,
    m: usize,
    n: usize,
    k: usize,
) -> Result<(), RuntimeError> {
    let lim = i32::MAX as usize;
    if m == 0 || n == 0 || k == 0 || m > lim || n > lim || k > lim {
        return Err(RuntimeError::Shape(format!(
            "gemm dims must be in 1..2^31: m={m} n={n} k={k}"
        )));
    }
    let (ma, nb) = (m.checked_mul(k), n.checked_mul(k));
    if ma != Some(a_len) || nb != Some(bt_len) {
        return Err(RuntimeError::Shape(format!(
            "gemm: A has {a_len} elements (expected m*k = {m}*{k}), Bt has {bt_len} (expected n*k = {n}*{k})"
        )));
    }
    if m.checked_mul(n).is_none() {
        return Err(RuntimeError::Shape("gemm: m*n overflows".into()));
    }
    Ok(())
}

/// Launch grid of the kernel for (m, n): one block per 128×128 tile of C.
pub fn grid(m: usize, n: usize) -> [u32; 3] {
    [
        n.div_ceil(BN as usize) as u32,
        m.div_ceil(BM as usize) as u32,
        1,
    ]
}

/// CPU twin: `C[i][j] = Σ_l A[i][l]·Bt[j][l]` with wrapping int32 accumulation (exact for k ≤ [`MAX_K`]).
pub fn gemm_i8_cpu(
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Vec<i32>, RuntimeError> {
    use rayon::prelude::*;
    check_shape(a.len(), bt.len(), m, n, k)?;
    let mut c = vec![0i32; m * n];
    c.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        let ar = &a[i * k..(i + 1) * k];
        for (j, out) in row.iter_mut().enumerate() {
            let br = &bt[j * k..(j + 1) * k];
            let mut acc = 0i32;
            for (x, y) in ar.iter().zip(br) {
                acc = acc.wrapping_add(*x as i32 * *y as i32);
            }
            *out = acc;
        }
    });
    Ok(c)
}

/// Integer operations of one GEMM (2·m·n·k), for throughput figures.
pub fn ops(m: usize, n: usize, k: usize) -> f64 {
    2.0 * m as f64 * n as f64 * k as f64
}
