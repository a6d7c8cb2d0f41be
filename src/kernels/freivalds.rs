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
/// The Hopper build of these kernels with programmatic dependent launch (`kernels/freivalds_pdl_sm90.cu`: the same
/// entries, the dependents wait with `griddepcontrol.wait`).
pub const PDL_MODULE: &str = "freivalds_pdl_sm90";
/// Entry: B·r with the slice sum folded in (atomic accumulation, the last block of a column group finishes y).
pub const ENTRY_BR_FUSED: &str = "cuproof_freivalds_br_fused";
/// Entry: partial sums of B·r with 4 l per thread and no double buffering (48 registers against 119).
pub const ENTRY_BR_PARTIAL4: &str = "cuproof_freivalds_br_partial4";
/// Entry: B·r partial sums with the multiply-adds as two-way dot products (`dp2a`, two rows per instruction).
pub const ENTRY_BR_PARTIAL_DP2A: &str = "cuproof_freivalds_br_partial_dp2a";
/// Entry: the 4-l B·r with `dp2a`.
pub const ENTRY_BR_PARTIAL4_DP2A: &str = "cuproof_freivalds_br_partial4_dp2a";
/// Entry: A·y with `dp2a` (four bytes of a row per pair of instructions per limb).
pub const ENTRY_ROWS_I8_DP2A: &str = "cuproof_freivalds_rows_i8_dp2a";
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
/// Rows per warp of the C·r kernel (`CP_FV_ROWS_I32`).
pub const ROWS_I32_PER_WARP: u32 = 2;
/// l values per block of the slice-sum kernel (eight threads per l).
pub const SUM_L_PER_BLOCK: u32 = 32;
/// Entry: the bilinear check's two dot products (u·v and s·w).
pub const ENTRY_DOT2: &str = "cuproof_freivalds_dot2";
/// Fill stream of the bilinear check's left vector s ∈ F_p^m (r, on the right, is [`fill::STREAM_FREIVALDS`]).
pub const STREAM_LEFT: u8 = 0xF1;
/// Threads per block of the dot-product kernel (one block per dot product).
pub const DOT_BLOCK: u32 = 1024;
/// Column slices of B·r in the production launch (at most [`SLICES`]; measured on H100s, docs/perf.md §4).
pub const DEFAULT_SLICES: u32 = 32;
/// Blocks per SM of the C·r kernel in the production launch (its warps stride over the row groups).
pub const CR_BLOCKS_PER_SM: u32 = 2;
/// Threads per block of the four kernels.
pub const BLOCK: u32 = 256;

/// Whether `entry`, from the [`PDL_MODULE`], waits for its predecessor on the stream itself (`griddepcontrol.wait`
/// at its start: the slice sum and both A·y): such a launch may be issued as a programmatic dependent of the one
/// before it. `tests/kernels_ptx.rs` checks this against the module's PTX, entry by entry.
pub fn waits_for_primary(entry: &str) -> bool {
    matches!(entry, ENTRY_SUM_SLICES | ENTRY_ROWS_I8 | ENTRY_ROWS_I8_DP2A)
}

/// Grid of one of the four launches for an m×k by k×n product: `slices` column slices of B·r (1..=[`SLICES`]),
/// C·r's grid capped at `cr_cap` blocks (0: one block per 8 row groups). `None` for an unknown entry. Shared by
/// the CUDA backend and the CPU backend's launch records, so both logs carry the same launch shapes (the cap
/// depends on the GPU's SM count, which the CPU backend does not have: it records C·r uncapped).
pub fn grid(entry: &str, m: u32, k: u32, slices: u32, cr_cap: u32) -> Option<[u32; 3]> {
    let g = match entry {
        ENTRY_BR_PARTIAL | ENTRY_BR_PARTIAL_DP2A => [
            k.div_ceil(BLOCK * BR_PER_THREAD),
            slices.clamp(1, SLICES),
            1,
        ],
        ENTRY_BR_PARTIAL4 | ENTRY_BR_PARTIAL4_DP2A => {
            [k.div_ceil(BLOCK * 4), slices.clamp(1, SLICES), 1]
        }
        ENTRY_BR_FUSED => [
            k.div_ceil(BLOCK * BR_PER_THREAD),
            slices.clamp(1, SLICES),
            1,
        ],
        ENTRY_SUM_SLICES => [k.div_ceil(SUM_L_PER_BLOCK), 1, 1],
        ENTRY_DOT2 => [2, 1, 1],
        ENTRY_ROWS_I8 | ENTRY_ROWS_I8_DP2A => [m.div_ceil(8 * ROWS_I8_PER_WARP), 1, 1],
        ENTRY_ROWS_I32 => {
            let g = m.div_ceil(8 * ROWS_I32_PER_WARP);
            [if cr_cap > 0 { g.min(cr_cap) } else { g }, 1, 1]
        }
        _ => return None,
    };
    Some([g[0].max(1), g[1], g[2]])
}

/// C·r's grid and block with `block` threads per block (0 or [`BLOCK`]: the [`grid`] of [`ENTRY_ROWS_I32`] with
/// [`BLOCK`] threads): one block per `block / 32 × ROWS_I32_PER_WARP` rows, capped at `cap` blocks (0: uncapped).
/// Shared by the CUDA backend and the emulator. Fails for a block that is not a multiple of 32 up to [`BLOCK`].
pub fn cr_launch(m: u32, cap: u32, block: u32) -> Result<([u32; 3], u32), RuntimeError> {
    if block == 0 || block == BLOCK {
        let g = grid(ENTRY_ROWS_I32, m, 0, 1, cap).unwrap_or([1, 1, 1]);
        return Ok((g, BLOCK));
    }
    if !block.is_multiple_of(32) || block > BLOCK {
        return Err(RuntimeError::Shape(format!(
            "freivalds: C·r block of {block} threads (a multiple of 32 up to {BLOCK})"
        )));
    }
    let groups = m.div_ceil(block / 32 * ROWS_I32_PER_WARP);
    let g = if cap > 0 { groups.min(cap) } else { groups };
    Ok(([g.max(1), 1, 1], block))
}

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
    residues(seed, fill::STREAM_FREIVALDS, n)
}

