//! Whole Freivalds kernels (`kernels/freivalds.cu`'s `__global__` functions) run on the host by the SIMT emulator
//! of `kernels/simt_emu.hpp` (`kernels/emu_freivalds.cpp`): the blocks of a launch one after another, the threads of
//! a block as concurrent POSIX threads, with the grids the runtime launches. For the tests: the kernels' index
//! arithmetic, early exits, shuffles, barriers and counters against the Rust twins, with no GPU. Not modelled:
//! concurrent blocks, the GPU's weaker memory ordering, inline PTX (the tensor-core kernels are not in this build).

use crate::error::RuntimeError;
use crate::kernels::freivalds::{self, queue, P};
use crate::kernels::gemm;

mod ffi {
    extern "C" {
        pub fn cuproof_emu_freivalds_chain(
            a: *const i8,
            bt: *const i8,
            c: *const i32,
            r: *const u64,
            m: u32,
            n: u32,
            k: u32,
            slices: u32,
            variant: u32,
            cr_grid: u32,
            cr_threads: u32,
            y: *mut u64,
            z: *mut u64,
            w: *mut u64,
        ) -> i32;
        pub fn cuproof_emu_freivalds_br_fused(
            bt: *const i8,
            r: *const u64,
            n: u32,
            k: u32,
            slices: u32,
            runs: u32,
            y: *mut u64,
        ) -> i32;
        pub fn cuproof_emu_freivalds_bilinear(
            a: *const i8,
            c: *const i32,
            r: *const u64,
            s: *const u64,
            v: *const u64,
            m: u32,
            n: u32,
            k: u32,
            slices: u32,
            u: *mut u64,
            w: *mut u64,
            out: *mut u64,
        ) -> i32;
        pub fn cuproof_emu_freivalds_queue(
            a: *const i8,
            bt: *const i8,
            c: *const i32,
            r: *const u64,
            s: *const u64,
            m: u32,
            n: u32,
            k: u32,
            per: u32,
            dp2a: u32,
            slices: u32,
            cr_chunk: u32,
            tail_div: u32,
            ahead: u32,
            grid: u32,
            runs: u32,
            u: *mut u64,
            v: *mut u64,
            out: *mut u64,
            times: *mut u64,
        ) -> i32;
    }
}

/// How the chain check's launches are shaped (the runtime's `FreivaldsLaunch` knobs that change the kernels run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLaunch {
    /// Column slices of B·r (1..=[`freivalds::SLICES`]).
    pub slices: u32,
    /// B·r and A·y by the `_dp2a` entries.
    pub dp2a: bool,
    /// B·r by the 4-l entry.
    pub br_narrow: bool,
    /// Blocks of C·r (0: one per 8 row groups; fewer: its warps stride over the rest).
    pub cr_grid: u32,
    /// Threads per C·r block: a multiple of 32 up to 256.
    pub cr_threads: u32,
}

impl Default for ChainLaunch {
    fn default() -> Self {
        ChainLaunch {
            slices: freivalds::DEFAULT_SLICES,
            dp2a: false,
            br_narrow: false,
            cr_grid: 0,
            cr_threads: freivalds::BLOCK,
        }
    }
}

fn check_operands(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    r: &[u64],
    m: usize,
    n: usize,
    k: usize,
) -> Result<(), RuntimeError> {
    gemm::check_shape(a.len(), bt.len(), m, n, k)?;
    if c.len() != m * n || r.len() != n || r.iter().any(|&x| x >= P) {
        return Err(RuntimeError::Shape(format!(
            "emulated freivalds: C has {} entries and r {} (residues) for {m}x{n}x{k}",
            c.len(),
            r.len()
        )));
    }
    Ok(())
}

fn emu_result(rc: i32, what: &str) -> Result<(), RuntimeError> {
    match rc {
        0 => Ok(()),
        -2 => Err(RuntimeError::Shape(format!(
            "emulated {what}: a launch left its counters or accumulators nonzero"
        ))),
        _ => Err(RuntimeError::Shape(format!(
            "emulated {what}: a launch failed or the shape is not one the kernels take"
        ))),
    }
}

/// `(y, z, w)` of the chain check's four kernels (B·r partials, slice sum, A·y, C·r) under `launch`.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn freivalds_chain(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    r: &[u64],
    m: usize,
    n: usize,
    k: usize,
    launch: ChainLaunch,
) -> Result<(Vec<u64>, Vec<u64>, Vec<u64>), RuntimeError> {
    check_operands(a, bt, c, r, m, n, k)?;
    if !(1..=freivalds::SLICES).contains(&launch.slices) {
        return Err(RuntimeError::Shape(format!(
            "emulated freivalds: {} slices",
            launch.slices
        )));
    }
    let (mut y, mut z, mut w) = (vec![0u64; k], vec![0u64; m], vec![0u64; m]);
    let variant = u32::from(launch.dp2a) | (u32::from(launch.br_narrow) << 1);
    // SAFETY: check_operands fixed a (m·k), bt (n·k), c (m·n), r (n) with dims < 2^32; y holds k and z, w m words;
    // the C side allocates its own partials (slices · k) and checks the block shape.
    let rc = unsafe {
        ffi::cuproof_emu_freivalds_chain(
            a.as_ptr(),
            bt.as_ptr(),
            c.as_ptr(),
            r.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            launch.slices,
            variant,
            launch.cr_grid,
            launch.cr_threads,
            y.as_mut_ptr(),
            z.as_mut_ptr(),
            w.as_mut_ptr(),
        )
    };
    emu_result(rc, "freivalds chain")?;
    Ok((y, z, w))
}

