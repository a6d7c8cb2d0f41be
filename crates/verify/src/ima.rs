//! Stage 3c: runtime measurements (`docs/ima.md`). The receipt's IMA list must replay to the PCR-10 value the job
//! quote signed — the whole list, so nothing in it is unaccounted for — and then the files the kernel measured
//! (the NVIDIA kernel modules, the driver libraries, the binaries) are judged against the policy. The template
//! name and the PCR index are outside the template digest; the file digest and name are inside it, and they are
//! read from the template data whatever the template is called.

use crate::policy::{FileDigest, ImaPolicy};
use crate::verdict::Verdict;
use cuproof_attest::ima::sig::{check_file_signature, SignatureCheck};
use cuproof_attest::ima::{ImaEntry, ImaLog, ReplayMode};
use std::collections::BTreeMap;

fn short(d: &[u8]) -> String {
    hex::encode(&d[..d.len().min(8)]) + "…"
}

fn shown(path: &str) -> String {
    let s: String = path.chars().take(96).collect();
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn excluded(p: &ImaPolicy, path: &str) -> bool {
    p.exclude.iter().any(|x| path.starts_with(x.as_str()))
}

fn digest_in(list: &[FileDigest], alg: &str, d: &[u8]) -> bool {
    list.iter()
        .any(|a| a.alg == alg && bool::from(subtle::ConstantTimeEq::ct_eq(a.digest.as_slice(), d)))
}

/// The IMA checks: `ima.log`, then `ima.violations`, `ima.files`.
pub(crate) fn check_ima(
    ima_log: &[u8],
    policy: Option<&ImaPolicy>,
    quoted: &BTreeMap<u8, Vec<u8>>,
    v: &mut Verdict,
) {
    let require = policy.map(|p| p.require_log);
    let (true, Some(p)) = (
        crate::log_to_judge(
            v,
            "ima.log",
            "[ima]",
            "IMA measurement list",
            ima_log,
            require,
        ),
        policy,
    ) else {
        return;
    };
    let log = match ImaLog::parse(ima_log) {
        Ok(l) => l,
        Err(e) => {
            v.fail("ima.log", e.to_string());
            v.not_reached("ima.entries", "IMA list unreadable");
            return;
        }
    };
    let r = match quoted.get(&p.pcr) {
        None => Err(format!("PCR {} not quoted", p.pcr)),
        Some(q) => match log.matches_quote(p.pcr as u32, q) {
            Some(mode) => Ok(format!(
                "{} entries replay to the quoted PCR {}{}",
                log.entries.len(),
                p.pcr,
                if mode == ReplayMode::PaddedSha1 {
                    " (kernel before 5.11: SHA-1 template digests padded into the SHA-256 bank)"
                } else {
                    ""
                }
            )),
            None => Err(format!(
                "the list does not replay to the quoted PCR {} ({}): edited, truncated, or of another boot",
                p.pcr,
                short(q)
            )),
        },
    };
    if !v.record("ima.log", r) {
        v.not_reached(
            "ima.entries",
            "the IMA list is not what the TPM measured: its entries are not evidence",
        );
        return;
    }
    if p.check_boot_aggregate {
        v.record("ima.boot_aggregate", judge_boot_aggregate(&log, quoted));
    } else {
        v.skip(
            "ima.boot_aggregate",
            "policy does not check the boot aggregate",
        );
    }
    let covered: Vec<&ImaEntry> = log
        .entries
        .iter()
        .filter(|e| e.pcr == p.pcr as u32)
        .collect();

    let violations: Vec<String> = covered
        .iter()
        .filter(|e| e.is_violation())
        .map(|e| {
            format!(
                "entry {} ({})",
                e.number,
                e.file.as_ref().map_or("?".into(), |f| shown(&f.path))
            )
        })
        .collect();
    if violations.is_empty() {
        v.pass("ima.violations", "no measurement violations");
    } else if p.allow_violations {
        v.pass(
            "ima.violations",
            format!(
                "{} violation(s) tolerated by the policy: {}",
                violations.len(),
                violations.join(", ")
            ),
        );
    } else {
        v.fail(
            "ima.violations",
            format!(
                "{} violation(s): file(s) measured while open for writing, integrity unknown: {}",
                violations.len(),
                violations.join(", ")
            ),
        );
    }

    let mut bad = Vec::new();
    let mut allowed = 0usize;
    let mut signed = 0usize;
    let mut unknown = 0usize;
    let mut seen_required = vec![false; p.required.len()];
    for e in covered.iter().filter(|e| !e.is_violation()) {
        let Some(f) = &e.file else {
            unknown += 1;
            if p.deny_unknown {
                bad.push(format!(
                    "entry {} (template {}): no file digest and name",
                    e.number,
                    shown(&e.template)
                ));
            }
            continue;
        };
        if let Some(list) = p.files.get(&f.path).filter(|_| f.path_is_utf8) {
            if digest_in(list, f.alg, &f.digest) {
                allowed += 1;
                for (i, r) in p.required.iter().enumerate() {
                    if *r == f.path {
                        seen_required[i] = true;
                    }
                }
            } else {
                bad.push(format!(
                    "{}: {} not allowed",
                    shown(&f.path),
                    f.alg.to_string() + ":" + &short(&f.digest)
                ));
            }
            continue;
        }
        if excluded(p, &f.path) {
            continue;
        }
        let sig = match (e.signature_field(), p.signing_keys.is_empty()) {
            (Some(s), false) => check_file_signature(f, s, &p.signing_keys),
            _ => SignatureCheck::Unsigned,
        };
        if let SignatureCheck::Invalid(why) = &sig {
            bad.push(format!("{}: IMA signature: {why}", shown(&f.path)));
            continue;
        }
        let by_signature = matches!(sig, SignatureCheck::Valid(_));
        if by_signature || digest_in(&p.digests, f.alg, &f.digest) {
            allowed += 1;
            signed += usize::from(by_signature);
            for (i, r) in p.required.iter().enumerate() {
                if *r == f.path && f.path_is_utf8 {
                    seen_required[i] = true;
                }
            }
            continue;
        }
        unknown += 1;
        if p.deny_unknown {
            bad.push(format!(
                "{}: {} not in the policy",
                shown(&f.path),
                f.alg.to_string() + ":" + &short(&f.digest)
            ));
        }
    }
    for (r, seen) in p.required.iter().zip(&seen_required) {
        if !seen {
            bad.push(format!(
                "{}: required but not measured with an allowed digest",
                shown(r)
            ));
        }
    }
    let r = if bad.is_empty() {
        Ok(format!(
            "{allowed} measured file(s) allowed{}, {unknown} not judged{}",
            if signed > 0 {
                format!(" ({signed} by a trusted IMA signature)")
            } else {
                String::new()
            },
            if p.required.is_empty() {
                String::new()
            } else {
                format!(
                    "; required present: {}",
                    p.required
                        .iter()
                        .map(|r| shown(r))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ))
    } else {
        let n = bad.len();
        bad.truncate(8);
        Err(format!(
            "{n} problem(s): {}{}",
            bad.join("; "),
            if n > 8 { "; …" } else { "" }
        ))
    };
    v.record("ima.files", r);
}

/// The first entry of a list is the kernel's `boot_aggregate`: the hash, at IMA's start, of PCRs 0–9 (Linux ≥ 5.8
/// with TPM 2.0; 0–7 before) in the bank of the IMA hash. For SHA-256 it must equal the hash of the quoted PCRs —
/// the list was started on this boot, and nothing extended PCRs 0–9 after the kernel took over.
fn judge_boot_aggregate(log: &ImaLog, quoted: &BTreeMap<u8, Vec<u8>>) -> Result<String, String> {
    use sha2::Digest as _;
    let first = log
        .entries
        .first()
        .and_then(|e| e.file.as_ref())
        .filter(|f| f.path == "boot_aggregate")
        .ok_or("the list does not start with boot_aggregate")?;
    if first.alg != "sha256" {
        return Ok(format!(
            "boot_aggregate is over the {} bank, which the quote does not cover: not compared",
            first.alg
        ));
    }
    let over = |n: u8| -> Option<[u8; 32]> {
        let mut h = sha2::Sha256::new();
        for i in 0..n {
            h.update(quoted.get(&i)?);
        }
        Some(h.finalize().into())
    };
    let matches = |d: Option<[u8; 32]>| {
        d.is_some_and(|d| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                d.as_slice(),
                first.digest.as_slice(),
            ))
        })
    };
    if matches(over(10)) {
        Ok("boot_aggregate = SHA-256 of the quoted PCRs 0-9".into())
    } else if matches(over(8)) {
        Ok("boot_aggregate = SHA-256 of the quoted PCRs 0-7 (kernel before 5.8)".into())
    } else if (0..10).any(|i| !quoted.contains_key(&i)) {
        Err("PCRs 0-9 are not all quoted: the boot aggregate cannot be compared".into())
    } else {
        Err(format!(
            "boot_aggregate {} is not the hash of the quoted PCRs 0-9 (or 0-7): the list began on another boot, or \
             PCRs 0-9 changed after the kernel started",
            short(&first.digest)
        ))
    }
}

