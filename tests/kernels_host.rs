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

/// Operands that must fit their shape.
fn ops<'a>(
    a: &'a [i8],
    bt: &'a [i8],
    c: &'a [i32],
    m: usize,
    n: usize,
    k: usize,
) -> freivalds::Operands<'a> {
    freivalds::Operands::new(a, bt, c, m, n, k).expect("operands fit the shape")
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
        let (a, bt, c, seed) = freivalds_case(&mut r, m, n, k);
        let rv = freivalds::r_vector(&seed, n);
        assert!(rv.iter().all(|&x| x < freivalds::P));
        let twin = freivalds::freivalds_cpu(&a, &bt, &c, m, n, k, &seed).unwrap();
        assert!(twin.accept);
        let (y, z, w) = host::freivalds(ops(&a, &bt, &c, m, n, k), &rv).unwrap();
        assert_eq!((y, z, w), (twin.y.clone(), twin.z.clone(), twin.w.clone()));
        // one wrong entry anywhere is caught
        let mut bad = c.clone();
        let idx = r.gen_range(0..bad.len());
        bad[idx] = bad[idx].wrapping_add(1);
        let out = freivalds::freivalds_cpu(&a, &bt, &bad, m, n, k, &seed).unwrap();
        assert!(!out.accept, "tampered C accepted ({m}x{n}x{k})");
        let (_, hz, hw) = host::freivalds(ops(&a, &bt, &bad, m, n, k), &rv).unwrap();
        assert_ne!(hz, hw);
    }
}

#[test]
fn bilinear_check_host_build_matches_twin_and_catches_errors() {
    let mut r = rng();
    for (m, n, k) in [(1, 1, 1), (33, 17, 65), (64, 48, 100), (700, 3, 5)] {
        let (a, bt, c, seed) = freivalds_case(&mut r, m, n, k);
        let (s, rv) = (freivalds::s_vector(&seed, m), freivalds::r_vector(&seed, n));
        assert!(s.iter().all(|&x| x < freivalds::P));
        assert_ne!(
            s.first(),
            rv.first(),
            "left and right vectors come from different streams"
        );
        let twin = freivalds::bilinear_cpu(&a, &bt, &c, m, n, k, &seed).unwrap();
        assert!(twin.accept && twin.lhs == twin.rhs);
        // v and w are the chain check's y and w: the same kernels
        let (y, _, w) = host::freivalds(ops(&a, &bt, &c, m, n, k), &rv).unwrap();
        assert_eq!((&y, &w), (&twin.v, &twin.w));
        // u = sᵀA is B·r's kernel run on A (m rows of k) with s: the host build's y with Bt := A
        let (u, _, _) = host::freivalds(ops(&vec![0; k], &a, &vec![0; m], 1, m, k), &s).unwrap();
        assert_eq!(u, twin.u);
        // the dot products as the kernel sums them (1,024 strided partial sums), and in any other order
        assert_eq!(
            host::dot61(&twin.u, &twin.v, freivalds::DOT_BLOCK).unwrap(),
            twin.lhs
        );
        assert_eq!(host::dot61(&s, &twin.w, 7).unwrap(), twin.rhs);
        // one wrong entry anywhere is caught
        let mut bad = c.clone();
        let idx = r.gen_range(0..bad.len());
        bad[idx] = bad[idx].wrapping_sub(1);
        let out = freivalds::bilinear_cpu(&a, &bt, &bad, m, n, k, &seed).unwrap();
        assert!(!out.accept, "tampered C accepted ({m}x{n}x{k})");
        assert_eq!(out.lhs, twin.lhs, "the left side does not read C");
    }
}

/// Queue positions in the order (identity, reversed, or shuffled) in which the device's warps might finish them.
fn completion_orders(r: &mut ChaCha20Rng, total: usize) -> Vec<Vec<u32>> {
    let ident: Vec<u32> = (0..total as u32).collect();
    let mut shuffled = ident.clone();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, r.gen_range(0..=i));
    }
    let reversed = ident.iter().rev().copied().collect();
    vec![ident, reversed, shuffled]
}