/// The bilinear check's left vector s ∈ F_p^m derived from `seed` (stream [`STREAM_LEFT`]).
pub fn s_vector(seed: &[u8; 32], m: usize) -> Vec<u64> {
    residues(seed, STREAM_LEFT, m)
}

/// `len` residues: little-endian words of fill stream `stream`, masked to 61 bits and reduced mod p.
fn residues(seed: &[u8; 32], stream: u8, len: usize) -> Vec<u64> {
    let bytes = fill::fill_cpu(seed, stream, len * 8);
    bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            (u64::from_le_bytes(b) & P) % P
        })
        .collect()
}

/// The operands of a check, by reference: A (m×k int8, row-major), Bᵀ (n×k int8, row-major), the claimed C (m×n
/// int32, row-major) and the shape. Made only by [`Operands::new`], which applies [`check`], so a function that
/// takes them need not check them again.
#[derive(Clone, Copy, Debug)]
pub struct Operands<'a> {
    a: &'a [i8],
    bt: &'a [i8],
    c: &'a [i32],
    m: usize,
    n: usize,
    k: usize,
}

impl<'a> Operands<'a> {
    /// The operands, if their lengths fit the shape and k is within the exactness bound ([`check`]).
    pub fn new(
        a: &'a [i8],
        bt: &'a [i8],
        c: &'a [i32],
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Self, RuntimeError> {
        check(a, bt, c, m, n, k)?;
        Ok(Operands { a, bt, c, m, n, k })
    }

    /// The same A and Bᵀ with another claimed C (of the same length).
    pub fn with_c(self, c: &'a [i32]) -> Result<Self, RuntimeError> {
        Operands::new(self.a, self.bt, c, self.m, self.n, self.k)
    }

    /// A (m×k).
    pub fn a(&self) -> &'a [i8] {
        self.a
    }

    /// Bᵀ (n×k).
    pub fn bt(&self) -> &'a [i8] {
        self.bt
    }

    /// The claimed C (m×n).
    pub fn c(&self) -> &'a [i32] {
        self.c
    }

    /// `(m, n, k)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.m, self.n, self.k)
    }
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

/// `Σ_j x_j · M[j][l] mod p` for each of the k columns l of a rows × k row-major int8 matrix M (B·r from Bt,
/// sᵀA from A: the B·r kernel's sums).
fn weighted_column_sums(mat: &[i8], rows: usize, k: usize, x: &[u64]) -> Vec<u64> {
    use rayon::prelude::*;
    (0..k)
        .into_par_iter()
        .map(|l| {
            let acc: i128 = (0..rows)
                .map(|j| mat[j * k + l] as i128 * x[j] as i128)
                .sum();
            acc.rem_euclid(P as i128) as u64
        })
        .collect()
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
    let y = weighted_column_sums(bt, n, k, r);
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

/// The outcome of the bilinear check (docs/kernels.md §4b): `sᵀ(A·B)r` against `sᵀC r`, with no dependency
/// between the three passes over A, B and C.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilinearOutcome {
    /// u = sᵀA (k entries).
    pub u: Vec<u64>,
    /// v = B·r (k entries; the `y` of [`FreivaldsOutcome`]).
    pub v: Vec<u64>,
    /// w = C·r (m entries).
    pub w: Vec<u64>,
    /// u·v = sᵀ(A·B)r.
    pub lhs: u64,
    /// s·w = sᵀC r.
    pub rhs: u64,
    /// lhs == rhs.
    pub accept: bool,
}

/// `a · b mod p` for residues (the twin of the dot-product kernel; any summation order gives this value).
pub fn dot_mod_p(a: &[u64], b: &[u64]) -> u64 {
    a.iter().zip(b).fold(0u128, |acc, (&x, &y)| {
        (acc + x as u128 * y as u128) % P as u128
    }) as u64
}

/// CPU twin of the bilinear check with s and r given. If C ≠ A·B (k ≤ [`gemm::MAX_K`]), D = A·B − C has a
/// nonzero entry mod p and `sᵀD r` is a nonzero bilinear form: for s, r with independent entries each taking
/// any value of F_p with probability ≤ 2^-60, it vanishes with probability ≤ 2 · 2^-60 = 2^-59 ≤ 2^-40
/// (Schwartz–Zippel in the two vectors, one after the other).
#[allow(clippy::too_many_arguments)]
pub fn bilinear_with_r(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    s: &[u64],
    r: &[u64],
    m: usize,
    n: usize,
    k: usize,
) -> BilinearOutcome {
    bilinear_from(&freivalds_with_r(a, bt, c, r, m, n, k), a, s, m, k)
}

/// The bilinear outcome from the chain check's outcome for the same r (its y is v, its w is w): adds u = sᵀA
/// and the two dot products.
pub fn bilinear_from(
    base: &FreivaldsOutcome,
    a: &[i8],
    s: &[u64],
    m: usize,
    k: usize,
) -> BilinearOutcome {
    let u = weighted_column_sums(a, m, k, s);
    let lhs = dot_mod_p(&u, &base.y);
    let rhs = dot_mod_p(s, &base.w);
    BilinearOutcome {
        u,
        v: base.y.clone(),
        w: base.w.clone(),
        lhs,
        rhs,
        accept: lhs == rhs,
    }
}

