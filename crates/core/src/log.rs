//! The execution log: what a job did, as canonical records in a hash chain, checkpointed into a TPM PCR and
//! written in the TCG PC Client crypto-agile event-log format (`docs/eventlog.md`).
//!
//! * Each [`Record`] has a canonical encoding `type:u16le ‖ body_len:u32le ‖ body`.
//! * Record digest `d_i = SHA-256("cuproof.log.record.v1" ‖ 0x00 ‖ encoding)`; chain head
//!   `h_i = SHA-256(h_{i-1} ‖ d_i)` from `h_0 = 0^32` (PCR-extend semantics).
//! * A checkpoint groups the records since the previous one into one TCG event whose data is
//!   `"cuproof.ckpt.v1\0" ‖ pcr:u32 ‖ seq:u32 ‖ first:u64 ‖ head_before ‖ head_after ‖ count:u32 ‖ records`, and whose
//!   SHA-256 digest is `SHA-256(data)` (the standard TCG relation between an event's data and its digest; the
//!   16-byte tag at the start of the data separates the domain). That digest is what the TPM extends into the
//!   job PCR, so replaying the TCG log gives the value the TPM holds.

use crate::commitment::{Commitment, COMMITMENT_LEN};
use crate::encoding::{Reader, Writer};
use crate::error::DecodeError;
use crate::hash::{pcr_extend, sha256, tagged_sha256};
use serde::Serialize;
use std::collections::BTreeMap;

/// Tag of record digests.
pub const RECORD_TAG: &[u8] = b"cuproof.log.record.v1";
/// Tag that opens every checkpoint event's data.
pub const CHECKPOINT_TAG: &[u8; 16] = b"cuproof.ckpt.v1\0";
/// TCG event type of a cuproof checkpoint event (outside the ranges the PC Client spec assigns).
pub const EV_CUPROOF_CHECKPOINT: u32 = 0x000C_0F01;
/// TCG `EV_NO_ACTION`.
pub const EV_NO_ACTION: u32 = 0x0000_0003;
/// TCG algorithm id of SHA-256.
pub const TPM_ALG_SHA256: u16 = 0x000B;
/// The PCR a job's log is extended into by default.
pub const DEFAULT_JOB_PCR: u32 = 23;
/// Vendor info written into the Spec ID event.
pub const SPEC_ID_VENDOR: &[u8] = b"cuproof-log-v1";

const MAX_STR: usize = 4096;
const MAX_RECORD: usize = 1 << 20;
const MAX_RECORDS_PER_EVENT: usize = 1 << 20;
const MAX_EVENTS: usize = 1 << 20;
const MAX_SHAPE_DIMS: usize = 8;
const MAX_GPUS: usize = 64;
const MAX_PARAMS: usize = 256;

/// Which backend executed a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The CPU backend: bit-identical results, no GPU claim.
    Cpu,
    /// A CUDA device through the driver API.
    Cuda,
}

impl Backend {
    /// Wire value.
    pub fn id(self) -> u8 {
        match self {
            Backend::Cpu => 0,
            Backend::Cuda => 1,
        }
    }
    /// From a wire value.
    pub fn from_id(v: u8) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(Backend::Cpu),
            1 => Ok(Backend::Cuda),
            v => Err(DecodeError::InvalidValue {
                what: "backend",
                value: v as u64,
            }),
        }
    }
}

/// Element type of a tensor buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// Raw bytes.
    U8,
    /// Signed 8-bit.
    I8,
    /// Signed 32-bit (little-endian).
    I32,
    /// 32-bit float (little-endian).
    F32,
}

impl DType {
    /// Wire value.
    pub fn id(self) -> u8 {
        match self {
            DType::U8 => 0,
            DType::I8 => 1,
            DType::I32 => 2,
            DType::F32 => 3,
        }
    }
    /// From a wire value.
    pub fn from_id(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => DType::U8,
            1 => DType::I8,
            2 => DType::I32,
            3 => DType::F32,
            v => {
                return Err(DecodeError::InvalidValue {
                    what: "dtype",
                    value: v as u64,
                })
            }
        })
    }
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::U8 | DType::I8 => 1,
            DType::I32 | DType::F32 => 4,
        }
    }
    /// Name as in NumPy.
    pub fn name(self) -> &'static str {
        match self {
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::I32 => "int32",
            DType::F32 => "float32",
        }
    }
}

