//! Measured boot: the firmware's TCG PC Client event log (`binary_bios_measurements`), parsed strictly and
//! replayed, so that a verifier judges *what booted* (Secure Boot state, the boot applications, the Secure Boot
//! databases) instead of pinning raw PCR values, which change with every firmware or bootloader update.
//!
//! The log is the crypto-agile format of the TCG PC Client Platform Firmware Profile (PFP) 1.05, §10: a
//! `TCG_PCClientPCREvent` carrying the Spec ID event (`"Spec ID Event03"`, which declares the digest banks), then
//! `TCG_PCR_EVENT2` records, each with one digest per declared bank. Linux exposes it at
//! `/sys/kernel/security/tpm0/binary_bios_measurements`; shim and GRUB append their own events to it.
//!
//! What the log can and cannot prove:
//! * **Replay** ([`BootLog::replay`]) recomputes every PCR the log extends. Where the TPM quoted that PCR and the
//!   values agree, the *digests* of the events in that PCR are exactly what the TPM measured.
//! * An event's *data* is only evidence when its digest is the hash of that data ([`BootEvent::data_is_bound`]):
//!   true by specification for separators, UEFI variables (`EV_EFI_VARIABLE_DRIVER_CONFIG`,
//!   `EV_EFI_VARIABLE_AUTHORITY`), `EV_EFI_ACTION` strings and GPT tables. For boot applications the digest is
//!   the PE image's Authenticode hash and the data (a device path) is a hint, not evidence; a policy judges the
//!   digest.
//! * Events with no-action type are never extended; a `StartupLocality` event sets PCR 0's initial value.
//!
//! The parser has bounds (≤ 16 MiB, ≤ 65,536 events, ≤ 1 MiB per event, ≤ 8 banks, digests ≤ 64 bytes) and
//! rejects trailing bytes, duplicate or undeclared banks, PCR indices past 23 and a second Spec ID event.

pub mod build;
pub mod uefi;

use sha2::Digest as _;
use std::collections::BTreeMap;

/// `EV_POST_CODE`.
pub const EV_POST_CODE: u32 = 0x0000_0001;
/// `EV_NO_ACTION`: not extended into any PCR.
pub const EV_NO_ACTION: u32 = 0x0000_0003;
/// `EV_SEPARATOR`: the end of the pre-OS phase of a PCR.
pub const EV_SEPARATOR: u32 = 0x0000_0004;
/// `EV_S_CRTM_VERSION`.
pub const EV_S_CRTM_VERSION: u32 = 0x0000_0008;
/// `EV_IPL` (boot loaders: GRUB's commands and kernel command line).
pub const EV_IPL: u32 = 0x0000_000D;
/// `EV_EFI_VARIABLE_DRIVER_CONFIG`: a Secure Boot variable (PCR 7) or other configuration variable.
pub const EV_EFI_VARIABLE_DRIVER_CONFIG: u32 = 0x8000_0001;
/// `EV_EFI_VARIABLE_BOOT`: a boot variable (PCR 1).
pub const EV_EFI_VARIABLE_BOOT: u32 = 0x8000_0002;
/// `EV_EFI_BOOT_SERVICES_APPLICATION`: a UEFI application (boot loader, kernel), PCR 4.
pub const EV_EFI_BOOT_SERVICES_APPLICATION: u32 = 0x8000_0003;
/// `EV_EFI_BOOT_SERVICES_DRIVER`.
pub const EV_EFI_BOOT_SERVICES_DRIVER: u32 = 0x8000_0004;
/// `EV_EFI_GPT_EVENT`: the GPT partition table (PCR 5).
pub const EV_EFI_GPT_EVENT: u32 = 0x8000_0006;
/// `EV_EFI_ACTION`: an ASCII action string.
pub const EV_EFI_ACTION: u32 = 0x8000_0007;
/// `EV_EFI_PLATFORM_FIRMWARE_BLOB`.
pub const EV_EFI_PLATFORM_FIRMWARE_BLOB: u32 = 0x8000_0008;
/// `EV_EFI_HANDOFF_TABLES`.
pub const EV_EFI_HANDOFF_TABLES: u32 = 0x8000_0009;
/// `EV_EFI_PLATFORM_FIRMWARE_BLOB2`.
pub const EV_EFI_PLATFORM_FIRMWARE_BLOB2: u32 = 0x8000_000A;
/// `EV_EFI_VARIABLE_BOOT2`.
pub const EV_EFI_VARIABLE_BOOT2: u32 = 0x8000_000C;
/// `EV_EFI_GPT_EVENT2`.
pub const EV_EFI_GPT_EVENT2: u32 = 0x8000_000D;
/// `EV_EFI_VARIABLE_AUTHORITY`: the Secure Boot database entry that authorised an image (PCR 7).
pub const EV_EFI_VARIABLE_AUTHORITY: u32 = 0x8000_00E0;

