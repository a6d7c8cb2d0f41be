//! A measured job over **your own** kernels: open a backend, load PTX modules (measured), upload committed
//! inputs, launch kernels (every launch logged), commit outputs, checkpoint into the TPM, and finish with a quote
//! → a [`Receipt`] that `cuproof-verify` checks.
//!
//! ```no_run
//! use cuproof::job::{BackendChoice, CpuArg, JobSpec, KernelArg, LaunchConfig, MeasuredJob};
//! use cuproof::node::NodeSession;
//! use cuproof_core::log::DType;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ptx = std::fs::read_to_string("vadd.ptx")?;            // your kernel, as PTX text
//! let mut node = NodeSession::open(None)?;                    // the configured TPM, or a private swtpm
//! let spec = JobSpec::new("vadd-i32", [1; 32], [2; 32]).param("n", "4");
//! let mut job = MeasuredJob::start(&mut node, spec, BackendChoice::Auto)?;
//! job.load_ptx("vadd", &ptx)?;                                // digest logged before the driver sees it
//! // What the CPU backend runs in place of the GPU kernel: the whole grid's effect, on the buffers' bytes.
//! job.cpu_twin("vadd", "vadd_i32", |_cfg, args| {
//!     let n = args[3].as_u32()? as usize;
//!     let a = cuproof::job::u32s(args[0].buffer()?);
//!     let b = cuproof::job::u32s(args[1].buffer()?);
//!     let out = args[2].buffer_mut()?;
//!     for i in 0..n {
//!         out[4 * i..4 * i + 4].copy_from_slice(&a[i].wrapping_add(b[i]).to_le_bytes());
//!     }
//!     Ok(())
//! })?;
//! let le = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
//! let a = job.input("a", DType::I32, &[4], &le(&[1, 2, 3, 4]))?;      // committed, Buffer record logged
//! let b = job.input("b", DType::I32, &[4], &le(&[10, 20, 30, 40]))?;
//! let c = job.alloc(16)?;
//! job.launch("vadd", "vadd_i32", LaunchConfig::linear(4, 128),
//!            &[KernelArg::Buffer(a), KernelArg::Buffer(b), KernelArg::Buffer(c), KernelArg::U32(4)])?;
//! job.commit_output(c, "c", DType::I32, &[4])?;               // output commitment logged; `c` is now frozen
//! let receipt = job.finish(&["c"])?;                          // JobEnd, checkpoint, quote → receipt
//! # let _ = receipt; Ok(()) }
//! ```
//!
//! ## What is logged
//! * `JobStart` (job id, workload, parameters, challenge) first, then the `Inventory` (backend = `cpu` or
//!   `cuda`, the GPU) and the runtime's own measured modules; this prefix is extended into the job PCR by
//!   [`MeasuredJob::start`].
//! * [`MeasuredJob::load_ptx`]: a `ModuleLoad` record with the SHA-256 of the exact PTX text **before** the text
//!   is handed to the driver. A launch of a module that was not loaded this way is
//!   [`JobError::Unmeasured`]; an entry the PTX does not declare is [`JobError::UnknownEntry`].
//! * [`MeasuredJob::input`]: the commitment of the bytes (computed by the backend's commitment kernels) as a
//!   `Buffer` record with role `input`, before the buffer is used.
//! * [`MeasuredJob::launch`]: a `Launch` record (module, entry, grid, block, dynamic shared memory, SHA-256 of
//!   the packed argument bytes) **before** the launch is issued. Buffer arguments are device pointers on CUDA
//!   and buffer handles on the CPU backend.
//! * [`MeasuredJob::commit_output`]: the output's commitment as a `Buffer` record with role `output`.
//! * [`MeasuredJob::finish`]: `JobEnd`, a last checkpoint, and a TPM quote whose qualifying data is
//!   `receipt.qualifying_data(challenge)` (challenge ‖ binding digest of everything but the quotes).
//!
//! ## The CPU backend and CPU twins
//! Without the `cuda` feature or a usable GPU the job runs on the CPU backend and the log says
//! `backend = cpu` (a production policy rejects such receipts). The CPU backend cannot run PTX: for each entry
//! you launch, register a *CPU twin* with [`MeasuredJob::cpu_twin`] — a closure called **once per launch** with
//! the launch configuration and the arguments ([`CpuArg`]: buffers as their bytes, scalars as values) that must
//! do what the whole grid does. The PTX is still measured (its digest is what the log names), and the
//! registration of each twin is logged as a `Note` (`cpu-twin` = `module/entry`). On CUDA, twins are ignored.
//! Make the twin bit-identical to the kernel (integer math, or IEEE operations in the same order) so that
//! commitments agree across backends.
//!
//! ## Misuse is a typed error, never a panic
//! Unmeasured module, unknown entry, missing twin, unknown or foreign buffer, the same buffer twice in one CPU
//! launch, a committed output passed to a later launch ([`JobError::FrozenOutput`]), shape/size mismatch, a
//! duplicate tensor name, an output named in [`MeasuredJob::finish`] but never committed
//! ([`JobError::OutputNotCommitted`]), finishing twice ([`JobError::Finished`]). A failure after a launch was
//! logged (a twin error, a driver error) poisons the job: [`MeasuredJob::finish`] then returns
//! [`JobError::Poisoned`] instead of a receipt over a log that does not match what happened.

use crate::error::RuntimeError;
use crate::node::{NodeError, NodeSession};
use crate::runtime::{Arg, Runtime};
use cuproof_core::commitment::{CommitParams, Commitment};
use cuproof_core::log::{Backend, BufferRole, DType, ModuleFormat, Record, DEFAULT_JOB_PCR};
use cuproof_core::receipt::{ProofEntry, Receipt, Statement, TensorCommitment, Timing};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Longest string (workload, parameter, tensor, module or entry name) a receipt holds.
pub const MAX_NAME: usize = 4096;

