//! A measured `matmul-i8` job from inputs to receipt: the runtime records the job, the TPM extends the log's
//! checkpoints into the job PCR, the statement is quoted with the verifier's challenge, and (optionally) a
//! Groth16 proof of C = A·B is attached.

use crate::error::{CliError, CliResult};
use crate::node::NodeSession;
use cuproof::Runtime;
use cuproof_core::commitment::CommitParams;
use cuproof_core::log::{BufferRole, DType, Record};
use cuproof_core::receipt::{
    ProofEntry, ProofSystem, Receipt, Statement, TensorCommitment, Timing,
};
use std::time::Instant;

/// Name of the workload.
pub const WORKLOAD: &str = "matmul-i8";

/// The operands of a job: A (m×k) and B (k×n), row-major int8.
#[derive(Clone, Debug)]
pub struct MatmulInputs {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of A, rows of B.
    pub k: usize,
    /// Columns of B and C.
    pub n: usize,
    /// A, m×k row-major.
    pub a: Vec<i8>,
    /// B, k×n row-major.
    pub b: Vec<i8>,
}

impl MatmulInputs {
    /// Operands generated from a seed with the seeded fill (`cuproof_core::fill`), as the GPU kernel does.
    pub fn from_seed(m: usize, k: usize, n: usize, seed: &[u8; 32]) -> Self {
        use cuproof_core::fill::{fill_i8, STREAM_A, STREAM_B};
        MatmulInputs {
            m,
            k,
            n,
            a: fill_i8(seed, STREAM_A, m * k),
            b: fill_i8(seed, STREAM_B, k * n),
        }
    }

    /// B transposed (n×k row-major), the layout of the GEMM kernel.
    pub fn b_transposed(&self) -> Vec<i8> {
        let mut bt = vec![0i8; self.n * self.k];
        for r in 0..self.k {
            for c in 0..self.n {
                bt[c * self.k + r] = self.b[r * self.n + c];
            }
        }
        bt
    }
}

/// Options of one job.
pub struct JobOptions<'a> {
    /// The verifier's challenge.
    pub challenge: [u8; 32],
    /// The job identifier.
    pub job_id: [u8; 32],
    /// The node label written into the receipt.
    pub label: String,
    /// The job PCR.
    pub pcr: u8,
    /// A proving key: attach a Groth16 proof.
    pub proving_key: Option<&'a cuproof_circuits::ProvingKey>,
    /// Called with a short status line at each step.
    pub progress: &'a mut dyn FnMut(&str),
}

/// What a job produced.
pub struct JobOutput {
    /// The receipt.
    pub receipt: Receipt,
    /// C = A·B, m×n row-major.
    pub c: Vec<i32>,
    /// Why the CPU backend was used instead of a GPU, if it was.
    pub why_cpu: Option<String>,
}

fn rt_err(e: impl std::fmt::Display) -> CliError {
    CliError::env(format!("runtime: {e}"))
}