/// CPU twin of the bilinear check with s and r derived from `seed`.
pub fn bilinear_cpu(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    m: usize,
    n: usize,
    k: usize,
    seed: &[u8; 32],
) -> Result<BilinearOutcome, RuntimeError> {
    check(a, bt, c, m, n, k)?;
    Ok(bilinear_with_r(
        a,
        bt,
        c,
        &s_vector(seed, m),
        &r_vector(seed, n),
        m,
        n,
        k,
    ))
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

/// The tensor-core Freivalds kernels (`kernels/freivalds_tc.cuh`): the same y, z, w, with every matrix entry's
/// multiply-add done by `mma.sync` against the byte limbs of the vector.
pub mod tc {
    use crate::error::RuntimeError;
    use crate::runtime::Arg;

    /// Entry: limb planes of r and of e = 2^(8p)·r, block sums of r.
    pub const ENTRY_PREP: &str = "cuproof_freivalds_tc_prep";
    /// Entry: slices of y = B·r.
    pub const ENTRY_BR: &str = "cuproof_freivalds_tc_br";
    /// Entry: y from its slices, and y's limb planes.
    pub const ENTRY_FINISH_Y: &str = "cuproof_freivalds_tc_finish_y";
    /// Entry: slices of z = A·y.
    pub const ENTRY_AY: &str = "cuproof_freivalds_tc_ay";
    /// Entry: slices of w = C·r (offset by 2^31 per entry).
    pub const ENTRY_CR: &str = "cuproof_freivalds_tc_cr";
    /// Entry: z and w from their slices, offset removed.
    pub const ENTRY_FINISH_ZW: &str = "cuproof_freivalds_tc_finish_zw";
    /// The six launches in order.
    pub const ENTRIES: [&str; 6] = [
        ENTRY_PREP,
        ENTRY_BR,
        ENTRY_FINISH_Y,
        ENTRY_AY,
        ENTRY_CR,
        ENTRY_FINISH_ZW,
    ];

    /// Byte limbs of a residue (the mma's N = 8).
    pub const LIMBS: u32 = 8;
    /// Plane strides are multiples of this.
    pub const STRIDE_ALIGN: u32 = 256;
    /// Columns of Bt per warp in the B·r kernel.
    pub const BR_COLS: u32 = 128;
    /// Rows of Bt per step of the B·r kernel (slice lengths are multiples of it).
    pub const BR_ROWS: u32 = 32;
    /// Most rows in one B·r slice (keeps the int32 limb sums exact: 32768·128·255 < 2^31).
    pub const BR_MAX_ROWS: u32 = 32768;
    /// Matrix rows per warp in the row kernels.
    pub const ROWS_TILE: u32 = 16;
    /// Bytes of each row per step of the row kernels (slice lengths are multiples of it).
    pub const ROWS_STEP: u32 = 256;
    /// Warps per block (256 threads).
    pub const WARPS: u32 = 8;
    /// Resident warps per SM the plan aims to fill (one wave).
    pub const TARGET_WARPS_PER_SM: u32 = 16;

    /// Whether the kernels apply: k % 16 == 0 (16-byte rows of A and Bt), n % 4 == 0 (16-byte rows of C), and
    /// every byte offset fits in 32 bits.
    pub fn applies(m: usize, n: usize, k: usize) -> bool {
        m > 0
            && n > 0
            && k > 0
            && k.is_multiple_of(16)
            && n.is_multiple_of(4)
            && (4 * n as u64) < (1 << 31)
            && (k as u64) < (1 << 31)
            && (m as u64) < (1 << 31)
    }

    /// Launch geometry: plane strides and the slicing of each reduction.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Plan {
        /// Stride of the r planes (bytes; the e planes use 4·rstride).
        pub rstride: u32,
        /// Stride of the y planes (bytes).
        pub ystride: u32,
        /// Rows of Bt per B·r slice (a multiple of [`BR_ROWS`], at most [`BR_MAX_ROWS`]).
        pub br_per: u32,
        /// B·r slices.
        pub br_slices: u32,
        /// Bytes of each row of A per A·y slice (a multiple of [`ROWS_STEP`]).
        pub ay_per: u32,
        /// A·y slices.
        pub ay_slices: u32,
        /// Bytes of each row of C per C·r slice (a multiple of [`ROWS_STEP`]).
        pub cr_per: u32,
        /// C·r slices.
        pub cr_slices: u32,
        /// Blocks of the prep kernel (= partial sums of r).
        pub prep_blocks: u32,
    }

    impl Plan {
        /// Whether the plan is one the kernels accept for an m×k by k×n product: slice lengths are multiples of
        /// the step (B·r slices at most [`BR_MAX_ROWS`]), the slice counts cover the reductions, the strides cover
        /// the vectors.
        pub fn fits(&self, m: usize, n: usize, k: usize) -> bool {
            let covers = |per: u32, slices: u32, len: usize| {
                per > 0 && slices as usize == len.div_ceil(per as usize)
            };
            applies(m, n, k)
                && self.br_per.is_multiple_of(BR_ROWS)
                && self.br_per <= BR_MAX_ROWS
                && covers(self.br_per, self.br_slices, n)
                && self.ay_per.is_multiple_of(ROWS_STEP)
                && covers(self.ay_per, self.ay_slices, k)
                && self.cr_per.is_multiple_of(ROWS_STEP)
                && covers(self.cr_per, self.cr_slices, 4 * n)
                && self.rstride as usize >= n
                && self.rstride.is_multiple_of(STRIDE_ALIGN)
                && self.ystride as usize >= k
                && self.ystride.is_multiple_of(STRIDE_ALIGN)
                && self.prep_blocks.checked_mul(256) == Some(self.rstride)
        }
    }

    fn round_up(x: u64, a: u64) -> u64 {
        x.div_ceil(a) * a
    }

    /// Splits `len` into slices of a multiple of `unit` (at most `max`), aiming at `want` slices.
    fn slicing(len: u64, unit: u64, max: u64, want: u64) -> (u32, u32) {
        let lo = len.div_ceil(max).max(1);
        let hi = len.div_ceil(unit).max(1);
        let s = want.clamp(lo, hi);
        let per = round_up(len.div_ceil(s), unit).min(max);
        (per as u32, len.div_ceil(per) as u32)
    }

    /// The plan for an m×k by k×n product on a GPU with `sms` multiprocessors: each reduction is sliced so that
    /// its kernel runs about one wave of [`TARGET_WARPS_PER_SM`] warps per SM.
    pub fn plan(m: usize, n: usize, k: usize, sms: u32) -> Result<Plan, RuntimeError> {
        if !applies(m, n, k) {
            return Err(RuntimeError::Shape(format!(
                "freivalds (tensor cores): needs k % 16 == 0 and n % 4 == 0, got m = {m}, n = {n}, k = {k}"
            )));
        }
        let (m, n, k) = (m as u64, n as u64, k as u64);
        let target = u64::from(sms.max(1)) * u64::from(TARGET_WARPS_PER_SM);
        let col_warps = k.div_ceil(u64::from(BR_COLS));
        let (br_per, br_slices) = slicing(
            n,
            u64::from(BR_ROWS),
            u64::from(BR_MAX_ROWS),
            target.div_ceil(col_warps),
        );
        let row_warps = m.div_ceil(u64::from(ROWS_TILE));
        let want = target.div_ceil(row_warps);
        let unit = u64::from(ROWS_STEP);
        let (ay_per, ay_slices) = slicing(k, unit, u64::MAX / 2, want);
        let (cr_per, cr_slices) = slicing(4 * n, unit, u64::MAX / 2, want);
        let rstride = round_up(n, u64::from(STRIDE_ALIGN));
        let plan = Plan {
            rstride: rstride as u32,
            ystride: round_up(k, u64::from(STRIDE_ALIGN)) as u32,
            br_per,
            br_slices,
            ay_per,
            ay_slices,
            cr_per,
            cr_slices,
            prep_blocks: (rstride / 256) as u32,
        };
        debug_assert!(plan.fits(m as usize, n as usize, k as usize));
        Ok(plan)
    }

    /// Addresses of the operands and scratch of one tensor-core check: device pointers on the GPU, host addresses
    /// in the emulated kernels' tests. Scratch lengths per [`Plan`]: `rplanes` LIMBS·rstride bytes, `eplanes`
    /// 4·LIMBS·rstride, `rsum` prep_blocks words, `ypart` br_slices·k, `yplanes` LIMBS·ystride bytes, `zpart`
    /// ay_slices·m words, `wpart` cr_slices·m.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Buffers {
        /// A (m·k int8).
        pub a: u64,
        /// Bt (n·k int8).
        pub bt: u64,
        /// C (m·n int32).
        pub c: u64,
        /// r (n words).
        pub r: u64,
        /// r's limb planes.
        pub rplanes: u64,
        /// The e planes of C·r.
        pub eplanes: u64,
        /// Partial sums of r.
        pub rsum: u64,
        /// B·r slice partials.
        pub ypart: u64,
        /// y's limb planes.
        pub yplanes: u64,
        /// A·y slice partials.
        pub zpart: u64,
        /// C·r slice partials.
        pub wpart: u64,
        /// y (k words).
        pub y: u64,
        /// z (m words).
        pub z: u64,
        /// w (m words).
        pub w: u64,
    }

    /// Grid `(x, y)` (256 threads per block) and arguments of `entry` (one of [`ENTRIES`]) for an m×k by k×n
    /// product under `plan`; `None` for another entry. Shared by the CUDA backend and the emulated kernels' tests.
    pub fn launch(
        entry: &str,
        plan: &Plan,
        m: usize,
        n: usize,
        k: usize,
        b: &Buffers,
    ) -> Option<([u32; 2], Vec<Arg>)> {
        let (m32, n32, k32) = (m as u32, n as u32, k as u32);
        let grid = |gx: u32, gy: u32| [gx.max(1), gy.max(1)];
        let row_blocks = m32.div_ceil(WARPS * ROWS_TILE);
        let p = Arg::Ptr;
        Some(match entry {
            ENTRY_PREP => (
                grid(plan.prep_blocks, 1),
                vec![
                    p(b.r),
                    Arg::U32(n32),
                    p(b.rplanes),
                    Arg::U32(plan.rstride),
                    p(b.eplanes),
                    p(b.rsum),
                ],
            ),
            ENTRY_BR => (
                grid(k32.div_ceil(WARPS * BR_COLS), plan.br_slices),
                vec![
                    p(b.bt),
                    p(b.rplanes),
                    Arg::U32(plan.rstride),
                    Arg::U32(n32),
                    Arg::U32(k32),
                    Arg::U32(plan.br_per),
                    p(b.ypart),
                ],
            ),
            ENTRY_FINISH_Y => (
                grid(k32.div_ceil(256), 1),
                vec![
                    p(b.ypart),
                    Arg::U32(k32),
                    Arg::U32(plan.br_slices),
                    p(b.y),
                    p(b.yplanes),
                    Arg::U32(plan.ystride),
                ],
            ),
            ENTRY_AY => (
                grid(row_blocks, plan.ay_slices),
                vec![
                    p(b.a),
                    p(b.yplanes),
                    Arg::U32(plan.ystride),
                    Arg::U32(m32),
                    Arg::U32(k32),
                    Arg::U32(plan.ay_per),
                    p(b.zpart),
                ],
            ),
            ENTRY_CR => (
                grid(row_blocks, plan.cr_slices),
                vec![
                    p(b.c),
                    p(b.eplanes),
                    Arg::U32(4 * plan.rstride),
                    Arg::U32(m32),
                    Arg::U32(n32),
                    Arg::U32(plan.cr_per),
                    p(b.wpart),
                ],
            ),
            ENTRY_FINISH_ZW => (
                grid(m32.div_ceil(256), 1),
                vec![
                    p(b.zpart),
                    Arg::U32(plan.ay_slices),
                    p(b.wpart),
                    Arg::U32(plan.cr_slices),
                    Arg::U32(m32),
                    p(b.rsum),
                    Arg::U32(plan.prep_blocks),
                    p(b.z),
                    p(b.w),
                ],
            ),
            _ => return None,
        })
    }
}

