//! The verifier's row check by one random combination (cuproof-capacity `row_check`), differentially against
//! recomputing every row (`workload::expected_rows`): on small workloads, with opened rows that are the true rows
//! with fuzzer-chosen changes, the combination accepts exactly when every opened row is right (a wrong row passes
//! with probability ≤ 2^-60 per request digest, so a disagreement is a bug), and never panics. Input: shape bytes,
//! the request digest, the rows to open, then (row, byte, xor) changes.
#![no_main]
use cuproof_capacity::row_check::opened_rows_hold;
use cuproof_capacity::workload::{b_transposed, expected_rows, Workload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 + 32 + 1 {
        return;
    }
    let (shape, rest) = data.split_at(4);
    let w = Workload {
        m: 1 + u32::from(shape[0] % 6),
        n: 8 << (shape[1] % 3),
        k: 1 + u32::from(shape[2]) * 3,
        iterations: 1 + u32::from(shape[3] % 3),
    };
    let (digest, rest) = rest.split_at(32);
    let digest: [u8; 32] = digest.try_into().expect("32 bytes");
    let count = usize::from(rest[0] % 5);
    let rest = &rest[1..];
    let total = w.total_rows();
    let rows: Vec<u64> = (0..count)
        .map(|i| u64::from(*rest.get(i).unwrap_or(&0)) % total)
        .collect();
    let rest = rest.get(count..).unwrap_or(&[]);
    let seed = [0x5a; 32];
    let bt = b_transposed(&seed, &w);
    let Ok(mut chunks) = expected_rows(&seed, &w, &bt, &rows) else {
        return;
    };
    let truth = chunks.clone();
    for ch in rest.chunks_exact(3) {
        if chunks.is_empty() {
            break;
        }
        let r = usize::from(ch[0]) % chunks.len();
        let b = usize::from(ch[1]) % chunks[r].len();
        chunks[r][b] ^= ch[2];
    }
    let opened: Vec<(u64, &[u8])> = rows.iter().zip(&chunks).map(|(r, c)| (*r, c.as_slice())).collect();
    let all_right = chunks == truth;
    match opened_rows_hold(&seed, &w, &bt, &digest, &opened) {
        Ok(Some(holds)) => assert_eq!(holds, all_right, "combination disagrees with the recomputed rows"),
        Ok(None) => panic!("the combination applies to these shapes"),
        Err(e) => panic!("valid input refused: {e}"),
    }
});
