//! The runtime: measured module loading, recorded launches, workloads on the CPU backend (always) and, with
//! feature `cuda`, on a CUDA device when one is present (bit-identical to the CPU), else a clean "no CUDA device".

use cuproof::kernels::{fill, freivalds, gemm, keccak};
use cuproof::runtime::{Arg, Recorder, Runtime};
use cuproof::RuntimeError;
use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::log::{Backend, BufferRole, DType, ModuleFormat, Record};
use cuproof_core::HashAlg;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

#[test]
fn cpu_runtime_records_inventory_then_modules_then_launches() {
    let mut rt = Runtime::cpu();
    assert_eq!(rt.backend(), Backend::Cpu);
    let data = bytes(1, 10_000);
    let c = rt
        .commit_buffer(
            &data,
            &CommitParams::default(),
            BufferRole::Input,
            "x",
            DType::U8,
            &[10_000],
        )
        .unwrap();
    assert_eq!(c, commit(&data, &CommitParams::default()));
    let recs = rt.log().records();
    assert!(
        matches!(&recs[0], Record::Inventory(inv) if inv.backend == Backend::Cpu && inv.gpus.is_empty())
    );
    let loads: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::ModuleLoad { name, format, .. } => Some((name.clone(), *format)),
            _ => None,
        })
        .collect();
    assert_eq!(loads.len(), 4);
    assert!(loads.iter().all(|(_, f)| *f == ModuleFormat::Host));
    let first_launch = recs
        .iter()
        .position(|r| matches!(r, Record::Launch { .. }))
        .unwrap();
    let last_load = recs
        .iter()
        .rposition(|r| matches!(r, Record::ModuleLoad { .. }))
        .unwrap();
    assert!(
        last_load < first_launch,
        "modules are measured before any launch"
    );
    // 10_000 bytes = 3 leaves: leaves, one subtree pass, root
    let entries: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Launch { entry, .. } => Some(entry.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        entries,
        [
            "cuproof_merkle_leaves",
            "cuproof_merkle_subtree",
            "cuproof_merkle_root"
        ]
    );
    assert!(matches!(recs.last(), Some(Record::Buffer { commitment, .. }) if *commitment == c));
}

#[test]
fn launch_from_unmeasured_module_is_refused() {
    let mut rec = Recorder::new();
    let e = rec
        .launch("gemm_i8", gemm::ENTRY, [1, 1, 1], [1, 1, 1], 0, &[])
        .unwrap_err();
    assert!(matches!(e, RuntimeError::Unmeasured(_)));
    let tok = rec.measure_module("gemm_i8", ModuleFormat::Ptx, cuproof::ptx::GEMM_I8);
    assert_eq!(tok.handle, 0);
    rec.launch(
        "gemm_i8",
        gemm::ENTRY,
        [1, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::U32(1)],
    )
    .unwrap();
    match &rec.log().records()[0] {
        Record::ModuleLoad {
            image_digest,
            image_len,
            ..
        } => {
            assert_eq!(
                *image_digest,
                cuproof_core::hash::sha256(cuproof::ptx::GEMM_I8.as_bytes())
            );
            assert_eq!(*image_len, cuproof::ptx::GEMM_I8.len() as u64);
        }
        r => panic!("unexpected {r:?}"),
    }
    match &rec.log().records()[1] {
        Record::Launch { args_digest, .. } => {
            assert_eq!(
                *args_digest,
                cuproof_core::hash::sha256(&1u32.to_le_bytes())
            )
        }
        r => panic!("unexpected {r:?}"),
    }
}

/// All workloads on one runtime; returns the results to compare across backends.
#[allow(clippy::type_complexity)]
fn workloads(
    rt: &mut Runtime,
) -> (
    Vec<u8>,
    Vec<i32>,
    [u8; 32],
    freivalds::FreivaldsOutcome,
    bool,
    [u8; 32],
    Vec<u64>,
    (freivalds::BilinearOutcome, bool),
) {
    let seed = [9u8; 32];
    let (m, n, k) = (70, 45, 100);
    let a: Vec<i8> = rt
        .fill(&seed, fill::STREAM_A, m * k)
        .unwrap()
        .into_iter()
        .map(|b| b as i8)
        .collect();
    let bt: Vec<i8> = rt
        .fill(&seed, fill::STREAM_B, n * k)
        .unwrap()
        .into_iter()
        .map(|b| b as i8)
        .collect();
    let filled: Vec<u8> = a.iter().map(|x| *x as u8).collect();
    let params = CommitParams::new(HashAlg::Sha3_256, 8).unwrap();
    let g = rt.gemm_i8(&a, &bt, m, n, k, &params).unwrap();
    let fv = rt.freivalds(&a, &bt, &g.c, m, n, k, &[3u8; 32]).unwrap();
    // the GEMM and its check with the operands uploaded once give the same C, commitment and vectors
    let (g2, fv2) = rt
        .gemm_i8_checked(&a, &bt, m, n, k, &params, &[3u8; 32])
        .unwrap();
    assert_eq!((&g2.c, &g2.commitment, &fv2), (&g.c, &g.commitment, &fv));
    let mut bad = g.c.clone();
    bad[17] ^= 4;
    let rej = rt
        .freivalds(&a, &bt, &bad, m, n, k, &[3u8; 32])
        .unwrap()
        .accept;
    // the bilinear check on the same operands: accepts C, rejects the altered one
    let bil = rt
        .freivalds_bilinear(&a, &bt, &g.c, m, n, k, &[3u8; 32])
        .unwrap();
    let bil_rej = rt
        .freivalds_bilinear(&a, &bt, &bad, m, n, k, &[3u8; 32])
        .unwrap()
        .accept;
    let big = bytes(5, 300_001);
    let c = rt.commit(&big, &CommitParams::default()).unwrap();
    let mut states: Vec<u64> = (0..25 * 3)
        .map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    rt.keccak_f1600_batch(&mut states).unwrap();
    (
        filled,
        g.c,
        g.commitment.root,
        fv,
        rej,
        c.root,
        states,
        (bil, bil_rej),
    )
}

