//! Keys from a multi-party snarkjs ceremony: our constraint system exported as `.r1cs`, a real snarkjs ceremony
//! (powers of tau with a contribution, phase 2 with two contributions and a beacon, `snarkjs zkey verify`), the
//! zkey imported, proofs made with the snarkjs witness map accepted by our verifier and by `snarkjs groth16
//! verify`; and the witness map checked on its own against arkworks' generator with snarkjs's H basis.
use crate::common;

use std::path::Path;

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::Groth16;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode, Variable, R1CS_PREDICATE_LABEL,
};
use ark_relations::lc;
use ark_relations::utils::matrix::Matrix;
use cuproof_circuits::ceremony::{
    check_zkey_matches, parse_zkey, r1cs_file, snarkjs_root_of_unity, SnarkjsReduction,
};
use cuproof_circuits::{snarkjs, ProvingKey, SetupOrigin};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// x = a·b + a² + 3 (public x; witnesses a, b, t = a·b, s = a²) with a few more constraints so the domain has
/// more than one power of two of room.
#[derive(Clone)]
struct Toy {
    a: Option<Fr>,
    b: Option<Fr>,
}

impl Toy {
    fn x(&self) -> Option<Fr> {
        Some(self.a? * self.b? + self.a? * self.a? + Fr::from(3u64))
    }
}

impl ConstraintSynthesizer<Fr> for Toy {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let x = cs.new_input_variable(|| self.x().ok_or(SynthesisError::AssignmentMissing))?;
        let a = cs.new_witness_variable(|| self.a.ok_or(SynthesisError::AssignmentMissing))?;
        let b = cs.new_witness_variable(|| self.b.ok_or(SynthesisError::AssignmentMissing))?;
        let t = cs.new_witness_variable(|| {
            Ok(self.a.ok_or(SynthesisError::AssignmentMissing)?
                * self.b.ok_or(SynthesisError::AssignmentMissing)?)
        })?;
        let s = cs.new_witness_variable(|| {
            let a = self.a.ok_or(SynthesisError::AssignmentMissing)?;
            Ok(a * a)
        })?;
        cs.enforce_r1cs_constraint(|| lc!() + a, || lc!() + b, || lc!() + t)?;
        cs.enforce_r1cs_constraint(|| lc!() + a, || lc!() + a, || lc!() + s)?;
        cs.enforce_r1cs_constraint(
            || lc!() + t + s + (Fr::from(3u64), Variable::One),
            || lc!() + Variable::One,
            || lc!() + x,
        )?;
        // padding: t·1 = t, s·1 = s (with a coefficient other than 1, to exercise the coefficient encoding)
        let seven = Fr::from(7u64);
        cs.enforce_r1cs_constraint(
            || lc!() + (seven, t),
            || lc!() + Variable::One,
            || lc!() + (seven, t),
        )?;
        cs.enforce_r1cs_constraint(
            || lc!() + s,
            || lc!() + (-seven, Variable::One),
            || lc!() + (-seven, s),
        )?;
        Ok(())
    }
}

struct Synth {
    matrices: Vec<Matrix<Fr>>,
    num_instance: usize,
    num_witness: usize,
    num_constraints: usize,
}

fn synth(toy: Toy, setup: bool) -> (Synth, Vec<Fr>) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(if setup {
        SynthesisMode::Setup
    } else {
        SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: true,
        }
    });
    toy.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    let matrices = cs
        .to_matrices()
        .unwrap()
        .remove(R1CS_PREDICATE_LABEL)
        .unwrap();
    let full = if setup {
        vec![]
    } else {
        let b = cs.borrow().unwrap();
        [
            b.instance_assignment().unwrap(),
            b.witness_assignment().unwrap(),
        ]
        .concat()
    };
    (
        Synth {
            matrices,
            num_instance: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
        },
        full,
    )
}

fn prove_toy(
    pk: &ark_groth16::ProvingKey<Bn254>,
    toy: Toy,
    seed: u64,
) -> ark_groth16::Proof<Bn254> {
    let (s, full) = synth(toy, false);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Groth16::<Bn254, SnarkjsReduction>::create_proof_with_reduction_and_matrices(
        pk,
        Fr::rand(&mut rng),
        Fr::rand(&mut rng),
        &s.matrices,
        s.num_instance,
        s.num_constraints,
        &full,
    )
    .unwrap()
}

