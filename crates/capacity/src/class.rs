//! The class table: for each GPU class, its published dense int8 tensor peak, the workload of its challenge, the
//! TPM-clock time bound and the number of sampled rows (`docs/capacity.md` explains every number).
//!
//! Derivation of a GPU class `X` with published dense int8 peak `P_X` (TOPS):
//! * workload: the fixed GPU shape ([`GPU_SHAPE`]) with `iterations = round(η·P_X·1 s / ops_per_iteration)`, i.e.
//!   about one second at efficiency [`DERIVED_EFFICIENCY`] `η`;
//! * nominal time `t_X = ops / (η·P_X)`; bound `= ceil(t_X · (1 + MARGIN))` ms ([`MARGIN`] = 10 %);
//! * class below `Y`: the class with the highest peak `P_Y ≤ P_X / SEPARATION`; classes closer than that are
//!   listed as *same tier* (this challenge cannot tell them apart; e.g. H200 and H100 SXM have the same peak);
//! * a card of class `Y` at the same efficiency needs `t_Y = ops / (η·P_Y) ≥ SEPARATION · t_X > bound`, so within
//!   the bound it can compute at most a fraction `f = bound / t_Y` of the rows; the sample count `s` is the smallest
//!   with `f^s ≤ 2^-TARGET_SOUNDNESS_BITS`, clamped to `MIN_CLASS_SAMPLES..=MAX_CLASS_SAMPLES`.
//!
//! Every GPU bound here is **derived from the published peak; to be replaced by measurement on the card**.

use crate::error::CapacityError;
use crate::workload::{Workload, MAX_SAMPLES};

/// Assumed fraction of the published dense int8 peak that the node's GEMM sustains (derived classes).
pub const DERIVED_EFFICIENCY: f64 = 0.5;
/// Margin of the bound over the nominal (or measured) time, in percent.
pub const MARGIN_PERCENT: u64 = 10;
/// [`MARGIN_PERCENT`] as a fraction.
pub const MARGIN: f64 = MARGIN_PERCENT as f64 / 100.0;
/// Smallest peak ratio between a class and its class below.
pub const SEPARATION: f64 = 1.16;
/// Target: a class-below card passes one challenge with probability at most `2^-TARGET_SOUNDNESS_BITS`.
pub const TARGET_SOUNDNESS_BITS: f64 = 20.0;
/// Fewest sampled rows of a class.
pub const MIN_CLASS_SAMPLES: u32 = 16;
/// Most sampled rows of a class. The verifier checks all of them in one pass over Bᵀ ([`crate::row_check`]), so
/// what the cap bounds is the node's side after the clock stops: it recomputes each opened row (`n·k`
/// multiply-adds, ≈ 13 ms on a 2-core VM at the GPU shape) and sends `4n` bytes of it (32 KiB): at most ≈ 3.3 s
/// and 8 MiB at 256.
pub const MAX_CLASS_SAMPLES: u32 = 256;
/// The GPU classes' shape `(m, n, k)` per iteration: Bᵀ is 128 MiB, `C_t` 512 MiB, `4.4·10^12` ops per iteration.
pub const GPU_SHAPE: (u32, u32, u32) = (16384, 8192, 16384);
/// Most cards one claim may name ([`ClassSpec::for_cards`]; the 10 % margin already stops at ten).
pub const MAX_CARDS: u32 = 64;
/// Target duration of a GPU challenge (ms).
pub const TARGET_MS: f64 = 1000.0;

/// Where a class's bound comes from.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundBasis {
    /// Derived from the published dense int8 peak at [`DERIVED_EFFICIENCY`] with [`MARGIN`].
    DerivedFromPeak,
    /// Measured on a card of the class (the measured time and the card).
    Measured {
        /// Measured duration of the workload (ms, TPM clock).
        measured_ms: u64,
        /// The part of it spent in the GEMMs (ms), the only part scaled by the tensor peaks for the class below.
        tensor_ms: u64,
        /// The card and setup it was measured on.
        on: String,
    },
    /// The CPU backend's own class: a small workload with a generous bound.
    Cpu,
    /// Set by hand (tests, experiments).
    Custom,
}

