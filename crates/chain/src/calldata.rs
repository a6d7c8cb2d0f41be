//! ABI encoding of calls to the generated contracts.
//!
//! Every value is one 32-byte big-endian EVM word. A proof is eight words:
//!
//! | word | value                                  |
//! |------|----------------------------------------|
//! | 0, 1 | `A.x`, `A.y` (G1)                      |
//! | 2, 3 | `B.x` imaginary part, `B.x` real part  |
//! | 4, 5 | `B.y` imaginary part, `B.y` real part  |
//! | 6, 7 | `C.x`, `C.y` (G1)                      |
//!
//! G2 coordinates are elements `c0 + c1·i` of F_q², written imaginary part (`c1`) first, which is the order
//! the 0x08 pairing precompile (EIP-197) expects. The point at infinity is written as all-zero words, the
//! precompiles' encoding of infinity.

use ark_bn254::{Bn254, Fq, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::Proof;
use ark_serialize::CanonicalDeserialize;
use revm::primitives::keccak256;

use crate::error::{ChainError, Result};
use crate::statement::Statement;

/// One 32-byte big-endian EVM word.
pub type Word = [u8; 32];

/// Solidity signature of the verifier's entry point.
pub const VERIFY_SIGNATURE: &str = "verifyProof(uint256[8],uint256)";
/// Solidity signature of the receipt contract's entry point.
pub const SUBMIT_SIGNATURE: &str = "submit(uint256[8],bytes32,bytes32,bytes32,bytes32,bytes32)";
/// Solidity signature of the receipt contract's statement compression (a `pure` view).
pub const STATEMENT_INPUT_SIGNATURE: &str =
    "statementPublicInput(bytes32,bytes32,bytes32,bytes32,bytes32)";
/// Solidity signature of the receipt contract's replay-protection lookup.
pub const PROVER_OF_SIGNATURE: &str = "proverOf(bytes32)";

/// The 4-byte function selector of a canonical Solidity signature: the first four bytes of its Keccak-256.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// A base-field element as a big-endian word.
pub fn fq_word(x: &Fq) -> Word {
    be_word(&x.into_bigint().to_bytes_be())
}

/// A scalar as a big-endian word.
pub fn fr_word(x: &Fr) -> Word {
    be_word(&x.into_bigint().to_bytes_be())
}

/// Parse a canonical scalar (strict: rejects words `>= r`).
pub fn fr_from_word(word: &Word) -> Result<Fr> {
    let x = Fr::from_be_bytes_mod_order(word);
    if fr_word(&x) == *word {
        Ok(x)
    } else {
        Err(ChainError::InputOutOfRange)
    }
}

fn be_word(bytes: &[u8]) -> Word {
    // BN254 field elements serialise to exactly 32 bytes; right-align defensively.
    let mut w = [0u8; 32];
    let n = bytes.len().min(32);
    w[32 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    w
}

/// A G1 point as `[x, y]` (infinity as two zero words).
pub fn g1_words(p: &G1Affine) -> [Word; 2] {
    match p.xy() {
        Some((x, y)) => [fq_word(&x), fq_word(&y)],
        None => [[0u8; 32]; 2],
    }
}

/// A G2 point as `[x.c1, x.c0, y.c1, y.c0]` (imaginary part first; infinity as four zero words).
pub fn g2_words(p: &G2Affine) -> [Word; 4] {
    match p.xy() {
        Some((x, y)) => [
            fq_word(&x.c1),
            fq_word(&x.c0),
            fq_word(&y.c1),
            fq_word(&y.c0),
        ],
        None => [[0u8; 32]; 4],
    }
}

/// A proof as the eight words of the `uint256[8]` argument (layout in the module documentation).
pub fn proof_words(proof: &Proof<Bn254>) -> [Word; 8] {
    let a = g1_words(&proof.a);
    let b = g2_words(&proof.b);
    let c = g1_words(&proof.c);
    [a[0], a[1], b[0], b[1], b[2], b[3], c[0], c[1]]
}

/// Parse an arkworks-serialized (compressed, validated) Groth16 proof; trailing bytes are rejected.
pub fn load_proof(bytes: &[u8]) -> Result<Proof<Bn254>> {
    let mut reader = bytes;
    let proof = Proof::<Bn254>::deserialize_compressed(&mut reader)
        .map_err(|e| ChainError::ProofEncoding(e.to_string()))?;
    if !reader.is_empty() {
        return Err(ChainError::ProofEncoding(format!(
            "{} trailing bytes",
            reader.len()
        )));
    }
    Ok(proof)
}

/// Calldata of `verifyProof(uint256[8] proof, uint256 input)`: selector followed by nine words (292 bytes).
pub fn encode_verify(proof: &Proof<Bn254>, public_input: &Fr) -> Vec<u8> {
    encode_verify_words(&proof_words(proof), &fr_word(public_input))
}

/// Calldata of `verifyProof` from raw words, without any range check (lets tests send non-canonical values).
pub fn encode_verify_words(proof: &[Word; 8], input: &Word) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 9 * 32);
    out.extend_from_slice(&selector(VERIFY_SIGNATURE));
    for w in proof {
        out.extend_from_slice(w);
    }
    out.extend_from_slice(input);
    out
}

