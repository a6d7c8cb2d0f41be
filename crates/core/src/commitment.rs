//! Buffer commitments: a chunked binary Merkle tree bound to the buffer's length (`docs/commitment.md`).
//!
//! The GPU kernels in `kernels/` compute the same function; this module is the reference they are checked
//! against. Leaves are hashed in parallel with rayon.

use crate::error::CommitError;
use crate::hash::HashAlg;
use rayon::prelude::*;
use subtle::ConstantTimeEq;

/// Tag bound into every root.
pub const ROOT_TAG: &[u8; 17] = b"cuproof-commit-v1";
/// Domain prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain prefix of an inner-node hash.
pub const NODE_PREFIX: u8 = 0x01;
/// Domain prefix of the root hash.
pub const ROOT_PREFIX: u8 = 0x02;
/// Smallest allowed `log2(chunk size)` (32 bytes).
pub const MIN_CHUNK_LOG2: u8 = 5;
/// Largest allowed `log2(chunk size)` (16 MiB).
pub const MAX_CHUNK_LOG2: u8 = 24;
/// Default `log2(chunk size)` (4 KiB).
pub const DEFAULT_CHUNK_LOG2: u8 = 12;
/// Size of an encoded [`Commitment`].
pub const COMMITMENT_LEN: usize = 42;

/// The parameters of a commitment: the hash and the chunk size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommitParams {
    /// Hash function used for leaves, nodes and root.
    pub alg: HashAlg,
    /// `log2` of the chunk size in bytes.
    pub chunk_log2: u8,
}

impl Default for CommitParams {
    fn default() -> Self {
        CommitParams {
            alg: HashAlg::Keccak256,
            chunk_log2: DEFAULT_CHUNK_LOG2,
        }
    }
}

impl CommitParams {
    /// Parameters with a given hash and chunk size, checked.
    pub fn new(alg: HashAlg, chunk_log2: u8) -> Result<Self, CommitError> {
        if !(MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&chunk_log2) {
            return Err(CommitError::ChunkSize(chunk_log2));
        }
        Ok(CommitParams { alg, chunk_log2 })
    }

    /// Chunk size in bytes.
    pub fn chunk_size(&self) -> usize {
        1usize << self.chunk_log2
    }

    /// Number of leaves for a buffer of `len` bytes (at least one).
    pub fn leaf_count(&self, len: u64) -> u64 {
        if len == 0 {
            1
        } else {
            ((len - 1) >> self.chunk_log2) + 1
        }
    }
}

/// A commitment to a byte buffer: 42 bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Commitment {
    /// Commitment parameters.
    pub params: CommitParams,
    /// Exact buffer length in bytes.
    pub len: u64,
    /// The bound root `H(0x02 ‖ tag ‖ alg ‖ k ‖ len ‖ tree_root)`.
    pub root: [u8; 32],
}

impl Commitment {
    /// Canonical 42-byte encoding `alg ‖ k ‖ len:u64le ‖ root`.
    pub fn to_bytes(&self) -> [u8; COMMITMENT_LEN] {
        let mut out = [0u8; COMMITMENT_LEN];
        out[0] = self.params.alg.id();
        out[1] = self.params.chunk_log2;
        out[2..10].copy_from_slice(&self.len.to_le_bytes());
        out[10..].copy_from_slice(&self.root);
        out
    }

    /// Strict decoding of the 42-byte encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CommitError> {
        if bytes.len() != COMMITMENT_LEN {
            return Err(CommitError::Length {
                expected: COMMITMENT_LEN,
                got: bytes.len(),
            });
        }
        let alg = HashAlg::from_id(bytes[0]).ok_or(CommitError::UnknownAlg(bytes[0]))?;
        let params = CommitParams::new(alg, bytes[1])?;
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[2..10]);
        let mut root = [0u8; 32];
        root.copy_from_slice(&bytes[10..]);
        Ok(Commitment {
            params,
            len: u64::from_le_bytes(len),
            root,
        })
    }

    /// Constant-time equality of two commitments.
    pub fn ct_eq(&self, other: &Commitment) -> bool {
        bool::from(self.to_bytes().ct_eq(&other.to_bytes()))
    }

    /// Lower-case hex of the 42-byte encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }
}

/// Hash of one leaf: `H(0x00 ‖ chunk)`.
pub fn leaf_hash(alg: HashAlg, chunk: &[u8]) -> [u8; 32] {
    alg.hash_parts(&[&[LEAF_PREFIX], chunk])
}

/// Hash of one inner node: `H(0x01 ‖ left ‖ right)`.
pub fn node_hash(alg: HashAlg, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    alg.hash_parts(&[&[NODE_PREFIX], left, right])
}