/// y = B·r by the fused kernel (`cuproof_freivalds_br_fused`), launched `runs` times on the same accumulators,
/// each launch required to leave them and its group counters zero.
pub fn freivalds_br_fused(
    bt: &[i8],
    r: &[u64],
    n: usize,
    k: usize,
    slices: u32,
    runs: u32,
) -> Result<Vec<u64>, RuntimeError> {
    if n.checked_mul(k) != Some(bt.len())
        || n.max(k) > u32::MAX as usize
        || r.len() != n
        || r.iter().any(|&x| x >= P)
        || !(1..=freivalds::SLICES).contains(&slices)
    {
        return Err(RuntimeError::Shape(format!(
            "emulated fused B·r: Bt has {} bytes and r {} residues for n = {n}, k = {k}; {slices} slices",
            bt.len(),
            r.len()
        )));
    }
    let mut y = vec![0u64; k];
    // SAFETY: bt holds n·k bytes and r n residues (checked); y holds k words; the C side allocates the
    // accumulators (2k) and the group counters.
    let rc = unsafe {
        ffi::cuproof_emu_freivalds_br_fused(
            bt.as_ptr(),
            r.as_ptr(),
            n as u32,
            k as u32,
            slices,
            runs,
            y.as_mut_ptr(),
        )
    };
    emu_result(rc, "fused B·r")?;
    Ok(y)
}

/// The bilinear check's sᵀA pass (through the B·r kernel), its slice sum, C·r and the two dot products for the
/// given v = B·r: `(u, w, [u·v, s·w])`.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn freivalds_bilinear(
    a: &[i8],
    c: &[i32],
    r: &[u64],
    s: &[u64],
    v: &[u64],
    m: usize,
    n: usize,
    k: usize,
    slices: u32,
) -> Result<(Vec<u64>, Vec<u64>, [u64; 2]), RuntimeError> {
    if m.checked_mul(k) != Some(a.len())
        || m.checked_mul(n) != Some(c.len())
        || m.max(n).max(k) > u32::MAX as usize
        || r.len() != n
        || s.len() != m
        || v.len() != k
        || r.iter().chain(s).chain(v).any(|&x| x >= P)
        || slices == 0
    {
        return Err(RuntimeError::Shape(
            "emulated bilinear: an operand or the slices do not fit the shape".into(),
        ));
    }
    let (mut u, mut w, mut out) = (vec![0u64; k], vec![0u64; m], [0u64; 2]);
    // SAFETY: a (m·k), c (m·n), r (n), s (m), v (k) checked, dims < 2^32; u holds k, w m and out 2 words.
    let rc = unsafe {
        ffi::cuproof_emu_freivalds_bilinear(
            a.as_ptr(),
            c.as_ptr(),
            r.as_ptr(),
            s.as_ptr(),
            v.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            slices,
            u.as_mut_ptr(),
            w.as_mut_ptr(),
            out.as_mut_ptr(),
        )
    };
    emu_result(rc, "bilinear")?;
    Ok((u, w, out))
}

/// What the bilinear queue kernel computes with `grid` blocks, launched `runs` times on the same counters (each
/// launch must leave them zero): `(u, v, [u·v, s·w], per-warp [start, end] times of the last launch)`.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn freivalds_queue(
    a: &[i8],
    bt: &[i8],
    c: &[i32],
    r: &[u64],
    s: &[u64],
    m: usize,
    n: usize,
    k: usize,
    shape: &queue::Shape,
    grid: u32,
    runs: u32,
) -> Result<(Vec<u64>, Vec<u64>, [u64; 2], Vec<u64>), RuntimeError> {
    check_operands(a, bt, c, r, m, n, k)?;
    shape.items(m, n, k)?;
    if s.len() != m || s.iter().any(|&x| x >= P) || grid == 0 || grid > queue::MAX_BLOCKS {
        return Err(RuntimeError::Shape(format!(
            "emulated queue: s has {} entries for m = {m}, grid {grid}",
            s.len()
        )));
    }
    let (mut u, mut v, mut out) = (vec![0u64; k], vec![0u64; k], [0u64; 2]);
    let mut times = vec![0u64; 2 * grid as usize * (queue::BLOCK as usize / 32)];
    // SAFETY: operands checked above and by Shape::items (dims < 2^31); u, v hold k words, out 2, times 2 per
    // warp of the grid; the C side allocates partials, counters and block partials for the shape.
    let rc = unsafe {
        ffi::cuproof_emu_freivalds_queue(
            a.as_ptr(),
            bt.as_ptr(),
            c.as_ptr(),
            r.as_ptr(),
            s.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            shape.per,
            shape.dp2a.into(),
            shape.slices,
            shape.cr_chunk,
            shape.tail_div,
            shape.claim_ahead.into(),
            grid,
            runs,
            u.as_mut_ptr(),
            v.as_mut_ptr(),
            out.as_mut_ptr(),
            times.as_mut_ptr(),
        )
    };
    emu_result(rc, "bilinear queue")?;
    Ok((u, v, out, times))
}
