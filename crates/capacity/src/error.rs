//! Typed errors of the capacity challenge.

use cuproof_core::DecodeError;
use thiserror::Error;

/// Everything the capacity challenge can fail with (verdicts are not errors: a rejected node yields a
/// [`crate::verifier::Verdict`] with failed checks).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CapacityError {
    /// A message did not decode (strict decoding: magic, version, lengths, no trailing bytes).
    #[error("malformed {what}: {source}")]
    Decode {
        /// Which message.
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: DecodeError,
    },
    /// The workload parameters are out of range or inconsistent.
    #[error("invalid workload: {0}")]
    Workload(String),
    /// The claimed class is not in the verifier's class table.
    #[error("unknown class {0:?}")]
    UnknownClass(String),
    /// A class specification is inconsistent.
    #[error("invalid class {name:?}: {why}")]
    Class {
        /// The class.
        name: String,
        /// Why it is invalid.
        why: String,
    },
    /// The sample request is malformed or does not fit the workload.
    #[error("invalid sample request: {0}")]
    SampleRequest(String),
    /// The node side failed (runtime, TPM).
    #[error("node: {0}")]
    Node(String),
    /// A protocol step was taken out of order or against another session.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl CapacityError {
    pub(crate) fn decode(what: &'static str) -> impl FnOnce(DecodeError) -> CapacityError {
        move |source| CapacityError::Decode { what, source }
    }
}
