//! Exact Freivalds check of `C = A·B` over F_p, p = 2^61 − 1 (`kernels/freivalds.cu`).
//!
//! With r ∈ F_p^n drawn from the seeded fill (stream [`crate::kernels::fill::STREAM_FREIVALDS`], word j masked to
//! 61 bits and reduced), compute `y = B·r`, `z = A·y`, `w = C·r` and accept iff `z = w`. If C ≠ A·B as integers
//! (k ≤ [`crate::kernels::gemm::MAX_K`], so every entry of A·B − C is nonzero mod p when nonzero), a nonzero row
//! d of A·B − C gives `d·r = 0` with probability at most 2^-60 over r (each r_j takes any value with probability
//! ≤ 2^-60), so one trial's false-accept probability is ≤ 2^-60 ≤ 2^-40. The cost is O(mk + nk + mn).

use crate::error::RuntimeError;
use crate::kernels::{fill, gemm};

/// The prime 2^61 − 1.
pub const P: u64 = (1 << 61) - 1;
/// Entry: partial sums of B·r over column slices.
pub const ENTRY_BR_PARTIAL: &str = "cuproof_freivalds_br_partial";
/// Entry: sum of the slices.
pub const ENTRY_SUM_SLICES: &str = "cuproof_freivalds_sum_slices";
/// Entry: A·y (int8 rows).
pub const ENTRY_ROWS_I8: &str = "cuproof_freivalds_rows_i8";
/// Entry: C·r (int32 rows).
pub const ENTRY_ROWS_I32: &str = "cuproof_freivalds_rows_i32";
/// Column slices of the B·r kernel (the kernel folds its partials every 256 terms, so any slice length is exact).
pub const SLICES: u32 = 64;
/// l values per thread of the B·r kernel.
pub const BR_PER_THREAD: u32 = 8;
/// Rows per warp of the A·y kernel.
pub const ROWS_I8_PER_WARP: u32 = 4;
/// Rows per warp of the C·r kernel.
pub const ROWS_I32_PER_WARP: u32 = 4;
/// l values per block of the slice-sum kernel (eight threads per l).
pub const SUM_L_PER_BLOCK: u32 = 32;

/// The outcome of a check: the vectors both sides computed and the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreivaldsOutcome {
    /// y = B·r (k entries).
    pub y: Vec<u64>,
    /// z = A·y (m entries).
    pub z: Vec<u64>,
    /// w = C·r (m entries).
    pub w: Vec<u64>,
    /// z == w.
    pub accept: bool,
}

/// The random vector r ∈ F_p^n derived from `seed`.
pub fn r_vector(seed: &[u8; 32], n: usize) -> Vec<u64> {
    let bytes = fill::fill_cpu(seed, fill::STREAM_FREIVALDS, n * 8);
    bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            (u64::from_le_bytes(b) & P) % P
        })
        .collect()
}

/// Checks operand sizes and the exactness bound.
pub fn check(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    m: usize,
    n: usize,
    k: usize,
) -> Result<(), RuntimeError> {
    gemm::check_shape(a.len(), bt.len(), m, n, k)?;
    if c.len() != m * n {
        return Err(RuntimeError::Shape(format!(
            "freivalds: C has {} elements, expected {}",
            c.len(),
            m * n
        )));
    }
    if k > gemm::MAX_K {
        return Err(RuntimeError::Shape(format!(
            "freivalds: k = {k} exceeds {} (int32 sums not exact)",
            gemm::MAX_K
        )));
    }
    Ok(())
}

/// CPU twin of the three kernels, with r given.
pub fn freivalds_with_r(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    r: &[u64],
    m: usize,
    n: usize,
    k: usize,
) -> FreivaldsOutcome {
    use rayon::prelude::*;
    let p = P as i128;
    let y: Vec<u64> = (0..k)
        .into_par_iter()
        .map(|l| {
            let mut acc: i128 = 0;
            for j in 0..n {
                acc += bt[j * k + l] as i128 * r[j] as i128;
            }
            acc.rem_euclid(p) as u64
        })
        .collect();
    let zw: Vec<(u64, u64)> = (0..m)
        .into_par_iter()
        .map(|i| {
            let mut za: i128 = 0;
            for l in 0..k {
                za += a[i * k + l] as i128 * y[l] as i128;
            }
            let mut wa: i128 = 0;
            for j in 0..n {
                wa += c[i * n + j] as i128 * r[j] as i128;
            }
            (za.rem_euclid(p) as u64, wa.rem_euclid(p) as u64)
        })
        .collect();
    let (z, w): (Vec<u64>, Vec<u64>) = zw.into_iter().unzip();
    let accept = z == w;
    FreivaldsOutcome { y, z, w, accept }
}

/// CPU twin: the check with r derived from `seed`.
pub fn freivalds_cpu(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    m: usize,
    n: usize,
    k: usize,
    seed: &[u8; 32],
) -> Result<FreivaldsOutcome, RuntimeError> {
    check(a, bt, c, m, n, k)?;
    let r = r_vector(seed, n);
    Ok(freivalds_with_r(a, bt, c, &r, m, n, k))
}