/// What a buffer is to the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferRole {
    /// Given to the job.
    Input,
    /// Produced by the job.
    Output,
    /// Produced and consumed inside the job.
    Intermediate,
}

impl BufferRole {
    /// Wire value.
    pub fn id(self) -> u8 {
        match self {
            BufferRole::Input => 0,
            BufferRole::Output => 1,
            BufferRole::Intermediate => 2,
        }
    }
    /// From a wire value.
    pub fn from_id(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => BufferRole::Input,
            1 => BufferRole::Output,
            2 => BufferRole::Intermediate,
            v => {
                return Err(DecodeError::InvalidValue {
                    what: "buffer role",
                    value: v as u64,
                })
            }
        })
    }
}

/// Format of a loaded module image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleFormat {
    /// PTX text.
    Ptx,
    /// A cubin / fatbin.
    Cubin,
    /// Host code of the CPU backend (digest of the kernel's source).
    Host,
}

impl ModuleFormat {
    /// Wire value.
    pub fn id(self) -> u8 {
        match self {
            ModuleFormat::Ptx => 0,
            ModuleFormat::Cubin => 1,
            ModuleFormat::Host => 2,
        }
    }
    /// From a wire value.
    pub fn from_id(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => ModuleFormat::Ptx,
            1 => ModuleFormat::Cubin,
            2 => ModuleFormat::Host,
            v => {
                return Err(DecodeError::InvalidValue {
                    what: "module format",
                    value: v as u64,
                })
            }
        })
    }
}

/// One GPU as the driver reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GpuInfo {
    /// Device ordinal.
    pub ordinal: u32,
    /// Marketing name, e.g. "NVIDIA H100 80GB HBM3".
    pub name: String,
    /// Device UUID (16 bytes).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub uuid: [u8; 16],
    /// Streaming multiprocessors.
    pub sm_count: u32,
    /// Global memory in bytes.
    pub memory_bytes: u64,
    /// Compute capability (major, minor).
    pub compute_capability: (u8, u8),
    /// Driver version as `cuDriverGetVersion` reports it (e.g. 13000).
    pub driver_version: u32,
}

/// The machine a job ran on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Backend used for the job.
    pub backend: Backend,
    /// Host operating system and architecture.
    pub host: String,
    /// CPU model.
    pub cpu: String,
    /// GPUs visible to the job (empty on the CPU backend).
    pub gpus: Vec<GpuInfo>,
}

/// One record of the execution log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// Start of a job: its identity, workload and the verifier's challenge.
    JobStart {
        /// Job identifier chosen by the requester.
        #[serde(serialize_with = "crate::hexser::bytes")]
        job_id: [u8; 32],
        /// Workload name, e.g. "matmul-i8".
        workload: String,
        /// Workload parameters, sorted by key.
        params: Vec<(String, String)>,
        /// Verifier challenge (nonce).
        #[serde(serialize_with = "crate::hexser::bytes")]
        challenge: [u8; 32],
    },
    /// Host and GPU inventory.
    Inventory(Inventory),
    /// A module image loaded (measured before load).
    ModuleLoad {
        /// Module handle within the job.
        module: u32,
        /// Module name.
        name: String,
        /// Image format.
        format: ModuleFormat,
        /// SHA-256 of the exact image bytes handed to the driver.
        #[serde(serialize_with = "crate::hexser::bytes")]
        image_digest: [u8; 32],
        /// Image length in bytes.
        image_len: u64,
    },
    /// A kernel launch.
    Launch {
        /// Module handle.
        module: u32,
        /// Entry point name.
        entry: String,
        /// Grid dimensions.
        grid: [u32; 3],
        /// Block dimensions.
        block: [u32; 3],
        /// Dynamic shared memory in bytes.
        shared_mem: u32,
        /// SHA-256 of the packed argument bytes.
        #[serde(serialize_with = "crate::hexser::bytes")]
        args_digest: [u8; 32],
    },
    /// A buffer commitment (input, output or intermediate).
    Buffer {
        /// Buffer handle.
        buffer: u32,
        /// Role.
        role: BufferRole,
        /// Name (e.g. "A").
        name: String,
        /// Element type.
        dtype: DType,
        /// Shape (row-major).
        shape: Vec<u64>,
        /// Merkle commitment of the bytes.
        commitment: Commitment,
    },
    /// A challenge received during the job (e.g. rows to open).
    Challenge {
        /// What the challenge is for.
        purpose: String,
        /// The challenge value.
        #[serde(serialize_with = "crate::hexser::bytes")]
        nonce: [u8; 32],
    },
    /// End of a job.
    JobEnd {
        /// 0 = success.
        status: u32,
        /// Wall time of the job in nanoseconds.
        elapsed_ns: u64,
    },
    /// A free-form annotation.
    Note {
        /// Key.
        key: String,
        /// Value bytes.
        #[serde(serialize_with = "crate::hexser::bytes")]
        value: Vec<u8>,
    },
}