fn verify(vk: &ark_groth16::VerifyingKey<Bn254>, x: Fr, proof: &ark_groth16::Proof<Bn254>) -> bool {
    let pvk = ark_groth16::prepare_verifying_key(vk);
    Groth16::<Bn254>::verify_proof(&pvk, proof, &[x]).unwrap()
}

#[test]
fn snarkjs_root_matches_the_arkworks_domain() {
    // the odd points snarkjs evaluates on are the odd powers of the doubled arkworks domain's generator
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    for log in [1u32, 3, 8, 17, 27] {
        let d = Radix2EvaluationDomain::<Fr>::new(1 << log).unwrap();
        assert_eq!(
            snarkjs_root_of_unity::<Fr>(log),
            Some(d.group_gen),
            "2^{log}"
        );
    }
    assert!(snarkjs_root_of_unity::<Fr>(29).is_none());
}

#[test]
fn snarkjs_witness_map_proves_against_its_h_basis() {
    // arkworks' generator with SnarkjsReduction's H scalars ([L_(2i+1)(τ)/δ] of the doubled domain) and the
    // prover with its witness map: honest proofs verify, a wrong witness or public input does not
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let blank = Toy { a: None, b: None };
    let pk = Groth16::<Bn254, SnarkjsReduction>::generate_random_parameters_with_reduction(
        blank, &mut rng,
    )
    .unwrap();
    let (s, _) = synth(Toy { a: None, b: None }, true);
    let domain = (s.num_constraints + s.num_instance).next_power_of_two();
    assert_eq!(pk.h_query.len(), domain);
    for i in 0..5u64 {
        let toy = Toy {
            a: Some(Fr::from(i + 2)),
            b: Some(Fr::from(1000 + i)),
        };
        let x = toy.x().unwrap();
        let proof = prove_toy(&pk, toy, i);
        assert!(verify(&pk.vk, x, &proof));
        assert!(!verify(&pk.vk, x + Fr::from(1u64), &proof));
    }
}

fn snarkjs(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = common::run_snarkjs(dir, args);
    assert!(ok, "snarkjs {args:?} failed:\n{text}");
    text
}

