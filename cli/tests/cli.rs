//! The CLI as a user meets it: exit codes (0 valid, 1 invalid, 2 usage/input, 3 environment), one-line errors,
//! and nothing written when a command fails.

mod common;

use common::{
    assert_fails, assert_ok, capacity_judge, capacity_rounds, cuproof, development_policy, hex32,
    npy,
};
use std::process::Command;

#[test]
fn usage_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let o = cuproof(&["frobnicate"], d.path());
    assert_eq!(o.status.code(), Some(2));
    let o = cuproof(
        &[
            "run",
            "matmul-i8",
            "--challenge",
            "zz",
            "--seed",
            &hex32(1),
            "--m",
            "2",
            "--k",
            "2",
            "--n",
            "2",
        ],
        d.path(),
    );
    assert_fails(&o, 2, "--challenge");
    let o = cuproof(&["run", "conv2d", "--challenge", &hex32(1)], d.path());
    assert_fails(&o, 2, "unknown workload");
    assert!(!d.path().join("out").join("receipt.bin").exists());
}

#[test]
fn bad_inputs_exit_2_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // Missing file.
    let o = cuproof(
        &[
            "run",
            "matmul-i8",
            "--a",
            "nope.npy",
            "--b",
            "nope.npy",
            "--challenge",
            &hex32(1),
            "--out",
            "o1",
        ],
        p,
    );
    assert_fails(&o, 2, "nope.npy");
    // Wrong dtype.
    std::fs::write(p.join("f.npy"), npy("<f4", &[2, 2], &[0; 16])).unwrap();
    std::fs::write(p.join("a.npy"), npy("|i1", &[2, 3], &[1; 6])).unwrap();
    let o = cuproof(
        &[
            "run",
            "matmul-i8",
            "--a",
            "f.npy",
            "--b",
            "a.npy",
            "--challenge",
            &hex32(1),
            "--out",
            "o2",
        ],
        p,
    );
    assert_fails(&o, 2, "dtype");
    // Shape mismatch: A 2x3, B 2x3.
    let o = cuproof(
        &[
            "run",
            "matmul-i8",
            "--a",
            "a.npy",
            "--b",
            "a.npy",
            "--challenge",
            &hex32(1),
            "--out",
            "o3",
        ],
        p,
    );
    assert_fails(&o, 2, "shape mismatch");
    // Corrupt receipt for inspect.
    std::fs::write(p.join("bad.bin"), b"CUPROOF\0garbage").unwrap();
    let o = cuproof(&["inspect", "bad.bin"], p);
    assert_fails(&o, 2, "bad.bin");
    // Unknown policy key.
    std::fs::write(
        p.join("p.toml"),
        "name = \"x\"\nbackend = \"any\"\nfrobnicate = 1\n",
    )
    .unwrap();
    let o = cuproof(
        &[
            "verify",
            "bad.bin",
            "--policy",
            "p.toml",
            "--challenge",
            &hex32(1),
        ],
        p,
    );
    assert_fails(&o, 2, "frobnicate");
    for o in ["o1", "o2", "o3"] {
        assert!(!p.join(o).join("receipt.bin").exists(), "{o} has a receipt");
    }
}

#[test]
fn tpm_unreachable_exits_3() {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cuproof"))
        .args([
            "run",
            "matmul-i8",
            "--seed",
            &hex32(1),
            "--m",
            "2",
            "--k",
            "2",
            "--n",
            "2",
            "--challenge",
            &hex32(2),
            "--out",
            "o",
        ])
        .current_dir(d.path())
        .env("CUPROOF_TCTI", "swtpm:host=127.0.0.1,port=1")
        .env("TSS2_LOG", "all+none")
        .output()
        .unwrap();
    assert_fails(&o, 3, "TPM");
    assert!(!d.path().join("o").join("receipt.bin").exists());
}

