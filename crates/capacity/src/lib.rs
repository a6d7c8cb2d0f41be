//! # cuproof-capacity — proof of GPU class
//!
//! A TPM-clocked capacity challenge (`docs/capacity.md`): the verifier sends a fresh seed and nonce; the node
//! takes a quote Q1 binding them (TPM clock `t1`), generates A and Bᵀ from a seed that depends on Q1's signature,
//! runs an int8 GEMM workload sized for about a second on the claimed class, commits each result matrix (Merkle,
//! one chunk per row) and takes a quote Q2 binding the commitments and Q1 (`t2`). The verifier then picks rows the
//! node could not predict, the node opens them, and the verifier checks them against the seed on the CPU (all at
//! once, by one random combination over F_p: [`row_check`]). It
//! accepts only if both quotes verify under the same AK in the same clock epoch, `t2 − t1` is within the class's
//! bound, and every opened row is right.
//!
//! * [`class`] — the class table (published peaks, workloads, bounds, samples);
//! * [`workload`] — seeds, digests, row recomputation;
//! * [`row_check`] — the verifier's check of all opened rows by one random combination (one pass over Bᵀ);
//! * [`wire`] — the four messages and their strict encodings;
//! * [`verifier`] — the verifier's state machine and the structured [`verifier::Verdict`];
//! * [`stack`] — the hook through which a verifier judges the software stack Q2 quoted (boot and IMA logs
//!   against the quoted PCRs); `cuproof-verify` implements it from a policy file;
//! * `node` (feature `node`) — the node side on the cuproof runtime with a TPM ([`Quoter`]).
//!
//! The verifier side is pure Rust (cuproof-core, cuproof-attest): no C, no TPM library, no GPU.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod class;
pub mod error;
pub mod gpu;
#[cfg(feature = "node")]
pub mod node;
pub mod row_check;
pub mod stack;
#[cfg(feature = "node")]
pub mod tpm;
pub mod verifier;
pub mod wire;
pub mod workload;

pub use class::{builtin_classes, ClassSpec};
pub use error::CapacityError;
pub use stack::StackJudge;
pub use verifier::{Policy, Verdict, Verifier};
pub use wire::{
    Challenge, CommitMessage, MeasurementLogs, OpeningsMessage, QuoteEvidence, SampleRequest,
};
pub use workload::Workload;

/// Something that quotes with a TPM attestation key: the node side's only view of the TPM.
pub trait Quoter {
    /// The AK's TPMT_PUBLIC.
    fn ak_public(&self) -> Result<Vec<u8>, CapacityError>;
    /// A quote over `pcrs` of the SHA-256 bank (the challenge's selection) with `qualifying_data` as extraData.
    fn quote(
        &mut self,
        pcrs: &[u8],
        qualifying_data: &[u8; 32],
    ) -> Result<QuoteEvidence, CapacityError>;
    /// The measurement logs that account for `quote`'s PCRs: the firmware event log where it selects a boot PCR
    /// (0–9), the IMA list up to the quote where it selects PCR 10; empty otherwise.
    fn measurement_logs(&mut self, quote: &QuoteEvidence)
        -> Result<MeasurementLogs, CapacityError>;
}
