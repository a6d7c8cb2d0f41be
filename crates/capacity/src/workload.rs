//! The workload of a capacity challenge and everything both sides derive from it: the per-iteration seeds, the
//! commitment parameters, the digests bound into the quotes, and the CPU recomputation of single rows of C.
//!
//! Iteration `t` (0-based) computes `C_t = A_t · B` where `A_t` is `m×k` int8 from the seeded fill
//! ([`cuproof_core::fill`]) with seed `seed_t = H("cuproof.capacity.iter-seed.v1", work_seed ‖ t:u32le)` and stream
//! [`STREAM_A`], and `Bᵀ` is `n×k` int8 from stream [`STREAM_B`] under `work_seed` (shared by all iterations).
//! `C_t` is `m×n` int32, row-major, little-endian, wrapping accumulation (the kernel's and the twin's arithmetic).
//! Row `r` of the whole result is row `r mod m` of iteration `r / m`. `C_t` is committed with one chunk per row.

use crate::error::CapacityError;
use cuproof_core::commitment::CommitParams;
use cuproof_core::fill::{fill_i8, fill_range, STREAM_A, STREAM_B};
use cuproof_core::hash::{sha256, tagged_sha256};
use cuproof_core::HashAlg;
use rayon::prelude::*;

/// Largest number of iterations a workload may have.
pub const MAX_ITERATIONS: u32 = 1 << 16;
/// Largest `n` (a row of C is `4n` bytes and must fit the largest commitment chunk, 16 MiB).
pub const MAX_N: u32 = 1 << 22;
/// Smallest `n` (a row of C must fill the smallest commitment chunk, 32 bytes).
pub const MIN_N: u32 = 8;
/// Largest `k`.
pub const MAX_K: u32 = 1 << 20;
/// Largest number of sampled rows in one challenge.
pub const MAX_SAMPLES: u32 = 4096;

/// Size of a challenge's workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// Rows of A (and of C) per iteration.
    pub m: u32,
    /// Columns of C (rows of Bᵀ); a power of two so that one row of C is one commitment chunk.
    pub n: u32,
    /// Inner dimension.
    pub k: u32,
    /// Number of iterations (independent `A_t`, same B).
    pub iterations: u32,
}

impl Workload {
    /// Checks the ranges: `m ≥ 1`, `n` a power of two in `8..=2^22`, `1 ≤ k ≤ 2^20`, `1 ≤ iterations ≤ 2^16`.
    pub fn validate(&self) -> Result<(), CapacityError> {
        let bad = |why: String| Err(CapacityError::Workload(why));
        if self.m == 0 {
            return bad("m must be at least 1".into());
        }
        if !self.n.is_power_of_two() || !(MIN_N..=MAX_N).contains(&self.n) {
            return bad(format!(
                "n = {} must be a power of two in {MIN_N}..={MAX_N}",
                self.n
            ));
        }
        if self.k == 0 || self.k > MAX_K {
            return bad(format!("k = {} must be in 1..={MAX_K}", self.k));
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return bad(format!(
                "iterations = {} must be in 1..={MAX_ITERATIONS}",
                self.iterations
            ));
        }
        Ok(())
    }

    /// Total rows of the result (`m · iterations`).
    pub fn total_rows(&self) -> u64 {
        self.m as u64 * self.iterations as u64
    }

    /// Bytes of one row of C (`4n`).
    pub fn row_bytes(&self) -> usize {
        4 * self.n as usize
    }

    /// Bytes of `C_t` (`4mn`).
    pub fn iteration_bytes(&self) -> u64 {
        4 * self.m as u64 * self.n as u64
    }

    /// Integer operations of the whole workload (`2·m·n·k·iterations`).
    pub fn ops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64 * self.iterations as f64
    }

    /// The commitment parameters of every `C_t`: Keccak-256, one chunk per row (`2^chunk_log2 = 4n`). (4 KiB
    /// chunks, eight per row at the GPU classes' `n`, were tried and measured 4 % slower on an H100:
    /// docs/perf.md §7.)
    pub fn commit_params(&self) -> Result<CommitParams, CapacityError> {
        self.validate()?;
        let chunk_log2 = (self.row_bytes().trailing_zeros()) as u8;
        CommitParams::new(HashAlg::Keccak256, chunk_log2)
            .map_err(|e| CapacityError::Workload(e.to_string()))
    }

    /// Canonical encoding `m ‖ n ‖ k ‖ iterations` (u32 little-endian each).
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0..4].copy_from_slice(&self.m.to_le_bytes());
        out[4..8].copy_from_slice(&self.n.to_le_bytes());
        out[8..12].copy_from_slice(&self.k.to_le_bytes());
        out[12..16].copy_from_slice(&self.iterations.to_le_bytes());
        out
    }
}

