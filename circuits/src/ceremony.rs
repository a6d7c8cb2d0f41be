//! Keys from a public multi-party ceremony: the circuit exported as an iden3 `.r1cs` file, a snarkjs Groth16
//! ceremony (`powersoftau` phase 1, `groth16 setup` + `zkey contribute` phase 2) run on it by anyone, and the
//! resulting `.zkey` imported as a proving key (`ProvingKey::from_snarkjs_zkey`). See `docs/circuits.md` §5a.
//!
//! snarkjs lays out the H query in the Lagrange basis of the odd points of a domain twice the size of the QAP
//! domain (`[L_(2i+1)(τ)/δ]`), where arkworks uses `[τ^i·t(τ)/δ]`; a key imported from a zkey is proved with
//! [`SnarkjsReduction`], which evaluates `A·B − C` on those odd points.

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, Field, LegendreSymbol, PrimeField, Zero};
use ark_groth16::r1cs_to_qap::{evaluate_constraint, LibsnarkReduction, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use ark_relations::utils::matrix::Matrix;
use sha2::{Digest, Sha256};

use crate::Error;

/// The QAP witness map of snarkjs: the evaluations of `A·B − C` on the odd points `g·ω^i` of the domain of size
/// 2n (g a primitive 2n-th root of unity chosen as snarkjs chooses it), to be combined with a zkey's H query.
pub struct SnarkjsReduction;

impl R1CSToQAP for SnarkjsReduction {
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        // only the prover uses this reduction; keys come from the zkey
        LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        if matrices.len() != 3 {
            return Err(SynthesisError::Unsatisfiable);
        }
        let domain =
            D::new(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let n = domain.size();
        let mut a = vec![F::zero(); n];
        let mut b = vec![F::zero(); n];
        let mut c = vec![F::zero(); n];
        for i in 0..num_constraints {
            a[i] = evaluate_constraint(&matrices[0][i], full_assignment);
            b[i] = evaluate_constraint(&matrices[1][i], full_assignment);
            c[i] = evaluate_constraint(&matrices[2][i], full_assignment);
        }
        // the extra rows that make the public inputs' polynomials independent (snarkjs and libsnark agree)
        a[num_constraints..num_constraints + num_inputs]
            .copy_from_slice(&full_assignment[..num_inputs]);
        // the shift g: a primitive 2n-th root of unity, snarkjs's choice (F is BN254's Fr here)
        let log2 = n.trailing_zeros() + 1;
        let g = snarkjs_root_of_unity::<F>(log2).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        for v in [&mut a, &mut b, &mut c] {
            domain.ifft_in_place(v);
            D::distribute_powers_and_mul_by_const(v, g, F::one());
            domain.fft_in_place(v);
        }
        for ((ai, bi), ci) in a.iter_mut().zip(&b).zip(&c) {
            *ai = *ai * bi - ci;
        }
        Ok(a)
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        _zt: F,
        delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        // [L_(2i+1)(t)/δ] over the domain of size 2n: the Lagrange coefficients of the powers of t
        let mut scalars: Vec<F> = (0..2 * max_power + 2)
            .map(|i| delta_inverse * t.pow([i as u64]))
            .collect();
        let domain = D::new(scalars.len()).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        domain.ifft_in_place(&mut scalars);
        Ok(scalars.into_iter().skip(1).step_by(2).collect())
    }
}

/// The primitive 2^k-th root of unity snarkjs (ffjavascript) uses: the smallest quadratic non-residue q, raised
/// to the odd part of r − 1, then squared down to order 2^k.
pub fn snarkjs_root_of_unity<F: PrimeField>(log2_size: u32) -> Option<F> {
    let s = F::TWO_ADICITY;
    if log2_size > s {
        return None;
    }
    let mut q = F::from(2u64);
    while q.legendre() != LegendreSymbol::QuadraticNonResidue {
        q += F::one();
    }
    let mut root = q.pow(F::TRACE);
    for _ in log2_size..s {
        root.square_in_place();
    }
    Some(root)
}

// ---- iden3 .r1cs ----

/// The constraint system as an iden3 `.r1cs` file (version 1: header, constraints, wire-to-label map), which
/// `snarkjs groth16 setup` reads. Wire i is arkworks variable i: 0 the constant one, 1 .. num_instance − 1 the
/// public inputs, then the witnesses.
pub fn r1cs_file(
    matrices: &[Matrix<Fr>],
    num_instance: usize,
    num_witness: usize,
) -> Result<Vec<u8>, Error> {
    if matrices.len() != 3 || num_instance == 0 {
        return Err(Error::Encoding("r1cs export needs matrices A, B, C"));
    }
    let n_vars = num_instance + num_witness;
    let n_constraints = matrices[0].len();
    let u32_of = |v: usize| u32::try_from(v).map_err(|_| Error::Encoding("r1cs too large"));
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    header.extend_from_slice(&u32_of(n_vars)?.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // outputs
    header.extend_from_slice(&u32_of(num_instance - 1)?.to_le_bytes()); // public inputs
    header.extend_from_slice(&0u32.to_le_bytes()); // private inputs
    header.extend_from_slice(&(n_vars as u64).to_le_bytes()); // labels
    header.extend_from_slice(&u32_of(n_constraints)?.to_le_bytes());
    let mut cons = Vec::new();
    for i in 0..n_constraints {
        for mat in matrices {
            let row = mat
                .get(i)
                .ok_or(Error::Encoding("matrices differ in length"))?;
            cons.extend_from_slice(&u32_of(row.len())?.to_le_bytes());
            for (coeff, var) in row {
                if *var >= n_vars {
                    return Err(Error::Encoding("constraint refers to an unknown variable"));
                }
                cons.extend_from_slice(&u32_of(*var)?.to_le_bytes());
                cons.extend_from_slice(&coeff.into_bigint().to_bytes_le());
            }
        }
    }
    let mut labels = Vec::with_capacity(8 * n_vars);
    for i in 0..n_vars as u64 {
        labels.extend_from_slice(&i.to_le_bytes());
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"r1cs");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&3u32.to_le_bytes());
    for (id, data) in [(1u32, header), (2, cons), (3, labels)] {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&data);
    }
    Ok(out)
}