/// One class of the table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassSpec {
    /// Class name as claimed in a challenge (`h100-sxm`, `cpu`, …).
    pub name: String,
    /// The cards of the class.
    pub cards: String,
    /// Published dense (no sparsity) int8 tensor peak, TOPS; `None` for the CPU and custom classes.
    pub peak_tops: Option<f64>,
    /// Number of cards the claim is for: 1 in the class table; `N` for the claim "N cards of the class" made by
    /// [`ClassSpec::for_cards`] (the workload is then `N` times the class's, under the same bound).
    pub card_count: u32,
    /// The workload of the class's challenge (for all [`ClassSpec::card_count`] cards together).
    pub workload: Workload,
    /// Largest accepted `t2 − t1` (TPM clock, ms).
    pub bound_ms: u64,
    /// Rows sampled per challenge.
    pub samples: u32,
    /// Where the bound comes from.
    pub basis: BoundBasis,
    /// The class a card of this class is separated from (the next lower rung).
    pub class_below: Option<String>,
    /// Classes this challenge cannot tell apart from this one (peaks within [`SEPARATION`]).
    pub same_tier: Vec<String>,
    /// `−log2` of the probability that a class-below card at the assumed efficiency passes one challenge
    /// (computing only the fraction of rows that fits in the bound); `None` where there is no class below.
    pub soundness_bits: Option<f64>,
    /// Remarks.
    pub note: String,
}

impl ClassSpec {
    /// A hand-made class (tests, experiments): no peak, no class below.
    pub fn custom(
        name: &str,
        workload: Workload,
        bound_ms: u64,
        samples: u32,
    ) -> Result<Self, CapacityError> {
        let c = ClassSpec {
            name: name.to_string(),
            cards: "custom".to_string(),
            peak_tops: None,
            card_count: 1,
            workload,
            bound_ms,
            samples,
            basis: BoundBasis::Custom,
            class_below: None,
            same_tier: Vec::new(),
            soundness_bits: None,
            note: String::new(),
        };
        c.validate()?;
        Ok(c)
    }

    /// Checks the name (1..=64 bytes of `[a-z0-9-]`), the workload and the sample count.
    pub fn validate(&self) -> Result<(), CapacityError> {
        let err = |why: String| CapacityError::Class {
            name: self.name.clone(),
            why,
        };
        if !valid_class_name(&self.name) {
            return Err(err("name must be 1..=64 bytes of [a-z0-9-]".into()));
        }
        self.workload.validate().map_err(|e| err(e.to_string()))?;
        if self.samples == 0
            || self.samples > MAX_SAMPLES
            || self.samples as u64 > self.workload.total_rows()
        {
            return Err(err(format!(
                "samples = {} must be in 1..={MAX_SAMPLES} and at most the {} rows",
                self.samples,
                self.workload.total_rows()
            )));
        }
        if self.bound_ms == 0 {
            return Err(err("bound must be positive".into()));
        }
        if self.card_count == 0 || self.card_count > MAX_CARDS {
            return Err(err(format!(
                "card count {} must be in 1..={MAX_CARDS}",
                self.card_count
            )));
        }
        Ok(())
    }

    /// The time one card of the class needs for the class's single-card workload (ms): the measurement where there
    /// is one, else the nominal time at [`DERIVED_EFFICIENCY`] from the published peak, else (CPU and custom
    /// classes) the bound less the [`MARGIN`].
    pub fn nominal_ms(&self) -> f64 {
        let per_card = |w: &Workload| Workload {
            iterations: (w.iterations / self.card_count.max(1)).max(1),
            ..*w
        };
        match (&self.basis, self.peak_tops) {
            (BoundBasis::Measured { measured_ms, .. }, _) => *measured_ms as f64,
            (BoundBasis::DerivedFromPeak, Some(p)) => {
                per_card(&self.workload).ops() / (DERIVED_EFFICIENCY * p * 1e12) * 1000.0
            }
            _ => self.bound_ms as f64 / (1.0 + MARGIN),
        }
    }

