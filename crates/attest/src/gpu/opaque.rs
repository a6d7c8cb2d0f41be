//! The NVIDIA fields in a `MEASUREMENTS` response's opaque data: a list of
//! `type (u16 LE) | length (u16 LE) | value`. They are inside the signed bytes, so once the
//! signature verifies they are the GPU's own statement of its driver, VBIOS and firmware.

use super::{GpuError, GpuResult, LeReader};
use serde::Serialize;

/// Driver version, NUL-terminated ASCII.
pub const FIELD_DRIVER_VERSION: u16 = 3;
/// GPU information flags.
pub const FIELD_GPU_INFO: u16 = 4;
/// VBIOS version (8 bytes).
pub const FIELD_VBIOS_VERSION: u16 = 6;
/// Per-measurement counters (u32 LE each).
pub const FIELD_MSRSCNT: u16 = 12;
/// Board ID.
pub const FIELD_BOARD_ID: u16 = 14;
/// Chip SKU, NUL-padded ASCII.
pub const FIELD_CHIP_SKU: u16 = 15;
/// Chip SKU modifier, NUL-padded ASCII.
pub const FIELD_CHIP_SKU_MOD: u16 = 16;
/// Project (board) number, NUL-padded ASCII.
pub const FIELD_PROJECT: u16 = 17;
/// Project SKU, NUL-padded ASCII.
pub const FIELD_PROJECT_SKU: u16 = 18;
/// Project SKU modifier.
pub const FIELD_PROJECT_SKU_MOD: u16 = 19;
/// Firmware ID of the layer that holds the attestation key (SHA-384).
pub const FIELD_FWID: u16 = 20;
/// The type value NVIDIA reserves as invalid.
pub const FIELD_INVALID: u16 = 255;
/// FWID length (SHA-384).
pub const FWID_LEN: usize = 48;

/// The name NVIDIA's tools give a field type, when known.
pub fn field_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "cert issuer name",
        2 => "cert authority key identifier",
        3 => "driver version",
        4 => "GPU info",
        5 => "SKU",
        6 => "VBIOS version",
        7 => "manufacturer ID",
        8 => "tamper detection",
        9 => "SMC",
        10 => "VPR",
        11 => "NVDEC0 status",
        12 => "measurement counts",
        13 => "CPR info",
        14 => "board ID",
        15 => "chip SKU",
        16 => "chip SKU modifier",
        17 => "project",
        18 => "project SKU",
        19 => "project SKU modifier",
        20 => "FWID",
        21 => "protected PCIe status",
        _ => return None,
    })
}

/// One opaque field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpaqueField {
    /// Type.
    pub id: u16,
    /// Value.
    #[serde(with = "crate::hexser")]
    pub value: Vec<u8>,
}

/// The parsed opaque data, fields in the order the GPU sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OpaqueData {
    /// The fields.
    pub fields: Vec<OpaqueField>,
}

impl OpaqueData {
    /// Parse strictly: each field fits, no type twice, known fields have their length.
    pub fn parse(bytes: &[u8]) -> GpuResult<Self> {
        let mut r = LeReader::new(bytes);
        let mut fields: Vec<OpaqueField> = Vec::new();
        while r.remaining() > 0 {
            let id = r.u16("opaque field type")?;
            let len = r.u16("opaque field length")? as usize;
            let value = r.take(len, "opaque field value")?.to_vec();
            if id == 0 || id == FIELD_INVALID {
                return Err(GpuError::invalid(
                    "opaque field type",
                    format!("{id} is reserved"),
                ));
            }
            if fields.iter().any(|f| f.id == id) {
                return Err(GpuError::invalid(
                    "opaque field type",
                    format!("{id} appears twice"),
                ));
            }
            match id {
                FIELD_FWID if len != FWID_LEN => {
                    return Err(GpuError::invalid(
                        "opaque FWID",
                        format!("{len} bytes, expected {FWID_LEN}"),
                    ))
                }
                FIELD_MSRSCNT if !len.is_multiple_of(4) => {
                    return Err(GpuError::invalid(
                        "opaque measurement counts",
                        format!("{len} bytes, not a multiple of 4"),
                    ))
                }
                FIELD_VBIOS_VERSION if len < 5 => {
                    return Err(GpuError::invalid(
                        "opaque VBIOS version",
                        format!("{len} bytes, expected at least 5"),
                    ))
                }
                FIELD_DRIVER_VERSION | FIELD_CHIP_SKU | FIELD_CHIP_SKU_MOD | FIELD_PROJECT
                | FIELD_PROJECT_SKU => {
                    ascii(&value, field_name(id).unwrap_or("opaque string"))?;
                }
                _ => {}
            }
            fields.push(OpaqueField { id, value });
        }
        Ok(OpaqueData { fields })
    }

    /// A field's value.
    pub fn get(&self, id: u16) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.value.as_slice())
    }

    fn string(&self, id: u16) -> Option<String> {
        self.get(id).and_then(|v| ascii(v, "opaque string").ok())
    }

    /// Driver version, e.g. `550.90.07`.
    pub fn driver_version(&self) -> Option<String> {
        self.string(FIELD_DRIVER_VERSION)
    }

    /// VBIOS version in NVIDIA's notation, e.g. `96.00.9F.00.01`.
    pub fn vbios_version(&self) -> Option<String> {
        self.get(FIELD_VBIOS_VERSION).map(|v| {
            let major = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
            let m = major.to_be_bytes();
            format!(
                "{:02X}.{:02X}.{:02X}.{:02X}.{:02X}",
                m[0], m[1], m[2], m[3], v[4]
            )
        })
    }

    /// Project number (the board), e.g. `1010`.
    pub fn project(&self) -> Option<String> {
        self.string(FIELD_PROJECT)
    }

    /// Project SKU, e.g. `0200`.
    pub fn project_sku(&self) -> Option<String> {
        self.string(FIELD_PROJECT_SKU)
    }

    /// Chip SKU, e.g. `882`.
    pub fn chip_sku(&self) -> Option<String> {
        self.string(FIELD_CHIP_SKU)
    }

    /// FWID of the attestation key's firmware layer.
    pub fn fwid(&self) -> Option<&[u8]> {
        self.get(FIELD_FWID)
    }
}

/// A NUL-terminated (or NUL-padded) printable ASCII string; bytes after the first NUL must be NUL.
fn ascii(v: &[u8], what: &'static str) -> GpuResult<String> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    if v[end..].iter().any(|&b| b != 0) {
        return Err(GpuError::invalid(what, "bytes after the terminating NUL"));
    }
    let s = &v[..end];
    if !s.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(GpuError::invalid(what, "not printable ASCII"));
    }
    Ok(String::from_utf8_lossy(s).into_owned())
}

impl OpaqueData {
    /// The encoding [`OpaqueData::parse`] reads. Errors where a value is longer than a u16 length.
    pub fn to_bytes(&self) -> GpuResult<Vec<u8>> {
        let mut out = Vec::new();
        for f in &self.fields {
            let len = u16::try_from(f.value.len())
                .map_err(|_| GpuError::invalid("opaque field value", "longer than 65535"))?;
            out.extend_from_slice(&f.id.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&f.value);
        }
        Ok(out)
    }
}
