//! Stage 3b: the measured boot (`docs/bootlog.md`). The receipt's firmware event log must replay to the boot
//! PCRs that the job quote signed; only then are its events evidence, and only those whose meaning the TPM
//! actually measured are believed:
//!
//! * a UEFI variable's value counts only when its event is bound (the digest is the hash of the event data) and
//!   it is the only `EV_EFI_VARIABLE_DRIVER_CONFIG` event of that name in PCR 7;
//! * in PCR 4 every event except bound separators and bound `EV_EFI_ACTION` strings is treated as an executable
//!   whose digest must be on the allow-list. Event types are not covered by the digests, so an event retyped to
//!   hide an application from the check is still judged as one.

use crate::policy::BootPolicy;
use crate::verdict::Verdict;
use cuproof_attest::bootlog::uefi::{
    parse_signature_lists, ImageLoad, SignatureEntry, UefiVariable,
};
use cuproof_attest::bootlog::{
    BootEvent, BootLog, ALG_SHA256, EV_EFI_ACTION, EV_EFI_VARIABLE_DRIVER_CONFIG,
};
use sha2::Digest as _;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

const SECURE_BOOT_PCR: u8 = 7;
const GRUB_STRING_PCR: u8 = 8;
const LOADED_FILES_PCR: u8 = 9;

/// The name a PCR-9 event gives its file (a hint, not evidence).
fn file_hint(e: &BootEvent) -> String {
    let name = e.data.strip_suffix(&[0u8]).unwrap_or(&e.data);
    match std::str::from_utf8(name) {
        Ok(n) if !n.is_empty() => crate::sanitize(n),
        _ => "no name".into(),
    }
}
const BOOT_APPLICATION_PCR: u8 = 4;

fn short(d: &[u8]) -> String {
    hex::encode(&d[..d.len().min(8)]) + "…"
}

fn in_list(d: &[u8; 32], list: &[[u8; 32]]) -> bool {
    list.iter().any(|a| bool::from(a.ct_eq(d)))
}

/// The bound `EV_EFI_VARIABLE_DRIVER_CONFIG` events of PCR 7 holding the Secure Boot variable `name`.
fn secure_boot_variables<'a>(log: &'a BootLog, name: &str) -> Vec<(&'a BootEvent, UefiVariable)> {
    log.events_in(SECURE_BOOT_PCR)
        .filter(|e| e.event_type == EV_EFI_VARIABLE_DRIVER_CONFIG && e.data_is_bound())
        .filter_map(|e| UefiVariable::parse(&e.data).ok().map(|v| (e, v)))
        .filter(|(_, v)| v.secure_boot_name() == Some(name))
        .collect()
}

/// The entries of the signature database `name` (`db`, `dbx`): its single bound PCR-7 measurement, parsed.
fn signature_database(log: &BootLog, name: &str) -> Result<Vec<SignatureEntry>, String> {
    match secure_boot_variables(log, name).as_slice() {
        [(_, v)] => parse_signature_lists(&v.data)
            .map_err(|e| format!("{name} is not a signature database: {e}")),
        [] => Err(format!("{name} not measured in PCR 7")),
        many => Err(format!("{name} measured {} times", many.len())),
    }
}

/// One PCR-7 measurement judged by `boot.authorities`: event number, identity, and what it says it is (a hint).
struct Authority {
    number: usize,
    identity: [u8; 32],
    hint: String,
}

/// The PCR-7 measurements other than the Secure Boot configuration, judged by content since event types are not
/// covered by the digests. The configuration is a bound UEFI variable `SecureBoot` with a one-byte value, or
/// `PK`/`KEK`/`db`/`dbx` whose value parses as signature lists (an authority's value, owner and certificate,
/// does not). Every other event but bound separators must be bound; its identity is the fingerprint of the
/// signature data it holds (a UEFI variable whose value is an owner GUID and more bytes: the `db` entry or shim
/// certificate that verified an image), else the event's SHA-256 digest. Err names an unbound event: its content
/// cannot be judged.
fn pcr7_authorities(log: &BootLog) -> Result<Vec<Authority>, String> {
    let mut out = Vec::new();
    for e in log.events_in(SECURE_BOOT_PCR) {
        if e.data_is_bound() && e.separator_error() == Some(false) {
            continue;
        }
        if !e.data_is_bound() {
            return Err(format!(
                "PCR 7 event {} ({}) is not bound to its digest: its content cannot be judged",
                e.number,
                e.type_name()
            ));
        }
        let var = UefiVariable::parse(&e.data).ok();
        let configuration = var.as_ref().is_some_and(|v| match v.secure_boot_name() {
            Some("SecureBoot") => v.data.len() == 1,
            Some(_) => parse_signature_lists(&v.data).is_ok(),
            None => false,
        });
        if configuration {
            continue;
        }
        let (identity, hint) = match var {
            Some(v) if v.data.len() > 16 => {
                let entry = SignatureEntry {
                    signature_type: if v.data.len() == 16 + 32 {
                        cuproof_attest::bootlog::uefi::EFI_CERT_SHA256
                    } else {
                        cuproof_attest::bootlog::uefi::EFI_CERT_X509
                    },
                    owner: v.data[..16].try_into().unwrap_or_default(),
                    data: v.data[16..].to_vec(),
                };
                let what = match entry.x509_subject() {
                    Some(s) => crate::sanitize(&s),
                    None if v.data.len() == 48 => "image hash".into(),
                    None => format!("{} bytes", v.data.len() - 16),
                };
                (
                    entry.fingerprint(),
                    format!("{}: {what}", crate::sanitize(&v.name)),
                )
            }
            Some(v) => (
                e.sha256(),
                format!("{} = {}", crate::sanitize(&v.name), hex::encode(&v.data)),
            ),
            None => (e.sha256(), e.type_name()),
        };
        out.push(Authority {
            number: e.number,
            identity,
            hint,
        });
    }
    Ok(out)
}

