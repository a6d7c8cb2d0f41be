//! A measured `matmul-i8` job from inputs to receipt: the runtime records the job, the TPM extends the log's
//! checkpoints into the job PCR, the statement is quoted with the verifier's challenge, and (optionally) a
//! Groth16 proof of C = A·B is attached.

use crate::error::{CliError, CliResult};
use crate::node::NodeSession;
use cuproof::job::{BackendChoice, JobError, JobSpec, MeasuredJob};
use cuproof_core::log::{BufferRole, DType};
use cuproof_core::receipt::{ProofEntry, ProofSystem, Receipt, Statement};

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

fn job_err(e: JobError) -> CliError {
    match e {
        JobError::Node(e) => CliError::from(e),
        JobError::Runtime(e) => CliError::env(format!("runtime: {e}")),
        JobError::WrongProduct(_) => CliError::env(e.to_string()),
        JobError::Proof(m) => CliError::input(m),
        e => CliError::input(format!("job: {e}")),
    }
}

fn as_bytes(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

/// Run a measured matmul job with the TPM of `node`: the built-in workload on `cuproof::job::MeasuredJob` (the
/// same orchestration as a user's own kernels: measured start, committed inputs, logged launches, the job
/// quote taken last over the whole receipt).
pub fn run_matmul(
    node: &mut NodeSession,
    inp: &MatmulInputs,
    opts: JobOptions<'_>,
) -> CliResult<JobOutput> {
    let (m, k, n) = (inp.m, inp.k, inp.n);
    let progress_out = opts.progress;
    // Step lines are printed above any spinner on screen.
    let mut progress = |msg: &str| crate::progress::suspend(|| progress_out(msg));
    let mut spec = JobSpec::new(WORKLOAD, opts.job_id, opts.challenge)
        .param("m", m.to_string())
        .param("k", k.to_string())
        .param("n", n.to_string())
        .label(opts.label.clone());
    spec.pcr = opts.pcr;
    let mut job = MeasuredJob::start(node, spec, BackendChoice::Auto).map_err(job_err)?;
    let why_cpu = job.why_cpu().map(str::to_string);
    progress("job started: inventory, measured modules and job start extended into the job PCR");

    let running = crate::progress::spinner(format!(
        "running matmul-i8 {m}x{k}x{n}: commitments, GEMM, Freivalds check"
    ));
    // Large commitments on the CPU backend turn the spinner into a byte bar while they run.
    let bar = running.handle();
    job.set_commit_progress(Some(Box::new(move |what, done, total| {
        let name = if what.is_empty() { "tensor" } else { what };
        bar.bytes(&format!("committing {name}"), done, total)
    })))
    .map_err(job_err)?;
    let (mk, kn) = ([m as u64, k as u64], [k as u64, n as u64]);
    job.input("A", DType::I8, &mk, &as_bytes(&inp.a))
        .map_err(job_err)?;
    job.input("B", DType::I8, &kn, &as_bytes(&inp.b))
        .map_err(job_err)?;
    let bt = inp.b_transposed();
    let c = job
        .matmul_i8(&inp.a, &bt, m, n, k, "C", &opts.challenge)
        .map_err(job_err)?;
    running.set_message("field commitments (Poseidon) of A, B, C");
    let field = |r: Result<cuproof_circuits::Fr, cuproof_circuits::Error>| {
        r.map(|f| cuproof_circuits::commitment_to_bytes(&f))
            .map_err(|e| CliError::input(format!("field commitment: {e}")))
    };
    for (role, name, f) in [
        (
            BufferRole::Input,
            "A",
            field(cuproof_circuits::commit_i8(&inp.a, m, k))?,
        ),
        (
            BufferRole::Input,
            "B",
            field(cuproof_circuits::commit_i8(&inp.b, k, n))?,
        ),
        (
            BufferRole::Output,
            "C",
            field(cuproof_circuits::commit_i32(&c, m, n))?,
        ),
    ] {
        job.set_field_commitment(role, name, f).map_err(job_err)?;
    }
    drop(running);

    // finish: JobEnd and the last checkpoint extended, then the proofs of the final statement, then the quote
    let receipt = job
        .finish_with_proofs(&["C"], |statement| {
            progress(
                "job finished: C = A·B computed, checked (Freivalds) and committed; log extended",
            );
            match opts.proving_key {
                Some(pk) => prove_statement(pk, inp, &c, statement)
                    .map(|e| vec![e])
                    .map_err(|e| JobError::Proof(e.msg)),
                None => Ok(Vec::new()),
            }
        })
        .map_err(job_err)?;
    if !receipt.proofs.is_empty() {
        progress("proved: Groth16 proof that C = A·B for the committed A, B, C and this job");
    }
    progress("quoted: the TPM signed the job PCR and the boot PCRs with the challenge and the receipt's binding digest");
    Ok(JobOutput {
        receipt,
        c,
        why_cpu,
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
