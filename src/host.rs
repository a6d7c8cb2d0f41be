//! The kernels' portable math (`kernels/*.cuh`), compiled for the host by `build.rs` and called through the C ABI.
//!
//! These are not the CPU backend (that is the Rust twins in [`crate::kernels`]); they exist so that the tests run
//! the very source the GPU runs and compare it with the Rust twins and with the references (`sha3`,
//! [`cuproof_core::commitment`], a naive product). Every wrapper checks sizes before it calls into C.
#![allow(unsafe_code)]

use crate::error::RuntimeError;
pub use crate::kernels::freivalds::Operands;
use cuproof_core::commitment::CommitParams;

#[cfg(target_os = "linux")]
pub mod emu;

mod ffi {
    extern "C" {
        pub fn cuproof_host_keccak_f1600(state: *mut u64);
        pub fn cuproof_host_hash_prefixed(
            prefix: u8,
            data: *const u8,
            len: u64,
            pad: u32,
            out: *mut u8,
        );
        pub fn cuproof_host_hash_prefixed_v2(
            prefix: u8,
            data: *const u8,
            len: u64,
            pad: u32,
            out: *mut u8,
        );
        pub fn cuproof_host_commit(
            data: *const u8,
            len: u64,
            chunk_log2: u32,
            alg_id: u32,
            pad: u32,
            scratch: *mut u64,
            tree_root: *mut u8,
            root: *mut u8,
        );
        pub fn cuproof_host_fill(out: *mut u8, len: u64, seed: *const u8, stream: u32);
        pub fn cuproof_host_gemm_i8_tiled(
            a: *const i8,
            bt: *const i8,
            c: *mut i32,
            m: i32,
            n: i32,
            k: i32,
        );
        pub fn cuproof_host_gemm_i8_sm90(
            a: *const i8,
            bt: *const i8,
            c: *mut i32,
            m: i32,
            n: i32,
            k: i32,
        );
        pub fn cuproof_host_freivalds(
            a: *const i8,
            bt: *const i8,
            c: *const i32,
            r: *const u64,
            m: u32,
            n: u32,
            k: u32,
            y: *mut u64,
            z: *mut u64,
            w: *mut u64,
        );
        pub fn cuproof_host_freivalds_dp2a(
            a: *const i8,
            bt: *const i8,
            r: *const u64,
            m: u32,
            n: u32,
            k: u32,
            slice_start: u32,
            y: *mut u64,
            z: *mut u64,
        );
        pub fn cuproof_host_freivalds_queue(
            a: *const i8,
            bt: *const i8,
            c: *const i32,
            r: *const u64,
            s: *const u64,
            m: u32,
            n: u32,
            k: u32,
            per: u32,
            slices: u32,
            cr_chunk: u32,
            tail_div: u32,
            rows_per_item: u32,
            order: *const u32,
            u: *mut u64,
            v: *mut u64,
            part_u: *mut u64,
            part_v: *mut u64,
            ctr: *mut u32,
            seen: *mut u8,
            out: *mut u64,
        ) -> i32;
        pub fn cuproof_host_fvq_decode(
            m: u32,
            n: u32,
            k: u32,
            per: u32,
            slices: u32,
            cr_chunk: u32,
            tail_div: u32,
            rows_per_item: u32,
            i: u32,
            out: *mut u32,
        );
        pub fn cuproof_host_dot61(a: *const u64, b: *const u64, n: u32, threads: u32) -> u64;
        pub fn cuproof_host_y_from_slices(parts: *const u64, slices: u32, k: u32, y: *mut u64);
        pub fn cuproof_host_freivalds_tc(
            a: *const i8,
            bt: *const i8,
            c: *const i32,
            r: *const u64,
            m: u32,
            n: u32,
            k: u32,
            br_per: u32,
            ay_per: u32,
            cr_per: u32,
            y: *mut u64,
            z: *mut u64,
            w: *mut u64,
        ) -> i32;
    }
}

