//! The kernels' own source compiled for the host (`cuproof::host`) against the references: Keccak against the
//! `sha3` and `keccak` crates, the commitment against `cuproof_core::commitment`, the GEMM tile math against a
//! naive product, the fill and the Freivalds vectors against the Rust twins — all on random inputs.

use cuproof::host;
use cuproof::kernels::{fill, freivalds, gemm};
use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::HashAlg;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha3::Digest;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x6375_7072_6f6f_6631)
}

fn random_bytes(r: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    r.fill_bytes(&mut v);
    v
}

fn random_i8(r: &mut ChaCha20Rng, n: usize) -> Vec<i8> {
    random_bytes(r, n).into_iter().map(|b| b as i8).collect()
}

#[test]
fn permutation_matches_keccak_crate() {
    let mut r = rng();
    for _ in 0..64 {
        let mut a = [0u64; 25];
        for x in a.iter_mut() {
            *x = r.gen();
        }
        let mut b = a;
        host::keccak_f1600(&mut a);
        keccak::f1600(&mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn prefixed_hash_matches_sha3_crate() {
    let mut r = rng();
    let mut lens: Vec<usize> = (0..300).collect();
    lens.extend([407, 408, 543, 544, 1000, 4095, 4096, 4097]);
    for len in lens {
        let data = random_bytes(&mut r, len);
        let prefix: u8 = r.gen();
        let mut msg = vec![prefix];
        msg.extend_from_slice(&data);
        let k: [u8; 32] = sha3::Keccak256::digest(&msg).into();
        let s: [u8; 32] = sha3::Sha3_256::digest(&msg).into();
        assert_eq!(
            host::hash_prefixed(prefix, &data, 0x01),
            k,
            "keccak256 len {len}"
        );
        assert_eq!(
            host::hash_prefixed(prefix, &data, 0x06),
            s,
            "sha3-256 len {len}"
        );
    }
}

#[test]
fn paired_load_leaf_hash_variant_matches_sha3_crate() {
    // cp_hash_prefixed_v2 (the CP_LEAF_V2 tuning variant): every full-chunk size, and every length up to 1,200
    // and around block boundaries where its precondition holds ((len + 1) % 136 != 0)
    let mut r = rng();
    let mut lens: Vec<usize> = (0..1200).collect();
    lens.extend((5..=16).map(|k| 1usize << k));
    lens.extend([4095, 4097, 8191, 271, 272, 273, 543, 545]);
    let mut checked = 0;
    for len in lens {
        let data = random_bytes(&mut r, len);
        let mut msg = vec![0u8];
        msg.extend_from_slice(&data);
        let k: [u8; 32] = sha3::Keccak256::digest(&msg).into();
        let s: [u8; 32] = sha3::Sha3_256::digest(&msg).into();
        match host::hash_prefixed_v2(0, &data, 0x01) {
            Some(h) => {
                assert_eq!(h, k, "keccak256 len {len}");
                assert_eq!(
                    host::hash_prefixed_v2(0, &data, 0x06),
                    Some(s),
                    "sha3 len {len}"
                );
                checked += 1;
            }
            None => assert!((len + 1).is_multiple_of(136), "refused len {len}"),
        }
    }
    assert!(checked > 1200);
}

#[test]
fn prefixed_hash_reads_unaligned_data() {
    let mut r = rng();
    let data = random_bytes(&mut r, 5000);
    for off in 1..8 {
        let slice = &data[off..off + 4096];
        let mut msg = vec![0u8];
        msg.extend_from_slice(slice);
        let k: [u8; 32] = sha3::Keccak256::digest(&msg).into();
        assert_eq!(host::hash_prefixed(0, slice, 0x01), k);
    }
}

#[test]
fn commitment_matches_core_reference() {
    let mut r = rng();
    let mut cases: Vec<(usize, u8)> = vec![
        (0, 12),
        (1, 5),
        (31, 5),
        (32, 5),
        (33, 5),
        (4096, 12),
        (4097, 12),
    ];
    for _ in 0..40 {
        cases.push((r.gen_range(0..70_000), r.gen_range(5..=13)));
    }
    cases.push((3 * 4096 * 5 + 17, 12));
    cases.push((1 << 20, 12));
    // subtree grouping: 512 and 513 leaves (one group, two groups), 512 * 512 + 3 leaves (three passes)
    cases.push((32 * 512, 5));
    cases.push((32 * 513 - 1, 5));
    cases.push((32 * (512 * 512 + 3), 5));
    for (len, k) in cases {
        let data = random_bytes(&mut r, len);
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            let params = CommitParams::new(alg, k).expect("params");
            let reference = commit(&data, &params);
            let (_tree_root, root) = host::commit(&data, &params);
            assert_eq!(root, reference.root, "len {len} k {k} {alg:?}");
        }
    }
}

#[test]
fn commitment_tree_root_matches_core_tree() {
    let mut r = rng();
    for len in [0usize, 100, 4096 * 7 + 3, 4096 * 64] {
        let data = random_bytes(&mut r, len);
        let params = CommitParams::default();
        let tree = cuproof_core::commitment::MerkleTree::build(&data, &params);
        let (tree_root, _) = host::commit(&data, &params);
        assert_eq!(tree_root, tree.tree_root(), "len {len}");
    }
}

#[test]
fn fill_matches_rust_twin() {
    let mut r = rng();
    for len in [0usize, 1, 135, 136, 137, 1000, 65_537] {
        let mut seed = [0u8; 32];
        r.fill_bytes(&mut seed);
        let stream: u8 = r.gen();
        assert_eq!(
            host::fill(&seed, stream, len),
            fill::fill_cpu(&seed, stream, len),
            "len {len}"
        );
    }
    // different seeds / streams give different bytes
    let a = fill::fill_cpu(&[1; 32], 0, 64);
    assert_ne!(a, fill::fill_cpu(&[2; 32], 0, 64));
    assert_ne!(a, fill::fill_cpu(&[1; 32], 1, 64));
}

#[test]
fn fill_is_keccak_sponge_output() {
    // Block c is the first 136 bytes squeezed from Keccak[r=1088] over the documented 57-byte message:
    // its first 32 bytes are therefore Keccak-256 of that message.
    let seed = [7u8; 32];
    let mut msg = vec![0x03u8];
    msg.extend_from_slice(b"cuproof-fill-v1");
    msg.extend_from_slice(&seed);
    msg.push(0x42);
    msg.extend_from_slice(&5u64.to_le_bytes());
    let k: [u8; 32] = sha3::Keccak256::digest(&msg).into();
    assert_eq!(&fill::block(&seed, 0x42, 5)[..32], &k);
}

fn naive(a: &[i8], bt: &[i8], m: usize, n: usize, k: usize) -> Vec<i32> {
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0i64;
            for l in 0..k {
                s += a[i * k + l] as i64 * bt[j * k + l] as i64;
            }
            c[i * n + j] = s as i32;
        }
    }
    c
}