// ---- snarkjs .zkey (Groth16) ----

/// One phase-2 contribution recorded in a zkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// The contributor's name, if given.
    pub name: Option<String>,
    /// Whether it is a random beacon (type 1) rather than a contribution.
    pub beacon: bool,
    /// snarkjs's 64-byte transcript hash of the contribution.
    pub transcript: [u8; 64],
}

/// A parsed snarkjs Groth16 zkey (BN254). Points are on the curve; the verifying key's G2 points are in the
/// prime-order subgroup.
#[derive(Debug, Clone)]
pub struct Zkey {
    /// Variables, including the constant one.
    pub n_vars: usize,
    /// Public inputs (not counting the constant one).
    pub n_public: usize,
    /// The QAP domain size.
    pub domain_size: usize,
    /// The arkworks proving key assembled from the sections (its H query is in snarkjs's basis).
    pub pk: ark_groth16::ProvingKey<Bn254>,
    /// The A and B coefficients (matrix 0 = A, 1 = B; constraint; signal; value), in file order.
    pub coeffs: Vec<(u32, u32, u32, Fr)>,
    /// snarkjs's circuit hash (64 bytes, BLAKE2b of the initial key).
    pub circuit_hash: [u8; 64],
    /// The phase-2 contributions, in order.
    pub contributions: Vec<Contribution>,
    /// SHA-256 of the zkey file.
    pub file_sha256: [u8; 32],
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Encoding("zkey truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, Error> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn done(&self, what: &'static str) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::Encoding(what))
        }
    }
}

fn bigint_le(b: &[u8]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[8 * i..8 * i + 8]);
        *l = u64::from_le_bytes(w);
    }
    BigInt::new(limbs)
}

/// An Fq element in snarkjs's "LEM" form: little-endian Montgomery (R = 2^256), which is arkworks' own
/// representation.
fn fq_lem(c: &mut Cursor<'_>) -> Result<Fq, Error> {
    let v = bigint_le(c.take(32)?);
    if v >= Fq::MODULUS {
        return Err(Error::Encoding("zkey field element out of range"));
    }
    Ok(Fq::new_unchecked(v))
}

fn g1_lem(c: &mut Cursor<'_>) -> Result<G1Affine, Error> {
    let x = fq_lem(c)?;
    let y = fq_lem(c)?;
    if x.is_zero() && y.is_zero() {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(Error::Encoding("zkey G1 point not on the curve"));
    }
    Ok(p)
}

fn g2_lem(c: &mut Cursor<'_>, subgroup: bool) -> Result<G2Affine, Error> {
    let x = Fq2::new(fq_lem(c)?, fq_lem(c)?);
    let y = Fq2::new(fq_lem(c)?, fq_lem(c)?);
    if x.is_zero() && y.is_zero() {
        return Ok(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(Error::Encoding("zkey G2 point not on the curve"));
    }
    if subgroup && !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::Encoding("zkey G2 point not in the subgroup"));
    }
    Ok(p)
}

fn g1_vec(c: &mut Cursor<'_>, n: usize) -> Result<Vec<G1Affine>, Error> {
    (0..n).map(|_| g1_lem(c)).collect()
}

