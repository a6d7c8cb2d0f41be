//! The measured-job API (`cuproof::job`) against a real (software) TPM: a job over a user's PTX yields a receipt
//! that `cuproof-verify` accepts; every misuse is a typed error; cheats are caught by the verifier.
//!
//! Needs swtpm + swtpm-tools (apt) unless `CUPROOF_TCTI` names a TPM.

use cuproof::job::{
    u32_bytes, u32s, BackendChoice, CpuArg, JobError, JobSpec, KernelArg, LaunchConfig, MeasuredJob,
};
use cuproof::node::NodeSession;
use cuproof_core::log::{Backend, BufferRole, DType, ModuleFormat, Record};
use cuproof_core::receipt::Receipt;
use cuproof_verify::{verify_receipt, Policy, VerifyContext};
use std::path::Path;

const PTX: &str = include_str!("../examples/kernels/vadd.ptx");
const CHALLENGE: [u8; 32] = [0xc4; 32];

fn node() -> NodeSession {
    NodeSession::open(None).expect(
        "a TPM: set CUPROOF_TCTI, or install swtpm + swtpm-tools (apt) so that a private software TPM starts",
    )
}

fn policy() -> Policy {
    Policy::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/verify/policies/development.toml"),
    )
    .expect("development policy")
}

fn twin(_cfg: &LaunchConfig, args: &mut [CpuArg]) -> Result<(), String> {
    let n = args[3].as_u32()? as usize;
    let a = u32s(args[0].buffer()?);
    let b = u32s(args[1].buffer()?);
    let c: Vec<u32> = (0..n).map(|i| a[i].wrapping_add(b[i])).collect();
    args[2].buffer_mut()?.copy_from_slice(&u32_bytes(&c));
    Ok(())
}

fn le(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn started(node: &mut NodeSession) -> MeasuredJob<'_> {
    let spec = JobSpec::new("vadd-i32", [7; 32], CHALLENGE).param("n", "4");
    let mut job = MeasuredJob::start(node, spec, BackendChoice::Cpu).expect("start");
    job.load_ptx("vadd", PTX).expect("load");
    job.cpu_twin("vadd", "vadd_i32", twin).expect("twin");
    job
}

fn args(
    a: cuproof::job::JobBuffer,
    b: cuproof::job::JobBuffer,
    c: cuproof::job::JobBuffer,
) -> Vec<KernelArg> {
    vec![
        KernelArg::Buffer(a),
        KernelArg::Buffer(b),
        KernelArg::Buffer(c),
        KernelArg::U32(4),
    ]
}

fn full_job(node: &mut NodeSession) -> Receipt {
    let mut job = started(node);
    let a = job
        .input("a", DType::I32, &[4], &le(&[1, 2, 3, i32::MAX]))
        .expect("a");
    let b = job
        .input("b", DType::I32, &[4], &le(&[10, 20, 30, 1]))
        .expect("b");
    let c = job.alloc(16).expect("c");
    job.launch(
        "vadd",
        "vadd_i32",
        LaunchConfig::linear(4, 64),
        &args(a, b, c),
    )
    .expect("launch");
    job.commit_output(c, "c", DType::I32, &[4]).expect("commit");
    assert_eq!(
        u32s(&job.download(c).expect("download")),
        vec![11, 22, 33, 0x8000_0000]
    );
    job.finish(&["c"]).expect("finish")
}

#[test]
fn a_user_kernel_job_verifies_and_logs_what_ran() {
    let mut node = node();
    let receipt = full_job(&mut node);
    let v = verify_receipt(&receipt, &policy(), &mut VerifyContext::new(CHALLENGE));
    assert!(v.valid, "{}", v.render_table());
    assert_eq!(receipt.statement.backend, Backend::Cpu);
    assert_eq!(receipt.statement.tensors.len(), 3);

    // The PTX digest is logged before the first launch of it, with format ptx; the twin is declared.
    let recs = receipt.log.records();
    let load = recs
        .iter()
        .position(|r| {
            matches!(r, Record::ModuleLoad { name, format: ModuleFormat::Ptx, image_digest, .. }
                if name == "vadd" && *image_digest == cuproof_core::hash::sha256(PTX.as_bytes()))
        })
        .expect("ModuleLoad of the user's PTX");
    let launch = recs
        .iter()
        .position(|r| {
            matches!(r, Record::Launch { entry, grid, block, .. }
            if entry == "vadd_i32" && *grid == [1, 1, 1] && *block == [64, 1, 1])
        })
        .expect("Launch record");
    assert!(load < launch);
    assert!(recs
        .iter()
        .any(|r| matches!(r, Record::Note { key, value } if key == "cpu-twin" && value == b"vadd/vadd_i32")));
    // Inputs are logged before the launch, the output after it.
    let buf = |n: &str| {
        recs.iter()
            .position(|r| matches!(r, Record::Buffer { name, .. } if name == n))
            .expect("Buffer record")
    };
    assert!(buf("a") < launch && buf("b") < launch && buf("c") > launch);

    // The receipt round-trips through its strict encoding.
    let bytes = receipt.encode().expect("encode");
    assert_eq!(Receipt::decode(&bytes).expect("decode"), receipt);
}

