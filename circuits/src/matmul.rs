//! The `matmul-i8` circuit: C = A·B for int8 A (m×k), int8 B (k×n), int32 C (m×n), checked with Freivalds'
//! test in-circuit, the challenge derived in-circuit from the three commitments.

use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar, uint8::UInt8};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::{
    poseidon,
    statement::{enforce_statement, matmul_circuit_id, statement_public_input},
    tensor::{self, commit_i32, commit_i8, tag_element, TensorKind},
    Error,
};

/// Domain tag of the Freivalds challenge (ASCII, big-endian integer).
pub const FREIVALDS_TAG: &[u8] = b"cuproof.freivalds.v1";
/// Largest inner dimension: k·128·128 + 2^31 stays far below p, and k·2^14 ≤ 2^30 keeps true products in int32.
pub const MAX_K: usize = 1 << 16;
/// Largest number of entries of any one operand.
pub const MAX_ENTRIES: usize = 1 << 22;

/// Checks that `m×k · k×n` is an accepted shape.
pub fn check_shape(m: usize, k: usize, n: usize) -> Result<(), Error> {
    if m == 0 || k == 0 || n == 0 {
        return Err(Error::Shape("dimensions must be at least 1"));
    }
    if k > MAX_K {
        return Err(Error::Shape("inner dimension k must be at most 2^16"));
    }
    for (a, b) in [(m, k), (k, n), (m, n)] {
        match a.checked_mul(b) {
            Some(e) if e <= MAX_ENTRIES => {}
            _ => return Err(Error::Shape("an operand has more than 2^22 entries")),
        }
    }
    Ok(())
}

/// The integer product `A·B` (row-major), exact in i32 for accepted shapes.
pub fn matmul_i8(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Result<Vec<i32>, Error> {
    check_shape(m, k, n)?;
    if a.len() != m * k || b.len() != k * n {
        return Err(Error::Shape("operand length does not match its shape"));
    }
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for l in 0..k {
            let x = i32::from(a[i * k + l]);
            let brow = &b[l * n..(l + 1) * n];
            for (cj, &bj) in row.iter_mut().zip(brow) {
                *cj += x * i32::from(bj);
            }
        }
    }
    Ok(c)
}

/// The Fiat–Shamir challenge `r = poseidon([TAG, commit_a, commit_b, commit_c])`.
pub fn freivalds_challenge(ca: &Fr, cb: &Fr, cc: &Fr) -> Result<Fr, Error> {
    poseidon::hash(&[tag_element(FREIVALDS_TAG), *ca, *cb, *cc])
}

/// Witness of the circuit.
#[derive(Clone, Debug)]
struct Witness {
    a: Vec<i8>,
    b: Vec<i8>,
    c: Vec<i32>,
    job_digest: [u8; 32],
    public_input: Fr,
}

/// The `matmul-i8` circuit for one shape; with a witness for proving, without for setup.
#[derive(Clone, Debug)]
pub struct MatmulCircuit {
    m: usize,
    k: usize,
    n: usize,
    witness: Option<Witness>,
}

/// The public parts of a matmul statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatmulStatement {
    /// `matmul_circuit_id(m, k, n)`.
    pub circuit_id: [u8; 32],
    /// The job digest the proof is bound to.
    pub job_digest: [u8; 32],
    /// Commitment to A.
    pub commit_a: Fr,
    /// Commitment to B.
    pub commit_b: Fr,
    /// Commitment to C.
    pub commit_c: Fr,
}

impl MatmulStatement {
    /// The single public input (see [`statement_public_input`]).
    pub fn public_input(&self) -> Fr {
        statement_public_input(
            &self.circuit_id,
            &self.job_digest,
            &self.commit_a,
            &self.commit_b,
            &self.commit_c,
        )
    }
}

impl MatmulCircuit {
    /// A circuit with witness: `a` is m×k, `b` k×n, `c` m×n, all row-major. The product is *not* checked here
    /// (see [`MatmulCircuit::product_is_correct`]); a wrong `c` makes the constraints unsatisfiable.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        m: usize,
        k: usize,
        n: usize,
        a: Vec<i8>,
        b: Vec<i8>,
        c: Vec<i32>,
        job_digest: [u8; 32],
    ) -> Result<Self, Error> {
        check_shape(m, k, n)?;
        if a.len() != m * k || b.len() != k * n || c.len() != m * n {
            return Err(Error::Shape("operand length does not match its shape"));
        }
        let statement = MatmulStatement {
            circuit_id: matmul_circuit_id(m as u32, k as u32, n as u32),
            job_digest,
            commit_a: commit_i8(&a, m, k)?,
            commit_b: commit_i8(&b, k, n)?,
            commit_c: commit_i32(&c, m, n)?,
        };
        let public_input = statement.public_input();
        Ok(MatmulCircuit {
            m,
            k,
            n,
            witness: Some(Witness {
                a,
                b,
                c,
                job_digest,
                public_input,
            }),
        })
    }

    /// A circuit without witness (for setup and key generation).
    pub fn blank(m: usize, k: usize, n: usize) -> Result<Self, Error> {
        check_shape(m, k, n)?;
        Ok(MatmulCircuit {
            m,
            k,
            n,
            witness: None,
        })
    }

    /// `(m, k, n)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.m, self.k, self.n)
    }

    /// The circuit identifier of this shape.
    pub fn circuit_id(&self) -> [u8; 32] {
        matmul_circuit_id(self.m as u32, self.k as u32, self.n as u32)
    }

    /// The statement (absent for a blank circuit).
    pub fn statement(&self) -> Option<MatmulStatement> {
        let w = self.witness.as_ref()?;
        Some(MatmulStatement {
            circuit_id: self.circuit_id(),
            job_digest: w.job_digest,
            commit_a: commit_i8(&w.a, self.m, self.k).ok()?,
            commit_b: commit_i8(&w.b, self.k, self.n).ok()?,
            commit_c: commit_i32(&w.c, self.m, self.n).ok()?,
        })
    }

    /// The public input (absent for a blank circuit).
    pub fn public_input(&self) -> Option<Fr> {
        self.witness.as_ref().map(|w| w.public_input)
    }

    /// Whether `c == a·b` over the integers (false for a blank circuit).
    pub fn product_is_correct(&self) -> bool {
        match &self.witness {
            Some(w) => matmul_i8(&w.a, &w.b, self.m, self.k, self.n)
                .map(|p| p == w.c)
                .unwrap_or(false),
            None => false,
        }
    }
}

