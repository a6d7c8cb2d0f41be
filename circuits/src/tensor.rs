//! Poseidon commitments to int8 and int32 matrices, natively and in-circuit (see `docs/circuits.md`).
//!
//! * int8 values are stored as unsigned bytes `u = a + 128` and packed 31 per field element, little-endian
//!   base 256: `e = Σ_i u_i · 256^i`;
//! * int32 values are stored as `u = a + 2^31` and packed 7 per element, base `2^32`;
//! * the last element holds the remaining values (fewer than 31 or 7); the shape fixes how many;
//! * `h_0 = poseidon([TAG, kind, rows, cols])` with `TAG` the integer of the ASCII bytes `cuproof.tensor.v1`
//!   (big-endian) and `kind` 1 for int8, 2 for int32; then for each chunk of 15 elements
//!   `h_{j+1} = poseidon([h_j, e_{15j}, …, e_{15j+14}])` (width 17), the last chunk padded with zeros;
//!   the commitment is the last `h`.
//!
//! In-circuit every value is allocated as its bits (8 or 32 boolean constraints), and the packed elements are
//! linear combinations of those bits, so an element has exactly one unpacking (31·8 = 248 and 7·32 = 224 bits are
//! below the 254-bit modulus).

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    fields::fp::{AllocatedFp, FpVar},
};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

use crate::{poseidon, Error};

/// Domain tag of tensor commitments (ASCII, read as a big-endian integer).
pub const TENSOR_TAG: &[u8] = b"cuproof.tensor.v1";
/// int8 values per packed element.
pub const I8_PER_ELEMENT: usize = 31;
/// int32 values per packed element.
pub const I32_PER_ELEMENT: usize = 7;
/// Packed elements absorbed per Poseidon call (width 17: chaining value + 15 elements).
pub const ELEMENTS_PER_HASH: usize = 15;
/// Largest number of entries a committed tensor may have.
pub const MAX_ENTRIES: usize = 1 << 26;

/// Element type of a committed tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// Signed 8-bit integers.
    I8 = 1,
    /// Signed 32-bit integers.
    I32 = 2,
}

impl TensorKind {
    fn bits(self) -> usize {
        match self {
            TensorKind::I8 => 8,
            TensorKind::I32 => 32,
        }
    }
    fn per_element(self) -> usize {
        match self {
            TensorKind::I8 => I8_PER_ELEMENT,
            TensorKind::I32 => I32_PER_ELEMENT,
        }
    }
    fn offset(self) -> u64 {
        1u64 << (self.bits() - 1)
    }
}

/// A field element from ASCII bytes read as a big-endian integer (the domain tags; all < 2^248).
pub fn tag_element(tag: &[u8]) -> Fr {
    Fr::from_be_bytes_mod_order(tag)
}

fn check_shape(rows: usize, cols: usize, len: usize) -> Result<(), Error> {
    let entries = rows
        .checked_mul(cols)
        .ok_or(Error::Shape("rows*cols overflows"))?;
    if rows == 0
        || cols == 0
        || entries > MAX_ENTRIES
        || rows > u32::MAX as usize
        || cols > u32::MAX as usize
    {
        return Err(Error::Shape(
            "tensor dimensions must be ≥ 1 and rows·cols ≤ 2^26",
        ));
    }
    if entries != len {
        return Err(Error::Shape("tensor length does not match its shape"));
    }
    Ok(())
}

fn pack(kind: TensorKind, unsigned: impl Iterator<Item = u64>, len: usize) -> Vec<Fr> {
    let per = kind.per_element();
    let mut out = Vec::with_capacity(len.div_ceil(per));
    let mut bytes = [0u8; 32];
    let width = kind.bits() / 8;
    let mut slot = 0usize;
    for u in unsigned {
        bytes[slot * width..(slot + 1) * width].copy_from_slice(&u.to_le_bytes()[..width]);
        slot += 1;
        if slot == per {
            out.push(Fr::from_le_bytes_mod_order(&bytes));
            bytes = [0u8; 32];
            slot = 0;
        }
    }
    if slot != 0 {
        out.push(Fr::from_le_bytes_mod_order(&bytes));
    }
    out
}