#[test]
fn bilinear_queue_schedule_matches_twin_in_any_completion_order() {
    // Shapes with partial column groups (k % (32 per) != 0), odd m (a C·r item with one row), n not a multiple
    // of the chunk, more slices than rows (empty slices), one slice, and chunks longer than n.
    let mut r = rng();
    let shapes = [
        (1, 1, 1),
        (33, 300, 65),
        (64, 48, 260),
        (700, 130, 5),
        (5, 1000, 1030),
    ];
    let mut runs = 0;
    for (m, n, k) in shapes {
        let (a, bt, c, seed) = freivalds_case(&mut r, m, n, k);
        let twin = freivalds::bilinear_cpu(&a, &bt, &c, m, n, k, &seed).unwrap();
        let (s, rv) = (freivalds::s_vector(&seed, m), freivalds::r_vector(&seed, n));
        let mut bad = c.clone();
        let idx = r.gen_range(0..bad.len());
        bad[idx] = bad[idx].wrapping_add(1);
        let twin_bad = freivalds::bilinear_cpu(&a, &bt, &bad, m, n, k, &seed).unwrap();
        for (per, dp2a, slices, cr_chunk, tail_div) in [
            (8, false, 32, 2048, 8),
            (4, true, 3, 128, 1),
            (8, true, 64, 256, u32::MAX),
            (4, false, 1, 65536, 3),
        ] {
            let shape = freivalds::queue::Shape {
                per,
                dp2a,
                slices,
                cr_chunk,
                tail_div,
                ..freivalds::queue::Shape::default()
            };
            let items = shape.items(m, n, k).unwrap();
            let total = (items.col_items + items.cr_items) as usize;
            for order in completion_orders(&mut r, total) {
                let (u, v, out) =
                    host::freivalds_queue(ops(&a, &bt, &c, m, n, k), &rv, &s, &shape, &order)
                        .unwrap();
                assert_eq!(
                    (&u, &v, out),
                    (&twin.u, &twin.v, [twin.lhs, twin.rhs]),
                    "{m}x{n}x{k} {shape:?}"
                );
                let (_, _, out) =
                    host::freivalds_queue(ops(&a, &bt, &bad, m, n, k), &rv, &s, &shape, &order)
                        .unwrap();
                assert_eq!(out, [twin_bad.lhs, twin_bad.rhs]);
                assert_ne!(
                    out[0], out[1],
                    "tampered C accepted ({m}x{n}x{k} {shape:?})"
                );
                runs += 1;
            }
        }
    }
    assert_eq!(runs, shapes.len() * 4 * 3);
}

#[test]
fn bilinear_queue_places_every_item_once_with_a_tail_of_cr_items() {
    // The production shape at n = 8192 and odd shapes: the host model rejects an order with a repeated position
    // and would reject two positions decoding to one item (checked inside for every run above); here the
    // decoding is checked directly through its counts, and the tail is C·r only.
    let shape = freivalds::queue::Shape::default();
    let items = shape.items(8192, 8192, 8192).unwrap();
    assert_eq!(items.groups, 32);
    assert_eq!(items.col_items, 2 * 32 * 32);
    assert_eq!(items.cr_items, 4096 * 4);
    assert_eq!(items.counters(), 2 + 3 * 32);
    for (m, n, k, shape) in [
        (8192, 8192, 8192, shape),
        (
            700,
            1000,
            1030,
            freivalds::queue::Shape {
                per: 4,
                slices: 5,
                cr_chunk: 384,
                ..shape
            },
        ),
        (
            300,
            700,
            260,
            freivalds::queue::Shape {
                tail_div: 1,
                ..shape
            },
        ),
        (
            300,
            700,
            260,
            freivalds::queue::Shape {
                tail_div: u32::MAX,
                ..shape
            },
        ),
    ] {
        let it = shape.items(m, n, k).unwrap();
        let total = it.col_items + it.cr_items;
        let tail = it.cr_items / shape.tail_div;
        let mut seen = std::collections::HashSet::new();
        let (mut last_col, mut max_gap, mut group_order) = (0u32, 0u32, Vec::new());
        for i in 0..total {
            let [kind, a, b] = host::fvq_item(&shape, m, n, k, i).unwrap();
            assert!(seen.insert((kind, a, b)), "position {i} repeats an item");
            if kind == 2 {
                assert!(a < m.div_ceil(2) as u32 && b < n.div_ceil(shape.cr_chunk as usize) as u32);
                continue;
            }
            assert!(kind < 2 && a < it.groups && b < shape.slices);
            assert!(i < total - tail, "column item {i} in the C·r tail");
            max_gap = max_gap.max(i - last_col);
            last_col = i;
            group_order.push(a);
        }
        assert_eq!(seen.len(), total as usize);
        // spread evenly: one column item at least every ceil(lead / col_items) positions
        let lead = total - tail;
        assert!(max_gap <= lead.div_ceil(it.col_items), "gap {max_gap}");
        // group-major: groups finish one after another
        assert!(group_order.windows(2).all(|w| w[0] <= w[1]));
        assert!(host::fvq_item(&shape, m, n, k, total).is_err());
    }
    // a repeated position is refused
    let (m, n, k) = (3, 4, 5);
    let mut r = rng();
    let (a, bt, c, seed) = freivalds_case(&mut r, m, n, k);
    let (s, rv) = (freivalds::s_vector(&seed, m), freivalds::r_vector(&seed, n));
    let small = shape.items(m, n, k).unwrap();
    let total = (small.col_items + small.cr_items) as usize;
    let mut order: Vec<u32> = (0..total as u32).collect();
    order[total - 1] = 0;
    assert!(host::freivalds_queue(ops(&a, &bt, &c, m, n, k), &rv, &s, &shape, &order).is_err());
    order.pop();
    assert!(host::freivalds_queue(ops(&a, &bt, &c, m, n, k), &rv, &s, &shape, &order).is_err());
    // shapes the kernel cannot take
    for bad in [
        freivalds::queue::Shape { per: 2, ..shape },
        freivalds::queue::Shape { slices: 0, ..shape },
        freivalds::queue::Shape {
            slices: 65,
            ..shape
        },
        freivalds::queue::Shape {
            cr_chunk: 100,
            ..shape
        },
        freivalds::queue::Shape {
            cr_chunk: 1 << 17,
            ..shape
        },
        freivalds::queue::Shape {
            tail_div: 0,
            ..shape
        },
    ] {
        assert!(bad.items(64, 64, 64).is_err(), "{bad:?}");
    }
    assert!(shape.items(1 << 31, 8, 8).is_err());
}