#[test]
fn run_then_verify_valid_and_tampered() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let ch = hex32(7);
    let o = cuproof(
        &[
            "run",
            "matmul-i8",
            "--seed",
            &hex32(3),
            "--m",
            "4",
            "--k",
            "8",
            "--n",
            "4",
            "--challenge",
            &ch,
            "--out",
            "out",
        ],
        p,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/verify/policies/development.toml"
    );
    let o = cuproof(
        &[
            "verify",
            "out/receipt.bin",
            "--policy",
            policy,
            "--challenge",
            &ch,
            "--node",
            "out/node.json",
        ],
        p,
    );
    assert_ok(&o);
    // Another challenge: invalid.
    let o = cuproof(
        &[
            "verify",
            "out/receipt.bin",
            "--policy",
            policy,
            "--challenge",
            &hex32(8),
            "--node",
            "out/node.json",
        ],
        p,
    );
    assert_fails(&o, 1, "invalid");
    // A flipped byte in the receipt: invalid (never accepted).
    let mut b = std::fs::read(p.join("out/receipt.bin")).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x40;
    std::fs::write(p.join("t.bin"), &b).unwrap();
    let o = cuproof(
        &[
            "verify",
            "t.bin",
            "--policy",
            policy,
            "--challenge",
            &ch,
            "--node",
            "out/node.json",
        ],
        p,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The output tensor is a valid int32 .npy of the right shape.
    let c = std::fs::read(p.join("out/C.npy")).unwrap();
    assert!(String::from_utf8_lossy(&c[..80]).contains("'shape': (4, 4)"));
    // JSON rendering of the receipt.
    let o = cuproof(&["inspect", "out/receipt.bin", "--json"], p);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["statement"]["workload"], "matmul-i8");

    // Measured boot: the private swtpm went through the simulated firmware boot; the receipt carries its log.
    let o = cuproof(&["bootlog", "--receipt", "out/receipt.bin"], p);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("SecureBoot = 01"), "{shown}");
    assert!(shown.contains("grubx64.efi"), "{shown}");
    // The reference table from that log, added to the development policy, accepts the receipt ...
    let o = cuproof(&["bootlog", "--receipt", "out/receipt.bin", "--policy"], p);
    assert_eq!(o.status.code(), Some(0));
    let table = String::from_utf8(o.stdout).unwrap();
    let dev = std::fs::read_to_string(policy).unwrap();
    let with_boot = p.join("with-boot.toml");
    std::fs::write(&with_boot, format!("{dev}\n{table}")).unwrap();
    let verify = |pol: &str| {
        cuproof(
            &[
                "verify",
                "out/receipt.bin",
                "--policy",
                pol,
                "--challenge",
                &ch,
                "--node",
                "out/node.json",
            ],
            p,
        )
    };
    let o = verify("with-boot.toml");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("✓ boot.secure_boot"), "{out}");
    assert!(out.contains("✓ boot.applications"), "{out}");
    // ... and one that allows another kernel refuses it.
    let kernel = table
        .lines()
        .find(|l| l.contains("vmlinuz"))
        .and_then(|l| l.split('"').nth(1))
        .expect("kernel digest")
        .to_string();
    std::fs::write(
        p.join("other-kernel.toml"),
        format!("{dev}\n{}", table.replace(&kernel, &"ab".repeat(32))),
    )
    .unwrap();
    let o = verify("other-kernel.toml");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("✗ boot.applications"));
    // Not a boot log: one line, exit 2; no such file: exit 2.
    let o = cuproof(&["bootlog", "out/receipt.bin"], p);
    assert_fails(&o, 2, "Spec ID event");
    let o = cuproof(&["bootlog", "no-such-log"], p);
    assert_fails(&o, 2, "no-such-log");

    // Runtime measurements: the receipt's IMA list, its reference [ima] table accepted with the boot table ...
    let o = cuproof(&["ima", "--receipt", "out/receipt.bin"], p);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("nvidia.ko"));
    let o = cuproof(&["ima", "--receipt", "out/receipt.bin", "--policy"], p);
    let ima_table = String::from_utf8(o.stdout).unwrap();
    std::fs::write(
        p.join("with-ima.toml"),
        format!("{dev}\n{table}\n{ima_table}"),
    )
    .unwrap();
    let o = verify("with-ima.toml");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("✓ ima.log"), "{out}");
    assert!(out.contains("✓ ima.files"), "{out}");
    // ... and refusing a build of the driver it does not list.
    std::fs::write(
        p.join("other-driver.toml"),
        format!("{dev}\n{table}\n{}", other_driver_build(&ima_table)),
    )
    .unwrap();
    let o = verify("other-driver.toml");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("✗ ima.files"));
    let o = cuproof(&["ima", "out/receipt.bin"], p);
    assert_fails(&o, 2, "IMA entry 1");

    // A reader that closes the pipe early (`cuproof bootlog | head -1`) gets no panic report.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cuproof"))
        .args(["bootlog", "--receipt", "out/receipt.bin"])
        .current_dir(p)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0), "{err}");
}

