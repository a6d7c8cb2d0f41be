//! # cuproof-core
//!
//! The data model every other cuproof crate shares, with no C dependency and no unsafe code:
//!
//! * [`commitment`] — the chunked Keccak/SHA3 Merkle commitment of byte buffers, with openings
//!   (`docs/commitment.md`); the GPU kernels compute the same function.
//! * [`log`] — the execution log: canonical records in a hash chain, checkpointed into a PCR and written in the
//!   TCG crypto-agile event-log format (`docs/eventlog.md`).
//! * [`receipt`] — the receipt: statement, log, node identity, TPM quotes, proofs, timings; deterministic binary
//!   encoding and a JSON rendering (`docs/receipt.md`).
//! * [`fill`] — the seeded, counter-based fill generator of the capacity challenge (GPU kernel twin).
//! * [`encoding`] — the strict little-endian reader/writer both formats use.
//! * [`fsutil`] — atomic file writes (temp file + rename), 0600 key files.
//!
//! ```
//! use cuproof_core::commitment::{commit, CommitParams};
//! let c = commit(b"hello", &CommitParams::default());
//! assert_eq!(c.len, 5);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commitment;
pub mod encoding;
pub mod error;
pub mod fill;
pub mod fsutil;
pub mod hash;
mod hexser;
pub mod log;
pub mod receipt;

pub use commitment::{commit, CommitParams, Commitment, MerkleTree, Opening};
pub use error::{CommitError, DecodeError};
pub use hash::HashAlg;
pub use log::{ExecutionLog, Record};
pub use receipt::{Receipt, ReceiptError, Statement};