/// Domain tag of the work seed.
pub const TAG_WORK_SEED: &[u8] = b"cuproof.capacity.work-seed.v1";
/// Domain tag of the per-iteration seeds.
pub const TAG_ITER_SEED: &[u8] = b"cuproof.capacity.iter-seed.v1";
/// Domain tag of a quote's digest (attest and signature).
pub const TAG_QUOTE: &[u8] = b"cuproof.capacity.quote.v1";
/// Domain tag of the result digest (the iteration commitments and the cards named).
pub const TAG_RESULT: &[u8] = b"cuproof.capacity.result.v2";
/// Domain tag of Q1's qualifying data.
pub const TAG_Q1: &[u8] = b"cuproof.capacity.q1.v1";
/// Domain tag of Q2's qualifying data.
pub const TAG_Q2: &[u8] = b"cuproof.capacity.q2.v1";

/// The seed the work is generated from: `H("cuproof.capacity.work-seed.v1", challenge_digest ‖ SHA-256(Q1 attest)
/// ‖ SHA-256(Q1 signature))`. It depends on Q1's *signature*, which exists only once the TPM has signed Q1 at clock
/// `t1`: no work can start before `t1`, even by a node that holds the challenge and delays Q1.
pub fn work_seed(challenge_digest: &[u8; 32], q1_attest: &[u8], q1_signature: &[u8]) -> [u8; 32] {
    tagged_sha256(
        TAG_WORK_SEED,
        &[challenge_digest, &sha256(q1_attest), &sha256(q1_signature)],
    )
}

/// Seed of iteration `t`'s matrix A.
pub fn iteration_seed(work_seed: &[u8; 32], t: u32) -> [u8; 32] {
    tagged_sha256(TAG_ITER_SEED, &[work_seed, &t.to_le_bytes()])
}

/// Digest of a quote: `H("cuproof.capacity.quote.v1", len(attest):u32le ‖ attest ‖ len(sig):u32le ‖ sig)`.
pub fn quote_digest(attest: &[u8], signature: &[u8]) -> [u8; 32] {
    tagged_sha256(
        TAG_QUOTE,
        &[
            &(attest.len() as u32).to_le_bytes(),
            attest,
            &(signature.len() as u32).to_le_bytes(),
            signature,
        ],
    )
}

/// Digest of the result: `H("cuproof.capacity.result.v2", workload ‖ count:u32le ‖ commitment_0 ‖ … ‖
/// cards:u32le ‖ (len(name):u32le ‖ name ‖ uuid[16] ‖ len(report):u32le ‖ report ‖ len(chain):u32le ‖ chain) …)`
/// over the 42-byte encodings of the iteration commitments and the cards the node names, each with its GPU
/// evidence (empty report and chain where it has none).
pub fn result_digest(
    workload: &Workload,
    commitments: &[cuproof_core::Commitment],
    cards: &[crate::wire::CardIdentity],
) -> [u8; 32] {
    let enc: Vec<[u8; 42]> = commitments.iter().map(|c| c.to_bytes()).collect();
    let count = (commitments.len() as u32).to_le_bytes();
    let wl = workload.to_bytes();
    let mut parts: Vec<&[u8]> = vec![&wl, &count];
    parts.extend(enc.iter().map(|e| &e[..]));
    let card_count = (cards.len() as u32).to_le_bytes();
    let lens: Vec<[[u8; 4]; 3]> = cards
        .iter()
        .map(|c| {
            let (r, ch) = c
                .evidence
                .as_ref()
                .map(|e| (e.report.len(), e.cert_chain.len()))
                .unwrap_or((0, 0));
            [
                (c.name.len() as u32).to_le_bytes(),
                (r as u32).to_le_bytes(),
                (ch as u32).to_le_bytes(),
            ]
        })
        .collect();
    parts.push(&card_count);
    for (c, len) in cards.iter().zip(&lens) {
        parts.extend([&len[0][..], c.name.as_bytes(), &c.uuid[..], &len[1][..]]);
        if let Some(e) = &c.evidence {
            parts.push(&e.report);
        }
        parts.push(&len[2][..]);
        if let Some(e) = &c.evidence {
            parts.push(&e.cert_chain);
        }
    }
    tagged_sha256(TAG_RESULT, &parts)
}

