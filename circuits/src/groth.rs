//! Groth16 setup, proving with cached constraint matrices, verification, key files and byte formats.
//!
//! [`setup`] is a **single-party setup for testing**: whoever ran it knows the toxic waste and can forge proofs.
//! Key files record the randomness source and carry a `test-only` flag. Production keys come from a public
//! multi-party snarkjs ceremony over [`matmul_r1cs`], imported with [`ProvingKey::from_snarkjs_zkey`] (flag 2).

use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fq, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_groth16::Groth16;
use ark_relations::{
    gr1cs::{
        ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
        R1CS_PREDICATE_LABEL,
    },
    utils::matrix::Matrix,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{matmul::MatmulCircuit, statement::matmul_circuit_id, Error};

/// A Groth16 proof over BN254.
pub type Proof = ark_groth16::Proof<Bn254>;
/// A Groth16 verifying key over BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Bn254>;

/// Magic bytes at the start of every key file.
pub const KEY_MAGIC: &[u8; 8] = b"CUPRFKEY";
/// Key file format version.
pub const KEY_VERSION: u16 = 1;
/// Domain tag of the key digest.
pub const KEY_DIGEST_TAG: &[u8] = b"cuproof.key.v1";
/// Length of a compressed proof (A: 32, B: 64, C: 32 bytes).
pub const PROOF_LEN: usize = 128;
/// Length of a proof in the EVM layout (8 big-endian words).
pub const PROOF_EVM_LEN: usize = 256;
const MAX_SOURCE_LEN: usize = 1024;

/// Stages reported to a progress callback while proving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProveStage {
    /// Witness generation started.
    Witness,
    /// Witness done; the QAP reduction and multi-scalar multiplications started.
    Prove {
        /// Time spent on the witness.
        witness: Duration,
    },
    /// The proof is done.
    Done {
        /// Total time.
        total: Duration,
    },
}

/// Where a key came from, which fixes the layout of its H query (and so the prover's QAP witness map).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupOrigin {
    /// This crate's single-party setup (test only): arkworks' H query `[τ^i·t(τ)/δ]`. Key-file flag 1.
    TestOnly,
    /// Imported from a snarkjs multi-party ceremony (`ProvingKey::from_snarkjs_zkey`): H query in the Lagrange
    /// basis of the odd points of the doubled domain (`ceremony::SnarkjsReduction`). Key-file flag 2.
    SnarkjsCeremony,
}

impl SetupOrigin {
    fn flag(self) -> u8 {
        match self {
            SetupOrigin::TestOnly => 1,
            SetupOrigin::SnarkjsCeremony => 2,
        }
    }
    fn from_flag(f: u8) -> Option<Self> {
        match f {
            1 => Some(SetupOrigin::TestOnly),
            2 => Some(SetupOrigin::SnarkjsCeremony),
            _ => None,
        }
    }
}

/// A circuit-specific proving key with the constraint matrices it was made from (so that proving does not
/// re-synthesize them).
#[derive(Clone)]
pub struct ProvingKey {
    /// `(m, k, n)`.
    pub shape: (usize, usize, usize),
    /// The circuit identifier.
    pub circuit_id: [u8; 32],
    /// Where the setup randomness came from (recorded in key files).
    pub rng_source: String,
    /// Single-party test setup or a ceremony's key.
    pub origin: SetupOrigin,
    /// The arkworks proving key (contains the verifying key).
    pub pk: ark_groth16::ProvingKey<Bn254>,
    matrices: Vec<Matrix<Fr>>,
    num_instance: usize,
    num_witness: usize,
    num_constraints: usize,
}

impl std::fmt::Debug for ProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvingKey")
            .field("shape", &self.shape)
            .field("circuit_id", &hex::encode(self.circuit_id))
            .field("rng_source", &self.rng_source)
            .field("origin", &self.origin)
            .field("num_constraints", &self.num_constraints)
            .finish_non_exhaustive()
    }
}

/// Size figures of a synthesized circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitSize {
    /// R1CS constraints.
    pub constraints: usize,
    /// Instance variables, including the constant 1.
    pub instance_variables: usize,
    /// Witness variables.
    pub witness_variables: usize,
}

