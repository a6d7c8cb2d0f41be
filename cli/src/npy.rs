//! Strict NumPy `.npy` reading and writing for the tensors a job takes and produces (int8 inputs, int32 outputs).
//! Format versions 1.0, 2.0 and 3.0; little-endian or byte-sized dtypes; C order only.

use std::fmt;

/// A tensor read from or written to a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyArray {
    /// NumPy dtype descriptor, normalised: "|i1", "<i4".
    pub descr: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Raw little-endian element bytes, C order.
    pub data: Vec<u8>,
}

/// Why a `.npy` file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

fn err<T>(msg: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(msg.into()))
}

fn elem_size(descr: &str) -> Option<usize> {
    match descr {
        "|i1" | "<i1" | "i1" | "|u1" | "<u1" | "u1" => Some(1),
        "<i4" | "<u4" | "<f4" => Some(4),
        _ => None,
    }
}

/// Parse a `.npy` file.
pub fn parse(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return err("not a .npy file (bad magic)");
    }
    let (hlen, hstart): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return err("truncated .npy header");
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return err(format!("unsupported .npy version {v}")),
    };
    let hend = hstart
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| NpyError("truncated .npy header".into()))?;
    let header = std::str::from_utf8(&bytes[hstart..hend])
        .map_err(|_| NpyError("non-UTF-8 .npy header".into()))?;
    let descr = dict_value(header, "descr")?
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let fortran = dict_value(header, "fortran_order")?;
    if fortran != "False" {
        return err("Fortran-order arrays are not supported (save with np.ascontiguousarray)");
    }
    let shape_s = dict_value(header, "shape")?;
    let inner = shape_s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| NpyError(format!("bad shape {shape_s}")))?;
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        shape.push(
            part.parse::<usize>()
                .map_err(|_| NpyError(format!("bad shape {shape_s}")))?,
        );
    }
    let es = elem_size(&descr).ok_or_else(|| {
        NpyError(format!(
            "unsupported dtype {descr} (expected int8 '|i1' or int32 '<i4')"
        ))
    })?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|n| n.checked_mul(es))
        .ok_or_else(|| NpyError("shape overflows".into()))?;
    let data = &bytes[hend..];
    if data.len() != count {
        return err(format!(
            "data has {} bytes, shape {:?} of {descr} needs {count}",
            data.len(),
            shape
        ));
    }
    let descr = match descr.as_str() {
        "i1" | "<i1" => "|i1".to_string(),
        "u1" | "<u1" => "|u1".to_string(),
        d => d.to_string(),
    };
    Ok(NpyArray {
        descr,
        shape,
        data: data.to_vec(),
    })
}

fn dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str, NpyError> {
    let pats = [format!("'{key}':"), format!("\"{key}\":")];
    let pos = pats
        .iter()
        .find_map(|p| header.find(p.as_str()).map(|i| i + p.len()))
        .ok_or_else(|| NpyError(format!(".npy header lacks '{key}'")))?;
    let rest = header[pos..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| NpyError(format!("bad .npy header near '{key}'")))?;
    Ok(rest[..end].trim())
}

/// Encode a `.npy` file (version 1.0).
pub fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_s = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_strictness() {
        let f = encode("|i1", &[2, 3], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(f.len() % 64, 6);
        let a = parse(&f).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.descr, "|i1");
        let mut t = f.clone();
        t.push(0);
        assert!(parse(&t).is_err());
        assert!(parse(&f[..f.len() - 1]).is_err());
        let g = encode("<f8", &[1], &[0; 8]);
        assert!(parse(&g).unwrap_err().0.contains("unsupported dtype"));
        assert!(parse(b"garbage").is_err());
        let v = encode("<i4", &[3], &[0; 12]);
        assert_eq!(parse(&v).unwrap().shape, vec![3]);
    }
}