/// The bound root from a tree root.
pub fn bind_root(params: &CommitParams, len: u64, tree_root: &[u8; 32]) -> [u8; 32] {
    params.alg.hash_parts(&[
        &[ROOT_PREFIX],
        ROOT_TAG,
        &[params.alg.id(), params.chunk_log2],
        &len.to_le_bytes(),
        tree_root,
    ])
}

/// All leaf hashes of a buffer, computed in parallel.
pub fn leaves(data: &[u8], params: &CommitParams) -> Vec<[u8; 32]> {
    if data.is_empty() {
        return vec![leaf_hash(params.alg, &[])];
    }
    let alg = params.alg;
    data.par_chunks(params.chunk_size())
        .map(|c| leaf_hash(alg, c))
        .collect()
}

/// Reduce one level to the next: pair neighbours, promote an odd last element.
pub fn reduce_level(alg: HashAlg, level: &[[u8; 32]]) -> Vec<[u8; 32]> {
    const PAR_THRESHOLD: usize = 1024;
    let pair = |p: &[[u8; 32]]| {
        if p.len() == 2 {
            node_hash(alg, &p[0], &p[1])
        } else {
            p[0]
        }
    };
    if level.len() >= PAR_THRESHOLD {
        level.par_chunks(2).map(pair).collect()
    } else {
        level.chunks(2).map(pair).collect()
    }
}

/// The tree root over a list of leaves (at least one).
pub fn tree_root_of_leaves(alg: HashAlg, leaves: Vec<[u8; 32]>) -> [u8; 32] {
    let mut level = leaves;
    while level.len() > 1 {
        level = reduce_level(alg, &level);
    }
    level
        .first()
        .copied()
        .unwrap_or_else(|| leaf_hash(alg, &[]))
}

/// Commit to a buffer.
pub fn commit(data: &[u8], params: &CommitParams) -> Commitment {
    let tree_root = tree_root_of_leaves(params.alg, leaves(data, params));
    let len = data.len() as u64;
    Commitment {
        params: *params,
        len,
        root: bind_root(params, len, &tree_root),
    }
}

/// The full tree kept for producing openings: `levels[0]` are the leaves.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    params: CommitParams,
    len: u64,
    levels: Vec<Vec<[u8; 32]>>,
}

impl MerkleTree {
    /// Build the tree of a buffer.
    pub fn build(data: &[u8], params: &CommitParams) -> Self {
        let mut levels = vec![leaves(data, params)];
        while levels.last().map_or(0, |l| l.len()) > 1 {
            let next = reduce_level(params.alg, levels.last().map_or(&[][..], |l| l));
            levels.push(next);
        }
        MerkleTree {
            params: *params,
            len: data.len() as u64,
            levels,
        }
    }

    /// The tree root (before binding).
    pub fn tree_root(&self) -> [u8; 32] {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or([0; 32])
    }

    /// The commitment.
    pub fn commitment(&self) -> Commitment {
        Commitment {
            params: self.params,
            len: self.len,
            root: bind_root(&self.params, self.len, &self.tree_root()),
        }
    }

    /// Opening of chunk `index` of `data` (which must be the buffer the tree was built from).
    pub fn open(&self, data: &[u8], index: u64) -> Result<Opening, CommitError> {
        let n = self.params.leaf_count(self.len);
        if index >= n || data.len() as u64 != self.len {
            return Err(CommitError::IndexOutOfRange { index, leaves: n });
        }
        let cs = self.params.chunk_size() as u64;
        let start = (index * cs) as usize;
        let end = ((index + 1) * cs).min(self.len) as usize;
        let mut path = Vec::new();
        let mut i = index as usize;
        for level in &self.levels[..self.levels.len() - 1] {
            let sib = i ^ 1;
            if sib < level.len() {
                path.push(level[sib]);
            }
            i >>= 1;
        }
        Ok(Opening {
            index,
            chunk: data[start..end].to_vec(),
            path,
        })
    }
}

/// Proof that chunk `index` of a committed buffer holds `chunk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// Chunk index.
    pub index: u64,
    /// The chunk's bytes.
    pub chunk: Vec<u8>,
    /// Sibling digests from the leaves upwards, promoted levels skipped.
    pub path: Vec<[u8; 32]>,
}

