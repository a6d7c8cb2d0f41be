//! Soundness and binding on one 8×8×8 key: a wrong C cannot give an accepted proof, a proof does not verify
//! against another statement, key files and proofs parse strictly, and `snarkjs groth16 verify` (npm snarkjs
//! 0.7.6) accepts our exported verifying key, proof and public signal and rejects a tampered public signal.

use crate::common;

use std::sync::OnceLock;

use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar, uint8::UInt8};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use cuproof_circuits::{
    groth::{self, ProvingKey},
    matmul::MatmulStatement,
    matmul_circuit_id, proof_from_bytes, proof_to_bytes, prove, prove_unchecked, snarkjs,
    statement, statement_public_input, verify, Error, Fr, MatmulCircuit,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const M: usize = 8;
const K: usize = 8;
const N: usize = 8;

fn key() -> &'static ProvingKey {
    static KEY: OnceLock<ProvingKey> = OnceLock::new();
    KEY.get_or_init(|| groth::setup_from_seed(M, K, N, [42; 32]).expect("setup"))
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(99)
}

#[test]
fn single_wrong_entry_of_c_is_rejected() {
    let (_, a, b, c) = common::instance(M, K, N, 3);
    for (idx, delta) in [(0usize, 1i32), (37, -1), (63, 1 << 20)] {
        let mut bad = c.clone();
        bad[idx] = bad[idx].wrapping_add(delta);
        let circ = MatmulCircuit::new(M, K, N, a.clone(), b.clone(), bad, [3; 32]).unwrap();
        // The constraint system is unsatisfied.
        let cs = ConstraintSystem::<Fr>::new_ref();
        circ.clone().generate_constraints(cs.clone()).unwrap();
        assert!(
            !cs.is_satisfied().unwrap(),
            "entry {idx}: constraints satisfied with a wrong C"
        );
        // The checked prover refuses.
        assert!(matches!(
            prove(key(), circ.clone(), &mut rng(), None),
            Err(Error::WrongProduct)
        ));
        // A proof forced from the forged witness does not verify for its statement.
        let x = circ.public_input().unwrap();
        let forged = prove_unchecked(key(), circ, &mut rng(), None).unwrap();
        assert!(
            !verify(key().verifying_key(), &x, &forged).unwrap(),
            "entry {idx}: forged proof accepted"
        );
    }
}

#[test]
fn proof_does_not_verify_for_another_statement() {
    let (circ, a, b, c) = common::instance(M, K, N, 5);
    let st = circ.statement().unwrap();
    let x = circ.public_input().unwrap();
    assert_eq!(x, st.public_input());
    let proof = prove(key(), circ, &mut rng(), None).unwrap();
    let vk = key().verifying_key();
    assert!(verify(vk, &x, &proof).unwrap());
    // Another job digest, other commitments, another circuit id: other x, rejected.
    let others = [
        MatmulStatement {
            job_digest: [6; 32],
            ..st.clone()
        },
        MatmulStatement {
            commit_a: st.commit_b,
            ..st.clone()
        },
        MatmulStatement {
            commit_c: st.commit_c + Fr::from(1u64),
            ..st.clone()
        },
        MatmulStatement {
            circuit_id: matmul_circuit_id(8, 8, 9),
            ..st.clone()
        },
    ];
    for other in others {
        let y = other.public_input();
        assert_ne!(x, y);
        assert!(!verify(vk, &y, &proof).unwrap());
    }
    // A correct product with another job digest proves its own statement only.
    let circ2 = MatmulCircuit::new(M, K, N, a, b, c, [6; 32]).unwrap();
    let y = circ2.public_input().unwrap();
    let proof2 = prove(key(), circ2, &mut rng(), None).unwrap();
    assert!(verify(vk, &y, &proof2).unwrap());
    assert!(!verify(vk, &x, &proof2).unwrap());
    // Proof bytes round trip, strictly.
    let bytes = proof_to_bytes(&proof).unwrap();
    assert_eq!(proof_from_bytes(&bytes).unwrap(), proof);
    assert!(proof_from_bytes(&bytes[..127]).is_err());
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(proof_from_bytes(&longer).is_err());
    let evm = groth::proof_to_evm_bytes(&proof);
    assert_eq!(evm.len(), 256);
}