/// The bilinear check as one persistent kernel over a work queue (`cp_fvq_run` in `kernels/freivalds.cu`,
/// docs/kernels.md §4f): the passes over Bt, A and C cut into warp-sized items that every warp takes from one
/// atomic counter, the slice sums and the dot products done by the warps that finish the last item of a column
/// group, the two sides by the last block. The same u, v and sides as [`bilinear_from`]; w is not stored.
pub mod queue {
    use crate::error::RuntimeError;

    /// Entry: column items of 8 l per lane (8-byte loads, double-buffered), IMAD.
    pub const ENTRY: &str = "cuproof_freivalds_bilinear_queue";
    /// Entry: 8 l per lane, `dp2a`.
    pub const ENTRY_DP2A: &str = "cuproof_freivalds_bilinear_queue_dp2a";
    /// Entry: 4 l per lane (4-byte loads), IMAD.
    pub const ENTRY4: &str = "cuproof_freivalds_bilinear_queue4";
    /// Entry: 4 l per lane, `dp2a`.
    pub const ENTRY4_DP2A: &str = "cuproof_freivalds_bilinear_queue4_dp2a";
    /// The four entries.
    pub const ENTRIES: [&str; 4] = [ENTRY, ENTRY_DP2A, ENTRY4, ENTRY4_DP2A];
    /// Threads per block.
    pub const BLOCK: u32 = 256;
    /// Rows of C per C·r item (`CP_FV_ROWS_I32`).
    pub const ROWS_PER_ITEM: u32 = super::ROWS_I32_PER_WARP;
    /// Row slices of the column passes at most (the executor's partial buffers hold this many).
    pub const MAX_SLICES: u32 = super::SLICES;
    /// Blocks at most (two partial residues each in the executor's buffer).
    pub const MAX_BLOCKS: u32 = 4096;