/// An `[ima]` table (`cuproof ima --policy`) that allows another build of `nvidia.ko` than the one it lists.
fn other_driver_build(ima_table: &str) -> String {
    let module = ima_table
        .lines()
        .find(|l| l.contains("/nvidia.ko\" ="))
        .and_then(|l| l.split("sha256:").nth(1))
        .map(|d| d[..64].to_string())
        .expect("nvidia.ko digest");
    ima_table.replace(&module, &"ef".repeat(32))
}

#[test]
fn capacity_challenge_through_files() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let ok = assert_ok;
    ok(&cuproof(
        &["challenge", "new", "--class", "cpu", "--out", "ch.bin"],
        p,
    ));
    // the node's two rounds and the verifier's row choice, for challenge `ch`, files suffixed `tag`, then the judge
    let node_rounds = |ch: &str, tag: &str| {
        capacity_rounds(p, ch, tag, &[]);
        capacity_judge(p, ch, tag, &[])
    };
    let o = node_rounds("ch.bin", "");
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("class cpu × 1 proven"));
    // Two cards side by side: twice the workload under the same bound, two runtimes on the node.
    let o = cuproof(
        &[
            "challenge",
            "new",
            "--class",
            "cpu",
            "--cards",
            "2",
            "--out",
            "ch-2.bin",
        ],
        p,
    );
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 card(s), 8 iterations"));
    let o = node_rounds("ch-2.bin", "-2");
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("class cpu × 2 proven"));
    // A policy whose [capacity] is production's (development.toml otherwise): the same transcript fails its
    // `policy` check (the cpu class, no node record for a hardware TPM), exit 1; the verifier will not even issue
    // a cpu challenge under it, and a measurement for an unknown class is refused (exit 2).
    let dev = development_policy();
    let strict = &dev[..dev.find("[capacity]").unwrap()];
    std::fs::write(
        p.join("strict.toml"),
        format!("{strict}[capacity]\nrequire_class = \"h100-sxm\"\n"),
    )
    .unwrap();
    // the first transcript judged with `openings` and `extra` arguments
    let judge_with = |openings: &str, extra: &[&str]| {
        let mut args = vec![
            "challenge",
            "judge",
            "--challenge",
            "ch.bin",
            "--commit",
            "commit.bin",
            "--rows",
            "rows.bin",
            "--openings",
            openings,
        ];
        args.extend_from_slice(extra);
        cuproof(&args, p)
    };
    let judged = |policy: &str| judge_with("open.bin", &["--policy", policy]);
    let judge = |openings: &str| judge_with(openings, &[]);
    let o = judged("strict.toml");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("✗ policy") && out.contains("requires class h100-sxm"),
        "{out}"
    );
    assert!(out.contains("cpu class is not accepted") && out.contains("no enrolled AK"));
    let o = cuproof(
        &[
            "challenge",
            "new",
            "--class",
            "cpu",
            "--policy",
            "strict.toml",
            "--out",
            "ch-s.bin",
        ],
        p,
    );
    assert_fails(&o, 2, "cpu class is not accepted");
    std::fs::write(
        p.join("measured.toml"),
        format!(
            "{strict}[capacity]\n[capacity.measured.h300]\nmeasured_ms = 900\ntensor_ms = 600\non = \"x\"\n"
        ),
    )
    .unwrap();
    assert_fails(&judged("measured.toml"), 2, "capacity.measured.h300");
    std::fs::write(
        p.join("unknown.toml"),
        format!("{strict}[capacity]\nrequire_class = \"H100 SXM\"\n"),
    )
    .unwrap();
    assert_fails(&judged("unknown.toml"), 2, "capacity.require_class");
    // Eleven cards cannot be told from ten within the 10 % margin: refused (usage/input), no file written.
    let o = cuproof(
        &[
            "challenge",
            "new",
            "--class",
            "cpu",
            "--cards",
            "11",
            "--out",
            "ch-11.bin",
        ],
        p,
    );
    assert_fails(&o, 2, "cannot be told from 10");
    assert!(!p.join("ch-11.bin").exists());
    // A node that answers with a wrong row value is caught.
    let mut b = std::fs::read(p.join("open.bin")).unwrap();
    let n = b.len();
    b[n - 40] ^= 1;
    std::fs::write(p.join("bad.bin"), &b).unwrap();
    assert_eq!(judge("bad.bin").status.code().map(|c| c != 0), Some(true));
    // A response to another challenge is refused by the node and by the verifier.
    ok(&cuproof(
        &["challenge", "new", "--class", "cpu", "--out", "ch2.bin"],
        p,
    ));
    let o = cuproof(
        &[
            "challenge",
            "judge",
            "--challenge",
            "ch2.bin",
            "--commit",
            "commit.bin",
            "--rows",
            "rows.bin",
            "--openings",
            "open.bin",
        ],
        p,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A capacity claim held to the policy's measured stack: the challenge asks for the boot and IMA PCRs the policy
/// judges, the node sends its firmware log and IMA list with Q2, and the verifier judges them as it judges a
/// receipt's: the reference tables taken from one transcript accept the next, and a policy that lists another
/// driver build refuses it.
#[test]
fn capacity_challenge_judges_the_node_stack() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let ok = assert_ok;
    let dev = development_policy();
    // The transcript suffixed `tag` judged under `policy`.
    let judge = |policy: &str, tag: &str| {
        capacity_judge(p, &format!("ch{tag}.bin"), tag, &["--policy", policy])
    };
    // A whole round under `policy`, files suffixed `tag`: what the node said, and the judge's output.
    let round = |policy: &str, tag: &str| {
        let ch = format!("ch{tag}.bin");
        ok(&cuproof(
            &[
                "challenge",
                "new",
                "--class",
                "cpu",
                "--policy",
                policy,
                "--out",
                &ch,
            ],
            p,
        ));
        let said = capacity_rounds(p, &ch, tag, &[]);
        (said, judge(policy, tag))
    };

    // 1. The development policy judges no boot or IMA table: the quotes select the job PCR only, no logs travel.
    std::fs::write(p.join("dev.toml"), &dev).unwrap();
    let (said, o) = round("dev.toml", "-dev");
    ok(&o);
    assert!(
        said.contains("PCRs [23]; boot log 0 bytes, IMA list 0 bytes"),
        "{said}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("✓ stack") && out.contains("– boot.log"),
        "{out}"
    );
    let o = cuproof(&["bootlog", "--commit", "commit-dev.bin"], p);
    assert_fails(&o, 2, "the commit message carries no boot event log");

    // 2. A policy that quotes the boot and IMA PCRs (values not judged yet): the node sends both logs.
    let quoted = dev.replace(
        "exact_selection = false",
        "exact_selection = false\nalso_quoted = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
    );
    std::fs::write(p.join("quoted.toml"), &quoted).unwrap();
    let (said, o) = round("quoted.toml", "-q");
    ok(&o);
    assert!(
        said.contains("PCRs [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 23]"),
        "{said}"
    );
    assert!(
        !said.contains("boot log 0 bytes") && !said.contains("IMA list 0 bytes"),
        "{said}"
    );
    // the transcript answers a challenge for other PCRs than the dev policy asks: refused
    let o = judge("dev.toml", "-q");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("✗ challenge"));

    // 3. The reference tables of that node's boot and runtime, taken from its commit message, accept its next
    //    transcript: the stack is judged as a receipt's.
    let table = |cmd: &str| {
        let o = cuproof(&[cmd, "--commit", "commit-q.bin", "--policy"], p);
        ok(&o);
        String::from_utf8(o.stdout).unwrap()
    };
    let (boot, ima) = (table("bootlog"), table("ima"));
    assert!(
        boot.contains("[boot]") && ima.contains("[ima]"),
        "{boot}{ima}"
    );
    std::fs::write(p.join("stack.toml"), format!("{dev}\n{boot}\n{ima}")).unwrap();
    let (said, o) = round("stack.toml", "-s");
    ok(&o);
    assert!(
        said.contains("PCRs [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 23]"),
        "{said}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    for check in [
        "✓ stack",
        "✓ boot.log",
        "✓ boot.applications",
        "✓ ima.log",
        "✓ ima.files",
    ] {
        assert!(out.contains(check), "{check}:\n{out}");
    }
    assert!(out.contains("class cpu × 1 proven"), "{out}");

    // 4. A policy that lists another build of the NVIDIA driver refuses the same transcript, by the stack alone.
    std::fs::write(
        p.join("other-driver.toml"),
        format!("{dev}\n{boot}\n{}", other_driver_build(&ima)),
    )
    .unwrap();
    let o = judge("other-driver.toml", "-s");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("✗ stack") && out.contains("✗ ima.files"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("capacity challenge failed: stack"));
}

