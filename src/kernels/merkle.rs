//! The `cuproof-commit-v1` buffer commitment on the GPU (`kernels/keccak_merkle.cu`); its CPU twin is
//! [`cuproof_core::commitment::commit`].
//!
//! Kernels: `cuproof_merkle_leaves` (one thread per chunk), `cuproof_merkle_subtree`
//! (each block reduces [`SUBTREE`] nodes of a level to one, in shared memory; [`subtree_passes`] launches,
//! odd last node promoted), `cuproof_merkle_root` (one thread). Digests are 4 little-endian u64 lanes.

use crate::runtime::Arg;
use cuproof_core::commitment::{commit, CommitParams, Commitment};
use cuproof_core::HashAlg;

/// Leaf kernel entry.
pub const ENTRY_LEAVES: &str = "cuproof_merkle_leaves";
/// Subtree kernel entry (tree levels).
pub const ENTRY_SUBTREE: &str = "cuproof_merkle_subtree";
/// Root kernel entry.
pub const ENTRY_ROOT: &str = "cuproof_merkle_root";
/// Block size of the leaf kernel.
pub const LEAF_BLOCK: u32 = 128;
/// Block size of the subtree kernel.
pub const SUBTREE_BLOCK: u32 = 256;
/// Nodes one subtree block reduces to one (`CP_MERKLE_SUBTREE` in `kernels/keccak.cuh`).
pub const SUBTREE: u64 = 2 * SUBTREE_BLOCK as u64;

/// The subtree launches that reduce `n` leaves to the tree root: `(grid, nodes in)` per pass, each pass turning a
/// level of `nodes in` nodes into `grid` nodes (empty for a single leaf, which is the tree root).
pub fn subtree_passes(n: u64) -> Vec<(u32, u64)> {
    let mut v = Vec::new();
    let mut cnt = n;
    while cnt > 1 {
        let groups = cnt.div_ceil(SUBTREE);
        v.push((groups.min(u32::MAX as u64) as u32, cnt));
        cnt = groups;
    }
    v
}

/// Which of the runtime's streams a commitment launch is issued on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The main stream (everything before and after the commitment is ordered on it).
    Main,
    /// The second stream of the same priority.
    Second,
    /// The stream of the device's greatest priority.
    High,
}

/// How a commitment's leaf and tree launches are scheduled on the device. Every schedule computes the same tree
/// (the groups of [`SUBTREE`] nodes are aligned the same way); only the order of the launches differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommitSchedule {
    /// The production choice (docs/perf.md §2): `Pipelined { segments: 4 }` from [`PIPELINE_MIN_LEAVES`] leaves
    /// on (1 GiB of 4 KiB chunks: measured 1.9–2.4 % faster on H100 and H200), `Serial` below, where a quarter
    /// of the leaves would no longer fill the GPU several times over.
    #[default]
    Auto,
    /// One leaf launch, then the subtree passes, then the root, all on the main stream.
    Serial,
    /// The leaves in `segments` launches of equal size (a multiple of [`SUBTREE`] leaves, the last one shorter),
    /// alternating between the main and the second stream; each segment's first subtree pass on the
    /// greatest-priority stream as soon as that segment's leaves are written, so the tree's first pass runs
    /// beside the later segments' leaves instead of after all of them. Then the other passes and the root on the
    /// main stream.
    Pipelined {
        /// Leaf launches (at most one per [`SUBTREE`] leaves; 0 and 1 mean [`CommitSchedule::Serial`]).
        segments: u32,
    },
}

/// One step of a commitment's launch plan ([`commit_plan`]). Offsets are in leaves / nodes; the executor turns
/// them into pointers (data byte `start << chunk_log2`, digest word `4 * start`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitStep {
    /// The main stream's work so far is made visible to the other two streams.
    Fork,
    /// The leaf kernel over leaves `start .. start + count` (grid `count / LEAF_BLOCK` rounded up): reads the data
    /// from byte `start << chunk_log2` (length: the rest of the buffer), writes digests from word `4 * start` of
    /// the leaf buffer.
    Leaves {
        /// First leaf.
        start: u64,
        /// Leaves.
        count: u64,
        /// Stream.
        lane: Lane,
    },
    /// A launch of subtree pass `pass` (of [`subtree_passes`]) over the nodes `start .. start + count` of its input
    /// level (the leaf buffer for even passes, the other buffer for odd ones), writing nodes from
    /// `start / SUBTREE` of its output level; `start` is a multiple of [`SUBTREE`].
    Subtree {
        /// Pass.
        pass: usize,
        /// First input node.
        start: u64,
        /// Input nodes.
        count: u64,
        /// Stream.
        lane: Lane,
        /// The stream whose queued work this launch waits for first (`None`: only its own stream's).
        after: Option<Lane>,
    },
    /// The second and the greatest-priority streams' work joins the main stream.
    Join,
    /// The root kernel (reads the tree root from the buffer the last pass wrote).
    Root,
}

