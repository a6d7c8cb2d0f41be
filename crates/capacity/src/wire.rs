//! The protocol's messages and their strict, versioned binary encodings (`docs/capacity.md`, "Messages").
//!
//! Every message starts with a 4-byte magic and a `u16` version (little-endian, like every integer here); byte
//! strings carry a `u32` length prefix and a per-field limit; decoders refuse unknown versions, out-of-range
//! values and trailing bytes.

use crate::class::{valid_class_name, MAX_CARDS};
use crate::error::CapacityError;
use crate::workload::{Workload, MAX_ITERATIONS, MAX_SAMPLES};
use cuproof_attest::gpu::GpuEvidence;
use cuproof_attest::pcr::PcrValue;
use cuproof_core::commitment::{Commitment, Opening, COMMITMENT_LEN};
use cuproof_core::encoding::{Reader, Writer};
use cuproof_core::hash::tagged_sha256;
use cuproof_core::DecodeError;

/// Version of the [`SampleRequest`] and [`OpeningsMessage`] encodings.
pub const VERSION: u16 = 1;
/// Version of the [`Challenge`] encoding: 2 added the card count, 3 the PCRs to quote (earlier versions are no
/// longer accepted; they were never deployed).
pub const CHALLENGE_VERSION: u16 = 3;
/// Version of the [`CommitMessage`] encoding: 2 added the cards the node names, 3 the measurement logs, 4 each
/// card's own attestation evidence (earlier versions are no longer accepted).
pub const COMMIT_VERSION: u16 = 4;
/// Highest PCR index (a PC-client TPM has PCRs 0–23).
pub const MAX_PCR_INDEX: u8 = 23;
/// Largest firmware event log carried ([`cuproof_attest::bootlog::MAX_LOG_BYTES`]).
pub const MAX_BOOT_LOG: usize = cuproof_attest::bootlog::MAX_LOG_BYTES;
/// Largest IMA measurement list carried ([`cuproof_attest::ima::MAX_LOG_BYTES`]).
pub const MAX_IMA_LOG: usize = cuproof_attest::ima::MAX_LOG_BYTES;
/// Longest card name accepted.
pub const MAX_CARD_NAME: usize = 256;
/// Largest GPU attestation report carried ([`cuproof_attest::gpu::spdm::MAX_REPORT_LEN`]).
pub const MAX_GPU_REPORT: usize = cuproof_attest::gpu::spdm::MAX_REPORT_LEN;
/// Largest GPU certificate chain carried.
pub const MAX_GPU_CHAIN: usize = 64 * 1024;
/// Magic of a [`Challenge`].
pub const MAGIC_CHALLENGE: &[u8; 4] = b"cpCH";
/// Magic of a [`CommitMessage`].
pub const MAGIC_COMMIT: &[u8; 4] = b"cpCM";
/// Magic of a [`SampleRequest`].
pub const MAGIC_SAMPLES: &[u8; 4] = b"cpSR";
/// Magic of an [`OpeningsMessage`].
pub const MAGIC_OPENINGS: &[u8; 4] = b"cpOP";
/// Largest TPMS_ATTEST accepted.
pub const MAX_ATTEST: usize = 2048;
/// Largest TPMT_SIGNATURE accepted.
pub const MAX_SIGNATURE: usize = 1024;
/// Largest TPMT_PUBLIC accepted.
pub const MAX_PUBLIC: usize = 1024;
/// Most PCR values with one quote.
pub const MAX_PCRS: usize = 64;
/// Largest encoded opening (a 16 MiB row plus a path of 64 digests).
pub const MAX_OPENING: usize = (1 << 24) + 13 + 64 * 32;

fn header(w: &mut Writer, magic: &[u8; 4]) {
    w.raw(magic).u16(version_of(magic));
}

fn version_of(magic: &[u8; 4]) -> u16 {
    match magic {
        MAGIC_CHALLENGE => CHALLENGE_VERSION,
        MAGIC_COMMIT => COMMIT_VERSION,
        _ => VERSION,
    }
}