#[test]
fn gemm_tile_math_matches_naive_product() {
    let mut r = rng();
    let mut shapes = vec![
        (1, 1, 1),
        (16, 8, 32),
        (128, 128, 64),
        (17, 9, 33),
        (130, 129, 70),
        (3, 200, 5),
    ];
    for _ in 0..4 {
        shapes.push((
            r.gen_range(1..150),
            r.gen_range(1..150),
            r.gen_range(1..150),
        ));
    }
    for (m, n, k) in shapes {
        let a = random_i8(&mut r, m * k);
        let bt = random_i8(&mut r, n * k);
        let expect = naive(&a, &bt, m, n, k);
        assert_eq!(
            gemm::gemm_i8_cpu(&a, &bt, m, n, k).unwrap(),
            expect,
            "twin {m}x{n}x{k}"
        );
        assert_eq!(
            host::gemm_i8_tiled(&a, &bt, m, n, k).unwrap(),
            expect,
            "tiled {m}x{n}x{k}"
        );
    }
}

#[test]
fn gemm_extreme_values_are_exact() {
    let (m, n, k) = (20, 12, 300);
    let a = vec![-128i8; m * k];
    let bt = vec![-128i8; n * k];
    let c = host::gemm_i8_tiled(&a, &bt, m, n, k).unwrap();
    assert!(c.iter().all(|&v| v == 16384 * k as i32));
}

#[test]
fn gemm_rejects_bad_shapes() {
    assert!(gemm::gemm_i8_cpu(&[0; 6], &[0; 6], 2, 3, 3).is_err());
    assert!(gemm::gemm_i8_cpu(&[], &[], 0, 1, 1).is_err());
    assert!(host::gemm_i8_tiled(&[0; 5], &[0; 6], 2, 2, 3).is_err());
}