pub(crate) struct Synthesized {
    pub(crate) matrices: Vec<Matrix<Fr>>,
    pub(crate) size: CircuitSize,
}

pub(crate) fn synthesize_setup(m: usize, k: usize, n: usize) -> Result<Synthesized, Error> {
    let circuit = MatmulCircuit::blank(m, k, n)?;
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    let mut all = cs.to_matrices()?;
    let matrices = all
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or(Error::Synthesis("no R1CS matrices".into()))?;
    Ok(Synthesized {
        matrices,
        size: CircuitSize {
            constraints: cs.num_constraints(),
            instance_variables: cs.num_instance_variables(),
            witness_variables: cs.num_witness_variables(),
        },
    })
}

/// Constraint and variable counts of the `matmul-i8` circuit of a shape.
pub fn circuit_size(m: usize, k: usize, n: usize) -> Result<CircuitSize, Error> {
    Ok(synthesize_setup(m, k, n)?.size)
}

/// Single-party setup (test only) with randomness from `rng`; `rng_source` describes it for the key file.
pub fn setup<R: RngCore + CryptoRng>(
    m: usize,
    k: usize,
    n: usize,
    rng: &mut R,
    rng_source: &str,
) -> Result<ProvingKey, Error> {
    if rng_source.len() > MAX_SOURCE_LEN {
        return Err(Error::Encoding("rng source description too long"));
    }
    let syn = synthesize_setup(m, k, n)?;
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
        MatmulCircuit::blank(m, k, n)?,
        rng,
    )?;
    let key = ProvingKey {
        shape: (m, k, n),
        circuit_id: matmul_circuit_id(m as u32, k as u32, n as u32),
        rng_source: rng_source.to_owned(),
        origin: SetupOrigin::TestOnly,
        pk,
        matrices: syn.matrices,
        num_instance: syn.size.instance_variables,
        num_witness: syn.size.witness_variables,
        num_constraints: syn.size.constraints,
    };
    key.validate()?;
    Ok(key)
}

/// Single-party setup (test only) from a 32-byte ChaCha20 seed, recorded in the key.
pub fn setup_from_seed(m: usize, k: usize, n: usize, seed: [u8; 32]) -> Result<ProvingKey, Error> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let source = format!(
        "test-only single-party setup; ChaCha20Rng seed {}",
        hex::encode(seed)
    );
    setup(m, k, n, &mut rng, &source)
}

/// The `matmul-i8` circuit of a shape as an iden3 `.r1cs` file, for a snarkjs ceremony (`snarkjs groth16 setup
/// circuit.r1cs final.ptau circuit_0000.zkey`, then `snarkjs zkey contribute` by each party).
pub fn matmul_r1cs(m: usize, k: usize, n: usize) -> Result<Vec<u8>, Error> {
    let syn = synthesize_setup(m, k, n)?;
    crate::ceremony::r1cs_file(
        &syn.matrices,
        syn.size.instance_variables,
        syn.size.witness_variables,
    )
}

fn domain_size(constraints: usize, inputs: usize) -> Option<usize> {
    constraints.checked_add(inputs)?.checked_next_power_of_two()
}

impl ProvingKey {
    /// A proving key from a snarkjs ceremony's final zkey for the `matmul-i8` circuit of this shape (the zkey
    /// must have been made from [`matmul_r1cs`] of the same shape: counts, domain and every A and B coefficient
    /// are checked). The ceremony transcript itself is checked by `snarkjs zkey verify`; the key file records the
    /// zkey's digest and contributors.
    pub fn from_snarkjs_zkey(m: usize, k: usize, n: usize, zkey: &[u8]) -> Result<Self, Error> {
        let z = crate::ceremony::parse_zkey(zkey)?;
        let syn = synthesize_setup(m, k, n)?;
        crate::ceremony::check_zkey_matches(
            &z,
            &syn.matrices,
            syn.size.instance_variables,
            syn.size.witness_variables,
        )?;
        let key = ProvingKey {
            shape: (m, k, n),
            circuit_id: matmul_circuit_id(m as u32, k as u32, n as u32),
            rng_source: crate::ceremony::describe(&z),
            origin: SetupOrigin::SnarkjsCeremony,
            pk: z.pk,
            matrices: syn.matrices,
            num_instance: syn.size.instance_variables,
            num_witness: syn.size.witness_variables,
            num_constraints: syn.size.constraints,
        };
        key.validate()?;
        Ok(key)
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.pk.vk
    }