fn check_header(r: &mut Reader<'_>, magic: &[u8; 4]) -> Result<(), DecodeError> {
    let at = r.offset();
    if r.take(4)? != magic {
        return Err(DecodeError::BadMagic { offset: at });
    }
    let v = r.u16()?;
    let supported = version_of(magic);
    if v != supported {
        return Err(DecodeError::UnsupportedVersion {
            found: v,
            supported,
        });
    }
    Ok(())
}

/// Step 1, verifier → node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Fresh random seed (the work seed also depends on Q1, see [`crate::workload::work_seed`]).
    pub seed: [u8; 32],
    /// Fresh random nonce.
    pub nonce: [u8; 32],
    /// The claimed class.
    pub class: String,
    /// The number of cards claimed (1..=[`MAX_CARDS`]): the workload is that many times the class's, under the
    /// class's bound, so the cards must work side by side (`docs/capacity.md`, *Several cards*).
    pub cards: u32,
    /// The workload size (all cards together).
    pub workload: Workload,
    /// Number of rows that will be sampled.
    pub samples: u32,
    /// The PCRs of the SHA-256 bank both quotes must select, exactly: strictly increasing, at most
    /// [`MAX_PCR_INDEX`], at least one (the job PCR 23; with the boot PCRs 0–9 and IMA's 10 when the verifier
    /// judges the node's software stack).
    pub pcrs: Vec<u8>,
}

impl Challenge {
    /// `magic "cpCH" ‖ version 3 ‖ seed[32] ‖ nonce[32] ‖ class (u32 len ‖ utf8) ‖ cards ‖ m ‖ n ‖ k ‖ iterations ‖
    /// samples ‖ pcr_count:u32 ‖ pcr_count × index:u8`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        header(&mut w, MAGIC_CHALLENGE);
        w.raw(&self.seed).raw(&self.nonce).str(&self.class);
        w.u32(self.cards);
        w.raw(&self.workload.to_bytes()).u32(self.samples);
        w.u32(self.pcrs.len() as u32);
        for &p in &self.pcrs {
            w.u8(p);
        }
        w.into_bytes()
    }

    /// Strict decoding (also checks the class name, the workload ranges and the sample count).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut r = Reader::new(bytes);
        let f = |r: &mut Reader<'_>| -> Result<Challenge, DecodeError> {
            check_header(r, MAGIC_CHALLENGE)?;
            let seed = r.array32()?;
            let nonce = r.array32()?;
            let class = r.str("class", 64)?;
            let cards = r.u32()?;
            let workload = Workload {
                m: r.u32()?,
                n: r.u32()?,
                k: r.u32()?,
                iterations: r.u32()?,
            };
            let samples = r.u32()?;
            let n = r.count("pcrs", MAX_PCR_INDEX as usize + 1, 1)?;
            let mut pcrs = Vec::with_capacity(n);
            for _ in 0..n {
                pcrs.push(r.u8()?);
            }
            r.finish()?;
            Ok(Challenge {
                seed,
                nonce,
                class,
                cards,
                workload,
                samples,
                pcrs,
            })
        };
        let c = f(&mut r).map_err(CapacityError::decode("challenge"))?;
        c.validate()?;
        Ok(c)
    }

    /// Checks the class name, the card count, the workload, the sample count and the PCR selection.
    pub fn validate(&self) -> Result<(), CapacityError> {
        if self.pcrs.is_empty()
            || self.pcrs.windows(2).any(|w| w[0] >= w[1])
            || self.pcrs.iter().any(|&p| p > MAX_PCR_INDEX)
        {
            return Err(CapacityError::Workload(format!(
                "PCR selection {:?}: must be non-empty, strictly increasing, each at most {MAX_PCR_INDEX}",
                self.pcrs
            )));
        }
        if !valid_class_name(&self.class) {
            return Err(CapacityError::UnknownClass(self.class.clone()));
        }
        if self.cards == 0 || self.cards > MAX_CARDS || self.cards > self.workload.iterations {
            return Err(CapacityError::Workload(format!(
                "cards = {} must be in 1..={MAX_CARDS} and at most the iterations",
                self.cards
            )));
        }
        self.workload.validate()?;
        if self.samples == 0
            || self.samples > MAX_SAMPLES
            || self.samples as u64 > self.workload.total_rows()
        {
            return Err(CapacityError::Workload(format!(
                "samples = {} out of range",
                self.samples
            )));
        }
        Ok(())
    }

    /// `H("cuproof.capacity.challenge.v1", encoding)`: covers nonce, seed and every parameter.
    pub fn digest(&self) -> [u8; 32] {
        tagged_sha256(b"cuproof.capacity.challenge.v1", &[&self.to_bytes()])
    }
}

