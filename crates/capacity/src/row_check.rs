//! The verifier's row check in one pass over Bᵀ: a random linear combination of the opened rows of C against the
//! same combination of A's rows times B, over F_p with p = 2^61 − 1 (docs/capacity.md, "The row check").
//!
//! For opened rows `C_i` (global row `row_i`, `A_i` the matching row of `A_t`) and coefficients `ρ_i` derived from
//! the sample request, the check is, for every column `l`,
//!
//! ```text
//! Σ_i ρ_i·C_i[l]  ≡  Σ_j (Σ_i ρ_i·A_i[j])·Bᵀ[l][j]   (mod p)
//! ```
//!
//! which costs one pass over Bᵀ (`4·n·k` 16-bit multiply-adds) whatever the number of samples, where recomputing
//! every row costs `s·n·k`. It applies while no entry of C can wrap (`k ≤` [`MAX_K`]): then every opened entry is
//! either the exact integer or differs from it by a nonzero integer of magnitude `< 2^32 < p`. If some opened row is
//! wrong, take a column `l` where row `i` differs by `d ≠ 0 (mod p)`; for any values of the other coefficients the
//! congruence at `l` holds for exactly one value of `ρ_i`, which a coefficient takes with probability `≤ 2^-60`. The
//! coefficients are hashes of the request digest, which the verifier draws after the commitment is fixed (and the
//! commitment fixes every row the node can open), so a wrong row passes with probability `≤ 2^-60`.

use crate::error::CapacityError;
use crate::workload::{a_row, Workload};
use cuproof_core::hash::tagged_sha256;
use rayon::prelude::*;

/// The prime 2^61 − 1.
pub const P: u64 = (1 << 61) - 1;
/// Largest `k` for which no entry of C can wrap: `k·128·128 < 2^31`.
pub const MAX_K: u32 = 131_071;
/// Domain tag of the coefficients.
pub const TAG_COEFFICIENT: &[u8] = b"cuproof.capacity.row-coefficient.v1";
/// Balanced 16-bit digits of a residue (`p < 2^61`: the top digit is small).
const DIGITS: usize = 4;
/// Terms per int32 partial sum of a digit against Bᵀ: `256·2^15·2^7 = 2^30 < 2^31`.
const CHUNK: usize = 256;

/// `x mod p` for any `x < 2^128`.
fn reduce(x: u128) -> u64 {
    // 2^61 ≡ 1: fold the high part onto the low part until the value is below 2^62, then subtract p at most once
    let mut v = (x & P as u128) + (x >> 61);
    v = (v & P as u128) + (v >> 61);
    let v = v as u64;
    if v >= P {
        v - P
    } else {
        v
    }
}

/// `x mod p` for a signed integer.
fn residue(x: i128) -> u64 {
    if x >= 0 {
        reduce(x as u128)
    } else {
        let r = reduce(x.unsigned_abs());
        if r == 0 {
            0
        } else {
            P - r
        }
    }
}

/// `Σ_i rho[i]·values[i] (mod p)` for residues `rho[i] < p` and `|values[i]| ≤ 2^31`: each product is below 2^92,
/// so the positive and negative parts stay exact in u128 for any number of terms that fits in memory.
fn weighted_sum(rho: &[u64], values: impl Iterator<Item = i64>) -> u64 {
    let (mut pos, mut neg) = (0u128, 0u128);
    for (r, v) in rho.iter().zip(values) {
        let t = *r as u128 * v.unsigned_abs() as u128;
        if v >= 0 {
            pos += t;
        } else {
            neg += t;
        }
    }
    let (p, q) = (reduce(pos), reduce(neg));
    if p >= q {
        p - q
    } else {
        P - (q - p)
    }
}

/// The coefficient of opened row `index`: the first 8 bytes (little-endian) of
/// `H("cuproof.capacity.row-coefficient.v1", request_digest ‖ index:u32le)`, masked to 61 bits and reduced mod p.
pub fn coefficient(request_digest: &[u8; 32], index: u32) -> u64 {
    let h = tagged_sha256(TAG_COEFFICIENT, &[request_digest, &index.to_le_bytes()]);
    let mut w = [0u8; 8];
    w.copy_from_slice(&h[..8]);
    (u64::from_le_bytes(w) & P) % P
}