#[test]
fn snarkjs_ceremony_zkey_imports_and_its_proofs_verify_everywhere() {
    common::require_npm("snarkjs", "snarkjs@0.7.6");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (s, _) = synth(Toy { a: None, b: None }, true);
    std::fs::write(
        d.join("toy.r1cs"),
        r1cs_file(&s.matrices, s.num_instance, s.num_witness).unwrap(),
    )
    .unwrap();
    // snarkjs reads our r1cs back
    let info = snarkjs(d, &["r1cs", "info", "toy.r1cs"]);
    assert!(info.contains("# of Constraints: 5"), "{info}");
    // phase 1 (one contribution), phase 2 (two contributions and a beacon), and snarkjs's own full check
    snarkjs(d, &["powersoftau", "new", "bn128", "5", "pot0.ptau"]);
    snarkjs(
        d,
        &[
            "powersoftau",
            "contribute",
            "pot0.ptau",
            "pot1.ptau",
            "--name=alice",
            "-e=alice entropy",
        ],
    );
    snarkjs(
        d,
        &["powersoftau", "prepare", "phase2", "pot1.ptau", "potf.ptau"],
    );
    snarkjs(
        d,
        &["groth16", "setup", "toy.r1cs", "potf.ptau", "toy0.zkey"],
    );
    snarkjs(
        d,
        &[
            "zkey",
            "contribute",
            "toy0.zkey",
            "toy1.zkey",
            "--name=bob",
            "-e=bob entropy",
        ],
    );
    snarkjs(
        d,
        &[
            "zkey",
            "contribute",
            "toy1.zkey",
            "toy2.zkey",
            "--name=carol",
            "-e=carol entropy",
        ],
    );
    snarkjs(
        d,
        &[
            "zkey",
            "beacon",
            "toy2.zkey",
            "toy3.zkey",
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "10",
            "-n=final beacon",
        ],
    );
    let verified = snarkjs(d, &["zkey", "verify", "toy.r1cs", "potf.ptau", "toy3.zkey"]);
    assert!(verified.contains("ZKey Ok!"), "{verified}");
    snarkjs(
        d,
        &["zkey", "export", "verificationkey", "toy3.zkey", "vk.json"],
    );

    let zbytes = std::fs::read(d.join("toy3.zkey")).unwrap();
    // a seed for the zkey_decode fuzz target, on request
    if let Some(keep) = std::env::var_os("CUPROOF_KEEP_ZKEY") {
        std::fs::write(keep, &zbytes).unwrap();
    }
    let z = parse_zkey(&zbytes).unwrap();
    assert_eq!(z.contributions.len(), 3);
    assert_eq!(z.contributions[0].name.as_deref(), Some("bob"));
    assert_eq!(z.contributions[1].name.as_deref(), Some("carol"));
    assert!(z.contributions[2].beacon);
    check_zkey_matches(&z, &s.matrices, s.num_instance, s.num_witness).unwrap();
    // the verifying key is snarkjs's
    let ours = snarkjs::vk_json(&z.pk.vk);
    let theirs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("vk.json")).unwrap()).unwrap();
    for field in ["vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    // proofs with the snarkjs witness map verify here and in snarkjs; a wrong public input does not
    for i in 0..3u64 {
        let toy = Toy {
            a: Some(Fr::from(5 + i)),
            b: Some(Fr::from(77 * (i + 1))),
        };
        let x = toy.x().unwrap();
        let proof = prove_toy(&z.pk, toy, 100 + i);
        assert!(verify(&z.pk.vk, x, &proof));
        assert!(!verify(&z.pk.vk, x + Fr::from(1u64), &proof));
        std::fs::write(
            d.join("proof.json"),
            snarkjs::proof_json(&proof).to_string(),
        )
        .unwrap();
        std::fs::write(
            d.join("public.json"),
            snarkjs::public_json(&[x]).to_string(),
        )
        .unwrap();
        let out = snarkjs(
            d,
            &["groth16", "verify", "vk.json", "public.json", "proof.json"],
        );
        assert!(out.contains("OK!"), "{out}");
    }
    // a proof with arkworks' own witness map does not verify against a zkey (the H bases differ)
    {
        let toy = Toy {
            a: Some(Fr::from(3u64)),
            b: Some(Fr::from(4u64)),
        };
        let x = toy.x().unwrap();
        let (syn, full) = synth(toy, false);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
            &z.pk,
            Fr::rand(&mut rng),
            Fr::rand(&mut rng),
            &syn.matrices,
            syn.num_instance,
            syn.num_constraints,
            &full,
        );
        if let Ok(proof) = proof {
            assert!(!verify(&z.pk.vk, x, &proof));
        }
    }

    // strict parsing: truncation, trailing bytes, a changed coefficient, a zkey for another circuit
    assert!(parse_zkey(&zbytes[..zbytes.len() - 1]).is_err());
    let mut longer = zbytes.clone();
    longer.push(0);
    assert!(parse_zkey(&longer).is_err());
    assert!(parse_zkey(b"zkey").is_err());
    let mut other = s.matrices.clone();
    other[1][3][0].0 += Fr::from(1u64);
    assert!(check_zkey_matches(&z, &other, s.num_instance, s.num_witness).is_err());
    assert!(check_zkey_matches(&z, &s.matrices, s.num_instance, s.num_witness + 1).is_err());
    let err = ProvingKey::from_snarkjs_zkey(1, 1, 1, &zbytes).unwrap_err();
    assert!(err.to_string().contains("zkey"), "{err}");
    let _ = SetupOrigin::SnarkjsCeremony;
}

fn lem_fq(out: &mut Vec<u8>, x: &ark_bn254::Fq) {
    // arkworks keeps Fq in Montgomery form with R = 2^256: exactly snarkjs's LEM bytes
    use ark_ff::BigInteger;
    out.extend_from_slice(&x.0.to_bytes_le());
}