/// TPM_ALG_ID of SHA-1.
pub const ALG_SHA1: u16 = 0x0004;
/// TPM_ALG_ID of SHA-256.
pub const ALG_SHA256: u16 = 0x000B;
/// TPM_ALG_ID of SHA-384.
pub const ALG_SHA384: u16 = 0x000C;
/// TPM_ALG_ID of SHA-512.
pub const ALG_SHA512: u16 = 0x000D;

/// Largest log accepted.
pub const MAX_LOG_BYTES: usize = 16 << 20;
/// Most events accepted.
pub const MAX_EVENTS: usize = 65_536;
/// Largest event data accepted.
pub const MAX_EVENT_DATA: usize = 1 << 20;
/// Most digest banks a Spec ID event may declare.
pub const MAX_BANKS: usize = 8;

/// The Spec ID event's signature.
pub const SPEC_ID_SIGNATURE: &[u8; 16] = b"Spec ID Event03\0";
/// The `StartupLocality` no-action event's signature.
pub const STARTUP_LOCALITY_SIGNATURE: &[u8; 16] = b"StartupLocality\0";

/// Why a boot log was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootLogError {
    /// The log ended inside a structure.
    #[error("boot log truncated at byte {offset}: {what} needs {needed} more byte(s)")]
    Truncated {
        /// Offset where the read started.
        offset: usize,
        /// The field.
        what: &'static str,
        /// Bytes missing.
        needed: usize,
    },
    /// A field breaks the format or a bound.
    #[error("boot log event {event} (byte {offset}): {detail}")]
    Invalid {
        /// Event number (0 = the Spec ID event).
        event: usize,
        /// Offset of the event.
        offset: usize,
        /// What is wrong.
        detail: String,
    },
    /// The log is larger than [`MAX_LOG_BYTES`] or has more than [`MAX_EVENTS`] events.
    #[error("boot log too large: {0}")]
    TooLarge(String),
}

/// One declared digest bank of the Spec ID event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bank {
    /// TPM_ALG_ID.
    pub alg: u16,
    /// Digest size in bytes.
    pub size: u16,
}

/// The Spec ID event (`TCG_EfiSpecIDEventStruct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecId {
    /// 0 = client, 1 = server.
    pub platform_class: u32,
    /// Spec version minor.
    pub version_minor: u8,
    /// Spec version major (2).
    pub version_major: u8,
    /// Spec errata.
    pub errata: u8,
    /// 1 = UINT32, 2 = UINT64 as the firmware's UINTN.
    pub uintn_size: u8,
    /// The banks every event carries a digest for.
    pub banks: Vec<Bank>,
    /// Vendor information.
    pub vendor_info: Vec<u8>,
}

/// One `TCG_PCR_EVENT2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEvent {
    /// 1-based event number (the Spec ID event is 0).
    pub number: usize,
    /// Byte offset in the log.
    pub offset: usize,
    /// PCR index (≤ 23).
    pub pcr: u8,
    /// Event type (`EV_*`).
    pub event_type: u32,
    /// One digest per declared bank, in the log's order.
    pub digests: Vec<(u16, Vec<u8>)>,
    /// The event data.
    pub data: Vec<u8>,
}

/// A parsed firmware event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootLog {
    /// The Spec ID event.
    pub spec: SpecId,
    /// Every later event, in order (no-action events included).
    pub events: Vec<BootEvent>,
    /// Locality from a `StartupLocality` event (PCR 0's initial value), if present.
    pub startup_locality: Option<u8>,
}

impl From<crate::wire::Short> for BootLogError {
    fn from(s: crate::wire::Short) -> Self {
        BootLogError::Truncated {
            offset: s.offset,
            what: s.what,
            needed: s.needed,
        }
    }
}