    /// The claim "`cards` cards of this class" (`docs/capacity.md`, *Several cards*): `cards` times the class's
    /// iterations under the **same** bound, so the cards must work side by side; the node may split the
    /// iterations among its cards as it likes. Besides the class below (each card slower: the fraction of rows done
    /// in time is the single card's), the claim must exclude one card missing: `cards − 1` cards of the class finish
    /// a fraction `f = (cards − 1)/cards · bound / nominal` of the rows, and the sample count becomes the smallest
    /// with `f^s ≤ 2^-TARGET_SOUNDNESS_BITS` when that is more than the class's (capped at [`MAX_SAMPLES`], not
    /// [`MAX_CLASS_SAMPLES`]: the node opens them after the clock stops). `soundness_bits` becomes the weaker of the
    /// two. `cards = 1` is the class itself. Fails when `f ≥ 1` (with a 10 % margin, eleven cards cannot be told
    /// from ten), when the samples needed exceed [`MAX_SAMPLES`] or the rows, or when the iterations overflow.
    pub fn for_cards(&self, cards: u32) -> Result<Self, CapacityError> {
        let err = |why: String| CapacityError::Class {
            name: self.name.clone(),
            why,
        };
        if self.card_count != 1 {
            return Err(err(format!(
                "already a claim for {} cards",
                self.card_count
            )));
        }
        if cards == 0 || cards > MAX_CARDS {
            return Err(err(format!("{cards} cards: must be in 1..={MAX_CARDS}")));
        }
        if cards == 1 {
            return Ok(self.clone());
        }
        let iterations = self
            .workload
            .iterations
            .checked_mul(cards)
            .filter(|&i| i <= crate::workload::MAX_ITERATIONS)
            .ok_or_else(|| {
                err(format!(
                    "{cards} × {} iterations exceed {}",
                    self.workload.iterations,
                    crate::workload::MAX_ITERATIONS
                ))
            })?;
        let ratio = self.bound_ms as f64 / self.nominal_ms();
        let f = (cards - 1) as f64 / cards as f64 * ratio;
        if f >= 1.0 {
            return Err(err(format!(
                "{cards} cards cannot be told from {}: {} of them finish {:.1} % of the work within the bound ({:.1} % over the nominal time); a smaller margin, from a measured spread, is needed",
                cards - 1,
                cards - 1,
                f * 100.0,
                (ratio - 1.0) * 100.0
            )));
        }
        let per_missing = -f.log2();
        let s_missing = (TARGET_SOUNDNESS_BITS / per_missing).ceil() as u64;
        let samples = (self.samples as u64).max(s_missing);
        let total_rows = self.workload.m as u64 * iterations as u64;
        if samples > MAX_SAMPLES as u64 || samples > total_rows {
            return Err(err(format!(
                "{cards} cards need {samples} samples to tell them from {}: more than {} allowed",
                cards - 1,
                (MAX_SAMPLES as u64).min(total_rows)
            )));
        }
        let samples = samples as u32;
        let missing_bits = per_missing * samples as f64;
        let below_bits = self
            .soundness_bits
            .map(|b| b / self.samples as f64 * samples as f64);
        let mut c = self.clone();
        c.card_count = cards;
        c.workload.iterations = iterations;
        c.samples = samples;
        c.soundness_bits = Some(below_bits.map_or(missing_bits, |b| b.min(missing_bits)));
        c.note = format!(
            "{cards} cards side by side: one missing caught at {missing_bits:.1} bits{}",
            below_bits.map_or(String::new(), |b| format!(
                ", the class below at {b:.1} bits"
            ))
        );
        c.validate()?;
        Ok(c)
    }

