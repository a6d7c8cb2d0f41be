//! The PTX modules: ISA version and target, the instructions the brief asks for, staleness of the committed PTX
//! when nvcc was found, and the hand-written Keccak-f[1600] PTX executed by a small PTX interpreter (the subset of
//! instructions that file uses) against the `keccak` crate.

use cuproof::ptx;
use std::collections::HashMap;

fn version_of(ptx: &str) -> (u32, u32) {
    let line = ptx
        .lines()
        .find(|l| l.starts_with(".version"))
        .expect(".version line");
    let v = line.trim_start_matches(".version").trim();
    let (a, b) = v.split_once('.').expect("major.minor");
    (a.parse().unwrap(), b.parse().unwrap())
}

#[test]
fn modules_target_sm80_with_isa_at_most_9_0() {
    for (name, text) in ptx::modules() {
        let v = version_of(text);
        assert!(
            v <= (9, 0),
            "{name}: PTX ISA {v:?} > 9.0 will not load on driver 580"
        );
        assert!(text.contains(".target sm_80"), "{name}: not sm_80");
    }
}

#[test]
fn modules_export_the_runtime_entries() {
    use cuproof::kernels::{fill, freivalds, gemm, keccak, merkle};
    let want: [(&str, &[&str]); 4] = [
        (
            ptx::KECCAK_MERKLE,
            &[
                merkle::ENTRY_LEAVES,
                merkle::ENTRY_SUBTREE,
                merkle::ENTRY_ROOT,
                fill::ENTRY,
            ],
        ),
        (ptx::GEMM_I8, &[gemm::ENTRY]),
        (
            ptx::FREIVALDS,
            &[
                freivalds::ENTRY_BR_PARTIAL,
                freivalds::ENTRY_BR_PARTIAL4,
                freivalds::ENTRY_BR_PARTIAL_DP2A,
                freivalds::ENTRY_BR_PARTIAL4_DP2A,
                freivalds::ENTRY_BR_FUSED,
                freivalds::ENTRY_SUM_SLICES,
                freivalds::ENTRY_ROWS_I8,
                freivalds::ENTRY_ROWS_I8_DP2A,
                freivalds::ENTRY_ROWS_I32,
                freivalds::queue::ENTRY,
                freivalds::queue::ENTRY_DP2A,
                freivalds::queue::ENTRY4,
                freivalds::queue::ENTRY4_DP2A,
            ],
        ),
        (ptx::KECCAK_F1600, &[keccak::ENTRY_F1600_BATCH]),
    ];
    for (text, entries) in want {
        for e in entries {
            assert!(text.contains(&format!(".entry {e}(")), "missing entry {e}");
        }
    }
}

#[test]
fn hopper_gemm_module_targets_sm90a_with_wgmma_and_tma() {
    let text = ptx::GEMM_I8_SM90;
    let v = version_of(text);
    assert!(v <= (9, 0), "gemm_i8_sm90: PTX ISA {v:?} > 9.0");
    assert!(text.contains(".target sm_90a"));
    assert!(text.contains(&format!(".entry {}(", cuproof::kernels::gemm::sm90::ENTRY)));
    for instr in [
        "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8",
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes",
        "mbarrier.try_wait.parity",
        "setmaxnreg.inc.sync.aligned.u32",
    ] {
        assert!(text.contains(instr), "gemm_i8_sm90 lacks {instr}");
    }
    // loaded on compute capability 9.0 only
    assert!(ptx::modules_for((8, 0))
        .iter()
        .all(|(n, _)| *n != "gemm_i8_sm90"));
    assert!(ptx::modules_for((9, 0))
        .iter()
        .any(|(n, _)| *n == "gemm_i8_sm90"));
    assert!(ptx::modules_for((10, 0))
        .iter()
        .all(|(n, _)| *n != "gemm_i8_sm90"));
}

