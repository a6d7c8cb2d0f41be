//! The structured result of a verification: every check with its outcome and reason, a table and JSON.

use serde::Serialize;
use std::fmt::Write as _;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The check ran and passed.
    Pass,
    /// The check ran and failed: the receipt is invalid.
    Fail,
    /// The policy does not ask for this check.
    SkippedByPolicy,
    /// The check could not run because an earlier check failed (the receipt is already invalid).
    NotReached,
}

impl Outcome {
    /// One-character mark for the table.
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::SkippedByPolicy => "–",
            Outcome::NotReached => "·",
        }
    }
}

/// One named check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable dotted name (`quote.signature`, `log.modules`, …).
    pub name: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Why (what was compared, or what failed).
    pub reason: String,
}

/// The verdict on a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// True when no check failed and the checks the policy requires all ran.
    pub valid: bool,
    /// Name of the policy applied.
    pub policy: String,
    /// Statement digest (hex), when the receipt decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_digest: Option<String>,
    /// Every check in the order it ran.
    pub checks: Vec<Check>,
}

impl Verdict {
    pub(crate) fn new(policy: &str) -> Self {
        Verdict {
            valid: false,
            policy: policy.to_string(),
            statement_digest: None,
            checks: Vec::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        name: impl Into<String>,
        outcome: Outcome,
        reason: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            outcome,
            reason: reason.into(),
        });
    }

    pub(crate) fn pass(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.push(name, Outcome::Pass, reason);
    }

    pub(crate) fn fail(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.push(name, Outcome::Fail, reason);
    }

    pub(crate) fn skip(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.push(name, Outcome::SkippedByPolicy, reason);
    }

    pub(crate) fn not_reached(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.push(name, Outcome::NotReached, reason);
    }

    /// Record `Ok(reason)` as pass, `Err(reason)` as fail; returns whether it passed.
    pub(crate) fn record(&mut self, name: &str, r: Result<String, String>) -> bool {
        match r {
            Ok(why) => {
                self.pass(name, why);
                true
            }
            Err(why) => {
                self.fail(name, why);
                false
            }
        }
    }

    pub(crate) fn finish(&mut self) {
        self.valid = !self.checks.is_empty()
            && self
                .checks
                .iter()
                .all(|c| matches!(c.outcome, Outcome::Pass | Outcome::SkippedByPolicy));
    }

    /// Whether any check failed.
    pub fn any_failed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Fail)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }

    /// The check with this name, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// A readable table: one line per check (`✓`/`✗`/`–` skipped by policy/`·` not reached), then the result.
    pub fn render_table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let mut out = String::new();
        let _ = writeln!(out, "policy: {}", self.policy);
        if let Some(d) = &self.statement_digest {
            let _ = writeln!(out, "statement: {d}");
        }
        for c in &self.checks {
            let reason: String = c
                .reason
                .chars()
                .map(|ch| if ch.is_control() { ' ' } else { ch })
                .collect();
            let _ = writeln!(out, "{} {:<width$}  {}", c.outcome.mark(), c.name, reason);
        }
        let _ = writeln!(
            out,
            "{}",
            if self.valid {
                "RESULT: VALID"
            } else {
                "RESULT: INVALID"
            }
        );
        out
    }

    /// JSON rendering (`serde`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_only_without_failures() {
        let mut v = Verdict::new("p");
        v.finish();
        assert!(!v.valid, "an empty verdict is not valid");
        v.pass("a", "ok");
        v.skip("b", "not asked");
        v.finish();
        assert!(v.valid);
        v.fail("c", "bad\nline");
        v.finish();
        assert!(!v.valid);
        let t = v.render_table();
        assert!(t.contains("✗ c"));
        assert!(t.contains("bad line"));
        assert!(t.ends_with("RESULT: INVALID\n"));
        assert_eq!(v.to_json()["checks"][2]["outcome"], "fail");
        let mut n = Verdict::new("p");
        n.pass("a", "ok");
        n.not_reached("b", "earlier failure");
        n.finish();
        assert!(!n.valid);
    }
}
