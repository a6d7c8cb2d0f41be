//! The receipt: what was computed (statement), how (execution log), where (node identity and TPM quotes), that it
//! is right (proofs), and timings. Deterministic binary encoding (`docs/receipt.md`) plus a JSON rendering.

use crate::commitment::{Commitment, COMMITMENT_LEN};
use crate::encoding::{Reader, Writer};
use crate::error::DecodeError;
use crate::hash::tagged_sha256;
use crate::log::{Backend, BufferRole, DType, ExecutionLog, LogError};
use serde::Serialize;

/// Magic that opens an encoded receipt.
pub const RECEIPT_MAGIC: &[u8; 8] = b"CUPROOF\x00";
/// The receipt format version this build writes and reads.
pub const RECEIPT_VERSION: u16 = 2;
/// Tag of the statement digest.
pub const STATEMENT_TAG: &[u8] = b"cuproof.statement.v1";
/// Tag of the receipt digest.
pub const RECEIPT_TAG: &[u8] = b"cuproof.receipt.v1";
/// Tag of the qualifying data of a quote.
pub const QUALIFYING_TAG: &[u8] = b"cuproof.quote.qualifying.v1";
/// Tag of the binding digest (everything in a receipt but its quotes).
pub const BINDING_TAG: &[u8] = b"cuproof.receipt.binding.v1";

const MAX_STR: usize = 4096;
const MAX_BLOB: usize = 1 << 24;
const MAX_LOG: usize = 1 << 28;
const MAX_ITEMS: usize = 4096;

/// A committed tensor of the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TensorCommitment {
    /// Input or output.
    pub role: BufferRole,
    /// Name ("A", "B", "C").
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape (row-major).
    pub shape: Vec<u64>,
    /// Merkle commitment of the bytes (`docs/commitment.md`).
    pub commitment: Commitment,
    /// Field commitment used by proofs (Poseidon over BN254, 32 bytes big-endian), if any.
    #[serde(serialize_with = "crate::hexser::opt32")]
    pub field_commitment: Option<[u8; 32]>,
}

/// What was computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Workload name ("matmul-i8", "capacity", or a user's name).
    pub workload: String,
    /// Workload parameters, keys strictly sorted.
    pub params: Vec<(String, String)>,
    /// Job identifier.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub job_id: [u8; 32],
    /// The verifier's challenge (nonce) this job answers.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub challenge: [u8; 32],
    /// Backend that executed the job.
    pub backend: Backend,
    /// Committed inputs and outputs.
    pub tensors: Vec<TensorCommitment>,
    /// Final head of the execution log's hash chain.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub log_head: [u8; 32],
}

/// Kind of TPM that produced the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TpmKind {
    /// No TPM: the receipt carries no quote.
    None,
    /// A software TPM (swtpm): honest about itself, refused by production policies.
    Software,
    /// A hardware (discrete or firmware) TPM.
    Hardware,
}

impl TpmKind {
    fn id(self) -> u8 {
        match self {
            TpmKind::None => 0,
            TpmKind::Software => 1,
            TpmKind::Hardware => 2,
        }
    }
    fn from_id(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => TpmKind::None,
            1 => TpmKind::Software,
            2 => TpmKind::Hardware,
            v => {
                return Err(DecodeError::InvalidValue {
                    what: "tpm kind",
                    value: v as u64,
                })
            }
        })
    }
}

/// Who produced the receipt: TPM identity as raw TPM structures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeIdentity {
    /// Free-form node label.
    pub label: String,
    /// TPM kind.
    pub tpm: TpmKind,
    /// EK public area (marshalled `TPM2B_PUBLIC`).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub ek_public: Vec<u8>,
    /// EK certificate (DER), empty if none.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub ek_cert: Vec<u8>,
    /// AK public area (marshalled `TPM2B_PUBLIC`).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub ak_public: Vec<u8>,
    /// The firmware's measured-boot event log (TCG PC Client crypto-agile format, as in
    /// `/sys/kernel/security/tpm0/binary_bios_measurements`), empty if the node has none. Checked by replay
    /// against the quoted boot PCRs (`docs/bootlog.md`).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub boot_log: Vec<u8>,
    /// The kernel's IMA runtime measurement list (`binary_runtime_measurements`), empty if none. Checked by
    /// replay against the quoted PCR 10 (`docs/ima.md`).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub ima_log: Vec<u8>,
}

