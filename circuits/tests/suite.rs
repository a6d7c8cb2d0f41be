//! The circuits' integration tests, one binary: each file below is a module, so arkworks' prover and verifier are
//! instantiated and linked once for all of them instead of once per file (`autotests = false` in Cargo.toml).

mod common;

#[path = "ceremony.rs"]
mod ceremony;
#[path = "groth16_8.rs"]
mod groth16_8;
#[path = "poseidon_circomlib.rs"]
mod poseidon_circomlib;
#[path = "prove.rs"]
mod prove;