/// The nonce card `card` (its position in the commit message) signs in its attestation report:
/// [`cuproof_attest::gpu::gpu_nonce`] of `"cuproof.capacity.card.v1" ‖ challenge_digest ‖ card:u32le`. Known once
/// the challenge is, so the report is taken before Q1, outside the timed window; fresh because the challenge is.
pub fn card_nonce(challenge_digest: &[u8; 32], card: u32) -> [u8; 32] {
    let mut ctx = Vec::with_capacity(24 + 32 + 4);
    ctx.extend_from_slice(b"cuproof.capacity.card.v1");
    ctx.extend_from_slice(challenge_digest);
    ctx.extend_from_slice(&card.to_le_bytes());
    cuproof_attest::gpu::gpu_nonce(&ctx)
}

/// Q1's qualifying data: `H("cuproof.capacity.q1.v1", challenge_digest)`; the challenge digest covers the nonce,
/// the seed and every parameter.
pub fn q1_qualifying_data(challenge_digest: &[u8; 32]) -> [u8; 32] {
    tagged_sha256(TAG_Q1, &[challenge_digest])
}

/// Q2's qualifying data: `H("cuproof.capacity.q2.v1", challenge_digest ‖ result_digest ‖ quote_digest(Q1))`.
pub fn q2_qualifying_data(
    challenge_digest: &[u8; 32],
    result_digest: &[u8; 32],
    q1_digest: &[u8; 32],
) -> [u8; 32] {
    tagged_sha256(TAG_Q2, &[challenge_digest, result_digest, q1_digest])
}

/// Bᵀ (`n×k` int8) of a challenge: the whole of it, which every row of C needs.
pub fn b_transposed(work_seed: &[u8; 32], w: &Workload) -> Vec<i8> {
    fill_i8(work_seed, STREAM_B, w.n as usize * w.k as usize)
}

/// Row `i` of `A_t` (`k` int8), computed alone from the counter-based fill.
pub fn a_row(work_seed: &[u8; 32], w: &Workload, t: u32, i: u32) -> Vec<i8> {
    let seed_t = iteration_seed(work_seed, t);
    let mut buf = vec![0u8; w.k as usize];
    fill_range(&seed_t, STREAM_A, i as u64 * w.k as u64, &mut buf);
    buf.into_iter().map(|b| b as i8).collect()
}

/// Row `row` (global index, `< m·iterations`) of the result as its little-endian bytes, recomputed on the CPU from
/// the seed: `k` bytes of A and the given Bᵀ (from [`b_transposed`]).
pub fn expected_row(
    work_seed: &[u8; 32],
    w: &Workload,
    bt: &[i8],
    row: u64,
) -> Result<Vec<u8>, CapacityError> {
    let mut v = expected_rows(work_seed, w, bt, &[row])?;
    v.pop()
        .ok_or_else(|| CapacityError::Workload("no row computed".into()))
}

/// Bᵀ rows per block of [`expected_rows`]: 16 rows of `k ≤ 2^20` bytes; at the classes' `k = 16384` a block is
/// 256 KiB, which stays in a core's L2 while every requested row of A passes over it.
const BT_BLOCK_ROWS: usize = 16;

