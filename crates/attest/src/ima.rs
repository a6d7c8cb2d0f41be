//! The kernel's IMA runtime measurement list (`/sys/kernel/security/ima/binary_runtime_measurements`): what the
//! running kernel measured after boot — kernel modules such as the NVIDIA driver, executables, libraries — each
//! entry extended into PCR 10. Parsed strictly and replayed, so that a verifier can judge the driver stack the
//! GPU work ran under against an allow-list (`docs/ima.md`).
//!
//! Binary entry (little-endian, as on x86-64/arm64 or with `ima_canonical_fmt`): `pcr: u32 ‖ template_digest[20]
//! (SHA-1 of the template data; all zeros for a violation) ‖ name_len: u32 ‖ template name ‖ data_len: u32 ‖
//! template data`, where the template data is the template's fields, each `len: u32 ‖ bytes`. For `ima-ng`,
//! `ima-sig`, `ima-buf` and `ima-modsig` the first field is the file digest (`d-ng`: `"<alg>:\0" ‖ digest`) and
//! the second the file name (`n-ng`, NUL-terminated). The legacy `ima` template (SHA-1 only, unprefixed fields)
//! is refused.
//!
//! **Replay.** Kernels since 5.11 extend each PCR bank with that bank's hash of the template data
//! ([`ReplayMode::PerBank`]); older ones extend every bank with the SHA-1 template digest zero-padded
//! ([`ReplayMode::PaddedSha1`]). A violation (a file measured while open for writing, or the reverse) extends
//! all-ones. [`ImaLog::replay_sha256`] computes PCR 10's SHA-256 value in either mode.

pub mod build;
pub mod sig;

use sha2::Digest as _;

/// The PCR IMA extends by default.
pub const IMA_PCR: u32 = 10;
/// Largest list accepted.
pub const MAX_LOG_BYTES: usize = 16 << 20;
/// Most entries accepted.
pub const MAX_ENTRIES: usize = 500_000;
/// Largest template data accepted (ima-buf entries carry certificates, kexec command lines).
pub const MAX_TEMPLATE_DATA: usize = 1 << 20;
/// Longest template name (`IMA_TEMPLATE_NAME_LEN_MAX`).
pub const MAX_TEMPLATE_NAME: usize = 255;
/// Most fields in a template.
pub const MAX_FIELDS: usize = 16;

/// Why an IMA list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImaError {
    /// The list ended inside an entry.
    #[error("IMA list truncated at byte {offset}: {what} needs {needed} more byte(s)")]
    Truncated {
        /// Offset where the read started.
        offset: usize,
        /// The field.
        what: &'static str,
        /// Bytes missing.
        needed: usize,
    },
    /// An entry breaks the format or a bound.
    #[error("IMA entry {entry} (byte {offset}): {detail}")]
    Invalid {
        /// Entry number, from 1.
        entry: usize,
        /// Offset of the entry.
        offset: usize,
        /// What is wrong.
        detail: String,
    },
    /// The list is larger than [`MAX_LOG_BYTES`] or has more than [`MAX_ENTRIES`] entries.
    #[error("IMA list too large: {0}")]
    TooLarge(String),
}

/// How the kernel extended PCR banks other than SHA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// Each bank gets its own hash of the template data (Linux ≥ 5.11).
    PerBank,
    /// Every bank gets the SHA-1 template digest, zero-padded (older kernels).
    PaddedSha1,
}

/// What a file-measuring template says: the file's digest and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeasurement {
    /// Digest algorithm name as the kernel writes it (`sha256`, `sha1`, …).
    pub alg: &'static str,
    /// The file's digest.
    pub digest: Vec<u8>,
    /// The file name as measured (`boot_aggregate` for the first entry), without its NUL; bytes that are not
    /// UTF-8 are replaced (such a name matches no policy path).
    pub path: String,
    /// Whether the name was valid UTF-8.
    pub path_is_utf8: bool,
}

impl FileMeasurement {
    /// `alg:hex`, as in `ascii_runtime_measurements`.
    pub fn digest_text(&self) -> String {
        format!("{}:{}", self.alg, hex::encode(&self.digest))
    }
}