fn lem_g1(out: &mut Vec<u8>, p: &ark_bn254::G1Affine) {
    use ark_ec::AffineRepr;
    match p.xy() {
        Some((x, y)) => {
            lem_fq(out, &x);
            lem_fq(out, &y);
        }
        None => out.extend_from_slice(&[0u8; 64]),
    }
}

fn lem_g2(out: &mut Vec<u8>, p: &ark_bn254::G2Affine) {
    use ark_ec::AffineRepr;
    match p.xy() {
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                lem_fq(out, &c);
            }
        }
        None => out.extend_from_slice(&[0u8; 128]),
    }
}

/// A zkey in snarkjs's layout for an arkworks key whose H query is in snarkjs's basis (made by arkworks'
/// generator with `SnarkjsReduction`): it stands in for a ceremony over the matmul circuit, whose 2^17 domain is
/// too slow for snarkjs in CI. No contributions are recorded.
fn zkey_bytes(
    pk: &ark_groth16::ProvingKey<Bn254>,
    matrices: &[Matrix<Fr>],
    num_instance: usize,
) -> Vec<u8> {
    use ark_ff::{BigInteger, Field, PrimeField};
    let n_vars = pk.a_query.len();
    let n_constraints = matrices[0].len();
    let mut sections: Vec<(u32, Vec<u8>)> = Vec::new();
    sections.push((1, 1u32.to_le_bytes().to_vec()));
    let mut h = Vec::new();
    h.extend_from_slice(&32u32.to_le_bytes());
    h.extend_from_slice(&ark_bn254::Fq::MODULUS.to_bytes_le());
    h.extend_from_slice(&32u32.to_le_bytes());
    h.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    h.extend_from_slice(&(n_vars as u32).to_le_bytes());
    h.extend_from_slice(&((num_instance - 1) as u32).to_le_bytes());
    h.extend_from_slice(&(pk.h_query.len() as u32).to_le_bytes());
    lem_g1(&mut h, &pk.vk.alpha_g1);
    lem_g1(&mut h, &pk.beta_g1);
    lem_g2(&mut h, &pk.vk.beta_g2);
    lem_g2(&mut h, &pk.vk.gamma_g2);
    lem_g1(&mut h, &pk.delta_g1);
    lem_g2(&mut h, &pk.vk.delta_g2);
    sections.push((2, h));
    let mut ic = Vec::new();
    pk.vk.gamma_abc_g1.iter().for_each(|p| lem_g1(&mut ic, p));
    sections.push((3, ic));
    let r = Fr::from(2u64).pow([256u64]);
    let r2 = r * r;
    let mut coeffs = Vec::new();
    let mut count = 0u32;
    let mut push = |m: u32, c: u32, s: u32, v: Fr| {
        coeffs.extend_from_slice(&m.to_le_bytes());
        coeffs.extend_from_slice(&c.to_le_bytes());
        coeffs.extend_from_slice(&s.to_le_bytes());
        coeffs.extend_from_slice(&(v * r2).into_bigint().to_bytes_le());
        count += 1;
    };
    for (mi, mat) in matrices[..2].iter().enumerate() {
        for (ci, row) in mat.iter().enumerate() {
            for (v, var) in row {
                push(mi as u32, ci as u32, *var as u32, *v);
            }
        }
    }
    for s in 0..num_instance {
        push(0, (n_constraints + s) as u32, s as u32, Fr::from(1u64));
    }
    let mut sec4 = count.to_le_bytes().to_vec();
    sec4.extend_from_slice(&coeffs);
    sections.push((4, sec4));
    let g1s = |v: &[ark_bn254::G1Affine]| {
        let mut o = Vec::new();
        v.iter().for_each(|p| lem_g1(&mut o, p));
        o
    };
    sections.push((5, g1s(&pk.a_query)));
    sections.push((6, g1s(&pk.b_g1_query)));
    let mut b2 = Vec::new();
    pk.b_g2_query.iter().for_each(|p| lem_g2(&mut b2, p));
    sections.push((7, b2));
    sections.push((8, g1s(&pk.l_query)));
    sections.push((9, g1s(&pk.h_query)));
    let mut mpc = vec![0u8; 64];
    mpc.extend_from_slice(&0u32.to_le_bytes());
    sections.push((10, mpc));
    let mut out = b"zkey".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for (id, data) in sections {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&data);
    }
    out
}

