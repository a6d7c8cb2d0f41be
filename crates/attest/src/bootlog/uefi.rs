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

#[cfg(test)]
mod tests {
    use super::*;

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