/// One measurement list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImaEntry {
    /// Entry number, from 1.
    pub number: usize,
    /// Byte offset in the list.
    pub offset: usize,
    /// PCR index.
    pub pcr: u32,
    /// SHA-1 template digest as logged (all zeros for a violation).
    pub template_sha1: [u8; 20],
    /// Template name (`ima-ng`, `ima-sig`, …).
    pub template: String,
    /// The template data exactly as logged (the bytes every bank's template hash is computed over).
    pub template_data: Vec<u8>,
    /// The template data's fields, as byte ranges of `template_data` (see [`ImaEntry::field`]).
    field_ranges: Vec<std::ops::Range<usize>>,
    /// The file digest and name, for the templates that measure files.
    pub file: Option<FileMeasurement>,
}

impl ImaEntry {
    /// A violation: the kernel could not vouch for the file (logged digest all zeros, PCR extended with ones).
    pub fn is_violation(&self) -> bool {
        self.template_sha1 == [0u8; 20]
    }

    /// The file signature field of an `ima-sig` / `ima-modsig` entry (empty when the file is unsigned). The
    /// template name is not covered by any digest: renaming an entry can only hide a signature (the file then
    /// counts as unsigned) or present another field as one (then it does not verify).
    pub fn signature_field(&self) -> Option<&[u8]> {
        match self.template.as_str() {
            "ima-sig" | "ima-modsig" => self.field(2),
            _ => None,
        }
    }

    /// Field `i` of the template data.
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        self.field_ranges
            .get(i)
            .and_then(|r| self.template_data.get(r.clone()))
    }

    /// How many fields the template data has.
    pub fn field_count(&self) -> usize {
        self.field_ranges.len()
    }

    /// What this entry extended into the SHA-256 bank.
    pub fn sha256_extend(&self, mode: ReplayMode) -> [u8; 32] {
        match (mode, self.is_violation()) {
            (ReplayMode::PerBank, true) => [0xff; 32],
            (ReplayMode::PerBank, false) => sha2::Sha256::digest(&self.template_data).into(),
            (ReplayMode::PaddedSha1, violation) => {
                let mut d = [0u8; 32];
                d[..20].copy_from_slice(if violation {
                    &[0xff; 20]
                } else {
                    &self.template_sha1
                });
                d
            }
        }
    }
}

/// A parsed measurement list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImaLog {
    /// The entries, in order.
    pub entries: Vec<ImaEntry>,
}

impl From<crate::wire::Short> for ImaError {
    fn from(s: crate::wire::Short) -> Self {
        ImaError::Truncated {
            offset: s.offset,
            what: s.what,
            needed: s.needed,
        }
    }
}

/// Templates whose first two fields must be `d-ng` and `n-ng`.
const FILE_TEMPLATES: [&str; 4] = ["ima-ng", "ima-sig", "ima-buf", "ima-modsig"];

/// The kernel's digest algorithm names with their digest sizes.
const DIGEST_ALGS: [(&str, usize); 9] = [
    ("md5", 16),
    ("sha1", 20),
    ("sha224", 28),
    ("sha256", 32),
    ("sm3", 32),
    ("streebog256", 32),
    ("sha384", 48),
    ("sha512", 64),
    ("streebog512", 64),
];

fn parse_file(d: Option<&[u8]>, n: Option<&[u8]>) -> Result<FileMeasurement, String> {
    let (Some(d), Some(n)) = (d, n) else {
        return Err("fewer than two fields (d-ng, n-ng)".into());
    };
    let colon = d
        .iter()
        .position(|&b| b == b':')
        .ok_or("d-ng field without \"<alg>:\"")?;
    if d.get(colon + 1) != Some(&0) {
        return Err("d-ng field: \"<alg>:\" not followed by NUL".into());
    }
    let name = &d[..colon];
    let Some(&(alg, size)) = DIGEST_ALGS.iter().find(|(a, _)| a.as_bytes() == name) else {
        return Err(format!(
            "d-ng field: unknown algorithm {:?}",
            String::from_utf8_lossy(name)
        ));
    };
    let digest = d[colon + 2..].to_vec();
    if digest.len() != size {
        return Err(format!(
            "d-ng field: {alg} digest of {} bytes ({size} expected)",
            digest.len()
        ));
    }
    let name = match n.split_last() {
        Some((0, name)) if !name.contains(&0) => name,
        _ => return Err("n-ng field is not one NUL-terminated name".into()),
    };
    let path_is_utf8 = std::str::from_utf8(name).is_ok();
    Ok(FileMeasurement {
        alg,
        digest,
        path: String::from_utf8_lossy(name).into_owned(),
        path_is_utf8,
    })
}

