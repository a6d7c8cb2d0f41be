//! The compressed public statement: one field element that an EVM contract recomputes with SHA-256.
//!
//! ```text
//! digest = SHA-256( "cuproof.stmt.v1" ‖ circuit_id[32] ‖ job_digest[32] ‖ commit_a[32] ‖ commit_b[32] ‖ commit_c[32] )
//! x      = digest with the 3 most significant bits of digest[0] cleared, as a big-endian integer (< 2^253)
//! circuit_id = SHA-256( "cuproof.circuit.v1" ‖ "matmul-i8" ‖ m:u32be ‖ k:u32be ‖ n:u32be )
//! ```

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::{
    boolean::Boolean, convert::ToBitsGadget, eq::EqGadget, fields::fp::FpVar, uint8::UInt8,
};
use ark_relations::gr1cs::SynthesisError;
use sha2::{Digest, Sha256};

use crate::tensor::commitment_to_bytes;

/// Domain tag of the statement digest (15 ASCII bytes).
pub const STATEMENT_TAG: &[u8; 15] = b"cuproof.stmt.v1";
/// Domain tag of circuit identifiers.
pub const CIRCUIT_TAG: &[u8] = b"cuproof.circuit.v1";
/// Name of the matrix-product circuit inside its identifier.
pub const MATMUL_NAME: &[u8] = b"matmul-i8";
/// Length of the statement preimage: 15 + 5·32 = 175 bytes (three SHA-256 blocks).
pub const STATEMENT_PREIMAGE_LEN: usize = 15 + 5 * 32;

/// `circuit_id = SHA-256("cuproof.circuit.v1" ‖ "matmul-i8" ‖ m:u32be ‖ k:u32be ‖ n:u32be)`.
pub fn matmul_circuit_id(m: u32, k: u32, n: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CIRCUIT_TAG);
    h.update(MATMUL_NAME);
    h.update(m.to_be_bytes());
    h.update(k.to_be_bytes());
    h.update(n.to_be_bytes());
    h.finalize().into()
}

/// The 175-byte preimage of the statement digest.
pub fn statement_preimage(
    circuit_id: &[u8; 32],
    job_digest: &[u8; 32],
    commit_a: &Fr,
    commit_b: &Fr,
    commit_c: &Fr,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(STATEMENT_PREIMAGE_LEN);
    v.extend_from_slice(STATEMENT_TAG);
    v.extend_from_slice(circuit_id);
    v.extend_from_slice(job_digest);
    v.extend_from_slice(&commitment_to_bytes(commit_a));
    v.extend_from_slice(&commitment_to_bytes(commit_b));
    v.extend_from_slice(&commitment_to_bytes(commit_c));
    v
}

/// The full SHA-256 statement digest (before truncation).
pub fn statement_digest(
    circuit_id: &[u8; 32],
    job_digest: &[u8; 32],
    commit_a: &Fr,
    commit_b: &Fr,
    commit_c: &Fr,
) -> [u8; 32] {
    Sha256::digest(statement_preimage(
        circuit_id, job_digest, commit_a, commit_b, commit_c,
    ))
    .into()
}

/// The digest truncated to 253 bits (top 3 bits of byte 0 cleared) as a field element.
pub fn digest_to_field(digest: &[u8; 32]) -> Fr {
    let mut d = *digest;
    d[0] &= 0x1f;
    Fr::from_be_bytes_mod_order(&d)
}

/// The single public input of a proof: the truncated statement digest.
pub fn statement_public_input(
    circuit_id: &[u8; 32],
    job_digest: &[u8; 32],
    commit_a: &Fr,
    commit_b: &Fr,
    commit_c: &Fr,
) -> Fr {
    digest_to_field(&statement_digest(
        circuit_id, job_digest, commit_a, commit_b, commit_c,
    ))
}

/// A field variable as 32 big-endian bytes (canonical: the bit decomposition is checked to be < p).
fn fp_to_bytes_be(x: &FpVar<Fr>) -> Result<Vec<UInt8<Fr>>, SynthesisError> {
    let mut bits = x.to_bits_le()?;
    bits.resize(256, Boolean::FALSE);
    Ok((0..32)
        .map(|j| {
            let lo = 8 * (31 - j);
            UInt8::from_bits_le(&bits[lo..lo + 8])
        })
        .collect())
}