#[test]
fn hopper_freivalds_module_streams_rows_by_bulk_copies() {
    use cuproof::kernels::freivalds::bulk;
    let text = ptx::FREIVALDS_SM90;
    let v = version_of(text);
    assert!(v <= (9, 0), "freivalds_sm90: PTX ISA {v:?} > 9.0");
    assert!(text.contains(".target sm_90a"));
    for e in [bulk::ENTRY_CR, bulk::ENTRY_AY] {
        assert!(text.contains(&format!(".entry {e}(")), "missing entry {e}");
    }
    for instr in [
        "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes",
        "mbarrier.arrive.expect_tx.shared::cta.b64",
        "mbarrier.try_wait.parity",
        "fence.mbarrier_init.release.cluster",
    ] {
        assert!(text.contains(instr), "freivalds_sm90 lacks {instr}");
    }
    for cc in [(8, 0), (8, 9), (10, 0)] {
        assert!(ptx::modules_for(cc).iter().all(|(n, _)| *n != bulk::MODULE));
    }
    assert!(ptx::modules_for((9, 0))
        .iter()
        .any(|(n, _)| *n == bulk::MODULE));
}

#[test]
fn hopper_freivalds_pdl_module_waits_for_its_primary() {
    use cuproof::kernels::freivalds;
    let text = ptx::FREIVALDS_PDL_SM90;
    assert!(version_of(text) <= (9, 0));
    assert!(text.contains(".target sm_90a"));
    for e in [
        freivalds::ENTRY_BR_PARTIAL,
        freivalds::ENTRY_BR_PARTIAL4,
        freivalds::ENTRY_BR_PARTIAL_DP2A,
        freivalds::ENTRY_BR_PARTIAL4_DP2A,
        freivalds::ENTRY_SUM_SLICES,
        freivalds::ENTRY_ROWS_I8,
        freivalds::ENTRY_ROWS_I8_DP2A,
        freivalds::ENTRY_ROWS_I32,
    ] {
        assert!(text.contains(&format!(".entry {e}(")), "missing entry {e}");
    }
    // the dependents (sum, both A·y) wait — exactly the entries the launch code issues as dependents; the four
    // B·r kernels and the sum release their dependents; the sm_80 module has neither
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split(".entry ").nth(1))
        .filter_map(|l| l.split('(').next())
        .collect();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        assert_eq!(
            entry_text(text, name).contains("griddepcontrol.wait"),
            freivalds::waits_for_primary(name),
            "{name}"
        );
    }
    assert_eq!(text.matches("griddepcontrol.wait").count(), 3);
    assert_eq!(text.matches("griddepcontrol.launch_dependents").count(), 5);
    assert!(!ptx::FREIVALDS.contains("griddepcontrol"));
    assert!(ptx::modules_for((9, 0))
        .iter()
        .any(|(n, _)| *n == freivalds::PDL_MODULE));
    assert!(ptx::modules_for((8, 0))
        .iter()
        .all(|(n, _)| *n != freivalds::PDL_MODULE));
}

#[test]
fn kernels_use_the_required_instructions() {
    assert!(ptx::GEMM_I8.contains("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"));
    for text in [ptx::KECCAK_F1600, ptx::KECCAK_MERKLE] {
        assert!(text.contains("shf.l.wrap.b32"));
        assert!(text.contains("lop3.b32"));
    }
}

/// The text of entry `name` in a PTX module (to the next entry or the end).
fn entry_text<'a>(ptx: &'a str, name: &str) -> &'a str {
    let start = ptx
        .find(&format!(".entry {name}("))
        .unwrap_or_else(|| panic!("no entry {name}"));
    let rest = &ptx[start + 1..];
    &ptx[start..start + 1 + rest.find(".entry ").unwrap_or(rest.len())]
}

#[test]
fn dp2a_freivalds_kernels_use_two_way_dot_products() {
    use cuproof::kernels::freivalds;
    for text in [ptx::FREIVALDS, ptx::FREIVALDS_PDL_SM90] {
        for (dp2a, imad) in [
            (
                freivalds::ENTRY_BR_PARTIAL_DP2A,
                freivalds::ENTRY_BR_PARTIAL,
            ),
            (
                freivalds::ENTRY_BR_PARTIAL4_DP2A,
                freivalds::ENTRY_BR_PARTIAL4,
            ),
            (freivalds::ENTRY_ROWS_I8_DP2A, freivalds::ENTRY_ROWS_I8),
        ] {
            let (d, i) = (entry_text(text, dp2a), entry_text(text, imad));
            // unsigned 16-bit limb halves against signed bytes, both halves of the byte word
            assert!(
                d.contains("dp2a.lo.u32.s32") && d.contains("dp2a.hi.u32.s32"),
                "{dp2a}"
            );
            assert!(!i.contains("dp2a.lo") && !i.contains("dp2a.hi"), "{imad}");
            // the batched loop's multiply-adds become dot products: at most half the mad instructions remain
            // (the tails keep theirs)
            let mads = |t: &str| t.matches("mad.lo.s32").count();
            assert!(
                2 * mads(d) <= mads(i) + 8,
                "{dp2a}: {} mad against {}",
                mads(d),
                mads(i)
            );
        }
    }
}

