//! Interop: `tpm2_eventlog` (tpm2-tools) parses the firmware event log we write (the simulated boot that a
//! private software TPM gets), decodes its UEFI events as we do, and replays both banks to our values.

use cuproof_attest::bootlog::{
    build::simulated_firmware, uefi::UefiVariable, BootLog, ALG_SHA1, ALG_SHA256,
};
use std::collections::BTreeMap;
use std::process::Command;

/// The `pcrs:` section of tpm2_eventlog's YAML: bank name → PCR → lower-case hex value.
fn replayed_pcrs(yaml: &str) -> BTreeMap<String, BTreeMap<u8, String>> {
    let mut out: BTreeMap<String, BTreeMap<u8, String>> = BTreeMap::new();
    let mut bank = None;
    for line in yaml.lines().skip_while(|l| !l.starts_with("pcrs:")).skip(1) {
        let t = line.trim();
        if let Some(name) = t.strip_suffix(':') {
            bank = Some(name.to_string());
            continue;
        }
        let (Some(b), Some((idx, val))) = (&bank, t.split_once(':')) else {
            continue;
        };
        let idx: u8 = idx.trim().parse().expect("PCR index");
        let val = val.trim().trim_start_matches("0x").to_lowercase();
        out.entry(b.clone()).or_default().insert(idx, val);
    }
    out
}

#[test]
fn tpm2_eventlog_parses_our_boot_log_and_replays_both_banks() {
    let sim = simulated_firmware();
    let dir = std::env::temp_dir().join(format!("cuproof-bootlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("binary_bios_measurements");
    std::fs::write(&path, &sim.bytes).expect("write");
    let out = Command::new("tpm2_eventlog").arg(&path).output().unwrap_or_else(|e| {
        panic!("tpm2_eventlog (Debian package tpm2-tools) is required; run scripts/test to install it: {e}")
    });
    let _ = std::fs::remove_dir_all(&dir);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tpm2_eventlog failed: {}\n{yaml}",
        String::from_utf8_lossy(&out.stderr)
    );

    let log = BootLog::parse(&sim.bytes).expect("our parser");
    // Same number of events (theirs count the Spec ID event as 0).
    assert_eq!(yaml.matches("- EventNum: ").count(), log.events.len() + 1);
    // Every UEFI variable decodes to the same name and value in both tools.
    for e in &log.events {
        if let Ok(v) = UefiVariable::parse(&e.data) {
            assert!(
                yaml.contains(&format!("UnicodeName: {}", v.name)),
                "variable {} not decoded by tpm2_eventlog",
                v.name
            );
            if v.data.len() <= 64 {
                assert!(yaml.contains(&hex::encode(&v.data)), "value of {}", v.name);
            }
        }
    }
    assert!(yaml.contains("UnicodeName: SecureBoot\n    VariableData: \"01\""));
    // Both banks replay to our values, PCR by PCR.
    let theirs = replayed_pcrs(&yaml);
    for (alg, name) in [(ALG_SHA1, "sha1"), (ALG_SHA256, "sha256")] {
        let ours = log.replay(alg).expect("replay");
        let t = theirs
            .get(name)
            .unwrap_or_else(|| panic!("no {name} bank in:\n{yaml}"));
        assert_eq!(t.len(), ours.len(), "{name}: PCRs replayed");
        for (pcr, v) in &ours {
            assert_eq!(t.get(pcr), Some(&hex::encode(v)), "{name} PCR {pcr}");
        }
    }
}