/// Parses a snarkjs Groth16 zkey for BN254, strictly: the ten sections once each, lengths exact, field elements
/// in range, points on the curve.
pub fn parse_zkey(bytes: &[u8]) -> Result<Zkey, Error> {
    let mut c = Cursor { buf: bytes };
    if c.take(4)? != b"zkey" {
        return Err(Error::Encoding("not a zkey file (magic)"));
    }
    if c.u32()? != 1 {
        return Err(Error::Encoding("unsupported zkey version"));
    }
    let n_sections = c.u32()?;
    let mut sections: [Option<&[u8]>; 11] = [None; 11];
    for _ in 0..n_sections {
        let id = c.u32()? as usize;
        let len =
            usize::try_from(c.u64()?).map_err(|_| Error::Encoding("zkey section too long"))?;
        let data = c.take(len)?;
        match sections.get_mut(id) {
            Some(slot @ None) if id >= 1 => *slot = Some(data),
            Some(Some(_)) => return Err(Error::Encoding("zkey section repeated")),
            _ => return Err(Error::Encoding("unknown zkey section")),
        }
    }
    c.done("trailing bytes after the zkey sections")?;
    let sec = |id: usize| sections[id].ok_or(Error::Encoding("zkey section missing"));

    let mut s = Cursor { buf: sec(1)? };
    if s.u32()? != 1 {
        return Err(Error::Encoding("zkey is not a Groth16 key"));
    }
    s.done("zkey header section length")?;

    let mut s = Cursor { buf: sec(2)? };
    if s.u32()? != 32 || bigint_le(s.take(32)?) != Fq::MODULUS {
        return Err(Error::KeyMismatch("zkey is not for BN254 (base field)"));
    }
    if s.u32()? != 32 || bigint_le(s.take(32)?) != Fr::MODULUS {
        return Err(Error::KeyMismatch("zkey is not for BN254 (scalar field)"));
    }
    let n_vars = s.u32()? as usize;
    let n_public = s.u32()? as usize;
    let domain_size = s.u32()? as usize;
    if n_public + 1 > n_vars || !domain_size.is_power_of_two() {
        return Err(Error::Encoding("zkey header counts are inconsistent"));
    }
    let alpha_g1 = g1_lem(&mut s)?;
    let beta_g1 = g1_lem(&mut s)?;
    let beta_g2 = g2_lem(&mut s, true)?;
    let gamma_g2 = g2_lem(&mut s, true)?;
    let delta_g1 = g1_lem(&mut s)?;
    let delta_g2 = g2_lem(&mut s, true)?;
    s.done("zkey Groth16 header length")?;

    let mut s = Cursor { buf: sec(3)? };
    let ic = g1_vec(&mut s, n_public + 1)?;
    s.done("zkey IC section length")?;

    let mut s = Cursor { buf: sec(4)? };
    let n_coeffs = s.u32()? as usize;
    if s.buf.len() != n_coeffs.saturating_mul(44) {
        return Err(Error::Encoding("zkey coefficient section length"));
    }
    // values are stored as the standard little-endian form of v·R² (R = 2^256 mod r)
    let r = Fr::from(2u64).pow([256u64]);
    let r2_inv = (r * r)
        .inverse()
        .ok_or(Error::Encoding("zkey coefficient scale"))?;
    let mut coeffs = Vec::with_capacity(n_coeffs);
    for _ in 0..n_coeffs {
        let matrix = s.u32()?;
        let constraint = s.u32()?;
        let signal = s.u32()?;
        let v = bigint_le(s.take(32)?);
        if v >= Fr::MODULUS || matrix > 1 || signal as usize >= n_vars {
            return Err(Error::Encoding("zkey coefficient out of range"));
        }
        let value =
            Fr::from_bigint(v).ok_or(Error::Encoding("zkey coefficient out of range"))? * r2_inv;
        coeffs.push((matrix, constraint, signal, value));
    }

    let mut s = Cursor { buf: sec(5)? };
    let a_query = g1_vec(&mut s, n_vars)?;
    s.done("zkey A section length")?;
    let mut s = Cursor { buf: sec(6)? };
    let b_g1_query = g1_vec(&mut s, n_vars)?;
    s.done("zkey B1 section length")?;
    let mut s = Cursor { buf: sec(7)? };
    let b_g2_query = (0..n_vars)
        .map(|_| g2_lem(&mut s, false))
        .collect::<Result<Vec<_>, _>>()?;
    s.done("zkey B2 section length")?;
    let mut s = Cursor { buf: sec(8)? };
    let l_query = g1_vec(&mut s, n_vars - n_public - 1)?;
    s.done("zkey C section length")?;
    let mut s = Cursor { buf: sec(9)? };
    let h_query = g1_vec(&mut s, domain_size)?;
    s.done("zkey H section length")?;

    let mut s = Cursor { buf: sec(10)? };
    let mut circuit_hash = [0u8; 64];
    circuit_hash.copy_from_slice(s.take(64)?);
    let n_contrib = s.u32()?;
    let mut contributions = Vec::new();
    for _ in 0..n_contrib {
        // deltaAfter (G1), the proof of knowledge (G1, G1, G2): checked by `snarkjs zkey verify`
        s.take(64 * 3 + 128)?;
        let mut transcript = [0u8; 64];
        transcript.copy_from_slice(s.take(64)?);
        let kind = s.u32()?;
        if kind > 1 {
            return Err(Error::Encoding("zkey contribution of unknown type"));
        }
        let plen = s.u32()? as usize;
        let mut p = Cursor { buf: s.take(plen)? };
        let mut name = None;
        let mut last = 0u8;
        while !p.buf.is_empty() {
            let t = p.take(1)?[0];
            if t <= last {
                return Err(Error::Encoding("zkey contribution parameters out of order"));
            }
            last = t;
            match t {
                1 => {
                    let l = p.take(1)?[0] as usize;
                    let raw = p.take(l)?;
                    name = Some(
                        std::str::from_utf8(raw)
                            .map_err(|_| Error::Encoding("zkey contributor name is not UTF-8"))?
                            .to_owned(),
                    );
                }
                2 => {
                    p.take(1)?;
                }
                3 => {
                    let l = p.take(1)?[0] as usize;
                    p.take(l)?;
                }
                _ => return Err(Error::Encoding("zkey contribution parameter unknown")),
            }
        }
        contributions.push(Contribution {
            name,
            beacon: kind == 1,
            transcript,
        });
    }
    s.done("zkey contributions section length")?;

    let vk = ark_groth16::VerifyingKey::<Bn254> {
        alpha_g1,
        beta_g2,
        gamma_g2,
        delta_g2,
        gamma_abc_g1: ic,
    };
    let pk = ark_groth16::ProvingKey::<Bn254> {
        vk,
        beta_g1,
        delta_g1,
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query,
    };
    Ok(Zkey {
        n_vars,
        n_public,
        domain_size,
        pk,
        coeffs,
        circuit_hash,
        contributions,
        file_sha256: Sha256::digest(bytes).into(),
    })
}

