//! The Freivalds kernels whole — `kernels/freivalds.cu`'s `__global__` functions, not only the header math — run
//! on the host by the SIMT emulator (`kernels/simt_emu.hpp`) with the runtime's grids, against the Rust twins.
//! Shapes cover the kernels' fast and generic paths (k % 8, k % 4, n % 4), partial column groups and row groups,
//! more slices than rows, folds of the int8 and int32 accumulators, and grids smaller than the work (grid-stride
//! loops, the queue's persistent blocks).
#![cfg(target_os = "linux")]

use cuproof::host::emu::{self, ChainLaunch};
use cuproof::kernels::{freivalds, gemm};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

struct Case {
    m: usize,
    n: usize,
    k: usize,
    a: Vec<i8>,
    bt: Vec<i8>,
    c: Vec<i32>,
    bad: Vec<i32>,
    r: Vec<u64>,
    s: Vec<u64>,
    twin: freivalds::FreivaldsOutcome,
    bil: freivalds::BilinearOutcome,
    bil_bad: freivalds::BilinearOutcome,
}

impl Case {
    /// A, Bᵀ and the true C.
    fn ops(&self) -> freivalds::Operands<'_> {
        freivalds::Operands::new(&self.a, &self.bt, &self.c, self.m, self.n, self.k).unwrap()
    }

    /// A, Bᵀ and the C with one wrong entry.
    fn bad_ops(&self) -> freivalds::Operands<'_> {
        self.ops().with_c(&self.bad).unwrap()
    }
}

fn case(rng: &mut ChaCha20Rng, m: usize, n: usize, k: usize) -> Case {
    let mut bytes = |len: usize| -> Vec<i8> {
        let mut v = vec![0u8; len];
        rng.fill_bytes(&mut v);
        v.into_iter().map(|x| x as i8).collect()
    };
    let a = bytes(m * k);
    let bt = bytes(n * k);
    let c = gemm::gemm_i8_cpu(&a, &bt, m, n, k).unwrap();
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let mut bad = c.clone();
    let i = rng.gen_range(0..bad.len());
    bad[i] = bad[i].wrapping_sub(1);
    let (r, s) = (freivalds::r_vector(&seed, n), freivalds::s_vector(&seed, m));
    let twin = freivalds::freivalds_with_r(&a, &bt, &c, &r, m, n, k);
    let twin_bad = freivalds::freivalds_with_r(&a, &bt, &bad, &r, m, n, k);
    let bil = freivalds::bilinear_from(&twin, &a, &s, m, k);
    let bil_bad = freivalds::bilinear_from(&twin_bad, &a, &s, m, k);
    Case {
        m,
        n,
        k,
        a,
        bt,
        c,
        bad,
        r,
        s,
        twin,
        bil,
        bil_bad,
    }
}

/// Small shapes for the emulator (every thread is a host thread): fast paths (k % 8 = 0, n % 4 = 0) and generic
/// ones, tails in every dimension, a C·r row longer than one 2,048-column queue chunk.
const SHAPES: [(usize, usize, usize); 5] = [
    (37, 45, 131),
    (64, 2500, 64),
    (1, 1, 1),
    (19, 68, 520),
    (6, 300, 2052),
];

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x5eed_e1a7)
}

#[test]
fn emulated_chain_kernels_match_twin() {
    let mut g = rng();
    for (m, n, k) in SHAPES {
        let t = case(&mut g, m, n, k);
        for launch in [
            ChainLaunch::default(),
            ChainLaunch {
                slices: 3,
                dp2a: true,
                ..ChainLaunch::default()
            },
            ChainLaunch {
                slices: 64,
                br_narrow: true,
                cr_grid: 1,
                cr_threads: 64,
                ..ChainLaunch::default()
            },
            ChainLaunch {
                slices: 7,
                dp2a: true,
                br_narrow: true,
                cr_grid: 2,
                cr_threads: 96,
            },
        ] {
            let got = emu::freivalds_chain(t.ops(), &t.r, launch).unwrap();
            assert_eq!(
                got,
                (t.twin.y.clone(), t.twin.z.clone(), t.twin.w.clone()),
                "{m}x{n}x{k} {launch:?}"
            );
            let (_, z, w) = emu::freivalds_chain(t.bad_ops(), &t.r, launch).unwrap();
            assert_ne!(z, w, "tampered C accepted: {m}x{n}x{k} {launch:?}");
        }
    }
}