/// Purpose string of the job quote (what `cuproof-verify`'s policies look for by default).
pub const JOB_QUOTE_PURPOSE: &str = "job-end";

/// How often the job quote is retried when the IMA list grew between reading it and quoting.
const IMA_QUOTE_ATTEMPTS: usize = 5;

/// Errors of a measured job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The receipt could not be encoded (for its binding digest).
    #[error("receipt: {0}")]
    Receipt(String),
    /// A proof for the statement could not be made.
    #[error("proof: {0}")]
    Proof(String),
    /// The runtime (backend, driver, commitment kernels) failed.
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
    /// The TPM session failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A launch names a module that was not loaded through [`MeasuredJob::load_ptx`].
    #[error("module {0:?} was not loaded through the measured loader")]
    Unmeasured(String),
    /// The module's PTX declares no such entry.
    #[error("module {module:?} has no entry {entry:?}")]
    UnknownEntry {
        /// Module name.
        module: String,
        /// Entry name.
        entry: String,
    },
    /// A module of this name is already loaded (the runtime's own modules included).
    #[error("a module named {0:?} is already loaded")]
    ModuleAlreadyLoaded(String),
    /// The module image is not usable PTX.
    #[error("module {module:?}: {reason}")]
    InvalidModule {
        /// Module name.
        module: String,
        /// Why.
        reason: String,
    },
    /// The CPU backend has no twin for this entry.
    #[error("no CPU twin registered for {module}/{entry} (see MeasuredJob::cpu_twin)")]
    NoCpuTwin {
        /// Module name.
        module: String,
        /// Entry name.
        entry: String,
    },
    /// The CPU twin reported an error.
    #[error("CPU twin of {module}/{entry} failed: {reason}")]
    CpuTwin {
        /// Module name.
        module: String,
        /// Entry name.
        entry: String,
        /// The twin's message.
        reason: String,
    },
    /// A buffer that this job does not hold (freed, or from another job).
    #[error("unknown buffer {0}")]
    UnknownBuffer(u32),
    /// The same buffer appears twice among the arguments of one CPU launch.
    #[error("buffer {0} is passed twice to one CPU launch")]
    AliasedBuffer(u32),
    /// A committed output was passed to a later launch: its commitment could go stale.
    #[error("output {0:?} is committed and frozen; it cannot be passed to a later launch")]
    FrozenOutput(String),
    /// Sizes, shapes or launch dimensions do not fit.
    #[error("invalid shape: {0}")]
    Shape(String),
    /// Two statement tensors with the same role and name.
    #[error("tensor {0:?} is already committed")]
    DuplicateTensor(String),
    /// [`MeasuredJob::set_field_commitment`] names a tensor that is not committed.
    #[error("no committed tensor {0:?}")]
    UnknownTensor(String),
    /// [`MeasuredJob::finish`] names an output that was never committed.
    #[error("output {0:?} is named for the receipt but was never committed")]
    OutputNotCommitted(String),
    /// A job parameter is invalid (names too long, keys not unique).
    #[error("invalid job specification: {0}")]
    Spec(String),
    /// The job was already finished (or its finishing failed).
    #[error("the job is already finished")]
    Finished,
    /// An earlier failure after a logged launch: the job cannot yield a receipt.
    #[error("the job is poisoned by an earlier failure: {0}")]
    Poisoned(String),
    /// The backend's own Freivalds check rejected the product it computed (a faulty device or driver).
    #[error("the backend's Freivalds check rejected its own product {0:?}: the device computed a wrong C")]
    WrongProduct(String),
}

/// Which backend a job runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// CUDA device 0 when the `cuda` feature is on and a device is usable, else the CPU backend
    /// ([`MeasuredJob::why_cpu`] says why).
    Auto,
    /// The CPU backend (CPU twins run in place of the kernels).
    Cpu,
    /// CUDA device `ordinal`; an error when none is usable.
    #[cfg(feature = "cuda")]
    Cuda(u32),
}

/// What the job is: the `JobStart` record and the statement's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSpec {
    /// Workload name (the user's own, e.g. `"vadd-i32"`).
    pub workload: String,
    /// Job identifier chosen by the requester.
    pub job_id: [u8; 32],
    /// The verifier's challenge (nonce) this job answers.
    pub challenge: [u8; 32],
    /// Workload parameters; [`MeasuredJob::start`] sorts them by key (keys must be unique).
    pub params: Vec<(String, String)>,
    /// Node label written into the receipt.
    pub label: String,
    /// The job PCR (23 by default, resettable from locality 0).
    pub pcr: u8,
}

impl JobSpec {
    /// A job of `workload` with no parameters, label `"node"`, PCR 23.
    pub fn new(workload: impl Into<String>, job_id: [u8; 32], challenge: [u8; 32]) -> Self {
        JobSpec {
            workload: workload.into(),
            job_id,
            challenge,
            params: Vec::new(),
            label: "node".into(),
            pcr: DEFAULT_JOB_PCR as u8,
        }
    }

    /// Adds a parameter (builder style).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((key.into(), value.into()));
        self
    }

    /// Sets the node label (builder style).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    fn validated(mut self) -> Result<Self, JobError> {
        check_name("workload", &self.workload)?;
        check_name("label", &self.label)?;
        for (k, v) in &self.params {
            check_name("parameter key", k)?;
            check_len("parameter value", v)?;
        }
        self.params.sort_by(|a, b| a.0.cmp(&b.0));
        if self.params.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(JobError::Spec("parameter keys must be unique".into()));
        }
        if self.pcr > 23 {
            return Err(JobError::Spec(format!("PCR {} does not exist", self.pcr)));
        }
        Ok(self)
    }
}

fn check_len(what: &str, s: &str) -> Result<(), JobError> {
    if s.len() > MAX_NAME {
        return Err(JobError::Spec(format!(
            "{what} is {} bytes (at most {MAX_NAME})",
            s.len()
        )));
    }
    Ok(())
}