fn invalid(event: usize, offset: usize, detail: impl Into<String>) -> BootLogError {
    BootLogError::Invalid {
        event,
        offset,
        detail: detail.into(),
    }
}

/// Hash `data` with the bank's algorithm; `None` for an algorithm this crate does not implement (SM3, …).
pub fn hash_with(alg: u16, data: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        ALG_SHA1 => sha1::Sha1::digest(data).to_vec(),
        ALG_SHA256 => sha2::Sha256::digest(data).to_vec(),
        ALG_SHA384 => sha2::Sha384::digest(data).to_vec(),
        ALG_SHA512 => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// Digest size of the algorithms whose size the TCG registry fixes.
fn known_size(alg: u16) -> Option<u16> {
    match alg {
        ALG_SHA1 => Some(20),
        ALG_SHA256 | 0x0012 /* SM3_256 */ => Some(32),
        ALG_SHA384 => Some(48),
        ALG_SHA512 => Some(64),
        _ => None,
    }
}

impl BootLog {
    /// Strictly parse a firmware event log.
    pub fn parse(bytes: &[u8]) -> Result<Self, BootLogError> {
        if bytes.len() > MAX_LOG_BYTES {
            return Err(BootLogError::TooLarge(format!(
                "{} bytes (max {MAX_LOG_BYTES})",
                bytes.len()
            )));
        }
        let mut r = crate::wire::LeReader::new(bytes);
        let spec = parse_spec_id(&mut r)?;
        let mut events = Vec::new();
        let mut startup_locality = None;
        let mut pcr0_extended = false;
        while !r.at_end() {
            if events.len() == MAX_EVENTS {
                return Err(BootLogError::TooLarge(format!(
                    "more than {MAX_EVENTS} events"
                )));
            }
            let number = events.len() + 1;
            let offset = r.position();
            let pcr = r.u32("pcrIndex")?;
            if pcr > 23 {
                return Err(invalid(number, offset, format!("PCR index {pcr} > 23")));
            }
            let event_type = r.u32("eventType")?;
            let count = r.u32("digest count")? as usize;
            if count != spec.banks.len() {
                return Err(invalid(
                    number,
                    offset,
                    format!(
                        "{count} digest(s), the Spec ID event declares {} bank(s)",
                        spec.banks.len()
                    ),
                ));
            }
            let mut digests: Vec<(u16, Vec<u8>)> = Vec::with_capacity(count);
            for _ in 0..count {
                let alg = r.u16("digest algorithm")?;
                let Some(bank) = spec.banks.iter().find(|b| b.alg == alg) else {
                    return Err(invalid(
                        number,
                        offset,
                        format!("digest of undeclared algorithm 0x{alg:04x}"),
                    ));
                };
                if digests.iter().any(|(a, _)| *a == alg) {
                    return Err(invalid(
                        number,
                        offset,
                        format!("two digests of algorithm 0x{alg:04x}"),
                    ));
                }
                let d = r.take(bank.size as usize, "digest")?;
                digests.push((alg, d.to_vec()));
            }
            let size = r.u32("eventSize")? as usize;
            if size > MAX_EVENT_DATA {
                return Err(invalid(
                    number,
                    offset,
                    format!("event data of {size} bytes (max {MAX_EVENT_DATA})"),
                ));
            }
            let data = r.take(size, "event data")?.to_vec();
            if event_type == EV_NO_ACTION {
                if digests.iter().any(|(_, d)| d.iter().any(|&b| b != 0)) {
                    return Err(invalid(
                        number,
                        offset,
                        "EV_NO_ACTION event with a non-zero digest",
                    ));
                }
                if data.starts_with(SPEC_ID_SIGNATURE) {
                    return Err(invalid(number, offset, "a second Spec ID event"));
                }
                if data.starts_with(STARTUP_LOCALITY_SIGNATURE) {
                    if pcr != 0 || data.len() != 17 {
                        return Err(invalid(
                            number,
                            offset,
                            "StartupLocality event is not 17 bytes in PCR 0",
                        ));
                    }
                    if startup_locality.is_some() || pcr0_extended {
                        return Err(invalid(
                            number,
                            offset,
                            "StartupLocality event after PCR 0 was set",
                        ));
                    }
                    let loc = data[16];
                    if loc != 0 && loc != 3 && loc != 4 {
                        return Err(invalid(
                            number,
                            offset,
                            format!("startup locality {loc} (0, 3 or 4)"),
                        ));
                    }
                    startup_locality = Some(loc);
                }
            } else if pcr == 0 {
                pcr0_extended = true;
            }
            events.push(BootEvent {
                number,
                offset,
                pcr: pcr as u8,
                event_type,
                digests,
                data,
            });
        }
        Ok(BootLog {
            spec,
            events,
            startup_locality,
        })
    }

    /// Initial value of `pcr` in a bank of `size` bytes: PCR 0 holds the startup locality in its last byte,
    /// PCRs 17–22 (DRTM) start as all ones, the others as zeros.
    pub fn initial_value(&self, pcr: u8, size: usize) -> Vec<u8> {
        if (17..=22).contains(&pcr) {
            return vec![0xff; size];
        }
        let mut v = vec![0u8; size];
        if pcr == 0 {
            if let (Some(loc), Some(last)) = (self.startup_locality, v.last_mut()) {
                *last = loc;
            }
        }
        v
    }

    /// Replay the bank `alg`: the value of every PCR the log extends (PCRs it never extends are absent).
    /// `None` when the log has no such bank or this crate does not implement its hash.
    pub fn replay(&self, alg: u16) -> Option<BTreeMap<u8, Vec<u8>>> {
        let bank = self.spec.banks.iter().find(|b| b.alg == alg)?;
        hash_with(alg, b"")?;
        let mut pcrs: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        for e in self.events.iter().filter(|e| e.event_type != EV_NO_ACTION) {
            let d = e.digest(alg)?;
            let cur = pcrs
                .entry(e.pcr)
                .or_insert_with(|| self.initial_value(e.pcr, bank.size as usize));
            let mut buf = Vec::with_capacity(cur.len() + d.len());
            buf.extend_from_slice(cur);
            buf.extend_from_slice(d);
            *cur = hash_with(alg, &buf)?;
        }
        Some(pcrs)
    }

    /// The value `pcr` would hold after this log in bank `alg` (the initial value if the log never extends it).
    pub fn replayed_value(&self, alg: u16, pcr: u8) -> Option<Vec<u8>> {
        let size = self.spec.banks.iter().find(|b| b.alg == alg)?.size as usize;
        let mut all = self.replay(alg)?;
        Some(
            all.remove(&pcr)
                .unwrap_or_else(|| self.initial_value(pcr, size)),
        )
    }

    /// Events that extend `pcr`, in order.
    pub fn events_in(&self, pcr: u8) -> impl Iterator<Item = &BootEvent> {
        self.events
            .iter()
            .filter(move |e| e.pcr == pcr && e.event_type != EV_NO_ACTION)
    }
}

impl BootEvent {
    /// This event's digest in bank `alg`.
    pub fn digest(&self, alg: u16) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| d.as_slice())
    }

    /// Its SHA-256 digest (every log this crate accepts has a SHA-256 bank).
    pub fn sha256(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Some(d) = self.digest(ALG_SHA256) {
            out.copy_from_slice(d);
        }
        out
    }

    /// True when every digest this crate can compute is the hash of the event data, i.e. the data is what was
    /// measured (the relation the PFP specification sets for separators, UEFI variables, action strings, GPT
    /// tables). Boot applications' digests are Authenticode hashes of the image: never bound to their data.
    pub fn data_is_bound(&self) -> bool {
        let mut checked = false;
        for (alg, d) in &self.digests {
            if let Some(h) = hash_with(*alg, &self.data) {
                if !bool::from(subtle::ConstantTimeEq::ct_eq(h.as_slice(), d.as_slice())) {
                    return false;
                }
                checked = true;
            }
        }
        checked
    }

    /// A separator's value: `Some(false)` for the normal 0x00000000, `Some(true)` for the error value
    /// 0xFFFFFFFF, `None` if this is not a separator or its data is neither.
    pub fn separator_error(&self) -> Option<bool> {
        if self.event_type != EV_SEPARATOR {
            return None;
        }
        match self.data.as_slice() {
            [0, 0, 0, 0] => Some(false),
            [0xff, 0xff, 0xff, 0xff] => Some(true),
            _ => None,
        }
    }

    /// A string GRUB measured (PCR 8): `(kind, text)` with kind `grub_cmd`, `kernel_cmdline` or
    /// `module_cmdline`, when the event data is `"<kind>: <text>\0"` and every digest is the hash of `<text>`
    /// (GRUB hashes the string without its description prefix and without the NUL). `None` otherwise: not a GRUB
    /// string, or one whose data is not what was measured. The event type is not consulted (it is outside the
    /// digests).
    pub fn grub_string(&self) -> Option<(&'static str, &str)> {
        let body = self.data.strip_suffix(&[0u8]).unwrap_or(&self.data);
        let (kind, text) = GRUB_STRING_KINDS.iter().find_map(|k| {
            body.strip_prefix(k.as_bytes())
                .and_then(|t| t.strip_prefix(b": "))
                .map(|t| (*k, t))
        })?;
        let mut checked = false;
        for (alg, d) in &self.digests {
            if let Some(h) = hash_with(*alg, text) {
                if !bool::from(subtle::ConstantTimeEq::ct_eq(h.as_slice(), d.as_slice())) {
                    return None;
                }
                checked = true;
            }
        }
        let text = std::str::from_utf8(text).ok()?;
        checked.then_some((kind, text))
    }

    /// Human name of the event type.
    pub fn type_name(&self) -> String {
        event_type_name(self.event_type)
    }
}

