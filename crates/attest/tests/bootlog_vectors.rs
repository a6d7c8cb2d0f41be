//! The simulated firmware boot is pinned: its replayed SHA-256 PCRs equal the test vector file (docs/bootlog.md),
//! and the separator-only PCRs equal the textbook value H(0^32 ‖ H(00000000)).

use cuproof_attest::bootlog::{build::simulated_firmware_for, BootLog, ALG_SHA256};
use sha2::{Digest, Sha256};

#[test]
fn simulated_boot_replays_to_the_pinned_pcrs() {
    let sim = simulated_firmware_for(&[ALG_SHA256]);
    let log = BootLog::parse(&sim.bytes).expect("parse");
    let ours = log.replay(ALG_SHA256).expect("replay");
    let text = include_str!("vectors/simulated_boot_sha256.txt");
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (k, v) = line.split_once(':').expect("key: value");
        let pcr: u8 = k.trim().parse().expect("PCR index");
        assert_eq!(hex::encode(&ours[&pcr]), v.trim(), "PCR {pcr}");
        n += 1;
    }
    assert_eq!(n, ours.len(), "every replayed PCR is pinned");
    // PCR 2 holds only a separator: SHA-256(0^32 ‖ SHA-256(00 00 00 00)).
    let mut buf = [0u8; 64];
    buf[32..].copy_from_slice(&Sha256::digest([0u8; 4]));
    assert_eq!(ours[&2], Sha256::digest(buf).to_vec());
    // The extends the node plays into a TPM are the events' SHA-256 digests, in order.
    assert_eq!(sim.extends.len(), log.events.len());
    for ((pcr, d), e) in sim.extends.iter().zip(&log.events) {
        assert_eq!(
            (*pcr, d.as_slice()),
            (e.pcr, e.digest(ALG_SHA256).expect("sha256"))
        );
    }
}