#[test]
fn bilinear_queue_kernels_take_items_from_one_counter() {
    use cuproof::kernels::freivalds::queue;
    for text in [ptx::FREIVALDS, ptx::FREIVALDS_PDL_SM90] {
        for e in queue::ENTRIES {
            let t = entry_text(text, e);
            // the queue head, the column groups' counters and the blocks' counter: atomic adds on global u32
            assert!(t.contains("atom.global.add.u32"), "{e}: no atomic queue");
            // writes that other warps read are fenced, and read back through L2
            assert!(
                t.contains("membar.gl")
                    || t.contains("fence.sc.gpu")
                    || t.contains("fence.acq_rel.gpu"),
                "{e}"
            );
            assert!(
                t.contains("ld.global.cg.u64"),
                "{e}: no L2 loads of the vectors"
            );
            // the group's slice sum reads a lane's partials as 16-byte pairs, not word by word
            assert!(
                t.contains("ld.global.cg.v2.u64"),
                "{e}: slice sum not vectorised"
            );
            // the two sides need the exact 122-bit products
            assert!(t.contains("mul.hi.u64"), "{e}");
            // it depends on no other grid: nothing but the queue orders its work
            assert!(!t.contains("griddepcontrol"), "{e}");
            let dp2a = e.ends_with("_dp2a");
            assert_eq!(t.contains("dp2a.lo.u32.s32"), dp2a, "{e}");
            // the register bound that lets the persistent grid fill each SM: 2 blocks of 256 (<= 128 registers)
            // for the 8-l entries, 4 (<= 64) for the 4-l ones
            let min_blocks = if e.contains("queue4") { 4 } else { 2 };
            assert!(t.contains(".maxntid 256"), "{e}");
            assert!(t.contains(&format!(".minnctapersm {min_blocks}")), "{e}");
        }
    }
}

#[test]
fn committed_ptx_is_fresh_when_nvcc_is_present() {
    if !ptx::PTX_ORIGIN.starts_with("nvcc:") {
        eprintln!("nvcc 13.0.x not found at build time: the build used the committed PTX (nothing to compare)");
        return;
    }
    for (name, fresh, committed) in [
        (
            "keccak_merkle",
            ptx::KECCAK_MERKLE,
            ptx::KECCAK_MERKLE_COMMITTED,
        ),
        ("gemm_i8", ptx::GEMM_I8, ptx::GEMM_I8_COMMITTED),
        ("freivalds", ptx::FREIVALDS, ptx::FREIVALDS_COMMITTED),
        (
            "gemm_i8_sm90",
            ptx::GEMM_I8_SM90,
            ptx::GEMM_I8_SM90_COMMITTED,
        ),
        (
            "freivalds_sm90",
            ptx::FREIVALDS_SM90,
            ptx::FREIVALDS_SM90_COMMITTED,
        ),
        (
            "freivalds_pdl_sm90",
            ptx::FREIVALDS_PDL_SM90,
            ptx::FREIVALDS_PDL_SM90_COMMITTED,
        ),
    ] {
        assert!(
            fresh == committed,
            "kernels/ptx/{name}.ptx is stale relative to kernels/{name}.cu: regenerate it (docs/kernels.md)"
        );
    }
}

/// A tiny interpreter for the PTX subset of kernels/keccak.ptx, running one thread.
struct Interp<'a> {
    regs: HashMap<String, u64>,
    consts: HashMap<String, (u64, Vec<u8>)>,
    mem: &'a mut Vec<u8>,
}

const CONST_BASE: u64 = 0x1000_0000;
const GLOBAL_BASE: u64 = 0x4000_0000;