/// One PCR value as read with a quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PcrValue {
    /// TPM algorithm id of the bank (0x000B = SHA-256).
    pub bank: u16,
    /// PCR index.
    pub index: u8,
    /// Value.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub value: Vec<u8>,
}

/// A TPM quote with the PCR values it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TpmQuote {
    /// What the quote is for ("job-end", "capacity-start", …).
    pub purpose: String,
    /// Marshalled `TPMS_ATTEST`.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub attest: Vec<u8>,
    /// Marshalled `TPMT_SIGNATURE`.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub signature: Vec<u8>,
    /// PCR values in selection order.
    pub pcrs: Vec<PcrValue>,
}

/// Proof systems a receipt can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProofSystem {
    /// Groth16 over BN254.
    Groth16Bn254,
}

/// A succinct proof of the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProofEntry {
    /// Proof system.
    pub system: ProofSystem,
    /// Circuit identifier.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub circuit_id: [u8; 32],
    /// Digest of the verifying key used.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub vk_digest: [u8; 32],
    /// The one public input (32 bytes big-endian).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub public_input: [u8; 32],
    /// Proof bytes (system-specific encoding).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub proof: Vec<u8>,
}

/// A measured duration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// What was timed.
    pub label: String,
    /// Nanoseconds.
    pub nanos: u64,
}

/// A receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// What was computed.
    pub statement: Statement,
    /// The execution log.
    #[serde(serialize_with = "serialize_log")]
    pub log: ExecutionLog,
    /// Node identity.
    pub node: NodeIdentity,
    /// TPM quotes.
    pub quotes: Vec<TpmQuote>,
    /// Proofs.
    pub proofs: Vec<ProofEntry>,
    /// Timings.
    pub timings: Vec<Timing>,
}

fn serialize_log<S: serde::Serializer>(log: &ExecutionLog, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("ExecutionLog", 3)?;
    st.serialize_field("head", &hex::encode(log.head()))?;
    st.serialize_field("checkpoints", log.checkpoints())?;
    st.serialize_field("records", log.records())?;
    st.end()
}

/// Errors of receipt encoding and decoding.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ReceiptError {
    /// Malformed bytes.
    #[error("malformed receipt: {0}")]
    Decode(#[from] DecodeError),
    /// Malformed execution log inside the receipt.
    #[error("receipt log: {0}")]
    Log(#[from] LogError),
}

impl Statement {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_bytes()
    }

    fn write(&self, w: &mut Writer) {
        w.str(&self.workload).u32(self.params.len() as u32);
        for (k, v) in &self.params {
            w.str(k).str(v);
        }
        w.raw(&self.job_id)
            .raw(&self.challenge)
            .u8(self.backend.id())
            .u32(self.tensors.len() as u32);
        for t in &self.tensors {
            w.u8(t.role.id())
                .str(&t.name)
                .u8(t.dtype.id())
                .u8(t.shape.len() as u8);
            for d in &t.shape {
                w.u64(*d);
            }
            w.raw(&t.commitment.to_bytes());
            match &t.field_commitment {
                None => {
                    w.u8(0);
                }
                Some(f) => {
                    w.u8(1).raw(f);
                }
            }
        }
        w.raw(&self.log_head);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let workload = r.str("workload", MAX_STR)?;
        let n = r.count("params", MAX_ITEMS, 8)?;
        let mut params = Vec::with_capacity(n);
        for _ in 0..n {
            params.push((r.str("param key", MAX_STR)?, r.str("param value", MAX_STR)?));
        }
        if !params.windows(2).all(|p| p[0].0 < p[1].0) {
            return Err(DecodeError::Inconsistent {
                what: "statement parameters",
                why: "keys not strictly sorted".into(),
            });
        }
        let job_id = r.array32()?;
        let challenge = r.array32()?;
        let backend = Backend::from_id(r.u8()?)?;
        let n = r.count("tensors", MAX_ITEMS, 50)?;
        let mut tensors = Vec::with_capacity(n);
        for _ in 0..n {
            let role = BufferRole::from_id(r.u8()?)?;
            let name = r.str("tensor name", MAX_STR)?;
            let dtype = DType::from_id(r.u8()?)?;
            let nd = r.u8()? as usize;
            if nd > 8 {
                return Err(DecodeError::TooLong {
                    what: "shape",
                    len: nd as u64,
                    limit: 8,
                });
            }
            let mut shape = Vec::with_capacity(nd);
            for _ in 0..nd {
                shape.push(r.u64()?);
            }
            let commitment = Commitment::from_bytes(r.take(COMMITMENT_LEN)?).map_err(|e| {
                DecodeError::Inconsistent {
                    what: "tensor commitment",
                    why: e.to_string(),
                }
            })?;
            let field_commitment = if r.bool("field commitment flag")? {
                Some(r.array32()?)
            } else {
                None
            };
            tensors.push(TensorCommitment {
                role,
                name,
                dtype,
                shape,
                commitment,
                field_commitment,
            });
        }
        Ok(Statement {
            workload,
            params,
            job_id,
            challenge,
            backend,
            tensors,
            log_head: r.array32()?,
        })
    }

    /// Statement digest `SHA-256("cuproof.statement.v1" ‖ 0 ‖ encoding)`; also the job digest that proofs bind.
    pub fn digest(&self) -> [u8; 32] {
        tagged_sha256(STATEMENT_TAG, &[&self.encode()])
    }

    /// Find a tensor by role and name.
    pub fn tensor(&self, role: BufferRole, name: &str) -> Option<&TensorCommitment> {
        self.tensors
            .iter()
            .find(|t| t.role == role && t.name == name)
    }
}