/// Leaves from which [`CommitSchedule::Auto`] pipelines the commitment (2^18: 1 GiB of 4 KiB chunks).
pub const PIPELINE_MIN_LEAVES: u64 = 1 << 18;

impl CommitSchedule {
    /// The concrete schedule for `n` leaves ([`CommitSchedule::Auto`] resolved; the others as they are).
    pub fn resolve(self, n: u64) -> CommitSchedule {
        match self {
            CommitSchedule::Auto if n >= PIPELINE_MIN_LEAVES => {
                CommitSchedule::Pipelined { segments: 4 }
            }
            CommitSchedule::Auto => CommitSchedule::Serial,
            other => other,
        }
    }
}

/// The leaf segments of a [`CommitSchedule::Pipelined`] commitment of `n` leaves: `(first leaf, leaves)`, at most
/// `segments` of them, each starting at a multiple of [`SUBTREE`] and all but the last of equal length. One
/// segment when `n <= SUBTREE` or `segments <= 1`.
pub fn segments(n: u64, segments: u32) -> Vec<(u64, u64)> {
    let n = n.max(1);
    let groups = n.div_ceil(SUBTREE);
    let parts = u64::from(segments).clamp(1, groups);
    let per = groups.div_ceil(parts) * SUBTREE;
    (0..n.div_ceil(per))
        .map(|i| (i * per, per.min(n - i * per)))
        .collect()
}

/// The launch plan of a commitment of `n` leaves (at least one) under `schedule`. The CUDA backend executes it;
/// the CPU backend records the same launches.
pub fn commit_plan(n: u64, schedule: CommitSchedule) -> Vec<CommitStep> {
    let n = n.max(1);
    let passes = subtree_passes(n);
    let segs = match schedule.resolve(n) {
        CommitSchedule::Pipelined { segments: s } if !passes.is_empty() => segments(n, s),
        _ => vec![(0, n)],
    };
    let mut plan = Vec::with_capacity(2 * segs.len() + passes.len() + 3);
    let first_pass = if segs.len() > 1 {
        plan.push(CommitStep::Fork);
        for (i, &(start, count)) in segs.iter().enumerate() {
            let lane = if i % 2 == 0 { Lane::Main } else { Lane::Second };
            plan.push(CommitStep::Leaves { start, count, lane });
            plan.push(CommitStep::Subtree {
                pass: 0,
                start,
                count,
                lane: Lane::High,
                after: Some(lane),
            });
        }
        plan.push(CommitStep::Join);
        1
    } else {
        plan.push(CommitStep::Leaves {
            start: 0,
            count: n,
            lane: Lane::Main,
        });
        0
    };
    for (pass, &(_, cnt)) in passes.iter().enumerate().skip(first_pass) {
        plan.push(CommitStep::Subtree {
            pass,
            start: 0,
            count: cnt,
            lane: Lane::Main,
            after: None,
        });
    }
    plan.push(CommitStep::Root);
    plan
}

/// Base addresses of a commitment's buffers: device pointers on the GPU, placeholders in the CPU backend's
/// records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitBuffers {
    /// The data.
    pub data: u64,
    /// The leaf digests; the input of even subtree passes and the output of odd ones.
    pub leaves: u64,
    /// The other level buffer: the output of even subtree passes and the input of odd ones.
    pub other: u64,
    /// The 4-lane root.
    pub root: u64,
}

/// One kernel launch of a plan step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLaunch {
    /// Kernel entry.
    pub entry: &'static str,
    /// Grid (x).
    pub grid: u32,
    /// Block (x).
    pub block: u32,
    /// Arguments.
    pub args: Vec<Arg>,
}