/// The coefficients of `count` opened rows.
pub fn coefficients(request_digest: &[u8; 32], count: usize) -> Vec<u64> {
    (0..count)
        .map(|i| coefficient(request_digest, i as u32))
        .collect()
}

/// Whether `Σ_i ρ_i·C_i ≡ (Σ_i ρ_i·A_i)·B (mod p)` column by column, for explicit rows: `a_rows[i]` is `k` int8,
/// `c_rows[i]` is `4n` bytes (little-endian int32), `bt` is Bᵀ (`n×k` int8, row-major), `rho[i] < p`.
/// Errors on inconsistent lengths or `k >` [`MAX_K`] (the combination would not be sound: entries could wrap).
/// Sound only for coefficients the producer of the rows could not choose or predict when it fixed them (the
/// verifier's are [`coefficients`] of a request drawn after the commitment): with chosen coefficients, two wrong
/// rows can cancel.
pub fn combination_holds(
    a_rows: &[Vec<i8>],
    bt: &[i8],
    n: usize,
    k: usize,
    rho: &[u64],
    c_rows: &[&[u8]],
) -> Result<bool, CapacityError> {
    let bad = |why: String| Err(CapacityError::Workload(why));
    if k == 0 || k > MAX_K as usize {
        return bad(format!("row combination needs 1 ≤ k ≤ {MAX_K}, not {k}"));
    }
    if bt.len() != n * k {
        return bad(format!("Bᵀ has {} elements, expected {}", bt.len(), n * k));
    }
    if a_rows.len() != rho.len() || c_rows.len() != rho.len() {
        return bad(format!(
            "{} rows of A, {} rows of C, {} coefficients",
            a_rows.len(),
            c_rows.len(),
            rho.len()
        ));
    }
    if let Some(a) = a_rows.iter().find(|a| a.len() != k) {
        return bad(format!("a row of A has {} entries, expected {k}", a.len()));
    }
    if let Some(c) = c_rows.iter().find(|c| c.len() != 4 * n) {
        return bad(format!(
            "a row of C has {} bytes, expected {}",
            c.len(),
            4 * n
        ));
    }
    if let Some(r) = rho.iter().find(|r| **r >= P) {
        return bad(format!("coefficient {r} is not below p"));
    }
    if rho.is_empty() {
        return Ok(true);
    }

    // a = Σ_i ρ_i·A_i (k residues)
    let a: Vec<u64> = (0..k)
        .into_par_iter()
        .map(|j| weighted_sum(rho, a_rows.iter().map(|ar| i64::from(ar[j]))))
        .collect();
    // a in four balanced 16-bit digits, plane by plane: a_j = Σ_b 2^(16b)·plane[b][j], plane[b][j] ∈ [−2^15, 2^15)
    let mut planes: Vec<Vec<i16>> = (0..DIGITS).map(|_| Vec::with_capacity(k)).collect();
    for x in &a {
        let mut v = *x as i64;
        for plane in planes.iter_mut() {
            let d = (v as u16) as i16;
            plane.push(d);
            v = (v - d as i64) >> 16;
        }
        debug_assert_eq!(v, 0);
    }

    // left: (a·B)[l] for every column l, one pass over Bᵀ (each row of Bᵀ meets the four planes)
    let left: Vec<u64> = bt
        .par_chunks_exact(k)
        .map(|row| {
            let mut acc: i128 = 0;
            for (b, plane) in planes.iter().enumerate() {
                let mut s: i64 = 0;
                for (pc, rc) in plane.chunks(CHUNK).zip(row.chunks(CHUNK)) {
                    s += pc
                        .iter()
                        .zip(rc)
                        .fold(0i32, |t, (x, y)| t + *x as i32 * *y as i32)
                        as i64;
                }
                acc += (s as i128) << (16 * b);
            }
            residue(acc)
        })
        .collect();

    // right: Σ_i ρ_i·C_i[l]
    let right: Vec<u64> = (0..n)
        .into_par_iter()
        .map(|l| {
            let entry = |c: &&[u8]| {
                i64::from(i32::from_le_bytes([
                    c[4 * l],
                    c[4 * l + 1],
                    c[4 * l + 2],
                    c[4 * l + 3],
                ]))
            };
            weighted_sum(rho, c_rows.iter().map(entry))
        })
        .collect();
    Ok(left == right)
}