impl serde::Serialize for Commitment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Commitment", 4)?;
        st.serialize_field("alg", self.params.alg.name())?;
        st.serialize_field("chunk_size", &self.params.chunk_size())?;
        st.serialize_field("len", &self.len)?;
        st.serialize_field("root", &hex::encode(self.root))?;
        st.end()
    }
}

impl Record {
    /// Wire type.
    pub fn type_id(&self) -> u16 {
        match self {
            Record::JobStart { .. } => 1,
            Record::Inventory(_) => 2,
            Record::ModuleLoad { .. } => 3,
            Record::Launch { .. } => 4,
            Record::Buffer { .. } => 5,
            Record::Challenge { .. } => 6,
            Record::JobEnd { .. } => 7,
            Record::Note { .. } => 8,
        }
    }

    fn encode_body(&self, w: &mut Writer) {
        match self {
            Record::JobStart {
                job_id,
                workload,
                params,
                challenge,
            } => {
                w.raw(job_id).str(workload).u32(params.len() as u32);
                for (k, v) in params {
                    w.str(k).str(v);
                }
                w.raw(challenge);
            }
            Record::Inventory(inv) => {
                w.u8(inv.backend.id())
                    .str(&inv.host)
                    .str(&inv.cpu)
                    .u32(inv.gpus.len() as u32);
                for g in &inv.gpus {
                    w.u32(g.ordinal)
                        .str(&g.name)
                        .raw(&g.uuid)
                        .u32(g.sm_count)
                        .u64(g.memory_bytes)
                        .u8(g.compute_capability.0)
                        .u8(g.compute_capability.1)
                        .u32(g.driver_version);
                }
            }
            Record::ModuleLoad {
                module,
                name,
                format,
                image_digest,
                image_len,
            } => {
                w.u32(*module)
                    .str(name)
                    .u8(format.id())
                    .raw(image_digest)
                    .u64(*image_len);
            }
            Record::Launch {
                module,
                entry,
                grid,
                block,
                shared_mem,
                args_digest,
            } => {
                w.u32(*module).str(entry);
                for v in grid.iter().chain(block.iter()) {
                    w.u32(*v);
                }
                w.u32(*shared_mem).raw(args_digest);
            }
            Record::Buffer {
                buffer,
                role,
                name,
                dtype,
                shape,
                commitment,
            } => {
                w.u32(*buffer)
                    .u8(role.id())
                    .str(name)
                    .u8(dtype.id())
                    .u8(shape.len() as u8);
                for d in shape {
                    w.u64(*d);
                }
                w.raw(&commitment.to_bytes());
            }
            Record::Challenge { purpose, nonce } => {
                w.str(purpose).raw(nonce);
            }
            Record::JobEnd { status, elapsed_ns } => {
                w.u32(*status).u64(*elapsed_ns);
            }
            Record::Note { key, value } => {
                w.str(key).bytes(value);
            }
        }
    }

