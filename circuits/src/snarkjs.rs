//! Export of verifying keys, proofs and public signals in snarkjs's JSON formats
//! (`snarkjs groth16 verify verification_key.json public.json proof.json`).

use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use serde_json::{json, Value};

use crate::groth::{Proof, VerifyingKey};

fn dec(x: &Fq) -> String {
    x.into_bigint().to_string()
}

/// A G1 point as `[x, y, "1"]` (decimal; infinity as `["0", "1", "0"]`).
pub fn g1_json(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([dec(&x), dec(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

/// A G2 point as `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` (decimal).
pub fn g2_json(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([
            [dec(&x.c0), dec(&x.c1)],
            [dec(&y.c0), dec(&y.c1)],
            ["1", "0"]
        ]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// The verifying key in snarkjs's `verification_key.json` format.
pub fn vk_json(vk: &VerifyingKey) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len().saturating_sub(1),
        "vk_alpha_1": g1_json(&vk.alpha_g1),
        "vk_beta_2": g2_json(&vk.beta_g2),
        "vk_gamma_2": g2_json(&vk.gamma_g2),
        "vk_delta_2": g2_json(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1_json).collect::<Vec<_>>(),
    })
}

/// The proof in snarkjs's `proof.json` format.
pub fn proof_json(proof: &Proof) -> Value {
    json!({
        "pi_a": g1_json(&proof.a),
        "pi_b": g2_json(&proof.b),
        "pi_c": g1_json(&proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// Public signals (`public.json`): decimal strings.
pub fn public_json(inputs: &[Fr]) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|x| Value::String(x.into_bigint().to_string()))
            .collect(),
    )
}
