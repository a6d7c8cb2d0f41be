//! The node's TPM session lives in the library (`cuproof::node`: open the configured TPM or a private swtpm,
//! EK/AK, local enrollment, job PCR, quotes); this module re-exports it for the CLI and maps its typed errors to
//! the CLI's exit codes (TPM failures → environment, AK file → input, enrollment refused → invalid).

pub use cuproof::node::{now_unix, NodeSession};

use crate::error::CliError;
use cuproof::node::NodeError;

impl From<NodeError> for CliError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Tpm(_) => CliError::env(e.to_string()),
            NodeError::AkFile { .. } => CliError::input(e.to_string()),
            NodeError::BootLog { .. } => CliError::env(e.to_string()),
            NodeError::Enrollment(_) => CliError::invalid(e.to_string()),
        }
    }
}
