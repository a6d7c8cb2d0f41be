//! The receipt verifier's integration tests, one binary: each file below is a module sharing one fixture (swtpm,
//! enrollment, a Groth16 proof) and one instantiation of arkworks, instead of one per file (`autotests = false`
//! in Cargo.toml). `capacity_stack.rs` stays its own binary.

mod common;

#[path = "policies.rs"]
mod policies;
#[path = "tamper.rs"]
mod tamper;
#[path = "verify.rs"]
mod verify;