#[test]
fn emulated_fused_br_finishes_y_and_clears_its_accumulators() {
    let mut g = rng();
    for (m, n, k) in SHAPES {
        let t = case(&mut g, m, n, k);
        for slices in [1, 5, 64] {
            // three launches on the same accumulators: each must leave them zero for the next
            let y = emu::freivalds_br_fused(&t.bt, &t.r, n, k, slices, 3).unwrap();
            assert_eq!(y, t.twin.y, "{m}x{n}x{k}, {slices} slices");
        }
    }
}

#[test]
fn emulated_bilinear_launches_match_twin() {
    let mut g = rng();
    for (m, n, k) in SHAPES {
        let t = case(&mut g, m, n, k);
        let (u, w, out) =
            emu::freivalds_bilinear(&t.a, &t.c, &t.r, &t.s, &t.twin.y, m, n, k, 32).unwrap();
        assert_eq!((&u, &w, out), (&t.bil.u, &t.bil.w, [t.bil.lhs, t.bil.rhs]));
        assert!(t.bil.accept && !t.bil_bad.accept);
    }
}

#[test]
fn emulated_queue_kernel_matches_twin_on_every_entry_and_grid() {
    let mut g = rng();
    for (m, n, k) in SHAPES {
        let t = case(&mut g, m, n, k);
        for (per, dp2a, slices, cr_chunk, tail_div, claim_ahead, grid) in [
            (8, false, 32, 2048, 8, true, 2),
            (8, true, 3, 128, 1, false, 1),
            (4, false, 64, 256, u32::MAX, true, 3),
            (4, true, 5, 1024, 2, false, 2),
        ] {
            let shape = freivalds::queue::Shape {
                per,
                dp2a,
                slices,
                cr_chunk,
                tail_div,
                claim_ahead,
                blocks_per_sm: 0,
            };
            // two launches on the same counters: the second finds what the first left (all zero)
            let (u, v, out, times) =
                emu::freivalds_queue(t.ops(), &t.r, &t.s, &shape, grid, 2).unwrap();
            assert_eq!(
                (&u, &v, out),
                (&t.bil.u, &t.bil.v, [t.bil.lhs, t.bil.rhs]),
                "{} {shape:?} grid {grid}",
                format_args!("{}x{}x{}", t.m, t.n, t.k)
            );
            // every warp wrote its start and end, in order
            assert!(times.chunks(2).all(|p| p[0] > 0 && p[0] <= p[1]));
            let (_, _, out, _) =
                emu::freivalds_queue(t.bad_ops(), &t.r, &t.s, &shape, grid, 1).unwrap();
            assert_eq!(out, [t.bil_bad.lhs, t.bil_bad.rhs]);
            assert_ne!(out[0], out[1], "tampered C accepted: {shape:?}");
        }
    }
}

#[test]
fn emulated_kernels_refuse_bad_shapes() {
    let t = case(&mut rng(), 4, 4, 8);
    let bad_launch = ChainLaunch {
        cr_threads: 48,
        ..ChainLaunch::default()
    };
    assert!(emu::freivalds_chain(t.ops(), &t.r, bad_launch).is_err());
    assert!(emu::freivalds_chain(t.ops(), &t.r[..3], ChainLaunch::default()).is_err());
    // operands that do not fit their shape never reach a kernel
    assert!(freivalds::Operands::new(&t.a, &t.bt, &t.c, 4, 4, 9).is_err());
    assert!(t.ops().with_c(&t.c[..15]).is_err());
    let shape = freivalds::queue::Shape::default();
    assert!(emu::freivalds_queue(t.ops(), &t.r, &t.s, &shape, 0, 1).is_err());
    assert!(emu::freivalds_br_fused(&t.bt, &t.r, 4, 8, 0, 1).is_err());
    // SAFETY: no arguments; an unknown entry is refused before anything runs.
    let f = unsafe {
        emu::launch(
            emu::Module::Freivalds,
            "cuproof_no_such_kernel",
            [1, 1],
            32,
            &[],
        )
    };
    assert!(f.is_err());
}