impl Interp<'_> {
    fn val(&self, op: &str) -> u64 {
        let op = op.trim();
        if let Some(h) = op.strip_prefix("0x").or_else(|| op.strip_prefix("0X")) {
            return u64::from_str_radix(h, 16).unwrap();
        }
        if op.chars().all(|c| c.is_ascii_digit()) {
            return op.parse().unwrap();
        }
        match op {
            "%ctaid.x" | "%tid.x" => 0,
            "%ntid.x" => 128,
            _ => {
                if let Some((base, _)) = self.consts.get(op) {
                    return *base;
                }
                *self
                    .regs
                    .get(op)
                    .unwrap_or_else(|| panic!("unset register {op}"))
            }
        }
    }
    fn addr(&self, op: &str) -> u64 {
        let inner = op.trim().trim_start_matches('[').trim_end_matches(']');
        match inner.split_once('+') {
            Some((r, off)) => self.val(r).wrapping_add(off.trim().parse::<u64>().unwrap()),
            None => self.val(inner),
        }
    }
    fn load32(&self, space: &str, a: u64) -> u32 {
        let b: [u8; 4] = if space == "const" {
            let (base, data) = self.consts.values().next().unwrap();
            let o = (a - base) as usize;
            data[o..o + 4].try_into().unwrap()
        } else {
            let o = (a - GLOBAL_BASE) as usize;
            self.mem[o..o + 4].try_into().unwrap()
        };
        u32::from_le_bytes(b)
    }
    fn set(&mut self, r: &str, v: u64) {
        self.regs.insert(r.trim().to_string(), v);
    }
}