    /// This class with its bound replaced by a measurement on a card of the class: `measured_ms` is the TPM-clock
    /// `t2 − t1` of an honest run of this class's workload on `on` (card, driver, GEMM implementation — use the
    /// fastest one), and `tensor_ms ≤ measured_ms` the part of it spent in the GEMMs (the device check's phase
    /// breakdown). The bound becomes `ceil(measured·(1 + MARGIN))`. The class below's time is estimated as
    /// `tensor · P_X / P_Y + (measured − tensor)`: the GEMMs scale with the tensor peaks (same efficiency), and the
    /// rest of the work — the seeded fill and the commitments, which run on the integer ALUs — is assumed to be no
    /// slower on the class below (the assumption that favours a cheating card). The sample count is recomputed.
    /// Fails when the class has no published peak, when `tensor_ms` is zero or exceeds `measured_ms`, or when the
    /// estimated class-below time does not exceed the new bound.
    pub fn with_measurement(
        mut self,
        measured_ms: u64,
        tensor_ms: u64,
        on: &str,
        table: &[ClassSpec],
    ) -> Result<Self, CapacityError> {
        let err = |why: String| CapacityError::Class {
            name: self.name.clone(),
            why,
        };
        let peak = self
            .peak_tops
            .ok_or_else(|| err("no published peak to scale from".into()))?;
        if measured_ms == 0 || tensor_ms == 0 || tensor_ms > measured_ms {
            return Err(err(format!(
                "measured {measured_ms} ms with {tensor_ms} ms of GEMM: both must be positive, the GEMM part at most \
                 the whole"
            )));
        }
        let bound_ms = measured_ms
            .checked_mul(100 + MARGIN_PERCENT)
            .map(|x| x.div_ceil(100))
            .ok_or_else(|| err("measured time too large".into()))?;
        if let Some(b) = &self.class_below {
            let pb = find(table, b)?
                .peak_tops
                .ok_or_else(|| err(format!("class below {b} has no peak")))?;
            let t_below = tensor_ms as f64 * peak / pb + (measured_ms - tensor_ms) as f64;
            if t_below <= bound_ms as f64 {
                return Err(err(format!(
                    "measured {measured_ms} ms: class below {b} would need {t_below:.0} ms, within the bound {bound_ms} ms"
                )));
            }
            let (s, bits) = samples_for(bound_ms, t_below);
            self.samples = s;
            self.soundness_bits = Some(bits);
        }
        self.bound_ms = bound_ms;
        self.basis = BoundBasis::Measured {
            measured_ms,
            tensor_ms,
            on: on.to_string(),
        };
        self.note = format!("measured on {on}");
        self.validate()?;
        Ok(self)
    }

    /// Nominal time of this class's workload on a card with dense int8 peak `peak_tops` at efficiency `eff` (ms).
    pub fn time_on(&self, peak_tops: f64, eff: f64) -> f64 {
        self.workload.ops() / (eff * peak_tops * 1e12) * 1000.0
    }
}

/// Whether `name` is a valid class name: 1..=64 bytes of `[a-z0-9-]`.
pub fn valid_class_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Published dense int8 tensor peaks (TOPS, without sparsity), highest first: `(class, cards, peak)`.
pub const PUBLISHED_PEAKS: &[(&str, &str, f64)] = &[
    ("b200", "NVIDIA B200 (HGX, per GPU)", 4500.0),
    ("h200", "NVIDIA H200 SXM", 1979.0),
    ("h100-sxm", "NVIDIA H100 SXM5", 1979.0),
    ("h100-nvl", "NVIDIA H100 NVL", 1671.0),
    ("h100-pcie", "NVIDIA H100 PCIe", 1513.0),
    ("l40s", "NVIDIA L40S", 733.0),
    ("rtx-4090", "NVIDIA GeForce RTX 4090", 660.6),
    ("a100", "NVIDIA A100 (SXM4 / PCIe, 40 / 80 GB)", 624.0),
    ("rtx-3090", "NVIDIA GeForce RTX 3090", 284.0),
    ("a10", "NVIDIA A10", 250.0),
    ("l4", "NVIDIA L4", 242.5),
    ("t4", "NVIDIA T4", 130.0),
];

