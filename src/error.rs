//! Errors of the runtime.

use cuproof_core::CommitError;

/// Everything the runtime can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No CUDA device is usable (no driver, the stub driver, or no GPU).
    #[error("no CUDA device: {0}")]
    NoDevice(String),
    /// A CUDA driver call failed.
    #[error("CUDA driver error in {op}: {msg}")]
    Cuda {
        /// The operation that failed.
        op: &'static str,
        /// The driver's error.
        msg: String,
    },
    /// Operand sizes or shapes do not match the workload.
    #[error("invalid shape: {0}")]
    Shape(String),
    /// A kernel was launched from a module that was not loaded through the measured loader.
    #[error("module {0} was not loaded through the measured loader")]
    Unmeasured(String),
    /// A buffer handle that this runtime does not hold.
    #[error("unknown buffer handle {0}")]
    UnknownBuffer(u32),
    /// Invalid commitment parameters.
    #[error(transparent)]
    Commit(#[from] CommitError),
}