fn check_name(what: &str, s: &str) -> Result<(), JobError> {
    if s.is_empty() {
        return Err(JobError::Spec(format!("{what} is empty")));
    }
    check_len(what, s)
}

/// A buffer of one [`MeasuredJob`] (device memory on CUDA, host memory on the CPU backend).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobBuffer {
    job: u64,
    handle: u32,
}

impl JobBuffer {
    /// The buffer handle (recorded in `Buffer` records and, on the CPU backend, in place of device pointers).
    pub fn handle(self) -> u32 {
        self.handle
    }
}

/// One kernel argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelArg {
    /// A buffer of this job (the kernel receives its device pointer).
    Buffer(JobBuffer),
    /// A 32-bit unsigned scalar.
    U32(u32),
    /// A 32-bit signed scalar.
    I32(i32),
    /// A 64-bit unsigned scalar.
    U64(u64),
    /// A 32-bit float scalar (its bits are what the argument digest covers).
    F32(f32),
}

/// A launch configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    /// Grid dimensions (blocks).
    pub grid: [u32; 3],
    /// Block dimensions (threads).
    pub block: [u32; 3],
    /// Dynamic shared memory in bytes.
    pub shared_mem: u32,
}

impl LaunchConfig {
    /// A 1-D launch covering `n` threads with `block` threads per block (at least one block).
    pub fn linear(n: u32, block: u32) -> Self {
        let block = block.max(1);
        LaunchConfig {
            grid: [n.div_ceil(block).max(1), 1, 1],
            block: [block, 1, 1],
            shared_mem: 0,
        }
    }

    fn check(&self) -> Result<(), JobError> {
        if self.grid.contains(&0) || self.block.contains(&0) {
            return Err(JobError::Shape(format!(
                "grid {:?} and block {:?} must be non-zero",
                self.grid, self.block
            )));
        }
        let threads = self.block.iter().map(|&b| b as u64).product::<u64>();
        if threads > 1024 {
            return Err(JobError::Shape(format!(
                "block {:?} has {threads} threads (at most 1024)",
                self.block
            )));
        }
        Ok(())
    }
}

/// An argument as a CPU twin sees it.
#[derive(Debug, PartialEq)]
pub enum CpuArg {
    /// A buffer's bytes (the twin may write them; it must not change their length).
    Buffer(Vec<u8>),
    /// A 32-bit unsigned scalar.
    U32(u32),
    /// A 32-bit signed scalar.
    I32(i32),
    /// A 64-bit unsigned scalar.
    U64(u64),
    /// A 32-bit float scalar.
    F32(f32),
}

impl CpuArg {
    /// The buffer's bytes, or an error naming what the argument is.
    pub fn buffer(&self) -> Result<&[u8], String> {
        match self {
            CpuArg::Buffer(v) => Ok(v),
            other => Err(format!("expected a buffer argument, got {other:?}")),
        }
    }
    /// The buffer's bytes, writable.
    pub fn buffer_mut(&mut self) -> Result<&mut [u8], String> {
        match self {
            CpuArg::Buffer(v) => Ok(v),
            other => Err(format!("expected a buffer argument, got {other:?}")),
        }
    }
    /// A `u32` scalar.
    pub fn as_u32(&self) -> Result<u32, String> {
        match self {
            CpuArg::U32(v) => Ok(*v),
            other => Err(format!("expected a u32 argument, got {other:?}")),
        }
    }
    /// An `i32` scalar.
    pub fn as_i32(&self) -> Result<i32, String> {
        match self {
            CpuArg::I32(v) => Ok(*v),
            other => Err(format!("expected an i32 argument, got {other:?}")),
        }
    }
    /// A `u64` scalar.
    pub fn as_u64(&self) -> Result<u64, String> {
        match self {
            CpuArg::U64(v) => Ok(*v),
            other => Err(format!("expected a u64 argument, got {other:?}")),
        }
    }
    /// An `f32` scalar.
    pub fn as_f32(&self) -> Result<f32, String> {
        match self {
            CpuArg::F32(v) => Ok(*v),
            other => Err(format!("expected an f32 argument, got {other:?}")),
        }
    }
}

/// Little-endian `u32` words of a byte slice (a trailing partial word is ignored).
pub fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Little-endian bytes of `u32` words.
pub fn u32_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A CPU twin: called once per launch with the launch configuration and the arguments; does what the whole
/// grid does. An `Err` fails the launch (and poisons the job).
pub type CpuTwin = Box<dyn FnMut(&LaunchConfig, &mut [CpuArg]) -> Result<(), String> + Send>;

struct UserModule {
    entries: Vec<String>,
    twins: HashMap<String, CpuTwin>,
}

enum Mem {
    Host(Vec<u8>),
    #[cfg(feature = "cuda")]
    Device(cust::memory::DeviceBuffer<u8>),
}

struct Buf {
    mem: Mem,
    len: usize,
    /// Name of the output it was committed as (frozen).
    output: Option<String>,
}

/// Entry names declared by a PTX module (`.entry NAME`).
pub fn ptx_entries(ptx: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = ptx;
    while let Some(i) = rest.find(".entry") {
        let after = &rest[i + ".entry".len()..];
        let boundary_ok = after.starts_with(|c: char| c.is_whitespace());
        let name: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
            .collect();
        if boundary_ok && !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        rest = after;
    }
    out
}

static NEXT_JOB: AtomicU64 = AtomicU64::new(1);

/// A measured job in progress (see the module documentation).
pub struct MeasuredJob<'n> {
    node: &'n mut NodeSession,
    spec: JobSpec,
    rt: Option<Runtime>,
    why_cpu: Option<String>,
    id: u64,
    modules: HashMap<String, UserModule>,
    buffers: HashMap<u32, Buf>,
    tensors: Vec<TensorCommitment>,
    params: CommitParams,
    poisoned: Option<String>,
    started: Instant,
    timings: Vec<Timing>,
    #[cfg(feature = "cuda")]
    shadow: crate::runtime::Recorder,
}

