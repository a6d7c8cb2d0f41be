//! Whole kernels (the `__global__` functions of `kernels/freivalds.cu` and `kernels/keccak_merkle.cu`) run on the
//! host by the SIMT emulator of `kernels/simt_emu.hpp` (`kernels/emu_freivalds.cpp`, `kernels/emu_keccak.cpp`): the
//! blocks of a launch one after another, the threads of a block as concurrent POSIX threads, with the grids and
//! arguments the runtime launches ([`launch`] takes them as the CUDA backend issues them). For the tests: the kernels' index
//! arithmetic, early exits, shuffles, barriers and counters against the Rust twins, with no GPU. Not modelled:
//! concurrent blocks, the GPU's weaker memory ordering, inline PTX (the tensor-core kernels are not in this build).

use crate::error::RuntimeError;
use crate::kernels::freivalds::{self, queue, Operands, P};
use crate::kernels::merkle::{self, CommitBuffers, CommitSchedule};
use crate::kernels::{fill, gemm};
use crate::runtime::Arg;
use cuproof_core::commitment::{CommitParams, Commitment};
use std::ffi::CString;

mod ffi {
    extern "C" {
        pub fn cuproof_emu_launch_keccak(
            entry: *const std::ffi::c_char,
            gx: u32,
            gy: u32,
            block: u32,
            args: *const u64,
            nargs: u32,
        ) -> i32;
        pub fn cuproof_emu_launch_gemm(
            entry: *const std::ffi::c_char,
            gx: u32,
            gy: u32,
            block: u32,
            args: *const u64,
            nargs: u32,
        ) -> i32;
        pub fn cuproof_emu_launch_freivalds(
            entry: *const std::ffi::c_char,
            gx: u32,
            gy: u32,
            block: u32,
            args: *const u64,
            nargs: u32,
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
            in_flight: u32,
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

/// `r` as the kernels take it: n residues below p.
fn check_r(r: &[u64], n: usize) -> Result<(), RuntimeError> {
    if r.len() != n || r.iter().any(|&x| x >= P) {
        return Err(RuntimeError::Shape(format!(
            "emulated freivalds: r has {} entries (residues) for n = {n}",
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

/// Runs `launches` (entry, grid, block, arguments) of the Freivalds module in order.
///
/// # Safety
/// As [`launch`], for every launch.
unsafe fn run_freivalds(launches: &[FvLaunch]) -> Result<(), RuntimeError> {
    for (entry, grid, block, args) in launches {
        // SAFETY: the caller vouches for the memory the pointer arguments name.
        unsafe { launch(Module::Freivalds, entry, [grid[0], grid[1]], *block, args)? };
    }
    Ok(())
}

/// The grid of `entry` for the shape, as the CUDA backend computes it ([`freivalds::grid`]).
fn fv_grid(
    entry: &str,
    m: usize,
    k: usize,
    slices: u32,
    cap: u32,
) -> Result<[u32; 3], RuntimeError> {
    freivalds::grid(entry, m as u32, k as u32, slices, cap)
        .ok_or_else(|| RuntimeError::Shape(format!("emulated freivalds: unknown entry {entry}")))
}

/// The address of an operand the kernel only reads.
fn host_ptr<T>(v: &[T]) -> Arg {
    Arg::Ptr(v.as_ptr() as u64)
}

/// The address of a buffer the kernel writes (taken from a mutable borrow; also used for later reads).
fn host_out<T>(v: &mut [T]) -> Arg {
    Arg::Ptr(v.as_mut_ptr() as u64)
}

/// A launch of the Freivalds module: entry, grid, block, arguments.
type FvLaunch = (&'static str, [u32; 3], u32, Vec<Arg>);

/// The two launches of a column pass, as the CUDA backend issues them: `entry` (a B·r kernel) over the `rows`×k
/// int8 matrix at `mat` with the vector at `x` into `slices` partial rows at `part`, then their sum into `out`.
fn column_pass(
    entry: &'static str,
    (mat, x): (Arg, Arg),
    rows: usize,
    k: usize,
    slices: u32,
    (part, out): (Arg, Arg),
) -> Result<[FvLaunch; 2], RuntimeError> {
    let (rows32, k32) = (Arg::U32(rows as u32), Arg::U32(k as u32));
    let sum = freivalds::ENTRY_SUM_SLICES;
    Ok([
        (
            entry,
            fv_grid(entry, rows, k, slices, 0)?,
            freivalds::BLOCK,
            vec![mat, x, rows32, k32, part],
        ),
        (
            sum,
            fv_grid(sum, rows, k, slices, 0)?,
            freivalds::BLOCK,
            vec![part, k32, Arg::U32(slices), out],
        ),
    ])
}

/// `(y, z, w)` of the chain check's four kernels (B·r partials, slice sum, A·y, C·r) under `launch`, each with the
/// CUDA backend's grid and block ([`freivalds::grid`], [`freivalds::cr_launch`]).
#[allow(clippy::type_complexity)]
pub fn freivalds_chain(
    ops: Operands<'_>,
    r: &[u64],
    launch: ChainLaunch,
) -> Result<(Vec<u64>, Vec<u64>, Vec<u64>), RuntimeError> {
    let ((a, bt, c), (m, n, k)) = ((ops.a(), ops.bt(), ops.c()), ops.shape());
    check_r(r, n)?;
    let slices = launch.slices;
    if !(1..=freivalds::SLICES).contains(&slices) {
        return Err(RuntimeError::Shape(format!(
            "emulated freivalds: {slices} slices"
        )));
    }
    let br = match (launch.dp2a, launch.br_narrow) {
        (false, false) => freivalds::ENTRY_BR_PARTIAL,
        (true, false) => freivalds::ENTRY_BR_PARTIAL_DP2A,
        (false, true) => freivalds::ENTRY_BR_PARTIAL4,
        (true, true) => freivalds::ENTRY_BR_PARTIAL4_DP2A,
    };
    let ay = if launch.dp2a {
        freivalds::ENTRY_ROWS_I8_DP2A
    } else {
        freivalds::ENTRY_ROWS_I8
    };
    let (cr_grid, cr_block) = freivalds::cr_launch(m as u32, launch.cr_grid, launch.cr_threads)?;
    let mut part = vec![0u64; slices as usize * k];
    let (mut y, mut z, mut w) = (vec![0u64; k], vec![0u64; m], vec![0u64; m]);
    let (part_p, y_p) = (host_out(&mut part), host_out(&mut y));
    let (m32, n32, k32) = (Arg::U32(m as u32), Arg::U32(n as u32), Arg::U32(k as u32));
    let b = freivalds::BLOCK;
    let [br_pass, y_sum] =
        column_pass(br, (host_ptr(bt), host_ptr(r)), n, k, slices, (part_p, y_p))?;
    let launches = [
        br_pass,
        y_sum,
        (
            ay,
            fv_grid(ay, m, k, slices, 0)?,
            b,
            vec![host_ptr(a), y_p, m32, k32, host_out(&mut z)],
        ),
        (
            freivalds::ENTRY_ROWS_I32,
            cr_grid,
            cr_block,
            vec![host_ptr(c), host_ptr(r), m32, n32, host_out(&mut w)],
        ),
    ];
    // SAFETY: Operands fixed a (m·k), bt (n·k), c (m·n) with dims < 2^32, check_r r (n); the partials hold
    // slices·k, y k and z, w m words, all alive until the end of this function. The kernels write only through
    // the output pointers (part, y, z, w), which no other reference reads meanwhile.
    unsafe { run_freivalds(&launches)? };
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
/// given v = B·r, each with the CUDA backend's grid and block: `(u, w, [u·v, s·w])`.
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
        || !(1..=freivalds::SLICES).contains(&slices)
    {
        return Err(RuntimeError::Shape(
            "emulated bilinear: an operand or the slices do not fit the shape".into(),
        ));
    }
    let mut part = vec![0u64; slices as usize * k];
    let (mut u, mut w, mut out) = (vec![0u64; k], vec![0u64; m], [0u64; 2]);
    let (part_p, u_p, w_p) = (host_out(&mut part), host_out(&mut u), host_out(&mut w));
    let (m32, n32, k32) = (Arg::U32(m as u32), Arg::U32(n as u32), Arg::U32(k as u32));
    let b = freivalds::BLOCK;
    // sᵀA through the B·r kernel, as the CUDA backend's bilinear check runs it
    let [su_pass, u_sum] = column_pass(
        freivalds::ENTRY_BR_PARTIAL,
        (host_ptr(a), host_ptr(s)),
        m,
        k,
        slices,
        (part_p, u_p),
    )?;
    let launches = [
        su_pass,
        u_sum,
        (
            freivalds::ENTRY_ROWS_I32,
            fv_grid(freivalds::ENTRY_ROWS_I32, m, k, slices, 0)?,
            b,
            vec![host_ptr(c), host_ptr(r), m32, n32, w_p],
        ),
        (
            freivalds::ENTRY_DOT2,
            fv_grid(freivalds::ENTRY_DOT2, m, k, slices, 0)?,
            freivalds::DOT_BLOCK,
            vec![
                u_p,
                host_ptr(v),
                k32,
                host_ptr(s),
                w_p,
                m32,
                host_out(&mut out),
            ],
        ),
    ];
    // SAFETY: a (m·k), c (m·n), r (n), s (m), v (k) checked, dims < 2^32; the partials hold slices·k, u k, w m and
    // out 2 words, all alive until the end of this function; the kernels write only through part, u, w and out.
    unsafe { run_freivalds(&launches)? };
    Ok((u, w, out))
}

/// What the bilinear queue kernel computes with `grid` blocks, all of them in flight at once (they race for the
/// queue and for being the last block), launched `runs` times on the same counters (each launch must leave them
/// zero): `(u, v, [u·v, s·w], per-warp [start, end] times of the last launch)`.
#[allow(clippy::type_complexity)]
pub fn freivalds_queue(
    ops: Operands<'_>,
    r: &[u64],
    s: &[u64],
    shape: &queue::Shape,
    grid: u32,
    runs: u32,
) -> Result<(Vec<u64>, Vec<u64>, [u64; 2], Vec<u64>), RuntimeError> {
    let ((a, bt, c), (m, n, k)) = ((ops.a(), ops.bt(), ops.c()), ops.shape());
    check_r(r, n)?;
    shape.items(m, n, k)?;
    if s.len() != m || s.iter().any(|&x| x >= P) || grid == 0 || grid > queue::MAX_BLOCKS {
        return Err(RuntimeError::Shape(format!(
            "emulated queue: s has {} entries for m = {m}, grid {grid}",
            s.len()
        )));
    }
    let (mut u, mut v, mut out) = (vec![0u64; k], vec![0u64; k], [0u64; 2]);
    let mut times = vec![0u64; 2 * grid as usize * (queue::BLOCK as usize / 32)];
    // SAFETY: Operands, check_r and the checks above, and Shape::items (dims < 2^31); u, v hold k words, out 2, times 2 per
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

/// The emulated module a launch goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// `kernels/keccak_merkle.cu`: the commitment's leaf, subtree and root kernels and the seeded fill.
    KeccakMerkle,
    /// `kernels/freivalds.cu`: the SIMT Freivalds kernels (B·r, slice sum, A·y, C·r, dot products).
    Freivalds,
    /// `kernels/gemm_i8.cu`: the `mma.sync` int8 GEMM (mma emulated warp-wide, `cp.async` done at once).
    Gemm,
}

/// Launches `entry` of `module` on the emulator with grid `(grid[0], grid[1])`, `block` threads and the arguments
/// as the runtime passes them to the driver ([`Arg::Ptr`] holding host addresses here).
///
/// # Safety
/// Every pointer argument must be the address of host memory that stays valid for the call and that the kernel may
/// read and write as far as its other arguments say (the kernels trust their arguments as on the device).
pub unsafe fn launch(
    module: Module,
    entry: &str,
    grid: [u32; 2],
    block: u32,
    args: &[Arg],
) -> Result<(), RuntimeError> {
    let name = CString::new(entry)
        .map_err(|_| RuntimeError::Shape(format!("emulated launch: bad entry name {entry:?}")))?;
    let words: Vec<u64> = args
        .iter()
        .map(|a| match *a {
            Arg::Ptr(p) | Arg::U64(p) => p,
            Arg::U32(v) => u64::from(v),
        })
        .collect();
    let f = match module {
        Module::KeccakMerkle => ffi::cuproof_emu_launch_keccak,
        Module::Freivalds => ffi::cuproof_emu_launch_freivalds,
        Module::Gemm => ffi::cuproof_emu_launch_gemm,
    };
    // SAFETY: the name is NUL-terminated and `words` holds `args.len()` words; the caller vouches for the memory
    // the pointer arguments name.
    let rc = unsafe {
        f(
            name.as_ptr(),
            grid[0],
            grid[1],
            block,
            words.as_ptr(),
            words.len() as u32,
        )
    };
    if rc != 0 {
        return Err(RuntimeError::Shape(format!(
            "emulated launch of {entry}: unknown entry, wrong argument count or a block the emulator cannot run"
        )));
    }
    Ok(())
}

/// The commitment of `data` computed as the CUDA backend computes it: the launch plan of `schedule`
/// ([`merkle::commit_plan`]) step by step, each step's launch ([`merkle::step_launch`]) run by the emulated leaf,
/// subtree and root kernels on host buffers laid out as the executor's scratch. The plan's steps run in order
/// (one valid serialisation of its streams).
pub fn commit(
    data: &[u8],
    params: &CommitParams,
    schedule: CommitSchedule,
) -> Result<Commitment, RuntimeError> {
    let len = data.len() as u64;
    let n = params.leaf_count(len);
    let n_words = usize::try_from(n.saturating_mul(4))
        .map_err(|_| RuntimeError::Shape("emulated commit: too many leaves".into()))?;
    // one readable byte even for an empty buffer (the leaf kernel hashes zero bytes of it)
    let mut buf = data.to_vec();
    buf.push(0);
    let mut leaves = vec![0u64; n_words];
    let mut other = vec![0u64; 4 * (n_words / 4).div_ceil(2).max(1)];
    let mut root = vec![0u64; 4];
    let bufs = CommitBuffers {
        data: buf.as_ptr() as u64,
        leaves: leaves.as_mut_ptr() as u64,
        other: other.as_mut_ptr() as u64,
        root: root.as_mut_ptr() as u64,
    };
    for step in merkle::commit_plan(n, schedule) {
        if let Some(l) = merkle::step_launch(&step, &bufs, len, params) {
            // SAFETY: the buffers above are the executor's layout for n leaves (data: len bytes and one more;
            // leaves 4n words; other 4·ceil(n/2); root 4), alive until the end of this function, and step_launch
            // only offsets into them as the CUDA backend does.
            unsafe { launch(Module::KeccakMerkle, l.entry, [l.grid, 1], l.block, &l.args)? };
        }
    }
    Ok(Commitment {
        params: *params,
        len,
        root: merkle::lanes_to_digest(&root),
    })
}

/// `len` bytes of fill stream `stream` under `seed` by the emulated `cuproof_fill` (the CUDA backend's grid),
/// written at byte `offset` of a buffer (so unaligned starts take the kernel's byte path).
pub fn fill(
    seed: &[u8; 32],
    stream: u8,
    len: usize,
    offset: usize,
) -> Result<Vec<u8>, RuntimeError> {
    let mut out = vec![0u8; offset + len + 8];
    let w = fill::seed_words(seed);
    let blocks = (len as u64).div_ceil(fill::RATE as u64);
    let grid = u32::try_from(blocks.div_ceil(u64::from(fill::BLOCK)).max(1))
        .map_err(|_| RuntimeError::Shape("emulated fill: too long".into()))?;
    let args = [
        Arg::Ptr(out.as_mut_ptr() as u64 + offset as u64),
        Arg::U64(len as u64),
        Arg::U64(w[0]),
        Arg::U64(w[1]),
        Arg::U64(w[2]),
        Arg::U64(w[3]),
        Arg::U32(u32::from(stream)),
    ];
    // SAFETY: the kernel writes bytes [offset, offset + len) of `out`, which holds offset + len + 8 bytes.
    unsafe {
        launch(
            Module::KeccakMerkle,
            fill::ENTRY,
            [grid, 1],
            fill::BLOCK,
            &args,
        )?
    };
    out.truncate(offset + len);
    Ok(out.split_off(offset))
}

/// C = A·B (int32) by the emulated `mma.sync` GEMM kernel with the CUDA backend's grid ([`gemm::grid`]); `a_off`
/// and `bt_off` place the operands that many bytes into their buffers (an unaligned base takes the kernel's
/// generic staging path, as k % 16 != 0 does).
#[allow(clippy::too_many_arguments)]
pub fn gemm_i8(
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
    a_off: usize,
    bt_off: usize,
) -> Result<Vec<i32>, RuntimeError> {
    gemm::check_shape(a.len(), bt.len(), m, n, k)?;
    // operand copies at the requested offsets from a 16-byte-aligned base
    let place = |src: &[i8], off: usize| -> Vec<u128> {
        let mut words = vec![0u128; (off + src.len()).div_ceil(16).max(1)];
        // SAFETY: `words` holds at least off + src.len() bytes; u128 has no invalid bit patterns.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 16)
        };
        for (d, s) in bytes[off..off + src.len()].iter_mut().zip(src) {
            *d = *s as u8;
        }
        words
    };
    let (ab, bb) = (place(a, a_off), place(bt, bt_off));
    let mut c = vec![i32::MIN; m * n];
    let g = gemm::grid(m, n);
    let args = [
        Arg::Ptr(ab.as_ptr() as u64 + a_off as u64),
        Arg::Ptr(bb.as_ptr() as u64 + bt_off as u64),
        Arg::Ptr(c.as_mut_ptr() as u64),
        Arg::U32(m as u32),
        Arg::U32(n as u32),
        Arg::U32(k as u32),
    ];
    // SAFETY: A (m·k bytes at a_off) and Bt (n·k at bt_off) lie inside `ab` and `bb`; C holds m·n int32; the kernel
    // reads and writes only inside those extents (bounds-checked staging and stores).
    unsafe {
        launch(
            Module::Gemm,
            gemm::ENTRY,
            [g[0], g[1]],
            gemm::THREADS,
            &args,
        )?
    };
    Ok(c)
}

/// `(y, z, w)` of the six tensor-core Freivalds kernels (`freivalds::tc::ENTRIES` in order, each launch from
/// [`freivalds::tc::launch`], the CUDA backend's own arguments) under `plan`, with mma.sync emulated warp-wide.
#[allow(clippy::type_complexity)]
pub fn freivalds_tc(
    ops: Operands<'_>,
    r: &[u64],
    plan: &freivalds::tc::Plan,
) -> Result<(Vec<u64>, Vec<u64>, Vec<u64>), RuntimeError> {
    use freivalds::tc;
    let ((a, bt, c), (m, n, k)) = ((ops.a(), ops.bt(), ops.c()), ops.shape());
    check_r(r, n)?;
    if !tc::applies(m, n, k) || !plan.fits(m, n, k) {
        return Err(RuntimeError::Shape(format!(
            "emulated tensor-core freivalds: {plan:?} does not apply to {m}x{n}x{k}"
        )));
    }
    let limbs = tc::LIMBS as usize;
    let words = |len: usize| vec![0u64; len.max(1)];
    // byte buffers as u64 words (8-byte aligned, as device allocations are more than that)
    let bytes = |len: usize| vec![0u64; len.div_ceil(8).max(1)];
    let mut rplanes = bytes(limbs * plan.rstride as usize);
    let mut eplanes = bytes(limbs * 4 * plan.rstride as usize);
    let mut rsum = words(plan.prep_blocks as usize);
    let mut ypart = words(plan.br_slices as usize * k);
    let mut yplanes = bytes(limbs * plan.ystride as usize);
    let mut zpart = words(plan.ay_slices as usize * m);
    let mut wpart = words(plan.cr_slices as usize * m);
    let (mut y, mut z, mut w) = (vec![0u64; k], vec![0u64; m], vec![0u64; m]);
    let addr = |v: &mut Vec<u64>| v.as_mut_ptr() as u64;
    let bufs = tc::Buffers {
        a: a.as_ptr() as u64,
        bt: bt.as_ptr() as u64,
        c: c.as_ptr() as u64,
        r: r.as_ptr() as u64,
        rplanes: addr(&mut rplanes),
        eplanes: addr(&mut eplanes),
        rsum: addr(&mut rsum),
        ypart: addr(&mut ypart),
        yplanes: addr(&mut yplanes),
        zpart: addr(&mut zpart),
        wpart: addr(&mut wpart),
        y: addr(&mut y),
        z: addr(&mut z),
        w: addr(&mut w),
    };
    for entry in tc::ENTRIES {
        let (grid, args) = tc::launch(entry, plan, m, n, k, &bufs)
            .ok_or_else(|| RuntimeError::Shape(format!("unknown entry {entry}")))?;
        // SAFETY: every buffer above has the length the CUDA backend's scratch has for this plan
        // (FreivaldsTcScratch), the operands were checked, and all live until the end of this function.
        unsafe { launch(Module::Freivalds, entry, grid, 256, &args)? };
    }
    Ok((y, z, w))
}
