//! The node side of GPU attestation: the software responder's reports verify under its authority, bind the
//! nonce and FWID as a card's do, and without a driver NVML says so instead of failing (feature `cuda`).

use cuproof::gpu_attest::{GpuAttestError, GpuAttester, SoftGpu};
use cuproof_attest::gpu::spdm::{self, MeasurementBlock};
use cuproof_attest::gpu::{verify_gpu_evidence, GpuError, GpuTrust, OpaqueData};
use sha2::{Digest, Sha384};

const ROOT: &str = include_str!("data/gpu-test-authority/root.pem");
const CARD0_KEY: &str = include_str!("data/gpu-test-authority/card0-ak.key.pem");
const CARD0_CHAIN: &str = include_str!("data/gpu-test-authority/card0-chain.pem");

fn trust() -> GpuTrust {
    GpuTrust::with_roots(ROOT.as_bytes(), None).unwrap()
}

#[test]
fn soft_reports_verify_under_the_test_authority_only() {
    let gpu = SoftGpu::new()
        .with_card(CARD0_KEY, CARD0_CHAIN.as_bytes())
        .unwrap();
    let nonce = [5u8; 32];
    let e = gpu.attest(0, &[0; 16], &nonce).unwrap();
    let v = e.verify(&nonce, &trust()).unwrap();
    assert_eq!(v.device_serial, "C0FFEE0000000001");
    assert_eq!(v.device_name.as_deref(), Some("Test GPU BROM"));
    assert_eq!(
        v.fwid.as_deref(),
        Some(Sha384::digest(b"cuproof test GPU firmware layer").as_slice())
    );
    assert_eq!(v.measurements, gpu.measurements());
    // NVIDIA's root does not vouch for it
    assert!(matches!(
        e.verify(&nonce, &GpuTrust::nvidia(None)).unwrap_err(),
        GpuError::UntrustedRoot(_)
    ));
    // two reports over one nonce differ (the responder's own nonce) and both verify
    let again = gpu.attest(0, &[0; 16], &nonce).unwrap();
    assert_ne!(again.report, e.report);
    again.verify(&nonce, &trust()).unwrap();
    // a card the responder does not have cannot attest
    assert!(matches!(
        gpu.attest(1, &[0; 16], &nonce).unwrap_err(),
        GpuAttestError::Unavailable(_)
    ));
}

/// A report signed by the right key whose opaque FWID is not the one the certificate was issued for: the key
/// belongs to another firmware layer than the one that produced the report.
#[test]
fn a_report_naming_another_firmware_than_its_certificate_is_refused() {
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    use p384::pkcs8::DecodePrivateKey;
    let key = p384::ecdsa::SigningKey::from_pkcs8_pem(CARD0_KEY).unwrap();
    let nonce = [9u8; 32];
    let sign = |fwid: Vec<u8>| {
        let opaque = OpaqueData {
            fields: vec![cuproof_attest::gpu::OpaqueField {
                id: 20,
                value: fwid,
            }],
        }
        .to_bytes()
        .unwrap();
        let blocks = [MeasurementBlock {
            index: 1,
            value_type: 1,
            value: vec![1; 48],
        }];
        let mut r = spdm::encode_request(&nonce, 0);
        r.extend(spdm::encode_response_unsigned(0, &blocks, &[2; 32], &opaque).unwrap());
        let sig: p384::ecdsa::Signature = key.sign_prehash(&Sha384::digest(&r)).unwrap();
        r.extend_from_slice(&sig.to_bytes());
        r
    };
    let right = Sha384::digest(b"cuproof test GPU firmware layer").to_vec();
    verify_gpu_evidence(&sign(right), CARD0_CHAIN.as_bytes(), &nonce, &trust()).unwrap();
    let err = verify_gpu_evidence(
        &sign(vec![0x55; 48]),
        CARD0_CHAIN.as_bytes(),
        &nonce,
        &trust(),
    )
    .unwrap_err();
    assert_eq!(err, GpuError::FwidMismatch);
}

#[cfg(feature = "cuda")]
#[test]
fn nvml_without_a_driver_is_unavailable_not_a_failure() {
    match cuproof::gpu_attest::Nvml::open() {
        Ok(nvml) => {
            // a machine with a driver: whatever the card says, attesting a UUID it does not have is not a crash
            eprintln!("NVML present: {}", nvml.describe());
            let r = nvml.attest(0, &[0xEE; 16], &[0; 32]);
            assert!(r.is_err(), "a made-up UUID attested");
        }
        Err(GpuAttestError::Unavailable(why)) => {
            eprintln!("no device: {why}");
        }
        Err(e) => panic!("NVML absence reported as a failure: {e}"),
    }
}