impl Opening {
    /// Verify the opening against a commitment (constant-time final comparison).
    pub fn verify(&self, c: &Commitment) -> Result<(), CommitError> {
        let p = &c.params;
        let n = p.leaf_count(c.len);
        if self.index >= n {
            return Err(CommitError::IndexOutOfRange {
                index: self.index,
                leaves: n,
            });
        }
        let cs = p.chunk_size() as u64;
        let expected_len = if c.len == 0 {
            0
        } else {
            ((self.index + 1) * cs).min(c.len) - self.index * cs
        };
        if self.chunk.len() as u64 != expected_len {
            return Err(CommitError::Length {
                expected: expected_len as usize,
                got: self.chunk.len(),
            });
        }
        let mut acc = leaf_hash(p.alg, &self.chunk);
        let mut i = self.index;
        let mut width = n;
        let mut path = self.path.iter();
        while width > 1 {
            let sib = i ^ 1;
            if sib < width {
                let s = path.next().ok_or(CommitError::PathLength)?;
                acc = if i & 1 == 0 {
                    node_hash(p.alg, &acc, s)
                } else {
                    node_hash(p.alg, s, &acc)
                };
            }
            i >>= 1;
            width = width.div_ceil(2);
        }
        if path.next().is_some() {
            return Err(CommitError::PathLength);
        }
        let root = bind_root(p, c.len, &acc);
        if bool::from(root.ct_eq(&c.root)) {
            Ok(())
        } else {
            Err(CommitError::Mismatch)
        }
    }

    /// Canonical encoding `index:u64le ‖ chunk_len:u32le ‖ chunk ‖ path_len:u8 ‖ path`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.chunk.len() + 32 * self.path.len());
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&(self.chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.chunk);
        out.push(self.path.len() as u8);
        for s in &self.path {
            out.extend_from_slice(s);
        }
        out
    }

    /// Strict decoding (no trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CommitError> {
        let mut r = crate::encoding::Reader::new(bytes);
        let parse =
            |r: &mut crate::encoding::Reader| -> Result<Opening, crate::error::DecodeError> {
                let index = r.u64()?;
                let n = r.u32()? as usize;
                let chunk = r.take(n)?.to_vec();
                let pl = r.u8()? as usize;
                let mut path = Vec::with_capacity(pl.min(64));
                for _ in 0..pl {
                    path.push(r.array32()?);
                }
                r.finish()?;
                Ok(Opening { index, chunk, path })
            };
        parse(&mut r).map_err(CommitError::Decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(n: usize) -> Vec<u8> {
        (0..n).map(|j| ((j * 31 + 7) % 251) as u8).collect()
    }

    #[test]
    fn tree_and_commit_agree() {
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            let p = CommitParams::new(alg, 5).unwrap();
            for n in [0usize, 1, 31, 32, 33, 64, 95, 96, 97, 1000] {
                let d = buf(n);
                let t = MerkleTree::build(&d, &p);
                assert_eq!(t.commitment(), commit(&d, &p));
                for i in 0..p.leaf_count(n as u64) {
                    let o = t.open(&d, i).unwrap();
                    o.verify(&t.commitment()).unwrap();
                    assert_eq!(Opening::from_bytes(&o.to_bytes()).unwrap(), o);
                }
            }
        }
    }

    #[test]
    fn length_and_params_are_bound() {
        let p = CommitParams::default();
        let a = commit(&[1, 2, 3], &p);
        let b = commit(&[1, 2, 3, 0], &p);
        assert_ne!(a.root, b.root);
        let q = CommitParams::new(HashAlg::Keccak256, 5).unwrap();
        assert_ne!(commit(&[1, 2, 3], &q).root, a.root);
        let s = CommitParams::new(HashAlg::Sha3_256, 12).unwrap();
        assert_ne!(commit(&[1, 2, 3], &s).root, a.root);
    }

    #[test]
    fn bad_openings_rejected() {
        let p = CommitParams::new(HashAlg::Keccak256, 5).unwrap();
        let d = buf(200);
        let t = MerkleTree::build(&d, &p);
        let c = t.commitment();
        let o = t.open(&d, 3).unwrap();
        let mut x = o.clone();
        x.chunk[0] ^= 1;
        assert_eq!(x.verify(&c), Err(CommitError::Mismatch));
        let mut x = o.clone();
        x.index = 2;
        assert!(x.verify(&c).is_err());
        let mut x = o.clone();
        x.path.push([0; 32]);
        assert_eq!(x.verify(&c), Err(CommitError::PathLength));
        let mut x = o.clone();
        x.path.pop();
        assert!(x.verify(&c).is_err());
        let mut x = o.clone();
        x.chunk.push(0);
        assert!(x.verify(&c).is_err());
        let mut bytes = o.to_bytes();
        bytes.push(0);
        assert!(Opening::from_bytes(&bytes).is_err());
        assert!(Commitment::from_bytes(&c.to_bytes()[..41]).is_err());
    }
}
