//! GPU attestation evidence against a real H100 report and its device certificate chain.
//!
//! `data/nvidia/h100-report.hex` and `h100-cert-chain.pem` are the sample evidence NVIDIA
//! publishes with its local GPU verifier (nvtrust, `guest_tools/gpu_verifiers/local_gpu_verifier/
//! src/verifier/samples/`): a GET_MEASUREMENTS exchange signed by an H100's attestation key, and
//! that key's chain to the NVIDIA Device Identity CA. Accepting it proves our parser and signature
//! check agree with NVIDIA's; every tampered variant below must be refused.

use cuproof_attest::gpu::{
    self, judge_measurements, verify_gpu_evidence, DeviceChain, GoldenMeasurements, GpuError,
    GpuTrust, OpaqueData, Report,
};

const REPORT_HEX: &str = include_str!("data/nvidia/h100-report.hex");
const CHAIN_PEM: &str = include_str!("data/nvidia/h100-cert-chain.pem");
/// The nonce NVIDIA's tool put into the sample request.
const SAMPLE_NONCE: &str = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";

fn report() -> Vec<u8> {
    hex::decode(REPORT_HEX.trim()).unwrap()
}

fn nonce() -> [u8; 32] {
    hex::decode(SAMPLE_NONCE).unwrap().try_into().unwrap()
}

/// 2026-11-28: inside every certificate's validity.
const NOW: u64 = 1_795_824_000;

fn trust() -> GpuTrust {
    GpuTrust::nvidia(Some(NOW))
}

#[test]
fn nvidia_sample_h100_report_verifies() {
    let v = verify_gpu_evidence(&report(), CHAIN_PEM.as_bytes(), &nonce(), &trust()).unwrap();
    assert_eq!(v.device_serial, "41431D480FE5E87274");
    assert_eq!(v.device_name.as_deref(), Some("GH100 A01 GSP BROM"));
    assert_eq!(v.driver_version.as_deref(), Some("550.90.07"));
    assert_eq!(v.vbios_version.as_deref(), Some("96.00.9F.00.01"));
    assert_eq!(v.project.as_deref(), Some("1010"));
    assert_eq!(v.project_sku.as_deref(), Some("0200"));
    assert_eq!(v.chip_sku.as_deref(), Some("882"));
    assert_eq!(
        hex::encode(v.fwid.as_ref().unwrap()),
        "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d"
    );
    assert_eq!(v.measurements.len(), 64);
    assert!(v
        .measurements
        .iter()
        .all(|b| b.is_digest() && b.value.len() == 48));
    assert_eq!(
        hex::encode(&v.measurements[1].value)[..16],
        *"8048dfd18fe229bf"
    );
    assert_eq!(
        hex::encode(&v.root_sha256),
        "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
    );
}

#[test]
fn the_embedded_root_is_the_sample_chains_root() {
    let chain = DeviceChain::parse(CHAIN_PEM.as_bytes()).unwrap();
    let trust = trust();
    assert_eq!(trust.roots.len(), 1);
    assert_eq!(chain.certs()[4].der(), trust.roots[0].der());
}

#[test]
fn der_chain_back_to_back_is_accepted_like_pem() {
    let chain = DeviceChain::parse(CHAIN_PEM.as_bytes()).unwrap();
    let der: Vec<u8> = chain
        .certs()
        .iter()
        .flat_map(|c| c.der().to_vec())
        .collect();
    verify_gpu_evidence(&report(), &der, &nonce(), &trust()).unwrap();
}

#[test]
fn any_flipped_bit_of_the_signed_bytes_is_refused() {
    let good = report();
    let signed_len = good.len() - gpu::spdm::SIGNATURE_LEN;
    // Every measurement, the responder nonce, the opaque data and the signature itself; positions
    // that only break the parser are refused by it, the rest by the signature.
    for pos in (0..good.len())
        .step_by(41)
        .chain([signed_len - 1, good.len() - 1])
    {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        let err = verify_gpu_evidence(&bad, CHAIN_PEM.as_bytes(), &nonce(), &trust())
            .expect_err(&format!("flipped byte {pos} accepted"));
        if (4..36).contains(&pos) {
            // the request nonce: still signed, so the signature fails before the nonce check
            assert_eq!(err, GpuError::BadSignature, "byte {pos}");
        }
    }
}

#[test]
fn another_nonce_is_a_replay() {
    let mut other = nonce();
    other[31] ^= 0x80;
    let err = verify_gpu_evidence(&report(), CHAIN_PEM.as_bytes(), &other, &trust()).unwrap_err();
    assert_eq!(err, GpuError::NonceMismatch);
}

#[test]
fn cuproof_nonces_are_domain_separated() {
    let a = gpu::gpu_nonce(b"challenge-1");
    assert_ne!(a, gpu::gpu_nonce(b"challenge-2"));
    use sha2::{Digest, Sha256};
    assert_ne!(a.as_slice(), Sha256::digest(b"challenge-1").as_slice());
}

fn pem_blocks() -> Vec<String> {
    CHAIN_PEM
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_string)
        .collect()
}

#[test]
fn a_chain_missing_a_link_is_refused() {
    let blocks = pem_blocks();
    assert_eq!(blocks.len(), 5);
    for skip in 1..4 {
        let chain: String = blocks
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, b)| b.as_str())
            .collect();
        let err = verify_gpu_evidence(&report(), chain.as_bytes(), &nonce(), &trust()).unwrap_err();
        assert!(
            matches!(err, GpuError::Chain(_) | GpuError::Certificate { .. }),
            "skip {skip}: {err}"
        );
    }
}