/// An `[ima]` policy table that accepts exactly the files measured in `log` (a known-good machine's
/// `binary_runtime_measurements`): every path with its digest, the NVIDIA kernel modules required, unknown files
/// refused; `boot_aggregate` is excluded (it changes with every boot configuration).
pub fn reference_policy(log: &[u8]) -> Result<String, cuproof_attest::ima::ImaError> {
    Ok(reference_policy_of(&ImaLog::parse(log)?))
}

/// [`reference_policy`] of a parsed log.
pub fn reference_policy_of(l: &ImaLog) -> String {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in l
        .entries
        .iter()
        .filter(|e| !e.is_violation())
        .filter_map(|e| e.file.as_ref())
        .filter(|f| f.path_is_utf8 && f.path != "boot_aggregate")
    {
        let d = f.digest_text();
        let list = files.entry(f.path.clone()).or_default();
        if !list.contains(&d) {
            list.push(d);
        }
    }
    let required: Vec<String> = files
        .keys()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or("");
            name.starts_with("nvidia") && name.ends_with(".ko")
        })
        .map(|p| format!("{p:?}"))
        .collect();
    let mut out = String::from(
        "[ima]\nrequire_log = true\npcr = 10\nallow_violations = false\ndeny_unknown = true\n",
    );
    out.push_str("exclude = [\"boot_aggregate\"]\n");
    out.push_str(&format!("required = [{}]\n", required.join(", ")));
    out.push_str("\n[ima.files]\n");
    for (path, ds) in &files {
        let list: Vec<String> = ds.iter().map(|d| format!("{d:?}")).collect();
        out.push_str(&format!("{path:?} = [{}]\n", list.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;
    use cuproof_attest::ima::build::{simulated_runtime, ImaLogBuilder, SIMULATED_FILES};
    use cuproof_attest::ima::IMA_PCR;

    /// PCRs 0–9 as in [`sim`]'s boot (all `[3; 32]`) and PCR 10 after `log`.
    fn quoted_after(log: &[u8]) -> BTreeMap<u8, Vec<u8>> {
        let l = ImaLog::parse(log).expect("list");
        let pcr10 = l.replay_sha256(IMA_PCR, l.entries.len(), ReplayMode::PerBank);
        (0..10u8)
            .map(|i| (i, vec![3u8; 32]))
            .chain([(10u8, pcr10.to_vec())])
            .collect()
    }

    fn policy_from(log: &[u8]) -> ImaPolicy {
        let text = reference_policy(log).expect("reference");
        let full = format!(
            "name = \"t\"\nbackend = \"any\"\n[tpm]\naccept = [\"none\"]\nrequire_ek_certificate = false\n\
             [pcrs]\n[modules]\nallow_any = true\n{text}"
        );
        crate::Policy::from_toml_str(&full, std::path::Path::new("."))
            .expect("policy")
            .ima
            .expect("ima table")
    }

    fn run(log: &[u8], p: &ImaPolicy, q: &BTreeMap<u8, Vec<u8>>) -> Verdict {
        let mut v = Verdict::new("t");
        check_ima(log, Some(p), q, &mut v);
        v.finish();
        v
    }

    fn outcome(v: &Verdict, n: &str) -> Outcome {
        v.check(n)
            .unwrap_or_else(|| panic!("{n} missing:\n{}", v.render_table()))
            .outcome
    }

    fn sim() -> Vec<u8> {
        simulated_runtime(&[[3u8; 32]; 10]).bytes
    }

    #[test]
    fn reference_policy_accepts_its_own_runtime() {
        let log = sim();
        let p = policy_from(&log);
        assert_eq!(p.required.len(), 2, "nvidia.ko and nvidia-uvm.ko");
        assert_eq!(p.files.len(), SIMULATED_FILES.len());
        let v = run(&log, &p, &quoted_after(&log));
        assert!(v.valid, "{}", v.render_table());
        assert!(v
            .check("ima.files")
            .expect("files")
            .reason
            .contains("nvidia.ko"));
    }

    #[test]
    fn a_list_the_tpm_did_not_measure_is_not_evidence() {
        let log = sim();
        let p = policy_from(&log);
        let mut q = quoted_after(&log);
        q.insert(10, vec![9; 32]);
        let v = run(&log, &p, &q);
        assert_eq!(outcome(&v, "ima.log"), Outcome::Fail);
        assert_eq!(outcome(&v, "ima.entries"), Outcome::NotReached);
        // a list with its last entry dropped (what a provider hiding a late measurement would send)
        let l = ImaLog::parse(&log).expect("list");
        let cut = &log[..l.entries.last().expect("entry").offset];
        assert_eq!(
            outcome(&run(cut, &p, &quoted_after(&log)), "ima.log"),
            Outcome::Fail
        );
        // PCR 10 not quoted; no list
        assert_eq!(
            outcome(&run(&log, &p, &BTreeMap::new()), "ima.log"),
            Outcome::Fail
        );
        // the boot aggregate of another boot (PCR 4 differs from the one the list was started on)
        let mut other_boot = quoted_after(&log);
        other_boot.insert(4, vec![4; 32]);
        let v = run(&log, &p, &other_boot);
        assert_eq!(outcome(&v, "ima.log"), Outcome::Pass);
        assert_eq!(outcome(&v, "ima.boot_aggregate"), Outcome::Fail);
        let unchecked = ImaPolicy {
            check_boot_aggregate: false,
            ..p.clone()
        };
        let v = run(&log, &unchecked, &other_boot);
        assert!(v.valid, "{}", v.render_table());
        // a list whose first entry is not the boot aggregate
        let mut b = ImaLogBuilder::new();
        b.file("ima-ng", "/usr/bin/true", &[1; 32], None);
        let headless = b.finish();
        let v = run(&headless, &p, &quoted_after(&headless));
        assert_eq!(outcome(&v, "ima.boot_aggregate"), Outcome::Fail);
        assert_eq!(outcome(&run(&[], &p, &q), "ima.log"), Outcome::Fail);
    }

    #[test]
    fn another_driver_build_unknown_files_and_violations_fail() {
        let good = sim();
        let p = policy_from(&good);
        // the same files, but another nvidia.ko
        let mut b = ImaLogBuilder::new();
        for (i, path) in std::iter::once("boot_aggregate")
            .chain(SIMULATED_FILES)
            .enumerate()
        {
            let d = if path.ends_with("/nvidia.ko") {
                [0xEE; 32]
            } else {
                [i as u8; 32]
            };
            b.file("ima-ng", path, &d, None);
        }
        let other = b.finish();
        let v = run(&other, &p, &quoted_after(&other));
        assert_eq!(outcome(&v, "ima.log"), Outcome::Pass);
        assert_eq!(outcome(&v, "ima.files"), Outcome::Fail);
        assert!(v
            .check("ima.files")
            .expect("files")
            .reason
            .contains("nvidia.ko: sha256:eeee"));

        // an extra, unknown binary (deny_unknown), and the same renamed to a template nobody knows
        let mut b = ImaLogBuilder::new();
        b.file("ima-ng", "/tmp/miner", &[1; 32], None);
        let extra = [good.clone(), b.finish()].concat();
        let v = run(&extra, &p, &quoted_after(&extra));
        assert_eq!(outcome(&v, "ima.files"), Outcome::Fail);
        let l = ImaLog::parse(&extra).expect("list");
        let last = l.entries.last().expect("entry").offset;
        let mut renamed = extra.clone();
        renamed[last + 28..last + 34].copy_from_slice(b"xyz-ng");
        assert_eq!(
            quoted_after(&renamed),
            quoted_after(&extra),
            "names are outside the digest"
        );
        let v = run(&renamed, &p, &quoted_after(&renamed));
        assert_eq!(
            outcome(&v, "ima.files"),
            Outcome::Fail,
            "{}",
            v.render_table()
        );

        // a required module missing
        let mut b = ImaLogBuilder::new();
        b.file("ima-ng", "boot_aggregate", &[0; 32], None);
        let bare = b.finish();
        let v = run(&bare, &p, &quoted_after(&bare));
        assert!(v
            .check("ima.files")
            .expect("files")
            .reason
            .contains("required"));

        // a violation
        let mut b = ImaLogBuilder::new();
        b.violation("/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05");
        let viol = [good.clone(), b.finish()].concat();
        let v = run(&viol, &p, &quoted_after(&viol));
        assert_eq!(outcome(&v, "ima.violations"), Outcome::Fail);
        let lax = ImaPolicy {
            allow_violations: true,
            ..p.clone()
        };
        assert_eq!(
            outcome(&run(&viol, &lax, &quoted_after(&viol)), "ima.violations"),
            Outcome::Pass
        );
    }

    #[test]
    fn files_signed_by_a_trusted_key_are_allowed_anywhere() {
        // ima-sig entries from a real kernel: dd (RSA) and zmore (secp256k1) signed, the others not.
        let text: String = include_str!("../../attest/tests/vectors/ima_real_entries.txt")
            .lines()
            .filter(|l| l.contains(" ima-sig ") && !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let list = cuproof_attest::ima::build::from_ascii(&text).expect("ascii");
        let keys = include_str!("../../attest/tests/vectors/ima_keys.pem");
        let policy = |extra: &str| {
            let full = format!(
                "name = \"t\"\nbackend = \"any\"\n[tpm]\naccept = [\"none\"]\nrequire_ek_certificate = false\n\
                 [pcrs]\n[modules]\nallow_any = true\n[ima]\ndeny_unknown = true\ncheck_boot_aggregate = false\n\
                 exclude = [\"boot_aggregate\", \"/lib/modules/\"]\n{extra}"
            );
            crate::Policy::from_toml_str(&full, std::path::Path::new("."))
                .expect("policy")
                .ima
                .expect("ima")
        };
        let pem_list = |pems: &[&str]| {
            let quoted: Vec<String> = pems.iter().map(|p| format!("{p:?}")).collect();
            format!("signing_keys = [{}]\n", quoted.join(", "))
        };
        let blocks: Vec<&str> = keys
            .split_inclusive("-----END PUBLIC KEY-----")
            .filter(|b| b.contains("BEGIN"))
            .map(|b| &b[b.find("-----BEGIN").expect("begin")..])
            .collect();
        assert_eq!(blocks.len(), 2);
        let q = quoted_after(&list);
        let v = run(&list, &policy(&pem_list(&blocks)), &q);
        assert!(v.valid, "{}", v.render_table());
        assert!(v
            .check("ima.files")
            .expect("files")
            .reason
            .contains("2 by a trusted IMA signature"));
        // without the keys the two binaries are unknown; with only the RSA key, zmore is
        let v = run(&list, &policy(""), &q);
        assert_eq!(outcome(&v, "ima.files"), Outcome::Fail);
        let v = run(&list, &policy(&pem_list(&blocks[..1])), &q);
        assert_eq!(outcome(&v, "ima.files"), Outcome::Fail);
        assert!(v
            .check("ima.files")
            .expect("files")
            .reason
            .contains("/usr/bin/zmore"));
        // a bad key file is refused at load, naming the key
        let full = "name = \"t\"\nbackend = \"any\"\n[tpm]\naccept = [\"none\"]\nrequire_ek_certificate = false\n\
                    [pcrs]\n[modules]\nallow_any = true\n[ima]\nsigning_keys = [\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\"]\n";
        let e = crate::Policy::from_toml_str(full, std::path::Path::new(".")).expect_err("bad key");
        assert!(e.to_string().contains("ima.signing_keys[0]"), "{e}");
    }
}
