//! Typed errors of the on-chain tooling.

use thiserror::Error;

/// Everything that can go wrong while generating contracts, encoding calldata, compiling with solc or
/// executing in revm.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The verifying key does not have exactly one public input (`gamma_abc_g1` must have two points).
    #[error(
        "verifying key has {inputs} public inputs; the generated verifier supports exactly one"
    )]
    PublicInputCount {
        /// Number of public inputs the key declares (`gamma_abc_g1.len() - 1`).
        inputs: usize,
    },
    /// A serialized verifying key could not be parsed.
    #[error("invalid verifying key encoding: {0}")]
    VerifyingKeyEncoding(String),
    /// A serialized proof could not be parsed.
    #[error("invalid proof encoding: {0}")]
    ProofEncoding(String),
    /// A public input word is not a canonical scalar (it is `>= r`).
    #[error("public input is not below the BN254 scalar field modulus r")]
    InputOutOfRange,
    /// A byte string had the wrong length.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Length {
        /// What was being parsed.
        what: &'static str,
        /// Expected length in bytes.
        expected: usize,
        /// Actual length in bytes.
        got: usize,
    },
    /// An ABI-encoded `bool` return value was neither 0 nor 1.
    #[error("ABI bool return value is not 0 or 1")]
    BadBool,
    /// The solc compiler (npm `solc`, run with node) could not be located.
    #[error(
        "solc not found: {tried}; install it with `npm install --prefix <workspace>/.tools/node solc@{version}` \
         or point CUPROOF_SOLC_JS at solc.js (CUPROOF_NODE selects the node binary)",
        version = crate::solc::SOLC_VERSION
    )]
    SolcNotFound {
        /// The locations that were tried.
        tried: String,
    },
    /// Running node/solc failed (could not spawn, non-zero exit).
    #[error("running solc failed: {0}")]
    SolcRun(String),
    /// solc reported compilation errors.
    #[error("solc reported errors:\n{0}")]
    SolcCompile(String),
    /// solc's JSON output could not be understood.
    #[error("unexpected solc output: {0}")]
    SolcOutput(String),
    /// The requested contract is not in the compiler output.
    #[error("contract {0} not found in solc output")]
    ContractNotFound(String),
    /// The EVM rejected the transaction itself (not a revert: e.g. invalid transaction fields).
    #[error("EVM error: {0}")]
    Evm(String),
    /// Contract creation did not succeed.
    #[error("contract deployment failed: {0}")]
    DeployFailed(String),
    /// An I/O error (spawning node, reading files).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, ChainError>;
