//! Buffer commitments: a chunked binary Merkle tree bound to the buffer's length (`docs/commitment.md`).
//!
//! The GPU kernels in `kernels/` compute the same function; this module is the reference they are checked
//! against. [`commit`] hashes the buffer in parallel with rayon, one task per 256 KiB slice (its leaves and the
//! subtree above them), then joins the subtree roots; leaves and nodes are absorbed directly with
//! `keccak::f1600` (private module `sponge`), bit-identical to the `sha3` crate.

mod sponge;

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

/// First padding byte of the sponge: `0x01` (Keccak) or `0x06` (SHA3, FIPS 202 domain bits `01` + pad).
fn pad_byte(alg: HashAlg) -> u8 {
    match alg {
        HashAlg::Keccak256 => 0x01,
        HashAlg::Sha3_256 => 0x06,
    }
}

/// Hash of one leaf: `H(0x00 ‖ chunk)`.
pub fn leaf_hash(alg: HashAlg, chunk: &[u8]) -> [u8; 32] {
    sponge::hash_prefixed(pad_byte(alg), LEAF_PREFIX, chunk)
}

/// Hash of one inner node: `H(0x01 ‖ left ‖ right)`.
pub fn node_hash(alg: HashAlg, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut pair = [0u8; 64];
    pair[..32].copy_from_slice(left);
    pair[32..].copy_from_slice(right);
    sponge::hash_prefixed(pad_byte(alg), NODE_PREFIX, &pair)
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

/// `log2` of the bytes one rayon task of [`commit`] hashes (256 KiB: 1,024 tasks for 256 MiB, enough to balance
/// two to a few dozen cores, few enough that scheduling costs nothing measurable).
const TASK_BYTES_LOG2: u8 = 18;

/// Tree root of consecutive leaves, folded as they come with a stack of complete subtrees (no allocation).
///
/// With promotion of odd last elements, the tree over `r` leaves is the right fold of the complete subtrees of
/// `r`'s binary decomposition: `node(t_1, node(t_2, … node(t_{m-1}, t_m)))`, largest first.
struct Fold {
    alg: HashAlg,
    /// `(height, digest)` of complete subtrees, strictly decreasing heights.
    stack: [(u32, [u8; 32]); 64],
    depth: usize,
}

impl Fold {
    fn new(alg: HashAlg) -> Self {
        Fold {
            alg,
            stack: [(0, [0; 32]); 64],
            depth: 0,
        }
    }

    /// Append the next leaf, merging equal-height subtrees.
    fn push(&mut self, leaf: [u8; 32]) {
        let mut top = (0u32, leaf);
        while self.depth > 0 && self.stack[self.depth - 1].0 == top.0 {
            self.depth -= 1;
            let left = self.stack[self.depth].1;
            top = (top.0 + 1, node_hash(self.alg, &left, &top.1));
        }
        // At most 64 entries with distinct heights: a slice holds fewer than 2^64 leaves.
        self.stack[self.depth] = top;
        self.depth += 1;
    }

    /// Root of everything pushed (`None` when nothing was).
    fn root(&self) -> Option<[u8; 32]> {
        let (last, rest) = self.stack[..self.depth].split_last()?;
        Some(
            rest.iter()
                .rev()
                .fold(last.1, |acc, (_, left)| node_hash(self.alg, left, &acc)),
        )
    }
}

/// Root of the subtree over the chunks of `slice` (non-empty, at most `2^(TASK_BYTES_LOG2 - k)` chunks, starting
/// at a chunk index that is a multiple of that count, so that the subtree is a node of the full tree).
fn subtree_root(alg: HashAlg, slice: &[u8], chunk_size: usize) -> [u8; 32] {
    let mut fold = Fold::new(alg);
    for chunk in slice.chunks(chunk_size) {
        fold.push(leaf_hash(alg, chunk));
    }
    fold.root().unwrap_or_else(|| leaf_hash(alg, &[]))
}

/// Commit to a buffer.
///
/// The buffer is cut into slices of `max(chunk, 256 KiB)` bytes, a power-of-two number of chunks each; rayon
/// hashes each slice's leaves and the subtree above them in one task, so the leaves never go to memory and no
/// level needs a join. The subtree roots are the nodes of the full tree at that height (the last slice's root is
/// its fully reduced, promoted node), and [`tree_root_of_leaves`] finishes the tree over them.
pub fn commit(data: &[u8], params: &CommitParams) -> Commitment {
    commit_in_blocks(data, params, usize::MAX, &mut |_| {})
}

/// Bytes hashed between two calls of the callback of [`commit_with_progress`].
pub const PROGRESS_BLOCK: usize = 64 << 20;

/// [`commit`] with progress: `progress(bytes_done)` is called after every block of about [`PROGRESS_BLOCK`]
/// bytes (and once at the end). The same slices and subtree roots as [`commit`], hashed block by block (a block
/// is a whole number of slices): the same commitment.
pub fn commit_with_progress(
    data: &[u8],
    params: &CommitParams,
    progress: &mut dyn FnMut(u64),
) -> Commitment {
    commit_in_blocks(data, params, PROGRESS_BLOCK, progress)
}

fn commit_in_blocks(
    data: &[u8],
    params: &CommitParams,
    block: usize,
    progress: &mut dyn FnMut(u64),
) -> Commitment {
    let alg = params.alg;
    let chunk_size = params.chunk_size();
    let tree_root = if data.is_empty() {
        leaf_hash(alg, &[])
    } else {
        let slice_bytes = 1usize << TASK_BYTES_LOG2.max(params.chunk_log2);
        let block = slice_bytes.saturating_mul((block / slice_bytes).max(1));
        let mut roots: Vec<[u8; 32]> = Vec::with_capacity(data.len().div_ceil(slice_bytes));
        let mut done = 0u64;
        for part in data.chunks(block) {
            roots.par_extend(
                part.par_chunks(slice_bytes)
                    .map(|slice| subtree_root(alg, slice, chunk_size)),
            );
            done += part.len() as u64;
            progress(done);
        }
        tree_root_of_leaves(alg, roots)
    };
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

    /// The tree of a `len`-byte buffer from its leaf digests alone (e.g. downloaded from the device that hashed the
    /// chunks), without the data: openings then take each chunk from the caller ([`MerkleTree::open_chunk`]).
    pub fn from_leaves(
        params: &CommitParams,
        len: u64,
        leaves: Vec<[u8; 32]>,
    ) -> Result<Self, CommitError> {
        let n = params.leaf_count(len);
        if leaves.len() as u64 != n {
            return Err(CommitError::Length {
                expected: usize::try_from(n).unwrap_or(usize::MAX),
                got: leaves.len(),
            });
        }
        let mut levels = vec![leaves];
        while levels.last().map_or(0, |l| l.len()) > 1 {
            let next = reduce_level(params.alg, levels.last().map_or(&[][..], |l| l));
            levels.push(next);
        }
        Ok(MerkleTree {
            params: *params,
            len,
            levels,
        })
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
        Ok(Opening {
            index,
            chunk: data[start..end].to_vec(),
            path: self.path(index),
        })
    }

    /// Opening of chunk `index` given its bytes (for a tree built [`MerkleTree::from_leaves`]): the chunk must
    /// have the chunk's length and hash to the tree's leaf, so that a wrong chunk is refused here rather than by
    /// the verifier.
    pub fn open_chunk(&self, index: u64, chunk: Vec<u8>) -> Result<Opening, CommitError> {
        let n = self.params.leaf_count(self.len);
        let leaf = self
            .levels
            .first()
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .filter(|_| index < n)
            .ok_or(CommitError::IndexOutOfRange { index, leaves: n })?;
        let cs = self.params.chunk_size() as u64;
        let expected = if self.len == 0 {
            0
        } else {
            (((index + 1) * cs).min(self.len) - index * cs) as usize
        };
        if chunk.len() != expected {
            return Err(CommitError::Length {
                expected,
                got: chunk.len(),
            });
        }
        if !bool::from(leaf_hash(self.params.alg, &chunk).ct_eq(leaf)) {
            return Err(CommitError::Mismatch);
        }
        Ok(Opening {
            index,
            chunk,
            path: self.path(index),
        })
    }

    /// The leaf digests, consuming the tree.
    pub fn into_leaves(self) -> Vec<[u8; 32]> {
        self.levels.into_iter().next().unwrap_or_default()
    }

    /// The sibling digests of leaf `index` from the leaves upwards, promoted levels skipped.
    fn path(&self, index: u64) -> Vec<[u8; 32]> {
        let mut path = Vec::new();
        let mut i = index as usize;
        for level in &self.levels[..self.levels.len() - 1] {
            let sib = i ^ 1;
            if sib < level.len() {
                path.push(level[sib]);
            }
            i >>= 1;
        }
        path
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

    #[test]
    fn block_by_block_commitment_is_the_commitment() {
        let data: Vec<u8> = (0..1_100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            for chunk_log2 in [5u8, 12, 19] {
                let params = CommitParams::new(alg, chunk_log2).expect("params");
                for len in [0usize, 1, 4097, 262_144, 262_145, 1_000_003, 1_100_000] {
                    for block in [1usize, 262_144, 600_000, 1 << 20] {
                        let mut calls = Vec::new();
                        let c =
                            commit_in_blocks(&data[..len], &params, block, &mut |d| calls.push(d));
                        assert_eq!(
                            c,
                            commit(&data[..len], &params),
                            "len {len} k {chunk_log2} block {block}"
                        );
                        if len > 0 {
                            assert_eq!(calls.last().copied(), Some(len as u64));
                            assert!(calls.windows(2).all(|w| w[0] < w[1]));
                        }
                    }
                }
            }
        }
        let p = CommitParams::default();
        let mut last = 0;
        assert_eq!(
            commit_with_progress(&data, &p, &mut |d| last = d),
            commit(&data, &p)
        );
        assert_eq!(last, data.len() as u64);
    }

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
    fn tree_from_leaves_opens_given_chunks() {
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            let p = CommitParams::new(alg, 5).unwrap();
            for n in [0usize, 1, 31, 32, 33, 95, 97, 1000] {
                let d = buf(n);
                let full = MerkleTree::build(&d, &p);
                let t = MerkleTree::from_leaves(&p, n as u64, leaves(&d, &p)).unwrap();
                assert_eq!(t.commitment(), full.commitment());
                let cs = p.chunk_size();
                for i in 0..p.leaf_count(n as u64) {
                    let lo = (i as usize * cs).min(n);
                    let hi = ((i as usize + 1) * cs).min(n);
                    let o = t.open_chunk(i, d[lo..hi].to_vec()).unwrap();
                    assert_eq!(o, full.open(&d, i).unwrap());
                    // a chunk that is not the committed one is refused by the node already
                    if hi > lo {
                        let mut bad = d[lo..hi].to_vec();
                        bad[0] ^= 1;
                        assert!(matches!(t.open_chunk(i, bad), Err(CommitError::Mismatch)));
                        assert!(matches!(
                            t.open_chunk(i, d[lo..hi - 1].to_vec()),
                            Err(CommitError::Length { .. })
                        ));
                    }
                }
                let n_leaves = p.leaf_count(n as u64);
                assert!(matches!(
                    t.open_chunk(n_leaves, vec![]),
                    Err(CommitError::IndexOutOfRange { .. })
                ));
            }
            // the leaf count must be the buffer's
            let d = buf(100);
            let mut l = leaves(&d, &p);
            l.pop();
            assert!(matches!(
                MerkleTree::from_leaves(&p, 100, l),
                Err(CommitError::Length {
                    expected: 4,
                    got: 3
                })
            ));
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

    /// `H(prefix ‖ data)` through the `sha3` crate's incremental hasher (the implementation before `sponge`).
    fn sha3_crate(alg: HashAlg, prefix: u8, data: &[u8]) -> [u8; 32] {
        use sha3::Digest;
        match alg {
            HashAlg::Keccak256 => sha3::Keccak256::new()
                .chain_update([prefix])
                .chain_update(data)
                .finalize()
                .into(),
            HashAlg::Sha3_256 => sha3::Sha3_256::new()
                .chain_update([prefix])
                .chain_update(data)
                .finalize()
                .into(),
        }
    }

    fn random_bytes(rng: &mut rand_chacha::ChaCha20Rng, n: usize) -> Vec<u8> {
        use rand::RngCore;
        let mut v = vec![0u8; n];
        rng.fill_bytes(&mut v);
        v
    }

    #[test]
    fn leaf_hash_matches_sha3_crate_for_every_length() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5eed_1eaf);
        // Every length up to one 4 KiB chunk plus three rate blocks, so that every tail length and every
        // position of the padding relative to the 136-byte blocks occurs at least once.
        for len in 0..=4096 + 3 * 136 + 1 {
            let data = random_bytes(&mut rng, len);
            for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
                assert_eq!(
                    leaf_hash(alg, &data),
                    sha3_crate(alg, LEAF_PREFIX, &data),
                    "{} len {len}",
                    alg.name()
                );
            }
        }
    }

    #[test]
    fn node_hash_matches_sha3_crate() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5eed_40de);
        for _ in 0..64 {
            let mut l = [0u8; 32];
            let mut r = [0u8; 32];
            l.copy_from_slice(&random_bytes(&mut rng, 32));
            r.copy_from_slice(&random_bytes(&mut rng, 32));
            for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
                let lr = [l, r].concat();
                assert_eq!(node_hash(alg, &l, &r), sha3_crate(alg, NODE_PREFIX, &lr));
            }
        }
    }

    /// Level-by-level reference over the `sha3` crate, straight from docs/commitment.md.
    fn reference_tree_root(alg: HashAlg, k: u8, data: &[u8]) -> [u8; 32] {
        let mut level: Vec<[u8; 32]> = if data.is_empty() {
            vec![sha3_crate(alg, LEAF_PREFIX, &[])]
        } else {
            data.chunks(1 << k)
                .map(|c| sha3_crate(alg, LEAF_PREFIX, c))
                .collect()
        };
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| match p {
                    [l, r] => sha3_crate(alg, NODE_PREFIX, &[*l, *r].concat()),
                    [x] => *x,
                    _ => unreachable!("chunks(2)"),
                })
                .collect();
        }
        level[0]
    }

    #[test]
    fn sliced_commit_matches_reference_across_task_boundaries() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5eed_7a5c);
        let slice = 1usize << TASK_BYTES_LOG2;
        let data = random_bytes(&mut rng, 3 * slice + 5000);
        for (alg, k) in [
            (HashAlg::Keccak256, 12),
            (HashAlg::Sha3_256, 12),
            (HashAlg::Keccak256, 5),
            (HashAlg::Keccak256, 19),
        ] {
            let p = CommitParams::new(alg, k).unwrap();
            // Lengths around slice and chunk boundaries: one slice, one slice plus a byte, several slices with a
            // partial last chunk, an odd number of slices.
            for len in [
                slice - 1,
                slice,
                slice + 1,
                2 * slice,
                2 * slice + 4096,
                3 * slice + 1,
                3 * slice + 5000,
            ] {
                let d = &data[..len];
                let c = commit(d, &p);
                let tree_root = reference_tree_root(alg, k, d);
                assert_eq!(
                    c.root,
                    bind_root(&p, len as u64, &tree_root),
                    "k {k} len {len}"
                );
                assert_eq!(
                    MerkleTree::build(d, &p).tree_root(),
                    tree_root,
                    "k {k} len {len}"
                );
            }
        }
    }

    #[test]
    fn fold_matches_level_reduction() {
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            for n in 1..=40u8 {
                let leaves: Vec<[u8; 32]> = (0..n).map(|i| [i; 32]).collect();
                let mut fold = Fold::new(alg);
                for l in &leaves {
                    fold.push(*l);
                }
                assert_eq!(fold.root(), Some(tree_root_of_leaves(alg, leaves)), "n {n}");
            }
            assert_eq!(Fold::new(alg).root(), None);
        }
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