/// Checks that `zkey` was made for exactly this constraint system: variable and public-input counts, domain
/// size, and the A and B coefficients (snarkjs's list: every term of A and B in constraint order, then one A
/// term per public signal in the rows after the constraints). C is not stored in a zkey; it is bound through the
/// C query, which a zkey for another C could only make fail verification.
pub fn check_zkey_matches(
    zkey: &Zkey,
    matrices: &[Matrix<Fr>],
    num_instance: usize,
    num_witness: usize,
) -> Result<(), Error> {
    if matrices.len() != 3 {
        return Err(Error::KeyMismatch("constraint matrices missing"));
    }
    let n_constraints = matrices[0].len();
    if zkey.n_vars != num_instance + num_witness || zkey.n_public + 1 != num_instance {
        return Err(Error::KeyMismatch(
            "zkey variable counts differ from the circuit",
        ));
    }
    let domain = (n_constraints + num_instance).next_power_of_two();
    if zkey.domain_size != domain {
        return Err(Error::KeyMismatch(
            "zkey domain size differs from the circuit",
        ));
    }
    let mut ours: Vec<(u32, u32, u32, Fr)> = Vec::new();
    for (mi, mat) in matrices[..2].iter().enumerate() {
        for (ci, row) in mat.iter().enumerate() {
            for (v, var) in row {
                ours.push((mi as u32, ci as u32, *var as u32, *v));
            }
        }
    }
    for s in 0..num_instance {
        ours.push((0, (n_constraints + s) as u32, s as u32, Fr::from(1u64)));
    }
    let key = |t: &(u32, u32, u32, Fr)| (t.0, t.1, t.2, t.3.into_bigint());
    let mut theirs = zkey.coeffs.clone();
    ours.sort_by_key(key);
    theirs.sort_by_key(key);
    if ours != theirs {
        return Err(Error::KeyMismatch(
            "zkey coefficients differ from the circuit's constraints",
        ));
    }
    Ok(())
}

/// A one-line description of the ceremony for the key file: file digest, circuit hash, contributions.
pub fn describe(zkey: &Zkey) -> String {
    let names: Vec<String> = zkey
        .contributions
        .iter()
        .map(|c| match (&c.name, c.beacon) {
            (_, true) => "beacon".to_owned(),
            (Some(n), false) => n.chars().filter(|ch| !ch.is_control()).take(64).collect(),
            (None, false) => "anonymous".to_owned(),
        })
        .collect();
    let mut s = format!(
        "snarkjs ceremony zkey sha256 {}; circuit hash {}; {} contribution(s): {}",
        hex::encode(zkey.file_sha256),
        hex::encode(&zkey.circuit_hash[..16]),
        zkey.contributions.len(),
        names.join(", ")
    );
    if s.len() > 1000 {
        let mut cut = 997;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}
