//! The whole check of a GPU's evidence: chain, signature, nonce, FWID; then, where a policy gives
//! golden values, the measurements.

use super::chain::{DeviceChain, NVIDIA_DEVICE_IDENTITY_CA_PEM};
use super::opaque::OpaqueData;
use super::spdm::{MeasurementBlock, Report, NONCE_LEN, SIGNATURE_LEN};
use super::{GpuError, GpuResult};
use crate::ekcert::Cert;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha384};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// Domain of the SPDM nonces cuproof asks GPUs to sign.
pub const GPU_NONCE_DOMAIN: &[u8] = b"cuproof/gpu-evidence/v1\0";

/// The nonce a verifier puts into a GPU's `GET_MEASUREMENTS` request:
/// SHA-256(`cuproof/gpu-evidence/v1\0` || context). The context binds the report to one run
/// (a capacity challenge's nonce and the card's index, say), so a report cannot be replayed.
pub fn gpu_nonce(context: &[u8]) -> [u8; NONCE_LEN] {
    let mut h = Sha256::new();
    h.update(GPU_NONCE_DOMAIN);
    h.update(context);
    h.finalize().into()
}

/// The system clock in Unix seconds, the time a verifier checks certificates at unless told another
/// (`None` if the clock is before 1970).
pub fn unix_now() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// The roots a device chain must end at, and the time certificates are checked at.
#[derive(Debug, Clone)]
pub struct GpuTrust {
    /// Trusted roots (compared byte for byte with the chain's last certificate).
    pub roots: Vec<Cert>,
    /// Unix seconds at which every certificate must be valid; `None` skips the validity check.
    pub now: Option<u64>,
}

impl GpuTrust {
    /// NVIDIA's Device Identity CA alone, certificates checked at `now`.
    pub fn nvidia(now: Option<u64>) -> Self {
        let roots = Cert::parse_many(NVIDIA_DEVICE_IDENTITY_CA_PEM.as_bytes())
            .expect("the embedded NVIDIA root parses (tested)");
        GpuTrust { roots, now }
    }

    /// Other roots (PEM or DER), e.g. for a test authority.
    pub fn with_roots(bytes: &[u8], now: Option<u64>) -> GpuResult<Self> {
        let roots = Cert::parse_many(bytes).map_err(|e| GpuError::Certificate {
            index: 0,
            detail: format!("trusted root: {e}"),
        })?;
        Ok(GpuTrust { roots, now })
    }
}

/// What a verified report says about the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedGpu {
    /// The chip's identity: subject serial number of its device certificate.
    pub device_serial: String,
    /// Common name of the device certificate (e.g. `GH100 A01 GSP BROM`).
    pub device_name: Option<String>,
    /// SHA-256 of the device certificate's DER.
    #[serde(with = "crate::hexser")]
    pub device_cert_sha256: Vec<u8>,
    /// SHA-256 of the root the chain ends at.
    #[serde(with = "crate::hexser")]
    pub root_sha256: Vec<u8>,
    /// Driver version the GPU reports.
    pub driver_version: Option<String>,
    /// VBIOS version.
    pub vbios_version: Option<String>,
    /// Board project number.
    pub project: Option<String>,
    /// Board project SKU.
    pub project_sku: Option<String>,
    /// Chip SKU.
    pub chip_sku: Option<String>,
    /// FWID of the attestation key's firmware layer, when the report carries one (then equal to
    /// the certificate's).
    #[serde(with = "crate::hexser::option")]
    pub fwid: Option<Vec<u8>>,
    /// The measurement blocks.
    pub measurements: Vec<MeasurementBlock>,
    /// SHA-256 of the whole report.
    #[serde(with = "crate::hexser")]
    pub report_sha256: Vec<u8>,
}

/// Verify a GPU's evidence: `report` (request || signed response) and `chain` (PEM, or DER back
/// to back), against `nonce` (the verifier's, see [`gpu_nonce`]) and `trust`.
///
/// Order: parse both; check the chain to a trusted root; verify the signature with the attestation
/// key; then the nonce (constant time); then that the report's FWID is the certificate's.
pub fn verify_gpu_evidence(
    report: &[u8],
    chain: &[u8],
    nonce: &[u8; NONCE_LEN],
    trust: &GpuTrust,
) -> GpuResult<VerifiedGpu> {
    let report = Report::parse(report)?;
    let opaque = OpaqueData::parse(&report.response.opaque)?;
    let chain = DeviceChain::parse(chain)?;
    chain.verify(&trust.roots, trust.now)?;

    let key = chain.attestation_key()?;
    let digest = Sha384::digest(report.signed_bytes());
    let sig = &report.response.signature;
    debug_assert_eq!(sig.len(), SIGNATURE_LEN);
    let sig = p384::ecdsa::Signature::from_slice(sig).map_err(|_| GpuError::BadSignature)?;
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    key.verify_prehash(&digest, &sig)
        .map_err(|_| GpuError::BadSignature)?;

    if !bool::from(report.request.nonce.as_slice().ct_eq(nonce.as_slice())) {
        return Err(GpuError::NonceMismatch);
    }

    let cert_fwid = chain.fwid()?;
    let fwid = match (opaque.fwid(), cert_fwid.as_deref()) {
        (Some(reported), Some(certified)) => {
            if !bool::from(reported.ct_eq(certified)) {
                return Err(GpuError::FwidMismatch);
            }
            Some(reported.to_vec())
        }
        (Some(_), None) => {
            return Err(GpuError::Certificate {
                index: 0,
                detail: "the report names an FWID but the certificate carries none".into(),
            })
        }
        (None, _) => None,
    };

    let device = &chain.certs()[1];
    Ok(VerifiedGpu {
        device_serial: chain.device_serial()?,
        device_name: chain.common_name(1),
        device_cert_sha256: device.sha256().to_vec(),
        root_sha256: chain.root(&trust.roots).sha256().to_vec(),
        driver_version: opaque.driver_version(),
        vbios_version: opaque.vbios_version(),
        project: opaque.project(),
        project_sku: opaque.project_sku(),
        chip_sku: opaque.chip_sku(),
        fwid,
        measurements: report.response.blocks.clone(),
        report_sha256: Sha256::digest(report.bytes()).to_vec(),
    })
}

/// Golden measurements: for each index, the values a good card may show (several where a
/// reference manifest allows alternatives).
pub type GoldenMeasurements = BTreeMap<u8, Vec<Vec<u8>>>;

/// Every index in `golden` must be measured, with one of its values (compared in constant time).
/// Indices the table does not name are not judged. Returns how many were judged.
pub fn judge_measurements(
    golden: &GoldenMeasurements,
    measured: &[MeasurementBlock],
) -> GpuResult<usize> {
    for (&index, allowed) in golden {
        let block =
            measured
                .iter()
                .find(|b| b.index == index)
                .ok_or_else(|| GpuError::Measurement {
                    index,
                    detail: "not in the report".into(),
                })?;
        let ok = allowed.iter().fold(subtle::Choice::from(0), |acc, v| {
            acc | v.as_slice().ct_eq(block.value.as_slice())
        });
        if !bool::from(ok) {
            return Err(GpuError::Measurement {
                index,
                detail: format!("{} is not a golden value", hex::encode(&block.value)),
            });
        }
    }
    Ok(golden.len())
}
