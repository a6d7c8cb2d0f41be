//! The UEFI structures inside firmware log events: `UEFI_VARIABLE_DATA` (Secure Boot variables, boot
//! variables) and `UEFI_IMAGE_LOAD_EVENT` (boot applications, with their device path), little-endian as in the
//! UEFI specification.

use super::BootLogError;

/// A UEFI GUID in its in-memory (mixed-endian) byte order.
pub type Guid = [u8; 16];

/// `EFI_GLOBAL_VARIABLE` 8be4df61-93ca-11d2-aa0d-00e098032b8c (SecureBoot, PK, KEK, BootOrder, Boot####).
pub const EFI_GLOBAL_VARIABLE: Guid = guid(
    0x8be4_df61,
    0x93ca,
    0x11d2,
    [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
);
/// `EFI_IMAGE_SECURITY_DATABASE_GUID` d719b2cb-3d3a-4596-a3bc-dad00e67656f (db, dbx).
pub const EFI_IMAGE_SECURITY_DATABASE: Guid = guid(
    0xd719_b2cb,
    0x3d3a,
    0x4596,
    [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);

/// Build a GUID from its textual fields.
pub const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> Guid {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

/// Text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn guid_text(g: &Guid) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{}-{}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        hex::encode(&g[8..10]),
        hex::encode(&g[10..16])
    )
}

/// Largest variable name accepted, in UTF-16 code units.
pub const MAX_NAME_UNITS: usize = 512;

/// `UEFI_VARIABLE_DATA`: which variable and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UefiVariable {
    /// Vendor GUID.
    pub guid: Guid,
    /// Name (decoded from UTF-16LE).
    pub name: String,
    /// The variable's value.
    pub data: Vec<u8>,
}

fn err(detail: impl Into<String>) -> BootLogError {
    BootLogError::Invalid {
        event: 0,
        offset: 0,
        detail: detail.into(),
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl UefiVariable {
    /// Parse event data as `UEFI_VARIABLE_DATA` (strict: lengths exact, the name valid UTF-16 without NULs).
    pub fn parse(b: &[u8]) -> Result<Self, BootLogError> {
        if b.len() < 32 {
            return Err(err("UEFI_VARIABLE_DATA shorter than its 32-byte header"));
        }
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&b[..16]);
        let name_units = u64_at(b, 16);
        let data_len = u64_at(b, 24);
        if name_units == 0 || name_units > MAX_NAME_UNITS as u64 {
            return Err(err(format!("variable name of {name_units} UTF-16 units")));
        }
        let name_bytes = name_units as usize * 2;
        let rest = b.len() - 32;
        if data_len > rest as u64 || name_bytes as u64 + data_len != rest as u64 {
            return Err(err(format!(
                "UEFI_VARIABLE_DATA lengths ({name_units} name units, {data_len} data bytes) do not fill its {rest} bytes"
            )));
        }
        let units: Vec<u16> = b[32..32 + name_bytes]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let name = String::from_utf16(&units).map_err(|_| err("variable name is not UTF-16"))?;
        if name.contains('\0') {
            return Err(err("variable name contains NUL"));
        }
        Ok(UefiVariable {
            guid,
            name,
            data: b[32 + name_bytes..].to_vec(),
        })
    }

    /// Encode as `UEFI_VARIABLE_DATA` (the name without a terminating NUL, as firmware measures it).
    pub fn encode(&self) -> Vec<u8> {
        let units: Vec<u16> = self.name.encode_utf16().collect();
        let mut v = Vec::with_capacity(32 + units.len() * 2 + self.data.len());
        v.extend_from_slice(&self.guid);
        v.extend_from_slice(&(units.len() as u64).to_le_bytes());
        v.extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        for u in units {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v.extend_from_slice(&self.data);
        v
    }

    /// `guid:name`, e.g. `8be4df61-…:SecureBoot`.
    pub fn qualified_name(&self) -> String {
        format!("{}:{}", guid_text(&self.guid), self.name)
    }

    /// Whether this is one of the Secure Boot policy variables, named as a policy names them: `SecureBoot`,
    /// `PK`, `KEK` (global GUID), `db`, `dbx` (image security database GUID).
    pub fn secure_boot_name(&self) -> Option<&'static str> {
        let global = self.guid == EFI_GLOBAL_VARIABLE;
        let db = self.guid == EFI_IMAGE_SECURITY_DATABASE;
        Some(match self.name.as_str() {
            "SecureBoot" if global => "SecureBoot",
            "PK" if global => "PK",
            "KEK" if global => "KEK",
            "db" if db => "db",
            "dbx" if db => "dbx",
            _ => return None,
        })
    }
}

/// `UEFI_IMAGE_LOAD_EVENT`: where an image was loaded and its device path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLoad {
    /// ImageLocationInMemory.
    pub location: u64,
    /// ImageLengthInMemory.
    pub length: u64,
    /// ImageLinkTimeAddress.
    pub link_time_address: u64,
    /// The device path (`EFI_DEVICE_PATH_PROTOCOL` nodes).
    pub device_path: Vec<u8>,
}