/// Calldata of `submit(uint256[8] proof, bytes32 circuitId, bytes32 jobDigest, bytes32 commitA,
/// bytes32 commitB, bytes32 commitC)`: selector followed by thirteen words (420 bytes).
pub fn encode_submit(proof: &Proof<Bn254>, statement: &Statement) -> Vec<u8> {
    encode_submit_words(&proof_words(proof), statement)
}

/// Calldata of `submit` from raw proof words.
pub fn encode_submit_words(proof: &[Word; 8], statement: &Statement) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 13 * 32);
    out.extend_from_slice(&selector(SUBMIT_SIGNATURE));
    for w in proof {
        out.extend_from_slice(w);
    }
    for w in statement_words(statement) {
        out.extend_from_slice(w);
    }
    out
}

fn statement_words(s: &Statement) -> [&Word; 5] {
    [
        &s.circuit_id,
        &s.job_digest,
        &s.commit_a,
        &s.commit_b,
        &s.commit_c,
    ]
}

/// Calldata of `statementPublicInput(circuitId, jobDigest, commitA, commitB, commitC)`.
pub fn encode_statement_input(statement: &Statement) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 5 * 32);
    out.extend_from_slice(&selector(STATEMENT_INPUT_SIGNATURE));
    for w in statement_words(statement) {
        out.extend_from_slice(w);
    }
    out
}

/// Calldata of `proverOf(bytes32 jobDigest)`.
pub fn encode_prover_of(job_digest: &Word) -> Vec<u8> {
    let mut out = Vec::with_capacity(36);
    out.extend_from_slice(&selector(PROVER_OF_SIGNATURE));
    out.extend_from_slice(job_digest);
    out
}

/// ABI-encoded constructor arguments of the receipt contract: `(address verifier, bytes32 circuitId)`.
/// Append them to the creation bytecode.
pub fn encode_receipt_constructor(verifier: &[u8; 20], circuit_id: &Word) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&address_word(verifier));
    out.extend_from_slice(circuit_id);
    out
}

/// An address as a left-padded word.
pub fn address_word(addr: &[u8; 20]) -> Word {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(addr);
    w
}

/// Decode an ABI `bool` return value (exactly one word, 0 or 1).
pub fn decode_bool(output: &[u8]) -> Result<bool> {
    let w = decode_word(output)?;
    if w[..31].iter().any(|&b| b != 0) || w[31] > 1 {
        return Err(ChainError::BadBool);
    }
    Ok(w[31] == 1)
}

/// Decode a single-word return value (exactly 32 bytes).
pub fn decode_word(output: &[u8]) -> Result<Word> {
    output.try_into().map_err(|_| ChainError::Length {
        what: "ABI return word",
        expected: 32,
        got: output.len(),
    })
}

/// Decode an ABI `address` return value (exactly one word, upper 12 bytes zero).
pub fn decode_address(output: &[u8]) -> Result<[u8; 20]> {
    let w = decode_word(output)?;
    if w[..12].iter().any(|&b| b != 0) {
        return Err(ChainError::Length {
            what: "ABI address (non-zero padding)",
            expected: 20,
            got: 32,
        });
    }
    let mut a = [0u8; 20];
    a.copy_from_slice(&w[12..]);
    Ok(a)
}

/// Intrinsic calldata gas of a transaction's data (EIP-2028: 16 per non-zero byte, 4 per zero byte).
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4u64 } else { 16 }).sum()
}