/// A TPM quote as sent: the marshalled TPMS_ATTEST, the marshalled TPMT_SIGNATURE and the PCR values of the quoted
/// selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteEvidence {
    /// TPMS_ATTEST bytes.
    pub attest: Vec<u8>,
    /// TPMT_SIGNATURE bytes.
    pub signature: Vec<u8>,
    /// PCR values of the quoted selection.
    pub pcrs: Vec<PcrValue>,
}

impl QuoteEvidence {
    fn write(&self, w: &mut Writer) {
        w.bytes(&self.attest)
            .bytes(&self.signature)
            .u32(self.pcrs.len() as u32);
        for p in &self.pcrs {
            w.u16(p.bank).u8(p.index).bytes(&p.value);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let attest = r.bytes("attest", MAX_ATTEST)?.to_vec();
        let signature = r.bytes("signature", MAX_SIGNATURE)?.to_vec();
        let n = r.count("pcr values", MAX_PCRS, 7)?;
        let mut pcrs = Vec::with_capacity(n);
        for _ in 0..n {
            pcrs.push(PcrValue {
                bank: r.u16()?,
                index: r.u8()?,
                value: r.bytes("pcr value", 64)?.to_vec(),
            });
        }
        Ok(QuoteEvidence {
            attest,
            signature,
            pcrs,
        })
    }

    /// [`crate::workload::quote_digest`] of this quote.
    pub fn digest(&self) -> [u8; 32] {
        crate::workload::quote_digest(&self.attest, &self.signature)
    }
}

/// A card the node says it worked on: its name and UUID as the driver reports them (for a CPU runtime, `cpu: ` and
/// the CPU model, and a zero UUID), and, where the card could give it, the card's own attestation evidence over
/// [`crate::workload::card_nonce`]. Bound into Q2 with the result, so the node's TPM signs the claim. The name and
/// UUID are the driver's word; the evidence is the card's, checked by the `gpu-attestation` check
/// (`docs/gpu-attestation.md`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CardIdentity {
    /// The device's name (e.g. `NVIDIA H100 80GB HBM3`), at most [`MAX_CARD_NAME`] bytes.
    pub name: String,
    /// The device's UUID (zero for a CPU runtime).
    #[serde(serialize_with = "uuid_hex")]
    pub uuid: [u8; 16],
    /// The card's SPDM report and certificate chain (not serialized: the verdict lists what it proved).
    #[serde(skip)]
    pub evidence: Option<GpuEvidence>,
}

fn uuid_hex<S: serde::Serializer>(uuid: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
    let h: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    s.serialize_str(&h)
}

/// Step 2, node → verifier: the two quotes and the commitment of the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitMessage {
    /// Digest of the challenge answered.
    pub challenge_digest: [u8; 32],
    /// The AK's TPMT_PUBLIC (both quotes must verify under it).
    pub ak_public: Vec<u8>,
    /// Q1, taken after the challenge was received, before any work.
    pub q1: QuoteEvidence,
    /// Q2, taken after the result was committed.
    pub q2: QuoteEvidence,
    /// One commitment per iteration: `C_t`, one chunk per row.
    pub commitments: Vec<Commitment>,
    /// The cards the node says it worked on, one per runtime (empty for a result computed some other way).
    pub cards: Vec<CardIdentity>,
    /// The measurement logs that explain Q2's boot and IMA PCRs (empty where the challenge does not select
    /// them). Not signed as such: a log is evidence only where it replays to the quoted PCR values.
    pub logs: MeasurementLogs,
}

