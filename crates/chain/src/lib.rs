//! # cuproof-chain
//!
//! On-chain verification of cuproof receipts:
//!
//! - [`verifier_contract`]: Solidity source of a gas-optimised Groth16 verifier (BN254, one public input)
//!   generated from a [`ark_groth16::VerifyingKey`] with this crate's own template;
//! - [`receipt_contract`]: a receipt contract that recomputes the public input from the statement fields
//!   ([`statement`]), verifies the proof, records the job digest and rejects replays;
//! - [`encode_verify`] / [`encode_submit`]: ABI calldata (EVM big-endian words, G2 imaginary part first);
//! - [`compile_with_solc`]: compile with the npm `solc` package (offline);
//! - [`RevmHarness`]: deploy and call contracts in revm, measuring gas.
//!
//! See `docs/onchain.md` for the ABI, the calldata layout and the gas figures.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod calldata;
pub mod error;
pub mod harness;
pub mod solc;
pub mod solidity;
pub mod statement;

pub use calldata::{encode_submit, encode_verify, load_proof, verification_gas_floor};
pub use error::{ChainError, Result};
pub use harness::{CallOutcome, CallStatus, Deployment, RevmHarness};
pub use solc::{compile_with_solc, Compiled, CompiledContract, Solc};
pub use solidity::{load_verifying_key, receipt_contract, verifier_contract};
pub use statement::{statement_public_input, statement_public_input_fr, Statement};

use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;

/// Compile the verifier generated for `vk` and the receipt contract in one solc run.
pub fn compile_contracts(vk: &VerifyingKey<Bn254>) -> Result<Compiled> {
    let verifier = verifier_contract(vk)?;
    let receipts = receipt_contract();
    compile_with_solc(&[
        (solidity::VERIFIER_FILE, verifier.as_str()),
        (solidity::RECEIPT_FILE, receipts.as_str()),
    ])
}

/// A deployed verifier and the receipt contract bound to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptStack {
    /// The generated Groth16 verifier.
    pub verifier: Deployment,
    /// The receipt contract (constructed with the verifier's address and the circuit id).
    pub receipts: Deployment,
}

/// Deploy the verifier and the receipt contract from [`compile_contracts`] output into `harness`.
pub fn deploy_receipt_stack(
    harness: &mut RevmHarness,
    compiled: &Compiled,
    circuit_id: &[u8; 32],
) -> Result<ReceiptStack> {
    let verifier = harness.deploy(
        &compiled
            .contract(solidity::VERIFIER_CONTRACT_NAME)?
            .creation,
        &[],
    )?;
    let receipts = harness.deploy(
        &compiled.contract(solidity::RECEIPT_CONTRACT_NAME)?.creation,
        &calldata::encode_receipt_constructor(&verifier.address, circuit_id),
    )?;
    Ok(ReceiptStack { verifier, receipts })
}
