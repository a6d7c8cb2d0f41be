//! Interop: `tpm2_eventlog` (tpm2-tools) parses a log we wrote, and the PCR value it replays equals ours.

mod common;

use cuproof_core::log::DEFAULT_JOB_PCR;
use std::process::Command;

#[test]
fn tpm2_eventlog_parses_our_log_and_replays_our_pcr() {
    let log = common::sample_log();
    let bytes = log.to_tcg_bytes().expect("encode");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cuproof.evlog");
    std::fs::write(&path, &bytes).expect("write");
    if let Some(dump) = std::env::var_os("CUPROOF_DUMP_EVLOG") {
        std::fs::write(dump, &bytes).expect("dump");
    }
    let out = Command::new("tpm2_eventlog").arg(&path).output().unwrap_or_else(|e| {
        panic!("tpm2_eventlog (Debian package tpm2-tools) is required; run scripts/test to install it: {e}")
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tpm2_eventlog failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every checkpoint appears as an event.
    let events = stdout.matches("PCRIndex: 23").count();
    assert_eq!(events, log.checkpoints().len(), "{stdout}");
    // The replayed PCR equals ours.
    let ours = hex::encode(log.replay_pcrs()[&DEFAULT_JOB_PCR]);
    let pcr_line = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("sha256:"))
        .find(|l| {
            l.trim_start().starts_with(&format!("{DEFAULT_JOB_PCR} "))
                || l.trim_start().starts_with(&format!("{DEFAULT_JOB_PCR}:"))
        })
        .unwrap_or_else(|| panic!("no replayed PCR {DEFAULT_JOB_PCR} in output:\n{stdout}"));
    assert!(
        pcr_line.to_lowercase().contains(&ours),
        "tpm2_eventlog replayed {pcr_line}, we replay {ours}"
    );
}
