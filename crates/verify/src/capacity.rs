//! A policy file applied to the capacity challenge (`cuproof-capacity`, `docs/capacity.md`): the capacity
//! verifier's [`cuproof_capacity::Policy`] built from `[capacity]`, `[gpu]` and `[signatures]`, and a
//! [`PolicyStack`] judge that holds a capacity transcript's software stack to the same `[pcrs]`, `[boot]` and
//! `[ima]` tables as a receipt, with the same functions.

use crate::policy::{Policy, PolicyError};
use crate::verdict::{Outcome, Verdict};
use cuproof_attest::enroll::NodeRecord;
use cuproof_capacity::stack::{StackCheck, StackJudge, StackOutcome};
use cuproof_capacity::MeasurementLogs;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Judges the stack a capacity transcript's Q2 quoted by a policy's `[pcrs]`, `[boot]` and `[ima]` tables: the
/// checks `pcrs.boot`, `boot.*` and `ima.*` of a receipt (`docs/verify.md`), on Q2's PCR values and the logs the
/// node sent.
#[derive(Debug, Clone)]
pub struct PolicyStack {
    policy: Arc<Policy>,
}

impl PolicyStack {
    /// A judge applying `policy`.
    pub fn new(policy: Arc<Policy>) -> Self {
        PolicyStack { policy }
    }
}

impl StackJudge for PolicyStack {
    fn pcrs(&self) -> Vec<u8> {
        self.policy.required_selection()
    }

    fn judge(&self, quoted: &BTreeMap<u8, Vec<u8>>, logs: &MeasurementLogs) -> Vec<StackCheck> {
        let mut v = Verdict::new(&self.policy.name);
        crate::check_stack(&self.policy, quoted, &logs.boot, &logs.ima, &mut v);
        v.checks
            .into_iter()
            .map(|c| StackCheck {
                name: c.name,
                outcome: match c.outcome {
                    Outcome::Pass => StackOutcome::Pass,
                    Outcome::Fail => StackOutcome::Fail,
                    Outcome::SkippedByPolicy => StackOutcome::SkippedByPolicy,
                    Outcome::NotReached => StackOutcome::NotReached,
                },
                detail: c.reason,
            })
            .collect()
    }
}