    /// Canonical encoding `type:u16le ‖ body_len:u32le ‖ body`.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Writer::new();
        self.encode_body(&mut body);
        let body = body.into_bytes();
        let mut w = Writer::new();
        w.u16(self.type_id()).bytes(&body);
        w.into_bytes()
    }

    /// Record digest `SHA-256(RECORD_TAG ‖ 0 ‖ encoding)`.
    pub fn digest(&self) -> [u8; 32] {
        tagged_sha256(RECORD_TAG, &[&self.encode()])
    }

    /// Decode one record from a reader (strict within the record's declared body).
    pub fn decode(r: &mut Reader<'_>) -> Result<Record, DecodeError> {
        let ty = r.u16()?;
        let body = r.bytes("record body", MAX_RECORD)?;
        let mut b = Reader::new(body);
        let rec = match ty {
            1 => {
                let job_id = b.array32()?;
                let workload = b.str("workload", MAX_STR)?;
                let n = b.count("params", MAX_PARAMS, 8)?;
                let mut params = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = b.str("param key", MAX_STR)?;
                    let v = b.str("param value", MAX_STR)?;
                    params.push((k, v));
                }
                if !params.windows(2).all(|p| p[0].0 < p[1].0) {
                    return Err(DecodeError::Inconsistent {
                        what: "job parameters",
                        why: "keys not strictly sorted".into(),
                    });
                }
                let challenge = b.array32()?;
                Record::JobStart {
                    job_id,
                    workload,
                    params,
                    challenge,
                }
            }
            2 => {
                let backend = Backend::from_id(b.u8()?)?;
                let host = b.str("host", MAX_STR)?;
                let cpu = b.str("cpu", MAX_STR)?;
                let n = b.count("gpus", MAX_GPUS, 50)?;
                let mut gpus = Vec::with_capacity(n);
                for _ in 0..n {
                    let ordinal = b.u32()?;
                    let name = b.str("gpu name", MAX_STR)?;
                    let mut uuid = [0u8; 16];
                    uuid.copy_from_slice(b.take(16)?);
                    gpus.push(GpuInfo {
                        ordinal,
                        name,
                        uuid,
                        sm_count: b.u32()?,
                        memory_bytes: b.u64()?,
                        compute_capability: (b.u8()?, b.u8()?),
                        driver_version: b.u32()?,
                    });
                }
                Record::Inventory(Inventory {
                    backend,
                    host,
                    cpu,
                    gpus,
                })
            }
            3 => Record::ModuleLoad {
                module: b.u32()?,
                name: b.str("module name", MAX_STR)?,
                format: ModuleFormat::from_id(b.u8()?)?,
                image_digest: b.array32()?,
                image_len: b.u64()?,
            },
            4 => {
                let module = b.u32()?;
                let entry = b.str("entry", MAX_STR)?;
                let mut dims = [0u32; 6];
                for d in dims.iter_mut() {
                    *d = b.u32()?;
                }
                Record::Launch {
                    module,
                    entry,
                    grid: [dims[0], dims[1], dims[2]],
                    block: [dims[3], dims[4], dims[5]],
                    shared_mem: b.u32()?,
                    args_digest: b.array32()?,
                }
            }
            5 => {
                let buffer = b.u32()?;
                let role = BufferRole::from_id(b.u8()?)?;
                let name = b.str("buffer name", MAX_STR)?;
                let dtype = DType::from_id(b.u8()?)?;
                let nd = b.u8()? as usize;
                if nd > MAX_SHAPE_DIMS {
                    return Err(DecodeError::TooLong {
                        what: "shape",
                        len: nd as u64,
                        limit: MAX_SHAPE_DIMS as u64,
                    });
                }
                let mut shape = Vec::with_capacity(nd);
                for _ in 0..nd {
                    shape.push(b.u64()?);
                }
                let commitment = Commitment::from_bytes(b.take(COMMITMENT_LEN)?).map_err(|e| {
                    DecodeError::Inconsistent {
                        what: "buffer commitment",
                        why: e.to_string(),
                    }
                })?;
                Record::Buffer {
                    buffer,
                    role,
                    name,
                    dtype,
                    shape,
                    commitment,
                }
            }
            6 => Record::Challenge {
                purpose: b.str("challenge purpose", MAX_STR)?,
                nonce: b.array32()?,
            },
            7 => Record::JobEnd {
                status: b.u32()?,
                elapsed_ns: b.u64()?,
            },
            8 => Record::Note {
                key: b.str("note key", MAX_STR)?,
                value: b.bytes("note value", MAX_RECORD)?.to_vec(),
            },
            v => {
                return Err(DecodeError::InvalidValue {
                    what: "record type",
                    value: v as u64,
                })
            }
        };
        b.finish()?;
        Ok(rec)
    }
}