/// What a signature entry is, for messages and comments: type, and an X.509 certificate's subject.
fn entry_hint(e: &SignatureEntry) -> String {
    match e.x509_subject() {
        Some(s) => format!("{} {}", e.type_name(), crate::sanitize(&s)),
        None => e.type_name(),
    }
}

/// The events of PCR 4 judged as executables: all but bound separators and bound `EV_EFI_ACTION` strings.
fn executables(log: &BootLog) -> impl Iterator<Item = &BootEvent> {
    log.events_in(BOOT_APPLICATION_PCR).filter(|e| {
        !(e.data_is_bound()
            && (e.separator_error() == Some(false) || e.event_type == EV_EFI_ACTION))
    })
}

/// A `[boot]` policy table that accepts exactly the boot recorded in `log` (a known-good machine's
/// `binary_bios_measurements`): Secure Boot if it was on, its PCR-4 executables, its PK/KEK/db/dbx. The
/// reference-state step of measured-boot attestation; an operator merges the tables of its fleet's machines.
pub fn reference_policy(log: &[u8]) -> Result<String, cuproof_attest::bootlog::BootLogError> {
    Ok(reference_policy_of(&BootLog::parse(log)?))
}

/// [`reference_policy`] of a parsed log.
pub fn reference_policy_of(l: &BootLog) -> String {
    let sb = secure_boot_variables(l, "SecureBoot");
    let secure_boot = matches!(sb.as_slice(), [(_, v)] if v.data == [1]);
    let mut out =
        String::from("[boot]\nrequire_log = true\npcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n");
    out.push_str(&format!("secure_boot = {secure_boot}\n"));
    // the security-relevant words of the measured kernel command line (IMA, lockdown, module signatures)
    let words: Vec<String> = l
        .events_in(GRUB_STRING_PCR)
        .filter_map(|e| e.grub_string())
        .filter(|(k, _)| *k == "kernel_cmdline")
        .flat_map(|(_, t)| t.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|w| {
            w.starts_with("ima")
                || w.starts_with("lockdown=")
                || w.starts_with("module.sig_enforce")
        })
        .collect();
    if !words.is_empty() {
        let q: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
        out.push_str(&format!("kernel_cmdline_require = [{}]\n", q.join(", ")));
        out.push_str("kernel_cmdline_forbid = [\"ima=\", \"init=\"]\n");
    }
    let apps: Vec<String> = executables(l)
        .map(|e| format!("  \"{}\",  # {}", hex::encode(e.sha256()), image_hint(e)))
        .collect();
    if !apps.is_empty() {
        out.push_str(&format!("boot_applications = [\n{}\n]\n", apps.join("\n")));
    }
    let files: Vec<String> = l
        .events_in(LOADED_FILES_PCR)
        .map(|e| format!("  \"{}\",  # {}", hex::encode(e.sha256()), file_hint(e)))
        .collect();
    if !files.is_empty() {
        out.push_str(&format!("loaded_files = [\n{}\n]\n", files.join("\n")));
    }
    let mut vars = String::new();
    for name in ["PK", "KEK", "db", "dbx"] {
        if let [(_, v)] = secure_boot_variables(l, name).as_slice() {
            vars.push_str(&format!(
                "{name} = [\"{}\"]\n",
                hex::encode(sha2::Sha256::digest(&v.data))
            ));
        }
    }
    // per-entry judgements of the signature databases: every revocation of this dbx stays required (a dbx
    // update may add entries, never drop them), and db may hold only these entries
    let mut dbs = String::new();
    for (name, key) in [("dbx", "dbx_required"), ("db", "db_allowed")] {
        if let Ok(entries) = signature_database(l, name) {
            if entries.is_empty() {
                continue;
            }
            let lines: Vec<String> = entries
                .iter()
                .map(|e| {
                    format!(
                        "  \"{}\",  # {}",
                        hex::encode(e.fingerprint()),
                        entry_hint(e)
                    )
                })
                .collect();
            dbs.push_str(&format!("{key} = [\n{}\n]\n", lines.join("\n")));
        }
    }
    if let Ok(list) = pcr7_authorities(l) {
        if !list.is_empty() {
            let lines: Vec<String> = list
                .iter()
                .map(|a| {
                    format!(
                        "  \"{}\",  # event {}: {}",
                        hex::encode(a.identity),
                        a.number,
                        a.hint
                    )
                })
                .collect();
            dbs.push_str(&format!("authorities = [\n{}\n]\n", lines.join("\n")));
        }
    }
    // the keys of [boot] must come before its sub-table
    out.push_str(&dbs);
    if !vars.is_empty() {
        out.push_str("\n[boot.variables]\n");
        out.push_str(&vars);
    }
    out
}

