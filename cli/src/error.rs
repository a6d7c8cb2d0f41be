//! One error type for the CLI, with the documented exit codes:
//! 0 valid, 1 invalid receipt, 2 usage or input error, 3 environment (no TPM, GPU or tool).

use std::fmt;

/// Exit code of a valid result.
#[allow(dead_code)]
pub const EXIT_VALID: i32 = 0;
/// Exit code of an invalid receipt (or a failed challenge).
pub const EXIT_INVALID: i32 = 1;
/// Exit code of a usage or input error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code of a missing environment: TPM, GPU, or external tool.
pub const EXIT_ENV: i32 = 3;

/// Kind of failure, which fixes the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The receipt (or response) was checked and found invalid.
    Invalid,
    /// The command line or an input file is wrong.
    Input,
    /// Something the command needs is not there (TPM, GPU, tool).
    Env,
}

/// A CLI failure: one line of text and a kind.
#[derive(Debug)]
pub struct CliError {
    /// Kind (exit code).
    pub kind: Kind,
    /// What is wrong and where, in one line.
    pub msg: String,
}

impl CliError {
    /// An input error.
    pub fn input(msg: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Input,
            msg: msg.into(),
        }
    }
    /// An environment error.
    pub fn env(msg: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Env,
            msg: msg.into(),
        }
    }
    /// An invalid-receipt verdict.
    pub fn invalid(msg: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Invalid,
            msg: msg.into(),
        }
    }
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Invalid => EXIT_INVALID,
            Kind::Input => EXIT_USAGE,
            Kind::Env => EXIT_ENV,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always one line.
        f.write_str(&self.msg.replace('\n', " "))
    }
}

/// Result of a CLI step.
pub type CliResult<T> = Result<T, CliError>;

/// Read a file, mapping failures to an input error naming the path.
pub fn read_file(path: &std::path::Path, what: &str) -> CliResult<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| CliError::input(format!("cannot read {what} {}: {e}", path.display())))
}

/// Write a file atomically, mapping failures to an input error naming the path.
pub fn write_file(path: &std::path::Path, bytes: &[u8], what: &str) -> CliResult<()> {
    cuproof_core::fsutil::write_atomic(path, bytes)
        .map_err(|e| CliError::input(format!("cannot write {what} {}: {e}", path.display())))
}