/// The node's measurement logs, as its TPM's PCRs account for them at Q2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeasurementLogs {
    /// The firmware's measured-boot event log (TCG PC Client, crypto-agile; `docs/bootlog.md`), empty if none.
    pub boot: Vec<u8>,
    /// The IMA runtime measurement list up to Q2 (`docs/ima.md`), empty if none.
    pub ima: Vec<u8>,
}

impl CommitMessage {
    /// `magic "cpCM" ‖ version 4 ‖ challenge_digest ‖ ak_public ‖ Q1 ‖ Q2 ‖ count:u32 ‖ count × commitment[42] ‖
    /// cards:u32 ‖ cards × (name ‖ uuid[16] ‖ gpu_report ‖ gpu_chain) ‖ boot_log ‖ ima_log` (a card without evidence:
    /// both empty), each quote `attest ‖ signature ‖
    /// pcr_count:u32 ‖ pcr_count × (bank:u16 ‖ index:u8 ‖ value)` (byte strings u32-prefixed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        header(&mut w, MAGIC_COMMIT);
        w.raw(&self.challenge_digest).bytes(&self.ak_public);
        self.q1.write(&mut w);
        self.q2.write(&mut w);
        w.u32(self.commitments.len() as u32);
        for c in &self.commitments {
            w.raw(&c.to_bytes());
        }
        w.u32(self.cards.len() as u32);
        for c in &self.cards {
            w.str(&c.name).raw(&c.uuid);
            match &c.evidence {
                Some(e) => w.bytes(&e.report).bytes(&e.cert_chain),
                None => w.bytes(&[]).bytes(&[]),
            };
        }
        w.bytes(&self.logs.boot).bytes(&self.logs.ima);
        w.into_bytes()
    }

    /// Strict decoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut r = Reader::new(bytes);
        let f = |r: &mut Reader<'_>| -> Result<CommitMessage, DecodeError> {
            check_header(r, MAGIC_COMMIT)?;
            let challenge_digest = r.array32()?;
            let ak_public = r.bytes("ak public", MAX_PUBLIC)?.to_vec();
            let q1 = QuoteEvidence::read(r)?;
            let q2 = QuoteEvidence::read(r)?;
            let n = r.count("commitments", MAX_ITERATIONS as usize, COMMITMENT_LEN)?;
            let mut commitments = Vec::with_capacity(n);
            for _ in 0..n {
                let b = r.take(COMMITMENT_LEN)?;
                let c = Commitment::from_bytes(b).map_err(|e| DecodeError::Inconsistent {
                    what: "commitment",
                    why: e.to_string(),
                })?;
                commitments.push(c);
            }
            let n = r.count("cards", MAX_CARDS as usize, 4 + 16 + 4 + 4)?;
            let mut cards = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.str("card name", MAX_CARD_NAME)?;
                let uuid: [u8; 16] =
                    r.take(16)?
                        .try_into()
                        .map_err(|_| DecodeError::Inconsistent {
                            what: "card uuid",
                            why: "16 bytes".into(),
                        })?;
                let report = r.bytes("gpu report", MAX_GPU_REPORT)?.to_vec();
                let cert_chain = r.bytes("gpu certificate chain", MAX_GPU_CHAIN)?.to_vec();
                let evidence = match (report.is_empty(), cert_chain.is_empty()) {
                    (true, true) => None,
                    (false, false) => Some(GpuEvidence { report, cert_chain }),
                    _ => {
                        return Err(DecodeError::Inconsistent {
                            what: "gpu evidence",
                            why: "a report without a certificate chain, or the reverse".into(),
                        })
                    }
                };
                cards.push(CardIdentity {
                    name,
                    uuid,
                    evidence,
                });
            }
            let logs = MeasurementLogs {
                boot: r.bytes("boot log", MAX_BOOT_LOG)?.to_vec(),
                ima: r.bytes("ima log", MAX_IMA_LOG)?.to_vec(),
            };
            r.finish()?;
            Ok(CommitMessage {
                challenge_digest,
                ak_public,
                q1,
                q2,
                commitments,
                cards,
                logs,
            })
        };
        f(&mut r).map_err(CapacityError::decode("commit message"))
    }

    /// `H("cuproof.capacity.commit.v1", encoding)`.
    pub fn digest(&self) -> [u8; 32] {
        tagged_sha256(b"cuproof.capacity.commit.v1", &[&self.to_bytes()])
    }
}