/// The description prefixes GRUB gives the strings it measures into PCR 8.
pub const GRUB_STRING_KINDS: [&str; 3] = ["grub_cmd", "kernel_cmdline", "module_cmdline"];

/// The PFP name of an event type, or its hex value.
pub fn event_type_name(t: u32) -> String {
    let s = match t {
        0x0 => "EV_PREBOOT_CERT",
        EV_POST_CODE => "EV_POST_CODE",
        EV_NO_ACTION => "EV_NO_ACTION",
        EV_SEPARATOR => "EV_SEPARATOR",
        0x5 => "EV_ACTION",
        0x6 => "EV_EVENT_TAG",
        0x7 => "EV_S_CRTM_CONTENTS",
        EV_S_CRTM_VERSION => "EV_S_CRTM_VERSION",
        0x9 => "EV_CPU_MICROCODE",
        0xA => "EV_PLATFORM_CONFIG_FLAGS",
        0xB => "EV_TABLE_OF_DEVICES",
        0xC => "EV_COMPACT_HASH",
        EV_IPL => "EV_IPL",
        0xE => "EV_IPL_PARTITION_DATA",
        0xF => "EV_NONHOST_CODE",
        0x10 => "EV_NONHOST_CONFIG",
        0x11 => "EV_NONHOST_INFO",
        0x12 => "EV_OMIT_BOOT_DEVICE_EVENTS",
        EV_EFI_VARIABLE_DRIVER_CONFIG => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        EV_EFI_VARIABLE_BOOT => "EV_EFI_VARIABLE_BOOT",
        EV_EFI_BOOT_SERVICES_APPLICATION => "EV_EFI_BOOT_SERVICES_APPLICATION",
        EV_EFI_BOOT_SERVICES_DRIVER => "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005 => "EV_EFI_RUNTIME_SERVICES_DRIVER",
        EV_EFI_GPT_EVENT => "EV_EFI_GPT_EVENT",
        EV_EFI_ACTION => "EV_EFI_ACTION",
        EV_EFI_PLATFORM_FIRMWARE_BLOB => "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        EV_EFI_HANDOFF_TABLES => "EV_EFI_HANDOFF_TABLES",
        EV_EFI_PLATFORM_FIRMWARE_BLOB2 => "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        0x8000_000B => "EV_EFI_HANDOFF_TABLES2",
        EV_EFI_VARIABLE_BOOT2 => "EV_EFI_VARIABLE_BOOT2",
        EV_EFI_GPT_EVENT2 => "EV_EFI_GPT_EVENT2",
        0x8000_0010 => "EV_EFI_HCRTM_EVENT",
        EV_EFI_VARIABLE_AUTHORITY => "EV_EFI_VARIABLE_AUTHORITY",
        0x8000_00E1 => "EV_EFI_SPDM_FIRMWARE_BLOB",
        0x8000_00E2 => "EV_EFI_SPDM_FIRMWARE_CONFIG",
        _ => return format!("0x{t:08x}"),
    };
    s.to_string()
}

