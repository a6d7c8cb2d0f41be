//! SPDM 1.1 `GET_MEASUREMENTS` / `MEASUREMENTS`: the request a verifier's nonce goes into and the
//! signed response a GPU returns (DMTF DSP0274 1.1, §10.11). Parsed strictly: every length is
//! checked against what follows, reserved fields must be zero, nothing may follow the signature.

use super::{GpuError, GpuResult, LeReader};
use serde::Serialize;

/// SPDM version 1.1, the version NVIDIA's GPUs speak for measurements.
pub const SPDM_VERSION_1_1: u8 = 0x11;
/// `GET_MEASUREMENTS` request code.
pub const GET_MEASUREMENTS: u8 = 0xE0;
/// `MEASUREMENTS` response code.
pub const MEASUREMENTS: u8 = 0x60;
/// Request attribute: the responder must sign the response.
pub const ATTR_SIGNATURE_REQUESTED: u8 = 0x01;
/// Request operation: return every measurement block.
pub const OPERATION_ALL: u8 = 0xFF;
/// Nonce length, both directions.
pub const NONCE_LEN: usize = 32;
/// Length of the request when a signature is requested (SPDM 1.1).
pub const REQUEST_LEN: usize = 4 + NONCE_LEN + 1;
/// ECDSA P-384 signature, `r || s` (the attestation key's algorithm on Hopper and Blackwell).
pub const SIGNATURE_LEN: usize = 96;
/// SPDM 1.1's limit on the opaque data.
pub const MAX_OPAQUE_LEN: usize = 1024;
/// Largest report accepted (NVML's buffer for it is 8 KiB).
pub const MAX_REPORT_LEN: usize = 64 * 1024;
/// `MeasurementSpecification` bit of the DMTF measurement format.
pub const SPEC_DMTF: u8 = 0x01;

/// The verifier's `GET_MEASUREMENTS` request, as the GPU received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasurementRequest {
    /// SPDM version.
    pub version: u8,
    /// Param1: request attributes (signature requested).
    pub attributes: u8,
    /// Param2: which measurements (0xFF: all).
    pub operation: u8,
    /// The verifier's nonce.
    #[serde(with = "crate::hexser")]
    pub nonce: Vec<u8>,
    /// Certificate slot whose key signs.
    pub slot: u8,
}

/// One DMTF measurement block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasurementBlock {
    /// Index (1..=254).
    pub index: u8,
    /// DMTF value type: bits 6..0 the kind, bit 7 set for a raw bit stream instead of a digest.
    pub value_type: u8,
    /// The measurement (a SHA-384 digest on NVIDIA's GPUs).
    #[serde(with = "crate::hexser")]
    pub value: Vec<u8>,
}

impl MeasurementBlock {
    /// Whether the value is a digest (not a raw bit stream).
    pub fn is_digest(&self) -> bool {
        self.value_type & 0x80 == 0
    }

    /// The DMTF name of the value's kind.
    pub fn kind(&self) -> &'static str {
        match self.value_type & 0x7F {
            0 => "immutable ROM",
            1 => "mutable firmware",
            2 => "hardware configuration",
            3 => "firmware configuration",
            4 => "measurement manifest",
            5 => "device mode",
            6 => "version",
            7 => "security version number",
            _ => "reserved",
        }
    }
}

/// The GPU's `MEASUREMENTS` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasurementResponse {
    /// SPDM version (equal to the request's).
    pub version: u8,
    /// The measurement blocks, by strictly increasing index.
    pub blocks: Vec<MeasurementBlock>,
    /// The responder's nonce.
    #[serde(with = "crate::hexser")]
    pub nonce: Vec<u8>,
    /// Opaque data (NVIDIA's fields: see [`super::opaque`]).
    #[serde(with = "crate::hexser")]
    pub opaque: Vec<u8>,
    /// ECDSA P-384 signature `r || s` over SHA-384 of everything before it.
    #[serde(with = "crate::hexser")]
    pub signature: Vec<u8>,
}

/// A GPU attestation report: the request followed by the signed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    bytes: Vec<u8>,
    /// The request.
    pub request: MeasurementRequest,
    /// The response.
    pub response: MeasurementResponse,
}