    /// Size figures of the circuit.
    pub fn size(&self) -> CircuitSize {
        CircuitSize {
            constraints: self.num_constraints,
            instance_variables: self.num_instance,
            witness_variables: self.num_witness,
        }
    }

    /// The constraint matrices `[A, B, C]` cached in the key.
    pub fn matrices(&self) -> &[Matrix<Fr>] {
        &self.matrices
    }

    /// Checks internal consistency (lengths of queries and matrices, variable indices in range).
    fn validate(&self) -> Result<(), Error> {
        let (m, k, n) = self.shape;
        crate::matmul::check_shape(m, k, n)?;
        if self.circuit_id != matmul_circuit_id(m as u32, k as u32, n as u32) {
            return Err(Error::KeyMismatch("circuit id does not match the shape"));
        }
        let num_vars = self
            .num_instance
            .checked_add(self.num_witness)
            .ok_or(Error::KeyMismatch("variable count overflows"))?;
        if self.num_instance != 2 || self.pk.vk.gamma_abc_g1.len() != 2 {
            return Err(Error::KeyMismatch("expected exactly one public input"));
        }
        if self.matrices.len() != 3
            || self
                .matrices
                .iter()
                .any(|mat| mat.len() != self.num_constraints)
        {
            return Err(Error::KeyMismatch(
                "constraint matrices have the wrong shape",
            ));
        }
        if self
            .matrices
            .iter()
            .flatten()
            .flatten()
            .any(|(_, idx)| *idx >= num_vars)
        {
            return Err(Error::KeyMismatch(
                "constraint matrix refers to an unknown variable",
            ));
        }
        let domain = domain_size(self.num_constraints, self.num_instance)
            .ok_or(Error::KeyMismatch("domain too large"))?;
        let pk = &self.pk;
        if pk.a_query.len() != num_vars
            || pk.b_g1_query.len() != num_vars
            || pk.b_g2_query.len() != num_vars
            || pk.l_query.len() != self.num_witness
            || pk.h_query.len()
                != match self.origin {
                    SetupOrigin::TestOnly => domain - 1,
                    SetupOrigin::SnarkjsCeremony => domain,
                }
        {
            return Err(Error::KeyMismatch(
                "proving key query lengths do not match the circuit",
            ));
        }
        Ok(())
    }

    fn header(&self, kind: u8, body: &[u8]) -> Vec<u8> {
        key_header(
            kind,
            &self.circuit_id,
            self.shape,
            &self.rng_source,
            self.origin,
            body,
        )
    }

    /// Proving key file: header (with the key digest) and body (arkworks uncompressed proving key, counts,
    /// matrices).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut body = Vec::new();
        self.pk.serialize_uncompressed(&mut body)?;
        (self.num_instance as u64).serialize_uncompressed(&mut body)?;
        (self.num_witness as u64).serialize_uncompressed(&mut body)?;
        (self.num_constraints as u64).serialize_uncompressed(&mut body)?;
        self.matrices.serialize_uncompressed(&mut body)?;
        let mut out = self.header(KIND_PROVING, &body);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses a proving key file (digest, circuit id, lengths and trailing bytes checked). Curve points of the
    /// proving key are not subgroup-checked (a bad proving key can only produce proofs that do not verify).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let parsed = parse_key_file(bytes, KIND_PROVING)?;
        let mut r = parsed.body;
        let pk = ark_groth16::ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&mut r)?;
        let num_instance = to_usize(u64::deserialize_uncompressed(&mut r)?)?;
        let num_witness = to_usize(u64::deserialize_uncompressed(&mut r)?)?;
        let num_constraints = to_usize(u64::deserialize_uncompressed(&mut r)?)?;
        let matrices = Vec::<Matrix<Fr>>::deserialize_uncompressed(&mut r)?;
        if !r.is_empty() {
            return Err(Error::Encoding("trailing bytes in proving key"));
        }
        let key = ProvingKey {
            shape: parsed.shape,
            circuit_id: parsed.circuit_id,
            rng_source: parsed.rng_source,
            origin: parsed.origin,
            pk,
            matrices,
            num_instance,
            num_witness,
            num_constraints,
        };
        key.validate()?;
        Ok(key)
    }

    /// Verifying key file: header and body (compressed arkworks verifying key).
    pub fn verifying_key_bytes(&self) -> Result<Vec<u8>, Error> {
        let body = vk_to_bytes(&self.pk.vk)?;
        let mut out = self.header(KIND_VERIFYING, &body);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The key digest of the proving key file body.
    pub fn key_digest(&self) -> Result<[u8; 32], Error> {
        let bytes = self.to_bytes()?;
        let parsed = parse_key_file(&bytes, KIND_PROVING)?;
        Ok(parsed.digest)
    }
}