#[test]
fn dot_products_mod_p_are_exact_at_the_extremes() {
    let p = freivalds::P;
    let mut r = rng();
    let mut vals: Vec<u64> = vec![
        0,
        1,
        2,
        p - 1,
        p - 2,
        1 << 60,
        (1 << 61) - 2,
        1 << 32,
        (1 << 32) - 1,
    ];
    vals.extend((0..3000).map(|_| r.gen_range(0..p)));
    let rev: Vec<u64> = vals.iter().rev().copied().collect();
    let reference = vals.iter().zip(&rev).fold(0u128, |acc, (&x, &y)| {
        (acc + (x as u128 * y as u128) % p as u128) % p as u128
    }) as u64;
    assert_eq!(freivalds::dot_mod_p(&vals, &rev), reference);
    for threads in [1, 32, 1024, 5000] {
        assert_eq!(
            host::dot61(&vals, &rev, threads).unwrap(),
            reference,
            "{threads} threads"
        );
    }
    // (p - 1)^2 = 1 mod p, term by term
    let worst = vec![p - 1; 4096];
    assert_eq!(host::dot61(&worst, &worst, 1024).unwrap(), 4096);
    assert!(host::dot61(&worst, &worst[1..], 1).is_err());
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

/// Random operands of an m×k by k×n product, C = A·B, and a random challenge seed.
fn freivalds_case(
    r: &mut ChaCha20Rng,
    m: usize,
    n: usize,
    k: usize,
) -> (Vec<i8>, Vec<i8>, Vec<i32>, [u8; 32]) {
    let a = random_i8(r, m * k);
    let bt = random_i8(r, n * k);
    let c = gemm::gemm_i8_cpu(&a, &bt, m, n, k).unwrap();
    let mut seed = [0u8; 32];
    r.fill_bytes(&mut seed);
    (a, bt, c, seed)
}

fn mod_p(x: i128) -> u64 {
    x.rem_euclid(freivalds::P as i128) as u64
}

/// y = B·r and z = A·y mod p in i128 arithmetic (the reference for the extremes).
fn yz_i128(a: &[i8], bt: &[i8], rv: &[u64], m: usize, n: usize, k: usize) -> (Vec<u64>, Vec<u64>) {
    let y: Vec<u64> = (0..k)
        .map(|l| mod_p((0..n).map(|j| bt[j * k + l] as i128 * rv[j] as i128).sum()))
        .collect();
    let z = (0..m)
        .map(|i| mod_p((0..k).map(|l| a[i * k + l] as i128 * y[l] as i128).sum()))
        .collect();
    (y, z)
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
    let (y, z) = yz_i128(&a, &bt, &rv, m, n, k);
    let w: Vec<u64> = (0..m)
        .map(|i| mod_p((0..n).map(|j| c[i * n + j] as i128 * rv[j] as i128).sum()))
        .collect();
    assert_eq!(
        host::freivalds(ops(&a, &bt, &c, m, n, k), &rv).unwrap(),
        (y, z, w)
    );
}

#[test]
fn freivalds_dp2a_grouping_matches_the_limb_accumulators() {
    // The dp2a kernels add the same integers to the same limb partials, two or four terms per instruction: y and z
    // equal the IMAD kernels' (host build) and the Rust twin's, for random operands, several slice splits (an odd
    // split pairs the rows of the second slice differently, a last row unpaired), and at the extremes: every
    // product at its bound (int8 -128 and 127 against limbs 0xFFFF of residues p - 1 and limb boundaries) over
    // whole folds of 256 terms.
    let mut r = rng();
    let p = freivalds::P;
    for (m, n, k) in [
        (1, 1, 4),
        (5, 7, 8),
        (33, 17, 64),
        (9, 600, 300),
        (3, 1031, 516),
    ] {
        let (a, bt, c, seed) = freivalds_case(&mut r, m, n, k);
        let rv = freivalds::r_vector(&seed, n);
        let (y, z, _) = host::freivalds(ops(&a, &bt, &c, m, n, k), &rv).unwrap();
        let twin = freivalds::freivalds_cpu(&a, &bt, &c, m, n, k, &seed).unwrap();
        assert_eq!((&y, &z), (&twin.y, &twin.z));
        for split in [0, 1, n / 2, n.saturating_sub(1), n] {
            let split = split.min(n);
            assert_eq!(
                host::freivalds_dp2a(&a, &bt, &rv, m, n, k, split).unwrap(),
                (y.clone(), z.clone()),
                "{m}x{n}x{k}, slices split at {split}"
            );
        }
    }
    let (m, n, k) = (2usize, 777usize, 1028usize);
    let specials = [
        p - 1,
        (1 << 61) - 2,
        0xFFFF,
        0xFFFF_FFFF_FFFF,
        1 << 48,
        0,
        1,
    ];
    let rv: Vec<u64> = (0..n).map(|j| specials[j % specials.len()]).collect();
    for (av, bv) in [(-128i8, -128i8), (127, -128), (-128, 127)] {
        let a = vec![av; m * k];
        let bt = vec![bv; n * k];
        let (y, z) = yz_i128(&a, &bt, &rv, m, n, k);
        for split in [0, 3, 256] {
            assert_eq!(
                host::freivalds_dp2a(&a, &bt, &rv, m, n, k, split).unwrap(),
                (y.clone(), z.clone())
            );
        }
    }
    // y values whose every limb is 0xFFFF or 0 against rows of -128: the four-term dp2a path at its bound
    let yv: Vec<u64> = (0..k)
        .map(|l| if l % 2 == 0 { p - 1 } else { 0xFFFF_0000_FFFF })
        .collect();
    let z: u64 = mod_p((0..k).map(|l| -128i128 * yv[l] as i128).sum());
    // z from y is A·y with Bt := the identity on y: take n = k, Bt = I, r = y, so that y comes back unchanged
    let ident: Vec<i8> = (0..k * k).map(|i| (i / k == i % k) as i8).collect();
    let (y2, z2) = host::freivalds_dp2a(&vec![-128; k], &ident, &yv, 1, k, k, 0).unwrap();
    assert_eq!((y2, z2), (yv.clone(), vec![z]));
    assert!(host::freivalds_dp2a(&[0; 6], &[0; 6], &[0; 2], 1, 2, 6, 0).is_err());
    assert!(host::freivalds_dp2a(&[0; 4], &[0; 8], &[0; 2], 1, 2, 4, 3).is_err());
    assert!(host::freivalds_dp2a(&[0; 4], &[0; 8], &[p; 2], 1, 2, 4, 0).is_err());
}

/// `plan` with other slice lengths (and the slice counts that go with them).
fn resliced(
    mut plan: freivalds::tc::Plan,
    (_m, n, k): (usize, usize, usize),
    br_per: u32,
    ay_per: u32,
    cr_per: u32,
) -> freivalds::tc::Plan {
    plan.br_per = br_per;
    plan.br_slices = n.div_ceil(br_per as usize) as u32;
    plan.ay_per = ay_per;
    plan.ay_slices = k.div_ceil(ay_per as usize) as u32;
    plan.cr_per = cr_per;
    plan.cr_slices = (4 * n).div_ceil(cr_per as usize) as u32;
    plan
}

#[test]
fn freivalds_tensor_core_kernels_match_twin_under_any_slicing() {
    // The tensor-core kernels' loads, PRMT transposes, fragment maps, slices and limb combination on the host with
    // the emulated mma: tails in m (not a multiple of 16), k (not a multiple of 128 or 256), n (not a multiple of
    // 32), several slices of every reduction (plans for 1 to 132 SMs), then one wrong entry of C is caught.
    let mut r = rng();
    for (m, n, k) in [(1, 4, 16), (37, 68, 144), (16, 96, 1040), (130, 36, 272)] {
        let (a, bt, c, seed) = freivalds_case(&mut r, m, n, k);
        let rv = freivalds::r_vector(&seed, n);
        let twin = freivalds::freivalds_with_r(&a, &bt, &c, &rv, m, n, k);
        assert!(twin.accept);
        let mut plans = vec![];
        for sms in [1, 7, 132] {
            plans.push(freivalds::tc::plan(m, n, k, sms).unwrap());
        }
        // the finest slicing the kernels allow
        plans.push(resliced(
            plans[0],
            (m, n, k),
            freivalds::tc::BR_ROWS,
            freivalds::tc::ROWS_STEP,
            freivalds::tc::ROWS_STEP,
        ));
        for plan in &plans {
            let got = host::freivalds_tc(ops(&a, &bt, &c, m, n, k), &rv, plan).unwrap();
            assert_eq!(
                got,
                (twin.y.clone(), twin.z.clone(), twin.w.clone()),
                "{m}x{n}x{k} {plan:?}"
            );
        }
        let mut bad = c.clone();
        let idx = r.gen_range(0..bad.len());
        bad[idx] = bad[idx].wrapping_add(1 << r.gen_range(0..31));
        let (_, hz, hw) = host::freivalds_tc(ops(&a, &bt, &bad, m, n, k), &rv, &plans[1]).unwrap();
        assert_ne!(hz, hw, "tampered C accepted ({m}x{n}x{k})");
    }
}

#[test]
fn freivalds_tensor_core_sums_are_exact_at_the_extremes() {
    // Worst cases of the int32 limb sums: a full B·r slice of 32768 rows of -128 against limbs of 255 (r with
    // every limb 0xFF is not a residue, but r is reduced first: use p - 1 and values with large limbs), rows of C
    // longer than one fold (4n > 128 * 256 bytes) at i32::MIN / MAX, rows of A of -128 longer than 2^16.
    let p = freivalds::P;
    let specials = [
        p - 1,
        p - 2,
        (1 << 61) - 257,
        0x00FF_FFFF_FFFF_FFFF,
        0x1EFF_FFFF_FFFF_FFFF,
        0,
        1 << 31,
    ];
    // B·r: n = 32768 rows in one slice, k = 16
    let (m, n, k) = (2usize, 32768usize, 16usize);
    let rv: Vec<u64> = (0..n).map(|j| specials[j % 3]).collect();
    let a = vec![-128i8; m * k];
    let bt = vec![-128i8; n * k];
    let c: Vec<i32> = (0..m * n)
        .map(|i| if i % 2 == 0 { i32::MIN } else { i32::MAX })
        .collect();
    let plan = freivalds::tc::plan(m, n, k, 1).unwrap();
    let plan = resliced(
        plan,
        (m, n, k),
        freivalds::tc::BR_MAX_ROWS,
        plan.ay_per,
        plan.cr_per,
    );
    let twin = freivalds::freivalds_with_r(&a, &bt, &c, &rv, m, n, k);
    assert_eq!(
        host::freivalds_tc(ops(&a, &bt, &c, m, n, k), &rv, &plan).unwrap(),
        (twin.y, twin.z, twin.w)
    );
    // A·y over rows of 2^16 + 256 bytes in one slice, C·r over rows of 4 * 9000 bytes (one fold and a tail)
    let (m, n, k) = (17usize, 9000usize, 65792usize);
    let rv: Vec<u64> = (0..n).map(|j| specials[j % specials.len()]).collect();
    let a: Vec<i8> = (0..m * k)
        .map(|i| if i % 7 == 0 { 127 } else { -128 })
        .collect();
    let bt: Vec<i8> = (0..n * k)
        .map(|i| if i % 3 == 0 { -128 } else { 127 })
        .collect();
    let cvals = [i32::MIN, i32::MAX, -1, 0, 0x7F7F_7F7F, -0x7F7F_7F80];
    let c: Vec<i32> = (0..m * n).map(|i| cvals[i % cvals.len()]).collect();
    let plan = freivalds::tc::plan(m, n, k, 1).unwrap();
    let plan = resliced(
        plan,
        (m, n, k),
        plan.br_per,
        k as u32,
        (4 * n as u32).div_ceil(256) * 256,
    );
    let twin = freivalds::freivalds_with_r(&a, &bt, &c, &rv, m, n, k);
    assert_eq!(
        host::freivalds_tc(ops(&a, &bt, &c, m, n, k), &rv, &plan).unwrap(),
        (twin.y, twin.z, twin.w)
    );
}

#[test]
fn freivalds_tensor_core_plan_is_sound() {
    for (m, n, k) in [
        (8192usize, 8192usize, 8192usize),
        (1, 4, 16),
        (100_000, 4, 16),
        (3, 200_000, 48),
        (4096, 12, 1 << 20),
    ] {
        for sms in [1, 114, 132] {
            let p = freivalds::tc::plan(m, n, k, sms).unwrap();
            assert!(
                p.br_per.is_multiple_of(freivalds::tc::BR_ROWS)
                    && p.br_per <= freivalds::tc::BR_MAX_ROWS
            );
            assert!(
                p.ay_per.is_multiple_of(freivalds::tc::ROWS_STEP)
                    && p.cr_per.is_multiple_of(freivalds::tc::ROWS_STEP)
            );
            assert_eq!(p.br_slices as usize, n.div_ceil(p.br_per as usize));
            assert_eq!(p.ay_slices as usize, k.div_ceil(p.ay_per as usize));
            assert_eq!(p.cr_slices as usize, (4 * n).div_ceil(p.cr_per as usize));
            assert!(p.rstride as usize >= n && p.rstride.is_multiple_of(256));
            assert!(p.ystride as usize >= k && p.ystride.is_multiple_of(256));
            assert_eq!(p.prep_blocks * 256, p.rstride);
        }
    }
    let p = freivalds::tc::plan(8192, 8192, 8192, 132).unwrap();
    // one wave of 16 warps per SM, roughly
    assert_eq!((p.br_per, p.br_slices), (256, 32));
    assert!(freivalds::tc::plan(4, 6, 16, 1).is_err());
    assert!(freivalds::tc::plan(4, 8, 24, 1).is_err());
    assert!(
        host::freivalds_tc(ops(&[0; 16], &[0; 64], &[0; 4], 1, 4, 16), &[0; 4], &{
            let mut p = freivalds::tc::plan(1, 4, 16, 1).unwrap();
            p.br_per = 33;
            p
        })
        .is_err()
    );
    // a plan whose slices do not cover the reduction, or too long a B r slice
    let p = freivalds::tc::plan(64, 40_000, 64, 1).unwrap();
    assert!(!resliced(p, (64, 40_000, 64), 32768 + 32, p.ay_per, p.cr_per).fits(64, 40_000, 64));
    let mut short = p;
    short.cr_slices -= 1;
    assert!(!short.fits(64, 40_000, 64));
    assert!(!freivalds::tc::plan(8, 8, 32, 1)
        .unwrap()
        .fits(8, 8 + 256, 32));
}

#[test]
fn fused_slice_sum_halves_are_exact() {
    use cuproof::kernels::freivalds::P;
    let mut g = rng();
    // random residues, and the extremes: every partial p - 1 over 64 slices, and 2^32 - 1 / 2^32 boundaries
    for (slices, k, extreme) in [
        (32usize, 257usize, false),
        (64, 9, true),
        (1, 5, false),
        (3, 2, true),
    ] {
        let parts: Vec<u64> = (0..slices * k)
            .map(|i| {
                if extreme {
                    [P - 1, (1 << 32) - 1, 1 << 32, 0][i % 4]
                } else {
                    g.gen_range(0..P)
                }
            })
            .collect();
        let want: Vec<u64> = (0..k)
            .map(|l| {
                let s: u128 = (0..slices).map(|s| parts[s * k + l] as u128).sum();
                (s % P as u128) as u64
            })
            .collect();
        assert_eq!(
            host::y_from_slices(&parts, slices, k).unwrap(),
            want,
            "{slices} x {k}"
        );
    }
    assert!(host::y_from_slices(&[P], 1, 1).is_err());
    assert!(host::y_from_slices(&[1, 2, 3], 2, 2).is_err());
}
