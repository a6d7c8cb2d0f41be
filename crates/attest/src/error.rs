//! Typed errors of the verifier side.

use thiserror::Error;

/// Everything that can go wrong while parsing or checking TPM evidence.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input ended before a structure was complete.
    #[error("truncated {what}: needed {needed} more byte(s)")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes missing.
        needed: usize,
    },
    /// Bytes were left over after a complete structure.
    #[error("{count} trailing byte(s) after {what}")]
    TrailingBytes {
        /// The structure that was parsed.
        what: &'static str,
        /// Number of bytes left.
        count: usize,
    },
    /// A size or count field is out of its allowed range.
    #[error("{what}: size {size} out of range (max {max})")]
    SizeOutOfRange {
        /// The field.
        what: &'static str,
        /// The value found.
        size: usize,
        /// The largest allowed value.
        max: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Why it is invalid.
        detail: String,
    },
    /// An algorithm identifier that this crate does not implement or allow.
    #[error("unsupported algorithm 0x{alg:04x} for {what}")]
    UnsupportedAlgorithm {
        /// Where it appeared.
        what: &'static str,
        /// The TPM_ALG_ID.
        alg: u16,
    },
    /// Signature scheme or hash not on the allow-list.
    #[error("signature scheme 0x{scheme:04x} with hash 0x{hash:04x} is not allowed")]
    SchemeNotAllowed {
        /// TPM_ALG_ID of the scheme.
        scheme: u16,
        /// TPM_ALG_ID of the hash.
        hash: u16,
    },
    /// The signature does not match the key's type or declared scheme.
    #[error("signature does not fit the signing key: {0}")]
    KeyMismatch(String),
    /// The signature over the attestation bytes did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// TPMS_ATTEST.magic is not TPM_GENERATED_VALUE.
    #[error("attestation magic 0x{0:08x} is not TPM_GENERATED_VALUE")]
    BadMagic(u32),
    /// TPMS_ATTEST.type is not the expected one.
    #[error("attestation type 0x{found:04x}, expected 0x{expected:04x}")]
    WrongAttestType {
        /// Type found.
        found: u16,
        /// Type expected.
        expected: u16,
    },
    /// extraData differs from the expected qualifying data.
    #[error("qualifying data (nonce) mismatch")]
    NonceMismatch,
    /// The qualifiedSigner differs from the expected AK qualified name.
    #[error("qualified signer mismatch")]
    QualifiedSignerMismatch,
    /// The quoted PCR selection is not the one required.
    #[error("PCR selection mismatch: {0}")]
    PcrSelectionMismatch(String),
    /// The supplied PCR values do not fit the quoted selection.
    #[error("PCR values do not match the selection: {0}")]
    PcrValuesMismatch(String),
    /// The PCR digest recomputed from the supplied values differs from the quoted one.
    #[error("PCR digest mismatch: supplied PCR values are not the quoted ones")]
    PcrDigestMismatch,
    /// The AK public area does not have the attributes of an attestation key.
    #[error("AK attributes unacceptable: {0}")]
    AkAttributes(String),
    /// The EK certificate could not be parsed or checked.
    #[error("EK certificate: {0}")]
    EkCertificate(String),
    /// The EK certificate's key is not the EK public key presented.
    #[error("EK certificate key does not match the EK public area")]
    EkCertKeyMismatch,
    /// No certificate chain to a trusted root.
    #[error("EK certificate chain: {0}")]
    EkChain(String),
    /// The activated credential returned by the node is not the one issued.
    #[error("credential activation failed: secret mismatch")]
    CredentialMismatch,
    /// A cryptographic primitive failed (key construction, encryption).
    #[error("crypto: {0}")]
    Crypto(String),
    /// A node record is inconsistent or malformed.
    #[error("node record: {0}")]
    NodeRecord(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            detail: detail.into(),
        }
    }
}
