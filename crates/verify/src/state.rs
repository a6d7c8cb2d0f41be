//! Freshness state: the last TPM clock seen from each AK, kept in a small JSON file written atomically.
//!
//! ```json
//! {"version":1,"aks":{"<hex AK name>":{"reset_count":3,"restart_count":0,"clock_ms":123456,"seen_unix":1780000000}}}
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Largest state file read.
const MAX_STATE_BYTES: u64 = 1 << 24;

/// Errors of the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Read or write failed.
    #[error("freshness state {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a state file.
    #[error("freshness state {path}: malformed: {why}")]
    Malformed {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
}

/// What was last seen from one AK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkSeen {
    /// TPM reset count of the last accepted quote.
    pub reset_count: u32,
    /// TPM restart count of the last accepted quote.
    pub restart_count: u32,
    /// TPM clock (ms) of the last accepted quote.
    pub clock_ms: u64,
    /// Wall time (Unix seconds) at which it was accepted.
    pub seen_unix: u64,
}

/// The freshness state of a verifier.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshnessState {
    /// Format version (1).
    pub version: u32,
    /// Last seen per AK (key: hex of the AK's TPM Name).
    pub aks: BTreeMap<String, AkSeen>,
}

/// How a new quote's clock relates to the last one seen from the same AK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockRelation {
    /// Nothing seen from this AK before.
    First,
    /// Same reset and restart counts and a strictly later clock.
    Later,
    /// The TPM was reset or restarted since (counts went up).
    Rebooted,
}

impl FreshnessState {
    /// An empty state.
    pub fn new() -> Self {
        FreshnessState {
            version: 1,
            aks: BTreeMap::new(),
        }
    }

    /// Load the state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        use std::io::Read;
        let p = path.display().to_string();
        let f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(source) => return Err(StateError::Io { path: p, source }),
        };
        let mut buf = Vec::new();
        f.take(MAX_STATE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|source| StateError::Io {
                path: p.clone(),
                source,
            })?;
        if buf.len() as u64 > MAX_STATE_BYTES {
            return Err(StateError::Malformed {
                path: p,
                why: "file too large".into(),
            });
        }
        let s: FreshnessState =
            serde_json::from_slice(&buf).map_err(|e| StateError::Malformed {
                path: p.clone(),
                why: e.to_string(),
            })?;
        if s.version != 1 {
            return Err(StateError::Malformed {
                path: p,
                why: format!("version {} (expected 1)", s.version),
            });
        }
        Ok(s)
    }

    /// Write the state file atomically (temp file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| StateError::Malformed {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        cuproof_core::fsutil::write_atomic(path, &bytes).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Judge a quote's clock against the last one seen from `ak` (hex Name). Err says why it is stale or
    /// rolled back. When `max_ahead_s` is given, the TPM clock may not advance more than the wall time since the
    /// last acceptance plus `max_ahead_s` (the largest age a receipt may have had when it was accepted plus the
    /// tolerated skew): a TPM clock running faster than time is a manipulated or foreign clock.
    pub fn judge(
        &self,
        ak: &str,
        reset_count: u32,
        restart_count: u32,
        clock_ms: u64,
        now_unix: u64,
        max_ahead_s: Option<u64>,
    ) -> Result<ClockRelation, String> {
        let Some(last) = self.aks.get(ak) else {
            return Ok(ClockRelation::First);
        };
        if reset_count < last.reset_count {
            return Err(format!(
                "resetCount went back from {} to {reset_count}",
                last.reset_count
            ));
        }
        if reset_count > last.reset_count {
            return Ok(ClockRelation::Rebooted);
        }
        if restart_count < last.restart_count {
            return Err(format!(
                "restartCount went back from {} to {restart_count}",
                last.restart_count
            ));
        }
        if restart_count > last.restart_count {
            // A restart (resume) keeps the clock running: it must not go back.
            if clock_ms < last.clock_ms {
                return Err(format!(
                    "clock went back from {} ms to {clock_ms} ms across a restart",
                    last.clock_ms
                ));
            }
            return Ok(ClockRelation::Rebooted);
        }
        if clock_ms <= last.clock_ms {
            return Err(format!(
                "clock {clock_ms} ms is not after the last quote seen from this AK ({} ms): replay or rollback",
                last.clock_ms
            ));
        }
        if let Some(ahead) = max_ahead_s {
            let tpm_advance_ms = clock_ms - last.clock_ms;
            let wall_advance_ms = now_unix.saturating_sub(last.seen_unix).saturating_mul(1000);
            let bound = wall_advance_ms.saturating_add(ahead.saturating_mul(1000));
            if tpm_advance_ms > bound {
                return Err(format!(
                    "TPM clock advanced {tpm_advance_ms} ms while wall time advanced {wall_advance_ms} ms (+{ahead} s allowed)"
                ));
            }
        }
        Ok(ClockRelation::Later)
    }

    /// Record an accepted quote.
    pub fn record(
        &mut self,
        ak: &str,
        reset_count: u32,
        restart_count: u32,
        clock_ms: u64,
        now_unix: u64,
    ) {
        if self.version == 0 {
            self.version = 1;
        }
        self.aks.insert(
            ak.to_string(),
            AkSeen {
                reset_count,
                restart_count,
                clock_ms,
                seen_unix: now_unix,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_rules() {
        let mut s = FreshnessState::new();
        let b = Some(5);
        assert_eq!(s.judge("a", 1, 0, 100, 10, b), Ok(ClockRelation::First));
        s.record("a", 1, 0, 100, 10);
        assert!(s.judge("a", 1, 0, 100, 10, b).is_err(), "replay");
        assert!(s.judge("a", 1, 0, 99, 10, b).is_err(), "rollback");
        assert!(
            s.judge("a", 0, 9, 1_000, 10, b).is_err(),
            "reset count back"
        );
        assert!(s.judge("a", 1, 0, 16_100, 20, b).is_err(), "clock too fast");
        assert_eq!(
            s.judge("a", 1, 0, 16_100, 20, None),
            Ok(ClockRelation::Later),
            "no bound without a maximum age"
        );
        assert_eq!(s.judge("a", 1, 0, 14_100, 20, b), Ok(ClockRelation::Later));
        assert_eq!(s.judge("a", 2, 0, 1, 20, b), Ok(ClockRelation::Rebooted));
        assert_eq!(s.judge("a", 1, 1, 200, 20, b), Ok(ClockRelation::Rebooted));
        assert!(s.judge("a", 1, 1, 50, 20, b).is_err());
    }

    #[test]
    fn file_roundtrip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        assert_eq!(FreshnessState::load(&p).unwrap(), FreshnessState::new());
        let mut s = FreshnessState::new();
        s.record("ab", 1, 2, 3, 4);
        s.save(&p).unwrap();
        assert_eq!(FreshnessState::load(&p).unwrap(), s);
        std::fs::write(&p, b"{\"version\":1,\"aks\":{},\"x\":1}").unwrap();
        assert!(FreshnessState::load(&p).is_err());
    }
}