impl std::fmt::Debug for MeasuredJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeasuredJob")
            .field("workload", &self.spec.workload)
            .field("backend", &self.rt.as_ref().map(|r| r.backend()))
            .field("modules", &self.modules.keys().collect::<Vec<_>>())
            .field("buffers", &self.buffers.len())
            .field("tensors", &self.tensors.len())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl<'n> MeasuredJob<'n> {
    /// Starts a job: resets the job PCR, opens the backend with the log starting with `JobStart`, and extends
    /// the first checkpoint (JobStart, Inventory, the runtime's measured modules) into the job PCR.
    pub fn start(
        node: &'n mut NodeSession,
        spec: JobSpec,
        backend: BackendChoice,
    ) -> Result<Self, JobError> {
        let spec = spec.validated()?;
        let job_start = Record::JobStart {
            job_id: spec.job_id,
            workload: spec.workload.clone(),
            params: spec.params.clone(),
            challenge: spec.challenge,
        };
        node.reset(spec.pcr)?;
        let (mut rt, why_cpu) = match backend {
            BackendChoice::Auto => {
                let (rt, why) = Runtime::auto_for_job(Some(job_start));
                (rt, why.map(|e| e.to_string()))
            }
            BackendChoice::Cpu => (
                Runtime::cpu_for_job(Some(job_start)),
                Some("the CPU backend was requested".to_string()),
            ),
            #[cfg(feature = "cuda")]
            BackendChoice::Cuda(ordinal) => {
                (Runtime::cuda_for_job(ordinal, Some(job_start))?, None)
            }
        };
        let (digest, _) = rt.checkpoint(spec.pcr as u32);
        node.extend(spec.pcr, &digest)?;
        Ok(MeasuredJob {
            node,
            spec,
            rt: Some(rt),
            why_cpu,
            id: NEXT_JOB.fetch_add(1, Ordering::Relaxed),
            modules: HashMap::new(),
            buffers: HashMap::new(),
            tensors: Vec::new(),
            params: CommitParams::default(),
            poisoned: None,
            started: Instant::now(),
            timings: Vec::new(),
            #[cfg(feature = "cuda")]
            shadow: crate::runtime::Recorder::new(),
        })
    }

    /// The backend the job runs on (also in the log's `Inventory`).
    pub fn backend(&self) -> Option<Backend> {
        self.rt.as_ref().map(|r| r.backend())
    }

    /// Why the CPU backend is used, when it is.
    pub fn why_cpu(&self) -> Option<&str> {
        self.why_cpu.as_deref()
    }

    /// The job specification (parameters sorted).
    pub fn spec(&self) -> &JobSpec {
        &self.spec
    }

    /// The execution log so far.
    pub fn log(&self) -> Option<&cuproof_core::log::ExecutionLog> {
        self.rt.as_ref().map(|r| r.log())
    }

    /// The statement tensors committed so far.
    pub fn tensors(&self) -> &[TensorCommitment] {
        &self.tensors
    }

    fn rt(&mut self) -> Result<&mut Runtime, JobError> {
        if let Some(p) = &self.poisoned {
            return Err(JobError::Poisoned(p.clone()));
        }
        self.rt.as_mut().ok_or(JobError::Finished)
    }

    fn poison(&mut self, e: JobError) -> JobError {
        self.poisoned = Some(e.to_string());
        e
    }

    /// Loads a PTX module: its SHA-256 is logged (`ModuleLoad`) before the text is handed to the driver.
    /// `name` is what launches refer to.
    pub fn load_ptx(&mut self, name: &str, ptx: &str) -> Result<(), JobError> {
        check_name("module name", name).map_err(|_| JobError::InvalidModule {
            module: name.chars().take(64).collect(),
            reason: format!("module names are 1..={MAX_NAME} bytes"),
        })?;
        let entries = ptx_entries(ptx);
        if entries.is_empty() {
            return Err(JobError::InvalidModule {
                module: name.to_string(),
                reason: "the PTX declares no .entry".into(),
            });
        }
        if ptx.contains('\0') {
            return Err(JobError::InvalidModule {
                module: name.to_string(),
                reason: "PTX text contains a NUL byte".into(),
            });
        }
        let known = self.modules.contains_key(name);
        let rt = self.rt()?;
        if known || rt.recorder().module_handle(name).is_ok() {
            return Err(JobError::ModuleAlreadyLoaded(name.to_string()));
        }
        let token = rt.recorder().measure_module(name, ModuleFormat::Ptx, ptx);
        #[cfg(feature = "cuda")]
        {
            self.shadow.measure_module(name, ModuleFormat::Ptx, ptx);
            let rt = self.rt.as_mut().ok_or(JobError::Finished)?;
            if let Some(exec) = rt.cuda_exec() {
                if let Err(e) = exec.load(token) {
                    // The ModuleLoad is logged but the driver refused the image: nothing may launch from it.
                    return Err(self.poison(JobError::Runtime(e)));
                }
            }
        }
        #[cfg(not(feature = "cuda"))]
        let _ = token;
        self.modules.insert(
            name.to_string(),
            UserModule {
                entries,
                twins: HashMap::new(),
            },
        );
        Ok(())
    }

    /// Registers the CPU twin of `module`/`entry` (used on the CPU backend only; see the module
    /// documentation). The module must be loaded and declare the entry.
    pub fn cpu_twin<F>(&mut self, module: &str, entry: &str, twin: F) -> Result<(), JobError>
    where
        F: FnMut(&LaunchConfig, &mut [CpuArg]) -> Result<(), String> + Send + 'static,
    {
        let on_cpu = self.rt()?.backend() == Backend::Cpu;
        let m = self
            .modules
            .get_mut(module)
            .ok_or_else(|| JobError::Unmeasured(module.to_string()))?;
        if !m.entries.iter().any(|e| e == entry) {
            return Err(JobError::UnknownEntry {
                module: module.to_string(),
                entry: entry.to_string(),
            });
        }
        m.twins.insert(entry.to_string(), Box::new(twin));
        if on_cpu {
            self.rt()?.recorder().append(Record::Note {
                key: "cpu-twin".into(),
                value: format!("{module}/{entry}").into_bytes(),
            });
        }
        Ok(())
    }

    fn new_buffer(&mut self, data: Option<&[u8]>, len: usize) -> Result<JobBuffer, JobError> {
        let rt = self.rt()?;
        let handle = rt.recorder().buffer_handle();
        #[cfg(feature = "cuda")]
        let mem = match rt.cuda_exec() {
            Some(exec) => Mem::Device(match data {
                Some(d) => exec.upload(d)?,
                None => exec.alloc(len)?,
            }),
            None => Mem::Host(data.map(|d| d.to_vec()).unwrap_or_else(|| vec![0; len])),
        };
        #[cfg(not(feature = "cuda"))]
        let mem = Mem::Host(data.map(|d| d.to_vec()).unwrap_or_else(|| vec![0; len]));
        self.buffers.insert(
            handle,
            Buf {
                mem,
                len,
                output: None,
            },
        );
        Ok(JobBuffer {
            job: self.id,
            handle,
        })
    }

    fn tensor_exists(&self, role: BufferRole, name: &str) -> bool {
        self.tensors
            .iter()
            .any(|t| t.role == role && t.name == name)
    }

    /// Uploads a committed input: the commitment of `bytes` (computed by the backend) is logged as a `Buffer`
    /// record (role input) and becomes a statement tensor. `shape` × `dtype` must cover `bytes` exactly.
    pub fn input(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        bytes: &[u8],
    ) -> Result<JobBuffer, JobError> {
        check_name("tensor name", name)?;
        check_shape(dtype, shape, bytes.len())?;
        if self.tensor_exists(BufferRole::Input, name) {
            return Err(JobError::DuplicateTensor(name.to_string()));
        }
        let params = self.params;
        let rt = self.rt()?;
        let commitment = rt.commit(bytes, &params)?;
        let buf = self.new_buffer(Some(bytes), bytes.len())?;
        self.rt()?.recorder().append(Record::Buffer {
            buffer: buf.handle,
            role: BufferRole::Input,
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            commitment,
        });
        self.tensors.push(TensorCommitment {
            role: BufferRole::Input,
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            commitment,
            field_commitment: None,
        });
        Ok(buf)
    }

    /// Uploads `bytes` into a new buffer **without** committing them (a layout the kernel needs that is derived
    /// from committed inputs, e.g. a transposed operand). Nothing about it enters the statement.
    pub fn upload(&mut self, bytes: &[u8]) -> Result<JobBuffer, JobError> {
        if bytes.is_empty() {
            return Err(JobError::Shape("a buffer needs at least one byte".into()));
        }
        self.new_buffer(Some(bytes), bytes.len())
    }

    /// A zeroed buffer of `len` bytes (for outputs and scratch; not committed).
    pub fn alloc(&mut self, len: usize) -> Result<JobBuffer, JobError> {
        if len == 0 {
            return Err(JobError::Shape("a buffer needs at least one byte".into()));
        }
        self.new_buffer(None, len)
    }

    fn buf(&self, b: JobBuffer) -> Result<&Buf, JobError> {
        if b.job != self.id {
            return Err(JobError::UnknownBuffer(b.handle));
        }
        self.buffers
            .get(&b.handle)
            .ok_or(JobError::UnknownBuffer(b.handle))
    }

    /// Length in bytes of a buffer.
    pub fn len_of(&self, b: JobBuffer) -> Result<usize, JobError> {
        Ok(self.buf(b)?.len)
    }

    /// Copies a buffer to host memory (any buffer may be read; only committed outputs enter the receipt).
    pub fn download(&mut self, b: JobBuffer) -> Result<Vec<u8>, JobError> {
        self.rt()?;
        self.buf(b)?;
        let buf = self
            .buffers
            .get(&b.handle)
            .ok_or(JobError::UnknownBuffer(b.handle))?;
        match &buf.mem {
            Mem::Host(v) => Ok(v.clone()),
            #[cfg(feature = "cuda")]
            Mem::Device(d) => {
                let len = buf.len;
                let rt = self.rt.as_mut().ok_or(JobError::Finished)?;
                let exec = rt.cuda_exec().ok_or_else(|| {
                    JobError::Runtime(RuntimeError::NoDevice("no executor".into()))
                })?;
                let mut v = exec.download_u8(d)?;
                v.truncate(len);
                Ok(v)
            }
        }
    }

    /// Releases a buffer (not a committed output: those stay until the job finishes).
    pub fn free(&mut self, b: JobBuffer) -> Result<(), JobError> {
        if let Some(name) = &self.buf(b)?.output {
            return Err(JobError::FrozenOutput(name.clone()));
        }
        self.buffers.remove(&b.handle);
        Ok(())
    }

    /// Launches `entry` of a measured module. The `Launch` record (configuration, SHA-256 of the packed
    /// arguments) is logged before the launch is issued; on the CPU backend the entry's twin runs.
    pub fn launch(
        &mut self,
        module: &str,
        entry: &str,
        cfg: LaunchConfig,
        args: &[KernelArg],
    ) -> Result<(), JobError> {
        self.rt()?;
        cfg.check()?;
        let m = self
            .modules
            .get(module)
            .ok_or_else(|| JobError::Unmeasured(module.to_string()))?;
        if !m.entries.iter().any(|e| e == entry) {
            return Err(JobError::UnknownEntry {
                module: module.to_string(),
                entry: entry.to_string(),
            });
        }
        let on_cpu = self.backend() == Some(Backend::Cpu);
        if on_cpu && !m.twins.contains_key(entry) {
            return Err(JobError::NoCpuTwin {
                module: module.to_string(),
                entry: entry.to_string(),
            });
        }
        // Check every buffer argument before anything is logged.
        let mut seen = Vec::new();
        for a in args {
            if let KernelArg::Buffer(b) = a {
                let buf = self.buf(*b)?;
                if let Some(name) = &buf.output {
                    return Err(JobError::FrozenOutput(name.clone()));
                }
                if on_cpu && seen.contains(&b.handle) {
                    return Err(JobError::AliasedBuffer(b.handle));
                }
                seen.push(b.handle);
            }
        }
        let mut raw = Vec::with_capacity(args.len());
        for a in args {
            raw.push(match a {
                KernelArg::Buffer(b) => Arg::Ptr(self.device_address(*b)?),
                KernelArg::U32(v) => Arg::U32(*v),
                KernelArg::I32(v) => Arg::U32(*v as u32),
                KernelArg::U64(v) => Arg::U64(*v),
                KernelArg::F32(v) => Arg::U32(v.to_bits()),
            });
        }
        self.rt()?
            .recorder()
            .launch(module, entry, cfg.grid, cfg.block, cfg.shared_mem, &raw)?;
        let r = if on_cpu {
            self.run_twin(module, entry, &cfg, args)
        } else {
            self.launch_device(module, entry, &cfg, &raw)
        };
        r.map_err(|e| self.poison(e))
    }

    fn device_address(&self, b: JobBuffer) -> Result<u64, JobError> {
        match &self.buf(b)?.mem {
            Mem::Host(_) => Ok(b.handle as u64),
            #[cfg(feature = "cuda")]
            Mem::Device(d) => Ok(d.as_device_ptr().as_raw()),
        }
    }

    #[cfg(feature = "cuda")]
    fn launch_device(
        &mut self,
        module: &str,
        entry: &str,
        cfg: &LaunchConfig,
        raw: &[Arg],
    ) -> Result<(), JobError> {
        let rt = self.rt.as_mut().ok_or(JobError::Finished)?;
        let exec = rt
            .cuda_exec()
            .ok_or_else(|| JobError::Runtime(RuntimeError::NoDevice("no executor".into())))?;
        // The launch is already in the job's log; the executor records into a shadow log of the same modules.
        exec.launch(
            &mut self.shadow,
            module,
            entry,
            crate::cuda::LaunchCfg {
                grid: cfg.grid,
                block: cfg.block,
                shared: cfg.shared_mem,
            },
            raw,
        )?;
        Ok(())
    }

    #[cfg(not(feature = "cuda"))]
    fn launch_device(
        &mut self,
        _module: &str,
        _entry: &str,
        _cfg: &LaunchConfig,
        _raw: &[Arg],
    ) -> Result<(), JobError> {
        Err(JobError::Runtime(RuntimeError::NoDevice(
            "built without feature `cuda`".into(),
        )))
    }

    fn run_twin(
        &mut self,
        module: &str,
        entry: &str,
        cfg: &LaunchConfig,
        args: &[KernelArg],
    ) -> Result<(), JobError> {
        // Move the buffers' bytes into the argument list, run the twin, move them back.
        let mut cpu_args = Vec::with_capacity(args.len());
        let mut taken = Vec::new();
        for a in args {
            cpu_args.push(match a {
                KernelArg::Buffer(b) => {
                    let bytes = match self.buffers.get_mut(&b.handle).map(|x| &mut x.mem) {
                        Some(Mem::Host(v)) => std::mem::take(v),
                        _ => {
                            self.restore(&taken, &mut cpu_args);
                            return Err(JobError::UnknownBuffer(b.handle));
                        }
                    };
                    taken.push(Some(b.handle));
                    CpuArg::Buffer(bytes)
                }
                KernelArg::U32(v) => {
                    taken.push(None);
                    CpuArg::U32(*v)
                }
                KernelArg::I32(v) => {
                    taken.push(None);
                    CpuArg::I32(*v)
                }
                KernelArg::U64(v) => {
                    taken.push(None);
                    CpuArg::U64(*v)
                }
                KernelArg::F32(v) => {
                    taken.push(None);
                    CpuArg::F32(*v)
                }
            });
        }
        let result = match self
            .modules
            .get_mut(module)
            .and_then(|m| m.twins.get_mut(entry))
        {
            Some(twin) => twin(cfg, &mut cpu_args),
            None => Err("no twin".to_string()),
        };
        let resized = self.restore(&taken, &mut cpu_args);
        result.map_err(|reason| JobError::CpuTwin {
            module: module.to_string(),
            entry: entry.to_string(),
            reason,
        })?;
        if let Some(h) = resized {
            return Err(JobError::CpuTwin {
                module: module.to_string(),
                entry: entry.to_string(),
                reason: format!("the twin changed the length of buffer {h}"),
            });
        }
        Ok(())
    }

    /// Puts the bytes moved into `cpu_args` back into their buffers; returns a buffer whose length changed.
    fn restore(&mut self, taken: &[Option<u32>], cpu_args: &mut [CpuArg]) -> Option<u32> {
        let mut resized = None;
        for (h, a) in taken.iter().zip(cpu_args.iter_mut()) {
            if let (Some(h), CpuArg::Buffer(bytes)) = (h, a) {
                if let Some(buf) = self.buffers.get_mut(h) {
                    let mut bytes = std::mem::take(bytes);
                    if bytes.len() != buf.len {
                        resized = Some(*h);
                        bytes.resize(buf.len, 0);
                    }
                    buf.mem = Mem::Host(bytes);
                }
            }
        }
        resized
    }

    /// Commits an output: its commitment (computed by the backend) is logged as a `Buffer` record (role
    /// output) and becomes a statement tensor. The buffer is frozen: a later launch that takes it is an error.
    pub fn commit_output(
        &mut self,
        b: JobBuffer,
        name: &str,
        dtype: DType,
        shape: &[u64],
    ) -> Result<Commitment, JobError> {
        self.rt()?;
        check_name("tensor name", name)?;
        let buf = self.buf(b)?;
        if let Some(n) = &buf.output {
            return Err(JobError::FrozenOutput(n.clone()));
        }
        check_shape(dtype, shape, buf.len)?;
        if self.tensor_exists(BufferRole::Output, name) {
            return Err(JobError::DuplicateTensor(name.to_string()));
        }
        let bytes = self.download(b)?;
        let params = self.params;
        let rt = self.rt()?;
        let commitment = rt.commit(&bytes, &params)?;
        rt.recorder().append(Record::Buffer {
            buffer: b.handle,
            role: BufferRole::Output,
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            commitment,
        });
        if let Some(buf) = self.buffers.get_mut(&b.handle) {
            buf.output = Some(name.to_string());
        }
        self.tensors.push(TensorCommitment {
            role: BufferRole::Output,
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            commitment,
            field_commitment: None,
        });
        Ok(commitment)
    }

    /// Attaches a field commitment (Poseidon over BN254, 32 bytes big-endian, as proofs use) to a committed
    /// tensor of the statement.
    pub fn set_field_commitment(
        &mut self,
        role: BufferRole,
        name: &str,
        field: [u8; 32],
    ) -> Result<(), JobError> {
        self.rt()?;
        let t = self
            .tensors
            .iter_mut()
            .find(|t| t.role == role && t.name == name)
            .ok_or_else(|| JobError::UnknownTensor(name.to_string()))?;
        t.field_commitment = Some(field);
        Ok(())
    }

    /// Runs the runtime's built-in int8 GEMM `C = A·B` (A m×k row-major, `bt` = Bᵀ n×k row-major; on a GPU the
    /// measured `gemm_i8` / `gemm_i8_sm90` kernel, on the CPU backend its twin), then the built-in exact
    /// Freivalds check of C with r drawn from `check_seed` (docs/kernels.md §4), and commits C as the output
    /// tensor `c_name` (int32, m×n; commitment computed where C lives). The launches are logged like any other.
    /// A product that fails its own check is [`JobError::WrongProduct`] and poisons the job. Returns C.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_i8(
        &mut self,
        a: &[i8],
        bt: &[i8],
        m: usize,
        n: usize,
        k: usize,
        c_name: &str,
        check_seed: &[u8; 32],
    ) -> Result<Vec<i32>, JobError> {
        check_name("tensor name", c_name)?;
        if self.tensor_exists(BufferRole::Output, c_name) {
            return Err(JobError::DuplicateTensor(c_name.to_string()));
        }
        crate::kernels::gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        let params = self.params;
        let t = Instant::now();
        // a failure after the launches were logged leaves a log that no receipt may carry: poison the job
        let (out, check) = match self
            .rt()?
            .gemm_i8_checked(a, bt, m, n, k, &params, check_seed)
        {
            Ok(o) => o,
            Err(e) => return Err(self.poison(e.into())),
        };
        // the GEMM, the commitment of C and the check, operands uploaded once
        self.timings.push(Timing {
            label: "gemm".into(),
            nanos: t.elapsed().as_nanos() as u64,
        });
        if !check.accept {
            return Err(self.poison(JobError::WrongProduct(c_name.to_string())));
        }
        let rt = self.rt()?;
        let buffer = rt.recorder().buffer_handle();
        let shape = vec![m as u64, n as u64];
        rt.recorder().append(Record::Buffer {
            buffer,
            role: BufferRole::Output,
            name: c_name.to_string(),
            dtype: DType::I32,
            shape: shape.clone(),
            commitment: out.commitment,
        });
        self.tensors.push(TensorCommitment {
            role: BufferRole::Output,
            name: c_name.to_string(),
            dtype: DType::I32,
            shape,
            commitment: out.commitment,
            field_commitment: None,
        });
        Ok(out.c)
    }

    /// Reports the progress of large commitments the CPU backend computes (see
    /// [`Runtime::set_commit_progress`]).
    pub fn set_commit_progress(
        &mut self,
        progress: Option<crate::runtime::CommitProgress>,
    ) -> Result<(), JobError> {
        self.rt()?.set_commit_progress(progress);
        Ok(())
    }

    /// Appends a free-form `Note` record (`key`, `value`) to the log.
    pub fn note(&mut self, key: &str, value: &[u8]) -> Result<(), JobError> {
        check_name("note key", key)?;
        self.rt()?.recorder().append(Record::Note {
            key: key.to_string(),
            value: value.to_vec(),
        });
        Ok(())
    }

    /// Closes a checkpoint over the records since the last one and extends it into the job PCR; returns the
    /// extended digest.
    pub fn checkpoint(&mut self) -> Result<[u8; 32], JobError> {
        let pcr = self.spec.pcr;
        let (digest, _) = self.rt()?.checkpoint(pcr as u32);
        if let Err(e) = self.node.extend(pcr, &digest) {
            // The log has a checkpoint that the TPM does not: the receipt could never verify.
            return Err(self.poison(JobError::Node(e)));
        }
        Ok(digest)
    }

    /// Finishes the job without proofs; see [`MeasuredJob::finish_with_proofs`].
    pub fn finish(&mut self, outputs: &[&str]) -> Result<Receipt, JobError> {
        self.finish_with_proofs(outputs, |_| Ok(Vec::new()))
    }

    /// Finishes the job: every name in `outputs` must be a committed output; logs `JobEnd`, extends the last
    /// checkpoint, builds the statement, asks `proofs` for the proof entries of that statement (a proof binds
    /// `statement.digest()`; the time it takes is the receipt's `prove` timing when it returns proofs; a
    /// [`MeasuredJob::matmul_i8`] adds a `gemm` timing), and quotes the job PCR and the boot PCRs last, with
    /// `receipt.qualifying_data(challenge)`, so that the quote signs every other field of the receipt (proofs
    /// cannot be attached afterwards). A second call is [`JobError::Finished`].
    pub fn finish_with_proofs(
        &mut self,
        outputs: &[&str],
        proofs: impl FnOnce(&Statement) -> Result<Vec<ProofEntry>, JobError>,
    ) -> Result<Receipt, JobError> {
        self.rt()?;
        for name in outputs {
            if !self.tensor_exists(BufferRole::Output, name) {
                return Err(JobError::OutputNotCommitted(name.to_string()));
            }
        }
        let elapsed = self.started.elapsed().as_nanos() as u64;
        let rt = self.rt()?;
        rt.synchronize()?;
        rt.recorder().append(Record::JobEnd {
            status: 0,
            elapsed_ns: elapsed,
        });
        self.checkpoint()?;
        let rt = self.rt.take().ok_or(JobError::Finished)?;
        let backend = rt.backend();
        let log = rt.into_log();
        self.buffers.clear();
        let statement = Statement {
            workload: self.spec.workload.clone(),
            params: self.spec.params.clone(),
            job_id: self.spec.job_id,
            challenge: self.spec.challenge,
            backend,
            tensors: self.tensors.clone(),
            log_head: log.head(),
        };
        let t = Instant::now();
        let proofs = proofs(&statement)?;
        let mut timings = vec![Timing {
            label: "job".into(),
            nanos: elapsed,
        }];
        timings.append(&mut self.timings);
        if !proofs.is_empty() {
            timings.push(Timing {
                label: "prove".into(),
                nanos: t.elapsed().as_nanos() as u64,
            });
        }
        let mut receipt = Receipt {
            statement,
            log,
            node: self.node.identity(&self.spec.label),
            quotes: Vec::new(),
            proofs,
            timings,
        };
        // The IMA list keeps growing: read it, bind it, quote, and start again if the kernel measured something
        // in between (the quote's PCR 10 must be exactly the list's replay).
        for attempt in 1..=IMA_QUOTE_ATTEMPTS {
            self.node.refresh_ima_log()?;
            receipt.node = self.node.identity(&self.spec.label);
            let qd = receipt
                .qualifying_data(&self.spec.challenge)
                .map_err(|e| JobError::Receipt(e.to_string()))?;
            let quote = self.node.quote(JOB_QUOTE_PURPOSE, self.spec.pcr, &qd)?;
            if self.node.ima_log_matches(&quote) || attempt == IMA_QUOTE_ATTEMPTS {
                receipt.quotes.push(quote);
                break;
            }
        }
        Ok(receipt)
    }
}

