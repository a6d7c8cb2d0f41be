//! Produce the on-chain calldata for a receipt with a Groth16 proof.
//!
//! ```sh
//! cargo run --example onchain_calldata                   # prints verifyProof and submit calldata (hex)
//! cargo run --example onchain_calldata -- --out calldata.hex
//! ```
//!
//! Steps: a measured int8 matmul job (C = A·B) through [`cuproof::job::MeasuredJob`] with the GEMM PTX loaded as
//! a user module (its CPU twin is `cuproof::kernels::gemm::gemm_i8_cpu`); the statement carries the Poseidon
//! field commitments of A, B, C; a Groth16 proof of C = A·B bound to the statement digest is made with a tiny
//! **test-only** setup (seeded, 2×3×2); the receipt is verified under the development policy extended with the
//! circuit; finally the calldata of the generated verifier's `verifyProof(uint256[8],uint256)` and of the
//! receipt contract's `submit(...)` are encoded (`cuproof-chain`). Deploying and calling the contracts needs
//! solc (see `crates/chain` and `cuproof demo`).

use cuproof::job::{BackendChoice, JobSpec, KernelArg, LaunchConfig, MeasuredJob};
use cuproof::kernels::gemm;
use cuproof::node::NodeSession;
use cuproof_core::log::{BufferRole, DType};
use cuproof_core::receipt::{ProofEntry, ProofSystem, Receipt};
use cuproof_verify::{verify_receipt, Policy, VerifyContext};
use rand::RngCore;
use std::error::Error;

/// Shape of the example's product (tiny, so that setup and proving take a moment).
pub const SHAPE: (usize, usize, usize) = (2, 3, 2);

/// The development policy shipped with cuproof-verify.
pub const DEV_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/verify/policies/development.toml"
);

/// What the example produced.
pub struct Calldata {
    /// The receipt with its proof.
    pub receipt: Receipt,
    /// `verifyProof(uint256[8] proof, uint256 input)` calldata.
    pub verify: Vec<u8>,
    /// `submit(uint256[8], bytes32 circuitId, bytes32 jobDigest, bytes32 commitA, commitB, commitC)` calldata.
    pub submit: Vec<u8>,
    /// Whether the receipt verified under the development policy with the circuit added.
    pub valid: bool,
}