fn parse_spec_id(r: &mut crate::wire::LeReader<'_>) -> Result<SpecId, BootLogError> {
    let bad = |d: &str| invalid(0, 0, format!("Spec ID event: {d}"));
    let pcr = r.u32("Spec ID pcrIndex")?;
    let ty = r.u32("Spec ID eventType")?;
    let digest = r.take(20, "Spec ID digest")?;
    if pcr != 0 || ty != EV_NO_ACTION || digest.iter().any(|&b| b != 0) {
        return Err(bad(
            "the first event must be EV_NO_ACTION in PCR 0 with a zero SHA-1 digest (not a crypto-agile log?)",
        ));
    }
    let size = r.u32("Spec ID eventSize")? as usize;
    let body = r.take(size, "Spec ID event data")?;
    let mut b = crate::wire::LeReader::new(body);
    if b.take(16, "Spec ID signature")? != SPEC_ID_SIGNATURE {
        return Err(bad("signature is not \"Spec ID Event03\""));
    }
    let platform_class = b.u32("platformClass")?;
    let version_minor = b.u8("specVersionMinor")?;
    let version_major = b.u8("specVersionMajor")?;
    let errata = b.u8("specErrata")?;
    let uintn_size = b.u8("uintnSize")?;
    if version_major != 2 {
        return Err(bad(&format!("spec version {version_major} (2 expected)")));
    }
    if uintn_size != 1 && uintn_size != 2 {
        return Err(bad(&format!("uintnSize {uintn_size} (1 or 2)")));
    }
    let n = b.u32("numberOfAlgorithms")? as usize;
    if n == 0 || n > MAX_BANKS {
        return Err(bad(&format!("{n} algorithms (1..={MAX_BANKS})")));
    }
    let mut banks: Vec<Bank> = Vec::with_capacity(n);
    for _ in 0..n {
        let alg = b.u16("algorithmId")?;
        let size = b.u16("digestSize")?;
        if size == 0 || size > 64 {
            return Err(bad(&format!("digest size {size} for 0x{alg:04x}")));
        }
        if let Some(k) = known_size(alg) {
            if k != size {
                return Err(bad(&format!(
                    "algorithm 0x{alg:04x} declared with {size} bytes ({k} expected)"
                )));
            }
        }
        if banks.iter().any(|x| x.alg == alg) {
            return Err(bad(&format!("algorithm 0x{alg:04x} declared twice")));
        }
        banks.push(Bank { alg, size });
    }
    if !banks.iter().any(|x| x.alg == ALG_SHA256) {
        return Err(bad("no SHA-256 bank"));
    }
    let vlen = b.u8("vendorInfoSize")? as usize;
    let vendor_info = b.take(vlen, "vendorInfo")?.to_vec();
    if !b.at_end() {
        return Err(bad(&format!(
            "{} byte(s) after vendorInfo",
            body.len() - b.position()
        )));
    }
    Ok(SpecId {
        platform_class,
        version_minor,
        version_major,
        errata,
        uintn_size,
        banks,
        vendor_info,
    })
}

