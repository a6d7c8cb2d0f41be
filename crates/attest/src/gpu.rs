//! NVIDIA GPU attestation evidence: the card's own signed measurements, checked offline.
//!
//! A Hopper (or later) GPU answers an SPDM 1.1 `GET_MEASUREMENTS` request with a `MEASUREMENTS`
//! response signed by an attestation key that lives in the GPU's firmware. The key's certificate
//! chains, through a certificate unique to the chip, to NVIDIA's Device Identity CA. The evidence
//! is the request and response bytes (the *report*, as NVML's
//! `nvmlDeviceGetConfComputeGpuAttestationReport` returns it) plus that certificate chain
//! (`nvmlDeviceGetConfComputeGpuCertificate`).
//!
//! This module is the verifier side only: pure functions from bytes to a verdict, no NVML and no
//! network. One step per module:
//!
//! * [`spdm`]: strict parsing of the request/response pair (lengths checked, no trailing bytes);
//! * [`opaque`]: the NVIDIA fields in the response's opaque data (driver, VBIOS, FWID, ...);
//! * [`chain`]: the device certificate chain, checked link by link to a pinned root;
//! * [`verifier`]: the whole check ([`verify_gpu_evidence`]): chain, signature, nonce, FWID.
//!
//! What a verified report proves, and what it does not, is in `docs/gpu-attestation.md`.

pub mod chain;
pub mod opaque;
pub mod spdm;
pub mod verifier;

pub use chain::{DeviceChain, NVIDIA_DEVICE_IDENTITY_CA_PEM};
pub use opaque::{OpaqueData, OpaqueField};
pub use spdm::{MeasurementBlock, MeasurementRequest, MeasurementResponse, Report};
pub use verifier::{
    gpu_nonce, judge_measurements, unix_now, verify_gpu_evidence, GoldenMeasurements, GpuTrust,
    VerifiedGpu,
};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A GPU's evidence as a node sends it: the report NVML returned and the attestation key's
/// certificate chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuEvidence {
    /// The SPDM `GET_MEASUREMENTS` request followed by the signed `MEASUREMENTS` response.
    #[serde(with = "crate::hexser")]
    pub report: Vec<u8>,
    /// The attestation key's certificate chain (PEM, or DER back to back), attestation key first.
    #[serde(with = "crate::hexser")]
    pub cert_chain: Vec<u8>,
}

impl GpuEvidence {
    /// [`verify_gpu_evidence`] of this evidence.
    pub fn verify(
        &self,
        nonce: &[u8; spdm::NONCE_LEN],
        trust: &GpuTrust,
    ) -> GpuResult<VerifiedGpu> {
        verify_gpu_evidence(&self.report, &self.cert_chain, nonce, trust)
    }
}

/// Everything that can be wrong with a GPU's attestation evidence.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GpuError {
    /// The report ended before a field was complete.
    #[error("GPU report: truncated {what} at byte {offset}: needed {needed} more byte(s)")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where it starts in the report.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// Bytes were left after the signature.
    #[error("GPU report: {count} trailing byte(s) after the signature")]
    TrailingBytes {
        /// Number of bytes left.
        count: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("GPU report: invalid {what}: {detail}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// A certificate of the chain could not be parsed or has the wrong shape.
    #[error("GPU certificate {index}: {detail}")]
    Certificate {
        /// Position in the chain, 0 = the attestation key's certificate.
        index: usize,
        /// Why.
        detail: String,
    },
    /// The chain is not a chain (order, issuer names, signatures, validity).
    #[error("GPU certificate chain: {0}")]
    Chain(String),
    /// The chain ends at a certificate that is not one of the trusted roots.
    #[error("GPU certificate chain ends at an untrusted root (SHA-256 {0})")]
    UntrustedRoot(String),
    /// The report's signature does not verify with the attestation key.
    #[error("GPU report signature does not verify with the attestation certificate's key")]
    BadSignature,
    /// The request nonce is not the verifier's.
    #[error("GPU report nonce is not the expected one (stale or replayed report)")]
    NonceMismatch,
    /// The firmware ID in the report is not the one the attestation certificate was issued for.
    #[error("GPU report FWID differs from the attestation certificate's FWID")]
    FwidMismatch,
    /// A measurement is not among the golden values.
    #[error("GPU measurement {index}: {detail}")]
    Measurement {
        /// Measurement index.
        index: u8,
        /// What differs.
        detail: String,
    },
}

/// Result alias of this module.
pub type GpuResult<T> = std::result::Result<T, GpuError>;

impl GpuError {
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        GpuError::Invalid {
            what,
            detail: detail.into(),
        }
    }
}

/// A little-endian cursor (SPDM fields are little-endian, TPM ones big-endian).
pub(crate) struct LeReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> LeReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        LeReader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> GpuResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(GpuError::Truncated {
                what,
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> GpuResult<u8> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> GpuResult<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self, what: &'static str) -> GpuResult<u32> {
        let b = self.take(3, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }
}