fn to_usize(v: u64) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| Error::Encoding("count does not fit usize"))
}

const KIND_PROVING: u8 = 1;
const KIND_VERIFYING: u8 = 2;

fn key_digest_of(header_without_digest: &[u8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(KEY_DIGEST_TAG);
    h.update(header_without_digest);
    h.update(body);
    h.finalize().into()
}

fn key_header(
    kind: u8,
    circuit_id: &[u8; 32],
    shape: (usize, usize, usize),
    rng_source: &str,
    origin: SetupOrigin,
    body: &[u8],
) -> Vec<u8> {
    let mut h = Vec::with_capacity(128 + rng_source.len());
    h.extend_from_slice(KEY_MAGIC);
    h.extend_from_slice(&KEY_VERSION.to_be_bytes());
    h.push(kind);
    h.push(origin.flag()); // 1 test-only single-party setup, 2 snarkjs ceremony
    h.extend_from_slice(circuit_id);
    for d in [shape.0, shape.1, shape.2] {
        h.extend_from_slice(&(d as u32).to_be_bytes());
    }
    h.extend_from_slice(&(rng_source.len() as u16).to_be_bytes());
    h.extend_from_slice(rng_source.as_bytes());
    h.extend_from_slice(&(body.len() as u64).to_be_bytes());
    let digest = key_digest_of(&h, body);
    h.extend_from_slice(&digest);
    h
}

/// The parsed header of a key file.
#[derive(Debug, Clone)]
pub struct KeyFileHeader {
    /// 1 = proving key, 2 = verifying key.
    pub kind: u8,
    /// Whether the key comes from a test-only single-party setup.
    pub test_only: bool,
    /// Where the key came from.
    pub origin: SetupOrigin,
    /// Circuit identifier.
    pub circuit_id: [u8; 32],
    /// `(m, k, n)`.
    pub shape: (usize, usize, usize),
    /// Description of the setup randomness.
    pub rng_source: String,
    /// `SHA-256("cuproof.key.v1" ‖ header up to the digest ‖ body)`.
    pub digest: [u8; 32],
}

struct ParsedKey<'a> {
    origin: SetupOrigin,
    circuit_id: [u8; 32],
    shape: (usize, usize, usize),
    rng_source: String,
    digest: [u8; 32],
    body: &'a [u8],
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Encoding("key file truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
}

/// Reads and checks the header of a key file (magic, version, lengths, digest, circuit id).
pub fn read_key_header(bytes: &[u8]) -> Result<KeyFileHeader, Error> {
    let kind = *bytes.get(10).ok_or(Error::Encoding("key file truncated"))?;
    let p = parse_key_file(bytes, kind)?;
    Ok(KeyFileHeader {
        kind,
        test_only: p.origin == SetupOrigin::TestOnly,
        origin: p.origin,
        circuit_id: p.circuit_id,
        shape: p.shape,
        rng_source: p.rng_source,
        digest: p.digest,
    })
}

fn parse_key_file(bytes: &[u8], want_kind: u8) -> Result<ParsedKey<'_>, Error> {
    let mut r = Reader { buf: bytes };
    if r.take(8)? != KEY_MAGIC {
        return Err(Error::Encoding("not a cuproof key file (magic)"));
    }
    if r.u16()? != KEY_VERSION {
        return Err(Error::Encoding("unsupported key file version"));
    }
    let kind = r.take(1)?[0];
    if kind != want_kind || !(kind == KIND_PROVING || kind == KIND_VERIFYING) {
        return Err(Error::Encoding("wrong key kind"));
    }
    let origin =
        SetupOrigin::from_flag(r.take(1)?[0]).ok_or(Error::Encoding("unknown setup flag"))?;
    let mut circuit_id = [0u8; 32];
    circuit_id.copy_from_slice(r.take(32)?);
    let m = r.u32()? as usize;
    let k = r.u32()? as usize;
    let n = r.u32()? as usize;
    let src_len = r.u16()? as usize;
    if src_len > MAX_SOURCE_LEN {
        return Err(Error::Encoding("rng source description too long"));
    }
    let rng_source = std::str::from_utf8(r.take(src_len)?)
        .map_err(|_| Error::Encoding("rng source is not UTF-8"))?
        .to_owned();
    let body_len = r.u64()?;
    let header_len = bytes.len() - r.buf.len();
    let mut digest = [0u8; 32];
    digest.copy_from_slice(r.take(32)?);
    if body_len != r.buf.len() as u64 {
        return Err(Error::Encoding("key body length mismatch"));
    }
    let body = r.buf;
    let expect = key_digest_of(&bytes[..header_len], body);
    if !bool::from(expect.ct_eq(&digest)) {
        return Err(Error::Encoding("key digest mismatch"));
    }
    crate::matmul::check_shape(m, k, n)?;
    let expected_id = matmul_circuit_id(m as u32, k as u32, n as u32);
    if !bool::from(expected_id.ct_eq(&circuit_id)) {
        return Err(Error::KeyMismatch("circuit id does not match the shape"));
    }
    Ok(ParsedKey {
        origin,
        circuit_id,
        shape: (m, k, n),
        rng_source,
        digest,
        body,
    })
}

