#![allow(dead_code)]
//! Shared helpers: start a private swtpm (tests FAIL with a clear message when swtpm is missing).

use cuproof_attest::{EkTrust, RegistrarPolicy, TpmKind};
use cuproof_tpm::swtpm::Swtpm;
use cuproof_tpm::Tpm;
use std::path::PathBuf;

pub fn require_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "required tool `{name}` not found in PATH: install the Debian packages swtpm, swtpm-tools \
         and tpm2-tools (scripts/test does this)"
    );
}

pub fn start() -> (Swtpm, Tpm) {
    require_tool("swtpm");
    require_tool("swtpm_setup");
    let sw = Swtpm::start().expect("start private swtpm");
    let tpm = Tpm::open(&sw.tcti()).expect("open swtpm");
    (sw, tpm)
}

pub fn registrar_policy(sw: &Swtpm) -> RegistrarPolicy {
    let mut trust = EkTrust::default();
    trust
        .add_roots(&sw.ca_root_pem().unwrap(), TpmKind::Software)
        .unwrap();
    trust
        .add_intermediates(&sw.ca_intermediate_pem().unwrap())
        .unwrap();
    RegistrarPolicy {
        trust,
        allow_uncertified: false,
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