/// The capacity verifier's policy from a policy file: the class table with the `[capacity.measured.*]`
/// measurements applied, the claim rules of `[capacity]`, the GPUs of `[gpu]` and `[gpu_attestation]`, the
/// signature allow-list, the job
/// PCR, and a [`PolicyStack`] judge (so the challenge asks for the boot and IMA PCRs the file judges); with a
/// node record, its AK pinned and its TPM's kind known. The wall-clock allowance is `[capacity]
/// wall_clock_allowance_ms`, for an interactive verifier; one that judges a transcript from files (the CLI) has
/// no elapsed time of its own and clears it.
pub fn capacity_policy(
    policy: &Policy,
    record: Option<&NodeRecord>,
) -> Result<cuproof_capacity::Policy, PolicyError> {
    let c = &policy.capacity;
    let bad = |key: String, e: cuproof_capacity::CapacityError| PolicyError::Invalid {
        key,
        why: e.to_string(),
    };
    let mut classes = cuproof_capacity::builtin_classes();
    for m in &c.measured {
        let key = format!("capacity.measured.{}", m.class);
        let base = cuproof_capacity::class::find(&classes, &m.class)
            .map_err(|e| bad(key.clone(), e))?
            .clone();
        let spec = base
            .with_measurement(m.measured_ms, m.tensor_ms, &m.on, &classes)
            .map_err(|e| bad(key, e))?;
        if let Some(slot) = classes.iter_mut().find(|x| x.name == spec.name) {
            *slot = spec;
        }
    }
    if let Some(rc) = &c.require_class {
        cuproof_capacity::class::find(&classes, rc)
            .map_err(|e| bad("capacity.require_class".into(), e))?;
    }
    let job_pcr = u8::try_from(policy.job_pcr)
        .ok()
        .filter(|&p| p <= cuproof_capacity::wire::MAX_PCR_INDEX)
        .ok_or_else(|| PolicyError::Invalid {
            key: "pcrs.job".into(),
            why: format!("PCR {} is not a PCR a quote can select", policy.job_pcr),
        })?;
    let mut p = cuproof_capacity::Policy {
        pcrs: vec![job_pcr],
        stack: Some(Arc::new(PolicyStack::new(Arc::new(policy.clone())))),
        signature_policy: policy.signature_policy(),
        require_class: c.require_class.clone(),
        min_cards: c.min_cards,
        accept_cpu_class: c.accept_cpu_class,
        accept_unmeasured_bounds: c.accept_unmeasured_bounds,
        require_hardware_tpm: c.require_hardware_tpm,
        require_safe_clock: c.require_safe_clock,
        wall_clock_allowance_ms: Some(c.wall_clock_allowance_ms),
        gpu_models: policy.gpu_models.clone(),
        gpu_uuids: policy.gpu_uuids.clone(),
        gpu_attestation: policy.gpu_attestation.clone(),
        ..cuproof_capacity::Policy::new(classes)
    };
    if let Some(r) = record {
        p.pinned_ak_name = Some(r.ak_name.clone());
        p.ak_tpm_kind = Some(r.tpm_kind);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &str) -> Result<Policy, PolicyError> {
        let dev = include_str!("../policies/development.toml");
        Policy::from_toml_str(&format!("{dev}{extra}"), std::path::Path::new("."))
    }

    #[test]
    fn a_policy_file_makes_the_capacity_policy() {
        let file = policy("wall_clock_allowance_ms = 2500\nmin_cards = 2\n").unwrap();
        let p = capacity_policy(&file, None).unwrap();
        assert_eq!(p.wall_clock_allowance_ms, Some(2500));
        assert_eq!(p.min_cards, 2);
        assert!(p.accept_cpu_class && !p.require_hardware_tpm);
        assert_eq!(p.pinned_ak_name, None);
        // no [boot] or [ima] table: the job PCR alone, and the stack judge reports every table absent
        assert_eq!(p.quoted_pcrs(), vec![23]);
        let checks = p
            .stack
            .as_ref()
            .unwrap()
            .judge(&BTreeMap::new(), &MeasurementLogs::default());
        assert!(cuproof_capacity::stack::accepted(&checks));
        assert!(checks
            .iter()
            .all(|c| c.outcome == StackOutcome::SkippedByPolicy));
        // the default allowance, and one past the limit
        let p = capacity_policy(&policy("").unwrap(), None).unwrap();
        assert_eq!(p.wall_clock_allowance_ms, Some(5_000));
        let e = policy("wall_clock_allowance_ms = 60001\n").unwrap_err();
        assert!(
            e.to_string().contains("capacity.wall_clock_allowance_ms"),
            "{e}"
        );
    }

    #[test]
    fn gpu_attestation_table_makes_the_cards_policy() {
        // none: evidence checked where given, against NVIDIA's root
        let p = capacity_policy(&policy("").unwrap(), None).unwrap();
        assert!(!p.gpu_attestation.required && p.gpu_attestation.roots.is_empty());
        let root = include_str!("../../attest/roots/nvidia-device-identity-ca.pem");
        let table = format!(
            "\n[gpu_attestation]\nrequired = true\nroots = [\"\"\"{root}\"\"\"]\ndevices = [\"41431D480FE5E87274\"]\n\
             [gpu_attestation.measurements]\n\"2\" = [\"{}\", \"{}\"]\n",
            "ab".repeat(48),
            "cd".repeat(48)
        );
        let p = capacity_policy(&policy(&table).unwrap(), None).unwrap();
        let g = &p.gpu_attestation;
        assert!(g.required);
        assert_eq!(g.roots.len(), 1);
        assert_eq!(g.devices, ["41431D480FE5E87274"]);
        assert_eq!(g.measurements[&2].len(), 2);
        for (bad, key) in [
            ("[gpu_attestation.measurements]\n\"0\" = [\"ab\"]\n", "measurements.0"),
            ("[gpu_attestation.measurements]\n\"3\" = []\n", "measurements.3"),
            ("[gpu_attestation.measurements]\n\"3\" = [\"xyz\"]\n", "measurements.3"),
            ("[gpu_attestation]\ndevices = [\"a b\"]\n", "devices[0]"),
            ("[gpu_attestation]\nroots = [\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\"]\n", "roots[0]"),
            ("[gpu_attestation]\nrequire = true\n", "require"),
        ] {
            let e = policy(&format!("\n{bad}")).unwrap_err();
            assert!(e.to_string().contains(key), "{bad}: {e}");
        }
    }
}
