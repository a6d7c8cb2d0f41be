//! TPMS_ATTEST (quote, certify, creation, time, NV).

use crate::error::{Error, Result};
use crate::pcr::PcrSelection;
use crate::public::{check_name, MAX_DIGEST_SIZE};
use crate::wire::Reader;

/// TPM_GENERATED_VALUE: the magic of every TPM-generated attestation.
pub const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
/// TPM_ST_ATTEST_NV.
pub const TPM_ST_ATTEST_NV: u16 = 0x8014;
/// TPM_ST_ATTEST_CERTIFY.
pub const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;
/// TPM_ST_ATTEST_QUOTE.
pub const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
/// TPM_ST_ATTEST_TIME.
pub const TPM_ST_ATTEST_TIME: u16 = 0x8019;
/// TPM_ST_ATTEST_CREATION.
pub const TPM_ST_ATTEST_CREATION: u16 = 0x801A;

/// Largest TPMS_ATTEST accepted.
pub const MAX_ATTEST_SIZE: usize = 2048;
/// Largest extraData (TPM2B_DATA = sizeof(TPMT_HA)).
pub const MAX_EXTRA_DATA: usize = 2 + MAX_DIGEST_SIZE;
/// Largest NV contents in an NV certification.
pub const MAX_NV_BUFFER: usize = 1024;

/// TPMS_CLOCK_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockInfo {
    /// Milliseconds the TPM has been powered since its last clear.
    pub clock: u64,
    /// Number of TPM resets since the last clear.
    pub reset_count: u32,
    /// Number of restarts since the last reset.
    pub restart_count: u32,
    /// Whether the clock value is safe (no rollback possible).
    pub safe: bool,
}

/// The type-specific part of an attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    /// TPMS_QUOTE_INFO.
    Quote {
        /// The quoted PCR selection.
        selection: PcrSelection,
        /// Digest of the selected PCR values.
        pcr_digest: Vec<u8>,
    },
    /// TPMS_CERTIFY_INFO.
    Certify {
        /// Name of the certified object.
        name: Vec<u8>,
        /// Its qualified name.
        qualified_name: Vec<u8>,
    },
    /// TPMS_CREATION_INFO.
    Creation {
        /// Name of the created object.
        object_name: Vec<u8>,
        /// Creation hash.
        creation_hash: Vec<u8>,
    },
    /// TPMS_TIME_ATTEST_INFO.
    Time {
        /// TPM time in ms.
        time: u64,
        /// Clock info at that time.
        clock_info: ClockInfo,
        /// Firmware version.
        firmware_version: u64,
    },
    /// TPMS_NV_CERTIFY_INFO.
    Nv {
        /// NV index name.
        index_name: Vec<u8>,
        /// Offset of the certified bytes.
        offset: u16,
        /// The certified bytes.
        contents: Vec<u8>,
    },
}

/// A parsed TPMS_ATTEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attest {
    /// magic (checked by the verifier, not by the parser).
    pub magic: u32,
    /// TPMI_ST_ATTEST.
    pub attest_type: u16,
    /// Qualified name of the signing key.
    pub qualified_signer: Vec<u8>,
    /// Caller-supplied qualifying data (the nonce).
    pub extra_data: Vec<u8>,
    /// Clock, reset and restart counts, safe flag.
    pub clock_info: ClockInfo,
    /// Vendor firmware version.
    pub firmware_version: u64,
    /// Type-specific information.
    pub attested: Attested,
}

fn read_clock(r: &mut Reader<'_>) -> Result<ClockInfo> {
    let clock = r.u64("clockInfo.clock")?;
    let reset_count = r.u32("clockInfo.resetCount")?;
    let restart_count = r.u32("clockInfo.restartCount")?;
    let safe = match r.u8("clockInfo.safe")? {
        0 => false,
        1 => true,
        other => {
            return Err(Error::invalid(
                "clockInfo.safe",
                format!("TPMI_YES_NO value {other}"),
            ))
        }
    };
    Ok(ClockInfo {
        clock,
        reset_count,
        restart_count,
        safe,
    })
}

fn read_name(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>> {
    let n = r.tpm2b(what, 2 + MAX_DIGEST_SIZE)?;
    check_name(n)?;
    Ok(n.to_vec())
}

impl Attest {
    /// Parse a marshalled TPMS_ATTEST (no size prefix); all bytes must be consumed.
    ///
    /// The parser does not judge the magic: [`crate::quote::verify_quote`] checks it after the
    /// signature.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_ATTEST_SIZE {
            return Err(Error::SizeOutOfRange {
                what: "TPMS_ATTEST",
                size: bytes.len(),
                max: MAX_ATTEST_SIZE,
            });
        }
        let mut r = Reader::new(bytes);
        let magic = r.u32("TPMS_ATTEST.magic")?;
        let attest_type = r.u16("TPMS_ATTEST.type")?;
        let qualified_signer = read_name(&mut r, "TPMS_ATTEST.qualifiedSigner")?;
        let extra_data = r.tpm2b("TPMS_ATTEST.extraData", MAX_EXTRA_DATA)?.to_vec();
        let clock_info = read_clock(&mut r)?;
        let firmware_version = r.u64("TPMS_ATTEST.firmwareVersion")?;
        let attested = match attest_type {
            TPM_ST_ATTEST_QUOTE => {
                let selection = PcrSelection::read(&mut r)?;
                let pcr_digest = r
                    .tpm2b("TPMS_QUOTE_INFO.pcrDigest", MAX_DIGEST_SIZE)?
                    .to_vec();
                Attested::Quote {
                    selection,
                    pcr_digest,
                }
            }
            TPM_ST_ATTEST_CERTIFY => Attested::Certify {
                name: read_name(&mut r, "TPMS_CERTIFY_INFO.name")?,
                qualified_name: read_name(&mut r, "TPMS_CERTIFY_INFO.qualifiedName")?,
            },
            TPM_ST_ATTEST_CREATION => Attested::Creation {
                object_name: read_name(&mut r, "TPMS_CREATION_INFO.objectName")?,
                creation_hash: r
                    .tpm2b("TPMS_CREATION_INFO.creationHash", MAX_DIGEST_SIZE)?
                    .to_vec(),
            },
            TPM_ST_ATTEST_TIME => {
                let time = r.u64("TPMS_TIME_INFO.time")?;
                let clock_info = read_clock(&mut r)?;
                let firmware_version = r.u64("TPMS_TIME_ATTEST_INFO.firmwareVersion")?;
                Attested::Time {
                    time,
                    clock_info,
                    firmware_version,
                }
            }
            TPM_ST_ATTEST_NV => Attested::Nv {
                index_name: read_name(&mut r, "TPMS_NV_CERTIFY_INFO.indexName")?,
                offset: r.u16("TPMS_NV_CERTIFY_INFO.offset")?,
                contents: r
                    .tpm2b("TPMS_NV_CERTIFY_INFO.nvContents", MAX_NV_BUFFER)?
                    .to_vec(),
            },
            other => {
                return Err(Error::invalid(
                    "TPMS_ATTEST.type",
                    format!("unsupported type 0x{other:04x}"),
                ))
            }
        };
        r.finish("TPMS_ATTEST")?;
        Ok(Attest {
            magic,
            attest_type,
            qualified_signer,
            extra_data,
            clock_info,
            firmware_version,
            attested,
        })
    }
}