/// Keccak-f\[1600\] of `kernels/keccak.cuh`.
pub fn keccak_f1600(state: &mut [u64; 25]) {
    // SAFETY: the C function reads and writes exactly 25 u64 through the pointer.
    unsafe { ffi::cuproof_host_keccak_f1600(state.as_mut_ptr()) }
}

/// `H(prefix || data)` of `kernels/keccak.cuh` (`pad` = 0x01 Keccak-256, 0x06 SHA3-256).
pub fn hash_prefixed(prefix: u8, data: &[u8], pad: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: data is valid for data.len() bytes; out holds 32 bytes.
    unsafe {
        ffi::cuproof_host_hash_prefixed(
            prefix,
            data.as_ptr(),
            data.len() as u64,
            pad as u32,
            out.as_mut_ptr(),
        )
    };
    out
}

/// `H(prefix || data)` through the paired-load variant of the leaf hash (`cp_hash_prefixed_v2`, the
/// `CP_LEAF_V2` tuning knob). `None` where its precondition fails (`(len + 1) % 136 == 0`).
pub fn hash_prefixed_v2(prefix: u8, data: &[u8], pad: u8) -> Option<[u8; 32]> {
    if (data.len() + 1).is_multiple_of(136) {
        return None;
    }
    let mut out = [0u8; 32];
    // SAFETY: data is valid for data.len() bytes (the host build reads words with bounds); out holds 32 bytes.
    unsafe {
        ffi::cuproof_host_hash_prefixed_v2(
            prefix,
            data.as_ptr(),
            data.len() as u64,
            pad as u32,
            out.as_mut_ptr(),
        )
    };
    Some(out)
}

/// The commitment computed by the leaf / level / root kernel functions in the kernels' order: `(tree_root, root)`.
pub fn commit(data: &[u8], params: &CommitParams) -> ([u8; 32], [u8; 32]) {
    let n = params.leaf_count(data.len() as u64) as usize;
    let mut scratch = vec![0u64; 4 * n];
    let (mut tree_root, mut root) = ([0u8; 32], [0u8; 32]);
    // SAFETY: scratch holds 4 words per leaf as the C function requires; the outputs hold 32 bytes each.
    unsafe {
        ffi::cuproof_host_commit(
            data.as_ptr(),
            data.len() as u64,
            params.chunk_log2 as u32,
            params.alg.id() as u32,
            crate::kernels::merkle::pad_byte(params.alg) as u32,
            scratch.as_mut_ptr(),
            tree_root.as_mut_ptr(),
            root.as_mut_ptr(),
        )
    };
    (tree_root, root)
}

/// The seeded fill of `kernels/keccak.cuh` (`cp_fill_block`).
pub fn fill(seed: &[u8; 32], stream: u8, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    // SAFETY: out holds len bytes, seed 32.
    unsafe { ffi::cuproof_host_fill(out.as_mut_ptr(), len as u64, seed.as_ptr(), stream as u32) };
    out
}

