//! Groth16/BN254 circuits for cuproof: a circomlib-compatible Poseidon, Poseidon commitments to int8/int32
//! matrices, the `matmul-i8` circuit (exact C = A·B by Freivalds' check with an in-circuit Fiat–Shamir
//! challenge), a single public input (SHA-256 of the statement, truncated to 253 bits), Groth16 setup/prove/
//! verify with cached constraint matrices, key files, and snarkjs JSON export. See `docs/circuits.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ceremony;
pub mod groth;
pub mod matmul;
pub mod poseidon;
pub mod snarkjs;
pub mod statement;
pub mod tensor;

pub use ark_bn254::Fr;
pub use groth::{
    circuit_size, matmul_r1cs, proof_from_bytes, proof_to_bytes, proof_to_evm_bytes, prove,
    prove_unchecked, setup, setup_from_seed, verify, vk_from_bytes, vk_to_bytes, CircuitSize,
    Proof, ProveStage, ProvingKey, SetupOrigin, VerifyingKey,
};
pub use matmul::{matmul_i8, MatmulCircuit, MatmulStatement};
pub use statement::{matmul_circuit_id, statement_public_input};
pub use tensor::{commit_i32, commit_i8, commitment_from_bytes, commitment_to_bytes};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Poseidon width outside 2..=17.
    #[error("poseidon width {0} not supported (2..=17)")]
    PoseidonWidth(usize),
    /// A tensor or circuit shape is not accepted.
    #[error("bad shape: {0}")]
    Shape(&'static str),
    /// Bytes do not decode.
    #[error("bad encoding: {0}")]
    Encoding(&'static str),
    /// A key does not match the circuit or is internally inconsistent.
    #[error("key mismatch: {0}")]
    KeyMismatch(&'static str),
    /// The claimed product is not A·B.
    #[error("C is not the product A·B")]
    WrongProduct,
    /// Constraint synthesis or proving failed.
    #[error("synthesis: {0}")]
    Synthesis(String),
    /// arkworks (de)serialization failed.
    #[error("serialization: {0}")]
    Serialization(String),
}

impl From<ark_relations::gr1cs::SynthesisError> for Error {
    fn from(e: ark_relations::gr1cs::SynthesisError) -> Self {
        Error::Synthesis(e.to_string())
    }
}

impl From<ark_serialize::SerializationError> for Error {
    fn from(e: ark_serialize::SerializationError) -> Self {
        Error::Serialization(e.to_string())
    }
}