/// Step 3, verifier → node: the rows to open, chosen after the commitment message was received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleRequest {
    /// Digest of the commit message the rows were chosen after.
    pub commit_digest: [u8; 32],
    /// Global row indices (`t·m + i`), strictly increasing.
    pub rows: Vec<u64>,
}

impl SampleRequest {
    /// `magic "cpSR" ‖ version ‖ commit_digest ‖ count:u32 ‖ count × row:u64`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        header(&mut w, MAGIC_SAMPLES);
        w.raw(&self.commit_digest).u32(self.rows.len() as u32);
        for r in &self.rows {
            w.u64(*r);
        }
        w.into_bytes()
    }

    /// Strict decoding: at least one row, rows strictly increasing.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut r = Reader::new(bytes);
        let f = |r: &mut Reader<'_>| -> Result<SampleRequest, DecodeError> {
            check_header(r, MAGIC_SAMPLES)?;
            let commit_digest = r.array32()?;
            let n = r.count("rows", MAX_SAMPLES as usize, 8)?;
            let mut rows = Vec::with_capacity(n);
            for _ in 0..n {
                rows.push(r.u64()?);
            }
            r.finish()?;
            Ok(SampleRequest {
                commit_digest,
                rows,
            })
        };
        let s = f(&mut r).map_err(CapacityError::decode("sample request"))?;
        s.check_rows(u64::MAX)?;
        Ok(s)
    }

    /// Checks that there is at least one row, that rows are strictly increasing and below `total_rows`.
    pub fn check_rows(&self, total_rows: u64) -> Result<(), CapacityError> {
        if self.rows.is_empty() {
            return Err(CapacityError::SampleRequest("no rows".into()));
        }
        if self.rows.windows(2).any(|p| p[0] >= p[1]) {
            return Err(CapacityError::SampleRequest(
                "rows must be strictly increasing".into(),
            ));
        }
        if let Some(&last) = self.rows.last() {
            if last >= total_rows {
                return Err(CapacityError::SampleRequest(format!(
                    "row {last} out of range ({total_rows} rows)"
                )));
            }
        }
        Ok(())
    }

    /// `H("cuproof.capacity.samples.v1", encoding)`.
    pub fn digest(&self) -> [u8; 32] {
        tagged_sha256(b"cuproof.capacity.samples.v1", &[&self.to_bytes()])
    }
}

/// Step 4, node → verifier: one Merkle opening per requested row, in request order. The opening of global row
/// `t·m + i` is the opening of chunk `i` of commitment `t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningsMessage {
    /// Digest of the sample request answered.
    pub request_digest: [u8; 32],
    /// The openings.
    pub openings: Vec<Opening>,
}