/// C = A·B through the mma.sync kernel's own tiling and fragment maps (`kernels/gemm.cuh`), with an emulated mma.
pub fn gemm_i8_tiled(
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Vec<i32>, RuntimeError> {
    host_gemm(ffi::cuproof_host_gemm_i8_tiled, a, bt, m, n, k)
}

/// C = A·B through the Hopper kernel's schedule (`kernels/gemm_sm90.cuh`): operands staged with the TMA's 128-byte
/// swizzle, read back through the wgmma descriptors, accumulated in the fragment map, stored with the epilogue's
/// bounds. Slow (a few million multiply-adds per second): for tests on small shapes.
pub fn gemm_i8_sm90(
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Vec<i32>, RuntimeError> {
    host_gemm(ffi::cuproof_host_gemm_i8_sm90, a, bt, m, n, k)
}

type HostGemm = unsafe extern "C" fn(*const i8, *const i8, *mut i32, i32, i32, i32);

fn host_gemm(
    f: HostGemm,
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Vec<i32>, RuntimeError> {
    crate::kernels::gemm::check_shape(a.len(), bt.len(), m, n, k)?;
    let mut c = vec![0i32; m * n];
    // SAFETY: shapes checked above: a has m*k, bt n*k elements, c m*n; dims fit in i32. The C functions use
    // their own thread-local scratch.
    unsafe {
        f(
            a.as_ptr(),
            bt.as_ptr(),
            c.as_mut_ptr(),
            m as i32,
            n as i32,
            k as i32,
        )
    };
    Ok(c)
}

/// Freivalds vectors `(y, z, w)` of `kernels/freivalds.cuh` for the given `r`.
#[allow(clippy::type_complexity)]
pub fn freivalds(
    ops: Operands<'_>,
    r: &[u64],
) -> Result<(Vec<u64>, Vec<u64>, Vec<u64>), RuntimeError> {
    let ((a, bt, c), (m, n, k)) = ((ops.a(), ops.bt(), ops.c()), ops.shape());
    if r.len() != n {
        return Err(RuntimeError::Shape(format!(
            "freivalds: r has {} entries, expected {n}",
            r.len()
        )));
    }
    let (mut y, mut z, mut w) = (vec![0u64; k], vec![0u64; m], vec![0u64; m]);
    // SAFETY: Operands fixed a (m·k), bt (n·k), c (m·n) with dims < 2^32; r has n entries (checked).
    unsafe {
        ffi::cuproof_host_freivalds(
            a.as_ptr(),
            bt.as_ptr(),
            c.as_ptr(),
            r.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            y.as_mut_ptr(),
            z.as_mut_ptr(),
            w.as_mut_ptr(),
        )
    };
    Ok((y, z, w))
}

/// `(y, z)` of the Freivalds check with the two-way dot products (`dp2a`) grouped as the dp2a kernels group them
/// (`cuproof_freivalds_br_partial*_dp2a`, `cuproof_freivalds_rows_i8_dp2a`): B·r over two slices split at
/// `slice_start` (rows paired from each slice's start), A·y four bytes of a row at a time. Needs `k % 4 == 0` (the
/// kernels' fast path; other k take the IMAD path there) and residues `r[j] < p`.
pub fn freivalds_dp2a(
    a: &[i8],
    bt: &[i8],
    r: &[u64],
    m: usize,
    n: usize,
    k: usize,
    slice_start: usize,
) -> Result<(Vec<u64>, Vec<u64>), RuntimeError> {
    crate::kernels::gemm::check_shape(a.len(), bt.len(), m, n, k)?;
    let p = crate::kernels::freivalds::P;
    if r.len() != n || !k.is_multiple_of(4) || slice_start > n || r.iter().any(|&x| x >= p) {
        return Err(RuntimeError::Shape(format!(
            "freivalds (dp2a): r has {} entries for n = {n}, k = {k} (a multiple of 4), slice start {slice_start}, residues below p",
            r.len()
        )));
    }
    let (mut y, mut z) = (vec![0u64; k], vec![0u64; m]);
    // SAFETY: lengths checked above (check_shape: a is m·k, bt n·k, dims fit in u32; r has n entries); y holds k
    // and z m entries.
    unsafe {
        ffi::cuproof_host_freivalds_dp2a(
            a.as_ptr(),
            bt.as_ptr(),
            r.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            slice_start as u32,
            y.as_mut_ptr(),
            z.as_mut_ptr(),
        )
    };
    Ok((y, z))
}

/// The item at queue position `i` of the bilinear queue schedule for an m×k by k×n product (`cp_fvq_decode`):
/// `[kind, a, b]` — kind 0 (Bt with r) or 1 (A with s) with column group a and row slice b, or kind 2 (C·r) with
/// row group a and column chunk b.
pub fn fvq_item(
    shape: &crate::kernels::freivalds::queue::Shape,
    m: usize,
    n: usize,
    k: usize,
    i: u32,
) -> Result<[u32; 3], RuntimeError> {
    let items = shape.items(m, n, k)?;
    if i >= items.col_items + items.cr_items {
        return Err(RuntimeError::Shape(format!(
            "fvq_item: position {i} past the queue"
        )));
    }
    let mut out = [0u32; 3];
    // SAFETY: out holds the 3 words the C function writes; Shape::items bounded the dimensions and counts.
    unsafe {
        ffi::cuproof_host_fvq_decode(
            m as u32,
            n as u32,
            k as u32,
            shape.per,
            shape.slices,
            shape.cr_chunk,
            shape.tail_div,
            crate::kernels::freivalds::queue::ROWS_PER_ITEM,
            i,
            out.as_mut_ptr(),
        )
    };
    Ok(out)
}

/// What the bilinear queue kernel (`cuproof_freivalds_bilinear_queue*`) computes, run on the host with the same
/// schedule and counters: `order` is the order in which the queue positions' items complete (a permutation of
/// `0..items`, as the device's warps might finish them). Returns `(u, v, [u·v, s·w])`, or an error if the order
/// is not a permutation, two positions decode to one item, or a column group's counters did not complete.
#[allow(clippy::type_complexity)]
pub fn freivalds_queue(
    ops: Operands<'_>,
    r: &[u64],
    s: &[u64],
    shape: &crate::kernels::freivalds::queue::Shape,
    order: &[u32],
) -> Result<(Vec<u64>, Vec<u64>, [u64; 2]), RuntimeError> {
    use crate::kernels::freivalds::{queue, P};
    let ((a, bt, c), (m, n, k)) = ((ops.a(), ops.bt(), ops.c()), ops.shape());
    let items = shape.items(m, n, k)?;
    let total = (items.col_items + items.cr_items) as usize;
    if r.len() != n || s.len() != m || order.len() != total || r.iter().chain(s).any(|&x| x >= P) {
        return Err(RuntimeError::Shape(format!(
            "freivalds (queue): r has {}, s {} (residues), order {} for {m}x{n}x{k} with {total} items",
            r.len(),
            s.len(),
            order.len()
        )));
    }
    let slices = shape.slices as usize;
    let (mut u, mut v) = (vec![0u64; k], vec![0u64; k]);
    let (mut part_u, mut part_v) = (vec![0u64; slices * k], vec![0u64; slices * k]);
    let mut ctr = vec![0u32; 3 * items.groups as usize];
    let mut seen = vec![0u8; total];
    let mut out = [0u64; 2];
    // SAFETY: Operands (freivalds::check) and the checks above fix every length the C function reads or writes: a m·k, bt n·k,
    // c m·n, r n, s m, order `total` entries (dims < 2^31, total < 2^31: Shape::items); u, v k; the partials
    // slices·k; ctr 3·groups; seen `total`; out 2.
    let rc = unsafe {
        ffi::cuproof_host_freivalds_queue(
            a.as_ptr(),
            bt.as_ptr(),
            c.as_ptr(),
            r.as_ptr(),
            s.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            shape.per,
            shape.slices,
            shape.cr_chunk,
            shape.tail_div,
            queue::ROWS_PER_ITEM,
            order.as_ptr(),
            u.as_mut_ptr(),
            v.as_mut_ptr(),
            part_u.as_mut_ptr(),
            part_v.as_mut_ptr(),
            ctr.as_mut_ptr(),
            seen.as_mut_ptr(),
            out.as_mut_ptr(),
        )
    };
    match rc {
        0 => Ok((u, v, out)),
        -1 => Err(RuntimeError::Shape(
            "freivalds (queue): the order is not a permutation of the queue positions".into(),
        )),
        -2 => Err(RuntimeError::Shape(
            "freivalds (queue): two queue positions decode to the same item".into(),
        )),
        code => Err(RuntimeError::Shape(format!(
            "freivalds (queue): a column group's counters did not complete ({code})"
        ))),
    }
}

/// `a · b mod p` (residues, equal lengths) as `cuproof_freivalds_dot2` computes it with `threads` threads.
pub fn dot61(a: &[u64], b: &[u64], threads: u32) -> Result<u64, RuntimeError> {
    if a.len() != b.len() || a.len() > u32::MAX as usize || threads == 0 {
        return Err(RuntimeError::Shape(format!(
            "dot61: lengths {} and {}, {threads} threads",
            a.len(),
            b.len()
        )));
    }
    // SAFETY: both slices hold a.len() elements, which fits in u32 (checked above).
    Ok(unsafe { ffi::cuproof_host_dot61(a.as_ptr(), b.as_ptr(), a.len() as u32, threads) })
}

/// y from `slices` rows of k partial residues each (`parts[s * k + l] < p`), summed as the fused B·r kernel sums
/// them (`cuproof_freivalds_br_fused`: 32-bit halves in u64 accumulators, then `cp_fv_y_from_halves`).
pub fn y_from_slices(parts: &[u64], slices: usize, k: usize) -> Result<Vec<u64>, RuntimeError> {
    let p = crate::kernels::freivalds::P;
    if slices
        .checked_mul(k)
        .is_none_or(|len| len != parts.len() || slices > u32::MAX as usize || k > u32::MAX as usize)
        || parts.iter().any(|&x| x >= p)
    {
        return Err(RuntimeError::Shape(format!(
            "y_from_slices: {} partials for {slices} x {k}, or a partial >= p",
            parts.len()
        )));
    }
    let mut y = vec![0u64; k];
    // SAFETY: parts holds slices * k elements and y holds k, both counts fit in u32 (checked above).
    unsafe {
        ffi::cuproof_host_y_from_slices(parts.as_ptr(), slices as u32, k as u32, y.as_mut_ptr())
    };
    Ok(y)
}

/// Freivalds vectors `(y, z, w)` of the tensor-core kernels (`kernels/freivalds_tc.cuh`, emulated mma) for the
/// given `r`, sliced as `plan` says.
#[allow(clippy::type_complexity)]
pub fn freivalds_tc(
    ops: Operands<'_>,
    r: &[u64],
    plan: &crate::kernels::freivalds::tc::Plan,
) -> Result<(Vec<u64>, Vec<u64>, Vec<u64>), RuntimeError> {
    let ((a, bt, c), (m, n, k)) = ((ops.a(), ops.bt(), ops.c()), ops.shape());
    if r.len() != n || !plan.fits(m, n, k) {
        return Err(RuntimeError::Shape(format!(
            "freivalds (tensor cores): r has {} entries, expected {n}; k % 16 == 0, n % 4 == 0 and a plan that \
             fits ({plan:?})",
            r.len()
        )));
    }
    let (mut y, mut z, mut w) = (vec![0u64; k], vec![0u64; m], vec![0u64; m]);
    // SAFETY: Operands fixed A (m*k), Bt (n*k), C (m*n) with dims < 2^32, r has n entries (checked); the C side
    // reads those and writes y (k), z (m), w (m).
    let rc = unsafe {
        ffi::cuproof_host_freivalds_tc(
            a.as_ptr(),
            bt.as_ptr(),
            c.as_ptr(),
            r.as_ptr(),
            m as u32,
            n as u32,
            k as u32,
            plan.br_per,
            plan.ay_per,
            plan.cr_per,
            y.as_mut_ptr(),
            z.as_mut_ptr(),
            w.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(RuntimeError::Shape(format!(
            "freivalds (tensor cores): unsupported plan {plan:?}"
        )));
    }
    Ok((y, z, w))
}
