//! One-shot Keccak-256 / SHA3-256 of `prefix ‖ data`, absorbed straight from `data` with `keccak::f1600`.
//!
//! Every hash of the commitment scheme is a one-byte domain prefix followed by a contiguous message (a chunk, or
//! `left ‖ right`). The `sha3` crate's incremental hasher would take the prefix into its block buffer and then
//! copy or re-split the message around it; here the first block is read from the message with a one-byte shift
//! (`lane 0 = prefix | msg[0..7] << 8`, `lane j = msg[8j-1 .. 8j+7]`), after which the rest of the message is
//! absorbed in whole 136-byte blocks in place. Only the final, padded block is assembled in a buffer.
//!
//! Both hashes share Keccak-f\[1600\] with rate 136 bytes and a 32-byte output; they differ only in the padding's
//! first byte: `0x01` (Keccak, the Ethereum hash) or `0x06` (FIPS 202 SHA3-256), with `0x80` at the rate's end.
//! The tests check this function bit for bit against the `sha3` crate for every message length up to one
//! 4 KiB chunk plus three blocks.

/// Rate of Keccak-256 / SHA3-256 in bytes.
const RATE: usize = 136;

/// Little-endian u64 at `bytes[off..off + 8]`. Indexing a fixed-size array at offsets that are constants after
/// inlining: no bounds checks and no `copy_from_slice` call survive even at the workspace's opt-level 1 (dev
/// profile, which the test suites use), where a slice copy stays an out-of-line call per lane.
#[inline(always)]
fn load<const N: usize>(b: &[u8; N], off: usize) -> u64 {
    u64::from_le_bytes([
        b[off],
        b[off + 1],
        b[off + 2],
        b[off + 3],
        b[off + 4],
        b[off + 5],
        b[off + 6],
        b[off + 7],
    ])
}

/// `state[j] ^= load(bytes, 8 j - shift)` for the lanes listed, unrolled so that every offset is a constant.
macro_rules! xor_lanes {
    ($state:ident, $bytes:ident, $shift:expr, $($j:literal)*) => {
        $( $state[$j] ^= load($bytes, 8 * $j - $shift); )*
    };
}

/// XOR one whole rate block into the state and permute.
#[inline(always)]
fn absorb_block(state: &mut [u64; 25], block: &[u8; RATE]) {
    xor_lanes!(state, block, 0, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    keccak::f1600(state);
}

/// Absorb the first block `prefix ‖ head` (`head` is the message's first `RATE - 1` bytes) and permute.
#[inline(always)]
fn absorb_first(state: &mut [u64; 25], prefix: u8, head: &[u8; RATE - 1]) {
    // Lane 0 holds the prefix and head[0..7]: read head[0..8] and shift the 8th byte out; lane j >= 1 is
    // head[8j - 1 .. 8j + 7].
    state[0] ^= u64::from(prefix) | (load(head, 0) << 8);
    xor_lanes!(state, head, 1, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    keccak::f1600(state);
}

/// `H(prefix ‖ data)` where `pad` is the first padding byte: `0x01` for Keccak-256, `0x06` for SHA3-256.
#[inline]
pub(super) fn hash_prefixed(pad: u8, prefix: u8, data: &[u8]) -> [u8; 32] {
    let mut state = [0u64; 25];
    let mut last = [0u8; RATE];
    let tail_len = match data.split_first_chunk::<{ RATE - 1 }>() {
        Some((head, mut rest)) => {
            absorb_first(&mut state, prefix, head);
            while let Some((block, r)) = rest.split_first_chunk::<RATE>() {
                absorb_block(&mut state, block);
                rest = r;
            }
            last[..rest.len()].copy_from_slice(rest);
            rest.len()
        }
        None => {
            // The whole message (prefix included) is shorter than one block.
            last[0] = prefix;
            last[1..=data.len()].copy_from_slice(data);
            data.len() + 1
        }
    };
    // tail_len < RATE in both branches, so the padding fits in this block (XOR: both ends may coincide).
    last[tail_len] ^= pad;
    last[RATE - 1] ^= 0x80;
    absorb_block(&mut state, &last);
    let mut out = [0u8; 32];
    for (o, s) in out.chunks_exact_mut(8).zip(state.iter()) {
        o.copy_from_slice(&s.to_le_bytes());
    }
    out
}