/// A checkpoint: one TCG event covering the records since the previous checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// PCR the event is extended into.
    pub pcr: u32,
    /// Sequence number (0, 1, …).
    pub seq: u32,
    /// Index of the first record covered.
    pub first: u64,
    /// Number of records covered.
    pub count: u32,
    /// Chain head before the first covered record.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub head_before: [u8; 32],
    /// Chain head after the last covered record.
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub head_after: [u8; 32],
}

/// Errors of the execution log.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LogError {
    /// Malformed bytes.
    #[error("malformed event log: {0}")]
    Decode(#[from] DecodeError),
    /// An event's digest is not SHA-256 of its data.
    #[error("event {event}: digest does not match its data")]
    DigestMismatch {
        /// Event index (0 = first checkpoint event).
        event: usize,
    },
    /// The checkpoint's chain fields do not follow from its records.
    #[error("event {event}: hash chain broken ({why})")]
    ChainBroken {
        /// Event index.
        event: usize,
        /// What did not match.
        why: &'static str,
    },
    /// Records were appended after the last checkpoint and would be lost.
    #[error("{0} records are not yet covered by a checkpoint")]
    Pending(usize),
}

/// The execution log of one job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionLog {
    records: Vec<Record>,
    heads: Vec<[u8; 32]>,
    checkpoints: Vec<Checkpoint>,
}

impl ExecutionLog {
    /// An empty log (chain head `0^32`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a record; returns its index.
    pub fn append(&mut self, record: Record) -> u64 {
        let head = pcr_extend(&self.head(), &record.digest());
        self.records.push(record);
        self.heads.push(head);
        (self.records.len() - 1) as u64
    }