    /// Launch shape (tuning; every valid shape gives the same u, v and sides).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Shape {
        /// l per lane in a column item: 8 or 4.
        pub per: u32,
        /// Column items by `dp2a`.
        pub dp2a: bool,
        /// Row slices of the column passes, 1..=[`MAX_SLICES`].
        pub slices: u32,
        /// Columns of C per C·r item: a multiple of 128, at most 2^16.
        pub cr_chunk: u32,
        /// Persistent blocks per SM (0: as many as fit, from the occupancy query).
        pub blocks_per_sm: u32,
        /// The last `cr_items / tail_div` positions of the queue are C·r items only, after every column item
        /// (≥ 1; 1: all column items first; more than the C·r items: spread over the whole queue).
        pub tail_div: u32,
        /// A warp claims its next item when it starts one (the atomic's latency hidden behind the item; at the
        /// end a warp may hold one item more than the others), not when it has finished one.
        pub claim_ahead: bool,
    }

    impl Default for Shape {
        /// 8 l per lane by IMAD, 32 slices (64 KiB column items at n = 8192), C·r items of 2 rows × 2,048
        /// columns (16 KiB), as many blocks as fit, the last ⅛ of the C·r items as the tail, next item claimed
        /// ahead.
        fn default() -> Self {
            Shape {
                per: 8,
                dp2a: false,
                slices: 32,
                cr_chunk: 2048,
                blocks_per_sm: 0,
                tail_div: 8,
                claim_ahead: true,
            }
        }
    }

    impl Shape {
        /// The kernel's entry.
        pub fn entry(&self) -> &'static str {
            match (self.per, self.dp2a) {
                (8, false) => ENTRY,
                (8, true) => ENTRY_DP2A,
                (_, false) => ENTRY4,
                (_, true) => ENTRY4_DP2A,
            }
        }

        /// The schedule's counts for an m×k by k×n product, or why the shape does not apply.
        pub fn items(&self, m: usize, n: usize, k: usize) -> Result<Items, RuntimeError> {
            let bad = |why: &str| {
                Err(RuntimeError::Shape(format!(
                    "freivalds (bilinear queue): {why} ({m}x{n}x{k}, {self:?})"
                )))
            };
            if self.per != 8 && self.per != 4 {
                return bad("l per lane must be 8 or 4");
            }
            if self.slices == 0 || self.slices > MAX_SLICES {
                return bad("slices out of range");
            }
            if self.cr_chunk == 0 || !self.cr_chunk.is_multiple_of(128) || self.cr_chunk > 1 << 16 {
                return bad("the C·r chunk must be a multiple of 128 up to 65,536 columns");
            }
            if self.tail_div == 0 {
                return bad("tail_div must be at least 1");
            }
            if m == 0 || n == 0 || k == 0 || m.max(n).max(k) >= 1 << 31 {
                return bad("dimensions must be in 1..2^31");
            }
            let groups = k.div_ceil(32 * self.per as usize);
            let col_items = 2 * groups * self.slices as usize;
            let chunks = n.div_ceil(self.cr_chunk as usize);
            let cr_items = m.div_ceil(ROWS_PER_ITEM as usize) * chunks;
            // the kernel's u32 queue head passes total by one per warp: keep far below 2^32 (and i · col_items
            // below 2^64 in cp_fvq_cols_before)
            if col_items + cr_items >= 1 << 31 {
                return bad("more than 2^31 work items");
            }
            Ok(Items {
                groups: groups as u32,
                col_items: col_items as u32,
                cr_items: cr_items as u32,
            })
        }
    }

    /// The schedule's counts (`cp_fvq_make`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Items {
        /// Column groups of 32 · per l.
        pub groups: u32,
        /// Column items, both passes.
        pub col_items: u32,
        /// C·r items.
        pub cr_items: u32,
    }

    impl Items {
        /// u32 counters the kernel uses (`ctr`: queue head, blocks done, 3 per column group).
        pub fn counters(&self) -> usize {
            2 + 3 * self.groups as usize
        }
    }
}

/// The Hopper row passes (`kernels/freivalds_sm90.cu`): C·r and A·y with the matrix streamed into shared memory by
/// 1-D bulk copies (one producer thread per block keeps `stages` tiles in flight), so the bytes in flight no longer
/// occupy the consumer warps' registers. The same w and z as the SIMT kernels, bit for bit.
pub mod bulk {
    /// Module name (compute_90a PTX, loaded on compute capability 9.0 only).
    pub const MODULE: &str = "freivalds_sm90";
    /// Entry: w = C·r.
    pub const ENTRY_CR: &str = "cuproof_freivalds_cr_bulk";
    /// Entry: z = A·y.
    pub const ENTRY_AY: &str = "cuproof_freivalds_ay_bulk";
    /// Rows per consumer warp of C·r (`CP_FVB_RPW_I32`).
    pub const RPW_I32: u32 = 2;
    /// Rows per consumer warp of A·y (`CP_FVB_RPW_I8`).
    pub const RPW_I8: u32 = 4;
    /// Consumer warps per block at most (`CP_FVB_MAX_THREADS` = 32 × (8 + 1)).
    pub const MAX_CONSUMER_WARPS: u32 = 8;
    /// Dynamic shared memory a block may opt into on compute capability 9.0 (227 KiB).
    pub const MAX_SMEM: u32 = 232_448;
    /// int32 lane terms between folds (`CP_ACC32_TERMS`).
    const FOLD_I32: u32 = 1 << 11;
    /// int8 lane terms between folds (`CP_ACC8_FOLD`).
    const FOLD_I8: u32 = 256;