/// The row check of opened rows `(global row, chunk)` of workload `w` by one combination with the coefficients of
/// `request_digest`. `None` where it does not apply — `k >` [`MAX_K`], or a chunk that is not one row of C — and the
/// caller must recompute each row ([`crate::workload::expected_rows`]); `Some(false)` when some row is wrong (then
/// recomputing the rows says which).
pub fn opened_rows_hold(
    work_seed: &[u8; 32],
    w: &Workload,
    bt: &[i8],
    request_digest: &[u8; 32],
    opened: &[(u64, &[u8])],
) -> Result<Option<bool>, CapacityError> {
    w.validate()?;
    if w.k > MAX_K || opened.iter().any(|(_, c)| c.len() != w.row_bytes()) {
        return Ok(None);
    }
    if let Some((row, _)) = opened.iter().find(|(r, _)| *r >= w.total_rows()) {
        return Err(CapacityError::SampleRequest(format!(
            "row {row} out of range ({} rows)",
            w.total_rows()
        )));
    }
    let m = w.m as u64;
    let a_rows: Vec<Vec<i8>> = opened
        .par_iter()
        .map(|(row, _)| a_row(work_seed, w, (row / m) as u32, (row % m) as u32))
        .collect();
    let c_rows: Vec<&[u8]> = opened.iter().map(|(_, c)| *c).collect();
    let rho = coefficients(request_digest, opened.len());
    combination_holds(&a_rows, bt, w.n as usize, w.k as usize, &rho, &c_rows).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{b_transposed, expected_rows};

    fn le(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn product_row(a: &[i8], bt: &[i8], k: usize) -> Vec<i32> {
        bt.chunks_exact(k)
            .map(|b| a.iter().zip(b).map(|(x, y)| *x as i32 * *y as i32).sum())
            .collect()
    }

    #[test]
    fn reduction_matches_u128_remainder() {
        let p = P as u128;
        for x in [
            0u128,
            1,
            p - 1,
            p,
            p + 1,
            2 * p,
            u64::MAX as u128,
            (p - 1) * (p - 1),
            u128::MAX,
            u128::MAX - 1,
            1 << 122,
        ] {
            assert_eq!(reduce(x) as u128, x % p, "{x}");
        }
        for x in [-1i128, -(P as i128), -(P as i128) - 1, i128::MIN + 1, 5] {
            assert_eq!(residue(x) as i128, x.rem_euclid(P as i128), "{x}");
        }
        let rho = [P - 1, P - 1, 1, 0, 1 << 60];
        let vals = [
            i32::MIN as i64,
            i32::MAX as i64,
            -1,
            i32::MIN as i64,
            -12345,
        ];
        let want = rho
            .iter()
            .zip(vals)
            .map(|(r, v)| *r as i128 * v as i128)
            .sum::<i128>()
            .rem_euclid(P as i128);
        assert_eq!(weighted_sum(&rho, vals.into_iter()) as i128, want);
        assert_eq!(
            weighted_sum(&[P - 1; 3], [i32::MIN as i64; 3].into_iter()) as i128,
            (3 * (P as i128 - 1) * i32::MIN as i128).rem_euclid(P as i128)
        );
    }

    #[test]
    fn coefficient_test_vectors() {
        // docs/capacity.md, "The row check" (computed independently with Python's hashlib)
        let zero = [0u8; 32];
        let mut count = [0u8; 32];
        for (i, b) in count.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(coefficient(&zero, 0), 0x054b_75b0_13cd_d54c);
        assert_eq!(coefficient(&zero, 1), 0x1ff5_a23f_62e1_d2c9);
        assert_eq!(coefficient(&zero, 255), 0x050e_ba20_d549_46c9);
        assert_eq!(coefficient(&count, 0), 0x15d6_320a_3bb6_e9b8);
        assert_eq!(coefficient(&count, 1), 0x18a9_2374_87a2_29f3);
        assert_eq!(coefficient(&count, 255), 0x03e2_0ad8_3879_9afb);
    }

    #[test]
    fn coefficients_are_residues_and_depend_on_request_and_index() {
        let d = [3u8; 32];
        let c = coefficients(&d, 64);
        assert!(c.iter().all(|x| *x < P));
        let mut u = c.clone();
        u.sort_unstable();
        u.dedup();
        assert_eq!(u.len(), c.len());
        assert_ne!(coefficients(&[4u8; 32], 1), coefficients(&d, 1));
    }

    #[test]
    fn agrees_with_recomputed_rows_and_catches_any_single_change() {
        let w = Workload {
            m: 5,
            n: 16,
            k: 300,
            iterations: 3,
        };
        let seed = [9u8; 32];
        let bt = b_transposed(&seed, &w);
        let rows = [0u64, 4, 7, 14];
        let good = expected_rows(&seed, &w, &bt, &rows).unwrap();
        let opened: Vec<(u64, &[u8])> = rows
            .iter()
            .zip(&good)
            .map(|(r, c)| (*r, c.as_slice()))
            .collect();
        let digest = [1u8; 32];
        assert_eq!(
            opened_rows_hold(&seed, &w, &bt, &digest, &opened).unwrap(),
            Some(true)
        );
        // every single-entry change, in every row and column, is caught (±1 and a sign flip)
        for i in 0..rows.len() {
            for l in 0..w.n as usize {
                for delta in [1i32, -1, i32::MIN] {
                    let mut bad = good.clone();
                    let at = 4 * l;
                    let v = i32::from_le_bytes(bad[i][at..at + 4].try_into().unwrap());
                    bad[i][at..at + 4].copy_from_slice(&v.wrapping_add(delta).to_le_bytes());
                    let o: Vec<(u64, &[u8])> = rows
                        .iter()
                        .zip(&bad)
                        .map(|(r, c)| (*r, c.as_slice()))
                        .collect();
                    assert_eq!(
                        opened_rows_hold(&seed, &w, &bt, &digest, &o).unwrap(),
                        Some(false),
                        "row {i} column {l} delta {delta}"
                    );
                }
            }
        }
        // a correct row presented under another row's index
        let swapped: Vec<(u64, &[u8])> =
            vec![(0, &good[1]), (4, &good[0]), (7, &good[2]), (14, &good[3])];
        assert_eq!(
            opened_rows_hold(&seed, &w, &bt, &digest, &swapped).unwrap(),
            Some(false)
        );
        // two compensating errors in one column: caught, the coefficients differ
        let mut comp = good.clone();
        for (i, d) in [(0usize, 1i32), (1, -1)] {
            let v = i32::from_le_bytes(comp[i][0..4].try_into().unwrap());
            comp[i][0..4].copy_from_slice(&(v + d).to_le_bytes());
        }
        let o: Vec<(u64, &[u8])> = rows
            .iter()
            .zip(&comp)
            .map(|(r, c)| (*r, c.as_slice()))
            .collect();
        assert_eq!(
            opened_rows_hold(&seed, &w, &bt, &digest, &o).unwrap(),
            Some(false)
        );
        // no rows: nothing to refute
        assert_eq!(
            opened_rows_hold(&seed, &w, &bt, &digest, &[]).unwrap(),
            Some(true)
        );
    }

    #[test]
    fn does_not_apply_where_entries_could_wrap_or_a_chunk_is_not_a_row() {
        let w = Workload {
            m: 2,
            n: 8,
            k: MAX_K + 1,
            iterations: 1,
        };
        let bt = vec![0i8; (w.n * w.k) as usize];
        let c = vec![0u8; w.row_bytes()];
        assert_eq!(
            opened_rows_hold(&[0; 32], &w, &bt, &[0; 32], &[(0, &c)]).unwrap(),
            None
        );
        let w = Workload { k: 64, ..w };
        let bt = vec![0i8; (w.n * w.k) as usize];
        assert_eq!(
            opened_rows_hold(&[0; 32], &w, &bt, &[0; 32], &[(0, &c[..28])]).unwrap(),
            None
        );
        assert!(opened_rows_hold(&[0; 32], &w, &bt, &[0; 32], &[(2, &c)]).is_err());
    }

    #[test]
    fn exact_at_the_extremes() {
        // the largest k without wrap, every product +2^14 (−128·−128) or −128·127, coefficients p − 1: the sides
        // reach their largest magnitudes
        let (n, k) = (8usize, MAX_K as usize);
        let mut bt = vec![-128i8; n * k];
        for x in bt[k..2 * k].iter_mut() {
            *x = 127;
        }
        let a_rows = vec![vec![-128i8; k], vec![127i8; k], vec![-128i8; k]];
        let c: Vec<Vec<u8>> = a_rows.iter().map(|a| le(&product_row(a, &bt, k))).collect();
        assert_eq!(
            i32::from_le_bytes(c[0][0..4].try_into().unwrap()),
            128 * 128 * MAX_K as i32
        );
        let cr: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
        for rho in [
            vec![P - 1; 3],
            vec![0, 1, P - 1],
            vec![1 << 60, (1 << 61) - 2, 12345],
            vec![5, 6, 0],
        ] {
            assert!(combination_holds(&a_rows, &bt, n, k, &rho, &cr).unwrap());
            let mut bad = c.clone();
            bad[2][4 * 7] ^= 1;
            let br: Vec<&[u8]> = bad.iter().map(Vec::as_slice).collect();
            // a zero coefficient on the changed row hides it; the derived coefficients are never chosen that way
            assert_eq!(
                combination_holds(&a_rows, &bt, n, k, &rho, &br).unwrap(),
                rho[2] == 0
            );
        }
    }

    #[test]
    fn exact_with_the_largest_digits() {
        // a = ρ (one row of A of ones): digits of ρ at or next to −2^15 against Bᵀ entries of ±128 and 127 make
        // every int32 partial sum of CHUNK terms as large as it can be
        let (n, k) = (8usize, 4 * CHUNK + 3);
        let mut bt = vec![-128i8; n * k];
        for x in bt[3 * k..4 * k].iter_mut() {
            *x = 127;
        }
        let a_rows = vec![vec![1i8; k]];
        let c = [le(&product_row(&a_rows[0], &bt, k))];
        let cr: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
        for rho in [
            0x8000_8000_8000u64,
            0x1fff_8000_8000_8000,
            P - 1,
            0x1fff_7fff_7fff_7fff,
        ] {
            assert!(
                combination_holds(&a_rows, &bt, n, k, &[rho], &cr).unwrap(),
                "{rho:#x}"
            );
            let mut bad = c[0].clone();
            bad[4 * 3] = bad[4 * 3].wrapping_add(1);
            assert!(!combination_holds(&a_rows, &bt, n, k, &[rho], &[&bad]).unwrap());
        }
    }

    #[test]
    fn rejects_inconsistent_inputs() {
        let bt = vec![1i8; 8 * 4];
        let a = vec![vec![1i8; 4]];
        let c = vec![0u8; 32];
        assert!(combination_holds(&a, &bt, 8, 4, &[1], &[&c]).is_ok());
        assert!(combination_holds(&a, &bt, 8, 5, &[1], &[&c]).is_err());
        assert!(combination_holds(&a, &bt, 8, 4, &[1, 2], &[&c]).is_err());
        assert!(combination_holds(&a, &bt, 8, 4, &[P], &[&c]).is_err());
        assert!(combination_holds(&a, &bt, 8, 4, &[1], &[&c[..31]]).is_err());
        assert!(combination_holds(&[vec![1i8; 3]], &bt, 8, 4, &[1], &[&c]).is_err());
    }
}