/// Where a PCR-4 executable says it came from (its device path: a hint, not evidence).
fn image_hint(e: &BootEvent) -> String {
    ImageLoad::parse(&e.data)
        .ok()
        .and_then(|i| i.file_path())
        .map(|p| crate::sanitize(&p))
        .unwrap_or_else(|| "no file path".into())
}

/// The boot checks: `boot.log`, then `boot.secure_boot`, `boot.applications`, `boot.variables`, `boot.dbx`,
/// `boot.db`, `boot.loaded_files`, `boot.kernel_cmdline`.
pub(crate) fn check_boot(
    boot_log: &[u8],
    policy: Option<&BootPolicy>,
    quoted: &BTreeMap<u8, Vec<u8>>,
    v: &mut Verdict,
) {
    let require = policy.map(|p| p.require_log);
    let (true, Some(bp)) = (
        crate::log_to_judge(
            v,
            "boot.log",
            "[boot]",
            "firmware event log",
            boot_log,
            require,
        ),
        policy,
    ) else {
        return;
    };
    let log = match BootLog::parse(boot_log) {
        Ok(l) => l,
        Err(e) => {
            v.fail("boot.log", e.to_string());
            v.not_reached("boot.events", "boot log unreadable");
            return;
        }
    };
    let Some(replay) = log.replay(ALG_SHA256) else {
        v.fail("boot.log", "the log has no SHA-256 bank");
        return;
    };
    let mut bad = Vec::new();
    for &p in &bp.pcrs {
        let want = replay
            .get(&p)
            .cloned()
            .unwrap_or_else(|| log.initial_value(p, 32));
        match quoted.get(&p) {
            None => bad.push(format!("PCR {p} not quoted")),
            Some(got) if bool::from(got.as_slice().ct_eq(want.as_slice())) => {}
            Some(got) => bad.push(format!(
                "PCR {p}: the log replays to {}, the TPM quoted {}",
                short(&want),
                short(got)
            )),
        }
    }
    let verified: Vec<&BootEvent> = log
        .events
        .iter()
        .filter(|e| bp.pcrs.contains(&e.pcr))
        .collect();
    for e in &verified {
        if e.separator_error() == Some(true) && e.data_is_bound() {
            bad.push(format!(
                "PCR {}: error separator (event {}): the firmware reported a measurement failure",
                e.pcr, e.number
            ));
        }
    }
    let ok = v.record(
        "boot.log",
        if bad.is_empty() {
            Ok(format!(
                "{} events replay to the quoted PCRs {:?}",
                verified.len(),
                bp.pcrs
            ))
        } else {
            Err(bad.join("; "))
        },
    );
    if !ok {
        v.not_reached(
            "boot.events",
            "the boot log is not what the TPM measured: its events are not evidence",
        );
        return;
    }

    if bp.secure_boot {
        let vars = secure_boot_variables(&log, "SecureBoot");
        let r = match vars.as_slice() {
            [] => Err("no measured SecureBoot variable in PCR 7".to_string()),
            [(e, var)] if var.data == [1] => Ok(format!(
                "SecureBoot = 1 measured in PCR 7 (event {})",
                e.number
            )),
            [(e, var)] => Err(format!(
                "Secure Boot is off: SecureBoot = {} measured in PCR 7 (event {})",
                hex::encode(&var.data),
                e.number
            )),
            many => Err(format!(
                "{} SecureBoot variable events in PCR 7 (exactly one expected)",
                many.len()
            )),
        };
        v.record("boot.secure_boot", r);
    } else {
        v.skip("boot.secure_boot", "policy does not require Secure Boot");
    }

    match &bp.boot_applications {
        None => v.skip("boot.applications", "policy pins no boot applications"),
        Some(allowed) => {
            let mut apps = Vec::new();
            let mut bad = Vec::new();
            for e in executables(&log) {
                let d = e.sha256();
                if in_list(&d, allowed) {
                    apps.push(image_hint(e));
                } else {
                    bad.push(format!(
                        "event {} ({}, {}): digest {} not allowed",
                        e.number,
                        e.type_name(),
                        image_hint(e),
                        short(&d)
                    ));
                }
            }
            let r = if !bad.is_empty() {
                Err(bad.join("; "))
            } else if apps.is_empty() {
                Err("no boot application measured in PCR 4".into())
            } else {
                Ok(format!(
                    "{} application(s), each allowed (paths as logged: {})",
                    apps.len(),
                    apps.join(", ")
                ))
            };
            v.record("boot.applications", r);
        }
    }

    if bp.variables.is_empty() {
        v.skip("boot.variables", "policy pins no Secure Boot variables");
    } else {
        let mut bad = Vec::new();
        for (name, allowed) in &bp.variables {
            let vars = secure_boot_variables(&log, name);
            match vars.as_slice() {
                [(_, var)] => {
                    let d: [u8; 32] = sha2::Sha256::digest(&var.data).into();
                    if !in_list(&d, allowed) {
                        bad.push(format!("{name} = {} not allowed", short(&d)));
                    }
                }
                [] => bad.push(format!("{name} not measured in PCR 7")),
                many => bad.push(format!("{name} measured {} times", many.len())),
            }
        }
        let names: Vec<_> = bp.variables.keys().collect();
        v.record(
            "boot.variables",
            if bad.is_empty() {
                Ok(format!("{names:?} hold allowed values"))
            } else {
                Err(bad.join("; "))
            },
        );
    }

    if bp.dbx_required.is_empty() {
        v.skip("boot.dbx", "policy requires no revocations");
    } else {
        let r = signature_database(&log, "dbx").and_then(|entries| {
            let have: Vec<[u8; 32]> = entries.iter().map(SignatureEntry::fingerprint).collect();
            let missing: Vec<String> = bp
                .dbx_required
                .iter()
                .filter(|d| !in_list(d, &have))
                .map(|d| short(d))
                .collect();
            if missing.is_empty() {
                Ok(format!(
                    "dbx holds all {} required revocation(s) ({} entries)",
                    bp.dbx_required.len(),
                    entries.len()
                ))
            } else {
                Err(format!(
                    "dbx lacks {} of {} required revocation(s): {} (a dbx update was not applied, or was rolled \
                     back)",
                    missing.len(),
                    bp.dbx_required.len(),
                    missing.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
                ))
            }
        });
        v.record("boot.dbx", r);
    }

    match &bp.db_allowed {
        None => v.skip("boot.db", "policy does not judge the entries of db"),
        Some(allowed) => {
            let r = signature_database(&log, "db").and_then(|entries| {
                let unknown: Vec<String> = entries
                    .iter()
                    .filter(|e| !in_list(&e.fingerprint(), allowed))
                    .map(|e| format!("{} ({})", short(&e.fingerprint()), entry_hint(e)))
                    .collect();
                if unknown.is_empty() {
                    Ok(match entries.len() {
                        1 => "db: 1 entry, allowed".to_string(),
                        n => format!("db: {n} entries, all allowed"),
                    })
                } else {
                    Err(format!(
                        "db trusts {} entr{} the policy does not: {}",
                        unknown.len(),
                        if unknown.len() == 1 { "y" } else { "ies" },
                        unknown
                            .iter()
                            .take(4)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            });
            v.record("boot.db", r);
        }
    }

    match &bp.authorities {
        None => v.skip(
            "boot.authorities",
            "policy does not judge the authorities measured in PCR 7",
        ),
        Some(allowed) => {
            let r = pcr7_authorities(&log).and_then(|list| {
                let unknown: Vec<String> = list
                    .iter()
                    .filter(|a| !in_list(&a.identity, allowed))
                    .map(|a| format!("event {} {} ({})", a.number, short(&a.identity), a.hint))
                    .collect();
                if unknown.is_empty() {
                    Ok(format!(
                        "{} PCR-7 authorit{} allowed",
                        list.len(),
                        if list.len() == 1 { "y" } else { "ies" }
                    ))
                } else {
                    Err(format!(
                        "{} PCR-7 measurement(s) not allowed: {}",
                        unknown.len(),
                        unknown
                            .iter()
                            .take(4)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))
                }
            });
            v.record("boot.authorities", r);
        }
    }

    match &bp.loaded_files {
        None => v.skip(
            "boot.loaded_files",
            "policy pins no files read by the boot loader",
        ),
        Some(allowed) => {
            // PCR 9: the file name in the data is not measured (a hint), so every event is judged by digest
            let mut files = 0usize;
            let mut bad = Vec::new();
            for e in log.events_in(LOADED_FILES_PCR) {
                if in_list(&e.sha256(), allowed) {
                    files += 1;
                } else {
                    bad.push(format!(
                        "event {} ({}): digest {} not allowed",
                        e.number,
                        file_hint(e),
                        short(&e.sha256())
                    ));
                }
            }
            v.record(
                "boot.loaded_files",
                if !bad.is_empty() {
                    Err(bad.join("; "))
                } else if files == 0 {
                    Err("no file read by the boot loader was measured in PCR 9".into())
                } else {
                    Ok(format!(
                        "{files} file(s) read by the boot loader, each allowed"
                    ))
                },
            );
        }
    }

    if bp.kernel_cmdline_require.is_empty() && bp.kernel_cmdline_forbid.is_empty() {
        v.skip(
            "boot.kernel_cmdline",
            "policy sets no kernel command-line rules",
        );
    } else {
        v.record("boot.kernel_cmdline", judge_cmdline(&log, bp));
    }
}

/// The kernel command line(s) GRUB measured into PCR 8 against the policy's words. Every PCR-8 event must be a
/// GRUB string whose digest is the hash of its text (so none can be edited or retyped out of view), and at least
/// one must be the kernel command line.
fn judge_cmdline(log: &BootLog, bp: &BootPolicy) -> Result<String, String> {
    let mut bad = Vec::new();
    let mut lines = Vec::new();
    for e in log.events_in(GRUB_STRING_PCR) {
        match e.grub_string() {
            Some(("kernel_cmdline", text)) => lines.push((e.number, text)),
            Some(_) => {}
            None => bad.push(format!(
                "PCR 8 event {}: not a GRUB string whose digest is the hash of its text",
                e.number
            )),
        }
    }
    if lines.is_empty() {
        bad.push("no kernel command line measured in PCR 8".into());
    }
    for (n, text) in &lines {
        let words: Vec<&str> = text.split_whitespace().collect();
        for r in &bp.kernel_cmdline_require {
            if !words.contains(&r.as_str()) {
                bad.push(format!(
                    "event {n}: {r:?} missing from the kernel command line"
                ));
            }
        }
        for f in &bp.kernel_cmdline_forbid {
            if let Some(w) = words
                .iter()
                .find(|w| **w == f.as_str() || (f.ends_with('=') && w.starts_with(f.as_str())))
            {
                bad.push(format!(
                    "event {n}: {:?} forbidden on the kernel command line",
                    crate::sanitize(w)
                ));
            }
        }
    }
    if bad.is_empty() {
        Ok(format!(
            "kernel command line (event {}) has {:?} and none of {:?}",
            lines
                .iter()
                .map(|(n, _)| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            bp.kernel_cmdline_require,
            bp.kernel_cmdline_forbid
        ))
    } else {
        Err(bad.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;
    use cuproof_attest::bootlog::build::{simulated_firmware_for, BootLogBuilder};
    use cuproof_attest::bootlog::{EV_EFI_BOOT_SERVICES_APPLICATION, EV_POST_CODE, EV_SEPARATOR};

    fn sim() -> cuproof_attest::bootlog::build::SimulatedBoot {
        simulated_firmware_for(&[ALG_SHA256])
    }

    /// What an honest TPM would quote after `log`: its replay of PCRs 0–9.
    fn quoted_after(log: &[u8]) -> BTreeMap<u8, Vec<u8>> {
        let l = BootLog::parse(log).expect("log");
        (0..10)
            .map(|p| (p, l.replayed_value(ALG_SHA256, p).expect("value")))
            .collect()
    }

    fn db_digest(log: &[u8]) -> [u8; 32] {
        let l = BootLog::parse(log).expect("log");
        let v = secure_boot_variables(&l, "db");
        sha2::Sha256::digest(&v[0].1.data).into()
    }

    fn policy(apps: Option<Vec<[u8; 32]>>, db: Option<[u8; 32]>) -> BootPolicy {
        BootPolicy {
            require_log: true,
            pcrs: (0..8).collect(),
            secure_boot: true,
            boot_applications: apps,
            variables: db
                .map(|d| [("db".to_string(), vec![d])].into_iter().collect())
                .unwrap_or_default(),
            kernel_cmdline_require: Vec::new(),
            kernel_cmdline_forbid: Vec::new(),
            loaded_files: None,
            dbx_required: Vec::new(),
            db_allowed: None,
            authorities: None,
        }
    }

    fn run(log: &[u8], p: &BootPolicy, quoted: &BTreeMap<u8, Vec<u8>>) -> Verdict {
        let mut v = Verdict::new("t");
        check_boot(log, Some(p), quoted, &mut v);
        v.finish();
        v
    }

    fn outcome(v: &Verdict, name: &str) -> Outcome {
        v.check(name)
            .unwrap_or_else(|| panic!("{name} missing:\n{}", v.render_table()))
            .outcome
    }

    /// Change the type of event `number` in place (types are outside every digest).
    fn retype(log: &[u8], number: usize, ty: u32) -> Vec<u8> {
        let l = BootLog::parse(log).expect("log");
        let off = l.events[number - 1].offset;
        let mut m = log.to_vec();
        m[off + 4..off + 8].copy_from_slice(&ty.to_le_bytes());
        m
    }

    #[test]
    fn honest_simulated_boot_passes() {
        let s = sim();
        let p = policy(Some(s.boot_applications.clone()), Some(db_digest(&s.bytes)));
        let v = run(&s.bytes, &p, &quoted_after(&s.bytes));
        assert!(v.valid, "{}", v.render_table());
        for c in [
            "boot.log",
            "boot.secure_boot",
            "boot.applications",
            "boot.variables",
        ] {
            assert_eq!(outcome(&v, c), Outcome::Pass, "{c}");
        }
        assert!(v
            .check("boot.applications")
            .expect("apps")
            .reason
            .contains("grubx64.efi"));
    }

    #[test]
    fn a_log_the_tpm_did_not_measure_is_not_evidence() {
        let s = sim();
        let p = policy(Some(s.boot_applications.clone()), None);
        // the TPM measured one thing less than the log shows
        let mut q = quoted_after(&s.bytes);
        q.insert(4, vec![0; 32]);
        let v = run(&s.bytes, &p, &q);
        assert_eq!(outcome(&v, "boot.log"), Outcome::Fail);
        assert_eq!(outcome(&v, "boot.events"), Outcome::NotReached);
        assert!(v.check("boot.secure_boot").is_none());
        // a boot PCR missing from the quote
        let mut q = quoted_after(&s.bytes);
        q.remove(&7);
        assert_eq!(outcome(&run(&s.bytes, &p, &q), "boot.log"), Outcome::Fail);
        // garbage, and no log at all
        let q = quoted_after(&s.bytes);
        assert_eq!(outcome(&run(b"xx", &p, &q), "boot.log"), Outcome::Fail);
        assert_eq!(outcome(&run(&[], &p, &q), "boot.log"), Outcome::Fail);
        let lax = BootPolicy {
            require_log: false,
            secure_boot: false,
            boot_applications: None,
            ..p
        };
        assert_eq!(
            outcome(&run(&[], &lax, &q), "boot.log"),
            Outcome::SkippedByPolicy
        );
    }

    #[test]
    fn secure_boot_off_or_twice_fails() {
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        let var = |d: u8| {
            UefiVariable {
                guid: cuproof_attest::bootlog::uefi::EFI_GLOBAL_VARIABLE,
                name: "SecureBoot".into(),
                data: vec![d],
            }
            .encode()
        };
        b.measure_data(7, EV_EFI_VARIABLE_DRIVER_CONFIG, &var(0));
        for pcr in 0..8 {
            b.measure_data(pcr, EV_SEPARATOR, &[0; 4]);
        }
        let off = b.finish();
        let p = BootPolicy {
            boot_applications: None,
            ..policy(None, None)
        };
        let v = run(&off, &p, &quoted_after(&off));
        assert_eq!(outcome(&v, "boot.log"), Outcome::Pass);
        assert_eq!(outcome(&v, "boot.secure_boot"), Outcome::Fail);
        assert!(v
            .check("boot.secure_boot")
            .expect("sb")
            .reason
            .contains("off"));

        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.measure_data(7, EV_EFI_VARIABLE_DRIVER_CONFIG, &var(1));
        b.measure_data(7, EV_EFI_VARIABLE_DRIVER_CONFIG, &var(0));
        let twice = b.finish();
        let v = run(&twice, &p, &quoted_after(&twice));
        assert_eq!(outcome(&v, "boot.secure_boot"), Outcome::Fail);

        // SecureBoot = 1 whose digest is not the hash of the data is not believed
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.measure_content(7, EV_EFI_VARIABLE_DRIVER_CONFIG, b"something else", &var(1));
        let unbound = b.finish();
        let v = run(&unbound, &p, &quoted_after(&unbound));
        assert_eq!(outcome(&v, "boot.secure_boot"), Outcome::Fail);
    }

    #[test]
    fn boot_applications_are_judged_by_digest_even_when_retyped() {
        let s = sim();
        let q = quoted_after(&s.bytes);
        let only_shim = policy(Some(vec![s.boot_applications[0]]), None);
        let v = run(&s.bytes, &only_shim, &q);
        assert_eq!(outcome(&v, "boot.applications"), Outcome::Fail);
        assert!(v
            .check("boot.applications")
            .expect("apps")
            .reason
            .contains("grubx64.efi"));

        // Hide GRUB and the kernel by retyping their events: the replay is unchanged, the check is not fooled.
        let l = BootLog::parse(&s.bytes).expect("log");
        let mut hidden = s.bytes.clone();
        for e in l
            .events
            .iter()
            .filter(|e| e.event_type == EV_EFI_BOOT_SERVICES_APPLICATION)
            .skip(1)
        {
            hidden = retype(&hidden, e.number, EV_POST_CODE);
        }
        let hidden_q = quoted_after(&hidden);
        assert_eq!(hidden_q, q, "types are outside the digests");
        let v = run(&hidden, &only_shim, &hidden_q);
        assert_eq!(outcome(&v, "boot.log"), Outcome::Pass);
        assert_eq!(outcome(&v, "boot.applications"), Outcome::Fail);
        // ... nor by retyping them as action strings (their data is not bound)
        let mut as_action = s.bytes.clone();
        for e in l
            .events
            .iter()
            .filter(|e| e.event_type == EV_EFI_BOOT_SERVICES_APPLICATION)
            .skip(1)
        {
            as_action = retype(&as_action, e.number, EV_EFI_ACTION);
        }
        let v = run(&as_action, &only_shim, &quoted_after(&as_action));
        assert_eq!(outcome(&v, "boot.applications"), Outcome::Fail);
    }

    #[test]
    fn reference_policy_accepts_its_own_boot_only() {
        let s = sim();
        let text = reference_policy(&s.bytes).expect("reference");
        assert!(text.contains("secure_boot = true"), "{text}");
        assert!(text.contains("shimx64.efi"), "{text}");
        let full = format!(
            "name = \"t\"\nbackend = \"any\"\n[tpm]\naccept = [\"none\"]\nrequire_ek_certificate = false\n\
             [pcrs]\n[modules]\nallow_any = true\n{text}"
        );
        let p = crate::Policy::from_toml_str(&full, std::path::Path::new(".")).expect("policy");
        let bp = p.boot.expect("boot table");
        assert_eq!(bp.variables.len(), 4);
        let v = run(&s.bytes, &bp, &quoted_after(&s.bytes));
        assert!(v.valid, "{}", v.render_table());
        assert!(reference_policy(b"junk").is_err());
    }

    #[test]
    fn kernel_command_line_rules() {
        let s = sim();
        let q = quoted_after(&s.bytes);
        let with = |req: &[&str], forbid: &[&str]| BootPolicy {
            pcrs: (0..10).collect(),
            kernel_cmdline_require: req.iter().map(|w| w.to_string()).collect(),
            kernel_cmdline_forbid: forbid.iter().map(|w| w.to_string()).collect(),
            ..policy(Some(s.boot_applications.clone()), None)
        };
        let v = run(
            &s.bytes,
            &with(
                &["ima_policy=tcb", "ima_template=ima-ng"],
                &["ima=", "init="],
            ),
            &q,
        );
        assert!(v.valid, "{}", v.render_table());
        let v = run(&s.bytes, &with(&["lockdown=integrity"], &[]), &q);
        assert_eq!(outcome(&v, "boot.kernel_cmdline"), Outcome::Fail);
        let v = run(&s.bytes, &with(&[], &["ima_policy="]), &q);
        assert_eq!(outcome(&v, "boot.kernel_cmdline"), Outcome::Fail);
        // the command line edited in the log (the TPM measured the real one): the digest no longer matches its
        // text, and retyping the event does not hide it from the check
        let l = BootLog::parse(&s.bytes).expect("log");
        let e = l.events_in(8).nth(1).expect("kernel_cmdline");
        let mut edited = s.bytes.clone();
        let at = e.offset + 50 + e.data.len() - 2;
        edited[at] ^= 0x20;
        let v = run(
            &edited,
            &with(&["ima_policy=tcb"], &[]),
            &quoted_after(&edited),
        );
        assert_eq!(outcome(&v, "boot.kernel_cmdline"), Outcome::Fail);
        let retyped = retype(&s.bytes, e.number, EV_POST_CODE);
        let v = run(&retyped, &with(&["ima_policy=tcb"], &[]), &q);
        assert_eq!(
            outcome(&v, "boot.kernel_cmdline"),
            Outcome::Pass,
            "types are not consulted"
        );
        // the files GRUB read (PCR 9): another initrd is refused, whatever name its event gives
        let files: Vec<[u8; 32]> = l.events_in(9).map(|e| e.sha256()).collect();
        let pinned = |list: Vec<[u8; 32]>| BootPolicy {
            pcrs: (0..10).collect(),
            loaded_files: Some(list),
            ..policy(Some(s.boot_applications.clone()), None)
        };
        let v = run(&s.bytes, &pinned(files.clone()), &q);
        assert_eq!(
            outcome(&v, "boot.loaded_files"),
            Outcome::Pass,
            "{}",
            v.render_table()
        );
        let v = run(&s.bytes, &pinned(files[..1].to_vec()), &q);
        assert_eq!(outcome(&v, "boot.loaded_files"), Outcome::Fail);
        assert!(v
            .check("boot.loaded_files")
            .expect("files")
            .reason
            .contains("/initrd.img"));
        // the reference policy carries the IMA words it found
        let text = reference_policy(&s.bytes).expect("reference");
        assert!(
            text.contains("kernel_cmdline_require = [\"ima_policy=tcb\""),
            "{text}"
        );
    }

    #[test]
    fn error_separator_and_pinned_variables() {
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        b.measure_data(2, EV_SEPARATOR, &[0xff; 4]);
        let bad = b.finish();
        let p = BootPolicy {
            secure_boot: false,
            boot_applications: None,
            ..policy(None, None)
        };
        let v = run(&bad, &p, &quoted_after(&bad));
        assert_eq!(outcome(&v, "boot.log"), Outcome::Fail);
        assert!(v
            .check("boot.log")
            .expect("log")
            .reason
            .contains("error separator"));

        let s = sim();
        let p = policy(Some(s.boot_applications.clone()), Some([7; 32]));
        let v = run(&s.bytes, &p, &quoted_after(&s.bytes));
        assert_eq!(outcome(&v, "boot.variables"), Outcome::Fail);
    }

    /// The simulated dbx's revocations and db's fingerprints, as a policy would list them.
    fn databases(log: &[u8]) -> (Vec<[u8; 32]>, Vec<[u8; 32]>) {
        let l = BootLog::parse(log).expect("log");
        let fps = |name| {
            signature_database(&l, name)
                .expect(name)
                .iter()
                .map(SignatureEntry::fingerprint)
                .collect::<Vec<_>>()
        };
        (fps("dbx"), fps("db"))
    }

    #[test]
    fn dbx_must_hold_the_required_revocations() {
        let s = sim();
        let q = quoted_after(&s.bytes);
        let (dbx, db) = databases(&s.bytes);
        assert_eq!(dbx.len(), 3, "the simulated dbx revokes three images");
        // the simulated revocations are the SHA-256 of their labels: the fingerprint is the hash itself
        let want: [u8; 32] = sha2::Sha256::digest(
            cuproof_attest::bootlog::build::SIMULATED_REVOKED_IMAGES[1].as_bytes(),
        )
        .into();
        assert!(in_list(&want, &dbx));
        let with = |dbx_required: Vec<[u8; 32]>, db_allowed: Option<Vec<[u8; 32]>>| BootPolicy {
            dbx_required,
            db_allowed,
            ..policy(None, None)
        };
        // a subset of the measured revocations passes (an older policy against a newer dbx)
        let v = run(&s.bytes, &with(dbx[..2].to_vec(), Some(db.clone())), &q);
        assert!(v.valid, "{}", v.render_table());
        assert_eq!(outcome(&v, "boot.dbx"), Outcome::Pass);
        assert_eq!(outcome(&v, "boot.db"), Outcome::Pass);
        // a revocation this dbx does not hold fails, naming it
        let newer = [0xab; 32];
        let fails = |p: &BootPolicy, check: &str, words: &[&str]| {
            let v = run(&s.bytes, p, &q);
            let c = v.check(check).unwrap_or_else(|| panic!("{check} missing"));
            assert!(
                !v.valid && c.outcome == Outcome::Fail,
                "{check}: {}",
                c.reason
            );
            assert!(
                words.iter().all(|w| c.reason.contains(w)),
                "{check}: {}",
                c.reason
            );
        };
        fails(
            &with(vec![dbx[0], newer], None),
            "boot.dbx",
            &["lacks 1 of 2", "abababab"],
        );
        // db holding an entry the policy does not know fails
        fails(
            &with(Vec::new(), Some(vec![[0xcd; 32]])),
            "boot.db",
            &["1 entry", "x509"],
        );
        // no policy, no judgement
        let v = run(&s.bytes, &policy(None, None), &q);
        assert_eq!(outcome(&v, "boot.dbx"), Outcome::SkippedByPolicy);
        assert_eq!(outcome(&v, "boot.db"), Outcome::SkippedByPolicy);
    }

    #[test]
    fn a_log_without_a_parsable_dbx_fails_the_dbx_check() {
        // a firmware that measures dbx as bytes that are not signature lists: replay passes, the judgement fails
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        let var = |name: &str, data: Vec<u8>| {
            UefiVariable {
                guid: cuproof_attest::bootlog::uefi::EFI_IMAGE_SECURITY_DATABASE,
                name: name.into(),
                data,
            }
            .encode()
        };
        b.measure_data(7, EV_EFI_VARIABLE_DRIVER_CONFIG, &var("dbx", vec![1, 2, 3]));
        for pcr in 0..8 {
            b.measure_data(pcr, EV_SEPARATOR, &[0; 4]);
        }
        let log = b.finish();
        let p = BootPolicy {
            secure_boot: false,
            dbx_required: vec![[1; 32]],
            ..policy(None, None)
        };
        let v = run(&log, &p, &quoted_after(&log));
        let c = v.check("boot.dbx").expect("boot.dbx");
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(
            c.reason.contains("not a signature database"),
            "{}",
            c.reason
        );
        // and a log with no dbx at all says so
        let mut b = BootLogBuilder::new(&[ALG_SHA256]);
        for pcr in 0..8 {
            b.measure_data(pcr, EV_SEPARATOR, &[0; 4]);
        }
        let log = b.finish();
        let v = run(&log, &p, &quoted_after(&log));
        assert!(v
            .check("boot.dbx")
            .expect("dbx")
            .reason
            .contains("not measured"));
    }

    #[test]
    fn reference_policy_requires_every_revocation_and_allows_exactly_db() {
        let s = sim();
        let text = reference_policy(&s.bytes).expect("reference");
        assert!(
            text.contains("dbx_required = [") && text.contains("db_allowed = ["),
            "{text}"
        );
        let (dbx, db) = databases(&s.bytes);
        for d in dbx.iter().chain(&db) {
            assert!(text.contains(&hex::encode(d)), "{text}");
        }
        // the [boot] keys precede the [boot.variables] sub-table, so the table parses as a policy
        let t: toml::Table = toml::from_str(&text).expect("toml");
        let boot = t["boot"].as_table().expect("[boot]");
        assert_eq!(boot["dbx_required"].as_array().map(Vec::len), Some(3));
        assert!(boot.contains_key("variables"));
    }

    #[test]
    fn authorities_are_judged_by_content_whatever_their_type() {
        use cuproof_attest::bootlog::EV_EFI_VARIABLE_AUTHORITY;
        let s = sim();
        let q = quoted_after(&s.bytes);
        let l = BootLog::parse(&s.bytes).expect("log");
        let auth = l
            .events_in(SECURE_BOOT_PCR)
            .find(|e| e.event_type == EV_EFI_VARIABLE_AUTHORITY)
            .expect("the simulated boot measures the db entry that verified shim");
        let number = auth.number;
        let list = pcr7_authorities(&l).expect("bound");
        assert_eq!(
            list.len(),
            1,
            "only the authority: the configuration is judged elsewhere"
        );
        // its identity is the fingerprint of the db entry it names (a policy can list the same value in both)
        let (_, db) = databases(&s.bytes);
        assert_eq!(list[0].identity, db[0]);
        let with = |authorities: Vec<[u8; 32]>| BootPolicy {
            authorities: Some(authorities),
            ..policy(None, None)
        };
        let v = run(&s.bytes, &with(vec![db[0]]), &q);
        assert!(v.valid, "{}", v.render_table());
        assert_eq!(outcome(&v, "boot.authorities"), Outcome::Pass);
        // an authority the policy does not know fails, naming the event; retyped (to a configuration event or to
        // a post code) it is still judged
        for ty in [
            EV_EFI_VARIABLE_AUTHORITY,
            EV_EFI_VARIABLE_DRIVER_CONFIG,
            EV_POST_CODE,
        ] {
            let log = retype(&s.bytes, number, ty);
            let v = run(&log, &with(vec![[0x11; 32]]), &q);
            let c = v.check("boot.authorities").expect("boot.authorities");
            assert_eq!(c.outcome, Outcome::Fail, "type {ty:#x}");
            assert!(
                c.reason.contains(&format!("event {number}")),
                "{}",
                c.reason
            );
            let v = run(&log, &with(vec![db[0]]), &q);
            assert_eq!(
                outcome(&v, "boot.authorities"),
                Outcome::Pass,
                "type {ty:#x}"
            );
        }
        // an event whose data no longer matches its digest hides its content: refused
        let mut altered = s.bytes.clone();
        // the event's last data byte: just before the next event
        altered[l.events[number].offset - 1] ^= 1;
        let v = run(&altered, &with(vec![db[0]]), &q);
        let c = v.check("boot.authorities").expect("boot.authorities");
        assert!(
            c.outcome == Outcome::Fail && c.reason.contains("not bound"),
            "{}",
            c.reason
        );
        // the reference policy lists it
        let text = reference_policy(&s.bytes).expect("reference");
        assert!(
            text.contains(&format!("authorities = [\n  \"{}\"", hex::encode(db[0]))),
            "{text}"
        );
    }
}