/// Packs int8 values, 31 per element (`u = a + 128`, little-endian base 256).
pub fn pack_i8(values: &[i8]) -> Vec<Fr> {
    pack(
        TensorKind::I8,
        values.iter().map(|&a| (i16::from(a) + 128) as u64),
        values.len(),
    )
}

/// Packs int32 values, 7 per element (`u = a + 2^31`, little-endian base 2^32).
pub fn pack_i32(values: &[i32]) -> Vec<Fr> {
    pack(
        TensorKind::I32,
        values.iter().map(|&a| (i64::from(a) + (1i64 << 31)) as u64),
        values.len(),
    )
}

/// The chain's initial value `h_0 = poseidon([TAG, kind, rows, cols])`.
pub fn header_hash(kind: TensorKind, rows: usize, cols: usize) -> Result<Fr, Error> {
    poseidon::hash(&[
        tag_element(TENSOR_TAG),
        Fr::from(kind as u64),
        Fr::from(rows as u64),
        Fr::from(cols as u64),
    ])
}

fn absorb(mut h: Fr, elements: &[Fr]) -> Result<Fr, Error> {
    for chunk in elements.chunks(ELEMENTS_PER_HASH) {
        let mut inputs = Vec::with_capacity(ELEMENTS_PER_HASH + 1);
        inputs.push(h);
        inputs.extend_from_slice(chunk);
        inputs.resize(ELEMENTS_PER_HASH + 1, Fr::zero());
        h = poseidon::hash(&inputs)?;
    }
    Ok(h)
}

/// Commitment to a row-major `rows × cols` int8 matrix.
pub fn commit_i8(values: &[i8], rows: usize, cols: usize) -> Result<Fr, Error> {
    check_shape(rows, cols, values.len())?;
    absorb(header_hash(TensorKind::I8, rows, cols)?, &pack_i8(values))
}

/// Commitment to a row-major `rows × cols` int32 matrix.
pub fn commit_i32(values: &[i32], rows: usize, cols: usize) -> Result<Fr, Error> {
    check_shape(rows, cols, values.len())?;
    absorb(header_hash(TensorKind::I32, rows, cols)?, &pack_i32(values))
}

/// A commitment as 32 bytes, big-endian.
pub fn commitment_to_bytes(c: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&c.into_bigint().to_bytes_be());
    out
}

/// Parses a 32-byte big-endian commitment; rejects values ≥ the field modulus.
pub fn commitment_from_bytes(bytes: &[u8]) -> Result<Fr, Error> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::Encoding("commitment must be 32 bytes"))?;
    let f = Fr::from_be_bytes_mod_order(&arr);
    if commitment_to_bytes(&f) != arr {
        return Err(Error::Encoding("commitment is not below the field modulus"));
    }
    Ok(f)
}

/// An allocated tensor: each entry as a signed field variable and the packed elements.
pub struct TensorVar {
    /// Entries (signed values as field elements, `a = u - offset`), row-major.
    pub entries: Vec<FpVar<Fr>>,
    /// Packed elements (linear combinations of the entries' bits).
    pub packed: Vec<FpVar<Fr>>,
}

fn lc_var(
    cs: &ConstraintSystemRef<Fr>,
    lc: LinearCombination<Fr>,
    value: Option<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let var = cs.new_lc(|| lc)?;
    Ok(FpVar::Var(AllocatedFp::new(value, var, cs.clone())))
}