#[test]
fn a_chain_may_leave_the_root_implied() {
    let blocks = pem_blocks();
    let no_root: String = blocks[..4].concat();
    let v = verify_gpu_evidence(&report(), no_root.as_bytes(), &nonce(), &trust()).unwrap();
    assert_eq!(
        hex::encode(&v.root_sha256),
        "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
    );
    // ending one link earlier, at a certificate no trusted root issued, is not a path
    let short: String = blocks[..3].concat();
    let err = verify_gpu_evidence(&report(), short.as_bytes(), &nonce(), &trust()).unwrap_err();
    assert!(matches!(err, GpuError::UntrustedRoot(_)), "{err}");
}

#[test]
fn a_chain_in_another_order_is_refused() {
    let mut swapped = pem_blocks();
    swapped.swap(1, 2);
    let err = verify_gpu_evidence(&report(), swapped.concat().as_bytes(), &nonce(), &trust())
        .unwrap_err();
    assert!(matches!(err, GpuError::Chain(_)), "{err}");
}

#[test]
fn a_chain_to_another_root_is_refused() {
    // Trust a different root: the sample's own chain is then untrusted.
    let blocks = pem_blocks();
    let other = GpuTrust::with_roots(blocks[3].as_bytes(), Some(NOW)).unwrap();
    let err = verify_gpu_evidence(&report(), CHAIN_PEM.as_bytes(), &nonce(), &other).unwrap_err();
    assert_eq!(
        err,
        GpuError::UntrustedRoot(
            "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48".into()
        )
    );
}

#[test]
fn certificates_are_checked_at_the_verifiers_time() {
    // 2019: before the chip's certificates were issued (2020-10-17).
    let early = GpuTrust::nvidia(Some(1_546_300_800));
    let err = verify_gpu_evidence(&report(), CHAIN_PEM.as_bytes(), &nonce(), &early).unwrap_err();
    assert!(matches!(err, GpuError::Certificate { .. }), "{err}");
}

#[test]
fn trailing_and_truncated_reports_are_parse_errors() {
    let good = report();
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        Report::parse(&long).unwrap_err(),
        GpuError::TrailingBytes { count: 1 }
    );
    for cut in [0, 1, 36, 37, 45, 1000, good.len() - 1] {
        let err = Report::parse(&good[..cut]).unwrap_err();
        assert!(
            matches!(err, GpuError::Truncated { .. } | GpuError::Invalid { .. }),
            "cut {cut}: {err}"
        );
    }
}

#[test]
fn requests_that_do_not_ask_for_everything_signed_are_refused() {
    let good = report();
    for (pos, value) in [(0, 0x12u8), (1, 0xE1), (2, 0x00), (3, 0x01), (36, 0x08)] {
        let mut bad = good.clone();
        bad[pos] = value;
        assert!(
            matches!(Report::parse(&bad).unwrap_err(), GpuError::Invalid { .. }),
            "byte {pos} = {value:#x}"
        );
    }
}

#[test]
fn opaque_fields_are_strict() {
    let r = Report::parse(&report()).unwrap();
    let o = OpaqueData::parse(&r.response.opaque).unwrap();
    assert_eq!(o.fields.len(), 14);
    // a field twice
    let mut twice = r.response.opaque.clone();
    twice.extend_from_slice(&[3, 0, 2, 0, b'1', 0]);
    assert!(OpaqueData::parse(&twice).is_err());
    // a field that runs past the end
    let mut past = r.response.opaque.clone();
    past.extend_from_slice(&[99, 0, 9, 0, 1]);
    assert!(matches!(
        OpaqueData::parse(&past).unwrap_err(),
        GpuError::Truncated { .. }
    ));
    // a short FWID
    assert!(OpaqueData::parse(&[20, 0, 2, 0, 1, 2]).is_err());
    // garbage after a string's NUL
    assert!(OpaqueData::parse(&[3, 0, 3, 0, b'5', 0, b'x']).is_err());
}

#[test]
fn golden_measurements_are_judged_by_index() {
    let v = verify_gpu_evidence(&report(), CHAIN_PEM.as_bytes(), &nonce(), &trust()).unwrap();
    let mut golden = GoldenMeasurements::new();
    golden.insert(2, vec![vec![0u8; 48], v.measurements[1].value.clone()]);
    golden.insert(3, vec![v.measurements[2].value.clone()]);
    assert_eq!(judge_measurements(&golden, &v.measurements).unwrap(), 2);

    golden.insert(3, vec![vec![0u8; 48]]);
    assert!(matches!(
        judge_measurements(&golden, &v.measurements).unwrap_err(),
        GpuError::Measurement { index: 3, .. }
    ));
    let mut absent = GoldenMeasurements::new();
    absent.insert(200, vec![vec![0u8; 48]]);
    assert!(matches!(
        judge_measurements(&absent, &v.measurements).unwrap_err(),
        GpuError::Measurement { index: 200, .. }
    ));
}

#[test]
fn the_encoders_rebuild_the_sample_byte_for_byte() {
    let good = report();
    let r = Report::parse(&good).unwrap();
    let nonce: [u8; 32] = r.request.nonce.clone().try_into().unwrap();
    let mut rebuilt = gpu::spdm::encode_request(&nonce, r.request.slot);
    let opaque = OpaqueData::parse(&r.response.opaque).unwrap();
    rebuilt.extend(
        gpu::spdm::encode_response_unsigned(
            r.request.slot,
            &r.response.blocks,
            &r.response.nonce.clone().try_into().unwrap(),
            &opaque.to_bytes().unwrap(),
        )
        .unwrap(),
    );
    rebuilt.extend_from_slice(&r.response.signature);
    assert_eq!(rebuilt, good);
}