#[cfg(test)]
mod tests {
    use super::build::{simulated_firmware, BootLogBuilder};
    use super::*;

    #[test]
    fn simulated_firmware_round_trips_and_replays() {
        let sim = simulated_firmware();
        let log = BootLog::parse(&sim.bytes).unwrap();
        assert_eq!(log.events.len(), sim.events);
        let replay = log.replay(ALG_SHA256).unwrap();
        for pcr in 0..8u8 {
            assert!(replay.contains_key(&pcr), "PCR {pcr} extended");
            assert_eq!(replay[&pcr], log.replayed_value(ALG_SHA256, pcr).unwrap());
        }
        // the SHA-1 bank replays too, and differs
        let r1 = log.replay(ALG_SHA1).unwrap();
        assert_eq!(r1[&0].len(), 20);
        // separators and variables are bound, boot applications are not
        for e in &log.events {
            match e.event_type {
                EV_SEPARATOR | EV_EFI_VARIABLE_DRIVER_CONFIG | EV_EFI_ACTION => {
                    assert!(e.data_is_bound(), "event {}", e.number)
                }
                EV_EFI_BOOT_SERVICES_APPLICATION => assert!(!e.data_is_bound()),
                _ => {}
            }
        }
    }

    #[test]
    fn startup_locality_sets_pcr0() {
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.startup_locality(3);
        b.measure_data(0, EV_S_CRTM_VERSION, b"v1");
        let log = BootLog::parse(&b.finish()).unwrap();
        let mut init = vec![0u8; 32];
        init[31] = 3;
        let mut buf = init.clone();
        buf.extend_from_slice(&sha2::Sha256::digest(b"v1"));
        assert_eq!(
            log.replay(ALG_SHA256).unwrap()[&0],
            sha2::Sha256::digest(&buf).to_vec()
        );

        // after a PCR 0 extend, a StartupLocality event is refused
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.measure_data(0, EV_S_CRTM_VERSION, b"v1");
        b.startup_locality(3);
        assert!(BootLog::parse(&b.finish()).is_err());
    }