#[test]
fn matmul_keys_from_a_zkey_prove_and_round_trip() {
    use cuproof_circuits::groth::{read_key_header, verifying_key_from_file_bytes};
    use cuproof_circuits::{prove, verify, MatmulCircuit};
    let (m, k, n) = (2usize, 3usize, 2usize);
    // the r1cs we export is the circuit the zkey is checked against
    let r1cs = cuproof_circuits::matmul_r1cs(m, k, n).unwrap();
    assert_eq!(&r1cs[..4], b"r1cs");
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let ark_pk = Groth16::<Bn254, SnarkjsReduction>::generate_random_parameters_with_reduction(
        MatmulCircuit::blank(m, k, n).unwrap(),
        &mut rng,
    )
    .unwrap();
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    MatmulCircuit::blank(m, k, n)
        .unwrap()
        .generate_constraints(cs.clone())
        .unwrap();
    cs.finalize();
    let matrices = cs
        .to_matrices()
        .unwrap()
        .remove(R1CS_PREDICATE_LABEL)
        .unwrap();
    let z = zkey_bytes(&ark_pk, &matrices, cs.num_instance_variables());

    let pk = ProvingKey::from_snarkjs_zkey(m, k, n, &z).unwrap();
    assert_eq!(pk.origin, SetupOrigin::SnarkjsCeremony);
    assert!(
        pk.rng_source.starts_with("snarkjs ceremony zkey sha256"),
        "{}",
        pk.rng_source
    );
    let (circ, ..) = common::instance(m, k, n, 5);
    let x = circ.public_input().unwrap();
    let proof = prove(&pk, circ, &mut rng, None).unwrap();
    assert!(verify(pk.verifying_key(), &x, &proof).unwrap());
    assert!(!verify(pk.verifying_key(), &(x + Fr::from(1u64)), &proof).unwrap());

    // key files keep the origin (flag 2) and prove the same way after a round trip
    let bytes = pk.to_bytes().unwrap();
    let back = ProvingKey::from_bytes(&bytes).unwrap();
    assert_eq!(back.origin, SetupOrigin::SnarkjsCeremony);
    let (circ, ..) = common::instance(m, k, n, 6);
    let x = circ.public_input().unwrap();
    let proof = prove(&back, circ, &mut rng, None).unwrap();
    assert!(verify(pk.verifying_key(), &x, &proof).unwrap());
    let vkb = pk.verifying_key_bytes().unwrap();
    let header = read_key_header(&vkb).unwrap();
    assert!(!header.test_only);
    assert_eq!(header.origin, SetupOrigin::SnarkjsCeremony);
    let (_, vk) = verifying_key_from_file_bytes(&vkb).unwrap();
    assert_eq!(&vk, pk.verifying_key());

    // the zkey of another shape, or with one coefficient changed, is refused
    assert!(ProvingKey::from_snarkjs_zkey(m, k, n + 1, &z).is_err());
    let mut bad = z.clone();
    // section 4 starts after sections 1..3; find its header (id 4, then a u64 length)
    let mut pos = 12;
    loop {
        let id = u32::from_le_bytes(bad[pos..pos + 4].try_into().unwrap());
        let len = u64::from_le_bytes(bad[pos + 4..pos + 12].try_into().unwrap()) as usize;
        if id == 4 {
            // the first coefficient's value: section data + count (4) + matrix/constraint/signal (12)
            bad[pos + 12 + 4 + 12] ^= 1;
            break;
        }
        pos += 12 + len;
    }
    let err = ProvingKey::from_snarkjs_zkey(m, k, n, &bad).unwrap_err();
    assert!(err.to_string().contains("coefficient"), "{err}");
    // a flag byte other than 1 or 2 is refused
    let mut flagged = bytes.clone();
    flagged[11] = 3;
    assert!(ProvingKey::from_bytes(&flagged).is_err());
}
