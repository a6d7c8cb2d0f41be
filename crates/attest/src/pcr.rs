//! TPML_PCR_SELECTION, PCR values and the quote's PCR digest.

use crate::alg::HashAlg;
use crate::error::{Error, Result};
use crate::wire::{put_u16, put_u32, Reader};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Largest number of banks in a selection list (HASH_COUNT bound).
pub const MAX_PCR_BANKS: usize = 8;
/// Largest sizeofSelect (4 bytes = 32 PCRs).
pub const MAX_SIZEOF_SELECT: usize = 4;
/// Number of PCRs a selection can name.
pub const MAX_PCRS: usize = MAX_SIZEOF_SELECT * 8;

/// One bank's selection (TPMS_PCR_SELECTION).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankSelection {
    /// The bank's hash algorithm (TPM_ALG_ID).
    pub hash_alg: u16,
    /// sizeofSelect.
    pub size_of_select: u8,
    /// Selected PCR indices, ascending.
    pub pcrs: Vec<u8>,
}

/// A parsed TPML_PCR_SELECTION.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PcrSelection {
    /// Banks in wire order.
    pub banks: Vec<BankSelection>,
}

impl PcrSelection {
    /// A selection of `pcrs` in one bank (sizeofSelect 3, the usual for 24 PCRs).
    pub fn single(bank: HashAlg, pcrs: &[u8]) -> Result<Self> {
        let mut set: Vec<u8> = pcrs.to_vec();
        set.sort_unstable();
        set.dedup();
        if let Some(&p) = set.last() {
            if p as usize >= MAX_PCRS {
                return Err(Error::invalid("PCR index", format!("{p}")));
            }
        }
        let size = if set.last().copied().unwrap_or(0) >= 24 {
            4
        } else {
            3
        };
        Ok(PcrSelection {
            banks: vec![BankSelection {
                hash_alg: bank.alg_id(),
                size_of_select: size,
                pcrs: set,
            }],
        })
    }

    /// Parse from a reader.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let count = r.u32("TPML_PCR_SELECTION.count")? as usize;
        if count > MAX_PCR_BANKS {
            return Err(Error::SizeOutOfRange {
                what: "TPML_PCR_SELECTION.count",
                size: count,
                max: MAX_PCR_BANKS,
            });
        }
        let mut banks = Vec::with_capacity(count);
        for _ in 0..count {
            let hash_alg = r.u16("TPMS_PCR_SELECTION.hash")?;
            let size_of_select = r.u8("TPMS_PCR_SELECTION.sizeofSelect")?;
            if size_of_select as usize > MAX_SIZEOF_SELECT {
                return Err(Error::SizeOutOfRange {
                    what: "TPMS_PCR_SELECTION.sizeofSelect",
                    size: size_of_select as usize,
                    max: MAX_SIZEOF_SELECT,
                });
            }
            let bits = r.take(size_of_select as usize, "TPMS_PCR_SELECTION.pcrSelect")?;
            let mut pcrs = Vec::new();
            for (i, byte) in bits.iter().enumerate() {
                for b in 0..8 {
                    if byte & (1 << b) != 0 {
                        pcrs.push((i * 8 + b) as u8);
                    }
                }
            }
            banks.push(BankSelection {
                hash_alg,
                size_of_select,
                pcrs,
            });
        }
        Ok(PcrSelection { banks })
    }

    /// Parse a standalone TPML_PCR_SELECTION; all bytes must be consumed.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let s = Self::read(&mut r)?;
        r.finish("TPML_PCR_SELECTION")?;
        Ok(s)
    }

    /// Marshal.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_u32(&mut out, self.banks.len() as u32);
        for b in &self.banks {
            put_u16(&mut out, b.hash_alg);
            out.push(b.size_of_select);
            let mut bits = vec![0u8; b.size_of_select as usize];
            for &p in &b.pcrs {
                if let Some(byte) = bits.get_mut(p as usize / 8) {
                    *byte |= 1 << (p % 8);
                }
            }
            out.extend_from_slice(&bits);
        }
        out
    }

    /// The selection as a set of (bank alg id, pcr index) pairs.
    pub fn as_set(&self) -> BTreeSet<(u16, u8)> {
        self.banks
            .iter()
            .flat_map(|b| b.pcrs.iter().map(move |&p| (b.hash_alg, p)))
            .collect()
    }

    /// The (bank, index) pairs in the order the TPM concatenates them for the PCR digest.
    pub fn ordered(&self) -> Vec<(u16, u8)> {
        self.banks
            .iter()
            .flat_map(|b| b.pcrs.iter().map(move |&p| (b.hash_alg, p)))
            .collect()
    }
}

/// One PCR's value as exchanged with the rest of the project: (bank alg id, index, value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrValue {
    /// TPM_ALG_ID of the bank.
    pub bank: u16,
    /// PCR index.
    pub index: u8,
    /// The PCR value (digest of the bank's size).
    #[serde(with = "crate::hexser")]
    pub value: Vec<u8>,
}

/// Replay one extend: PCR_new = H(PCR_old ‖ digest).
pub fn extend(bank: HashAlg, old: &[u8], digest: &[u8]) -> Vec<u8> {
    bank.digest_parts(&[old, digest])
}

/// Replay a sequence of extends from the reset value (all zeros).
pub fn replay(bank: HashAlg, digests: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![0u8; bank.size()];
    for d in digests {
        v = extend(bank, &v, d);
    }
    v
}

/// Compute the quote's pcrDigest: H_hash(concatenation of the selected PCR values in selection order).
/// Every selected PCR must be supplied exactly once with the right length; no extra values allowed.
pub fn pcr_digest(hash: HashAlg, selection: &PcrSelection, values: &[PcrValue]) -> Result<Vec<u8>> {
    let order = selection.ordered();
    if values.len() != order.len() {
        return Err(Error::PcrValuesMismatch(format!(
            "{} value(s) supplied for {} selected PCR(s)",
            values.len(),
            order.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for v in values {
        if !seen.insert((v.bank, v.index)) {
            return Err(Error::PcrValuesMismatch(format!(
                "PCR {} of bank 0x{:04x} supplied twice",
                v.index, v.bank
            )));
        }
    }
    let mut parts: Vec<&[u8]> = Vec::with_capacity(order.len());
    for (bank, index) in order {
        let v = values
            .iter()
            .find(|v| v.bank == bank && v.index == index)
            .ok_or_else(|| {
                Error::PcrValuesMismatch(format!("PCR {index} of bank 0x{bank:04x} missing"))
            })?;
        let alg = HashAlg::from_alg_id(bank)?;
        if v.value.len() != alg.size() {
            return Err(Error::PcrValuesMismatch(format!(
                "PCR {index} value has {} bytes, bank needs {}",
                v.value.len(),
                alg.size()
            )));
        }
        parts.push(&v.value);
    }
    Ok(hash.digest_parts(&parts))
}
