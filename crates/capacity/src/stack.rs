//! The node's software stack, as Q2 quoted it: the hook through which a capacity verifier judges it.
//!
//! A capacity transcript by itself says that *some* software on a machine with this AK did the work in time,
//! and which cards it says it used. Which software that was is the receipt verifier's business: the firmware
//! event log replayed against the boot PCRs and judged (Secure Boot, boot loader, kernel, command line), the IMA
//! list replayed against PCR 10 and judged (the NVIDIA driver, the cuproof binary). A verifier that wants the same
//! for a capacity claim sets a [`StackJudge`] in its [`crate::Policy`]: the challenge then asks the node to quote
//! the judge's PCRs too, the node sends the logs that explain Q2's values, and the `stack` check runs the judge on
//! them. `cuproof-verify` implements the judge from a policy file's `[pcrs]`, `[boot]` and `[ima]` tables, with
//! the very functions that judge a receipt.
//!
//! Q2, not Q1, is judged: measurements only accumulate, so Q2's values account for everything measured up to the
//! end of the work (Q1 and Q2 are in one TPM epoch: the `clock-epoch` check).

use crate::wire::MeasurementLogs;
use std::collections::BTreeMap;

/// Outcome of one check of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackOutcome {
    /// Ran and passed.
    Pass,
    /// Ran and failed.
    Fail,
    /// The policy does not ask for it.
    SkippedByPolicy,
    /// Could not run because an earlier check failed.
    NotReached,
}

/// One check of the stack (`pcrs.boot`, `boot.log`, `ima.files`, … as for a receipt: `docs/verify.md`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StackCheck {
    /// The check's name.
    pub name: String,
    /// Its outcome.
    pub outcome: StackOutcome,
    /// What was found.
    pub detail: String,
}

/// Whether `checks` accept the stack: none failed and none was left unreached.
pub fn accepted(checks: &[StackCheck]) -> bool {
    checks.iter().all(|c| {
        matches!(
            c.outcome,
            StackOutcome::Pass | StackOutcome::SkippedByPolicy
        )
    })
}

/// Judges the software stack that a node's Q2 quoted.
pub trait StackJudge: Send + Sync + std::fmt::Debug {
    /// The PCRs of the SHA-256 bank the judge needs quoted (the verifier adds them to the job PCR in the
    /// challenge's selection).
    fn pcrs(&self) -> Vec<u8>;

    /// Judge Q2's verified PCR values (SHA-256 bank: index → value) and the logs the node sent. Every check is
    /// reported; the stack is accepted when [`accepted`] says so.
    fn judge(&self, quoted: &BTreeMap<u8, Vec<u8>>, logs: &MeasurementLogs) -> Vec<StackCheck>;
}