/// Qualifying data binding a challenge and a digest (see [`Receipt::qualifying_data`]).
pub fn qualifying_data(challenge: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
    tagged_sha256(QUALIFYING_TAG, &[challenge, digest])
}

impl Receipt {
    /// Deterministic binary encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ReceiptError> {
        self.encode_with(true)
    }

    /// Binding digest: `SHA-256("cuproof.receipt.binding.v1" ‖ 0 ‖ encoding with the quote list empty)`. It
    /// covers the statement, the log, the node identity, the proofs and the timings: everything but the quotes,
    /// which sign it.
    pub fn binding_digest(&self) -> Result<[u8; 32], ReceiptError> {
        Ok(tagged_sha256(BINDING_TAG, &[&self.encode_with(false)?]))
    }

    /// The qualifying data (`extraData`) of the job quote: binds the verifier's challenge and the whole receipt
    /// but its quotes, `SHA-256("cuproof.quote.qualifying.v1" ‖ 0 ‖ challenge ‖ binding digest)`. The node takes
    /// the job quote last, after proofs and timings are final, so that no field of a receipt is unsigned.
    pub fn qualifying_data(&self, challenge: &[u8; 32]) -> Result<[u8; 32], ReceiptError> {
        Ok(qualifying_data(challenge, &self.binding_digest()?))
    }

    fn encode_with(&self, with_quotes: bool) -> Result<Vec<u8>, ReceiptError> {
        let mut w = Writer::new();
        w.raw(RECEIPT_MAGIC).u16(RECEIPT_VERSION);
        self.statement.write(&mut w);
        w.bytes(&self.log.to_tcg_bytes()?);
        let n = &self.node;
        w.str(&n.label)
            .u8(n.tpm.id())
            .bytes(&n.ek_public)
            .bytes(&n.ek_cert)
            .bytes(&n.ak_public)
            .bytes(&n.boot_log)
            .bytes(&n.ima_log);
        let quotes: &[TpmQuote] = if with_quotes { &self.quotes } else { &[] };
        w.u32(quotes.len() as u32);
        for q in quotes {
            w.str(&q.purpose)
                .bytes(&q.attest)
                .bytes(&q.signature)
                .u32(q.pcrs.len() as u32);
            for p in &q.pcrs {
                w.u16(p.bank).u8(p.index).bytes(&p.value);
            }
        }
        w.u32(self.proofs.len() as u32);
        for p in &self.proofs {
            w.u8(match p.system {
                ProofSystem::Groth16Bn254 => 1,
            })
            .raw(&p.circuit_id)
            .raw(&p.vk_digest)
            .raw(&p.public_input)
            .bytes(&p.proof);
        }
        w.u32(self.timings.len() as u32);
        for t in &self.timings {
            w.str(&t.label).u64(t.nanos);
        }
        Ok(w.into_bytes())
    }

    /// Strict decoding: magic, version, every length, no trailing bytes; the log is parsed and its chain
    /// checked, and the statement's `log_head` must equal the log's head.
    pub fn decode(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let mut r = Reader::new(bytes);
        if r.take(8)? != RECEIPT_MAGIC {
            return Err(DecodeError::BadMagic { offset: 0 }.into());
        }
        let version = r.u16()?;
        if version != RECEIPT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                found: version,
                supported: RECEIPT_VERSION,
            }
            .into());
        }
        let statement = Statement::read(&mut r)?;
        let log = ExecutionLog::from_tcg_bytes(r.bytes("log", MAX_LOG)?)?;
        if log.head() != statement.log_head {
            return Err(DecodeError::Inconsistent {
                what: "receipt",
                why: "statement log_head differs from the log's chain head".into(),
            }
            .into());
        }
        let node = NodeIdentity {
            label: r.str("node label", MAX_STR)?,
            tpm: TpmKind::from_id(r.u8()?)?,
            ek_public: r.bytes("ek public", MAX_BLOB)?.to_vec(),
            ek_cert: r.bytes("ek cert", MAX_BLOB)?.to_vec(),
            ak_public: r.bytes("ak public", MAX_BLOB)?.to_vec(),
            boot_log: r.bytes("boot log", MAX_BLOB)?.to_vec(),
            ima_log: r.bytes("IMA log", MAX_BLOB)?.to_vec(),
        };
        let nq = r.count("quotes", MAX_ITEMS, 16)?;
        let mut quotes = Vec::with_capacity(nq);
        for _ in 0..nq {
            let purpose = r.str("quote purpose", MAX_STR)?;
            let attest = r.bytes("attest", MAX_BLOB)?.to_vec();
            let signature = r.bytes("signature", MAX_BLOB)?.to_vec();
            let np = r.count("pcr values", 64, 7)?;
            let mut pcrs = Vec::with_capacity(np);
            for _ in 0..np {
                pcrs.push(PcrValue {
                    bank: r.u16()?,
                    index: r.u8()?,
                    value: r.bytes("pcr value", 64)?.to_vec(),
                });
            }
            quotes.push(TpmQuote {
                purpose,
                attest,
                signature,
                pcrs,
            });
        }
        let np = r.count("proofs", MAX_ITEMS, 101)?;
        let mut proofs = Vec::with_capacity(np);
        for _ in 0..np {
            let system = match r.u8()? {
                1 => ProofSystem::Groth16Bn254,
                v => {
                    return Err(DecodeError::InvalidValue {
                        what: "proof system",
                        value: v as u64,
                    }
                    .into())
                }
            };
            proofs.push(ProofEntry {
                system,
                circuit_id: r.array32()?,
                vk_digest: r.array32()?,
                public_input: r.array32()?,
                proof: r.bytes("proof", MAX_BLOB)?.to_vec(),
            });
        }
        let nt = r.count("timings", MAX_ITEMS, 12)?;
        let mut timings = Vec::with_capacity(nt);
        for _ in 0..nt {
            timings.push(Timing {
                label: r.str("timing label", MAX_STR)?,
                nanos: r.u64()?,
            });
        }
        r.finish()?;
        Ok(Receipt {
            statement,
            log,
            node,
            quotes,
            proofs,
            timings,
        })
    }

    /// Receipt digest `SHA-256("cuproof.receipt.v1" ‖ 0 ‖ encoding)`.
    pub fn digest(&self) -> Result<[u8; 32], ReceiptError> {
        Ok(tagged_sha256(RECEIPT_TAG, &[&self.encode()?]))
    }

    /// Human-readable JSON rendering (not an input format: the binary encoding is canonical).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("format".into(), "cuproof-receipt".into());
            m.insert("version".into(), RECEIPT_VERSION.into());
            m.insert(
                "statement_digest".into(),
                hex::encode(self.statement.digest()).into(),
            );
            if let Ok(d) = self.digest() {
                m.insert("receipt_digest".into(), hex::encode(d).into());
            }
        }
        v
    }
}