fn check_shape(dtype: DType, shape: &[u64], len: usize) -> Result<(), JobError> {
    let elems = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .and_then(|e| e.checked_mul(dtype.size()));
    match elems {
        Some(n) if n == len as u64 && n > 0 => Ok(()),
        Some(n) => Err(JobError::Shape(format!(
            "shape {shape:?} of {} is {n} bytes, the buffer holds {len}",
            dtype.name()
        ))),
        None => Err(JobError::Shape(format!("shape {shape:?} overflows"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_ptx() {
        let ptx =
            ".version 8.0\n.visible .entry vadd_i32(\n.param .u64 a)\n{}\n.entry   other_k (\n)\n\
                   // .entryless comment\n";
        assert_eq!(ptx_entries(ptx), vec!["vadd_i32", "other_k"]);
        assert!(ptx_entries(".version 8.0\n.func f()\n").is_empty());
    }

    #[test]
    fn shapes_are_checked() {
        assert!(check_shape(DType::I32, &[4], 16).is_ok());
        assert!(matches!(
            check_shape(DType::I32, &[4], 15),
            Err(JobError::Shape(_))
        ));
        assert!(matches!(
            check_shape(DType::I32, &[u64::MAX, 2], 16),
            Err(JobError::Shape(_))
        ));
        assert!(matches!(
            check_shape(DType::I32, &[0], 0),
            Err(JobError::Shape(_))
        ));
    }

    #[test]
    fn launch_config() {
        assert_eq!(LaunchConfig::linear(1000, 256).grid, [4, 1, 1]);
        assert_eq!(LaunchConfig::linear(0, 0).grid, [1, 1, 1]);
        assert!(LaunchConfig {
            grid: [1, 1, 1],
            block: [64, 64, 1],
            shared_mem: 0
        }
        .check()
        .is_err());
    }

    #[test]
    fn spec_is_sorted_and_checked() {
        let s = JobSpec::new("w", [0; 32], [0; 32])
            .param("z", "1")
            .param("a", "2")
            .validated()
            .map(|s| s.params);
        assert_eq!(
            s.ok(),
            Some(vec![("a".into(), "2".into()), ("z".into(), "1".into())])
        );
        let dup = JobSpec::new("w", [0; 32], [0; 32])
            .param("a", "1")
            .param("a", "2")
            .validated();
        assert!(matches!(dup, Err(JobError::Spec(_))));
        assert!(matches!(
            JobSpec::new("", [0; 32], [0; 32]).validated(),
            Err(JobError::Spec(_))
        ));
    }

    #[test]
    fn cpu_args() {
        let mut a = CpuArg::Buffer(vec![1, 0, 0, 0]);
        assert_eq!(u32s(a.buffer().unwrap_or(&[])), vec![1]);
        assert!(a.buffer_mut().is_ok());
        assert!(a.as_u32().is_err());
        assert_eq!(CpuArg::U32(7).as_u32(), Ok(7));
        assert!(CpuArg::U32(7).buffer().is_err());
        assert_eq!(u32_bytes(&[1, 2]), vec![1, 0, 0, 0, 2, 0, 0, 0]);
    }
}