impl ImaLog {
    /// Strictly parse a binary measurement list.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImaError> {
        if bytes.len() > MAX_LOG_BYTES {
            return Err(ImaError::TooLarge(format!(
                "{} bytes (max {MAX_LOG_BYTES})",
                bytes.len()
            )));
        }
        let mut r = crate::wire::LeReader::new(bytes);
        let mut entries = Vec::new();
        while !r.at_end() {
            if entries.len() == MAX_ENTRIES {
                return Err(ImaError::TooLarge(format!(
                    "more than {MAX_ENTRIES} entries"
                )));
            }
            let number = entries.len() + 1;
            let offset = r.position();
            let bad = |d: String| ImaError::Invalid {
                entry: number,
                offset,
                detail: d,
            };
            let pcr = r.u32("pcr")?;
            if pcr > 23 {
                return Err(bad(format!("PCR {pcr} > 23")));
            }
            let mut template_sha1 = [0u8; 20];
            template_sha1.copy_from_slice(r.take(20, "template digest")?);
            let name_len = r.u32("template name length")? as usize;
            if name_len == 0 || name_len > MAX_TEMPLATE_NAME {
                return Err(bad(format!("template name of {name_len} bytes")));
            }
            let name = r.take(name_len, "template name")?;
            let template = std::str::from_utf8(name)
                .ok()
                .filter(|s| s.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| bad("template name is not printable ASCII".into()))?
                .to_string();
            if template == "ima" {
                return Err(bad(
                    "legacy \"ima\" template (SHA-1 only): boot with ima_template=ima-ng".into(),
                ));
            }
            let data_len = r.u32("template data length")? as usize;
            if data_len > MAX_TEMPLATE_DATA {
                return Err(bad(format!(
                    "template data of {data_len} bytes (max {MAX_TEMPLATE_DATA})"
                )));
            }
            let data = r.take(data_len, "template data")?;
            let mut f = crate::wire::LeReader::new(data);
            let mut field_ranges = Vec::with_capacity(3);
            while !f.at_end() {
                if field_ranges.len() == MAX_FIELDS {
                    return Err(bad(format!("more than {MAX_FIELDS} template fields")));
                }
                let len = f
                    .u32("field length")
                    .map_err(|_| bad("template data ends inside a field length".into()))?
                    as usize;
                let v = f
                    .take(len, "field")
                    .map_err(|_| bad(format!("template field of {len} bytes overruns the data")))?;
                let end = f.position();
                field_ranges.push(end - v.len()..end);
            }
            let violation = template_sha1 == [0u8; 20];
            if !violation {
                let h: [u8; 20] = sha1::Sha1::digest(data).into();
                if h != template_sha1 {
                    return Err(bad(
                        "template digest is not SHA-1 of the template data".into()
                    ));
                }
            }
            // The template name is outside every digest: whatever the name, fields that read as d-ng/n-ng are
            // the file they say (so renaming a template cannot hide a file from a policy).
            let field = |i: usize| field_ranges.get(i).map(|r| &data[r.clone()]);
            let file = if FILE_TEMPLATES.contains(&template.as_str()) {
                Some(parse_file(field(0), field(1)).map_err(|d| bad(format!("{template}: {d}")))?)
            } else {
                parse_file(field(0), field(1)).ok()
            };
            entries.push(ImaEntry {
                number,
                offset,
                pcr,
                template_sha1,
                template,
                template_data: data.to_vec(),
                field_ranges,
                file,
            });
        }
        Ok(ImaLog { entries })
    }

    /// The SHA-256 value of `pcr` after the first `count` entries (from all zeros, as after a reset).
    pub fn replay_sha256(&self, pcr: u32, count: usize, mode: ReplayMode) -> [u8; 32] {
        let mut v = [0u8; 32];
        for e in self.entries.iter().take(count).filter(|e| e.pcr == pcr) {
            let mut h = sha2::Sha256::new();
            h.update(v);
            h.update(e.sha256_extend(mode));
            v = h.finalize().into();
        }
        v
    }

    /// The shortest prefix of the list (its entry count, and the replay mode) that gives `quoted` in `pcr`'s
    /// SHA-256 bank, if any. The list only grows while the machine runs: read after a quote, it holds the
    /// quote's entries and then whatever the kernel measured since; this prefix is what the quote covers.
    pub fn quoted_prefix(&self, pcr: u32, quoted: &[u8]) -> Option<(usize, ReplayMode)> {
        [ReplayMode::PerBank, ReplayMode::PaddedSha1]
            .into_iter()
            .find_map(|m| {
                let mut v = [0u8; 32];
                if bool::from(subtle::ConstantTimeEq::ct_eq(v.as_slice(), quoted)) {
                    return Some((0, m));
                }
                for (i, e) in self
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.pcr == pcr)
                {
                    let mut h = sha2::Sha256::new();
                    h.update(v);
                    h.update(e.sha256_extend(m));
                    v = h.finalize().into();
                    if bool::from(subtle::ConstantTimeEq::ct_eq(v.as_slice(), quoted)) {
                        return Some((i + 1, m));
                    }
                }
                None
            })
    }

    /// The replay mode under which the whole list gives `quoted` in `pcr`'s SHA-256 bank, if any.
    pub fn matches_quote(&self, pcr: u32, quoted: &[u8]) -> Option<ReplayMode> {
        [ReplayMode::PerBank, ReplayMode::PaddedSha1]
            .into_iter()
            .find(|&m| {
                let v = self.replay_sha256(pcr, self.entries.len(), m);
                bool::from(subtle::ConstantTimeEq::ct_eq(v.as_slice(), quoted))
            })
    }
}