impl ConstraintSynthesizer<Fr> for MatmulCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let (m, k, n) = (self.m, self.k, self.n);
        let w = self.witness.as_ref();
        let x = FpVar::new_input(cs.clone(), || {
            w.map(|w| w.public_input)
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        let ta = tensor::alloc_i8(&cs, m * k, w.map(|w| w.a.as_slice()))?;
        let tb = tensor::alloc_i8(&cs, k * n, w.map(|w| w.b.as_slice()))?;
        let tc = tensor::alloc_i32(&cs, m * n, w.map(|w| w.c.as_slice()))?;
        let ca = tensor::commit_var(TensorKind::I8, m, k, &ta.packed)?;
        let cb = tensor::commit_var(TensorKind::I8, k, n, &tb.packed)?;
        let cc = tensor::commit_var(TensorKind::I32, m, n, &tc.packed)?;

        // Fiat–Shamir challenge and v = (1, r, ..., r^(n-1)).
        let r = poseidon::hash_var(&[
            FpVar::Constant(tag_element(FREIVALDS_TAG)),
            ca.clone(),
            cb.clone(),
            cc.clone(),
        ])?;
        let mut v: Vec<FpVar<Fr>> = Vec::with_capacity(n);
        v.push(FpVar::Constant(Fr::from(1u64)));
        for j in 1..n {
            let next = if j == 1 { r.clone() } else { &v[j - 1] * &r };
            v.push(next);
        }

        // w = B·v (k entries), y = A·w (m entries), z = C·v (m entries); enforce y == z.
        let bv: Vec<FpVar<Fr>> = (0..k)
            .map(|l| {
                tb.entries[l * n..(l + 1) * n]
                    .iter()
                    .zip(&v)
                    .map(|(b, vj)| b * vj)
                    .sum()
            })
            .collect();
        for i in 0..m {
            let y: FpVar<Fr> = ta.entries[i * k..(i + 1) * k]
                .iter()
                .zip(&bv)
                .map(|(a, wl)| a * wl)
                .sum();
            let z: FpVar<Fr> = tc.entries[i * n..(i + 1) * n]
                .iter()
                .zip(&v)
                .map(|(c, vj)| c * vj)
                .sum();
            y.enforce_equal(&z)?;
        }

        // The statement: x = SHA-256(tag ‖ circuit_id ‖ job ‖ ca ‖ cb ‖ cc) truncated to 253 bits.
        let job = match w {
            Some(w) => UInt8::new_witness_vec(cs.clone(), &w.job_digest)?,
            None => UInt8::new_witness_vec(cs.clone(), &[0u8; 32])?,
        };
        enforce_statement(&x, &self.circuit_id(), &job, &ca, &cb, &cc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    fn sample(m: usize, k: usize, n: usize, seed: u64) -> (Vec<i8>, Vec<i8>) {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8 as i8
        };
        let a = (0..m * k).map(|_| next()).collect();
        let b = (0..k * n).map(|_| next()).collect();
        (a, b)
    }

    #[test]
    fn small_circuit_satisfied_and_wrong_entry_not() {
        let (m, k, n) = (3, 5, 4);
        let (a, b) = sample(m, k, n, 1);
        let c = matmul_i8(&a, &b, m, k, n).unwrap();
        let good = MatmulCircuit::new(m, k, n, a.clone(), b.clone(), c.clone(), [1; 32]).unwrap();
        assert!(good.product_is_correct());
        let cs = ConstraintSystem::<Fr>::new_ref();
        good.generate_constraints(cs.clone()).unwrap();
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_instance_variables(), 2);

        let mut bad_c = c;
        bad_c[5] += 1;
        let bad = MatmulCircuit::new(m, k, n, a, b, bad_c, [1; 32]).unwrap();
        assert!(!bad.product_is_correct());
        let cs = ConstraintSystem::<Fr>::new_ref();
        bad.generate_constraints(cs.clone()).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn extreme_values() {
        let (m, k, n) = (2, 3, 2);
        let a = vec![-128i8; 6];
        let b = vec![-128i8; 6];
        let c = matmul_i8(&a, &b, m, k, n).unwrap();
        assert_eq!(c[0], 3 * 16384);
        let circ = MatmulCircuit::new(m, k, n, a, b, c, [0; 32]).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        circ.generate_constraints(cs.clone()).unwrap();
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn shapes() {
        assert!(check_shape(0, 1, 1).is_err());
        assert!(check_shape(1, MAX_K + 1, 1).is_err());
        assert!(check_shape(1 << 11, 1 << 11, 1).is_ok());
        assert!(check_shape(1 << 12, 1 << 12, 1 << 12).is_err());
        assert!(MatmulCircuit::new(2, 2, 2, vec![0; 4], vec![0; 4], vec![0; 3], [0; 32]).is_err());
    }
}