/// The CPU class's workload: small enough for the CPU backend in a test.
pub const CPU_WORKLOAD: Workload = Workload {
    m: 128,
    n: 64,
    k: 512,
    iterations: 4,
};
/// The CPU class's bound (ms): generous, it only says "answered a small workload".
pub const CPU_BOUND_MS: u64 = 60_000;
/// The CPU class's sample count.
pub const CPU_SAMPLES: u32 = 16;

/// Samples and achieved soundness bits for a bound against a class-below time `t_below_ms`: within the bound the
/// class-below card finishes a fraction `f = bound / t_below` of the rows; `s` is the smallest with
/// `f^s ≤ 2^-TARGET_SOUNDNESS_BITS`, clamped.
fn samples_for(bound_ms: u64, t_below_ms: f64) -> (u32, f64) {
    let f = (bound_ms as f64 / t_below_ms).min(1.0);
    let per = -f.log2();
    let s = if per > 0.0 {
        (TARGET_SOUNDNESS_BITS / per)
            .ceil()
            .min(MAX_CLASS_SAMPLES as f64) as u32
    } else {
        MAX_CLASS_SAMPLES
    };
    let s = s.clamp(MIN_CLASS_SAMPLES, MAX_CLASS_SAMPLES);
    (s, per * s as f64)
}

fn derive_gpu_class(name: &str, cards: &str, peak: f64) -> ClassSpec {
    let (m, n, k) = GPU_SHAPE;
    let per_iter = 2.0 * m as f64 * n as f64 * k as f64;
    let iterations = ((DERIVED_EFFICIENCY * peak * 1e12 * TARGET_MS / 1000.0) / per_iter)
        .round()
        .clamp(1.0, crate::workload::MAX_ITERATIONS as f64) as u32;
    let workload = Workload {
        m,
        n,
        k,
        iterations,
    };
    let nominal = workload.ops() / (DERIVED_EFFICIENCY * peak * 1e12) * 1000.0;
    let bound_ms = (nominal * (1.0 + MARGIN)).ceil() as u64;
    let below = PUBLISHED_PEAKS
        .iter()
        .find(|(_, _, p)| p * SEPARATION <= peak)
        .map(|(nm, _, p)| (nm.to_string(), *p));
    let same_tier = PUBLISHED_PEAKS
        .iter()
        .filter(|(nm, _, p)| *nm != name && p * SEPARATION > peak && peak * SEPARATION > *p)
        .map(|(nm, _, _)| nm.to_string())
        .collect();
    let (samples, soundness_bits) = match &below {
        Some((_, pb)) => {
            let (s, bits) = samples_for(
                bound_ms,
                workload.ops() / (DERIVED_EFFICIENCY * pb * 1e12) * 1000.0,
            );
            (s, Some(bits))
        }
        None => (MIN_CLASS_SAMPLES, None),
    };
    let note = match name {
        "h100-sxm" | "h200" | "h100-pcie" | "h100-nvl" => {
            "derived from published peak; to be replaced by measurement on the card".to_string()
        }
        _ => "derived from published peak".to_string(),
    };
    ClassSpec {
        name: name.to_string(),
        cards: cards.to_string(),
        peak_tops: Some(peak),
        card_count: 1,
        workload,
        bound_ms,
        samples,
        basis: BoundBasis::DerivedFromPeak,
        class_below: below.map(|(nm, _)| nm),
        same_tier,
        soundness_bits,
        note,
    }
}

/// The built-in class table: every GPU class of [`PUBLISHED_PEAKS`] (highest first), then `cpu`.
pub fn builtin_classes() -> Vec<ClassSpec> {
    let mut v: Vec<ClassSpec> = PUBLISHED_PEAKS
        .iter()
        .map(|(name, cards, peak)| derive_gpu_class(name, cards, *peak))
        .collect();
    v.push(ClassSpec {
        name: "cpu".to_string(),
        cards: "the CPU backend (any host)".to_string(),
        peak_tops: None,
        card_count: 1,
        workload: CPU_WORKLOAD,
        bound_ms: CPU_BOUND_MS,
        samples: CPU_SAMPLES,
        basis: BoundBasis::Cpu,
        class_below: None,
        same_tier: Vec::new(),
        soundness_bits: None,
        note: "its own class: a small workload, bounded generously; a production policy rejects it"
            .to_string(),
    });
    v
}