    /// The records.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The checkpoints.
    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }

    /// Current chain head.
    pub fn head(&self) -> [u8; 32] {
        self.heads.last().copied().unwrap_or([0; 32])
    }

    /// Records not yet covered by a checkpoint.
    pub fn pending(&self) -> usize {
        self.records.len() - self.covered()
    }

    fn covered(&self) -> usize {
        self.checkpoints
            .last()
            .map_or(0, |c| (c.first + c.count as u64) as usize)
    }

    /// Close a checkpoint over the pending records (possibly none) and return the TCG event data and the
    /// SHA-256 digest that the TPM must extend into `pcr`.
    pub fn checkpoint(&mut self, pcr: u32) -> ([u8; 32], Vec<u8>) {
        let first = self.covered();
        let head_before = if first == 0 {
            [0; 32]
        } else {
            self.heads[first - 1]
        };
        let cp = Checkpoint {
            pcr,
            seq: self.checkpoints.len() as u32,
            first: first as u64,
            count: (self.records.len() - first) as u32,
            head_before,
            head_after: self.head(),
        };
        let data = self.event_data(&cp);
        self.checkpoints.push(cp);
        (sha256(&data), data)
    }

    fn event_data(&self, cp: &Checkpoint) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(CHECKPOINT_TAG)
            .u32(cp.pcr)
            .u32(cp.seq)
            .u64(cp.first)
            .raw(&cp.head_before)
            .raw(&cp.head_after)
            .u32(cp.count);
        let start = cp.first as usize;
        for r in &self.records[start..start + cp.count as usize] {
            w.raw(&r.encode());
        }
        w.into_bytes()
    }

    /// Replay the checkpoint events: the value each PCR must hold (SHA-256 bank, from `0^32`).
    pub fn replay_pcrs(&self) -> BTreeMap<u32, [u8; 32]> {
        let mut pcrs = BTreeMap::new();
        for cp in &self.checkpoints {
            let d = sha256(&self.event_data(cp));
            let v = pcrs.entry(cp.pcr).or_insert([0u8; 32]);
            *v = pcr_extend(v, &d);
        }
        pcrs
    }

    /// Write the log in the TCG PC Client crypto-agile format: a Spec ID event (`TCG_PCClientPCREvent`,
    /// `EV_NO_ACTION`, SHA-256 only) followed by one `TCG_PCR_EVENT2` per checkpoint.
    pub fn to_tcg_bytes(&self) -> Result<Vec<u8>, LogError> {
        if self.pending() != 0 {
            return Err(LogError::Pending(self.pending()));
        }
        let mut w = Writer::new();
        let spec = spec_id_event();
        w.u32(0).u32(EV_NO_ACTION).raw(&[0u8; 20]).bytes(&spec);
        for cp in &self.checkpoints {
            let data = self.event_data(cp);
            w.u32(cp.pcr)
                .u32(EV_CUPROOF_CHECKPOINT)
                .u32(1)
                .u16(TPM_ALG_SHA256)
                .raw(&sha256(&data))
                .bytes(&data);
        }
        Ok(w.into_bytes())
    }

    /// Strictly parse a TCG log written by [`ExecutionLog::to_tcg_bytes`]: checks the Spec ID event, that every
    /// event is ours, that its digest is SHA-256 of its data, that sequence numbers and record indices follow,
    /// and that each checkpoint's chain heads follow from its records.
    pub fn from_tcg_bytes(bytes: &[u8]) -> Result<Self, LogError> {
        let mut r = Reader::new(bytes);
        let pcr0 = r.u32()?;
        let ty = r.u32()?;
        let zero = r.take(20)?;
        let spec = r.bytes("spec id event", 4096)?;
        if pcr0 != 0
            || ty != EV_NO_ACTION
            || zero.iter().any(|&b| b != 0)
            || spec != spec_id_event()
        {
            return Err(LogError::Decode(DecodeError::BadMagic { offset: 0 }));
        }
        let mut log = ExecutionLog::new();
        let mut event = 0usize;
        while r.remaining() > 0 {
            if event >= MAX_EVENTS {
                return Err(DecodeError::TooLong {
                    what: "events",
                    len: event as u64,
                    limit: MAX_EVENTS as u64,
                }
                .into());
            }
            let pcr = r.u32()?;
            let ety = r.u32()?;
            if ety != EV_CUPROOF_CHECKPOINT {
                return Err(DecodeError::InvalidValue {
                    what: "event type",
                    value: ety as u64,
                }
                .into());
            }
            if pcr > 23 {
                return Err(DecodeError::InvalidValue {
                    what: "pcr index",
                    value: pcr as u64,
                }
                .into());
            }
            if r.u32()? != 1 || r.u16()? != TPM_ALG_SHA256 {
                return Err(DecodeError::Inconsistent {
                    what: "event digests",
                    why: "expected exactly one SHA-256 digest".into(),
                }
                .into());
            }
            let digest = r.array32()?;
            let data = r.bytes("event data", usize::MAX)?;
            if sha256(data) != digest {
                return Err(LogError::DigestMismatch { event });
            }
            let mut d = Reader::new(data);
            if d.take(16)? != CHECKPOINT_TAG {
                return Err(DecodeError::BadMagic { offset: r.offset() }.into());
            }
            if d.u32()? != pcr {
                return Err(LogError::ChainBroken {
                    event,
                    why: "event PCR differs from the PCR in its data",
                });
            }
            let seq = d.u32()?;
            let first = d.u64()?;
            let head_before = d.array32()?;
            let head_after = d.array32()?;
            let count = d.count("records", MAX_RECORDS_PER_EVENT, 6)?;
            if seq as usize != event || first != log.records.len() as u64 {
                return Err(LogError::ChainBroken {
                    event,
                    why: "sequence or record index out of order",
                });
            }
            if head_before != log.head() {
                return Err(LogError::ChainBroken {
                    event,
                    why: "head_before is not the previous head",
                });
            }
            for _ in 0..count {
                let rec = Record::decode(&mut d)?;
                log.append(rec);
            }
            d.finish()?;
            if head_after != log.head() {
                return Err(LogError::ChainBroken {
                    event,
                    why: "head_after does not follow from the records",
                });
            }
            log.checkpoints.push(Checkpoint {
                pcr,
                seq,
                first,
                count: count as u32,
                head_before,
                head_after,
            });
            event += 1;
        }
        Ok(log)
    }
}

