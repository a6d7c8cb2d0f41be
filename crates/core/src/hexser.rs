//! Serde helpers: byte fields render as lower-case hex in the JSON rendering.

use serde::Serializer;

/// Serialize any byte slice as hex.
pub fn bytes<S: Serializer, T: AsRef<[u8]>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v.as_ref()))
}

/// Serialize an optional 32-byte value as hex or null.
pub fn opt32<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&hex::encode(b)),
        None => s.serialize_none(),
    }
}
