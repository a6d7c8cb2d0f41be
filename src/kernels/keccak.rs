//! Keccak-f\[1600\]: CPU twin of the hand-written `kernels/keccak.ptx` (`cuproof_keccak_f1600_batch`) and of the
//! permutation in `kernels/keccak.cuh`.

/// Entry point of the hand-written PTX module: permutes `count` states of 25 little-endian u64 lanes in place.
pub const ENTRY_F1600_BATCH: &str = "cuproof_keccak_f1600_batch";

/// Keccak-f\[1600\] on one state (lane (x, y) at index x + 5y).
pub fn f1600(state: &mut [u64; 25]) {
    keccak::f1600(state);
}

/// CPU twin of `cuproof_keccak_f1600_batch`: permutes every 25-lane state of `states` (length a multiple of 25;
/// a trailing partial state is left untouched, as the kernel never reads it).
pub fn f1600_batch_cpu(states: &mut [u64]) {
    for chunk in states.chunks_exact_mut(25) {
        let mut s = [0u64; 25];
        s.copy_from_slice(chunk);
        keccak::f1600(&mut s);
        chunk.copy_from_slice(&s);
    }
}
