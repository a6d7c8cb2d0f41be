//! `cuproof prove`: a Groth16 proof for a finished receipt, written as a detached proof file
//! (`docs/proof-file.md`).
//!
//! The receipt's job quote is taken last and signs a binding digest of everything but the quotes, proofs
//! included, so a proof cannot be put inside a finished receipt. The proof is bound to the receipt's signed
//! statement instead: its public input is the statement digest and the tensors' field commitments, which the
//! verifier recomputes from the receipt.
//!
//! Order: decode the receipt; load the operands (and C, or recompute it); check every tensor against the
//! statement (dtype, shape, Merkle commitment, field commitment) — a mismatch is an input error and nothing is
//! written; load the proving key; prove (the same `job::prove_statement` as `run --prove`); check the proof
//! with the key's own verifying key; write the file atomically.

use crate::error::{write_file, CliError, CliResult};
use crate::job::{self, MatmulInputs};
use crate::{npy, progress, InputArgs};
use cuproof_core::log::{BufferRole, DType};
use cuproof_core::receipt::{Statement, TensorCommitment};
use cuproof_verify::DetachedProof;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The shape (m, k, n) of a matmul-i8 statement, from its parameters.
pub fn statement_shape(st: &Statement) -> CliResult<(usize, usize, usize)> {
    if st.workload != job::WORKLOAD {
        return Err(CliError::input(format!(
            "the receipt's workload is {:?}; cuproof prove knows {}",
            st.workload,
            job::WORKLOAD
        )));
    }
    let param = |key: &str| -> CliResult<usize> {
        st.params
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .filter(|&v| v > 0)
            .ok_or_else(|| CliError::input(format!("the receipt's statement has no valid {key}")))
    };
    Ok((param("m")?, param("k")?, param("n")?))
}

fn statement_tensor<'a>(
    st: &'a Statement,
    role: BufferRole,
    name: &str,
) -> CliResult<&'a TensorCommitment> {
    st.tensor(role, name).ok_or_else(|| {
        CliError::input(format!(
            "the receipt's statement has no {role:?} tensor {name}"
        ))
    })
}

/// Check one tensor against the statement: dtype, shape, Merkle commitment (with a byte bar when large) and
/// field commitment. A mismatch names the tensor and both commitments.
fn check_tensor(
    t: &TensorCommitment,
    dtype: DType,
    shape: [usize; 2],
    bytes: &[u8],
    field: impl FnOnce() -> CliResult<[u8; 32]>,
) -> CliResult<()> {
    let name = &t.name;
    let want_shape = [shape[0] as u64, shape[1] as u64];
    if t.dtype != dtype || t.shape != want_shape {
        return Err(CliError::input(format!(
            "{name} is {} {:?}, the receipt's statement has {} {:?}",
            dtype.name(),
            want_shape,
            t.dtype.name(),
            t.shape
        )));
    }
    let c = progress::commit(bytes, &t.commitment.params, name);
    if !c.ct_eq(&t.commitment) {
        return Err(CliError::input(format!(
            "{name} is not the receipt's {name}: its commitment is {}, the statement commits to {}",
            hex::encode(c.root),
            hex::encode(t.commitment.root)
        )));
    }
    let Some(want) = t.field_commitment else {
        return Err(CliError::input(format!(
            "the receipt's statement has no field commitment of {name}: it cannot be proven"
        )));
    };
    let got = {
        let _task = progress::spinner(format!("field commitment (Poseidon) of {name}"));
        field()?
    };
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&got[..], &want[..])) {
        return Err(CliError::input(format!(
            "{name} matches the receipt's Merkle commitment but not its field commitment ({} vs {}): \
             the receipt was not made by `cuproof run`",
            hex::encode(got),
            hex::encode(want)
        )));
    }
    Ok(())
}

fn field(
    r: Result<cuproof_circuits::Fr, cuproof_circuits::Error>,
    name: &str,
) -> CliResult<[u8; 32]> {
    r.map(|f| cuproof_circuits::commitment_to_bytes(&f))
        .map_err(|e| CliError::input(format!("field commitment of {name}: {e}")))
}

/// Check A, B and C against the receipt's statement.
pub fn check_tensors(st: &Statement, inp: &MatmulInputs, c: &[i32]) -> CliResult<()> {
    let (m, k, n) = (inp.m, inp.k, inp.n);
    let i8_bytes = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
    check_tensor(
        statement_tensor(st, BufferRole::Input, "A")?,
        DType::I8,
        [m, k],
        &i8_bytes(&inp.a),
        || field(cuproof_circuits::commit_i8(&inp.a, m, k), "A"),
    )?;
    check_tensor(
        statement_tensor(st, BufferRole::Input, "B")?,
        DType::I8,
        [k, n],
        &i8_bytes(&inp.b),
        || field(cuproof_circuits::commit_i8(&inp.b, k, n), "B"),
    )?;
    let c_bytes: Vec<u8> = c.iter().flat_map(|v| v.to_le_bytes()).collect();
    check_tensor(
        statement_tensor(st, BufferRole::Output, "C")?,
        DType::I32,
        [m, n],
        &c_bytes,
        || field(cuproof_circuits::commit_i32(c, m, n), "C"),
    )
}