/// Parses a verifying key file; returns the header and the (subgroup-checked) verifying key.
pub fn verifying_key_from_file_bytes(bytes: &[u8]) -> Result<(KeyFileHeader, VerifyingKey), Error> {
    let header = read_key_header(bytes)?;
    if header.kind != KIND_VERIFYING {
        return Err(Error::Encoding("not a verifying key file"));
    }
    let parsed = parse_key_file(bytes, KIND_VERIFYING)?;
    let vk = vk_from_bytes(parsed.body)?;
    Ok((header, vk))
}

/// Proves with the cached matrices after checking natively that `C = A·B` (a wrong product is refused here
/// with [`Error::WrongProduct`]).
pub fn prove<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: MatmulCircuit,
    rng: &mut R,
    progress: Option<&mut dyn FnMut(ProveStage)>,
) -> Result<Proof, Error> {
    if !circuit.product_is_correct() {
        return Err(Error::WrongProduct);
    }
    prove_unchecked(pk, circuit, rng, progress)
}

/// Proves without the native product check: only witness generation and the Groth16 prover with cached
/// matrices. With a wrong witness the result is a proof that does not verify (used by the soundness tests).
pub fn prove_unchecked<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: MatmulCircuit,
    rng: &mut R,
    mut progress: Option<&mut dyn FnMut(ProveStage)>,
) -> Result<Proof, Error> {
    if circuit.shape() != pk.shape {
        return Err(Error::KeyMismatch(
            "circuit shape differs from the proving key",
        ));
    }
    if circuit.public_input().is_none() {
        return Err(Error::Synthesis("circuit has no witness".into()));
    }
    let start = Instant::now();
    if let Some(p) = progress.as_mut() {
        p(ProveStage::Witness);
    }
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    if cs.num_instance_variables() != pk.num_instance
        || cs.num_witness_variables() != pk.num_witness
    {
        return Err(Error::KeyMismatch(
            "witness layout differs from the proving key",
        ));
    }
    let mut full = cs.instance_assignment()?;
    full.extend(cs.witness_assignment()?);
    drop(cs);
    let witness_time = start.elapsed();
    if let Some(p) = progress.as_mut() {
        p(ProveStage::Prove {
            witness: witness_time,
        });
    }
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    // the key's H query fixes the QAP witness map
    fn create<Q: ark_groth16::r1cs_to_qap::R1CSToQAP>(
        pk: &ProvingKey,
        r: Fr,
        s: Fr,
        full: &[Fr],
    ) -> Result<Proof, Error> {
        Ok(
            Groth16::<Bn254, Q>::create_proof_with_reduction_and_matrices(
                &pk.pk,
                r,
                s,
                &pk.matrices,
                pk.num_instance,
                pk.num_constraints,
                full,
            )?,
        )
    }
    let proof = match pk.origin {
        SetupOrigin::TestOnly => {
            create::<ark_groth16::r1cs_to_qap::LibsnarkReduction>(pk, r, s, &full)?
        }
        SetupOrigin::SnarkjsCeremony => {
            create::<crate::ceremony::SnarkjsReduction>(pk, r, s, &full)?
        }
    };
    if let Some(p) = progress.as_mut() {
        p(ProveStage::Done {
            total: start.elapsed(),
        });
    }
    Ok(proof)
}