/// The class named `name` in `table`.
pub fn find<'a>(table: &'a [ClassSpec], name: &str) -> Result<&'a ClassSpec, CapacityError> {
    table
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| CapacityError::UnknownClass(name.to_string()))
}

/// The class table as the Markdown table of `docs/capacity.md` (a test keeps the two identical).
pub fn class_table_markdown(table: &[ClassSpec]) -> String {
    let mut s = String::from(
        "| class | cards | int8 dense peak (TOPS) | workload m×n×k × iterations | ops | bound (ms) | samples | class below | same tier (not separated) | soundness (bits) | basis |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in table {
        let w = &c.workload;
        let basis = match &c.basis {
            BoundBasis::DerivedFromPeak => c.note.clone(),
            BoundBasis::Measured {
                measured_ms,
                tensor_ms,
                on,
            } => {
                format!("measured {measured_ms} ms ({tensor_ms} ms GEMM) on {on}")
            }
            BoundBasis::Cpu => c.note.clone(),
            BoundBasis::Custom => "custom".to_string(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {}×{}×{} × {} | {:.3e} | {} | {} | {} | {} | {} | {} |\n",
            c.name,
            c.cards,
            c.peak_tops.map_or("—".to_string(), |p| format!("{p}")),
            w.m,
            w.n,
            w.k,
            w.iterations,
            w.ops(),
            c.bound_ms,
            c.samples,
            c.class_below
                .as_deref()
                .map_or("—".to_string(), |b| format!("`{b}`")),
            if c.same_tier.is_empty() {
                "—".to_string()
            } else {
                c.same_tier
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            c.soundness_bits
                .map_or("—".to_string(), |b| format!("{b:.1}")),
            basis
        ));
    }
    s
}

/// Card counts in the multi-card table of `docs/capacity.md`.
pub const TABLE_CARD_COUNTS: [u32; 6] = [1, 2, 4, 8, 10, 11];

/// For each GPU class of `table`, the samples (and soundness bits) of the claim "N cards of the class" at each of
/// [`TABLE_CARD_COUNTS`], or "refused" ([`ClassSpec::for_cards`] fails): the multi-card table of
/// `docs/capacity.md` (a test keeps the two identical).
pub fn cards_table_markdown(table: &[ClassSpec]) -> String {
    let mut s = String::from("| class |");
    for n in TABLE_CARD_COUNTS {
        s.push_str(&format!(" {n} card{} |", if n == 1 { "" } else { "s" }));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(TABLE_CARD_COUNTS.len()));
    s.push('\n');
    for c in table.iter().filter(|c| c.peak_tops.is_some()) {
        s.push_str(&format!("| `{}` |", c.name));
        for n in TABLE_CARD_COUNTS {
            match c.for_cards(n) {
                Ok(x) => s.push_str(&format!(
                    " {} samples, {} |",
                    x.samples,
                    x.soundness_bits
                        .map_or("—".to_string(), |b| format!("{b:.1} bits"))
                )),
                Err(_) => s.push_str(" refused |"),
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_valid_and_ordered() {
        let t = builtin_classes();
        for c in &t {
            c.validate().unwrap();
        }
        let names: std::collections::BTreeSet<_> = t.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names.len(), t.len(), "class names are unique");
        for want in [
            "h100-sxm",
            "h100-pcie",
            "h200",
            "a100",
            "l40s",
            "rtx-4090",
            "cpu",
        ] {
            find(&t, want).unwrap();
        }
        assert!(find(&t, "h300").is_err());
    }

    #[test]
    fn own_class_meets_the_bound_and_the_class_below_cannot() {
        let t = builtin_classes();
        for c in t.iter().filter(|c| c.peak_tops.is_some()) {
            let p = c.peak_tops.unwrap();
            let own = c.time_on(p, DERIVED_EFFICIENCY);
            assert!(
                own * (1.0 + MARGIN) <= c.bound_ms as f64 + 1e-9,
                "{}: {own} ms",
                c.name
            );
            assert!(
                (800.0..1250.0).contains(&own),
                "{}: about a second, got {own} ms",
                c.name
            );
            if let Some(b) = &c.class_below {
                let below = find(&t, b).unwrap().peak_tops.unwrap();
                let tb = c.time_on(below, DERIVED_EFFICIENCY);
                assert!(
                    tb > c.bound_ms as f64,
                    "{} vs {b}: {tb} ms within {} ms",
                    c.name,
                    c.bound_ms
                );
                assert!(c.soundness_bits.unwrap() >= 10.0, "{}", c.name);
            }
            // A card of a same-tier class is the only kind that may come close.
            for other in t
                .iter()
                .filter(|o| o.peak_tops.is_some() && o.name != c.name)
            {
                let po = other.peak_tops.unwrap();
                if po < p && !c.same_tier.contains(&other.name) {
                    assert!(
                        c.time_on(po, DERIVED_EFFICIENCY) > c.bound_ms as f64,
                        "{} vs {}",
                        c.name,
                        other.name
                    );
                }
            }
        }
        let h200 = find(&t, "h200").unwrap();
        assert!(h200.same_tier.contains(&"h100-sxm".to_string()));
        assert_eq!(
            find(&t, "h100-sxm").unwrap().class_below.as_deref(),
            Some("h100-nvl")
        );
    }

    #[test]
    fn docs_table_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/capacity.md");
        let doc = std::fs::read_to_string(path).expect("docs/capacity.md");
        let table = class_table_markdown(&builtin_classes());
        assert!(
            doc.contains(&table),
            "docs/capacity.md must contain the class table:\n{table}"
        );
    }

    #[test]
    fn measurement_replaces_the_derived_bound() {
        let t = builtin_classes();
        let h = find(&t, "h100-sxm").unwrap().clone();
        let m = h
            .clone()
            .with_measurement(800, 800, "H100 SXM5, driver 580, cuBLASLt", &t)
            .unwrap();
        assert_eq!(m.bound_ms, 880);
        assert!(matches!(
            m.basis,
            BoundBasis::Measured {
                measured_ms: 800,
                tensor_ms: 800,
                ..
            }
        ));
        assert!(m.soundness_bits.unwrap() >= 10.0);
        // Work off the tensor cores is not scaled for the class below: with 40 % of it, the class below
        // (h100-nvl, peak 1671 against 1979) needs 480·1.184 + 320 = 888.5 ms, barely past the 880 ms bound: each
        // sample catches it with probability 1 − 880/888.5, so even the most samples a class may ask (256) give
        // under 4 bits, where all-GEMM work gives at least 10.
        assert_eq!(h.class_below.as_deref(), Some("h100-nvl"));
        let p = h.clone().with_measurement(800, 480, "x", &t).unwrap();
        assert_eq!(p.samples, MAX_CLASS_SAMPLES);
        let bits = p.soundness_bits.unwrap();
        assert!((3.4..3.8).contains(&bits), "{bits}");
        // with 70 % off the tensor cores the class below is within the bound: refused
        let e = h.clone().with_measurement(800, 240, "x", &t).unwrap_err();
        assert!(e.to_string().contains("within the bound"), "{e}");
        assert!(h.clone().with_measurement(800, 801, "x", &t).is_err());
        assert!(h.clone().with_measurement(800, 0, "x", &t).is_err());
        // The class below must be in the table the measurement is scaled against.
        assert!(find(&t, "h200")
            .unwrap()
            .clone()
            .with_measurement(800, 800, "x", &[])
            .is_err());
        assert!(h.clone().with_measurement(0, 0, "x", &t).is_err());
        assert!(find(&t, "cpu")
            .unwrap()
            .clone()
            .with_measurement(100, 100, "x", &t)
            .is_err());
    }

    #[test]
    fn several_cards_must_work_side_by_side() {
        let t = builtin_classes();
        let h = find(&t, "h100-sxm").unwrap();
        assert_eq!(h.for_cards(1).unwrap(), *h);
        for n in 2..=10u32 {
            let c = h.for_cards(n).unwrap();
            assert_eq!(c.card_count, n);
            assert_eq!(c.workload.iterations, n * h.workload.iterations);
            assert_eq!((c.workload.m, c.workload.n, c.workload.k), GPU_SHAPE);
            // the same bound: the cards must work side by side
            assert_eq!(c.bound_ms, h.bound_ms);
            assert!(c.samples >= h.samples);
            // n − 1 honest cards do a fraction f of the rows in time; s samples miss every undone row with
            // probability at most f^s
            let f = (n - 1) as f64 / n as f64 * h.bound_ms as f64 / h.nominal_ms();
            assert!(f < 1.0);
            assert!(f.powi(c.samples as i32) <= 2f64.powi(-20), "{n} cards");
            if c.samples > h.samples {
                assert!(
                    f.powi(c.samples as i32 - 1) > 2f64.powi(-20),
                    "{n} cards: the fewest"
                );
            }
            // the class below is caught at least as well as by one card's challenge
            assert!(
                c.soundness_bits.unwrap() >= 20.0,
                "{n}: {:?}",
                c.soundness_bits
            );
            assert!(c.note.contains("side by side"));
        }
        assert_eq!(h.for_cards(2).unwrap().samples, h.samples); // 24 would do; the class below needs 190
                                                                // (the derived bound is rounded up: 1101 ms over a 1000.1 ms nominal time, 10.09 %)
        assert_eq!(h.for_cards(8).unwrap().samples, 371);
        assert_eq!(h.for_cards(10).unwrap().samples, 1507);
        // eleven cards with a 10 % margin: ten of them finish the work in time
        let e = h.for_cards(11).unwrap_err().to_string();
        assert!(e.contains("cannot be told from 10"), "{e}");
        assert!(h.for_cards(0).is_err());
        assert!(h.for_cards(MAX_CARDS + 1).is_err());
        // a claim is not scaled twice
        assert!(h.for_cards(2).unwrap().for_cards(2).is_err());
        // the CPU class: its bound less the margin is the nominal time
        let cpu = find(&t, "cpu").unwrap().for_cards(2).unwrap();
        assert_eq!(cpu.workload.iterations, 2 * CPU_WORKLOAD.iterations);
        assert_eq!(cpu.samples, 24);
        // a measured class scales from its measurement
        let m = h.clone().with_measurement(800, 800, "x", &t).unwrap();
        assert_eq!(m.nominal_ms(), 800.0);
        assert!(m.for_cards(4).unwrap().samples >= 73);
        // too many iterations, or more samples than rows, are refused
        let w = Workload {
            m: 4,
            n: 8,
            k: 8,
            iterations: 1 << 15,
        };
        let big = ClassSpec::custom("big", w, 10, 4).unwrap();
        assert!(big.for_cards(2).is_ok());
        assert!(big.for_cards(3).is_err());
        let few_rows = ClassSpec::custom("few", Workload { iterations: 1, ..w }, 10, 4).unwrap();
        assert!(few_rows.for_cards(2).is_err(), "24 samples of 8 rows");
    }

    #[test]
    fn docs_cards_table_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/capacity.md");
        let doc = std::fs::read_to_string(path).expect("docs/capacity.md");
        let table = cards_table_markdown(&builtin_classes());
        assert!(
            doc.contains(&table),
            "docs/capacity.md must contain the multi-card table:\n{table}"
        );
    }

    #[test]
    fn custom_classes_are_checked() {
        let w = Workload {
            m: 4,
            n: 8,
            k: 8,
            iterations: 1,
        };
        ClassSpec::custom("test", w, 10, 4).unwrap();
        assert!(ClassSpec::custom("Test", w, 10, 4).is_err());
        assert!(ClassSpec::custom("test", w, 10, 5).is_err());
        assert!(ClassSpec::custom("test", w, 0, 4).is_err());
        assert!(ClassSpec::custom("", w, 10, 4).is_err());
    }
}
