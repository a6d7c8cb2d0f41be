//! Typed errors of the core crate.

use thiserror::Error;

/// A strict decoder refused its input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("truncated input: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Offset of the field.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// Bytes remained after the last field.
    #[error("{count} trailing bytes after offset {offset}")]
    TrailingBytes {
        /// Offset where decoding stopped.
        offset: usize,
        /// How many bytes remained.
        count: usize,
    },
    /// A magic number or tag did not match.
    #[error("bad magic at offset {offset}")]
    BadMagic {
        /// Offset of the magic.
        offset: usize,
    },
    /// The format version is not one this build reads.
    #[error("unsupported version {found} (this build reads {supported})")]
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// Version supported.
        supported: u16,
    },
    /// A declared length is out of bounds.
    #[error("length {len} of {what} exceeds the limit {limit}")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Declared length.
        len: u64,
        /// Limit.
        limit: u64,
    },
    /// An enumeration had a value that is not defined.
    #[error("invalid value {value} for {what}")]
    InvalidValue {
        /// Which field.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A string was not UTF-8.
    #[error("invalid UTF-8 in {what}")]
    Utf8 {
        /// Which field.
        what: &'static str,
    },
    /// A structure is internally inconsistent.
    #[error("inconsistent {what}: {why}")]
    Inconsistent {
        /// Which structure.
        what: &'static str,
        /// Why.
        why: String,
    },
}

/// Errors of the commitment scheme.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommitError {
    /// Chunk size outside 2^5..=2^24.
    #[error("chunk size 2^{0} outside 2^5..=2^24")]
    ChunkSize(u8),
    /// Unknown hash identifier.
    #[error("unknown hash algorithm id {0}")]
    UnknownAlg(u8),
    /// A length did not match.
    #[error("length mismatch: expected {expected}, got {got}")]
    Length {
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Chunk index beyond the leaves.
    #[error("chunk index {index} out of range (buffer has {leaves} chunks)")]
    IndexOutOfRange {
        /// Requested index.
        index: u64,
        /// Number of leaves.
        leaves: u64,
    },
    /// The authentication path has the wrong length.
    #[error("authentication path has the wrong length")]
    PathLength,
    /// The recomputed root differs from the commitment.
    #[error("opening does not match the commitment")]
    Mismatch,
    /// Malformed encoding.
    #[error("malformed opening: {0}")]
    Decode(#[from] DecodeError),
}