    /// Which pass.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Pass {
        /// w = C·r over int32 rows.
        Cr,
        /// z = A·y over int8 rows.
        Ay,
    }

    impl Pass {
        /// Bytes per matrix element.
        pub fn elem(self) -> u32 {
            match self {
                Pass::Cr => 4,
                Pass::Ay => 1,
            }
        }
        /// Rows per consumer warp.
        pub fn rows_per_warp(self) -> u32 {
            match self {
                Pass::Cr => RPW_I32,
                Pass::Ay => RPW_I8,
            }
        }
        /// Bytes of a row one lane reads per step (one int4 of C, one word of A).
        pub fn lane_bytes(self) -> u32 {
            match self {
                Pass::Cr => 16,
                Pass::Ay => 4,
            }
        }
        /// The kernel's entry.
        pub fn entry(self) -> &'static str {
            match self {
                Pass::Cr => ENTRY_CR,
                Pass::Ay => ENTRY_AY,
            }
        }
        fn fold_terms(self) -> u32 {
            match self {
                Pass::Cr => FOLD_I32,
                Pass::Ay => FOLD_I8,
            }
        }
        /// Lane terms of one full segment of `seg` bytes (each lane step covers `lane_bytes / elem` terms).
        pub fn segment_terms(self, seg: u32) -> u32 {
            seg / (32 * self.lane_bytes()) * (self.lane_bytes() / self.elem())
        }
    }

    /// Launch shape of one bulk pass (tuning; any valid shape gives the same vector).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Shape {
        /// Consumer warps per block (1..=[`MAX_CONSUMER_WARPS`]); the block has one more, the producer.
        pub consumer_warps: u32,
        /// Bytes of each row per tile (one bulk copy per row): a multiple of 32 lanes × the lane bytes.
        pub seg: u32,
        /// Tiles in flight per block.
        pub stages: u32,
        /// Persistent blocks per SM (they stride over the row groups).
        pub blocks_per_sm: u32,
        /// The vector (r or y) is copied into shared memory at block start rather than read through L1.
        pub vec_in_smem: bool,
    }

    /// A launch: grid and block sizes, dynamic shared memory bytes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Launch {
        /// Blocks.
        pub grid: u32,
        /// Threads per block.
        pub block: u32,
        /// Dynamic shared memory bytes.
        pub smem: u32,
    }

    /// Offset of the vector in shared memory, after the 2 × `stages` mbarriers (`cp_fvb_vec_offset`).
    pub fn vec_offset(stages: u32) -> u32 {
        (16 * stages + 127) & !127
    }

    /// Offset of the stage buffers (`cp_fvb_data_offset`).
    pub fn data_offset(stages: u32, vec_bytes: u32) -> u32 {
        (vec_offset(stages) + vec_bytes + 127) & !127
    }

    /// The launch of `pass` over `m` rows of `ncols` elements on a GPU with `sm_count` SMs, or why the shape does
    /// not apply (the caller then uses the SIMT kernel). Operand base addresses must be 16-byte aligned.
    pub fn launch(
        pass: Pass,
        shape: Shape,
        m: usize,
        ncols: usize,
        sm_count: u32,
    ) -> Result<Launch, String> {
        let Shape {
            consumer_warps: cw,
            seg,
            stages,
            blocks_per_sm,
            vec_in_smem,
        } = shape;
        if !(1..=MAX_CONSUMER_WARPS).contains(&cw)
            || !(1..=16).contains(&stages)
            || blocks_per_sm == 0
        {
            return Err(format!("bulk {pass:?}: shape {shape:?} out of range"));
        }
        let step = 32 * pass.lane_bytes();
        if seg == 0 || !seg.is_multiple_of(step) || pass.segment_terms(seg) > pass.fold_terms() {
            return Err(format!(
                "bulk {pass:?}: segment of {seg} bytes is not a multiple of {step} or exceeds one fold"
            ));
        }
        let row_bytes = (ncols as u64) * pass.elem() as u64;
        if m == 0 || ncols == 0 || !row_bytes.is_multiple_of(16) || row_bytes > u32::MAX as u64 / 2
        {
            return Err(format!(
                "bulk {pass:?}: rows of {row_bytes} bytes are not whole 16-byte units"
            ));
        }
        if m > u32::MAX as usize / 2 {
            return Err(format!("bulk {pass:?}: {m} rows"));
        }
        let vec_bytes = if vec_in_smem { ncols as u64 * 8 } else { 0 };
        let rows_per_tile = cw * pass.rows_per_warp();
        let smem = data_offset(stages, 0) as u64
            + vec_bytes.div_ceil(128) * 128
            + stages as u64 * rows_per_tile as u64 * seg as u64;
        if smem > MAX_SMEM as u64 {
            return Err(format!(
                "bulk {pass:?}: {smem} bytes of shared memory exceed {MAX_SMEM}"
            ));
        }
        let groups = (m as u64).div_ceil(rows_per_tile as u64);
        let grid = groups.min(blocks_per_sm as u64 * sm_count.max(1) as u64) as u32;
        Ok(Launch {
            grid,
            block: 32 * (cw + 1),
            smem: smem as u32,
        })
    }

    /// A model of the kernel's schedule on the host: the producer's copies into stage buffers and every consumer
    /// lane's reads and folds, block by block, with the limb accumulators checked for overflow. Returns the
    /// vector the kernel computes (`mat` as m rows of `ncols` elements, little-endian). Tests run it against the
    /// CPU twin to check the tiling before a device does.
    pub fn model(
        pass: Pass,
        shape: Shape,
        mat: &[u8],
        vec: &[u64],
        m: usize,
        ncols: usize,
        sm_count: u32,
    ) -> Result<Vec<u64>, String> {
        use super::P;
        let l = launch(pass, shape, m, ncols, sm_count)?;
        let (elem, rpw, lane_bytes) = (pass.elem(), pass.rows_per_warp(), pass.lane_bytes());
        let cw = shape.consumer_warps;
        let rows_per_tile = (cw * rpw) as usize;
        let (seg, row_bytes) = (shape.seg as usize, ncols * elem as usize);
        let groups = m.div_ceil(rows_per_tile);
        let seg_terms = pass.segment_terms(shape.seg);
        let mut out = vec![u64::MAX; m];
        let mut tile = vec![0u8; rows_per_tile * seg];
        for block in 0..l.grid as usize {
            for g in (block..groups).step_by(l.grid as usize) {
                let row0 = g * rows_per_tile;
                let rows = rows_per_tile.min(m - row0);
                // per warp, lane, row: limb partials (i128 to detect what the device's int32 / int64 would lose)
                let limbs = if pass == Pass::Cr { 3 } else { 4 };
                let mut acc = vec![0i128; cw as usize * 32 * rpw as usize * limbs];
                let mut sums = vec![0u64; cw as usize * 32 * rpw as usize];
                let mut terms = 0u32;
                let fold = |acc: &mut [i128], sums: &mut [u64]| -> Result<(), String> {
                    let (bits, lo, hi) = if pass == Pass::Cr {
                        (21u32, i64::MIN as i128, i64::MAX as i128)
                    } else {
                        (16u32, i32::MIN as i128, i32::MAX as i128)
                    };
                    for (i, s) in sums.iter_mut().enumerate() {
                        let mut v = *s as i128;
                        for (j, a) in acc[i * limbs..(i + 1) * limbs].iter_mut().enumerate() {
                            if *a < lo || *a > hi {
                                return Err(format!("limb accumulator overflow: {a}"));
                            }
                            v += *a << (bits * j as u32);
                            *a = 0;
                        }
                        *s = v.rem_euclid(P as i128) as u64;
                    }
                    Ok(())
                };
                let mut off = 0;
                while off < row_bytes {
                    let bytes = seg.min(row_bytes - off);
                    if terms + seg_terms > pass.fold_terms() {
                        fold(&mut acc, &mut sums)?;
                        terms = 0;
                    }
                    // producer: rows 0..rows of the group, bytes off..off + bytes; the rest of the tile is stale
                    for q in 0..rows {
                        let src = (row0 + q) * row_bytes + off;
                        tile[q * seg..q * seg + bytes].copy_from_slice(&mat[src..src + bytes]);
                    }
                    for w in 0..cw as usize {
                        for lane in 0..32usize {
                            let mut x = lane_bytes as usize * lane;
                            while x < bytes {
                                let col = (off + x) / elem as usize;
                                for q in 0..rpw as usize {
                                    let at = (w * rpw as usize + q) * seg + x;
                                    let cell = ((w * 32 + lane) * rpw as usize + q) * limbs;
                                    for t in 0..(lane_bytes / elem) as usize {
                                        let e: i128 = if pass == Pass::Cr {
                                            let b = &tile[at + 4 * t..at + 4 * t + 4];
                                            i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i128
                                        } else {
                                            tile[at + t] as i8 as i128
                                        };
                                        let x_ = vec[col + t];
                                        for j in 0..limbs {
                                            let limb = if pass == Pass::Cr {
                                                (x_ >> (21 * j)) & 0x1F_FFFF
                                            } else {
                                                (x_ >> (16 * j)) & 0xFFFF
                                            };
                                            acc[cell + j] += e * limb as i128;
                                        }
                                    }
                                }
                                x += 32 * lane_bytes as usize;
                            }
                        }
                    }
                    terms += seg_terms;
                    off += seg;
                }
                fold(&mut acc, &mut sums)?;
                for w in 0..cw as usize {
                    for q in 0..rpw as usize {
                        let row = row0 + w * rpw as usize + q;
                        if row < m {
                            let mut t = 0u64;
                            for lane in 0..32 {
                                t = (t + sums[(w * 32 + lane) * rpw as usize + q]) % P;
                            }
                            out[row] = t;
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr_block_sizes_shape_the_grid() {
        // the default block: C·r's grid as `grid` gives it, capped
        assert_eq!(
            cr_launch(8192, 0, 0).unwrap(),
            (grid(ENTRY_ROWS_I32, 8192, 0, 1, 0).unwrap(), BLOCK)
        );
        assert_eq!(cr_launch(8192, 0, BLOCK).unwrap(), ([512, 1, 1], BLOCK));
        assert_eq!(cr_launch(8192, 264, 0).unwrap(), ([264, 1, 1], BLOCK));
        // 64 threads: 2 warps × 2 rows per block
        assert_eq!(cr_launch(100, 0, 64).unwrap(), ([25, 1, 1], 64));
        assert_eq!(cr_launch(100, 3, 96).unwrap(), ([3, 1, 1], 96));
        assert_eq!(cr_launch(0, 0, 32).unwrap(), ([1, 1, 1], 32));
        for bad in [48, 2 * BLOCK, 1] {
            assert!(cr_launch(100, 0, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn launch_grids_cover_the_shape_and_honour_the_cap() {
        // n = 8192: 4 column groups of 2,048 l per B·r slice row, 256 sum blocks, 256 A·y blocks, 512 C·r blocks
        let (m, k) = (8192, 8192);
        assert_eq!(
            grid(ENTRY_BR_PARTIAL, m, k, DEFAULT_SLICES, 0),
            Some([4, 32, 1])
        );
        // the narrow B·r: 4 l per thread, twice the column groups; the fused one: the same grid as B·r
        assert_eq!(
            grid(ENTRY_BR_PARTIAL4, m, k, DEFAULT_SLICES, 0),
            Some([8, 32, 1])
        );
        assert_eq!(
            grid(ENTRY_BR_FUSED, m, k, DEFAULT_SLICES, 0),
            Some([4, 32, 1])
        );
        assert_eq!(
            grid(ENTRY_SUM_SLICES, m, k, DEFAULT_SLICES, 0),
            Some([256, 1, 1])
        );
        assert_eq!(
            grid(ENTRY_ROWS_I8, m, k, DEFAULT_SLICES, 0),
            Some([256, 1, 1])
        );
        assert_eq!(
            grid(ENTRY_ROWS_I32, m, k, DEFAULT_SLICES, 0),
            Some([512, 1, 1])
        );
        // a 132-SM card at two blocks per SM: C·r's warps stride over the rest
        assert_eq!(
            grid(ENTRY_ROWS_I32, m, k, DEFAULT_SLICES, 264),
            Some([264, 1, 1])
        );
        // a cap above the need changes nothing; slices clamp to 1..=SLICES; tiny shapes still launch one block
        assert_eq!(grid(ENTRY_ROWS_I32, 10, 10, 1, 264), Some([1, 1, 1]));
        assert_eq!(grid(ENTRY_BR_PARTIAL, 1, 1, 0, 0), Some([1, 1, 1]));
        assert_eq!(grid(ENTRY_BR_PARTIAL, 1, 1, 1000, 0), Some([1, SLICES, 1]));
        assert_eq!(grid("cuproof_nope", m, k, 32, 0), None);
    }

    /// Row-major matrix bytes and the exact row products `mat · vec mod p` (the CPU twin's arithmetic).
    fn bulk_case(
        pass: bulk::Pass,
        m: usize,
        ncols: usize,
        seed: u64,
        extreme: bool,
    ) -> (Vec<u8>, Vec<u64>, Vec<u64>) {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 11
        };
        let vec: Vec<u64> = (0..ncols)
            .map(|_| if extreme { P - 1 } else { next() % P })
            .collect();
        let mut mat = Vec::new();
        let mut want = Vec::new();
        for _ in 0..m {
            let mut acc: i128 = 0;
            for &v in &vec {
                let e: i128 = match pass {
                    bulk::Pass::Cr => {
                        let e = if extreme { i32::MIN } else { next() as i32 };
                        mat.extend_from_slice(&e.to_le_bytes());
                        e as i128
                    }
                    bulk::Pass::Ay => {
                        let e = if extreme { -128i8 } else { next() as i8 };
                        mat.push(e as u8);
                        e as i128
                    }
                };
                acc += e * v as i128;
            }
            want.push(acc.rem_euclid(P as i128) as u64);
        }
        (mat, vec, want)
    }

    #[test]
    fn bulk_schedule_model_computes_the_twin_vectors() {
        use bulk::{Pass, Shape};
        let shape = |consumer_warps, seg, stages, blocks_per_sm, vec_in_smem| Shape {
            consumer_warps,
            seg,
            stages,
            blocks_per_sm,
            vec_in_smem,
        };
        // (pass, shape, m, ncols, SMs, extreme values): partial row groups, partial last segments, grids smaller
        // than the row groups, folds inside a row (int8 at 8 KiB segments; int32 after four 64 KiB segments)
        let cases = [
            (
                Pass::Cr,
                shape(4, 4096, 4, 1, true),
                8192 / 64,
                1024,
                2,
                false,
            ),
            (Pass::Cr, shape(3, 512, 2, 1, false), 13, 132, 1, false),
            (Pass::Cr, shape(1, 1024, 3, 2, false), 5, 700, 1, true),
            (Pass::Cr, shape(1, 65_536, 1, 1, false), 3, 70_000, 1, true),
            (Pass::Ay, shape(8, 1024, 4, 1, true), 70, 3008, 1, false),
            (Pass::Ay, shape(2, 128, 5, 3, false), 9, 400, 1, true),
            (Pass::Ay, shape(1, 8192, 2, 1, false), 2, 40_000, 1, true),
        ];
        for (i, (pass, sh, m, ncols, sms, extreme)) in cases.into_iter().enumerate() {
            let (mat, vec, want) = bulk_case(pass, m, ncols, 77 + i as u64, extreme);
            let got = bulk::model(pass, sh, &mat, &vec, m, ncols, sms)
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(got, want, "case {i}: {pass:?} {sh:?} m={m} ncols={ncols}");
        }
    }

    #[test]
    fn bulk_launch_refuses_shapes_the_kernel_cannot_run() {
        use bulk::{launch, Pass, Shape, MAX_SMEM};
        let ok = Shape {
            consumer_warps: 4,
            seg: 4096,
            stages: 4,
            blocks_per_sm: 1,
            vec_in_smem: true,
        };
        // C·r at n = 8192 on 132 SMs: 8 rows per tile, 1,024 groups, 132 persistent blocks, 64 KiB of r + 128 KiB
        let l = launch(Pass::Cr, ok, 8192, 8192, 132).unwrap();
        assert_eq!((l.grid, l.block), (132, 160));
        assert_eq!(l.smem, 128 + 65_536 + 4 * 8 * 4096);
        assert!(l.smem <= MAX_SMEM);
        // too much shared memory: r staged plus 8 stages
        assert!(launch(Pass::Cr, Shape { stages: 8, ..ok }, 8192, 8192, 132).is_err());
        assert!(launch(
            Pass::Cr,
            Shape {
                stages: 8,
                vec_in_smem: false,
                ..ok
            },
            8192,
            8192,
            132
        )
        .is_err());
        assert!(launch(
            Pass::Cr,
            Shape {
                stages: 6,
                vec_in_smem: false,
                ..ok
            },
            8192,
            8192,
            132
        )
        .is_ok());
        // segments: a multiple of 512 bytes (C·r) / 128 bytes (A·y); A·y at most one fold (8 KiB)
        assert!(launch(Pass::Cr, Shape { seg: 256, ..ok }, 64, 64, 1).is_err());
        assert!(launch(Pass::Ay, Shape { seg: 128, ..ok }, 64, 64, 1).is_ok());
        assert!(launch(
            Pass::Ay,
            Shape {
                seg: 16_384,
                stages: 1,
                consumer_warps: 1,
                ..ok
            },
            64,
            64,
            1
        )
        .is_err());
        // rows must be whole 16-byte units; empty shapes and zero counts are refused
        assert!(launch(Pass::Cr, ok, 4, 6, 1).is_err());
        assert!(launch(Pass::Ay, ok, 4, 40, 1).is_err());
        assert!(launch(Pass::Ay, ok, 0, 64, 1).is_err());
        assert!(launch(
            Pass::Cr,
            Shape {
                consumer_warps: 9,
                ..ok
            },
            8,
            8,
            1
        )
        .is_err());
        assert!(launch(
            Pass::Cr,
            Shape {
                blocks_per_sm: 0,
                ..ok
            },
            8,
            8,
            1
        )
        .is_err());
        // a tiny shape launches one block
        assert_eq!(launch(Pass::Cr, ok, 1, 4, 132).unwrap().grid, 1);
    }
}