impl ImageLoad {
    /// Parse event data (strict: the device path length fills the rest).
    pub fn parse(b: &[u8]) -> Result<Self, BootLogError> {
        if b.len() < 32 {
            return Err(err("UEFI_IMAGE_LOAD_EVENT shorter than its 32-byte header"));
        }
        let dp_len = u64_at(b, 24);
        if dp_len != (b.len() - 32) as u64 {
            return Err(err(format!(
                "device path length {dp_len}, {} bytes follow",
                b.len() - 32
            )));
        }
        Ok(ImageLoad {
            location: u64_at(b, 0),
            length: u64_at(b, 8),
            link_time_address: u64_at(b, 16),
            device_path: b[32..].to_vec(),
        })
    }

    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(32 + self.device_path.len());
        v.extend_from_slice(&self.location.to_le_bytes());
        v.extend_from_slice(&self.length.to_le_bytes());
        v.extend_from_slice(&self.link_time_address.to_le_bytes());
        v.extend_from_slice(&(self.device_path.len() as u64).to_le_bytes());
        v.extend_from_slice(&self.device_path);
        v
    }

    /// The file path of the device path's media file-path nodes (type 4, subtype 4), joined; `None` when there
    /// is none or the path is malformed. A hint for people: the digest, not this, identifies the image.
    pub fn file_path(&self) -> Option<String> {
        let mut out = String::new();
        let mut p = self.device_path.as_slice();
        while p.len() >= 4 {
            let (ty, sub) = (p[0], p[1]);
            let len = u16::from_le_bytes([p[2], p[3]]) as usize;
            if len < 4 || len > p.len() {
                return None;
            }
            if ty == 0x7f && sub == 0xff {
                break;
            }
            if ty == 4 && sub == 4 {
                let units: Vec<u16> = p[4..len]
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|&u| u != 0)
                    .collect();
                out.push_str(&String::from_utf16(&units).ok()?);
            }
            p = &p[len..];
        }
        (!out.is_empty()).then_some(out)
    }

    /// A device path of one media file-path node and the end node.
    pub fn file_path_device_path(path: &str) -> Vec<u8> {
        let mut units: Vec<u16> = path.encode_utf16().collect();
        units.push(0);
        let len = 4 + units.len() * 2;
        let mut v = vec![4u8, 4];
        v.extend_from_slice(&(len as u16).to_le_bytes());
        for u in units {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        v
    }
}

/// `EFI_CERT_SHA256_GUID` c1c41626-504c-4092-aca9-41f936934328: a signature that is the SHA-256 of an image.
pub const EFI_CERT_SHA256: Guid = guid(
    0xc1c4_1626,
    0x504c,
    0x4092,
    [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
);
/// `EFI_CERT_X509_GUID` a5c059a1-94e4-4aa7-87b5-ab155c2bf072: a signature that is a DER X.509 certificate.
pub const EFI_CERT_X509: Guid = guid(
    0xa5c0_59a1,
    0x94e4,
    0x4aa7,
    [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
);

/// One `EFI_SIGNATURE_DATA` of a signature database (`db`, `dbx`, `KEK`, `PK`) with the type of its list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureEntry {
    /// `SignatureType` of the enclosing `EFI_SIGNATURE_LIST`.
    pub signature_type: Guid,
    /// `SignatureOwner`.
    pub owner: Guid,
    /// `SignatureData`.
    pub data: Vec<u8>,
}

impl SignatureEntry {
    /// The entry's identity as policies name it: for an `EFI_CERT_SHA256` entry the image hash it holds, for
    /// any other type the SHA-256 of its data (for X.509, the certificate's SHA-256 fingerprint).
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest as _;
        match <[u8; 32]>::try_from(self.data.as_slice()) {
            Ok(h) if self.signature_type == EFI_CERT_SHA256 => h,
            _ => sha2::Sha256::digest(&self.data).into(),
        }
    }

    /// The subject of an X.509 entry, when its data parses as a DER certificate (a hint for messages).
    pub fn x509_subject(&self) -> Option<String> {
        use x509_cert::der::Decode as _;
        if self.signature_type != EFI_CERT_X509 {
            return None;
        }
        x509_cert::Certificate::from_der(&self.data)
            .ok()
            .map(|c| c.tbs_certificate.subject.to_string())
    }

    /// `sha256`, `x509` or the type GUID.
    pub fn type_name(&self) -> String {
        match self.signature_type {
            t if t == EFI_CERT_SHA256 => "sha256".into(),
            t if t == EFI_CERT_X509 => "x509".into(),
            t => guid_text(&t),
        }
    }
}

