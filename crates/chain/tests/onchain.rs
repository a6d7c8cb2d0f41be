//! End-to-end on-chain tests: real solc (npm `solc`, run with node) compiles the generated verifier and the
//! receipt contract, revm executes them. A tiny Groth16 circuit with one public input supplies real proofs.
//!
//! solc is located through CUPROOF_SOLC_JS, CUPROOF_NODE_MODULES, or `.tools/node/node_modules/solc` in the
//! workspace; these tests fail (they do not skip) when it is missing.

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::{CircuitSpecificSetupSNARK, SNARK};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use cuproof_chain::calldata::{
    self, address_word, decode_address, decode_bool, decode_word, encode_prover_of,
    encode_receipt_constructor, encode_statement_input, encode_submit_words, encode_verify_words,
    fr_word, proof_words, selector, verification_gas_floor, Word,
};
use cuproof_chain::solidity::{
    self, INVALID_PROOF_ERROR, JOB_ALREADY_PROVEN_ERROR, JOB_PROVEN_EVENT, RECEIPT_CONTRACT_NAME,
    VERIFIER_CONTRACT_NAME, VERIFIER_FILE, WRONG_CIRCUIT_ERROR,
};
use cuproof_chain::{
    compile_contracts, compile_with_solc, deploy_receipt_stack, encode_submit, encode_verify,
    verifier_contract, CallStatus, Compiled, RevmHarness, Statement,
};

/// One public input `x`, one witness `w`, constraint `x · x = w` (and `w` is a fresh witness, so the proof
/// is a real Groth16 proof with non-trivial A, B, C).
#[derive(Clone)]
struct SquareCircuit {
    x: Fr,
}

impl ConstraintSynthesizer<Fr> for SquareCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let x = FpVar::new_input(cs.clone(), || Ok(self.x))?;
        let w = FpVar::new_witness(cs, || Ok(self.x * self.x))?;
        (&x * &x).enforce_equal(&w)?;
        Ok(())
    }
}

struct Fixture {
    pk: ProvingKey<Bn254>,
    vk: VerifyingKey<Bn254>,
    compiled: Compiled,
}

fn fixture() -> &'static Fixture {
    static FIX: OnceLock<Fixture> = OnceLock::new();
    FIX.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(0x0063_7570_726f_6f66);
        let (pk, vk) =
            Groth16::<Bn254>::setup(SquareCircuit { x: Fr::from(3u64) }, &mut rng).expect("setup");
        let compiled = compile_contracts(&vk).unwrap_or_else(|e| {
            panic!(
                "solc is required for the on-chain tests (npm solc@{}): {e}",
                cuproof_chain::solc::SOLC_VERSION
            )
        });
        assert!(
            compiled.warnings.is_empty(),
            "solc warnings: {:#?}",
            compiled.warnings
        );
        Fixture { pk, vk, compiled }
    })
}

fn prove(x: Fr, seed: u64) -> Proof<Bn254> {
    let fix = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let proof = Groth16::<Bn254>::prove(&fix.pk, SquareCircuit { x }, &mut rng).expect("prove");
    assert!(Groth16::<Bn254>::verify(&fix.vk, &[x], &proof).expect("native verify"));
    proof
}

fn statement(seed: u8) -> Statement {
    Statement {
        circuit_id: [0xc1; 32],
        job_digest: [seed; 32],
        commit_a: [seed.wrapping_add(1); 32],
        commit_b: [seed.wrapping_add(2); 32],
        commit_c: [seed.wrapping_add(3); 32],
    }
}

fn deploy_verifier(h: &mut RevmHarness) -> [u8; 20] {
    let c = fixture()
        .compiled
        .contract(VERIFIER_CONTRACT_NAME)
        .expect("verifier compiled");
    h.deploy(&c.creation, &[]).expect("deploy verifier").address
}

fn deploy_receipts(h: &mut RevmHarness, verifier: [u8; 20], circuit_id: [u8; 32]) -> [u8; 20] {
    let c = fixture()
        .compiled
        .contract(RECEIPT_CONTRACT_NAME)
        .expect("receipts compiled");
    h.deploy(
        &c.creation,
        &encode_receipt_constructor(&verifier, &circuit_id),
    )
    .expect("deploy receipts")
    .address
}