fn split_ops(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for ch in s.chars() {
        match ch {
            '{' | '[' => {
                depth += 1;
                cur.push(ch)
            }
            '}' | ']' => {
                depth -= 1;
                cur.push(ch)
            }
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn run_hand_ptx(state: &mut [u64; 25]) {
    let text = ptx::KECCAK_F1600;
    let mut consts = HashMap::new();
    let mut body: Vec<&str> = Vec::new();
    let mut in_body = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with(".const") {
            let name = l
                .split_whitespace()
                .nth(4)
                .unwrap()
                .split('[')
                .next()
                .unwrap()
                .to_string();
            let vals = l.split('{').nth(1).unwrap().trim_end_matches("};");
            let mut data = Vec::new();
            for v in vals.split(',') {
                let v = u32::from_str_radix(v.trim().trim_start_matches("0x"), 16).unwrap();
                data.extend_from_slice(&v.to_le_bytes());
            }
            consts.insert(name, (CONST_BASE, data));
        }
        if l == "{" {
            in_body = true;
            continue;
        }
        if in_body && l != "}" && !l.starts_with(".reg") && !l.is_empty() && !l.starts_with("//") {
            body.push(l);
        }
    }
    let labels: HashMap<&str, usize> = body
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.strip_suffix(':').map(|n| (n, i)))
        .collect();
    let mut mem: Vec<u8> = state.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut it = Interp {
        regs: HashMap::new(),
        consts,
        mem: &mut mem,
    };
    it.regs.insert("cp_states".into(), GLOBAL_BASE);
    it.regs.insert("cp_count".into(), 1);
    let mut pc = 0;
    let mut steps = 0u64;
    while pc < body.len() {
        steps += 1;
        assert!(steps < 1_000_000, "runaway");
        let mut l = body[pc].trim_end_matches(';').trim();
        pc += 1;
        if l.ends_with(':') {
            continue;
        }
        if let Some(rest) = l.strip_prefix('@') {
            let (p, ins) = rest.split_once(' ').unwrap();
            if it.val(p) == 0 {
                continue;
            }
            l = ins.trim();
        }
        let (op, args) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let a = split_ops(args);
        let m32 = |v: u64| v & 0xFFFF_FFFF;
        match op {
            "ret" => break,
            "bra" => pc = labels[a[0].as_str()],
            "ld.param.u64" => {
                let v = it.val(a[1].trim_matches(|c| c == '[' || c == ']'));
                it.set(&a[0], v)
            }
            "mov.u32" | "mov.b32" => {
                let v = m32(it.val(&a[1]));
                it.set(&a[0], v)
            }
            "mov.u64" => {
                let v = it.val(&a[1]);
                it.set(&a[0], v)
            }
            "mad.wide.u32" => {
                let v = m32(it.val(&a[1])) * m32(it.val(&a[2])) + it.val(&a[3]);
                it.set(&a[0], v)
            }
            "mul.wide.u32" => {
                let v = m32(it.val(&a[1])) * m32(it.val(&a[2]));
                it.set(&a[0], v)
            }
            "cvt.u64.u32" => {
                let v = m32(it.val(&a[1]));
                it.set(&a[0], v)
            }
            "cvta.to.global.u64" => {
                let v = it.val(&a[1]);
                it.set(&a[0], v)
            }
            "add.u64" => {
                let v = it.val(&a[1]).wrapping_add(it.val(&a[2]));
                it.set(&a[0], v)
            }
            "mul.lo.u64" => {
                let v = it.val(&a[1]).wrapping_mul(it.val(&a[2]));
                it.set(&a[0], v)
            }
            "add.u32" => {
                let v = m32(it.val(&a[1]).wrapping_add(it.val(&a[2])));
                it.set(&a[0], v)
            }
            "setp.ge.u64" => {
                let v = (it.val(&a[1]) >= it.val(&a[2])) as u64;
                it.set(&a[0], v)
            }
            "setp.lt.u32" => {
                let v = (m32(it.val(&a[1])) < m32(it.val(&a[2]))) as u64;
                it.set(&a[0], v)
            }
            "xor.b32" => {
                let v = m32(it.val(&a[1]) ^ it.val(&a[2]));
                it.set(&a[0], v)
            }
            "lop3.b32" => {
                let (x, y, z) = (
                    m32(it.val(&a[1])) as u32,
                    m32(it.val(&a[2])) as u32,
                    m32(it.val(&a[3])) as u32,
                );
                let lut = it.val(&a[4]) as u8;
                let mut r = 0u32;
                for bit in 0..32 {
                    let idx = (((x >> bit) & 1) << 2) | (((y >> bit) & 1) << 1) | ((z >> bit) & 1);
                    // LUT index as in the PTX ISA: a = 0xF0, b = 0xCC, c = 0xAA
                    r |= (((lut >> idx) & 1) as u32) << bit;
                }
                it.set(&a[0], r as u64)
            }
            "shf.l.wrap.b32" => {
                let (lo, hi) = (m32(it.val(&a[1])), m32(it.val(&a[2])));
                let n = it.val(&a[3]) & 31;
                let v = ((hi << 32) | lo) << n;
                it.set(&a[0], m32(v >> 32))
            }
            "ld.global.v2.b32" | "ld.const.v2.b32" => {
                let space = if op.starts_with("ld.const") {
                    "const"
                } else {
                    "global"
                };
                let regs: Vec<&str> = a[0]
                    .trim_matches(|c| c == '{' || c == '}')
                    .split(',')
                    .collect();
                let ad = it.addr(&a[1]);
                let (v0, v1) = (it.load32(space, ad), it.load32(space, ad + 4));
                it.set(regs[0], v0 as u64);
                it.set(regs[1], v1 as u64);
            }
            "st.global.v2.b32" => {
                let ad = (it.addr(&a[0]) - GLOBAL_BASE) as usize;
                let regs: Vec<&str> = a[1]
                    .trim_matches(|c| c == '{' || c == '}')
                    .split(',')
                    .collect();
                let (v0, v1) = (it.val(regs[0]) as u32, it.val(regs[1]) as u32);
                it.mem[ad..ad + 4].copy_from_slice(&v0.to_le_bytes());
                it.mem[ad + 4..ad + 8].copy_from_slice(&v1.to_le_bytes());
            }
            other => panic!("instruction {other} not supported by the test interpreter"),
        }
    }
    for (i, w) in state.iter_mut().enumerate() {
        *w = u64::from_le_bytes(mem[8 * i..8 * i + 8].try_into().unwrap());
    }
}

#[test]
fn hand_written_keccak_ptx_computes_keccak_f1600() {
    let mut x = 0x0123_4567_89AB_CDEFu64;
    for _ in 0..3 {
        let mut s = [0u64; 25];
        for w in s.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *w = x;
        }
        let mut want = s;
        keccak::f1600(&mut want);
        run_hand_ptx(&mut s);
        assert_eq!(s, want);
    }
}

#[test]
fn hand_written_ptx_matches_its_register_plan_script() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("python3")
        .arg(format!("{root}/kernels/gen_keccak_ptx.py"))
        .output()
        .expect(
            "python3 is required to check kernels/keccak.ptx against kernels/gen_keccak_ptx.py",
        );
    assert!(
        out.status.success(),
        "gen_keccak_ptx.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        generated.trim_end(),
        ptx::KECCAK_F1600.trim_end(),
        "kernels/keccak.ptx differs from `python3 kernels/gen_keccak_ptx.py`: regenerate it (docs/kernels.md)"
    );
}
