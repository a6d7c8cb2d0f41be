//! GPU attestation evidence (`cuproof_attest::gpu`): the SPDM report parser (+ canonical re-encoding), the
//! opaque-data parser (+ re-encoding), the device-chain parser, and the whole check of a mutated report against
//! NVIDIA's sample chain, which must accept nothing but the sample itself. The first byte picks.
#![no_main]
use cuproof_attest::gpu::spdm::{encode_request, encode_response_unsigned, Report};
use cuproof_attest::gpu::{verify_gpu_evidence, DeviceChain, GpuTrust, OpaqueData};
use libfuzzer_sys::fuzz_target;

const CHAIN: &str = include_str!("../../crates/attest/tests/data/nvidia/h100-cert-chain.pem");
const SAMPLE: &str = include_str!("../../crates/attest/tests/data/nvidia/h100-report.hex");

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(r) = Report::parse(rest) {
                let nonce: [u8; 32] = r.request.nonce.clone().try_into().unwrap();
                let rn: [u8; 32] = r.response.nonce.clone().try_into().unwrap();
                let mut again = encode_request(&nonce, r.request.slot);
                again.extend(
                    encode_response_unsigned(r.request.slot, &r.response.blocks, &rn, &r.response.opaque)
                        .expect("a parsed response re-encodes"),
                );
                again.extend_from_slice(&r.response.signature);
                assert_eq!(again, rest, "report parsing is not canonical");
            }
        }
        1 => {
            if let Ok(o) = OpaqueData::parse(rest) {
                assert_eq!(o.to_bytes().unwrap(), rest, "opaque parsing is not canonical");
                let _ = (o.driver_version(), o.vbios_version(), o.project(), o.fwid());
            }
        }
        2 => {
            if let Ok(c) = DeviceChain::parse(rest) {
                let _ = c.fwid();
                let _ = c.device_serial();
                let _ = c.attestation_key();
                let _ = c.verify(&GpuTrust::nvidia(None).roots, Some(1_800_000_000));
            }
        }
        _ => {
            let sample = hex::decode(SAMPLE.trim()).unwrap();
            let nonce: [u8; 32] = sample[4..36].try_into().unwrap();
            let ok = verify_gpu_evidence(rest, CHAIN.as_bytes(), &nonce, &GpuTrust::nvidia(None));
            assert!(ok.is_err() || rest == sample.as_slice(), "a forged report verified");
        }
    }
});