impl OpeningsMessage {
    /// `magic "cpOP" ‖ version ‖ request_digest ‖ count:u32 ‖ count × (u32 len ‖ opening)`, the opening in
    /// `cuproof-core`'s canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        header(&mut w, MAGIC_OPENINGS);
        w.raw(&self.request_digest).u32(self.openings.len() as u32);
        for o in &self.openings {
            w.bytes(&o.to_bytes());
        }
        w.into_bytes()
    }

    /// Strict decoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut r = Reader::new(bytes);
        let f = |r: &mut Reader<'_>| -> Result<OpeningsMessage, DecodeError> {
            check_header(r, MAGIC_OPENINGS)?;
            let request_digest = r.array32()?;
            let n = r.count("openings", MAX_SAMPLES as usize, 4 + 13)?;
            let mut openings = Vec::with_capacity(n);
            for _ in 0..n {
                let b = r.bytes("opening", MAX_OPENING)?;
                let o = Opening::from_bytes(b).map_err(|e| DecodeError::Inconsistent {
                    what: "opening",
                    why: e.to_string(),
                })?;
                openings.push(o);
            }
            r.finish()?;
            Ok(OpeningsMessage {
                request_digest,
                openings,
            })
        };
        f(&mut r).map_err(CapacityError::decode("openings"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuproof_core::commitment::{CommitParams, MerkleTree};

    fn challenge() -> Challenge {
        Challenge {
            seed: [1; 32],
            nonce: [2; 32],
            class: "cpu".into(),
            cards: 2,
            workload: Workload {
                m: 4,
                n: 8,
                k: 16,
                iterations: 2,
            },
            samples: 3,
            pcrs: vec![0, 10, 23],
        }
    }

    fn assert_strict<T: std::fmt::Debug>(
        bytes: &[u8],
        dec: impl Fn(&[u8]) -> Result<T, CapacityError>,
    ) {
        dec(bytes).unwrap();
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(dec(&long).is_err(), "trailing byte accepted");
        for cut in [0, 1, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(dec(&bytes[..cut]).is_err(), "truncation at {cut} accepted");
        }
        let mut magic = bytes.to_vec();
        magic[0] ^= 1;
        assert!(dec(&magic).is_err());
        let mut ver = bytes.to_vec();
        ver[4] ^= 3;
        assert!(matches!(
            dec(&ver),
            Err(CapacityError::Decode {
                source: DecodeError::UnsupportedVersion { .. },
                ..
            })
        ));
    }

    #[test]
    fn challenge_roundtrip_and_strictness() {
        let c = challenge();
        let b = c.to_bytes();
        assert_eq!(Challenge::from_bytes(&b).unwrap(), c);
        assert_strict(&b, Challenge::from_bytes);
        let mut bad = c.clone();
        bad.workload.n = 12;
        assert!(Challenge::from_bytes(&bad.to_bytes()).is_err());
        let mut bad = c.clone();
        bad.samples = 9;
        assert!(Challenge::from_bytes(&bad.to_bytes()).is_err());
        let mut bad = c.clone();
        bad.class = "CPU".into();
        assert!(Challenge::from_bytes(&bad.to_bytes()).is_err());
        // the card count: at least one, at most MAX_CARDS and the iterations (2 here)
        for cards in [0, 3, MAX_CARDS + 1] {
            let mut bad = c.clone();
            bad.cards = cards;
            assert!(Challenge::from_bytes(&bad.to_bytes()).is_err(), "{cards}");
        }
        let mut other = c.clone();
        other.cards = 1;
        assert_ne!(other.digest(), c.digest());
        // versions 1 (no card count) and 2 (no PCR selection) are refused
        for old in [1u16, 2] {
            let mut v = b.clone();
            v[4..6].copy_from_slice(&old.to_le_bytes());
            assert!(Challenge::from_bytes(&v).is_err(), "version {old}");
        }
        // the PCR selection: non-empty, strictly increasing, at most 23; it is part of the digest
        for pcrs in [vec![], vec![23, 10], vec![10, 10], vec![24]] {
            let mut bad = c.clone();
            bad.pcrs = pcrs.clone();
            assert!(Challenge::from_bytes(&bad.to_bytes()).is_err(), "{pcrs:?}");
        }
        let mut more = b.clone();
        let n = more.len() - 4 - 3;
        more[n..n + 4].copy_from_slice(&25u32.to_le_bytes());
        assert!(Challenge::from_bytes(&more).is_err(), "25 PCRs");
        let mut other = c.clone();
        other.pcrs = vec![23];
        assert_ne!(other.digest(), c.digest());
        let mut other = c.clone();
        other.nonce[0] ^= 1;
        assert_ne!(other.digest(), c.digest());
    }

    #[test]
    fn commit_samples_openings_roundtrip() {
        let data: Vec<u8> = (0..256u32).map(|i| i as u8).collect();
        let p = CommitParams::new(cuproof_core::HashAlg::Keccak256, 5).unwrap();
        let tree = MerkleTree::build(&data, &p);
        let q = QuoteEvidence {
            attest: vec![1, 2, 3],
            signature: vec![4, 5],
            pcrs: vec![PcrValue {
                bank: 0x000b,
                index: 16,
                value: vec![0; 32],
            }],
        };
        let cm = CommitMessage {
            challenge_digest: [3; 32],
            ak_public: vec![9; 10],
            q1: q.clone(),
            q2: q,
            commitments: vec![tree.commitment(), tree.commitment()],
            cards: vec![
                CardIdentity {
                    name: "NVIDIA H100 80GB HBM3".into(),
                    uuid: [7; 16],
                    evidence: Some(GpuEvidence {
                        report: vec![0x11; 40],
                        cert_chain: vec![0x30; 9],
                    }),
                },
                CardIdentity {
                    name: "cpu: x".into(),
                    uuid: [0; 16],
                    evidence: None,
                },
            ],
            logs: MeasurementLogs {
                boot: vec![1; 7],
                ima: vec![2; 5],
            },
        };
        let b = cm.to_bytes();
        assert_eq!(CommitMessage::from_bytes(&b).unwrap(), cm);
        assert_strict(&b, CommitMessage::from_bytes);
        // no cards (a result computed some other way); a name over the limit; more cards than a claim may name
        let none = CommitMessage {
            cards: Vec::new(),
            ..cm.clone()
        };
        assert_eq!(CommitMessage::from_bytes(&none.to_bytes()).unwrap(), none);
        let mut long = cm.clone();
        long.cards[0].name = "x".repeat(MAX_CARD_NAME + 1);
        assert!(CommitMessage::from_bytes(&long.to_bytes()).is_err());
        let mut many = cm.clone();
        many.cards = vec![cm.cards[0].clone(); MAX_CARDS as usize + 1];
        assert!(CommitMessage::from_bytes(&many.to_bytes()).is_err());
        assert_ne!(none.digest(), cm.digest());
        // the logs: each is covered by the message digest, and may be empty
        let no_logs = CommitMessage {
            logs: MeasurementLogs::default(),
            ..cm.clone()
        };
        assert_eq!(
            CommitMessage::from_bytes(&no_logs.to_bytes()).unwrap(),
            no_logs
        );
        assert_ne!(no_logs.digest(), cm.digest());
        let mut swapped = cm.clone();
        std::mem::swap(&mut swapped.logs.boot, &mut swapped.logs.ima);
        assert_ne!(swapped.digest(), cm.digest());
        let mut v3 = cm.to_bytes();
        v3[4..6].copy_from_slice(&3u16.to_le_bytes());
        assert!(CommitMessage::from_bytes(&v3).is_err(), "version 3");
        // GPU evidence: covered by the digest; a report needs its chain and the reverse
        let mut no_evidence = cm.clone();
        no_evidence.cards[0].evidence = None;
        assert_ne!(no_evidence.digest(), cm.digest());
        let mut half = cm.clone();
        half.cards[0].evidence.as_mut().unwrap().cert_chain.clear();
        assert!(CommitMessage::from_bytes(&half.to_bytes()).is_err());
        let mut half = cm.clone();
        half.cards[0].evidence.as_mut().unwrap().report.clear();
        assert!(CommitMessage::from_bytes(&half.to_bytes()).is_err());
        let mut big = cm.clone();
        big.cards[0].evidence.as_mut().unwrap().report = vec![0; MAX_GPU_REPORT + 1];
        assert!(CommitMessage::from_bytes(&big.to_bytes()).is_err());

        let sr = SampleRequest {
            commit_digest: cm.digest(),
            rows: vec![1, 5, 7],
        };
        let b = sr.to_bytes();
        assert_eq!(SampleRequest::from_bytes(&b).unwrap(), sr);
        assert_strict(&b, SampleRequest::from_bytes);
        let unsorted = SampleRequest {
            rows: vec![5, 1],
            ..sr.clone()
        };
        assert!(SampleRequest::from_bytes(&unsorted.to_bytes()).is_err());
        let dup = SampleRequest {
            rows: vec![5, 5],
            ..sr.clone()
        };
        assert!(SampleRequest::from_bytes(&dup.to_bytes()).is_err());
        assert!(sr.check_rows(7).is_err());
        sr.check_rows(8).unwrap();

        let om = OpeningsMessage {
            request_digest: sr.digest(),
            openings: vec![tree.open(&data, 1).unwrap(), tree.open(&data, 5).unwrap()],
        };
        let b = om.to_bytes();
        assert_eq!(OpeningsMessage::from_bytes(&b).unwrap(), om);
        assert_strict(&b, OpeningsMessage::from_bytes);
    }
}