#[test]
fn statement_gadget_binds_the_job_digest() {
    // The in-circuit statement equals the native one, and a wrong x makes the system unsatisfied.
    let (circ, ..) = common::instance(M, K, N, 9);
    let st = circ.statement().unwrap();
    let x = statement_public_input(
        &st.circuit_id,
        &st.job_digest,
        &st.commit_a,
        &st.commit_b,
        &st.commit_c,
    );
    let cs = ConstraintSystem::<Fr>::new_ref();
    let job = UInt8::new_witness_vec(cs.clone(), &st.job_digest).unwrap();
    let ca = FpVar::new_witness(cs.clone(), || Ok(st.commit_a)).unwrap();
    let cb = FpVar::new_witness(cs.clone(), || Ok(st.commit_b)).unwrap();
    let cc = FpVar::new_witness(cs.clone(), || Ok(st.commit_c)).unwrap();
    let xv = FpVar::new_input(cs.clone(), || Ok(x + Fr::from(1u64))).unwrap();
    statement::enforce_statement(&xv, &st.circuit_id, &job, &ca, &cb, &cc).unwrap();
    assert!(!cs.is_satisfied().unwrap());
}

#[test]
fn key_files_round_trip_and_reject_tampering() {
    let pk = key();
    let bytes = pk.to_bytes().unwrap();
    let header = groth::read_key_header(&bytes).unwrap();
    assert_eq!(header.shape, (M, K, N));
    assert!(header.test_only);
    assert!(header.rng_source.contains("ChaCha20Rng seed 2a2a"));
    assert_eq!(header.circuit_id, matmul_circuit_id(8, 8, 8));
    assert_eq!(header.digest, pk.key_digest().unwrap());
    let back = ProvingKey::from_bytes(&bytes).unwrap();
    assert_eq!(back.size(), pk.size());
    assert_eq!(&back.pk, &pk.pk);
    // The loaded key proves (matrices reused from the file).
    let (circ, ..) = common::instance(M, K, N, 11);
    let x = circ.public_input().unwrap();
    let proof = prove(&back, circ, &mut rng(), None).unwrap();
    assert!(verify(pk.verifying_key(), &x, &proof).unwrap());

    // Tampering: one flipped body byte, one flipped header byte, truncation, trailing byte.
    let mut t = bytes.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert!(ProvingKey::from_bytes(&t).is_err());
    let mut t = bytes.clone();
    t[20] ^= 1; // inside the circuit id
    assert!(ProvingKey::from_bytes(&t).is_err());
    assert!(ProvingKey::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut t = bytes.clone();
    t.push(0);
    assert!(ProvingKey::from_bytes(&t).is_err());

    // Verifying key file.
    let vkf = pk.verifying_key_bytes().unwrap();
    let (h, vk) = groth::verifying_key_from_file_bytes(&vkf).unwrap();
    assert_eq!(h.kind, 2);
    assert_eq!(&vk, pk.verifying_key());
    assert!(ProvingKey::from_bytes(&vkf).is_err());
    let mut t = vkf.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert!(groth::verifying_key_from_file_bytes(&t).is_err());
}

#[test]
fn wrong_shape_is_refused() {
    let (circ, ..) = common::instance(8, 8, 4, 1);
    assert!(matches!(
        prove(key(), circ, &mut rng(), None),
        Err(Error::KeyMismatch(_))
    ));
    let blank = MatmulCircuit::blank(M, K, N).unwrap();
    assert!(prove_unchecked(key(), blank, &mut rng(), None).is_err());
}

fn snarkjs_verify(dir: &std::path::Path, vk: &str, public: &str, proof: &str) -> (bool, String) {
    let write = |name: &str, s: &str| {
        let p = dir.join(name);
        std::fs::write(&p, s).unwrap();
        p
    };
    let vkp = write("verification_key.json", vk);
    let pubp = write("public.json", public);
    let prp = write("proof.json", proof);
    let (ok, text) = common::run_snarkjs(
        dir,
        &[
            "groth16".as_ref(),
            "verify".as_ref(),
            vkp.as_os_str(),
            pubp.as_os_str(),
            prp.as_os_str(),
        ],
    );
    (ok && text.contains("OK!"), text)
}

#[test]
fn snarkjs_accepts_our_proof_and_rejects_tampered_signal() {
    common::require_npm("snarkjs", "snarkjs@0.7.6");
    let pk = key();
    let (circ, ..) = common::instance(M, K, N, 21);
    let x = circ.public_input().unwrap();
    let proof = prove(pk, circ, &mut rng(), None).unwrap();
    assert!(groth::verify(pk.verifying_key(), &x, &proof).unwrap());

    let vk = snarkjs::vk_json(pk.verifying_key()).to_string();
    let pr = snarkjs::proof_json(&proof).to_string();
    let tmp = tempfile::tempdir().unwrap();
    let (ok, text) = snarkjs_verify(
        tmp.path(),
        &vk,
        &snarkjs::public_json(&[x]).to_string(),
        &pr,
    );
    assert!(ok, "snarkjs rejected our proof:\n{text}");

    let (ok, text) = snarkjs_verify(
        tmp.path(),
        &vk,
        &snarkjs::public_json(&[x + Fr::from(1u64)]).to_string(),
        &pr,
    );
    assert!(!ok, "snarkjs accepted a tampered public signal:\n{text}");
}
