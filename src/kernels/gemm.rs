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
/// Hopper kernel (`kernels/gemm_i8_sm90.cu`, module `gemm_i8_sm90`): TMA + wgmma.m64n256k32, 128×256 tiles.
pub mod sm90 {
    /// Module name (loaded on compute capability 9.0 only).
    pub const MODULE: &str = "gemm_i8_sm90";
    /// Kernel entry.
    pub const ENTRY: &str = "cuproof_gemm_i8_sm90";
    /// Threads per block: a producer warpgroup and two consumer warpgroups.
    pub const THREADS: u32 = 384;
    /// Rows of C per block.
    pub const BM: u32 = 128;
    /// Columns of C per block.
    pub const BN: u32 = 256;
    /// Bytes of K per pipeline stage (one 128-byte swizzle row).
    pub const BK: u32 = 128;
    /// Pipeline stages.
    pub const STAGES: u32 = 4;
    /// Dynamic shared memory per block: the stages, 2·STAGES mbarriers and 1024 bytes of alignment slack
    /// (`CP_SM90_SMEM_BYTES` in `kernels/gemm_sm90.cuh`).
    pub const SMEM_BYTES: u32 = STAGES * (BM + BN) * BK + 16 * STAGES + 1024;

    /// Whether the Hopper kernel can run this shape: the TMA needs 16-byte row strides (k % 16 == 0).
    pub fn applies(k: usize) -> bool {
        k.is_multiple_of(16)
    }

    /// One-dimensional grid: one block per 128×256 tile (grouped rasterisation inside the kernel).
    pub fn grid(m: usize, n: usize) -> [u32; 3] {
        [
            (m.div_ceil(BM as usize) * n.div_ceil(BN as usize)) as u32,
            1,
            1,
        ]
    }
}

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