/// In-circuit statement: returns `x` computed from the given parts with the SHA-256 gadget.
pub fn statement_var(
    circuit_id: &[u8; 32],
    job_digest: &[UInt8<Fr>],
    commit_a: &FpVar<Fr>,
    commit_b: &FpVar<Fr>,
    commit_c: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    if job_digest.len() != 32 {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut msg: Vec<UInt8<Fr>> = Vec::with_capacity(STATEMENT_PREIMAGE_LEN);
    msg.extend(STATEMENT_TAG.iter().map(|&b| UInt8::constant(b)));
    msg.extend(circuit_id.iter().map(|&b| UInt8::constant(b)));
    msg.extend(job_digest.iter().cloned());
    msg.extend(fp_to_bytes_be(commit_a)?);
    msg.extend(fp_to_bytes_be(commit_b)?);
    msg.extend(fp_to_bytes_be(commit_c)?);
    let digest = ark_crypto_primitives::crh::sha256::constraints::Sha256Gadget::digest(&msg)?;
    let mut bits = Vec::with_capacity(256);
    for byte in digest.0.iter().rev() {
        bits.extend(byte.to_bits_le()?);
    }
    bits.truncate(253);
    Boolean::le_bits_to_fp(&bits)
}

/// Enforces `x == statement(...)`.
pub fn enforce_statement(
    x: &FpVar<Fr>,
    circuit_id: &[u8; 32],
    job_digest: &[UInt8<Fr>],
    commit_a: &FpVar<Fr>,
    commit_b: &FpVar<Fr>,
    commit_c: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    statement_var(circuit_id, job_digest, commit_a, commit_b, commit_c)?.enforce_equal(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn preimage_layout_and_truncation() {
        let id = matmul_circuit_id(8, 8, 8);
        let job = [7u8; 32];
        let (a, b, c) = (Fr::from(1u64), Fr::from(2u64), -Fr::from(1u64));
        let pre = statement_preimage(&id, &job, &a, &b, &c);
        assert_eq!(pre.len(), 175);
        assert_eq!(&pre[..15], b"cuproof.stmt.v1");
        assert_eq!(pre[15 + 64 + 31], 1);
        let d = statement_digest(&id, &job, &a, &b, &c);
        let x = statement_public_input(&id, &job, &a, &b, &c);
        let xb = crate::tensor::commitment_to_bytes(&x);
        assert_eq!(xb[0], d[0] & 0x1f);
        assert_eq!(&xb[1..], &d[1..]);
    }

    #[test]
    fn fixed_vector_from_an_independent_implementation() {
        // Computed with Python's hashlib from the definition in docs/circuits.md.
        let id = matmul_circuit_id(8, 8, 8);
        assert_eq!(
            hex::encode(id),
            "347bfece45d16e2dca1b1dbe05a331003578ecce3d3b2f3f8b3fa3fbc303972e"
        );
        let (a, b, c) = (Fr::from(1u64), Fr::from(2u64), -Fr::from(1u64));
        let d = statement_digest(&id, &[7; 32], &a, &b, &c);
        assert_eq!(
            hex::encode(d),
            "2c7614bee8f43e42b8db339f74457570e166f336846c1917dd5435b316ebc007"
        );
        let x = statement_public_input(&id, &[7; 32], &a, &b, &c);
        assert_eq!(
            hex::encode(crate::tensor::commitment_to_bytes(&x)),
            "0c7614bee8f43e42b8db339f74457570e166f336846c1917dd5435b316ebc007"
        );
    }

    #[test]
    fn gadget_matches_native() {
        let id = matmul_circuit_id(2, 3, 4);
        let job: [u8; 32] = core::array::from_fn(|i| (i * 29 + 3) as u8);
        let (a, b, c) = (Fr::from(123u64), -Fr::from(5u64), Fr::from(u64::MAX));
        let cs = ConstraintSystem::<Fr>::new_ref();
        let jv = UInt8::new_witness_vec(cs.clone(), &job).unwrap();
        let av = FpVar::new_witness(cs.clone(), || Ok(a)).unwrap();
        let bv = FpVar::new_witness(cs.clone(), || Ok(b)).unwrap();
        let cv = FpVar::new_witness(cs.clone(), || Ok(c)).unwrap();
        let x = statement_var(&id, &jv, &av, &bv, &cv).unwrap();
        assert_eq!(
            x.value().unwrap(),
            statement_public_input(&id, &job, &a, &b, &c)
        );
        assert!(cs.is_satisfied().unwrap());
    }
}