    #[test]
    fn every_truncation_and_many_flips_are_handled() {
        let sim = simulated_firmware();
        for cut in 0..sim.bytes.len() {
            // a prefix may happen to end on an event boundary and parse: then it is a shorter log
            if let Ok(l) = BootLog::parse(&sim.bytes[..cut]) {
                assert!(l.events.len() < sim.events);
            }
        }
        let mut extra = sim.bytes.clone();
        extra.push(0);
        assert!(BootLog::parse(&extra).is_err(), "trailing byte");
        // Any single flip either breaks the parse or the replay, or leaves the data of every bound event as it
        // was: what is not caught (event types, unbound data such as device paths) is what a policy must not
        // trust, and the verifier's rules (docs/bootlog.md) never do.
        let good = BootLog::parse(&sim.bytes).unwrap();
        let r = good.replay(ALG_SHA256).unwrap();
        let mut undetected = 0;
        for i in 0..sim.bytes.len() {
            let mut m = sim.bytes.clone();
            m[i] ^= 0x10;
            let Ok(l) = BootLog::parse(&m) else { continue };
            if l.replay(ALG_SHA256).as_ref() != Some(&r) {
                continue;
            }
            undetected += 1;
            assert_eq!(l.events.len(), good.events.len(), "flip at {i}");
            for (a, b) in l.events.iter().zip(&good.events) {
                if a.data_is_bound() {
                    assert_eq!(a.data, b.data, "flip at {i}: bound data changed");
                    assert_eq!(a.pcr, b.pcr);
                }
            }
        }
        assert!(undetected > 0, "event types are outside the digests");
    }

    #[test]
    fn grub_strings_are_bound_without_their_prefix() {
        let sim = simulated_firmware();
        let log = BootLog::parse(&sim.bytes).unwrap();
        let strings: Vec<_> = log.events_in(8).filter_map(|e| e.grub_string()).collect();
        assert_eq!(strings.len(), 3);
        assert_eq!(strings[1].0, "kernel_cmdline");
        assert!(strings[1].1.contains("ima_policy=tcb"));
        // the data alone is not what was hashed: the prefix and the NUL are not measured
        assert!(log.events_in(8).all(|e| !e.data_is_bound()));
        // an edited command line no longer matches its digest
        let e = log.events_in(8).nth(1).unwrap();
        let mut edited = e.clone();
        let n = edited.data.len();
        edited.data[n - 2] ^= 1;
        assert_eq!(edited.grub_string(), None);
        // PCR 9 holds file reads, not strings
        assert_eq!(log.events_in(9).count(), 2);
        assert!(log.events_in(9).all(|e| e.grub_string().is_none()));
    }

    #[test]
    fn structural_errors() {
        // no SHA-256 bank
        let b = BootLogBuilder::new(&[ALG_SHA1]);
        assert!(BootLog::parse(&b.finish()).is_err());
        // not crypto-agile: first event is not the Spec ID event
        assert!(BootLog::parse(&[0u8; 40]).is_err());
        // PCR index out of range
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.measure_data(24, EV_POST_CODE, b"x");
        assert!(matches!(
            BootLog::parse(&b.finish()),
            Err(BootLogError::Invalid { event: 1, .. })
        ));
        // EV_NO_ACTION with a digest
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.measure_data(0, EV_NO_ACTION, b"x");
        assert!(BootLog::parse(&b.finish()).is_err());
        // empty input
        assert!(matches!(
            BootLog::parse(&[]),
            Err(BootLogError::Truncated { .. })
        ));
    }
}
