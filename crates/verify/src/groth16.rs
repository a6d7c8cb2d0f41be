//! Groth16/BN254 proof checking: recompute the single public input from the receipt's statement, then verify
//! the proof under the verifying key the policy names for the circuit id.
//!
//! ```text
//! x = SHA-256("cuproof.stmt.v1" ‖ circuit_id ‖ job_digest ‖ commit_a ‖ commit_b ‖ commit_c), top 3 bits cleared
//! ```
//! (big-endian; `job_digest` = [`Statement::digest`]; `commit_*` = the tensors' field commitments).

use crate::policy::CircuitPolicy;
use ark_bn254::{Bn254, Fr};
use ark_ff::PrimeField;
use ark_groth16::{Groth16, Proof};
use ark_serialize::CanonicalDeserialize;
use cuproof_core::log::BufferRole;
use cuproof_core::receipt::{ProofEntry, Statement};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Domain tag of the statement compression (15 bytes, `bytes15` on-chain).
pub const STATEMENT_DOMAIN: &[u8; 15] = b"cuproof.stmt.v1";

/// Largest proof encoding accepted (a compressed BN254 Groth16 proof is 128 bytes).
const MAX_PROOF_BYTES: usize = 256;

/// The public input word for a circuit and statement fields.
pub fn public_input(
    circuit_id: &[u8; 32],
    job_digest: &[u8; 32],
    commit_a: &[u8; 32],
    commit_b: &[u8; 32],
    commit_c: &[u8; 32],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(STATEMENT_DOMAIN);
    for part in [circuit_id, job_digest, commit_a, commit_b, commit_c] {
        h.update(part);
    }
    let mut w: [u8; 32] = h.finalize().into();
    w[0] &= 0x1f;
    w
}

/// The public input a proof for `circuit` must carry, recomputed from the statement.
pub fn expected_public_input(
    circuit: &CircuitPolicy,
    statement: &Statement,
) -> Result<[u8; 32], String> {
    let field = |role: BufferRole, name: &str| -> Result<[u8; 32], String> {
        let t = statement
            .tensor(role, name)
            .ok_or_else(|| format!("statement has no {role:?} tensor {name:?}"))?;
        t.field_commitment
            .ok_or_else(|| format!("tensor {name:?} has no field commitment"))
    };
    let a = field(BufferRole::Input, &circuit.inputs[0])?;
    let b = field(BufferRole::Input, &circuit.inputs[1])?;
    let c = field(BufferRole::Output, &circuit.output)?;
    Ok(public_input(
        &circuit.circuit_id,
        &statement.digest(),
        &a,
        &b,
        &c,
    ))
}

/// Check one proof entry against the circuit's policy and the statement. Ok carries a short description.
pub fn check_proof(
    circuit: &CircuitPolicy,
    statement: &Statement,
    entry: &ProofEntry,
) -> Result<String, String> {
    if !circuit.workloads.is_empty() && !circuit.workloads.contains(&statement.workload) {
        return Err(format!(
            "circuit {} does not prove workload {:?}",
            circuit.name, statement.workload
        ));
    }
    if !bool::from(circuit.vk_digest.ct_eq(&entry.vk_digest)) {
        return Err(format!(
            "vk_digest {} differs from the policy's {}",
            hex::encode(entry.vk_digest),
            hex::encode(circuit.vk_digest)
        ));
    }
    let x = expected_public_input(circuit, statement)?;
    if !bool::from(x.ct_eq(&entry.public_input)) {
        return Err("public input differs from the one recomputed from the statement".into());
    }
    if entry.proof.len() > MAX_PROOF_BYTES {
        return Err(format!("proof of {} bytes is too long", entry.proof.len()));
    }
    let mut rd = entry.proof.as_slice();
    let proof = Proof::<Bn254>::deserialize_compressed(&mut rd)
        .map_err(|e| format!("proof does not decode: {e}"))?;
    if !rd.is_empty() {
        return Err(format!("{} trailing bytes after the proof", rd.len()));
    }
    let fr = Fr::from_be_bytes_mod_order(&x);
    match Groth16::<Bn254>::verify_proof(&circuit.pvk, &proof, &[fr]) {
        Ok(true) => Ok(format!(
            "Groth16/BN254 proof verifies for circuit {} (public input {})",
            circuit.name,
            hex::encode(x)
        )),
        Ok(false) => Err("Groth16 pairing check fails".into()),
        Err(e) => Err(format!("Groth16 verification error: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_input_masks_three_bits_and_matches_layout() {
        let x = public_input(
            &[0x11; 32],
            &[0x22; 32],
            &[0x33; 32],
            &[0x44; 32],
            &[0x55; 32],
        );
        assert!(x[0] < 0x20);
        let mut pre = b"cuproof.stmt.v1".to_vec();
        for b in [0x11u8, 0x22, 0x33, 0x44, 0x55] {
            pre.extend_from_slice(&[b; 32]);
        }
        assert_eq!(pre.len(), 175);
        let mut full: [u8; 32] = Sha256::digest(&pre).into();
        full[0] &= 0x1f;
        assert_eq!(x, full);
    }
}