/// The launch a plan step makes for a commitment of `len` bytes (`None` for [`CommitStep::Fork`] and
/// [`CommitStep::Join`], which only order streams).
pub fn step_launch(
    step: &CommitStep,
    bufs: &CommitBuffers,
    len: u64,
    params: &CommitParams,
) -> Option<StepLaunch> {
    const DIGEST: u64 = 32;
    let pad = u32::from(pad_byte(params.alg));
    let k = u32::from(params.chunk_log2);
    let level = |pass: usize| {
        if pass.is_multiple_of(2) {
            (bufs.leaves, bufs.other)
        } else {
            (bufs.other, bufs.leaves)
        }
    };
    match *step {
        CommitStep::Fork | CommitStep::Join => None,
        CommitStep::Leaves { start, count, .. } => {
            let offset = start << k;
            Some(StepLaunch {
                entry: ENTRY_LEAVES,
                grid: grid_x(count.div_ceil(u64::from(LEAF_BLOCK))),
                block: LEAF_BLOCK,
                args: vec![
                    Arg::Ptr(bufs.data.wrapping_add(offset)),
                    Arg::U64(len.saturating_sub(offset)),
                    Arg::U32(k),
                    Arg::U32(pad),
                    Arg::Ptr(bufs.leaves.wrapping_add(DIGEST * start)),
                    Arg::U64(count),
                ],
            })
        }
        CommitStep::Subtree {
            pass, start, count, ..
        } => {
            let (src, dst) = level(pass);
            Some(StepLaunch {
                entry: ENTRY_SUBTREE,
                grid: grid_x(count.div_ceil(SUBTREE)),
                block: SUBTREE_BLOCK,
                args: vec![
                    Arg::Ptr(src.wrapping_add(DIGEST * start)),
                    Arg::U64(count),
                    Arg::U32(pad),
                    Arg::Ptr(dst.wrapping_add(DIGEST * (start / SUBTREE))),
                ],
            })
        }
        CommitStep::Root => {
            let passes = subtree_passes(params.leaf_count(len)).len();
            let top = if passes.is_multiple_of(2) {
                bufs.leaves
            } else {
                bufs.other
            };
            Some(StepLaunch {
                entry: ENTRY_ROOT,
                grid: 1,
                block: 1,
                args: vec![
                    Arg::Ptr(top),
                    Arg::U32(u32::from(params.alg.id())),
                    Arg::U32(k),
                    Arg::U64(len),
                    Arg::U32(pad),
                    Arg::Ptr(bufs.root),
                ],
            })
        }
    }
}

fn grid_x(blocks: u64) -> u32 {
    blocks.clamp(1, u64::from(u32::MAX)) as u32
}

/// The kernels' `pad` argument: the first padding byte of the hash (0x01 Keccak-256, 0x06 SHA3-256).
pub fn pad_byte(alg: HashAlg) -> u8 {
    match alg {
        HashAlg::Keccak256 => 0x01,
        HashAlg::Sha3_256 => 0x06,
    }
}

/// CPU twin: the commitment of `data`.
pub fn commit_cpu(data: &[u8], params: &CommitParams) -> Commitment {
    commit(data, params)
}

/// Digest bytes -> the kernels' 4 little-endian lanes.
pub fn digest_to_lanes(d: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, o) in out.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[8 * i..8 * i + 8]);
        *o = u64::from_le_bytes(b);
    }
    out
}