#[test]
fn freivalds_host_build_matches_twin_and_catches_errors() {
    let mut r = rng();
    for (m, n, k) in [(1, 1, 1), (33, 17, 65), (64, 48, 100)] {
        let a = random_i8(&mut r, m * k);
        let bt = random_i8(&mut r, n * k);
        let c = gemm::gemm_i8_cpu(&a, &bt, m, n, k).unwrap();
        let mut seed = [0u8; 32];
        r.fill_bytes(&mut seed);
        let rv = freivalds::r_vector(&seed, n);
        assert!(rv.iter().all(|&x| x < freivalds::P));
        let twin = freivalds::freivalds_cpu(&a, &bt, &c, m, n, k, &seed).unwrap();
        assert!(twin.accept);
        let (y, z, w) = host::freivalds(&a, &bt, &c, &rv, m, n, k).unwrap();
        assert_eq!((y, z, w), (twin.y.clone(), twin.z.clone(), twin.w.clone()));
        // one wrong entry anywhere is caught
        let mut bad = c.clone();
        let idx = r.gen_range(0..bad.len());
        bad[idx] = bad[idx].wrapping_add(1);
        let out = freivalds::freivalds_cpu(&a, &bt, &bad, m, n, k, &seed).unwrap();
        assert!(!out.accept, "tampered C accepted ({m}x{n}x{k})");
        let (_, hz, hw) = host::freivalds(&a, &bt, &bad, &rv, m, n, k).unwrap();
        assert_ne!(hz, hw);
    }
}

#[test]
fn freivalds_rejects_wrapped_or_mis_sized_input() {
    let c = [0i32; 4];
    assert!(freivalds::freivalds_cpu(&[0; 4], &[0; 4], &c[..3], 2, 2, 2, &[0; 32]).is_err());
    let k = gemm::MAX_K + 1;
    let a = vec![0i8; k];
    assert!(freivalds::freivalds_cpu(&a, &a, &[0], 1, 1, k, &[0; 32]).is_err());
}

#[test]
fn gemm_sm90_schedule_matches_naive_product() {
    // The Hopper kernel's swizzle, descriptors, fragment map, tile rasterisation and epilogue bounds, run on the
    // host: tails in m, n and k, several tiles in both directions, more than one k slice.
    let mut r = rng();
    for (m, n, k) in [(1, 1, 16), (130, 260, 144), (300, 33, 32), (64, 513, 256)] {
        let a = random_i8(&mut r, m * k);
        let bt = random_i8(&mut r, n * k);
        assert_eq!(
            host::gemm_i8_sm90(&a, &bt, m, n, k).unwrap(),
            naive(&a, &bt, m, n, k),
            "sm90 schedule {m}x{n}x{k}"
        );
    }
    let (m, n, k) = (20, 12, 384);
    let c = host::gemm_i8_sm90(&vec![-128i8; m * k], &vec![-128i8; n * k], m, n, k).unwrap();
    assert!(c.iter().all(|&v| v == 16384 * k as i32));
    assert!(host::gemm_i8_sm90(&[0; 5], &[0; 6], 2, 2, 3).is_err());
}

fn mod_p(x: i128) -> u64 {
    x.rem_euclid(freivalds::P as i128) as u64
}

#[test]
fn freivalds_limb_accumulators_are_exact_at_the_extremes() {
    // Extreme operands (int8 -128/127, int32 MIN/MAX) against extreme residues (p - 1, limb boundaries), checked
    // against i128 arithmetic; C is arbitrary here (w = C r is compared, not the verdict).
    let p = freivalds::P;
    // n > 2 * 2^11: the int32 accumulators are folded twice per row
    let (m, n, k) = (3usize, 4200usize, 90usize);
    let specials = [
        p - 1,
        (1 << 31) - 1,
        1 << 31,
        0,
        1,
        p - (1 << 31),
        (1 << 61) - 2,
    ];
    let rv: Vec<u64> = (0..n).map(|j| specials[j % specials.len()]).collect();
    let a: Vec<i8> = (0..m * k)
        .map(|i| if i % 3 == 0 { 127 } else { -128 })
        .collect();
    let bt: Vec<i8> = (0..n * k)
        .map(|i| if i % 5 == 0 { 127 } else { -128 })
        .collect();
    let cvals = [i32::MIN, i32::MAX, -1, 0, 65535, -65536, 1 << 16];
    let c: Vec<i32> = (0..m * n).map(|i| cvals[i % cvals.len()]).collect();
    let y: Vec<u64> = (0..k)
        .map(|l| mod_p((0..n).map(|j| bt[j * k + l] as i128 * rv[j] as i128).sum()))
        .collect();
    let z: Vec<u64> = (0..m)
        .map(|i| mod_p((0..k).map(|l| a[i * k + l] as i128 * y[l] as i128).sum()))
        .collect();
    let w: Vec<u64> = (0..m)
        .map(|i| mod_p((0..n).map(|j| c[i * n + j] as i128 * rv[j] as i128).sum()))
        .collect();
    assert_eq!(
        host::freivalds(&a, &bt, &c, &rv, m, n, k).unwrap(),
        (y, z, w)
    );
}