#[test]
fn cheats_on_a_user_job_are_caught() {
    let mut node = node();
    let receipt = full_job(&mut node);
    let policy = policy();
    let check = |r: &Receipt| verify_receipt(r, &policy, &mut VerifyContext::new(CHALLENGE));

    // A different output commitment in the statement (a replayed or forged result).
    let mut forged = receipt.clone();
    let t = forged
        .statement
        .tensors
        .iter_mut()
        .find(|t| t.role == BufferRole::Output)
        .expect("output");
    t.commitment.root[0] ^= 1;
    assert!(!check(&forged).valid);

    // Launch configuration rewritten after the fact: the log no longer replays to the quoted PCR.
    let mut log = cuproof_core::log::ExecutionLog::new();
    let mut changed = false;
    for (i, r) in receipt.log.records().iter().enumerate() {
        let r = match r {
            Record::Launch {
                module,
                entry,
                block,
                shared_mem,
                args_digest,
                ..
            } if entry == "vadd_i32" => {
                changed = true;
                Record::Launch {
                    module: *module,
                    entry: entry.clone(),
                    grid: [2, 1, 1],
                    block: *block,
                    shared_mem: *shared_mem,
                    args_digest: *args_digest,
                }
            }
            r => r.clone(),
        };
        log.append(r);
        if receipt
            .log
            .checkpoints()
            .iter()
            .any(|c| (c.first + c.count as u64) as usize == i + 1)
        {
            log.checkpoint(23);
        }
    }
    assert!(changed);
    let mut rewritten = receipt.clone();
    rewritten.log = log;
    rewritten.statement.log_head = rewritten.log.head();
    let v = check(&rewritten);
    assert!(!v.valid);

    // Another verifier's challenge.
    assert!(!verify_receipt(&receipt, &policy, &mut VerifyContext::new([0; 32])).valid);
}

