//! Errors of the machine side.

use thiserror::Error;

/// Errors from talking to a TPM, managing swtpm, or handling key files.
#[derive(Debug, Error)]
pub enum TpmError {
    /// The TPM could not be reached (open failed or the transport broke mid-command).
    #[error("TPM unreachable: {tcti}: {reason}")]
    Unreachable {
        /// The TCTI configuration string.
        tcti: String,
        /// What went wrong.
        reason: String,
    },
    /// The TCTI string does not parse.
    #[error("invalid TCTI \"{tcti}\": {reason}")]
    InvalidTcti {
        /// The string.
        tcti: String,
        /// Why.
        reason: String,
    },
    /// A TPM command failed.
    #[error("TPM command {op} failed: {source} (rc {rc})")]
    Command {
        /// The operation.
        op: &'static str,
        /// The raw TSS2 response code in hex ("-" for wrapper errors).
        rc: String,
        /// The tss-esapi error.
        #[source]
        source: tss_esapi::Error,
    },
    /// Evidence structure or verification error from cuproof-attest.
    #[error(transparent)]
    Attest(#[from] cuproof_attest::Error),
    /// File I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The private software TPM could not be started or managed.
    #[error("swtpm: {0}")]
    Swtpm(String),
    /// Invalid argument or file content.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// No EK certificate in NV for the requested EK type.
    #[error("no EK certificate in NV index 0x{0:08x}")]
    NoEkCert(u32),
    /// The PCRs kept changing while a quote was taken.
    #[error("PCR values changed during the quote (retried {0} times)")]
    PcrRace(u32),
}

impl TpmError {
    /// Whether the error means the TPM went away / cannot be reached.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TpmError::Unreachable { .. })
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, TpmError>;

/// Raw TSS2_RC of a tss-esapi error, when it is a TSS response code.
pub(crate) fn raw_rc(e: &tss_esapi::Error) -> Option<u32> {
    match e {
        tss_esapi::Error::Tss2Error(rc) => {
            // The inner code types print "Response code value: 0x…"; recover the raw value.
            let inner = std::error::Error::source(rc)
                .map(|s| s.to_string())
                .unwrap_or_default();
            inner
                .rsplit("0x")
                .next()
                .and_then(|h| u32::from_str_radix(h.trim(), 16).ok())
        }
        tss_esapi::Error::WrapperError(_) => None,
    }
}

/// TSS2 layer of a response code (bits 16..24): 10 = TCTI.
pub(crate) fn is_transport_error(e: &tss_esapi::Error) -> bool {
    match raw_rc(e) {
        // TCTI layer, or ESAPI/SYS "try again"/IO-class codes caused by a broken transport.
        Some(rc) => (rc >> 16) & 0xff == 10,
        None => false,
    }
}