/// Calls `verifyProof`; returns (accepted, gas). A call that reverts or halts counts as rejection.
fn verify_call(h: &mut RevmHarness, verifier: [u8; 20], data: &[u8]) -> (bool, u64) {
    let out = h
        .call_static(verifier, data)
        .expect("EVM accepted the transaction");
    let accepted = match out.status {
        CallStatus::Success => decode_bool(&out.output).expect("bool return"),
        _ => false,
    };
    (accepted, out.gas_used)
}

/// Adds two big-endian words (no overflow in the cases used here).
fn add_words(a: &Word, b: &Word) -> Word {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0, "word overflow");
    out
}

fn word_from_hex(h: &str) -> Word {
    hex::decode(h.trim_start_matches("0x"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

#[test]
fn selectors_match_solc() {
    let fix = fixture();
    let v = fix
        .compiled
        .contract(VERIFIER_CONTRACT_NAME)
        .expect("verifier");
    assert_eq!(
        v.method_identifiers[calldata::VERIFY_SIGNATURE],
        hex::encode(selector(calldata::VERIFY_SIGNATURE))
    );
    let r = fix
        .compiled
        .contract(RECEIPT_CONTRACT_NAME)
        .expect("receipts");
    for sig in [
        calldata::SUBMIT_SIGNATURE,
        calldata::STATEMENT_INPUT_SIGNATURE,
        calldata::PROVER_OF_SIGNATURE,
    ] {
        assert_eq!(
            r.method_identifiers[sig],
            hex::encode(selector(sig)),
            "{sig}"
        );
    }
}

/// The statement compression test vector: Rust and Solidity agree, and both equal the documented value.
#[test]
fn statement_input_vector_agrees_with_solidity() {
    const VECTOR_X: &str = "0afa3ddb89c5d85b53858f72e6f76a2f69031400b7e7a64cbbe89af47e08970b";
    let mut h = RevmHarness::new();
    let receipts = deploy_receipts(&mut h, [0x77; 20], [0x11; 32]);
    let vector = Statement {
        circuit_id: [0x11; 32],
        job_digest: [0x22; 32],
        commit_a: [0x33; 32],
        commit_b: [0x44; 32],
        commit_c: [0x55; 32],
    };
    let rust = vector.public_input();
    let out = h
        .call_static(receipts, &encode_statement_input(&vector))
        .expect("call");
    assert!(out.is_success());
    let sol = decode_word(&out.output).expect("uint256");
    assert_eq!(sol, rust, "Solidity and Rust disagree on the vector");
    assert_eq!(hex::encode(rust), VECTOR_X, "documented vector changed");
    // A few more statements, including the top bits of the digest.
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    for _ in 0..8 {
        let mut s = vector;
        for f in [
            &mut s.circuit_id,
            &mut s.job_digest,
            &mut s.commit_a,
            &mut s.commit_b,
            &mut s.commit_c,
        ] {
            rand::RngCore::fill_bytes(&mut rng, f);
        }
        let out = h
            .call_static(receipts, &encode_statement_input(&s))
            .expect("call");
        assert_eq!(decode_word(&out.output).expect("uint256"), s.public_input());
        assert!(s.public_input()[0] < 0x20, "masked to 253 bits");
    }
}

#[test]
fn valid_proof_accepted_within_gas_target() {
    let mut h = RevmHarness::new();
    let verifier = deploy_verifier(&mut h);
    let code = &fixture()
        .compiled
        .contract(VERIFIER_CONTRACT_NAME)
        .expect("v")
        .runtime;
    println!("verifier runtime size: {} bytes", code.len());
    let mut worst_ratio = 0f64;
    for seed in 0..4u8 {
        let x = statement(seed).public_input_fr();
        let proof = prove(x, seed as u64);
        let data = encode_verify(&proof, &x);
        let (ok, gas) = verify_call(&mut h, verifier, &data);
        assert!(ok, "valid proof rejected");
        let floor = verification_gas_floor(&data);
        let ratio = gas as f64 / floor as f64;
        worst_ratio = worst_ratio.max(ratio);
        println!(
            "verifyProof gas: {gas} (floor {floor}: calldata {}, ratio {ratio:.5}, overhead {})",
            calldata::calldata_gas(&data),
            gas - floor
        );
        // Gas target: at most 1.01 x floor (integer arithmetic, exact).
        assert!(
            gas * 100 <= floor * 101,
            "gas {gas} exceeds 1.01 x floor {floor}"
        );
        // A committed transaction costs the same.
        let out = h.call(verifier, &data).expect("call");
        assert!(out.is_success());
        assert_eq!(out.gas_used, gas);
    }
    println!("worst gas/floor ratio: {worst_ratio:.5}");
}

#[test]
fn tampered_proofs_rejected() {
    let mut h = RevmHarness::new();
    let verifier = deploy_verifier(&mut h);
    let x = statement(7).public_input_fr();
    let proof = prove(x, 7);
    assert!(verify_call(&mut h, verifier, &encode_verify(&proof, &x)).0);

    let g1 = G1Affine::generator();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let other_g2 = (G2Affine::generator() * Fr::rand(&mut rng)).into_affine();
    let variants: Vec<(&str, Proof<Bn254>)> = vec![
        (
            "-A",
            Proof {
                a: -proof.a,
                ..proof.clone()
            },
        ),
        (
            "C + G",
            Proof {
                c: (G1Projective::from(proof.c) + g1).into_affine(),
                ..proof.clone()
            },
        ),
        (
            "other B",
            Proof {
                b: other_g2,
                ..proof.clone()
            },
        ),
        (
            "A <-> C",
            Proof {
                a: proof.c,
                c: proof.a,
                ..proof.clone()
            },
        ),
        (
            "A = infinity",
            Proof {
                a: G1Affine::identity(),
                ..proof.clone()
            },
        ),
        // A valid proof, but for another statement.
        ("proof of x+1", prove(x + Fr::from(1u64), 8)),
    ];
    for (what, p) in &variants {
        let (ok, _) = verify_call(&mut h, verifier, &encode_verify(p, &x));
        assert!(!ok, "tampered proof accepted: {what}");
    }
    // Raw word corruption: a point that is not on the curve, a flipped bit in B.
    let words = proof_words(&proof);
    for idx in 0..8 {
        let mut w = words;
        w[idx][31] ^= 1;
        let (ok, _) = verify_call(&mut h, verifier, &encode_verify_words(&w, &fr_word(&x)));
        assert!(!ok, "proof with flipped bit in word {idx} accepted");
    }
    // Random words (almost surely not curve points): rejected, never accepted, whatever the precompiles say.
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    for _ in 0..6 {
        let mut w = [[0u8; 32]; 8];
        for word in &mut w {
            rand::RngCore::fill_bytes(&mut rng, word);
            word[0] &= 0x1f; // below q, so the precompiles (not the range checks) must reject them
        }
        let (ok, _) = verify_call(&mut h, verifier, &encode_verify_words(&w, &fr_word(&x)));
        assert!(!ok, "random words accepted");
    }
    // Truncated calldata is refused by the ABI decoder.
    let data = encode_verify(&proof, &x);
    let out = h
        .call_static(verifier, &data[..data.len() - 1])
        .expect("call");
    assert!(!out.is_success(), "short calldata accepted");
}

#[test]
fn wrong_statement_rejected() {
    let mut h = RevmHarness::new();
    let verifier = deploy_verifier(&mut h);
    let s = statement(9);
    let x = s.public_input_fr();
    let proof = prove(x, 9);
    let mut other = s;
    other.commit_c[0] ^= 0x80;
    for wrong in [x + Fr::from(1u64), Fr::from(0u64), other.public_input_fr()] {
        let (ok, _) = verify_call(&mut h, verifier, &encode_verify(&proof, &wrong));
        assert!(!ok, "proof accepted for a wrong statement");
    }
}

#[test]
fn non_canonical_values_rejected() {
    let mut h = RevmHarness::new();
    let verifier = deploy_verifier(&mut h);
    let x = statement(11).public_input_fr();
    let proof = prove(x, 11);
    let words = proof_words(&proof);
    let r = word_from_hex(solidity::R_HEX);
    let q = word_from_hex(solidity::Q_HEX);
    // x + r equals x modulo r: only the explicit range check rejects it.
    let x_plus_r = add_words(&fr_word(&x), &r);
    let (ok, _) = verify_call(&mut h, verifier, &encode_verify_words(&words, &x_plus_r));
    assert!(!ok, "public input x + r accepted");
    for bad in [r, [0xff; 32]] {
        let (ok, _) = verify_call(&mut h, verifier, &encode_verify_words(&words, &bad));
        assert!(!ok, "public input >= r accepted");
    }
    // Every proof coordinate + q is rejected.
    for idx in 0..8 {
        let mut w = words;
        w[idx] = add_words(&w[idx], &q);
        let (ok, _) = verify_call(&mut h, verifier, &encode_verify_words(&w, &fr_word(&x)));
        assert!(!ok, "coordinate {idx} + q accepted");
    }

    // Control: the same verifier without the input range check accepts x + r, so the check above is what
    // rejects it.
    let src = verifier_contract(&fixture().vk).expect("source");
    let weakened = src.replacen(
        &format!("let valid := lt(input, {})", solidity::R_HEX),
        "let valid := 1",
        1,
    );
    assert_ne!(weakened, src, "range check not found in template");
    let compiled = compile_with_solc(&[(VERIFIER_FILE, weakened.as_str())]).expect("solc");
    let weak = h
        .deploy(
            &compiled
                .contract(VERIFIER_CONTRACT_NAME)
                .expect("weak")
                .creation,
            &[],
        )
        .expect("deploy")
        .address;
    let (ok, _) = verify_call(&mut h, weak, &encode_verify_words(&words, &x_plus_r));
    assert!(ok, "control: without the range check x + r verifies");
}

#[test]
fn receipt_contract_records_jobs_and_rejects_replays() {
    let mut h = RevmHarness::new();
    let s = statement(21);
    let stack = deploy_receipt_stack(&mut h, &fixture().compiled, &s.circuit_id).expect("deploy");
    let receipts = stack.receipts.address;
    println!(
        "deployment gas: verifier {}, receipts {}",
        stack.verifier.gas_used, stack.receipts.gas_used
    );
    let proof = prove(s.public_input_fr(), 21);

    // Not yet recorded.
    let out = h
        .call_static(receipts, &encode_prover_of(&s.job_digest))
        .expect("call");
    assert_eq!(decode_address(&out.output).expect("address"), [0u8; 20]);

    // Wrong statement: same proof, a different output commitment.
    let mut wrong = s;
    wrong.commit_c[31] ^= 1;
    let out = h
        .call(receipts, &encode_submit(&proof, &wrong))
        .expect("call");
    assert_eq!(out.revert_selector(), Some(selector(INVALID_PROOF_ERROR)));
    // Wrong circuit.
    let mut wrong_circuit = s;
    wrong_circuit.circuit_id[0] ^= 1;
    let out = h
        .call(receipts, &encode_submit(&proof, &wrong_circuit))
        .expect("call");
    assert_eq!(out.revert_selector(), Some(selector(WRONG_CIRCUIT_ERROR)));
    // Tampered proof.
    let mut w = proof_words(&proof);
    w[6..8].copy_from_slice(
        &proof_words(&Proof {
            c: -proof.c,
            ..proof.clone()
        })[6..8],
    );
    let out = h
        .call(receipts, &encode_submit_words(&w, &s))
        .expect("call");
    assert_eq!(out.revert_selector(), Some(selector(INVALID_PROOF_ERROR)));
    // Nothing was recorded by the failures.
    let out = h
        .call_static(receipts, &encode_prover_of(&s.job_digest))
        .expect("call");
    assert_eq!(decode_address(&out.output).expect("address"), [0u8; 20]);

    // Valid submission, from the proof as a receipt carries it (arkworks compressed bytes).
    let mut proof_bytes = Vec::new();
    ark_serialize::CanonicalSerialize::serialize_compressed(&proof, &mut proof_bytes)
        .expect("serialize");
    let loaded = cuproof_chain::load_proof(&proof_bytes).expect("load proof");
    let data = encode_submit(&loaded, &s);
    assert_eq!(data, encode_submit(&proof, &s));
    let out = h.call(receipts, &data).expect("call");
    assert!(
        out.is_success(),
        "valid submission rejected: {:?}",
        out.status
    );
    println!(
        "submit gas: {} (calldata {} bytes)",
        out.gas_used,
        data.len()
    );
    assert_eq!(decode_word(&out.output).expect("uint256"), s.public_input());
    assert_eq!(out.logs.len(), 1);
    let log = &out.logs[0];
    assert_eq!(log.address, receipts);
    assert_eq!(
        log.topics,
        vec![
            revm::primitives::keccak256(JOB_PROVEN_EVENT.as_bytes()).0,
            s.job_digest,
            s.circuit_id,
            address_word(&h.caller()),
        ]
    );
    let mut expected_data = s.public_input().to_vec();
    expected_data.extend_from_slice(&s.commit_a);
    expected_data.extend_from_slice(&s.commit_b);
    expected_data.extend_from_slice(&s.commit_c);
    assert_eq!(log.data, expected_data);
    let out = h
        .call_static(receipts, &encode_prover_of(&s.job_digest))
        .expect("call");
    assert_eq!(decode_address(&out.output).expect("address"), h.caller());

    // Replay of the same job: same proof, another sender, and a re-randomised proof of the same statement.
    h.set_caller([0x42; 20]);
    let out = h.call(receipts, &data).expect("call");
    assert_eq!(
        out.revert_selector(),
        Some(selector(JOB_ALREADY_PROVEN_ERROR))
    );
    assert_eq!(&out.output[4..], &s.job_digest);
    let fresh = prove(s.public_input_fr(), 2121);
    assert_ne!(proof_words(&fresh), proof_words(&proof));
    let out = h.call(receipts, &encode_submit(&fresh, &s)).expect("call");
    assert_eq!(
        out.revert_selector(),
        Some(selector(JOB_ALREADY_PROVEN_ERROR))
    );

    // Another job is still accepted.
    let mut s2 = s;
    s2.job_digest = [0x99; 32];
    let p2 = prove(s2.public_input_fr(), 22);
    let out = h.call(receipts, &encode_submit(&p2, &s2)).expect("call");
    assert!(out.is_success());
}

#[test]
fn generated_source_is_deterministic_and_uses_the_key() {
    let fix = fixture();
    let a = verifier_contract(&fix.vk).expect("source");
    assert_eq!(a, verifier_contract(&fix.vk).expect("source"));
    let (ax, _) = (-fix.vk.alpha_g1).xy().expect("alpha finite");
    let lit = format!("0x{}", hex::encode(ax.into_bigint().to_bytes_be()));
    assert!(a.contains(&lit));
    // A different key gives a verifier that rejects this key's proofs.
    let mut rng = ChaCha20Rng::seed_from_u64(1234);
    let (_, vk2) =
        Groth16::<Bn254>::setup(SquareCircuit { x: Fr::from(3u64) }, &mut rng).expect("setup");
    let src2 = verifier_contract(&vk2).expect("source");
    assert_ne!(a, src2);
    let compiled = compile_with_solc(&[(VERIFIER_FILE, src2.as_str())]).expect("solc");
    let mut h = RevmHarness::new();
    let v2 = h
        .deploy(
            &compiled
                .contract(VERIFIER_CONTRACT_NAME)
                .expect("v2")
                .creation,
            &[],
        )
        .expect("deploy")
        .address;
    let x = statement(3).public_input_fr();
    let proof = prove(x, 3);
    assert!(!verify_call(&mut h, v2, &encode_verify(&proof, &x)).0);
}