#[test]
fn setup_exports_r1cs_and_refuses_a_bad_zkey() {
    // the multi-party route: the circuit goes out as .r1cs for snarkjs; a zkey that is not one (or is for
    // another circuit) is refused with exit 2 and no key files (circuits/tests/ceremony.rs runs a real ceremony)
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let o = cuproof(
        &[
            "setup",
            "--m",
            "2",
            "--k",
            "2",
            "--n",
            "2",
            "--export-r1cs",
            "c.r1cs",
        ],
        p,
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("constraints"), "{out}");
    assert!(out.contains("snarkjs zkey verify"), "{out}");
    let r1cs = std::fs::read(p.join("c.r1cs")).unwrap();
    assert_eq!(&r1cs[..8], b"r1cs\x01\x00\x00\x00");
    assert!(!p.join("keys").exists(), "export made keys");

    std::fs::write(p.join("bad.zkey"), b"zkey\x01\x00\x00\x00\x00\x00").unwrap();
    let o = cuproof(
        &[
            "setup",
            "--m",
            "2",
            "--k",
            "2",
            "--n",
            "2",
            "--import-zkey",
            "bad.zkey",
            "--out",
            "k",
        ],
        p,
    );
    assert_fails(&o, 2, "bad.zkey");
    assert!(!p.join("k").join("matmul-i8-2x2x2.pk").exists());
    let o = cuproof(
        &[
            "setup",
            "--m",
            "2",
            "--k",
            "2",
            "--n",
            "2",
            "--import-zkey",
            "missing.zkey",
        ],
        p,
    );
    assert_fails(&o, 2, "missing.zkey");
    // export and import together is a usage error
    let o = cuproof(
        &[
            "setup",
            "--m",
            "2",
            "--k",
            "2",
            "--n",
            "2",
            "--import-zkey",
            "bad.zkey",
            "--export-r1cs",
            "x.r1cs",
        ],
        p,
    );
    assert_eq!(o.status.code(), Some(2));
}