/// The gas floor of one verification transaction with `data` as calldata: 21,000 base + calldata gas +
/// 181,000 for the four-pair pairing (45,000 + 4 × 34,000) + 6,150 for one ecMul (6,000) and one ecAdd (150).
pub fn verification_gas_floor(data: &[u8]) -> u64 {
    21_000 + calldata_gas(data) + 45_000 + 4 * 34_000 + 6_000 + 150
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn known_selectors() {
        // Well-known selector sanity check of the keccak implementation.
        assert_eq!(
            selector("transfer(address,uint256)"),
            [0xa9, 0x05, 0x9c, 0xbb]
        );
    }

    #[test]
    fn g2_is_imaginary_first() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let p = (G2Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let (x, y) = p.xy().expect("not infinity");
        let w = g2_words(&p);
        assert_eq!(w[0], fq_word(&x.c1));
        assert_eq!(w[1], fq_word(&x.c0));
        assert_eq!(w[2], fq_word(&y.c1));
        assert_eq!(w[3], fq_word(&y.c0));
        // The generator's x.c0 is the well-known EIP-197 constant 0x1800deef...
        let g = g2_words(&G2Affine::generator());
        assert_eq!(
            hex::encode(g[1]),
            "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
        );
    }

    #[test]
    fn infinity_is_zero_words() {
        assert_eq!(g1_words(&G1Affine::identity()), [[0u8; 32]; 2]);
        assert_eq!(g2_words(&G2Affine::identity()), [[0u8; 32]; 4]);
    }

    #[test]
    fn verify_calldata_layout() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let proof = Proof::<Bn254> {
            a: (G1Affine::generator() * Fr::rand(&mut rng)).into_affine(),
            b: (G2Affine::generator() * Fr::rand(&mut rng)).into_affine(),
            c: (G1Affine::generator() * Fr::rand(&mut rng)).into_affine(),
        };
        let x = Fr::rand(&mut rng);
        let data = encode_verify(&proof, &x);
        assert_eq!(data.len(), 4 + 9 * 32);
        assert_eq!(data[..4], selector(VERIFY_SIGNATURE));
        let words = proof_words(&proof);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(&data[4 + 32 * i..36 + 32 * i], w);
        }
        assert_eq!(&data[4 + 256..], &fr_word(&x));
        let (ax, _) = proof.a.xy().expect("finite");
        assert_eq!(words[0], fq_word(&ax));
    }

    #[test]
    fn strict_scalar_parsing() {
        let r_minus_1 = fr_word(&(-Fr::from(1u64)));
        assert!(fr_from_word(&r_minus_1).is_ok());
        // r itself: r - 1 plus one, big-endian increment.
        let mut r = r_minus_1;
        r[31] += 1; // r - 1 ends in 0x00, so no carry
        assert!(matches!(fr_from_word(&r), Err(ChainError::InputOutOfRange)));
        assert!(matches!(
            fr_from_word(&[0xff; 32]),
            Err(ChainError::InputOutOfRange)
        ));
    }

    #[test]
    fn strict_return_decoding() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(decode_bool(&one).expect("bool"));
        assert!(!decode_bool(&[0u8; 32]).expect("bool"));
        let mut two = one;
        two[31] = 2;
        assert!(matches!(decode_bool(&two), Err(ChainError::BadBool)));
        assert!(matches!(
            decode_bool(&one[..31]),
            Err(ChainError::Length { .. })
        ));
        let mut long = one.to_vec();
        long.push(0);
        assert!(decode_bool(&long).is_err());
        let mut addr = [0u8; 32];
        addr[12..].copy_from_slice(&[0xab; 20]);
        assert_eq!(decode_address(&addr).expect("address"), [0xab; 20]);
        addr[0] = 1;
        assert!(decode_address(&addr).is_err());
    }

    #[test]
    fn proof_bytes_are_parsed_strictly() {
        use ark_serialize::CanonicalSerialize;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let proof = Proof::<Bn254> {
            a: (G1Affine::generator() * Fr::rand(&mut rng)).into_affine(),
            b: (G2Affine::generator() * Fr::rand(&mut rng)).into_affine(),
            c: (G1Affine::generator() * Fr::rand(&mut rng)).into_affine(),
        };
        let mut bytes = Vec::new();
        proof.serialize_compressed(&mut bytes).expect("serialize");
        assert_eq!(load_proof(&bytes).expect("parse"), proof);
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            load_proof(&long),
            Err(ChainError::ProofEncoding(_))
        ));
        assert!(load_proof(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        bad[0] ^= 0x01; // A.x no longer on the curve (or a different point): must not panic
        let _ = load_proof(&bad);
    }

    #[test]
    fn floor_formula() {
        let data = [0u8, 1, 0, 2];
        assert_eq!(calldata_gas(&data), 4 + 16 + 4 + 16);
        assert_eq!(verification_gas_floor(&data), 21_000 + 40 + 181_000 + 6_150);
    }
}