/// The kernels' 4 little-endian lanes -> digest bytes.
pub fn lanes_to_digest(l: &[u64]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, w) in l.iter().take(4).enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_passes_reach_one_node() {
        assert!(subtree_passes(1).is_empty());
        assert_eq!(subtree_passes(3), vec![(1, 3)]);
        assert_eq!(subtree_passes(512), vec![(1, 512)]);
        assert_eq!(subtree_passes(513), vec![(2, 513), (1, 2)]);
        // 1 GiB in 4 KiB chunks: two passes instead of eighteen levels
        assert_eq!(subtree_passes(262_144), vec![(512, 262_144), (1, 512)]);
    }

    /// Runs a plan's launches ([`step_launch`]) on a model of device memory with the kernels' semantics: every
    /// pointer argument is resolved back to (buffer, offset), so the offsets the CUDA backend passes are checked.
    fn run_plan(data: &[u8], params: &CommitParams, plan: &[CommitStep]) -> [u8; 32] {
        use cuproof_core::commitment::{bind_root, leaf_hash, node_hash};
        const GB: u64 = 1 << 40;
        let bufs = CommitBuffers {
            data: GB,
            leaves: 2 * GB,
            other: 3 * GB,
            root: 4 * GB,
        };
        let n = params.leaf_count(data.len() as u64) as usize;
        // digest buffers by base: leaves, other (0xEE: never read before written)
        let mut mem = [vec![[0xEEu8; 32]; n], vec![[0xEEu8; 32]; n]];
        let digest_at = |ptr: u64| -> (usize, usize) {
            let (b, base) = if ptr >= bufs.other && ptr < bufs.root {
                (1, bufs.other)
            } else {
                assert!(ptr >= bufs.leaves && ptr < bufs.other, "pointer {ptr:#x}");
                (0, bufs.leaves)
            };
            assert_eq!((ptr - base) % 32, 0, "unaligned digest pointer");
            (b, ((ptr - base) / 32) as usize)
        };
        let ptr = |a: &Arg| match a {
            Arg::Ptr(p) => *p,
            other => panic!("expected a pointer, got {other:?}"),
        };
        let int = |a: &Arg| match a {
            Arg::U64(v) => *v,
            Arg::U32(v) => u64::from(*v),
            other => panic!("expected a scalar, got {other:?}"),
        };
        for step in plan {
            let Some(l) = step_launch(step, &bufs, data.len() as u64, params) else {
                continue;
            };
            match l.entry {
                ENTRY_LEAVES => {
                    let (dp, len, k) = (
                        ptr(&l.args[0]) - bufs.data,
                        int(&l.args[1]),
                        int(&l.args[2]),
                    );
                    assert_eq!(int(&l.args[3]), u64::from(pad_byte(params.alg)));
                    let (b, o) = digest_at(ptr(&l.args[4]));
                    let count = int(&l.args[5]);
                    assert!(u64::from(l.grid) * u64::from(l.block) >= count);
                    let seg = &data[dp as usize..];
                    assert_eq!(seg.len() as u64, len, "leaf launch length");
                    for i in 0..count {
                        let lo = ((i << k) as usize).min(seg.len());
                        let hi = (((i + 1) << k) as usize).min(seg.len());
                        mem[b][o + i as usize] = leaf_hash(params.alg, &seg[lo..hi]);
                    }
                }
                ENTRY_SUBTREE => {
                    let (sb, so) = digest_at(ptr(&l.args[0]));
                    let cnt = int(&l.args[1]) as usize;
                    let (db, dof) = digest_at(ptr(&l.args[3]));
                    assert_ne!(sb, db);
                    assert_eq!(l.grid as usize, cnt.div_ceil(SUBTREE as usize));
                    for g in 0..l.grid as usize {
                        let lo = so + g * SUBTREE as usize;
                        let hi = so + cnt.min((g + 1) * SUBTREE as usize);
                        let mut level = mem[sb][lo..hi].to_vec();
                        while level.len() > 1 {
                            level = level
                                .chunks(2)
                                .map(|p| match p {
                                    [l, r] => node_hash(params.alg, l, r),
                                    [x] => *x,
                                    _ => unreachable!(),
                                })
                                .collect();
                        }
                        mem[db][dof + g] = level[0];
                    }
                }
                ENTRY_ROOT => {
                    let (b, o) = digest_at(ptr(&l.args[0]));
                    assert_eq!(int(&l.args[3]), data.len() as u64);
                    assert_eq!(ptr(&l.args[5]), bufs.root);
                    return bind_root(params, data.len() as u64, &mem[b][o]);
                }
                other => panic!("unexpected entry {other}"),
            }
        }
        panic!("plan without a root step")
    }

    #[test]
    fn segments_are_aligned_and_cover_the_leaves() {
        for n in [1u64, 2, 511, 512, 513, 1024, 1025, 5 * 512 + 7, 262_144] {
            for s in [0u32, 1, 2, 3, 4, 8, 16, 1000] {
                let segs = segments(n, s);
                assert!(!segs.is_empty() && segs.len() as u64 <= u64::from(s.max(1)));
                let mut next = 0;
                for &(start, count) in &segs {
                    assert_eq!(start, next);
                    assert_eq!(start % SUBTREE, 0);
                    assert!(count > 0);
                    next = start + count;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(
            segments(262_144, 8),
            (0..8).map(|i| (i * 32_768, 32_768)).collect::<Vec<_>>()
        );
        assert_eq!(segments(1025, 2), vec![(0, 1024), (1024, 1)]);
    }

    #[test]
    fn serial_plan_is_one_leaf_launch_the_passes_and_the_root() {
        let plan = commit_plan(262_144, CommitSchedule::Serial);
        assert_eq!(
            plan,
            vec![
                CommitStep::Leaves {
                    start: 0,
                    count: 262_144,
                    lane: Lane::Main
                },
                CommitStep::Subtree {
                    pass: 0,
                    start: 0,
                    count: 262_144,
                    lane: Lane::Main,
                    after: None
                },
                CommitStep::Subtree {
                    pass: 1,
                    start: 0,
                    count: 512,
                    lane: Lane::Main,
                    after: None
                },
                CommitStep::Root,
            ]
        );
        // a single leaf has no tree pass; a pipelined plan of one segment is the serial plan
        assert_eq!(
            commit_plan(1, CommitSchedule::Pipelined { segments: 8 }),
            commit_plan(1, CommitSchedule::Serial)
        );
        assert_eq!(
            commit_plan(512, CommitSchedule::Pipelined { segments: 8 }),
            commit_plan(512, CommitSchedule::Serial)
        );
    }

    #[test]
    fn auto_schedule_pipelines_from_one_gib_of_leaves() {
        let n = PIPELINE_MIN_LEAVES;
        assert_eq!(CommitSchedule::default(), CommitSchedule::Auto);
        assert_eq!(
            CommitSchedule::Auto.resolve(n),
            CommitSchedule::Pipelined { segments: 4 }
        );
        assert_eq!(CommitSchedule::Auto.resolve(n - 1), CommitSchedule::Serial);
        assert_eq!(CommitSchedule::Serial.resolve(n), CommitSchedule::Serial);
        assert_eq!(
            commit_plan(n, CommitSchedule::Auto),
            commit_plan(n, CommitSchedule::Pipelined { segments: 4 })
        );
        assert_eq!(
            commit_plan(n - 1, CommitSchedule::Auto),
            commit_plan(n - 1, CommitSchedule::Serial)
        );
    }

    #[test]
    fn pipelined_plan_waits_for_each_segment_before_its_subtree_pass() {
        let plan = commit_plan(262_144, CommitSchedule::Pipelined { segments: 4 });
        assert_eq!(plan.first(), Some(&CommitStep::Fork));
        assert_eq!(plan.last(), Some(&CommitStep::Root));
        let join = plan.iter().position(|s| *s == CommitStep::Join).unwrap();
        for w in plan[1..join].chunks(2) {
            let (
                CommitStep::Leaves { start, count, lane },
                CommitStep::Subtree {
                    pass: 0,
                    start: s2,
                    count: c2,
                    lane: Lane::High,
                    after,
                },
            ) = (w[0], w[1])
            else {
                panic!("unexpected pair {w:?}");
            };
            assert_eq!((start, count, Some(lane)), (s2, c2, after));
        }
        // after the join, only the main stream
        assert!(plan[join + 1..].iter().all(|s| matches!(
            s,
            CommitStep::Root
                | CommitStep::Subtree {
                    lane: Lane::Main,
                    after: None,
                    ..
                }
        )));
    }

    #[test]
    fn every_schedule_computes_the_commitment() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut bytes = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        };
        let p32 = CommitParams::new(HashAlg::Keccak256, 5).unwrap();
        let p64 = CommitParams::new(HashAlg::Sha3_256, 6).unwrap();
        // leaf counts around the segment and group boundaries, three passes for the largest
        for (params, len) in [
            (p32, 0usize),
            (p32, 1),
            (p32, 32 * 512),
            (p32, 32 * 512 + 1),
            (p32, 32 * 1024 + 31),
            (p64, 64 * 2048 - 3),
            (p64, 64 * 5 * 512 + 64 * 7),
            (p32, 32 * (512 * 512 + 3)),
        ] {
            let data = bytes(len);
            let want = commit(&data, &params);
            let n = params.leaf_count(len as u64);
            for schedule in [
                CommitSchedule::Serial,
                CommitSchedule::Pipelined { segments: 2 },
                CommitSchedule::Pipelined { segments: 3 },
                CommitSchedule::Pipelined { segments: 8 },
                CommitSchedule::Pipelined { segments: 64 },
            ] {
                let got = run_plan(&data, &params, &commit_plan(n, schedule));
                assert_eq!(got, want.root, "len {len}, {schedule:?}");
            }
        }
    }
}