/// Parse the value of a signature database: a sequence of `EFI_SIGNATURE_LIST`s (type GUID, `ListSize`,
/// `SignatureHeaderSize`, `SignatureSize`, header, then `EFI_SIGNATURE_DATA` entries of `SignatureSize` bytes:
/// owner GUID and data). Strict: every size consistent, no partial entry, nothing after the last list; an
/// `EFI_CERT_SHA256` entry holds exactly 32 bytes and an X.509 list has no header. An empty value is an empty
/// database.
pub fn parse_signature_lists(mut b: &[u8]) -> Result<Vec<SignatureEntry>, BootLogError> {
    const LIST_HEADER: usize = 28;
    let mut out = Vec::new();
    let mut list = 0usize;
    while !b.is_empty() {
        if b.len() < LIST_HEADER {
            return Err(err(format!(
                "EFI_SIGNATURE_LIST {list}: {} bytes left, shorter than its 28-byte header",
                b.len()
            )));
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&b[..16]);
        let u32_at =
            |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        let (list_size, header_size, sig_size) = (u32_at(16), u32_at(20), u32_at(24));
        if list_size > b.len() {
            return Err(err(format!(
                "EFI_SIGNATURE_LIST {list}: ListSize {list_size} exceeds the {} bytes left",
                b.len()
            )));
        }
        if sig_size < 16 {
            return Err(err(format!(
                "EFI_SIGNATURE_LIST {list}: SignatureSize {sig_size} is shorter than the owner GUID"
            )));
        }
        let body = list_size
            .checked_sub(LIST_HEADER)
            .and_then(|r| r.checked_sub(header_size))
            .ok_or_else(|| {
                err(format!(
                    "EFI_SIGNATURE_LIST {list}: ListSize {list_size} cannot hold its header of {header_size}"
                ))
            })?;
        if body % sig_size != 0 {
            return Err(err(format!(
                "EFI_SIGNATURE_LIST {list}: {body} bytes of signatures are not a multiple of SignatureSize \
                 {sig_size}"
            )));
        }
        if t == EFI_CERT_SHA256 && sig_size != 16 + 32 {
            return Err(err(format!(
                "EFI_SIGNATURE_LIST {list}: an EFI_CERT_SHA256 entry is 48 bytes, not {sig_size}"
            )));
        }
        if (t == EFI_CERT_SHA256 || t == EFI_CERT_X509) && header_size != 0 {
            return Err(err(format!(
                "EFI_SIGNATURE_LIST {list}: SignatureHeaderSize {header_size} for a type without a header"
            )));
        }
        for e in b[LIST_HEADER + header_size..list_size].chunks_exact(sig_size) {
            let mut owner = [0u8; 16];
            owner.copy_from_slice(&e[..16]);
            out.push(SignatureEntry {
                signature_type: t,
                owner,
                data: e[16..].to_vec(),
            });
        }
        b = &b[list_size..];
        list += 1;
    }
    Ok(out)
}