#[test]
fn cpu_workloads_match_twins() {
    let mut rt = Runtime::cpu();
    let (filled, c, croot, fv, rejected, root, states, (bil, bil_rejected)) = workloads(&mut rt);
    let seed = [9u8; 32];
    assert_eq!(filled, fill::fill_cpu(&seed, fill::STREAM_A, 70 * 100));
    let a = fill::fill_i8_cpu(&seed, fill::STREAM_A, 7000);
    let bt = fill::fill_i8_cpu(&seed, fill::STREAM_B, 4500);
    assert_eq!(c, gemm::gemm_i8_cpu(&a, &bt, 70, 45, 100).unwrap());
    let params = CommitParams::new(HashAlg::Sha3_256, 8).unwrap();
    assert_eq!(
        croot,
        commit(&cuproof::runtime::i32_bytes(&c), &params).root
    );
    assert!(fv.accept);
    assert!(!rejected);
    assert!(bil.accept && !bil_rejected);
    assert_eq!(
        bil,
        freivalds::bilinear_cpu(&a, &bt, &c, 70, 45, 100, &[3u8; 32]).unwrap()
    );
    assert_eq!(bil.v, fv.y, "v = B·r is the chain check's y");
    assert_eq!(
        root,
        commit(&bytes(5, 300_001), &CommitParams::default()).root
    );
    let mut expect: Vec<u64> = (0..75)
        .map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    keccak::f1600_batch_cpu(&mut expect);
    assert_eq!(states, expect);
    assert!(rt.keccak_f1600_batch(&mut [0u64; 24]).is_err());
}