/// [`expected_row`] of several rows at once, in the given order. Bᵀ (128 MiB at class sizes) is read from memory
/// once for all of them instead of once per row (each cached block of Bᵀ meets every requested row of A).
pub fn expected_rows(
    work_seed: &[u8; 32],
    w: &Workload,
    bt: &[i8],
    rows: &[u64],
) -> Result<Vec<Vec<u8>>, CapacityError> {
    w.validate()?;
    let (n, k) = (w.n as usize, w.k as usize);
    if bt.len() != n * k {
        return Err(CapacityError::Workload(format!(
            "Bᵀ has {} elements, expected {}",
            bt.len(),
            n * k
        )));
    }
    if let Some(row) = rows.iter().find(|r| **r >= w.total_rows()) {
        return Err(CapacityError::SampleRequest(format!(
            "row {row} out of range ({} rows)",
            w.total_rows()
        )));
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let m = w.m as u64;
    let a: Vec<Vec<i8>> = rows
        .par_iter()
        .map(|row| a_row(work_seed, w, (row / m) as u32, (row % m) as u32))
        .collect();
    // block b of Bᵀ -> its dot products, row-major: [requested row][Bᵀ row of the block]
    let blocks: Vec<Vec<i32>> = bt
        .par_chunks(BT_BLOCK_ROWS * k)
        .map(|blk| {
            let nb = blk.len() / k;
            let mut out = vec![0i32; a.len() * nb];
            for (o, ar) in out.chunks_mut(nb).zip(&a) {
                for (x, br) in o.iter_mut().zip(blk.chunks_exact(k)) {
                    *x = ar
                        .iter()
                        .zip(br)
                        .fold(0i32, |acc, (p, q)| acc.wrapping_add(*p as i32 * *q as i32));
                }
            }
            out
        })
        .collect();
    let mut res: Vec<Vec<u8>> = (0..rows.len()).map(|_| Vec::with_capacity(4 * n)).collect();
    for blk in &blocks {
        let nb = blk.len() / rows.len();
        for (r, vals) in res.iter_mut().zip(blk.chunks_exact(nb)) {
            for v in vals {
                r.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_ranges() {
        let ok = Workload {
            m: 3,
            n: 8,
            k: 5,
            iterations: 2,
        };
        ok.validate().unwrap();
        assert_eq!(ok.commit_params().unwrap().chunk_size(), 32);
        for bad in [
            Workload { m: 0, ..ok },
            Workload { n: 12, ..ok },
            Workload { n: 4, ..ok },
            Workload { k: 0, ..ok },
            Workload {
                iterations: 0,
                ..ok
            },
            Workload {
                iterations: MAX_ITERATIONS + 1,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rows_match_a_full_product() {
        let w = Workload {
            m: 5,
            n: 8,
            k: 37,
            iterations: 3,
        };
        let seed = [9u8; 32];
        let bt = b_transposed(&seed, &w);
        for t in 0..w.iterations {
            let a = fill_i8(&iteration_seed(&seed, t), STREAM_A, (w.m * w.k) as usize);
            for i in 0..w.m as usize {
                let mut want = Vec::new();
                for j in 0..w.n as usize {
                    let mut acc = 0i32;
                    for l in 0..w.k as usize {
                        acc = acc.wrapping_add(
                            a[i * w.k as usize + l] as i32 * bt[j * w.k as usize + l] as i32,
                        );
                    }
                    want.extend_from_slice(&acc.to_le_bytes());
                }
                let row = t as u64 * w.m as u64 + i as u64;
                assert_eq!(expected_row(&seed, &w, &bt, row).unwrap(), want);
            }
        }
        assert!(expected_row(&seed, &w, &bt, w.total_rows()).is_err());
        assert!(expected_row(&seed, &w, &bt[1..], 0).is_err());
        // all rows at once, in any order and with repeats, are the same rows
        let rows: Vec<u64> = vec![5, 0, w.total_rows() - 1, 5, 7];
        let batch = expected_rows(&seed, &w, &bt, &rows).unwrap();
        for (r, got) in rows.iter().zip(&batch) {
            assert_eq!(*got, expected_row(&seed, &w, &bt, *r).unwrap());
        }
        assert!(expected_rows(&seed, &w, &bt, &[]).unwrap().is_empty());
        assert!(expected_rows(&seed, &w, &bt, &[0, w.total_rows()]).is_err());
        // several blocks of Bᵀ (n = 64: four blocks of 16 rows)
        let w2 = Workload {
            m: 3,
            n: 64,
            k: 19,
            iterations: 2,
        };
        let bt2 = b_transposed(&seed, &w2);
        let all: Vec<u64> = (0..w2.total_rows()).rev().collect();
        for (r, got) in all
            .iter()
            .zip(expected_rows(&seed, &w2, &bt2, &all).unwrap())
        {
            let a = a_row(&seed, &w2, (r / 3) as u32, (r % 3) as u32);
            let want: Vec<u8> = bt2
                .chunks(19)
                .flat_map(|b| {
                    a.iter()
                        .zip(b)
                        .fold(0i32, |acc, (x, y)| acc.wrapping_add(*x as i32 * *y as i32))
                        .to_le_bytes()
                })
                .collect();
            assert_eq!(got, want, "row {r}");
        }
    }

    #[test]
    fn seeds_are_separated() {
        let d = [1u8; 32];
        let s = work_seed(&d, b"attest", b"sig");
        assert_ne!(s, work_seed(&d, b"attest", b"sig2"));
        assert_ne!(s, work_seed(&d, b"attest2", b"sig"));
        assert_ne!(iteration_seed(&s, 0), iteration_seed(&s, 1));
        assert_ne!(quote_digest(b"ab", b"c"), quote_digest(b"a", b"bc"));
    }
}