/// Allocates a `rows × cols` tensor of `kind` as witnesses with range checks (bit decomposition of every
/// entry). `unsigned` gives the offset values `u = a + offset` (absent in setup mode).
fn alloc_tensor(
    cs: &ConstraintSystemRef<Fr>,
    kind: TensorKind,
    len: usize,
    unsigned: Option<Vec<u64>>,
) -> Result<TensorVar, SynthesisError> {
    if let Some(u) = &unsigned {
        if u.len() != len {
            return Err(SynthesisError::AssignmentMissing);
        }
    }
    let bits_per = kind.bits();
    let per = kind.per_element();
    let offset = Fr::from(kind.offset());
    let mut entries = Vec::with_capacity(len);
    let mut packed = Vec::with_capacity(len.div_ceil(per));
    let pow2: Vec<Fr> = {
        let mut v = Vec::with_capacity(256);
        let mut p = Fr::from(1u64);
        for _ in 0..256 {
            v.push(p);
            p = p + p;
        }
        v
    };
    let mut elem_lc = LinearCombination::<Fr>::zero();
    let mut elem_val: Option<Fr> = unsigned.as_ref().map(|_| Fr::zero());
    for idx in 0..len {
        let u = unsigned.as_ref().map(|u| u[idx]);
        let slot = idx % per;
        let mut entry_lc = LinearCombination::<Fr>::zero();
        for bit in 0..bits_per {
            let b = Boolean::new_witness(cs.clone(), || {
                u.map(|u| (u >> bit) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let var: Variable = b.variable();
            entry_lc.0.push((pow2[bit], var));
            elem_lc.0.push((pow2[slot * bits_per + bit], var));
        }
        entry_lc.0.push((-offset, Variable::One));
        let entry_val = u.map(|u| Fr::from(u) - offset);
        if let (Some(ev), Some(u)) = (elem_val.as_mut(), u) {
            *ev += pow2[slot * bits_per] * Fr::from(u);
        }
        entries.push(lc_var(cs, entry_lc, entry_val)?);
        if slot == per - 1 || idx == len - 1 {
            let lc = std::mem::replace(&mut elem_lc, LinearCombination::zero());
            packed.push(lc_var(cs, lc, elem_val)?);
            elem_val = unsigned.as_ref().map(|_| Fr::zero());
        }
    }
    Ok(TensorVar { entries, packed })
}

/// Allocates an int8 tensor (witness) with range checks; `values` is absent in setup mode.
pub fn alloc_i8(
    cs: &ConstraintSystemRef<Fr>,
    len: usize,
    values: Option<&[i8]>,
) -> Result<TensorVar, SynthesisError> {
    let u = values.map(|v| v.iter().map(|&a| (i16::from(a) + 128) as u64).collect());
    alloc_tensor(cs, TensorKind::I8, len, u)
}

/// Allocates an int32 tensor (witness) with range checks; `values` is absent in setup mode.
pub fn alloc_i32(
    cs: &ConstraintSystemRef<Fr>,
    len: usize,
    values: Option<&[i32]>,
) -> Result<TensorVar, SynthesisError> {
    let u = values.map(|v| {
        v.iter()
            .map(|&a| (i64::from(a) + (1i64 << 31)) as u64)
            .collect()
    });
    alloc_tensor(cs, TensorKind::I32, len, u)
}

/// In-circuit commitment of packed elements (the header hash is a constant: the shape is fixed by the circuit).
pub fn commit_var(
    kind: TensorKind,
    rows: usize,
    cols: usize,
    packed: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let h0 = header_hash(kind, rows, cols).map_err(|_| SynthesisError::Unsatisfiable)?;
    let mut h = FpVar::Constant(h0);
    for chunk in packed.chunks(ELEMENTS_PER_HASH) {
        let mut inputs = Vec::with_capacity(ELEMENTS_PER_HASH + 1);
        inputs.push(h);
        inputs.extend(chunk.iter().cloned());
        inputs.resize(ELEMENTS_PER_HASH + 1, FpVar::Constant(Fr::zero()));
        h = poseidon::hash_var(&inputs)?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn packing_layout() {
        let v: Vec<i8> = (0..33).map(|i| (i as i8).wrapping_mul(37)).collect();
        let p = pack_i8(&v);
        assert_eq!(p.len(), 2);
        let b0 = p[0].into_bigint().to_bytes_le();
        for i in 0..31 {
            assert_eq!(b0[i] as i16 - 128, v[i] as i16);
        }
        assert_eq!(b0[31], 0);
        let b1 = p[1].into_bigint().to_bytes_le();
        assert_eq!(b1[0] as i16 - 128, v[31] as i16);
        assert_eq!(b1[1] as i16 - 128, v[32] as i16);
        assert!(b1[2..].iter().all(|&b| b == 0));
        let w = [i32::MIN, -1, 0, 1, i32::MAX, 5, 6, 7];
        let q = pack_i32(&w);
        assert_eq!(q.len(), 2);
        let b = q[0].into_bigint().to_bytes_le();
        assert_eq!(&b[0..4], &[0, 0, 0, 0]);
        assert_eq!(&b[4..8], &[0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(&b[16..20], &[0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn shape_and_kind_are_bound() {
        let v: Vec<i8> = (0..12).map(|i| i as i8).collect();
        let c34 = commit_i8(&v, 3, 4).unwrap();
        let c43 = commit_i8(&v, 4, 3).unwrap();
        assert_ne!(c34, c43);
        let w: Vec<i32> = v.iter().map(|&x| i32::from(x)).collect();
        assert_ne!(commit_i32(&w, 3, 4).unwrap(), c34);
        assert!(commit_i8(&v, 5, 4).is_err());
        assert!(commit_i8(&[], 0, 4).is_err());
    }

    #[test]
    fn commitment_bytes_strict() {
        let c = commit_i8(&[1, 2, 3], 1, 3).unwrap();
        let b = commitment_to_bytes(&c);
        assert_eq!(commitment_from_bytes(&b).unwrap(), c);
        assert!(commitment_from_bytes(&[0xff; 32]).is_err());
        assert!(commitment_from_bytes(&b[..31]).is_err());
    }

    #[test]
    fn fixed_vectors_from_an_independent_implementation() {
        // Computed by a separate Python implementation of docs/circuits.md §2 that uses circomlib's
        // poseidon_constants.json.
        let a: Vec<i8> = (0..40).map(|i| ((i * 37) % 256 - 128) as i8).collect();
        let c: Vec<i32> = (0..10i64)
            .map(|i| ((i * 977_777_777) % (1i64 << 32) - (1i64 << 31)) as i32)
            .collect();
        assert_eq!(
            hex::encode(commitment_to_bytes(&commit_i8(&a, 5, 8).unwrap())),
            "1f5412758b415d48b8062903820f3db9987f0948e73d192e5dcf4c69c2675f36"
        );
        assert_eq!(
            hex::encode(commitment_to_bytes(&commit_i32(&c, 2, 5).unwrap())),
            "04eb22cefe39fd801d2e7a70c1a90b6694f495ae139ce7bd2982786cfa7d700e"
        );
    }

    #[test]
    fn gadget_matches_native() {
        let a: Vec<i8> = (0..40).map(|i| (i * 13 - 128) as i8).collect();
        let c: Vec<i32> = (0..10)
            .map(|i: i32| (i32::MIN / 3).wrapping_add(i.wrapping_mul(977_777_777)))
            .collect();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let ta = alloc_i8(&cs, 40, Some(&a)).unwrap();
        let tc = alloc_i32(&cs, 10, Some(&c)).unwrap();
        for (e, &x) in ta.entries.iter().zip(&a) {
            assert_eq!(e.value().unwrap(), Fr::from(i64::from(x)));
        }
        for (e, &x) in tc.entries.iter().zip(&c) {
            assert_eq!(e.value().unwrap(), Fr::from(i64::from(x)));
        }
        let ca = commit_var(TensorKind::I8, 5, 8, &ta.packed).unwrap();
        let cc = commit_var(TensorKind::I32, 2, 5, &tc.packed).unwrap();
        assert_eq!(ca.value().unwrap(), commit_i8(&a, 5, 8).unwrap());
        assert_eq!(cc.value().unwrap(), commit_i32(&c, 2, 5).unwrap());
        assert!(cs.is_satisfied().unwrap());
    }
}