/// The bytes of `list` (a binary measurement list read after a quote) that the quote's `pcr` value accounts
/// for: the shortest prefix that replays to `quoted` ([`ImaLog::quoted_prefix`]). `Ok(None)` when no prefix
/// does (the list is of another boot, or the kernel uses another PCR or bank).
pub fn quoted_prefix_bytes<'a>(
    list: &'a [u8],
    pcr: u32,
    quoted: &[u8],
) -> Result<Option<&'a [u8]>, ImaError> {
    let log = ImaLog::parse(list)?;
    Ok(log.quoted_prefix(pcr, quoted).map(|(count, _)| {
        let end = log.entries.get(count).map_or(list.len(), |e| e.offset);
        &list[..end]
    }))
}

#[cfg(test)]
mod tests {
    use super::build::ImaLogBuilder;
    use super::*;

    #[test]
    fn quoted_prefix_is_what_the_quote_covered() {
        let mut b = ImaLogBuilder::new();
        b.boot_aggregate(&[7u8; 32]);
        b.file("ima-ng", "/usr/bin/true", &[1u8; 32], None);
        let at_quote = b.sha256_extends().to_vec();
        b.file("ima-ng", "/usr/bin/later", &[2u8; 32], None);
        b.violation("/tmp/w");
        let bytes = b.finish();
        // PCR 10 as the TPM held it after the first two entries
        let mut quoted = [0u8; 32];
        for (_, d) in &at_quote {
            let mut h = sha2::Sha256::new();
            h.update(quoted);
            h.update(d);
            quoted = h.finalize().into();
        }
        let log = ImaLog::parse(&bytes).unwrap();
        assert_eq!(
            log.quoted_prefix(IMA_PCR, &quoted),
            Some((2, ReplayMode::PerBank))
        );
        let prefix = quoted_prefix_bytes(&bytes, IMA_PCR, &quoted)
            .unwrap()
            .unwrap();
        let short = ImaLog::parse(prefix).unwrap();
        assert_eq!(short.entries.len(), 2);
        assert_eq!(
            short.matches_quote(IMA_PCR, &quoted),
            Some(ReplayMode::PerBank)
        );
        // the whole list, the empty prefix, and a value no prefix reaches
        let whole = log.replay_sha256(IMA_PCR, log.entries.len(), ReplayMode::PerBank);
        assert_eq!(
            quoted_prefix_bytes(&bytes, IMA_PCR, &whole).unwrap(),
            Some(&bytes[..])
        );
        assert_eq!(
            quoted_prefix_bytes(&bytes, IMA_PCR, &[0u8; 32]).unwrap(),
            Some(&bytes[..0])
        );
        assert_eq!(
            quoted_prefix_bytes(&bytes, IMA_PCR, &[9u8; 32]).unwrap(),
            None
        );
        assert!(quoted_prefix_bytes(&bytes[..bytes.len() - 1], IMA_PCR, &whole).is_err());
    }