impl Report {
    /// Parse a report strictly.
    pub fn parse(bytes: &[u8]) -> GpuResult<Self> {
        if bytes.len() > MAX_REPORT_LEN {
            return Err(GpuError::invalid(
                "report",
                format!("{} bytes, more than {MAX_REPORT_LEN}", bytes.len()),
            ));
        }
        let mut r = LeReader::new(bytes);
        let request = parse_request(&mut r)?;
        let response = parse_response(&mut r, &request)?;
        if r.remaining() != 0 {
            return Err(GpuError::TrailingBytes {
                count: r.remaining(),
            });
        }
        Ok(Report {
            bytes: bytes.to_vec(),
            request,
            response,
        })
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes the signature covers: the request and the response up to the signature (SPDM
    /// 1.1's L1/L2 transcript of a single `GET_MEASUREMENTS` exchange).
    pub fn signed_bytes(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - SIGNATURE_LEN]
    }
}

fn parse_request(r: &mut LeReader<'_>) -> GpuResult<MeasurementRequest> {
    let version = r.u8("request SPDMVersion")?;
    if version != SPDM_VERSION_1_1 {
        return Err(GpuError::invalid(
            "request SPDMVersion",
            format!("0x{version:02x}, only SPDM 1.1 (0x11) is accepted"),
        ));
    }
    let code = r.u8("request code")?;
    if code != GET_MEASUREMENTS {
        return Err(GpuError::invalid(
            "request code",
            format!("0x{code:02x}, expected GET_MEASUREMENTS (0xe0)"),
        ));
    }
    let attributes = r.u8("request attributes")?;
    if attributes != ATTR_SIGNATURE_REQUESTED {
        return Err(GpuError::invalid(
            "request attributes",
            format!("0x{attributes:02x}, expected a signed response (0x01)"),
        ));
    }
    let operation = r.u8("request operation")?;
    if operation != OPERATION_ALL {
        return Err(GpuError::invalid(
            "request operation",
            format!("0x{operation:02x}: a report must carry all measurements (0xff)"),
        ));
    }
    let nonce = r.take(NONCE_LEN, "request nonce")?.to_vec();
    let slot = r.u8("request slot")?;
    if slot > 7 {
        return Err(GpuError::invalid(
            "request slot",
            format!("0x{slot:02x}: slots are 0..=7"),
        ));
    }
    Ok(MeasurementRequest {
        version,
        attributes,
        operation,
        nonce,
        slot,
    })
}

fn parse_response(
    r: &mut LeReader<'_>,
    request: &MeasurementRequest,
) -> GpuResult<MeasurementResponse> {
    let version = r.u8("response SPDMVersion")?;
    if version != request.version {
        return Err(GpuError::invalid(
            "response SPDMVersion",
            format!(
                "0x{version:02x}, the request's is 0x{:02x}",
                request.version
            ),
        ));
    }
    let code = r.u8("response code")?;
    if code != MEASUREMENTS {
        return Err(GpuError::invalid(
            "response code",
            format!("0x{code:02x}, expected MEASUREMENTS (0x60)"),
        ));
    }
    let param1 = r.u8("response param1")?;
    if param1 != 0 {
        return Err(GpuError::invalid(
            "response param1",
            format!("0x{param1:02x}, reserved (0) when all measurements are requested"),
        ));
    }
    let param2 = r.u8("response param2")?;
    if param2 != request.slot {
        return Err(GpuError::invalid(
            "response param2",
            format!(
                "0x{param2:02x}, expected the request's slot {}",
                request.slot
            ),
        ));
    }
    let count = r.u8("NumberOfBlocks")?;
    if count == 0 {
        return Err(GpuError::invalid("NumberOfBlocks", "no measurement block"));
    }
    let record_len = r.u24("MeasurementRecordLength")? as usize;
    let record = r.take(record_len, "MeasurementRecord")?;
    let blocks = parse_blocks(record, count)?;
    let nonce = r.take(NONCE_LEN, "response nonce")?.to_vec();
    let opaque_len = r.u16("OpaqueLength")? as usize;
    if opaque_len > MAX_OPAQUE_LEN {
        return Err(GpuError::invalid(
            "OpaqueLength",
            format!("{opaque_len}, more than SPDM's {MAX_OPAQUE_LEN}"),
        ));
    }
    let opaque = r.take(opaque_len, "OpaqueData")?.to_vec();
    let signature = r.take(SIGNATURE_LEN, "Signature")?.to_vec();
    Ok(MeasurementResponse {
        version,
        blocks,
        nonce,
        opaque,
        signature,
    })
}

fn parse_blocks(record: &[u8], count: u8) -> GpuResult<Vec<MeasurementBlock>> {
    let mut r = LeReader::new(record);
    let mut blocks: Vec<MeasurementBlock> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let at = r.position();
        let index = r.u8("measurement index")?;
        if index == 0 || index == 0xFF {
            return Err(GpuError::invalid(
                "measurement index",
                format!("{index} at record byte {at} is reserved"),
            ));
        }
        if let Some(prev) = blocks.last() {
            if index <= prev.index {
                return Err(GpuError::invalid(
                    "measurement index",
                    format!("{index} follows {}: indices must increase", prev.index),
                ));
            }
        }
        let spec = r.u8("MeasurementSpecification")?;
        if spec != SPEC_DMTF {
            return Err(GpuError::invalid(
                "MeasurementSpecification",
                format!("0x{spec:02x} in block {index}, only DMTF (0x01) is defined"),
            ));
        }
        let size = r.u16("MeasurementSize")? as usize;
        let body = r.take(size, "Measurement")?;
        let mut m = LeReader::new(body);
        let value_type = m.u8("DMTFSpecMeasurementValueType")?;
        let value_size = m.u16("DMTFSpecMeasurementValueSize")? as usize;
        if value_size + 3 != size {
            return Err(GpuError::invalid(
                "DMTFSpecMeasurementValueSize",
                format!("{value_size} in block {index} of size {size}"),
            ));
        }
        let value = m.take(value_size, "DMTFSpecMeasurementValue")?.to_vec();
        blocks.push(MeasurementBlock {
            index,
            value_type,
            value,
        });
    }
    if r.remaining() != 0 {
        return Err(GpuError::invalid(
            "MeasurementRecordLength",
            format!("{} byte(s) after block {count}", r.remaining()),
        ));
    }
    Ok(blocks)
}