/// C from an int32 `.npy` file of shape m×n.
fn load_c(path: &Path, m: usize, n: usize) -> CliResult<Vec<i32>> {
    let t = npy::parse(&progress::read_file(path, "C")?)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    if t.descr != "<i4" {
        return Err(CliError::input(format!(
            "{}: dtype {} but C of matmul-i8 is int32 (<i4)",
            path.display(),
            t.descr
        )));
    }
    if t.shape != [m, n] {
        return Err(CliError::input(format!(
            "{}: shape {:?}, the receipt's C is {m}x{n}",
            path.display(),
            t.shape
        )));
    }
    Ok(t.data
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The proof file path: `--out`, or the receipt's path with extension `.proof`.
pub fn default_out(receipt: &Path) -> PathBuf {
    receipt.with_extension("proof")
}

/// `cuproof prove`.
pub fn run(
    receipt_path: &Path,
    input: &InputArgs,
    c_path: Option<&Path>,
    keys: &Path,
    out: Option<&Path>,
    json: bool,
) -> CliResult<i32> {
    let t0 = Instant::now();
    let p = progress::Progress::new();
    let receipt = crate::load_receipt(receipt_path)?;
    let st = &receipt.statement;
    let (m, k, n) = statement_shape(st)?;
    let circuit_id = cuproof_circuits::matmul_circuit_id(m as u32, k as u32, n as u32);
    if receipt.proofs.iter().any(|e| e.circuit_id == circuit_id) {
        return Err(CliError::input(format!(
            "{} already carries a proof for circuit matmul-i8 {m}x{k}x{n}; verify it without --proof",
            receipt_path.display()
        )));
    }
    let inputs = crate::load_inputs(input, Some((m, k, n)))?;
    let c = match c_path {
        Some(path) => load_c(path, m, n)?,
        None => {
            let _task = progress::spinner(format!("computing C = A·B ({m}x{k}x{n})"));
            cuproof_circuits::matmul_i8(&inputs.a, &inputs.b, m, k, n)
                .map_err(|e| CliError::input(format!("C = A·B: {e}")))?
        }
    };
    check_tensors(st, &inputs, &c)?;
    p.step("A, B and C match the receipt's statement (Merkle and field commitments)");

    let pk_path = if keys.is_dir() {
        crate::proving_key_path(keys, m, k, n)
    } else {
        keys.to_path_buf()
    };
    if !pk_path.exists() {
        return Err(CliError::input(format!(
            "no proving key {} (make one with: cuproof setup --m {m} --k {k} --n {n} --out {})",
            pk_path.display(),
            keys.display()
        )));
    }
    let pk = crate::load_proving_key(&pk_path)?;
    if pk.shape != (m, k, n) {
        return Err(CliError::input(format!(
            "proving key {} is for {}x{}x{}, the receipt's job is {m}x{k}x{n}",
            pk_path.display(),
            pk.shape.0,
            pk.shape.1,
            pk.shape.2
        )));
    }
    let t_prove = Instant::now();
    let entry = job::prove_statement(&pk, &inputs, &c, st)?;
    let prove_s = t_prove.elapsed().as_secs_f64();
    p.step("proved: Groth16 proof that C = A·B, bound to the receipt's statement");

    // Never write a proof that does not verify: check it under the key's own verifying key, with the public
    // input recomputed from the statement as an auditor does.
    let fc = |role, name: &str| -> CliResult<[u8; 32]> {
        statement_tensor(st, role, name)?
            .field_commitment
            .ok_or_else(|| CliError::input(format!("no field commitment of {name}")))
    };
    let x = cuproof_verify::groth16::public_input(
        &pk.circuit_id,
        &st.digest(),
        &fc(BufferRole::Input, "A")?,
        &fc(BufferRole::Input, "B")?,
        &fc(BufferRole::Output, "C")?,
    );
    if x != entry.public_input {
        return Err(CliError::input(
            "the proof's public input differs from the one recomputed from the statement",
        ));
    }
    let proof = cuproof_circuits::proof_from_bytes(&entry.proof)
        .map_err(|e| CliError::input(format!("proof encoding: {e}")))?;
    let fx = cuproof_circuits::commitment_from_bytes(&x)
        .map_err(|e| CliError::input(format!("public input: {e}")))?;
    match cuproof_circuits::verify(pk.verifying_key(), &fx, &proof) {
        Ok(true) => {}
        Ok(false) => {
            return Err(CliError::input(
                "the new proof does not verify under the key's verifying key",
            ))
        }
        Err(e) => return Err(CliError::input(format!("checking the new proof: {e}"))),
    }

    let detached = DetachedProof {
        statement_digest: st.digest(),
        entry,
    };
    let bytes = detached
        .encode()
        .map_err(|e| CliError::input(format!("proof file: {e}")))?;
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_out(receipt_path));
    write_file(&out, &bytes, "proof file")?;
    p.done();
    let e = &detached.entry;
    if json {
        let v = serde_json::json!({
            "proof_file": out,
            "bytes": bytes.len(),
            "circuit": format!("matmul-i8-{m}x{k}x{n}"),
            "circuit_id": hex::encode(e.circuit_id),
            "vk_digest": hex::encode(e.vk_digest),
            "statement_digest": hex::encode(detached.statement_digest),
            "public_input": hex::encode(e.public_input),
            "prove_seconds": prove_s,
            "total_seconds": t0.elapsed().as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    println!("proof     {} ({} bytes)", out.display(), bytes.len());
    println!(
        "circuit   matmul-i8 {m}x{k}x{n}, id {}",
        hex::encode(e.circuit_id)
    );
    println!("vk        digest {}", hex::encode(e.vk_digest));
    println!("statement {}", hex::encode(detached.statement_digest));
    println!("public    {}", hex::encode(e.public_input));
    println!(
        "time      {prove_s:.2} s proving, {:.2} s in all",
        t0.elapsed().as_secs_f64()
    );
    Ok(0)
}