fn as_bytes(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

/// Run a measured matmul job on `rt` with the TPM of `node`.
pub fn run_matmul(
    node: &mut NodeSession,
    inp: &MatmulInputs,
    opts: JobOptions<'_>,
) -> CliResult<JobOutput> {
    let (m, k, n) = (inp.m, inp.k, inp.n);
    let pcr = opts.pcr;
    let progress_out = opts.progress;
    // Step lines are printed above any spinner on screen.
    let mut progress = |msg: &str| crate::progress::suspend(|| progress_out(msg));
    let t0 = Instant::now();
    let params = vec![
        ("k".to_string(), k.to_string()),
        ("m".to_string(), m.to_string()),
        ("n".to_string(), n.to_string()),
    ];
    node.reset(pcr)?;
    let (mut rt, why_cpu) = Runtime::auto_for_job(Some(Record::JobStart {
        job_id: opts.job_id,
        workload: WORKLOAD.into(),
        params: params.clone(),
        challenge: opts.challenge,
    }));
    let (d, _) = rt.checkpoint(pcr as u32);
    node.extend(pcr, &d)?;
    progress("job started: inventory, measured modules and job start extended into the job PCR");

    let running = crate::progress::spinner(format!(
        "running matmul-i8 {m}x{k}x{n}: commitments, GEMM, Freivalds check"
    ));
    // Large commitments on the CPU backend turn the spinner into a byte bar while they run.
    let bar = running.handle();
    rt.set_commit_progress(Some(Box::new(move |what, done, total| {
        let name = if what.is_empty() { "tensor" } else { what };
        bar.bytes(&format!("committing {name}"), done, total)
    })));
    let cp = CommitParams::default();
    let commit_a = rt
        .commit_buffer(
            &as_bytes(&inp.a),
            &cp,
            BufferRole::Input,
            "A",
            DType::I8,
            &[m as u64, k as u64],
        )
        .map_err(rt_err)?;
    let commit_b = rt
        .commit_buffer(
            &as_bytes(&inp.b),
            &cp,
            BufferRole::Input,
            "B",
            DType::I8,
            &[k as u64, n as u64],
        )
        .map_err(rt_err)?;
    let bt = inp.b_transposed();
    let t_gemm = Instant::now();
    let out = rt.gemm_i8(&inp.a, &bt, m, n, k, &cp).map_err(rt_err)?;
    let gemm_ns = t_gemm.elapsed().as_nanos() as u64;
    let buffer = rt.recorder().buffer_handle();
    rt.recorder().append(Record::Buffer {
        buffer,
        role: BufferRole::Output,
        name: "C".into(),
        dtype: DType::I32,
        shape: vec![m as u64, n as u64],
        commitment: out.commitment,
    });
    let fr = rt
        .freivalds(&inp.a, &bt, &out.c, m, n, k, &opts.challenge)
        .map_err(rt_err)?;
    if !fr.accept {
        return Err(CliError::env(
            "the backend's Freivalds check rejected its own product: the device computed a wrong C",
        ));
    }
    let elapsed = t0.elapsed().as_nanos() as u64;
    rt.recorder().append(Record::JobEnd {
        status: 0,
        elapsed_ns: elapsed,
    });
    let (d, _) = rt.checkpoint(pcr as u32);
    node.extend(pcr, &d)?;
    running.set_message("field commitments (Poseidon) of A, B, C");
    progress("job finished: C = A·B computed, checked (Freivalds) and committed; log extended");

    let backend = rt.backend();
    let log = rt.into_log();
    let field = |r: Result<cuproof_circuits::Fr, cuproof_circuits::Error>| {
        r.map(|f| cuproof_circuits::commitment_to_bytes(&f))
            .map_err(|e| CliError::input(format!("field commitment: {e}")))
    };
    let tensors = vec![
        TensorCommitment {
            role: BufferRole::Input,
            name: "A".into(),
            dtype: DType::I8,
            shape: vec![m as u64, k as u64],
            commitment: commit_a,
            field_commitment: Some(field(cuproof_circuits::commit_i8(&inp.a, m, k))?),
        },
        TensorCommitment {
            role: BufferRole::Input,
            name: "B".into(),
            dtype: DType::I8,
            shape: vec![k as u64, n as u64],
            commitment: commit_b,
            field_commitment: Some(field(cuproof_circuits::commit_i8(&inp.b, k, n))?),
        },
        TensorCommitment {
            role: BufferRole::Output,
            name: "C".into(),
            dtype: DType::I32,
            shape: vec![m as u64, n as u64],
            commitment: out.commitment,
            field_commitment: Some(field(cuproof_circuits::commit_i32(&out.c, m, n))?),
        },
    ];
    drop(running);
    let statement = Statement {
        workload: WORKLOAD.into(),
        params,
        job_id: opts.job_id,
        challenge: opts.challenge,
        backend,
        tensors,
        log_head: log.head(),
    };
    let mut timings = vec![
        Timing {
            label: "job".into(),
            nanos: elapsed,
        },
        Timing {
            label: "gemm".into(),
            nanos: gemm_ns,
        },
    ];
    let mut proofs = Vec::new();
    if let Some(pk) = opts.proving_key {
        let t = Instant::now();
        let entry = prove_statement(pk, inp, &out.c, &statement)?;
        timings.push(Timing {
            label: "prove".into(),
            nanos: t.elapsed().as_nanos() as u64,
        });
        proofs.push(entry);
        progress("proved: Groth16 proof that C = A·B for the committed A, B, C and this job");
    }
    let mut receipt = Receipt {
        statement,
        log,
        node: node.identity(&opts.label),
        quotes: Vec::new(),
        proofs,
        timings,
    };
    // The job quote is taken last: its qualifying data binds the challenge and everything in the receipt.
    let qd = receipt
        .qualifying_data(&opts.challenge)
        .map_err(|e| CliError::input(format!("receipt: {e}")))?;
    receipt.quotes.push(node.quote("job-end", pcr, &qd)?);
    progress("quoted: the TPM signed the job PCR and the boot PCRs with the challenge and the receipt's binding digest");
    Ok(JobOutput {
        receipt,
        c: out.c,
        why_cpu: why_cpu.map(|e| e.to_string()),
    })
}

/// A Groth16 proof that C = A·B bound to `statement`'s digest.
pub fn prove_statement(
    pk: &cuproof_circuits::ProvingKey,
    inp: &MatmulInputs,
    c: &[i32],
    statement: &Statement,
) -> CliResult<ProofEntry> {
    let (m, k, n) = (inp.m, inp.k, inp.n);
    if pk.shape != (m, k, n) {
        return Err(CliError::input(format!(
            "proving key is for {}x{}x{}, the job is {m}x{k}x{n}",
            pk.shape.0, pk.shape.1, pk.shape.2
        )));
    }
    let job_digest = statement.digest();
    let circuit = cuproof_circuits::MatmulCircuit::new(
        m,
        k,
        n,
        inp.a.clone(),
        inp.b.clone(),
        c.to_vec(),
        job_digest,
    )
    .map_err(|e| CliError::input(format!("circuit: {e}")))?;
    let public_input = circuit
        .public_input()
        .ok_or_else(|| CliError::input("circuit has no witness"))?;
    let task = crate::progress::spinner(format!("proving matmul-i8 {m}x{k}x{n}: witness"));
    let mut stage = |s: cuproof_circuits::ProveStage| {
        if let cuproof_circuits::ProveStage::Prove { witness } = s {
            task.set_message(format!(
                "proving matmul-i8 {m}x{k}x{n}: Groth16 prover (witness took {:.2} s)",
                witness.as_secs_f64()
            ));
        }
    };
    let proof = cuproof_circuits::prove(pk, circuit, &mut rand::rngs::OsRng, Some(&mut stage))
        .map_err(|e| match e {
            cuproof_circuits::Error::WrongProduct => {
                CliError::input("C is not A·B: these tensors cannot be proven")
            }
            e => CliError::input(format!("proving: {e}")),
        })?;
    drop(task);
    Ok(ProofEntry {
        system: ProofSystem::Groth16Bn254,
        circuit_id: pk.circuit_id,
        vk_digest: vk_file_digest(pk)?,
        public_input: cuproof_circuits::commitment_to_bytes(&public_input),
        proof: cuproof_circuits::groth::proof_to_bytes(&proof)
            .map_err(|e| CliError::input(format!("proof encoding: {e}")))?
            .to_vec(),
    })
}

/// Digest of the verifying-key file of `pk`: SHA-256 of the file's bytes, as `cuproof-verify` computes it from
/// the file a policy names (what a receipt's proof entry carries and a policy may pin).
pub fn vk_file_digest(pk: &cuproof_circuits::ProvingKey) -> CliResult<[u8; 32]> {
    let vkf = pk
        .verifying_key_bytes()
        .map_err(|e| CliError::input(format!("verifying key: {e}")))?;
    Ok(cuproof_core::hash::sha256(&vkf))
}