fn i8_bytes(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

/// Runs the job, proves it, verifies the receipt and encodes the calldata.
pub fn run(node: &mut NodeSession, dir: &std::path::Path) -> Result<Calldata, Box<dyn Error>> {
    let (m, k, n) = SHAPE;
    let mut challenge = [0u8; 32];
    let mut job_id = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut challenge);
    rand::rngs::OsRng.fill_bytes(&mut job_id);
    let a: Vec<i8> = vec![1, -2, 3, 4, 5, -128];
    let b: Vec<i8> = vec![7, 8, -9, 10, 127, 0];
    let mut bt = vec![0i8; n * k];
    for r in 0..k {
        for c in 0..n {
            bt[c * k + r] = b[r * n + c];
        }
    }

    // The measured job.
    let spec = JobSpec::new("matmul-i8", job_id, challenge)
        .param("m", m.to_string())
        .param("k", k.to_string())
        .param("n", n.to_string());
    let mut job = MeasuredJob::start(node, spec, BackendChoice::Auto)?;
    job.load_ptx("user_gemm", cuproof::ptx::GEMM_I8)?;
    job.cpu_twin("user_gemm", gemm::ENTRY, |_cfg, args| {
        let dims = (args[3].as_u32()?, args[4].as_u32()?, args[5].as_u32()?);
        let (m, n, k) = (dims.0 as usize, dims.1 as usize, dims.2 as usize);
        let a: Vec<i8> = args[0].buffer()?.iter().map(|&x| x as i8).collect();
        let bt: Vec<i8> = args[1].buffer()?.iter().map(|&x| x as i8).collect();
        let c = gemm::gemm_i8_cpu(&a, &bt, m, n, k).map_err(|e| e.to_string())?;
        let out = args[2].buffer_mut()?;
        if out.len() != 4 * c.len() {
            return Err("C has the wrong size".into());
        }
        out.copy_from_slice(&cuproof::runtime::i32_bytes(&c));
        Ok(())
    })?;
    let da = job.input("A", DType::I8, &[m as u64, k as u64], &i8_bytes(&a))?;
    job.input("B", DType::I8, &[k as u64, n as u64], &i8_bytes(&b))?;
    let dbt = job.upload(&i8_bytes(&bt))?; // the kernel's layout of the committed B
    let dc = job.alloc(4 * m * n)?;
    job.launch(
        "user_gemm",
        gemm::ENTRY,
        LaunchConfig {
            grid: gemm::grid(m, n),
            block: [gemm::THREADS, 1, 1],
            shared_mem: 0,
        },
        &[
            KernelArg::Buffer(da),
            KernelArg::Buffer(dbt),
            KernelArg::Buffer(dc),
            KernelArg::U32(m as u32),
            KernelArg::U32(n as u32),
            KernelArg::U32(k as u32),
        ],
    )?;
    job.commit_output(dc, "C", DType::I32, &[m as u64, n as u64])?;
    let c: Vec<i32> = job
        .download(dc)?
        .chunks_exact(4)
        .map(|w| i32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();

    // Field commitments (what the circuit and the contract see).
    let field = |f: Result<cuproof_circuits::Fr, cuproof_circuits::Error>| {
        f.map(|x| cuproof_circuits::commitment_to_bytes(&x))
    };
    job.set_field_commitment(
        BufferRole::Input,
        "A",
        field(cuproof_circuits::commit_i8(&a, m, k))?,
    )?;
    job.set_field_commitment(
        BufferRole::Input,
        "B",
        field(cuproof_circuits::commit_i8(&b, k, n))?,
    )?;
    job.set_field_commitment(
        BufferRole::Output,
        "C",
        field(cuproof_circuits::commit_i32(&c, m, n))?,
    )?;
    // A test-only setup at this tiny size; the proof binds the statement digest and is attached before the
    // job quote, which signs it too.
    let pk = cuproof_circuits::setup_from_seed(m, k, n, [0x5e; 32])?;
    let vk_bytes = cuproof_circuits::groth::vk_to_bytes(pk.verifying_key())?;
    let receipt = job.finish_with_proofs(&["C"], |statement| {
        let prove = || -> Result<ProofEntry, Box<dyn std::error::Error>> {
            let circuit =
                cuproof_circuits::MatmulCircuit::new(m, k, n, a, b, c, statement.digest())?;
            let x = circuit.public_input().ok_or("the circuit has no witness")?;
            let proof = cuproof_circuits::prove(&pk, circuit, &mut rand::rngs::OsRng, None)?;
            Ok(ProofEntry {
                system: ProofSystem::Groth16Bn254,
                circuit_id: pk.circuit_id,
                vk_digest: cuproof_core::hash::sha256(&vk_bytes),
                public_input: cuproof_circuits::commitment_to_bytes(&x),
                proof: cuproof_circuits::groth::proof_to_bytes(&proof)?.to_vec(),
            })
        };
        prove()
            .map(|p| vec![p])
            .map_err(|e| cuproof::job::JobError::Proof(e.to_string()))
    })?;

    // Verify under the development policy with this circuit required.
    let vk_path = dir.join("matmul-2x3x2.vk");
    std::fs::write(&vk_path, &vk_bytes)?;
    let text = format!(
        "{}\n[proofs]\nrequired = [\"matmul\"]\n\n[proofs.circuits.matmul]\ncircuit_id = \"{}\"\nvk = \"{}\"\n\
         workloads = [\"matmul-i8\"]\n",
        std::fs::read_to_string(DEV_POLICY)?,
        hex::encode(pk.circuit_id),
        vk_path.display()
    );
    let policy = Policy::from_toml_str(&text, dir)?;
    let verdict = verify_receipt(&receipt, &policy, &mut VerifyContext::new(challenge));
    if !verdict.valid {
        eprint!("{}", verdict.render_table());
    }

    // The on-chain statement and calldata.
    let entry = &receipt.proofs[0];
    let tensor = |role, name: &str| {
        receipt
            .statement
            .tensor(role, name)
            .and_then(|t| t.field_commitment)
            .ok_or_else(|| format!("no field commitment of {name}"))
    };
    let st = cuproof_chain::Statement {
        circuit_id: entry.circuit_id,
        job_digest: receipt.statement.digest(),
        commit_a: tensor(BufferRole::Input, "A")?,
        commit_b: tensor(BufferRole::Input, "B")?,
        commit_c: tensor(BufferRole::Output, "C")?,
    };
    if cuproof_circuits::commitment_to_bytes(&st.public_input_fr()) != entry.public_input {
        return Err("the contract's public input differs from the proof's".into());
    }
    let chain_proof = cuproof_chain::calldata::load_proof(&entry.proof)?;
    let verify = cuproof_chain::calldata::encode_verify(&chain_proof, &st.public_input_fr());
    let submit = cuproof_chain::calldata::encode_submit(&chain_proof, &st);
    Ok(Calldata {
        receipt,
        verify,
        submit,
        valid: verdict.valid,
    })
}

fn main() {
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--out", Some(p)) => out = Some(std::path::PathBuf::from(p)),
            _ => {
                eprintln!("onchain_calldata: usage: onchain_calldata [--out FILE]");
                std::process::exit(2);
            }
        }
    }
    let result = (|| -> Result<bool, Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let mut node = NodeSession::open(None)?;
        let c = run(&mut node, dir.path())?;
        println!(
            "receipt: statement {} with {} proof(s), valid under the development policy + circuit: {}",
            hex::encode(c.receipt.statement.digest()),
            c.receipt.proofs.len(),
            c.valid
        );
        println!(
            "verifyProof calldata ({} bytes, {} calldata gas): 0x{}",
            c.verify.len(),
            cuproof_chain::calldata::calldata_gas(&c.verify),
            hex::encode(&c.verify)
        );
        println!(
            "submit calldata ({} bytes): 0x{}",
            c.submit.len(),
            hex::encode(&c.submit)
        );
        if let Some(p) = &out {
            std::fs::write(p, format!("0x{}\n", hex::encode(&c.submit)))?;
            println!("written: {}", p.display());
        }
        Ok(c.valid)
    })();
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("onchain_calldata: {e}");
            std::process::exit(3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calldata_for_a_proved_receipt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut node = NodeSession::open(None).expect(
            "a TPM: set CUPROOF_TCTI, or install swtpm + swtpm-tools (apt) for a private software TPM",
        );
        let c = run(&mut node, dir.path()).expect("run");
        assert!(
            c.valid,
            "the proved receipt verifies under the policy with the circuit"
        );
        // verifyProof(uint256[8],uint256): selector + 9 words; submit: selector + 13 words.
        assert_eq!(c.verify.len(), 4 + 9 * 32);
        assert_eq!(c.submit.len(), 4 + 13 * 32);
        assert_eq!(
            &c.submit[4 + 9 * 32..4 + 10 * 32],
            &c.receipt.statement.digest()[..]
        );
    }
}