/// A `GET_MEASUREMENTS` request for all measurements, signed, with `nonce` (what a verifier, or
/// NVML on its behalf, sends).
pub fn encode_request(nonce: &[u8; NONCE_LEN], slot: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(REQUEST_LEN);
    out.extend_from_slice(&[
        SPDM_VERSION_1_1,
        GET_MEASUREMENTS,
        ATTR_SIGNATURE_REQUESTED,
        OPERATION_ALL,
    ]);
    out.extend_from_slice(nonce);
    out.push(slot);
    out
}

/// A `MEASUREMENTS` response up to (not including) its signature: what a responder signs after
/// the request. Errors where a field does not fit its length.
pub fn encode_response_unsigned(
    slot: u8,
    blocks: &[MeasurementBlock],
    responder_nonce: &[u8; NONCE_LEN],
    opaque: &[u8],
) -> GpuResult<Vec<u8>> {
    let mut record = Vec::new();
    for b in blocks {
        let size = u16::try_from(b.value.len() + 3)
            .map_err(|_| GpuError::invalid("measurement", "value too long"))?;
        record.extend_from_slice(&[b.index, SPEC_DMTF]);
        record.extend_from_slice(&size.to_le_bytes());
        record.push(b.value_type);
        record.extend_from_slice(&(b.value.len() as u16).to_le_bytes());
        record.extend_from_slice(&b.value);
    }
    let count =
        u8::try_from(blocks.len()).map_err(|_| GpuError::invalid("NumberOfBlocks", "over 255"))?;
    if record.len() >= 1 << 24 {
        return Err(GpuError::invalid("MeasurementRecordLength", "over 2^24"));
    }
    if opaque.len() > MAX_OPAQUE_LEN {
        return Err(GpuError::invalid("OpaqueLength", "over 1024"));
    }
    let mut out = vec![SPDM_VERSION_1_1, MEASUREMENTS, 0, slot, count];
    out.extend_from_slice(&(record.len() as u32).to_le_bytes()[..3]);
    out.extend_from_slice(&record);
    out.extend_from_slice(responder_nonce);
    out.extend_from_slice(&(opaque.len() as u16).to_le_bytes());
    out.extend_from_slice(opaque);
    Ok(out)
}