/// The cards' own attestation reports through the CLI: a node whose two cards answer with the software responder
/// (`--gpu-attestation soft:DIR`, the test authority), judged under a policy that requires attested cards and
/// trusts that authority (accepted, each chip listed), and under one that trusts NVIDIA's root only (refused by
/// `gpu-attestation`, exit 1). `gpu-evidence` reads a card's evidence from the commit message.
#[test]
fn capacity_challenge_with_attested_cards() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let authority = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/gpu-test-authority"
    );
    let dev = development_policy();
    let trusting =
        format!("{dev}\n[gpu_attestation]\nrequired = true\nroots = [\"{authority}/root.pem\"]\n");
    std::fs::write(p.join("trusting.toml"), &trusting).unwrap();
    std::fs::write(
        p.join("nvidia.toml"),
        format!("{dev}\n[gpu_attestation]\nrequired = true\n"),
    )
    .unwrap();
    assert_ok(&cuproof(
        &[
            "challenge",
            "new",
            "--class",
            "cpu",
            "--cards",
            "2",
            "--out",
            "ch.bin",
        ],
        p,
    ));
    let soft = format!("soft:{authority}");
    let said = capacity_rounds(p, "ch.bin", "", &["--gpu-attestation", &soft]);
    assert!(
        said.contains("GPU attestation: 2 of 2 card(s) gave a report (software GPU responder"),
        "{said}"
    );
    let o = capacity_judge(p, "ch.bin", "", &["--policy", "trusting.toml"]);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("✓ gpu-attestation") && out.contains("chip C0FFEE0000000002 (Test GPU BROM)"),
        "{out}"
    );
    let o = capacity_judge(p, "ch.bin", "", &["--policy", "nvidia.toml"]);
    assert_fails(&o, 1, "gpu-attestation");
    assert!(String::from_utf8_lossy(&o.stdout).contains("untrusted root"));

    // One card's evidence, from the commit message: verified under the authority, refused under NVIDIA's root.
    let root = format!("{authority}/root.pem");
    let card1 = [
        "gpu-evidence",
        "--commit",
        "commit.bin",
        "--challenge",
        "ch.bin",
        "--card",
        "1",
    ];
    let o = cuproof(&[&card1[..], &["--roots", &root]].concat(), p);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("chip        C0FFEE0000000002")
            && out.contains("devices = [\"C0FFEE0000000002\"]"),
        "{out}"
    );
    assert_fails(&cuproof(&card1, p), 1, "untrusted root");
    // card 0 (the default card) verifies as well; a card the message does not name is an input error
    let o = cuproof(
        &[
            "gpu-evidence",
            "--commit",
            "commit.bin",
            "--challenge",
            "ch.bin",
            "--roots",
            &root,
        ],
        p,
    );
    assert_ok(&o);
    let o = cuproof(
        &[
            "gpu-evidence",
            "--commit",
            "commit.bin",
            "--challenge",
            "ch.bin",
            "--card",
            "2",
        ],
        p,
    );
    assert_fails(&o, 2, "names 2 card(s), not card 2");
}

