//! The capacity verifier's stack judge (cuproof-verify `capacity::PolicyStack`: the receipt's `pcrs.boot`, `boot.*`
//! and `ima.*` checks) on arbitrary firmware logs and IMA lists, under a policy whose `[boot]` and `[ima]` tables
//! are the simulated machine's. The quoted PCRs are set to whatever the logs replay to, so that judging goes past
//! the replay into the content checks (in a real transcript those values come from a verified Q2). Input: a u16
//! length of the firmware log, the firmware log, the IMA list. Never a panic; every check is reported.
#![no_main]
use cuproof_attest::bootlog::{BootLog, ALG_SHA256};
use cuproof_attest::ima::{ImaLog, ReplayMode, IMA_PCR};
use cuproof_capacity::stack::StackJudge;
use cuproof_capacity::MeasurementLogs;
use cuproof_verify::capacity::PolicyStack;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

fn judge() -> &'static PolicyStack {
    static JUDGE: OnceLock<PolicyStack> = OnceLock::new();
    JUDGE.get_or_init(|| {
        let boot = cuproof_attest::bootlog::build::simulated_firmware_for(&[ALG_SHA256]);
        let log = BootLog::parse(&boot.bytes).expect("simulated firmware log");
        let mut pcrs = [[0u8; 32]; 10];
        for (p, v) in log.replay(ALG_SHA256).expect("sha256 bank") {
            if let (Some(slot), Ok(v)) = (pcrs.get_mut(p as usize), <[u8; 32]>::try_from(v.as_slice())) {
                *slot = v;
            }
        }
        let ima = cuproof_attest::ima::build::simulated_runtime(&pcrs);
        let text = format!(
            "version = 1\nname = \"fuzz\"\nbackend = \"any\"\n[tpm]\naccept = [\"software\", \"hardware\"]\n\
             require_ek_certificate = false\nrequire_enrollment = false\n[pcrs]\njob = 23\n\
             exact_selection = false\n[modules]\nallow_any = true\n{}\n{}",
            cuproof_verify::boot::reference_policy(&boot.bytes).expect("boot table"),
            cuproof_verify::ima::reference_policy(&ima.bytes).expect("ima table"),
        );
        let policy = cuproof_verify::Policy::from_toml_str(&text, std::path::Path::new("."))
            .expect("fuzz policy");
        PolicyStack::new(Arc::new(policy))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (boot, ima) = rest.split_at((u16::from_le_bytes(*len) as usize).min(rest.len()));
    let mut quoted: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
    if let Some(r) = BootLog::parse(boot).ok().and_then(|l| l.replay(ALG_SHA256)) {
        quoted.extend(r);
    }
    if let Ok(l) = ImaLog::parse(ima) {
        let mode = if data.len() % 2 == 0 { ReplayMode::PerBank } else { ReplayMode::PaddedSha1 };
        quoted.insert(IMA_PCR as u8, l.replay_sha256(IMA_PCR, l.entries.len(), mode).to_vec());
    }
    let j = judge();
    assert!(j.pcrs().contains(&23));
    let checks = j.judge(
        &quoted,
        &MeasurementLogs {
            boot: boot.to_vec(),
            ima: ima.to_vec(),
        },
    );
    assert!(checks.iter().any(|c| c.name == "boot.log") && checks.iter().any(|c| c.name == "ima.log"));
});