#[cfg(not(feature = "cuda"))]
#[test]
fn auto_without_cuda_feature_is_cpu() {
    let (rt, why) = Runtime::auto();
    assert_eq!(rt.backend(), Backend::Cpu);
    assert!(matches!(why, Some(RuntimeError::NoDevice(_))));
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_device_matches_cpu_or_reports_no_device() {
    match Runtime::cuda(0) {
        Err(RuntimeError::NoDevice(msg)) => {
            eprintln!("no CUDA device ({msg}): skipping the device part of this test");
            let (rt, why) = Runtime::auto();
            assert_eq!(rt.backend(), Backend::Cpu);
            assert!(why.is_some());
        }
        Err(e) => panic!("CUDA backend failed: {e}"),
        Ok(mut gpu) => {
            assert_eq!(gpu.backend(), Backend::Cuda);
            let inv = gpu.inventory().clone();
            assert_eq!(inv.gpus.len(), 1);
            assert!(inv.gpus[0].sm_count > 0);
            let got = workloads(&mut gpu);
            let want = workloads(&mut Runtime::cpu());
            assert_eq!(got, want);
            assert_eq!(
                buffer_pipeline(&mut gpu),
                buffer_pipeline(&mut Runtime::cpu())
            );
        }
    }
}

/// What [`buffer_pipeline`] computed.
#[derive(Debug, PartialEq, Eq)]
struct Pipeline {
    c: Vec<u8>,
    root: [u8; 32],
    root_again: [u8; 32],
    /// `buf_commit_leaves` of C
    leaves_root: [u8; 32],
    leaves: Vec<[u8; 32]>,
    /// C of the second A seed, computed in place into a reused, oversized output buffer
    c2: Vec<u8>,
}

/// The device-resident buffer API: fill, GEMM, commit and download without leaving the backend; then the in-place
/// calls a loop over iterations uses (one A and one C buffer refilled and recomputed) and the leaf digests.
fn buffer_pipeline(rt: &mut Runtime) -> Pipeline {
    let (m, n, k) = (40, 24, 96);
    let seed = [0x5Au8; 32];
    let a = rt.buf_fill(&seed, fill::STREAM_A, m * k).unwrap();
    let bt = rt.buf_fill(&seed, fill::STREAM_B, n * k).unwrap();
    let c = rt.buf_gemm_i8(a, bt, m, n, k).unwrap();
    assert_eq!(rt.buf_len(c).unwrap(), m * n * 4);
    let params = CommitParams::new(HashAlg::Keccak256, 7).unwrap();
    let commitment = rt.buf_commit(c, &params).unwrap();
    let bytes = rt.buf_download(c).unwrap();
    let up = rt.buf_upload(&bytes).unwrap();
    let again = rt.buf_commit(up, &params).unwrap();
    let (lc, leaves) = rt.buf_commit_leaves(c, &params).unwrap();
    // the same digests kept in a backend buffer and fetched later
    let (kc, kept) = rt.buf_commit_keep_leaves(c, &params).unwrap();
    assert_eq!(kc, lc);
    assert_eq!(rt.buf_len(kept).unwrap(), 32 * leaves.len());
    let kept_bytes = rt.buf_download(kept).unwrap();
    assert_eq!(cuproof::runtime::digests(&kept_bytes).unwrap(), leaves);
    rt.buf_free(kept).unwrap();
    let a2 = rt.buf_alloc(m * k).unwrap();
    let c2 = rt.buf_alloc(m * n * 4 + 8).unwrap();
    for s in [[0x11u8; 32], [0x22; 32]] {
        rt.buf_fill_into(a2, &s, fill::STREAM_A).unwrap();
        rt.buf_gemm_i8_into(a2, bt, c2, m, n, k).unwrap();
    }
    let c2_bytes = rt.buf_download(c2).unwrap();
    rt.synchronize().unwrap();
    for b in [a, bt, c, up, a2, c2] {
        rt.buf_free(b).unwrap();
    }
    Pipeline {
        c: bytes,
        root: commitment.root,
        root_again: again.root,
        leaves_root: lc.root,
        leaves,
        c2: c2_bytes,
    }
}

#[test]
fn cpu_buffer_api_matches_twins_and_rejects_unknown_handles() {
    let mut rt = Runtime::cpu();
    let p = buffer_pipeline(&mut rt);
    let a = fill::fill_i8_cpu(&[0x5A; 32], fill::STREAM_A, 40 * 96);
    let bt = fill::fill_i8_cpu(&[0x5A; 32], fill::STREAM_B, 24 * 96);
    let c = gemm::gemm_i8_cpu(&a, &bt, 40, 24, 96).unwrap();
    assert_eq!(p.c, cuproof::runtime::i32_bytes(&c));
    let params = CommitParams::new(HashAlg::Keccak256, 7).unwrap();
    assert_eq!(p.root, commit(&p.c, &params).root);
    assert_eq!(p.root_again, p.root);
    assert_eq!(p.leaves_root, p.root);
    assert_eq!(p.leaves, cuproof_core::commitment::leaves(&p.c, &params));
    // the reused buffers hold the second seed's product, and the oversized C's tail stays zero
    let a2 = fill::fill_i8_cpu(&[0x22; 32], fill::STREAM_A, 40 * 96);
    let mut c2 = cuproof::runtime::i32_bytes(&gemm::gemm_i8_cpu(&a2, &bt, 40, 24, 96).unwrap());
    c2.extend_from_slice(&[0; 8]);
    assert_eq!(p.c2, c2);
    // buf_commit_leaves records the launches of buf_commit (the serial plan)
    let mut r1 = Runtime::cpu();
    let mut r2 = Runtime::cpu();
    let b1 = r1.buf_upload(&p.c).unwrap();
    let b2 = r2.buf_upload(&p.c).unwrap();
    r1.buf_commit(b1, &params).unwrap();
    r2.buf_commit_leaves(b2, &params).unwrap();
    assert_eq!(r1.log(), r2.log());
    // an output that is too small or is an operand is refused
    let (a3, b3) = (
        rt.buf_alloc(40 * 96).unwrap(),
        rt.buf_alloc(24 * 96).unwrap(),
    );
    let small = rt.buf_alloc(40 * 24 * 4 - 1).unwrap();
    for out in [small, a3, b3] {
        assert!(matches!(
            rt.buf_gemm_i8_into(a3, b3, out, 40, 24, 96),
            Err(RuntimeError::Shape(_))
        ));
    }
    // freed and never-issued handles are refused
    let x = rt.buf_upload(&[1, 2, 3]).unwrap();
    rt.buf_free(x).unwrap();
    assert!(matches!(
        rt.buf_download(x),
        Err(RuntimeError::UnknownBuffer(_))
    ));
    assert!(rt.buf_free(x).is_err());
    let y = rt.buf_upload(&[0; 8]).unwrap();
    assert!(matches!(
        rt.buf_gemm_i8(y, y, 3, 3, 3),
        Err(RuntimeError::Shape(_))
    ));
    assert!(matches!(
        rt.buf_gemm_i8(y, x, 1, 1, 8),
        Err(RuntimeError::UnknownBuffer(_))
    ));
}
