//! The `gpu-attestation` check: each card's own signed report, over a nonce only this challenge gives
//! ([`crate::workload::card_nonce`]), verified with [`cuproof_attest::gpu`] (`docs/gpu-attestation.md`).
//!
//! What it adds to the `cards` check: the card names and UUIDs there are the driver's word; an attestation report is
//! the chip's, signed by a key NVIDIA certified for that chip. It proves that a genuine NVIDIA chip (its serial
//! number below) with the firmware it measured answered after this challenge was issued; a policy can hold the
//! measurements to golden values and the chips to a list. Two cards that are one chip are caught here.

use crate::wire::CardIdentity;
use crate::workload::card_nonce;
use cuproof_attest::gpu::{judge_measurements, GoldenMeasurements, GpuTrust};
use cuproof_attest::Cert;
use serde::Serialize;

/// What the `gpu-attestation` check asks of the cards' own evidence.
#[derive(Clone, Debug, Default)]
pub struct GpuAttestationPolicy {
    /// Every card named must give evidence that verifies (else evidence is checked where given).
    pub required: bool,
    /// Roots a card's chain must end at; empty: NVIDIA's Device Identity CA
    /// ([`cuproof_attest::gpu::NVIDIA_DEVICE_IDENTITY_CA_PEM`]).
    pub roots: Vec<Cert>,
    /// Unix time certificates are checked at; `None`: the verifier's clock when it judges.
    pub at: Option<u64>,
    /// Golden measurements every attested card must show (index → allowed values).
    pub measurements: GoldenMeasurements,
    /// Allowed chips (their device certificates' subject serial numbers); empty: any.
    pub devices: Vec<String>,
}

impl GpuAttestationPolicy {
    /// The trust in force: the roots (or NVIDIA's) at [`GpuAttestationPolicy::at`] (or the system clock).
    pub fn trust(&self) -> GpuTrust {
        let now = self.at.or_else(cuproof_attest::gpu::unix_now);
        if self.roots.is_empty() {
            GpuTrust::nvidia(now)
        } else {
            GpuTrust {
                roots: self.roots.clone(),
                now,
            }
        }
    }
}

/// A card whose report verified: what the verdict says of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttestedCard {
    /// Position of the card in the commit message.
    pub card: usize,
    /// The chip's serial number (its device certificate's subject serial number).
    pub device_serial: String,
    /// The device certificate's common name (e.g. `GH100 A01 GSP BROM`).
    pub device_name: Option<String>,
    /// Driver version the card reported.
    pub driver_version: Option<String>,
    /// VBIOS version the card reported.
    pub vbios_version: Option<String>,
    /// SHA-256 of the root the chain ends at.
    pub root_sha256: String,
    /// How many measurements the report carries.
    pub measurements: usize,
    /// How many of them the policy held to golden values.
    pub measurements_judged: usize,
}

/// The `gpu-attestation` check over the cards of a commit message answering the challenge with digest
/// `challenge_digest`: (passed, detail, the cards whose evidence verified).
pub fn gpu_attestation_check(
    policy: &GpuAttestationPolicy,
    challenge_digest: &[u8; 32],
    cards: &[CardIdentity],
) -> (bool, String, Vec<AttestedCard>) {
    let trust = policy.trust();
    let mut attested: Vec<AttestedCard> = Vec::new();
    let mut failures = Vec::new();
    let mut missing = Vec::new();
    for (i, card) in cards.iter().enumerate() {
        let Some(evidence) = &card.evidence else {
            missing.push(format!("card {i} ({})", card.name));
            continue;
        };
        let v = match evidence.verify(&card_nonce(challenge_digest, i as u32), &trust) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("card {i}: {e}"));
                continue;
            }
        };
        let judged = match judge_measurements(&policy.measurements, &v.measurements) {
            Ok(n) => n,
            Err(e) => {
                failures.push(format!("card {i} (chip {}): {e}", v.device_serial));
                continue;
            }
        };
        if !policy.devices.is_empty() && !policy.devices.contains(&v.device_serial) {
            failures.push(format!(
                "card {i}: chip {} is not one the policy allows",
                v.device_serial
            ));
            continue;
        }
        if let Some(prev) = attested.iter().find(|a| a.device_serial == v.device_serial) {
            failures.push(format!(
                "cards {} and {i} are one chip (serial {})",
                prev.card, v.device_serial
            ));
            continue;
        }
        attested.push(AttestedCard {
            card: i,
            device_serial: v.device_serial,
            device_name: v.device_name,
            driver_version: v.driver_version,
            vbios_version: v.vbios_version,
            root_sha256: v.root_sha256.iter().map(|b| format!("{b:02x}")).collect(),
            measurements: v.measurements.len(),
            measurements_judged: judged,
        });
    }
    if policy.required && cards.is_empty() {
        failures.push("the policy requires attested cards and none is named".into());
    }
    if policy.required && !missing.is_empty() {
        failures.push(format!(
            "no attestation evidence from {} (the policy requires it)",
            missing.join(", ")
        ));
    }
    if !failures.is_empty() {
        return (false, failures.join("; "), attested);
    }
    let detail = if attested.is_empty() {
        "no card gave attestation evidence (not required by the policy)".to_string()
    } else {
        let list: Vec<String> = attested
            .iter()
            .map(|a| {
                format!(
                    "card {} = chip {}{}{}",
                    a.card,
                    a.device_serial,
                    a.driver_version
                        .as_deref()
                        .map(|d| format!(", driver {d}"))
                        .unwrap_or_default(),
                    if a.measurements_judged > 0 {
                        format!(
                            ", {} of {} measurements golden",
                            a.measurements_judged, a.measurements
                        )
                    } else {
                        format!(", {} measurements not judged", a.measurements)
                    }
                )
            })
            .collect();
        format!(
            "{} of {} card(s) attested by their own reports: {}{}",
            attested.len(),
            cards.len(),
            list.join("; "),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; without evidence: {}", missing.join(", "))
            }
        )
    };
    (true, detail, attested)
}