/// Encode entries as signature lists (one list per run of equal type and data length): the inverse of
/// [`parse_signature_lists`] for the databases the simulated firmware and the tests build.
pub fn encode_signature_lists(entries: &[SignatureEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let (t, len) = (entries[i].signature_type, entries[i].data.len());
        let run = entries[i..]
            .iter()
            .take_while(|e| e.signature_type == t && e.data.len() == len)
            .count();
        let sig_size = 16 + len;
        out.extend_from_slice(&t);
        out.extend_from_slice(&((28 + run * sig_size) as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(sig_size as u32).to_le_bytes());
        for e in &entries[i..i + run] {
            out.extend_from_slice(&e.owner);
            out.extend_from_slice(&e.data);
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: Guid, data: &[u8]) -> SignatureEntry {
        SignatureEntry {
            signature_type: t,
            owner: guid(1, 2, 3, *b"owner\0\0\0"),
            data: data.to_vec(),
        }
    }

    #[test]
    fn signature_lists_round_trip_and_fingerprints() {
        let es = vec![
            entry(EFI_CERT_X509, b"not really DER, but any bytes"),
            entry(EFI_CERT_SHA256, &[7; 32]),
            entry(EFI_CERT_SHA256, &[8; 32]),
        ];
        let b = encode_signature_lists(&es);
        assert_eq!(b.len(), (28 + 16 + 29) + (28 + 2 * 48), "two lists");
        assert_eq!(parse_signature_lists(&b).unwrap(), es);
        assert_eq!(
            es[1].fingerprint(),
            [7; 32],
            "a SHA-256 entry is its own fingerprint"
        );
        use sha2::Digest as _;
        let fp: [u8; 32] = sha2::Sha256::digest(b"not really DER, but any bytes").into();
        assert_eq!(es[0].fingerprint(), fp);
        assert_eq!(
            (es[0].type_name().as_str(), es[1].type_name().as_str()),
            ("x509", "sha256")
        );
        assert_eq!(parse_signature_lists(&[]).unwrap(), vec![]);
        assert_eq!(
            guid_text(&EFI_CERT_SHA256),
            "c1c41626-504c-4092-aca9-41f936934328"
        );
        assert_eq!(
            guid_text(&EFI_CERT_X509),
            "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
        );
    }

    #[test]
    fn signature_lists_are_strict() {
        let good = encode_signature_lists(&[
            entry(EFI_CERT_SHA256, &[1; 32]),
            entry(EFI_CERT_SHA256, &[2; 32]),
        ]);
        let set = |at: usize, v: u32| {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            b
        };
        let bad = [
            (good[..27].to_vec(), "28-byte header"),
            ([good.as_slice(), &[0]].concat(), "28-byte header"),
            (good[..good.len() - 1].to_vec(), "exceeds"),
            (set(24, 8), "owner GUID"),
            (set(16, 20), "cannot hold"),
            (set(20, 4), "not a multiple"),
            (set(24, 32), "48 bytes"),
        ];
        for (b, want) in bad {
            let e = parse_signature_lists(&b).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
        // an X.509 list with a header is refused; an unknown type may carry one
        let mut x = encode_signature_lists(&[entry(EFI_CERT_X509, &[3; 40])]);
        x[20..24].copy_from_slice(&4u32.to_le_bytes());
        x[16..20].copy_from_slice(&((28 + 4 + 56) as u32).to_le_bytes());
        x.splice(28..28, [0u8; 4]);
        assert!(parse_signature_lists(&x)
            .unwrap_err()
            .to_string()
            .contains("without a header"));
        x[..16].copy_from_slice(&guid(9, 9, 9, [9; 8]));
        let other = parse_signature_lists(&x).unwrap();
        assert_eq!((other.len(), other[0].data.len()), (1, 40));
    }

    #[test]
    fn guid_text_matches_the_registry() {
        assert_eq!(
            guid_text(&EFI_GLOBAL_VARIABLE),
            "8be4df61-93ca-11d2-aa0d-00e098032b8c"
        );
        assert_eq!(
            guid_text(&EFI_IMAGE_SECURITY_DATABASE),
            "d719b2cb-3d3a-4596-a3bc-dad00e67656f"
        );
        assert_eq!(
            &EFI_GLOBAL_VARIABLE[..4],
            &[0x61, 0xdf, 0xe4, 0x8b],
            "little-endian first field"
        );
    }

    #[test]
    fn variable_round_trip_and_strictness() {
        let v = UefiVariable {
            guid: EFI_GLOBAL_VARIABLE,
            name: "SecureBoot".into(),
            data: vec![1],
        };
        let b = v.encode();
        assert_eq!(b.len(), 32 + 20 + 1);
        assert_eq!(UefiVariable::parse(&b).unwrap(), v);
        assert_eq!(v.secure_boot_name(), Some("SecureBoot"));
        for cut in 0..b.len() {
            assert!(UefiVariable::parse(&b[..cut]).is_err());
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(UefiVariable::parse(&longer).is_err());
        // a huge declared length never panics or allocates
        let mut huge = b.clone();
        huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(UefiVariable::parse(&huge).is_err());
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(UefiVariable::parse(&huge).is_err());
        // the same name under another GUID is not the Secure Boot variable
        let other = UefiVariable {
            guid: EFI_IMAGE_SECURITY_DATABASE,
            ..v
        };
        assert_eq!(other.secure_boot_name(), None);
    }

    #[test]
    fn image_load_round_trip_and_path() {
        let il = ImageLoad {
            location: 0x7e00_0000,
            length: 0x10_0000,
            link_time_address: 0,
            device_path: ImageLoad::file_path_device_path("\\EFI\\BOOT\\BOOTX64.EFI"),
        };
        let b = il.encode();
        let back = ImageLoad::parse(&b).unwrap();
        assert_eq!(back, il);
        assert_eq!(
            back.file_path().as_deref(),
            Some("\\EFI\\BOOT\\BOOTX64.EFI")
        );
        for cut in 0..b.len() {
            assert!(ImageLoad::parse(&b[..cut]).is_err());
        }
        // a malformed device path gives no path, never a panic
        let bad = ImageLoad {
            device_path: vec![4, 4, 0xff, 0xff],
            ..il
        };
        assert_eq!(bad.file_path(), None);
    }
}