/// The body of the Spec ID event (`TCG_EfiSpecIDEventStruct`): signature "Spec ID Event03", platform class 0,
/// spec version 2.0 errata 0, UINTN size 2 (64-bit), one algorithm (SHA-256, 32 bytes), vendor info.
pub fn spec_id_event() -> Vec<u8> {
    let mut w = Writer::new();
    w.raw(b"Spec ID Event03\0")
        .u32(0)
        .u8(0)
        .u8(2)
        .u8(0)
        .u8(2)
        .u32(1)
        .u16(TPM_ALG_SHA256)
        .u16(32)
        .u8(SPEC_ID_VENDOR.len() as u8)
        .raw(SPEC_ID_VENDOR);
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commitment::{commit, CommitParams};

    pub(crate) fn sample_log() -> ExecutionLog {
        let mut log = ExecutionLog::new();
        log.append(Record::JobStart {
            job_id: [1; 32],
            workload: "matmul-i8".into(),
            params: vec![("k".into(), "8".into()), ("m".into(), "8".into())],
            challenge: [2; 32],
        });
        log.append(Record::Inventory(Inventory {
            backend: Backend::Cpu,
            host: "linux-x86_64".into(),
            cpu: "test".into(),
            gpus: vec![GpuInfo {
                ordinal: 0,
                name: "NVIDIA H100 80GB HBM3".into(),
                uuid: [9; 16],
                sm_count: 132,
                memory_bytes: 80 << 30,
                compute_capability: (9, 0),
                driver_version: 13000,
            }],
        }));
        log.checkpoint(DEFAULT_JOB_PCR);
        log.append(Record::ModuleLoad {
            module: 0,
            name: "gemm".into(),
            format: ModuleFormat::Ptx,
            image_digest: [3; 32],
            image_len: 1234,
        });
        log.append(Record::Launch {
            module: 0,
            entry: "gemm_i8".into(),
            grid: [4, 4, 1],
            block: [128, 1, 1],
            shared_mem: 0,
            args_digest: [4; 32],
        });
        log.append(Record::Buffer {
            buffer: 2,
            role: BufferRole::Output,
            name: "C".into(),
            dtype: DType::I32,
            shape: vec![8, 8],
            commitment: commit(&[0u8; 256], &CommitParams::default()),
        });
        log.append(Record::Challenge {
            purpose: "rows".into(),
            nonce: [5; 32],
        });
        log.append(Record::Note {
            key: "k".into(),
            value: vec![1, 2],
        });
        log.append(Record::JobEnd {
            status: 0,
            elapsed_ns: 42,
        });
        log.checkpoint(DEFAULT_JOB_PCR);
        log
    }

    #[test]
    fn roundtrip_and_replay() {
        let log = sample_log();
        let bytes = log.to_tcg_bytes().unwrap();
        let back = ExecutionLog::from_tcg_bytes(&bytes).unwrap();
        assert_eq!(back, log);
        let pcrs = log.replay_pcrs();
        let mut expect = [0u8; 32];
        for cp in log.checkpoints() {
            expect = pcr_extend(&expect, &sha256(&log.event_data(cp)));
        }
        assert_eq!(pcrs[&DEFAULT_JOB_PCR], expect);
    }

    #[test]
    fn pending_records_refuse_to_encode() {
        let mut log = sample_log();
        log.append(Record::JobEnd {
            status: 1,
            elapsed_ns: 1,
        });
        assert_eq!(log.to_tcg_bytes(), Err(LogError::Pending(1)));
    }

    #[test]
    fn tampering_detected() {
        let bytes = sample_log().to_tcg_bytes().unwrap();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(ExecutionLog::from_tcg_bytes(&trailing).is_err());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            match ExecutionLog::from_tcg_bytes(&b) {
                Err(_) => {}
                Ok(l) => panic!("flip at {i} accepted: {l:?}"),
            }
        }
    }
}
