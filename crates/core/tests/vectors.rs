//! The commitment test vectors of `docs/commitment.md` (`tests/vectors/commitment.json`).
//!
//! Each case is also recomputed here by an independent, deliberately naive implementation written straight from
//! the specification with the `sha3` crate, so the vectors are checked against two implementations.
//! Regenerate with `CUPROOF_REGEN_VECTORS=1 cargo test -p cuproof-core --test vectors`.

use cuproof_core::commitment::{commit, CommitParams, Commitment, MerkleTree, Opening};
use cuproof_core::HashAlg;
use serde_json::{json, Value};
use sha3::Digest;

const CASES: &[(HashAlg, u8, usize)] = &[
    (HashAlg::Keccak256, 12, 0),
    (HashAlg::Keccak256, 12, 1),
    (HashAlg::Keccak256, 12, 4096),
    (HashAlg::Keccak256, 12, 4097),
    (HashAlg::Keccak256, 12, 12289),
    (HashAlg::Keccak256, 5, 32),
    (HashAlg::Keccak256, 5, 33),
    (HashAlg::Keccak256, 5, 200),
    (HashAlg::Keccak256, 5, 1000),
    (HashAlg::Sha3_256, 12, 0),
    (HashAlg::Sha3_256, 12, 5000),
    (HashAlg::Sha3_256, 5, 200),
];

fn buffer(len: usize) -> Vec<u8> {
    (0..len).map(|j| ((j * 31 + 7) % 251) as u8).collect()
}

fn h(alg: HashAlg, parts: &[&[u8]]) -> [u8; 32] {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
    }
    match alg {
        HashAlg::Keccak256 => sha3::Keccak256::digest(&v).into(),
        HashAlg::Sha3_256 => sha3::Sha3_256::digest(&v).into(),
    }
}

/// Naive second implementation, straight from docs/commitment.md.
fn naive_root(alg: HashAlg, k: u8, data: &[u8]) -> ([u8; 32], [u8; 32]) {
    let c = 1usize << k;
    let mut level: Vec<[u8; 32]> = if data.is_empty() {
        vec![h(alg, &[&[0]])]
    } else {
        data.chunks(c).map(|ch| h(alg, &[&[0], ch])).collect()
    };
    while level.len() > 1 {
        let mut next = Vec::new();
        let mut i = 0;
        while i < level.len() {
            if i + 1 < level.len() {
                next.push(h(alg, &[&[1], &level[i], &level[i + 1]]));
            } else {
                next.push(level[i]);
            }
            i += 2;
        }
        level = next;
    }
    let tree_root = level[0];
    let alg_id = match alg {
        HashAlg::Keccak256 => 1u8,
        HashAlg::Sha3_256 => 2u8,
    };
    let root = h(
        alg,
        &[
            &[2],
            b"cuproof-commit-v1",
            &[alg_id, k],
            &(data.len() as u64).to_le_bytes(),
            &tree_root,
        ],
    );
    (tree_root, root)
}

fn generate() -> Value {
    let mut cases = Vec::new();
    for &(alg, k, len) in CASES {
        let data = buffer(len);
        let p = CommitParams::new(alg, k).unwrap();
        let t = MerkleTree::build(&data, &p);
        let last = p.leaf_count(len as u64) - 1;
        let opening = t.open(&data, last).unwrap();
        cases.push(json!({
            "alg": alg.name(),
            "chunk_log2": k,
            "len": len,
            "tree_root": hex::encode(t.tree_root()),
            "root": hex::encode(t.commitment().root),
            "commitment": t.commitment().to_hex(),
            "opening_index": last,
            "opening": hex::encode(opening.to_bytes()),
        }));
    }
    json!({
        "scheme": "cuproof-commit-v1",
        "buffer": "byte j = (j*31 + 7) mod 251",
        "cases": cases,
    })
}

#[test]
fn commitment_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/commitment.json");
    if std::env::var_os("CUPROOF_REGEN_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
        std::fs::write(path, text).unwrap();
    }
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), CASES.len());
    for case in cases {
        let alg = match case["alg"].as_str().unwrap() {
            "keccak256" => HashAlg::Keccak256,
            "sha3-256" => HashAlg::Sha3_256,
            other => panic!("unknown alg {other}"),
        };
        let k = case["chunk_log2"].as_u64().unwrap() as u8;
        let len = case["len"].as_u64().unwrap() as usize;
        let data = buffer(len);
        let p = CommitParams::new(alg, k).unwrap();
        let c = commit(&data, &p);
        let (naive_tree, naive) = naive_root(alg, k, &data);
        assert_eq!(
            hex::encode(c.root),
            case["root"].as_str().unwrap(),
            "{case}"
        );
        assert_eq!(naive, c.root, "naive implementation disagrees: {case}");
        assert_eq!(hex::encode(naive_tree), case["tree_root"].as_str().unwrap());
        let cb = hex::decode(case["commitment"].as_str().unwrap()).unwrap();
        assert_eq!(Commitment::from_bytes(&cb).unwrap(), c);
        let ob = hex::decode(case["opening"].as_str().unwrap()).unwrap();
        let o = Opening::from_bytes(&ob).unwrap();
        assert_eq!(o.index, case["opening_index"].as_u64().unwrap());
        o.verify(&c).unwrap();
    }
}