#[test]
fn misuse_is_a_typed_error() {
    let mut node = node();
    let mut job = started(&mut node);
    let a = job
        .input("a", DType::I32, &[4], &le(&[1, 2, 3, 4]))
        .expect("a");
    let b = job
        .input("b", DType::I32, &[4], &le(&[1, 2, 3, 4]))
        .expect("b");
    let c = job.alloc(16).expect("c");
    let cfg = LaunchConfig::linear(4, 64);

    // Launching a function of a module that was never loaded through the measured loader.
    assert!(matches!(
        job.launch("other", "vadd_i32", cfg, &args(a, b, c)),
        Err(JobError::Unmeasured(m)) if m == "other"
    ));
    // An entry the PTX does not declare.
    assert!(matches!(
        job.launch("vadd", "vsub_i32", cfg, &args(a, b, c)),
        Err(JobError::UnknownEntry { .. })
    ));
    assert!(matches!(
        job.cpu_twin("vadd", "nope", twin),
        Err(JobError::UnknownEntry { .. })
    ));
    // Module names are unique, the runtime's own included; PTX without an entry is refused.
    assert!(matches!(
        job.load_ptx("vadd", PTX),
        Err(JobError::ModuleAlreadyLoaded(_))
    ));
    assert!(matches!(
        job.load_ptx("gemm_i8", PTX),
        Err(JobError::ModuleAlreadyLoaded(_))
    ));
    assert!(matches!(
        job.load_ptx("empty", ".version 7.0\n.target sm_52\n"),
        Err(JobError::InvalidModule { .. })
    ));
    // A loaded entry without a CPU twin on the CPU backend.
    job.load_ptx("vadd2", &PTX.replace("vadd_i32", "vadd2_i32"))
        .expect("load");
    assert!(matches!(
        job.launch("vadd2", "vadd2_i32", cfg, &args(a, b, c)),
        Err(JobError::NoCpuTwin { .. })
    ));
    // Bad launch shapes, aliasing, sizes and duplicate names.
    let zero = LaunchConfig {
        grid: [0, 1, 1],
        ..cfg
    };
    assert!(matches!(
        job.launch("vadd", "vadd_i32", zero, &args(a, b, c)),
        Err(JobError::Shape(_))
    ));
    assert!(matches!(
        job.launch("vadd", "vadd_i32", cfg, &args(a, a, c)),
        Err(JobError::AliasedBuffer(_))
    ));
    assert!(matches!(
        job.input("x", DType::I32, &[5], &le(&[1, 2, 3, 4])),
        Err(JobError::Shape(_))
    ));
    assert!(matches!(
        job.input("a", DType::I32, &[4], &le(&[1, 2, 3, 4])),
        Err(JobError::DuplicateTensor(_))
    ));
    assert!(matches!(
        job.commit_output(c, "c", DType::I32, &[3]),
        Err(JobError::Shape(_))
    ));
    assert!(matches!(job.alloc(0), Err(JobError::Shape(_))));
    assert!(matches!(
        job.set_field_commitment(BufferRole::Output, "c", [0; 32]),
        Err(JobError::UnknownTensor(_))
    ));
    // An output named for the receipt that was never committed.
    assert!(matches!(job.finish(&["c"]), Err(JobError::OutputNotCommitted(n)) if n == "c"));

    // None of that was logged as a launch.
    let launches = |job: &MeasuredJob<'_>| {
        job.log()
            .map(|l| {
                l.records()
                    .iter()
                    .filter(|r| matches!(r, Record::Launch { entry, .. } if entry.contains("vadd")))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(launches(&job), 0);

    job.launch("vadd", "vadd_i32", cfg, &args(a, b, c))
        .expect("launch");
    assert_eq!(launches(&job), 1);
    job.commit_output(c, "c", DType::I32, &[4]).expect("commit");
    // A committed output is frozen.
    assert!(matches!(
        job.launch("vadd", "vadd_i32", cfg, &args(a, b, c)),
        Err(JobError::FrozenOutput(_))
    ));
    assert!(matches!(
        job.commit_output(c, "c2", DType::I32, &[4]),
        Err(JobError::FrozenOutput(_))
    ));
    assert!(matches!(job.free(c), Err(JobError::FrozenOutput(_))));

    let receipt = job.finish(&["c"]).expect("finish");
    assert!(verify_receipt(&receipt, &policy(), &mut VerifyContext::new(CHALLENGE)).valid);
    // Finishing twice, or using the job afterwards.
    assert!(matches!(job.finish(&["c"]), Err(JobError::Finished)));
    assert!(matches!(job.alloc(4), Err(JobError::Finished)));
    assert!(matches!(
        job.launch("vadd", "vadd_i32", cfg, &args(a, b, c)),
        Err(JobError::Finished)
    ));
}

#[test]
fn buffers_of_another_job_and_failing_twins() {
    let mut node_a = node();
    let mut job_a = started(&mut node_a);
    let foreign = job_a.alloc(16).expect("alloc");
    drop(job_a);

    let mut node_b = node();
    let mut job = started(&mut node_b);
    let a = job
        .input("a", DType::I32, &[4], &le(&[1, 2, 3, 4]))
        .expect("a");
    let c = job.alloc(16).expect("c");
    let cfg = LaunchConfig::linear(4, 64);
    assert!(matches!(
        job.launch("vadd", "vadd_i32", cfg, &args(a, foreign, c)),
        Err(JobError::UnknownBuffer(_))
    ));
    assert!(matches!(
        job.download(foreign),
        Err(JobError::UnknownBuffer(_))
    ));

    // A twin that fails after its launch was logged poisons the job: no receipt over that log.
    job.load_ptx("bad", &PTX.replace("vadd_i32", "bad_i32"))
        .expect("load");
    job.cpu_twin("bad", "bad_i32", |_, _| Err("device fault".into()))
        .expect("twin");
    let e = job.launch("bad", "bad_i32", cfg, &[KernelArg::Buffer(a)]);
    assert!(matches!(e, Err(JobError::CpuTwin { ref reason, .. }) if reason == "device fault"));
    assert!(matches!(job.finish(&[]), Err(JobError::Poisoned(_))));
    // A twin that resizes a buffer is refused too.
    let mut node_c = node();
    let mut job = started(&mut node_c);
    job.load_ptx("grow", &PTX.replace("vadd_i32", "grow_i32"))
        .expect("load");
    job.cpu_twin("grow", "grow_i32", |_, args| {
        if let CpuArg::Buffer(v) = &mut args[0] {
            v.push(0);
        }
        Ok(())
    })
    .expect("twin");
    let x = job.alloc(4).expect("x");
    assert!(matches!(
        job.launch("grow", "grow_i32", cfg, &[KernelArg::Buffer(x)]),
        Err(JobError::CpuTwin { .. })
    ));
    assert_eq!(job.len_of(x).ok(), Some(4));
}

/// The example's kernel is PTX that driver 580 loads: ASCII only (ptxas rejects anything else), ISA ≤ 9.0, one
/// entry `vadd_i32` with the four parameters the example passes.
#[test]
fn the_shipped_ptx_is_loadable_text() {
    assert!(PTX.is_ascii(), "ptxas refuses non-ASCII PTX");
    let version = PTX
        .lines()
        .find_map(|l| l.trim().strip_prefix(".version "))
        .expect(".version");
    let (major, minor) = version.trim().split_once('.').expect("major.minor");
    let v = (
        major.parse::<u32>().expect("major"),
        minor.parse::<u32>().expect("minor"),
    );
    assert!(v <= (9, 0), "PTX ISA {v:?} is newer than driver 580 loads");
    assert!(PTX.contains(".target sm_") && PTX.contains(".address_size 64"));
    assert_eq!(cuproof::job::ptx_entries(PTX), vec!["vadd_i32"]);
    assert_eq!(PTX.matches(".param .u64").count(), 3);
    assert_eq!(PTX.matches(".param .u32").count(), 1);
}

#[test]
fn the_built_in_matmul_runs_as_a_measured_job() {
    let mut node = node();
    let (m, k, n) = (5usize, 7usize, 3usize);
    let a: Vec<i8> = (0..m * k)
        .map(|i| (i as i32 * 37 % 251 - 125) as i8)
        .collect();
    let b: Vec<i8> = (0..k * n)
        .map(|i| (i as i32 * 53 % 251 - 125) as i8)
        .collect();
    let mut bt = vec![0i8; n * k];
    for r in 0..k {
        for c in 0..n {
            bt[c * k + r] = b[r * n + c];
        }
    }
    let spec = JobSpec::new("matmul-i8", [9; 32], CHALLENGE)
        .param("m", m.to_string())
        .param("k", k.to_string())
        .param("n", n.to_string());
    let mut job = MeasuredJob::start(&mut node, spec, BackendChoice::Cpu).expect("start");
    let bytes = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
    job.input("A", DType::I8, &[m as u64, k as u64], &bytes(&a))
        .expect("A");
    job.input("B", DType::I8, &[k as u64, n as u64], &bytes(&b))
        .expect("B");
    // a shape error is refused before anything is launched: the job stays usable
    let e = job
        .matmul_i8(&a, &bt, m, n, k + 1, "C", &CHALLENGE)
        .unwrap_err();
    assert!(matches!(e, JobError::Runtime(_)), "{e}");
    let c = job
        .matmul_i8(&a, &bt, m, n, k, "C", &CHALLENGE)
        .expect("matmul");
    assert_eq!(
        c,
        cuproof::kernels::gemm::gemm_i8_cpu(&a, &bt, m, n, k).expect("twin")
    );
    assert!(matches!(
        job.matmul_i8(&a, &bt, m, n, k, "C", &CHALLENGE),
        Err(JobError::DuplicateTensor(_))
    ));
    let receipt = job.finish(&["C"]).expect("finish");
    let labels: Vec<&str> = receipt.timings.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["job", "gemm"]);
    let launches: Vec<&str> = receipt
        .log
        .records()
        .iter()
        .filter_map(|r| match r {
            Record::Launch { entry, .. } => Some(entry.as_str()),
            _ => None,
        })
        .collect();
    assert!(launches.contains(&"cuproof_gemm_i8"), "{launches:?}");
    assert!(
        launches.contains(&"cuproof_freivalds_rows_i32"),
        "{launches:?}"
    );
    let mut ctx = VerifyContext::new(CHALLENGE);
    let v = verify_receipt(&receipt, &policy(), &mut ctx);
    assert!(v.valid, "{}", v.render_table());
}
