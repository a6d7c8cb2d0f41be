//! The file formats of tpm2-tools 5.x `tpm2_quote` / `tpm2_checkquote`.
//!
//! * message (`-m`): the TPMS_ATTEST bytes as the TPM returned them;
//! * signature (`-s`): the marshalled TPMT_SIGNATURE;
//! * PCR file (`-o`, "serialized" format): a host-endian (little-endian on x86-64 / aarch64) dump
//!   of the C structures: `TPML_PCR_SELECTION` (u32 count + 16 × {u16 hash, u8 sizeofSelect,
//!   u8 pcrSelect\[4\], 1 pad byte} = 132 bytes), a u32 count of `TPML_DIGEST`s, then that many
//!   `TPML_DIGEST` (u32 count + 8 × {u16 size, u8 buffer\[64\]} = 532 bytes), each holding up to 8
//!   PCR values in selection order.

use crate::error::{Error, Result};
use crate::pcr::{BankSelection, PcrSelection, PcrValue, MAX_SIZEOF_SELECT};
use crate::HashAlg;

const NUM_BANKS: usize = 16;
const SEL_ENTRY: usize = 8;
const SEL_SIZE: usize = 4 + NUM_BANKS * SEL_ENTRY;
const DIGESTS_PER_LIST: usize = 8;
const DIGEST_ENTRY: usize = 2 + 64;
const LIST_SIZE: usize = 4 + DIGESTS_PER_LIST * DIGEST_ENTRY;
/// Largest number of TPML_DIGEST blocks accepted (tpm2-tools' own bound).
const MAX_LISTS: usize = 16;

/// Serialize a selection and its values in tpm2_quote's `-o` format.
pub fn write_pcr_file(selection: &PcrSelection, values: &[PcrValue]) -> Result<Vec<u8>> {
    if selection.banks.len() > NUM_BANKS {
        return Err(Error::SizeOutOfRange {
            what: "PCR banks",
            size: selection.banks.len(),
            max: NUM_BANKS,
        });
    }
    let mut out = Vec::with_capacity(SEL_SIZE + 4 + LIST_SIZE * 4);
    out.extend_from_slice(&(selection.banks.len() as u32).to_le_bytes());
    for i in 0..NUM_BANKS {
        let mut entry = [0u8; SEL_ENTRY];
        if let Some(b) = selection.banks.get(i) {
            entry[0..2].copy_from_slice(&b.hash_alg.to_le_bytes());
            entry[2] = b.size_of_select;
            for &p in &b.pcrs {
                if let Some(byte) = entry.get_mut(3 + p as usize / 8) {
                    if (p as usize / 8) < MAX_SIZEOF_SELECT {
                        *byte |= 1 << (p % 8);
                    }
                }
            }
        }
        out.extend_from_slice(&entry);
    }
    let order = selection.ordered();
    let mut ordered_values = Vec::with_capacity(order.len());
    for (bank, index) in &order {
        let v = values
            .iter()
            .find(|v| v.bank == *bank && v.index == *index)
            .ok_or_else(|| Error::PcrValuesMismatch(format!("PCR {index} missing")))?;
        if v.value.len() > 64 {
            return Err(Error::PcrValuesMismatch("PCR value longer than 64".into()));
        }
        ordered_values.push(v);
    }
    let chunks: Vec<_> = ordered_values.chunks(DIGESTS_PER_LIST).collect();
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    for chunk in chunks {
        let mut list = vec![0u8; LIST_SIZE];
        list[0..4].copy_from_slice(&(chunk.len() as u32).to_le_bytes());
        for (k, v) in chunk.iter().enumerate() {
            let off = 4 + k * DIGEST_ENTRY;
            list[off..off + 2].copy_from_slice(&(v.value.len() as u16).to_le_bytes());
            list[off + 2..off + 2 + v.value.len()].copy_from_slice(&v.value);
        }
        out.extend_from_slice(&list);
    }
    Ok(out)
}

/// Parse a tpm2_quote `-o` PCR file strictly: sizes bounded, digest sizes equal to the bank's,
/// exactly one value per selected PCR, no trailing bytes.
pub fn parse_pcr_file(bytes: &[u8]) -> Result<(PcrSelection, Vec<PcrValue>)> {
    let take = |off: usize, n: usize| -> Result<&[u8]> {
        bytes.get(off..off + n).ok_or(Error::Truncated {
            what: "tpm2 PCR file",
            needed: (off + n).saturating_sub(bytes.len()),
        })
    };
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = le32(take(0, 4)?);
    if count > NUM_BANKS {
        return Err(Error::SizeOutOfRange {
            what: "tpm2 PCR file bank count",
            size: count,
            max: NUM_BANKS,
        });
    }
    let mut banks = Vec::with_capacity(count);
    for i in 0..count {
        let e = take(4 + i * SEL_ENTRY, SEL_ENTRY)?;
        let hash_alg = u16::from_le_bytes([e[0], e[1]]);
        let size_of_select = e[2];
        if size_of_select as usize > MAX_SIZEOF_SELECT {
            return Err(Error::SizeOutOfRange {
                what: "tpm2 PCR file sizeofSelect",
                size: size_of_select as usize,
                max: MAX_SIZEOF_SELECT,
            });
        }
        let mut pcrs = Vec::new();
        for (j, byte) in e[3..3 + size_of_select as usize].iter().enumerate() {
            for b in 0..8 {
                if byte & (1 << b) != 0 {
                    pcrs.push((j * 8 + b) as u8);
                }
            }
        }
        banks.push(BankSelection {
            hash_alg,
            size_of_select,
            pcrs,
        });
    }
    let selection = PcrSelection { banks };
    let lists = le32(take(SEL_SIZE, 4)?);
    if lists > MAX_LISTS {
        return Err(Error::SizeOutOfRange {
            what: "tpm2 PCR file digest lists",
            size: lists,
            max: MAX_LISTS,
        });
    }
    let expected_len = SEL_SIZE + 4 + lists * LIST_SIZE;
    if bytes.len() != expected_len {
        return Err(Error::invalid(
            "tpm2 PCR file",
            format!("{} bytes, expected {expected_len}", bytes.len()),
        ));
    }
    let mut digests = Vec::new();
    for l in 0..lists {
        let base = SEL_SIZE + 4 + l * LIST_SIZE;
        let n = le32(take(base, 4)?);
        if n > DIGESTS_PER_LIST {
            return Err(Error::SizeOutOfRange {
                what: "TPML_DIGEST.count",
                size: n,
                max: DIGESTS_PER_LIST,
            });
        }
        for k in 0..n {
            let off = base + 4 + k * DIGEST_ENTRY;
            let e = take(off, DIGEST_ENTRY)?;
            let size = u16::from_le_bytes([e[0], e[1]]) as usize;
            if size > 64 {
                return Err(Error::SizeOutOfRange {
                    what: "TPM2B_DIGEST.size",
                    size,
                    max: 64,
                });
            }
            digests.push(e[2..2 + size].to_vec());
        }
    }
    let order = selection.ordered();
    if order.len() != digests.len() {
        return Err(Error::PcrValuesMismatch(format!(
            "{} values for {} selected PCRs",
            digests.len(),
            order.len()
        )));
    }
    let mut values = Vec::with_capacity(order.len());
    for ((bank, index), value) in order.into_iter().zip(digests) {
        if value.len() != HashAlg::from_alg_id(bank)?.size() {
            return Err(Error::PcrValuesMismatch(format!(
                "PCR {index}: {} bytes",
                value.len()
            )));
        }
        values.push(PcrValue { bank, index, value });
    }
    Ok((selection, values))
}