/// Verifies a proof against the single public input.
pub fn verify(vk: &VerifyingKey, public_input: &Fr, proof: &Proof) -> Result<bool, Error> {
    if vk.gamma_abc_g1.len() != 2 {
        return Err(Error::KeyMismatch(
            "verifying key must have exactly one public input",
        ));
    }
    let pvk = ark_groth16::prepare_verifying_key(vk);
    Ok(Groth16::<Bn254>::verify_proof(
        &pvk,
        proof,
        &[*public_input],
    )?)
}

/// A proof as 128 bytes (arkworks compressed: A ‖ B ‖ C).
pub fn proof_to_bytes(proof: &Proof) -> Result<[u8; PROOF_LEN], Error> {
    let mut v = Vec::with_capacity(PROOF_LEN);
    proof.serialize_compressed(&mut v)?;
    v.try_into()
        .map_err(|_| Error::Encoding("compressed proof is not 128 bytes"))
}

/// Parses a 128-byte compressed proof (points checked on curve and in the subgroup; exact length).
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof, Error> {
    if bytes.len() != PROOF_LEN {
        return Err(Error::Encoding("proof must be 128 bytes"));
    }
    let mut r = bytes;
    let p = Proof::deserialize_compressed(&mut r)?;
    if !r.is_empty() {
        return Err(Error::Encoding("trailing bytes in proof"));
    }
    Ok(p)
}

/// A verifying key as arkworks compressed bytes.
pub fn vk_to_bytes(vk: &VerifyingKey) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    vk.serialize_compressed(&mut v)?;
    Ok(v)
}

/// Parses a compressed verifying key (checked points, exactly one public input, no trailing bytes).
pub fn vk_from_bytes(bytes: &[u8]) -> Result<VerifyingKey, Error> {
    let mut r = bytes;
    let vk = VerifyingKey::deserialize_compressed(&mut r)?;
    if !r.is_empty() {
        return Err(Error::Encoding("trailing bytes in verifying key"));
    }
    if vk.gamma_abc_g1.len() != 2 {
        return Err(Error::KeyMismatch(
            "verifying key must have exactly one public input",
        ));
    }
    Ok(vk)
}

fn fq_be(x: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_be());
    out
}

/// G1 point as 64 bytes `x ‖ y` (big-endian; the point at infinity is all zeros), the EVM precompile layout.
pub fn g1_to_evm(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_be(&x));
        out[32..].copy_from_slice(&fq_be(&y));
    }
    out
}

/// G2 point as 128 bytes `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0` (big-endian), the EVM precompile layout.
pub fn g2_to_evm(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_be(&x.c1));
        out[32..64].copy_from_slice(&fq_be(&x.c0));
        out[64..96].copy_from_slice(&fq_be(&y.c1));
        out[96..].copy_from_slice(&fq_be(&y.c0));
    }
    out
}

/// A proof in the EVM layout: `A.x ‖ A.y ‖ B.x.c1 ‖ B.x.c0 ‖ B.y.c1 ‖ B.y.c0 ‖ C.x ‖ C.y`, 32-byte words.
pub fn proof_to_evm_bytes(proof: &Proof) -> [u8; PROOF_EVM_LEN] {
    let mut out = [0u8; PROOF_EVM_LEN];
    out[..64].copy_from_slice(&g1_to_evm(&proof.a));
    out[64..192].copy_from_slice(&g2_to_evm(&proof.b));
    out[192..].copy_from_slice(&g1_to_evm(&proof.c));
    out
}