    #[test]
    fn builder_round_trip_and_replay() {
        let mut b = ImaLogBuilder::new();
        b.boot_aggregate(&[7u8; 32]);
        b.file("ima-ng", "/usr/bin/true", &[1u8; 32], None);
        b.file(
            "ima-sig",
            "/lib/modules/x/nvidia.ko",
            &[2u8; 32],
            Some(&[3u8; 10]),
        );
        b.violation("/tmp/open-for-write");
        let bytes = b.finish();
        let log = ImaLog::parse(&bytes).unwrap();
        assert_eq!(log.entries.len(), 4);
        assert_eq!(log.entries[0].file.as_ref().unwrap().path, "boot_aggregate");
        assert_eq!(log.entries[2].field_count(), 3);
        assert!(log.entries[3].is_violation());
        // hand replay of the per-bank mode
        let mut v = [0u8; 32];
        for e in &log.entries {
            let x: [u8; 32] = if e.is_violation() {
                [0xff; 32]
            } else {
                sha2::Sha256::digest(&e.template_data).into()
            };
            let mut h = sha2::Sha256::new();
            h.update(v);
            h.update(x);
            v = h.finalize().into();
        }
        assert_eq!(log.replay_sha256(IMA_PCR, 4, ReplayMode::PerBank), v);
        assert_eq!(log.matches_quote(IMA_PCR, &v), Some(ReplayMode::PerBank));
        let padded = log.replay_sha256(IMA_PCR, 4, ReplayMode::PaddedSha1);
        assert_eq!(
            log.matches_quote(IMA_PCR, &padded),
            Some(ReplayMode::PaddedSha1)
        );
        assert_eq!(log.matches_quote(IMA_PCR, &[0u8; 32]), None);
        assert_eq!(
            log.replay_sha256(IMA_PCR, 0, ReplayMode::PerBank),
            [0u8; 32]
        );
    }

    #[test]
    fn strictness() {
        let mut b = ImaLogBuilder::new();
        b.file("ima-ng", "/usr/bin/true", &[1u8; 32], None);
        let good = b.finish();
        for cut in 1..good.len() {
            assert!(ImaLog::parse(&good[..cut]).is_err(), "cut {cut}");
        }
        assert_eq!(ImaLog::parse(&[]).unwrap().entries.len(), 0);
        // any byte of the template data changes its SHA-1
        for i in 0..good.len() {
            let mut m = good.clone();
            m[i] ^= 1;
            if let Ok(l) = ImaLog::parse(&m) {
                // only the PCR index and the template name are outside the template digest; the file read from
                // the data stays what was measured
                let g = ImaLog::parse(&good).unwrap();
                assert_eq!(l.entries[0].template_data, g.entries[0].template_data);
                assert_eq!(l.entries[0].file, g.entries[0].file);
                assert!(i < 4 || (28..34).contains(&i), "flip at {i} accepted");
            }
        }
        // legacy template refused, with the reason
        let mut b = ImaLogBuilder::new();
        b.raw(IMA_PCR, "ima", b"x", false);
        let e = ImaLog::parse(&b.finish()).unwrap_err();
        assert!(e.to_string().contains("ima-ng"), "{e}");
    }
}