/// NVIDIA's published H100 evidence through `gpu-evidence`: verified under the embedded NVIDIA root, with the
/// policy table that accepts exactly that card; the same files with another nonce are a replay (exit 1).
#[test]
fn gpu_evidence_checks_nvidias_sample_h100_report() {
    let d = tempfile::tempdir().unwrap();
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/attest/tests/data/nvidia"
    );
    let report = format!("{data}/h100-report.hex");
    let chain = format!("{data}/h100-cert-chain.pem");
    let nonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
    let args = |nonce: &str| {
        vec![
            "gpu-evidence".to_string(),
            "--report".into(),
            report.clone(),
            "--chain".into(),
            chain.clone(),
            "--nonce".into(),
            nonce.to_string(),
        ]
    };
    let run = |a: &[String]| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        cuproof(&a, d.path())
    };
    let o = run(&args(nonce));
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "chip        41431D480FE5E87274 (GH100 A01 GSP BROM)",
        "(NVIDIA Device Identity CA)",
        "driver      550.90.07",
        "VBIOS       96.00.9F.00.01",
        "measurements 64 (26 non-zero)",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let mut policy = args(nonce);
    policy.push("--policy".into());
    let o = run(&policy);
    assert_ok(&o);
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(
        table.starts_with("[gpu_attestation]\nrequired = true\ndevices = [\"41431D480FE5E87274\"]")
    );
    assert_eq!(table.matches(" = [\"").count(), 1 + 64, "{table}");
    let other = format!("0{}", &nonce[1..]);
    assert_fails(&run(&args(&other)), 1, "nonce is not the expected one");
}