#[test]
fn emulated_commitment_kernels_follow_every_launch_plan_to_the_reference_root() {
    use cuproof::kernels::merkle::CommitSchedule;
    use cuproof_core::commitment::{commit, CommitParams};
    use cuproof_core::HashAlg;
    let mut g = rng();
    // (bytes, chunk_log2): empty, one partial leaf, unaligned tails, one and two subtree groups, 5,000 leaves
    // (three subtree passes' worth of grouping with segments), 2^18 + 3 leaves (Auto pipelines from 2^18)
    for (len, k) in [
        (0usize, 12u8),
        (1, 12),
        (135, 5),
        (4097, 12),
        (512 * 32, 5),
        (513 * 32 + 7, 5),
        (5000 * 32 - 3, 5),
        ((1 << 18) * 32 + 3 * 32, 5),
    ] {
        let mut data = vec![0u8; len];
        g.fill_bytes(&mut data);
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            let params = CommitParams { alg, chunk_log2: k };
            let want = commit(&data, &params);
            let schedules: &[CommitSchedule] = if len > (1 << 20) {
                &[CommitSchedule::Auto]
            } else {
                &[
                    CommitSchedule::Serial,
                    CommitSchedule::Pipelined { segments: 2 },
                    CommitSchedule::Pipelined { segments: 4 },
                ]
            };
            for &schedule in schedules {
                let got = emu::commit(&data, &params, schedule).unwrap();
                assert_eq!(
                    got, want,
                    "{len} bytes, 2^{k} chunks, {alg:?}, {schedule:?}"
                );
            }
        }
    }
}

#[test]
fn emulated_fill_kernel_matches_twin_at_any_offset() {
    let mut g = rng();
    let mut seed = [0u8; 32];
    g.fill_bytes(&mut seed);
    for (len, offset) in [
        (0usize, 0usize),
        (1, 0),
        (136, 0),
        (137 * 129, 0),
        (1000, 3),
        (136 * 128 + 5, 1),
    ] {
        for stream in [0xA0u8, 0xF0] {
            assert_eq!(
                emu::fill(&seed, stream, len, offset).unwrap(),
                cuproof::kernels::fill::fill_cpu(&seed, stream, len),
                "{len} bytes at offset {offset}, stream {stream:#x}"
            );
        }
    }
}

#[test]
fn emulated_mma_sync_gemm_matches_naive_product() {
    let mut g = rng();
    // fast path (k % 16 = 0, aligned operands: cp.async staging), generic staging (k % 16 != 0 or an unaligned
    // base), tails in m and n, more than one block in each direction and more than one k slice
    for (m, n, k, a_off, bt_off) in [
        (1, 1, 1, 0, 0),
        (130, 68, 160, 0, 0),
        (37, 45, 131, 0, 0),
        (129, 257, 64, 0, 0),
        (40, 24, 96, 3, 0),
        (16, 136, 48, 0, 5),
    ] {
        let t = case(&mut g, m, n, k);
        let c = emu::gemm_i8(&t.a, &t.bt, m, n, k, a_off, bt_off).unwrap();
        assert_eq!(c, t.c, "{m}x{n}x{k}, offsets {a_off} / {bt_off}");
    }
    // extremes: -128 everywhere sums to 16,384 k without wrapping
    let (m, n, k) = (20, 20, 64);
    let c = emu::gemm_i8(&vec![-128; m * k], &vec![-128; n * k], m, n, k, 0, 0).unwrap();
    assert!(c.iter().all(|&v| v == 16384 * k as i32));
}

#[test]
fn emulated_tensor_core_freivalds_matches_twin_under_its_plans() {
    use freivalds::tc;
    let mut g = rng();
    // shapes the tensor-core kernels take (k % 16 = 0, n % 4 = 0): tails in m, k % 128 and n % 32, C·r folds
    let mut ran = 0;
    for (m, n, k) in [(37, 68, 160), (130, 36, 1040), (5, 4, 16), (64, 260, 272)] {
        assert!(tc::applies(m, n, k));
        let t = case(&mut g, m, n, k);
        for sms in [1, 8, 132] {
            let plan = tc::plan(m, n, k, sms).unwrap();
            let got = emu::freivalds_tc(t.ops(), &t.r, &plan).unwrap();
            assert_eq!(
                got,
                (t.twin.y.clone(), t.twin.z.clone(), t.twin.w.clone()),
                "{m}x{n}x{k} {plan:?}"
            );
            let (_, z, w) = emu::freivalds_tc(t.bad_ops(), &t.r, &plan).unwrap();
            assert_ne!(z, w, "tampered C accepted: {m}x{n}x{k} {plan:?}");
            ran += 1;
        }
    }
    assert_eq!(ran, 12);
}
