//! 1,000 quotes on one swtpm without exhausting object/session memory; the TPM going away.

mod common;

use cuproof_attest::HashAlg;
use cuproof_tpm::{AkType, EkType, Tpm, TpmError};

#[test]
fn thousand_quotes_no_handle_leak() {
    let (_sw, mut tpm) = common::start();
    let ek = tpm.endorsement_key(EkType::Rsa2048).unwrap();
    let blob = tpm.create_ak(&ek, AkType::Rsa2048Sha256).unwrap();
    let start = std::time::Instant::now();
    let mut ak = tpm.load_ak(&ek, &blob).unwrap();
    for i in 0..1000u32 {
        if i % 100 == 99 {
            // Reload the AK now and then: each load uses a policy session that must be flushed.
            tpm.unload_ak(ak).unwrap();
            ak = tpm.load_ak(&ek, &blob).unwrap();
        }
        if i % 250 == 0 {
            tpm.extend(23, &[i as u8; 32]).unwrap();
        }
        let q = tpm
            .quote(&ak, HashAlg::Sha256, &[23], &i.to_be_bytes())
            .unwrap_or_else(|e| panic!("quote {i}: {e}"));
        assert!(!q.attest.is_empty());
    }
    eprintln!("1000 quotes in {:?}", start.elapsed());
    // Activation sessions are flushed too.
    for _ in 0..20 {
        let (c, _) = cuproof_attest::enroll::start_enrollment(
            &cuproof_attest::EnrollmentRequest {
                ek_public: ek.public.clone(),
                ek_cert: None,
                ak_public: ak.public.clone(),
            },
            &cuproof_attest::RegistrarPolicy {
                allow_uncertified: true,
                ..Default::default()
            },
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        tpm.activate_credential(&ek, &ak, &c.id_object, &c.encrypted_secret)
            .unwrap();
    }
}

#[test]
fn tpm_going_away_is_a_clear_error() {
    let (mut sw, mut tpm) = common::start();
    let ek = tpm.endorsement_key(EkType::Rsa2048).unwrap();
    let blob = tpm.create_ak(&ek, AkType::Rsa2048Sha256).unwrap();
    let ak = tpm.load_ak(&ek, &blob).unwrap();
    tpm.extend(23, &[1; 32]).unwrap();
    let tcti = sw.tcti();
    sw.kill();
    assert!(!sw.is_running());
    let e = tpm.extend(23, &[2; 32]).unwrap_err();
    assert!(e.is_unreachable(), "extend after kill: {e}");
    assert!(
        e.to_string()
            .starts_with("TPM unreachable: swtpm:host=127.0.0.1"),
        "{e}"
    );
    let e = tpm.quote(&ak, HashAlg::Sha256, &[23], b"n").unwrap_err();
    assert!(e.is_unreachable(), "quote after kill: {e}");
    eprintln!("{e}");
    drop(tpm);
    let e = Tpm::open(&tcti).unwrap_err();
    assert!(matches!(e, TpmError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains(&tcti));
    // A malformed TCTI is its own error.
    assert!(matches!(
        Tpm::open("nonsense:"),
        Err(TpmError::InvalidTcti { .. }) | Err(TpmError::Unreachable { .. })
    ));
}

#[test]
fn pcr_reset_rules() {
    let (_sw, mut tpm) = common::start();
    tpm.extend(16, &[3; 32]).unwrap();
    tpm.extend(23, &[3; 32]).unwrap();
    tpm.reset_pcr(16).unwrap();
    tpm.reset_pcr(23).unwrap();
    let v = tpm.read_pcrs(HashAlg::Sha256, &[16, 23]).unwrap();
    assert!(v.iter().all(|p| p.value == vec![0u8; 32]));
    // Boot PCRs cannot be reset from locality 0.
    assert!(matches!(tpm.reset_pcr(0), Err(TpmError::Command { .. })));
    assert!(matches!(tpm.reset_pcr(24), Err(TpmError::Invalid(_))));
    // Reading more than 8 PCRs works (several TPM2_PCR_Read calls).
    let all: Vec<u8> = (0..24).collect();
    assert_eq!(tpm.read_pcrs(HashAlg::Sha256, &all).unwrap().len(), 24);
}
