//! The runtime: one API over the CPU backend (always) and the CUDA backend (feature `cuda`), recording what it
//! does into an [`ExecutionLog`].
//!
//! * At start the runtime records the [`Inventory`] (backend, host, CPU, GPUs) and then, for every kernel module,
//!   a `ModuleLoad` record with the SHA-256 of the exact image — **before** the image is handed to the driver. The
//!   only way to load a module is [`Recorder::measure_module`], and a launch from a module the recorder did not
//!   measure fails with [`RuntimeError::Unmeasured`].
//! * Every launch is recorded (module, entry, grid, block, dynamic shared memory, SHA-256 of the packed argument
//!   bytes) before it is issued. On the CPU backend a "launch" is the call of the CPU twin; it is recorded with the
//!   launch shape the GPU would use and with buffer handles in place of device pointers.
//! * Commitments of device buffers are computed on the device (`cuproof_merkle_*` kernels) and recorded as
//!   `Buffer` records by [`Runtime::commit_buffer`].
//!
//! Results and commitments are bit-identical across backends (checked by `scripts/device-check`).

use crate::error::RuntimeError;
use crate::kernels::{fill, freivalds, gemm, keccak, merkle};
use cuproof_core::commitment::{CommitParams, Commitment};
use cuproof_core::hash::sha256;
use cuproof_core::log::{self, BufferRole, DType, ExecutionLog, Inventory, ModuleFormat, Record};

/// One kernel argument as the kernel receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A device pointer (on the CPU backend: a buffer handle).
    Ptr(u64),
    /// A 64-bit scalar.
    U64(u64),
    /// A 32-bit scalar.
    U32(u32),
}

impl Arg {
    /// The argument's bytes as the kernel parameter holds them (little-endian, 8 or 4 bytes).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Arg::Ptr(v) | Arg::U64(v) => v.to_le_bytes().to_vec(),
            Arg::U32(v) => v.to_le_bytes().to_vec(),
        }
    }
}

/// Packed argument bytes of a launch (the concatenation of [`Arg::bytes`]).
pub fn pack_args(args: &[Arg]) -> Vec<u8> {
    args.iter().flat_map(|a| a.bytes()).collect()
}

/// Owns the execution log and the set of measured modules; every load and launch goes through it.
#[derive(Debug, Default)]
pub struct Recorder {
    log: ExecutionLog,
    modules: Vec<(String, [u8; 32])>,
    next_buffer: u32,
}

/// Proof that a module image was measured: only [`Recorder::measure_module`] makes one.
#[derive(Debug)]
pub struct MeasuredImage<'a> {
    /// Module handle in the log.
    pub handle: u32,
    /// Module name.
    pub name: &'a str,
    /// The exact bytes that were digested (and must be loaded).
    pub image: &'a str,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The log so far.
    pub fn log(&self) -> &ExecutionLog {
        &self.log
    }

    /// Appends an arbitrary record.
    pub fn append(&mut self, r: Record) -> u64 {
        self.log.append(r)
    }

    /// Records a `ModuleLoad` of `image` (SHA-256 of its bytes) and returns the token the loader requires.
    pub fn measure_module<'a>(
        &mut self,
        name: &'a str,
        format: ModuleFormat,
        image: &'a str,
    ) -> MeasuredImage<'a> {
        let digest = sha256(image.as_bytes());
        let handle = self.modules.len() as u32;
        self.log.append(Record::ModuleLoad {
            module: handle,
            name: name.to_string(),
            format,
            image_digest: digest,
            image_len: image.len() as u64,
        });
        self.modules.push((name.to_string(), digest));
        MeasuredImage {
            handle,
            name,
            image,
        }
    }

    /// Handle of a measured module, or [`RuntimeError::Unmeasured`].
    pub fn module_handle(&self, name: &str) -> Result<u32, RuntimeError> {
        self.modules
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| i as u32)
            .ok_or_else(|| RuntimeError::Unmeasured(name.to_string()))
    }

    /// Records a launch; fails if the module was not measured.
    pub fn launch(
        &mut self,
        module: &str,
        entry: &str,
        grid: [u32; 3],
        block: [u32; 3],
        shared_mem: u32,
        args: &[Arg],
    ) -> Result<(), RuntimeError> {
        let handle = self.module_handle(module)?;
        self.log.append(Record::Launch {
            module: handle,
            entry: entry.to_string(),
            grid,
            block,
            shared_mem,
            args_digest: sha256(&pack_args(args)),
        });
        Ok(())
    }

    /// A fresh buffer handle.
    pub fn buffer_handle(&mut self) -> u32 {
        let h = self.next_buffer;
        self.next_buffer = self.next_buffer.wrapping_add(1);
        h
    }

    /// The finished log.
    pub fn into_log(self) -> ExecutionLog {
        self.log
    }

    /// Close a checkpoint over the records since the last one: returns the SHA-256 digest to extend into the job
    /// PCR `pcr` and the TCG event data (see `cuproof_core::log`).
    pub fn checkpoint(&mut self, pcr: u32) -> ([u8; 32], Vec<u8>) {
        self.log.checkpoint(pcr)
    }
}

/// A buffer held by the runtime's backend: host memory on the CPU backend, device memory on CUDA. Made by
/// [`Runtime::buf_upload`], [`Runtime::buf_fill`] and [`Runtime::buf_gemm_i8`]; data stays where it is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferId(u32);

impl BufferId {
    /// The handle number (as recorded in place of device pointers on the CPU backend).
    pub fn handle(self) -> u32 {
        self.0
    }
}

enum Stored {
    Host(Vec<u8>),
    #[cfg(feature = "cuda")]
    Device(cust::memory::DeviceBuffer<u8>, usize),
}

impl Stored {
    fn len(&self) -> usize {
        match self {
            Stored::Host(v) => v.len(),
            #[cfg(feature = "cuda")]
            Stored::Device(_, len) => *len,
        }
    }
}

enum Exec {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(Box<crate::cuda::CudaExec>),
}

/// Output of [`Runtime::gemm_i8`]: C and its commitment, computed where C lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GemmOutput {
    /// C, m×n row-major int32.
    pub c: Vec<i32>,
    /// Commitment of C's little-endian bytes.
    pub commitment: Commitment,
}

/// Progress of a large commitment computed on the CPU backend: `(tensor name or "", bytes done, bytes total)`,
/// called with 0 first and `total` last (see [`Runtime::set_commit_progress`]).
pub type CommitProgress = Box<dyn FnMut(&str, u64, u64) + Send>;

/// Commitments below this many bytes report no progress (they are over before a bar could be read).
pub const COMMIT_PROGRESS_MIN_BYTES: u64 = 16 << 20;

/// The runtime (see the module documentation).
pub struct Runtime {
    exec: Exec,
    rec: Recorder,
    inventory: Inventory,
    store: std::collections::HashMap<u32, Stored>,
    commit_progress: Option<CommitProgress>,
}

// A runtime may be moved to the thread that drives it (one runtime per GPU, `Runtime::bind_thread`).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Runtime>();
};

/// A commitment on the host, reporting progress for large buffers when a callback is set.
fn cpu_commit(
    progress: &mut Option<CommitProgress>,
    what: &str,
    data: &[u8],
    params: &CommitParams,
) -> Commitment {
    match progress {
        Some(f) if data.len() as u64 >= COMMIT_PROGRESS_MIN_BYTES => {
            let total = data.len() as u64;
            f(what, 0, total);
            cuproof_core::commitment::commit_with_progress(data, params, &mut |d| f(what, d, total))
        }
        _ => merkle::commit_cpu(data, params),
    }
}

fn host_description() -> (String, String) {
    let host = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    (host, cpu)
}

/// The CPU backend's module images: the kernel source it executes, one "module" per GPU module.
fn host_image() -> String {
    let mut s = String::new();
    for (name, text) in crate::ptx::HOST_SOURCES {
        s.push_str("// file: ");
        s.push_str(name);
        s.push('\n');
        s.push_str(text);
    }
    s
}

/// Bytes of an int32 slice, little-endian.
pub fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// C = A·B on the device, its commitment, and C downloaded: returns the device copy of C too (for a check).
#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
fn cuda_gemm_commit(
    e: &crate::cuda::CudaExec,
    rec: &mut Recorder,
    da: &cust::memory::DeviceBuffer<u8>,
    db: &cust::memory::DeviceBuffer<u8>,
    m: usize,
    n: usize,
    k: usize,
    params: &CommitParams,
) -> Result<(cust::memory::DeviceBuffer<u8>, GemmOutput), RuntimeError> {
    let dc = e.gemm_device(rec, da, db, m, n, k)?;
    let commitment = e.commit_device(rec, &dc, (m * n * 4) as u64, params)?;
    let c = e
        .download_u8(&dc)?
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((dc, GemmOutput { c, commitment }))
}

/// Bytes of an int8 slice.
pub fn i8_bytes(v: &[i8]) -> Vec<u8> {
    v.iter().map(|x| *x as u8).collect()
}

impl Runtime {
    /// The CPU backend (always available).
    pub fn cpu() -> Self {
        Self::cpu_for_job(None)
    }

    /// The CPU backend whose log opens with `job_start` (a `JobStart` record), before the inventory and the
    /// measured modules.
    pub fn cpu_for_job(job_start: Option<Record>) -> Self {
        let (host, cpu) = host_description();
        let inventory = Inventory {
            backend: log::Backend::Cpu,
            host,
            cpu,
            gpus: Vec::new(),
        };
        let mut rec = Recorder::new();
        if let Some(r) = job_start {
            rec.append(r);
        }
        rec.append(Record::Inventory(inventory.clone()));
        let image = host_image();
        for (name, _) in crate::ptx::modules() {
            rec.measure_module(name, ModuleFormat::Host, &image);
        }
        Runtime {
            exec: Exec::Cpu,
            rec,
            inventory,
            store: Default::default(),
            commit_progress: None,
        }
    }

    /// The CUDA backend on device `ordinal`: inventory, then every module measured and loaded.
    #[cfg(feature = "cuda")]
    pub fn cuda(ordinal: u32) -> Result<Self, RuntimeError> {
        Self::cuda_for_job(ordinal, None)
    }

    /// The CUDA backend whose log opens with `job_start` (see [`Runtime::cpu_for_job`]).
    #[cfg(feature = "cuda")]
    pub fn cuda_for_job(ordinal: u32, job_start: Option<Record>) -> Result<Self, RuntimeError> {
        let exec = crate::cuda::CudaExec::new(ordinal)?;
        let (host, cpu) = host_description();
        let inventory = Inventory {
            backend: log::Backend::Cuda,
            host,
            cpu,
            gpus: vec![exec.gpu_info().clone()],
        };
        let mut rec = Recorder::new();
        if let Some(r) = job_start {
            rec.append(r);
        }
        rec.append(Record::Inventory(inventory.clone()));
        let mut exec = Box::new(exec);
        for (name, ptx) in crate::ptx::modules_for(exec.gpu_info().compute_capability) {
            let token = rec.measure_module(name, ModuleFormat::Ptx, ptx);
            exec.load(token)?;
        }
        Ok(Runtime {
            exec: Exec::Cuda(exec),
            rec,
            inventory,
            store: Default::default(),
            commit_progress: None,
        })
    }

    /// The CUDA backend when the `cuda` feature is on and a device is usable, else the CPU backend; the second
    /// value says why CUDA was not used.
    pub fn auto() -> (Self, Option<RuntimeError>) {
        Self::auto_for_job(None)
    }

    /// [`Runtime::auto`] with the log opening with `job_start` (see [`Runtime::cpu_for_job`]).
    pub fn auto_for_job(job_start: Option<Record>) -> (Self, Option<RuntimeError>) {
        #[cfg(feature = "cuda")]
        {
            match Self::cuda_for_job(0, job_start.clone()) {
                Ok(rt) => (rt, None),
                Err(e) => (Self::cpu_for_job(job_start), Some(e)),
            }
        }
        #[cfg(not(feature = "cuda"))]
        {
            (
                Self::cpu_for_job(job_start),
                Some(RuntimeError::NoDevice(
                    "built without feature `cuda`".into(),
                )),
            )
        }
    }

    /// The backend in use (also recorded in the log's inventory).
    pub fn backend(&self) -> log::Backend {
        self.inventory.backend
    }

    /// The recorded inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The log so far.
    pub fn log(&self) -> &ExecutionLog {
        self.rec.log()
    }

    /// The recorder (to append job records around the workloads).
    pub fn recorder(&mut self) -> &mut Recorder {
        &mut self.rec
    }

    /// The finished log.
    pub fn into_log(self) -> ExecutionLog {
        self.rec.into_log()
    }

    /// Close a checkpoint of the log (see [`Recorder::checkpoint`]); the caller extends the digest into the TPM.
    pub fn checkpoint(&mut self, pcr: u32) -> ([u8; 32], Vec<u8>) {
        self.rec.checkpoint(pcr)
    }

    /// Prepares the calling thread for this runtime: on the CUDA backend its device's context becomes the thread's
    /// current one (the driver keeps the current context per thread); on the CPU backend nothing. Every device
    /// operation of the runtime (`buf_*`, `fill`, `gemm_i8*`, `freivalds*`, `commit*`, `synchronize`, …) calls it
    /// first, so a runtime moved to another thread, or one of several runtimes driven from one thread, works in
    /// its own context whichever was made or used last there. Callers of [`Runtime::cuda_exec`], which bypasses
    /// the runtime, call it themselves.
    pub fn bind_thread(&self) -> Result<(), RuntimeError> {
        match &self.exec {
            Exec::Cpu => Ok(()),
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => e.make_current(),
        }
    }

    /// The CUDA executor, when this runtime runs on a GPU.
    #[cfg(feature = "cuda")]
    pub fn cuda_exec(&mut self) -> Option<&mut crate::cuda::CudaExec> {
        match &mut self.exec {
            Exec::Cuda(e) => Some(e),
            Exec::Cpu => None,
        }
    }

    fn stored(&self, b: BufferId) -> Result<&Stored, RuntimeError> {
        self.store.get(&b.0).ok_or(RuntimeError::UnknownBuffer(b.0))
    }

    /// Copies `data` into a new backend buffer.
    pub fn buf_upload(&mut self, data: &[u8]) -> Result<BufferId, RuntimeError> {
        self.bind_thread()?;
        let h = self.rec.buffer_handle();
        let stored = match &mut self.exec {
            Exec::Cpu => Stored::Host(data.to_vec()),
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => Stored::Device(e.upload(data)?, data.len()),
        };
        self.store.insert(h, stored);
        Ok(BufferId(h))
    }

    /// A new backend buffer holding `len` bytes of the seeded fill stream (computed on the device on CUDA).
    pub fn buf_fill(
        &mut self,
        seed: &[u8; 32],
        stream: u8,
        len: usize,
    ) -> Result<BufferId, RuntimeError> {
        self.bind_thread()?;
        let h = self.rec.buffer_handle();
        let stored = match &mut self.exec {
            Exec::Cpu => {
                record_fill_launch(&mut self.rec, h as u64, len as u64, seed, stream)?;
                Stored::Host(fill::fill_cpu(seed, stream, len))
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => Stored::Device(e.fill_device(&mut self.rec, seed, stream, len)?, len),
        };
        self.store.insert(h, stored);
        Ok(BufferId(h))
    }

    /// C = A·B on backend buffers (A: m×k int8, Bt: n×k int8); C is a new buffer of m·n little-endian int32.
    pub fn buf_gemm_i8(
        &mut self,
        a: BufferId,
        bt: BufferId,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<BufferId, RuntimeError> {
        self.bind_thread()?;
        gemm::check_shape(self.stored(a)?.len(), self.stored(bt)?.len(), m, n, k)?;
        let h = self.rec.buffer_handle();
        let stored = match (&mut self.exec, self.store.get(&a.0), self.store.get(&bt.0)) {
            (Exec::Cpu, Some(Stored::Host(av)), Some(Stored::Host(bv))) => {
                record_gemm_launch(&mut self.rec, [a.0, bt.0, h], m, n, k)?;
                let ai: Vec<i8> = av.iter().map(|x| *x as i8).collect();
                let bi: Vec<i8> = bv.iter().map(|x| *x as i8).collect();
                Stored::Host(i32_bytes(&gemm::gemm_i8_cpu(&ai, &bi, m, n, k)?))
            }
            #[cfg(feature = "cuda")]
            (Exec::Cuda(e), Some(Stored::Device(da, _)), Some(Stored::Device(db, _))) => {
                Stored::Device(e.gemm_device(&mut self.rec, da, db, m, n, k)?, m * n * 4)
            }
            _ => return Err(RuntimeError::UnknownBuffer(a.0)),
        };
        self.store.insert(h, stored);
        Ok(BufferId(h))
    }

    /// Commitment of a backend buffer, computed where it lives.
    pub fn buf_commit(
        &mut self,
        b: BufferId,
        params: &CommitParams,
    ) -> Result<Commitment, RuntimeError> {
        self.bind_thread()?;
        match (&mut self.exec, self.store.get(&b.0)) {
            (Exec::Cpu, Some(Stored::Host(v))) => {
                record_commit_launches(
                    &mut self.rec,
                    b.0 as u64,
                    v.len() as u64,
                    params,
                    Default::default(),
                )?;
                Ok(cpu_commit(&mut self.commit_progress, "", v, params))
            }
            #[cfg(feature = "cuda")]
            (Exec::Cuda(e), Some(Stored::Device(d, len))) => {
                e.commit_device(&mut self.rec, d, *len as u64, params)
            }
            _ => Err(RuntimeError::UnknownBuffer(b.0)),
        }
    }

    /// A new zeroed backend buffer of `len` bytes, e.g. the output of [`Runtime::buf_gemm_i8_into`].
    pub fn buf_alloc(&mut self, len: usize) -> Result<BufferId, RuntimeError> {
        self.bind_thread()?;
        let h = self.rec.buffer_handle();
        let stored = match &mut self.exec {
            Exec::Cpu => Stored::Host(vec![0; len]),
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => Stored::Device(e.alloc(len)?, len),
        };
        self.store.insert(h, stored);
        Ok(BufferId(h))
    }

    /// Refills an existing backend buffer, all of it, with the seeded fill stream (in place: no allocation, so a
    /// loop over iterations reuses one buffer).
    pub fn buf_fill_into(
        &mut self,
        dst: BufferId,
        seed: &[u8; 32],
        stream: u8,
    ) -> Result<(), RuntimeError> {
        self.bind_thread()?;
        match (&mut self.exec, self.store.get_mut(&dst.0)) {
            (Exec::Cpu, Some(Stored::Host(v))) => {
                record_fill_launch(&mut self.rec, dst.0 as u64, v.len() as u64, seed, stream)?;
                cuproof_core::fill::fill_range(seed, stream, 0, v);
                Ok(())
            }
            #[cfg(feature = "cuda")]
            (Exec::Cuda(e), Some(Stored::Device(d, len))) => {
                e.fill_into(&mut self.rec, d, seed, stream, *len)
            }
            _ => Err(RuntimeError::UnknownBuffer(dst.0)),
        }
    }

    /// C = A·B on backend buffers into an existing buffer `c` of at least m·n·4 bytes (distinct from A and Bt).
    #[allow(clippy::too_many_arguments)]
    pub fn buf_gemm_i8_into(
        &mut self,
        a: BufferId,
        bt: BufferId,
        c: BufferId,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(), RuntimeError> {
        self.bind_thread()?;
        gemm::check_shape(self.stored(a)?.len(), self.stored(bt)?.len(), m, n, k)?;
        let need = m
            .checked_mul(n)
            .and_then(|x| x.checked_mul(4))
            .ok_or_else(|| RuntimeError::Shape("gemm: m·n·4 overflows".into()))?;
        if self.stored(c)?.len() < need || c == a || c == bt {
            return Err(RuntimeError::Shape(format!(
                "gemm: the output buffer must hold {need} bytes and differ from the operands"
            )));
        }
        match &mut self.exec {
            Exec::Cpu => {
                let (Some(Stored::Host(av)), Some(Stored::Host(bv))) =
                    (self.store.get(&a.0), self.store.get(&bt.0))
                else {
                    return Err(RuntimeError::UnknownBuffer(a.0));
                };
                record_gemm_launch(&mut self.rec, [a.0, bt.0, c.0], m, n, k)?;
                let ai: Vec<i8> = av.iter().map(|x| *x as i8).collect();
                let bi: Vec<i8> = bv.iter().map(|x| *x as i8).collect();
                let out = i32_bytes(&gemm::gemm_i8_cpu(&ai, &bi, m, n, k)?);
                match self.store.get_mut(&c.0) {
                    Some(Stored::Host(cv)) => {
                        cv[..need].copy_from_slice(&out);
                        Ok(())
                    }
                    _ => Err(RuntimeError::UnknownBuffer(c.0)),
                }
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => match (
                self.store.get(&a.0),
                self.store.get(&bt.0),
                self.store.get(&c.0),
            ) {
                (
                    Some(Stored::Device(da, _)),
                    Some(Stored::Device(db, _)),
                    Some(Stored::Device(dc, _)),
                ) => e.gemm_into(&mut self.rec, da, db, dc, m, n, k),
                _ => Err(RuntimeError::UnknownBuffer(c.0)),
            },
        }
    }

    /// Commitment of a backend buffer with its leaf digests kept in a new backend buffer (32 bytes per chunk, the
    /// digests' bytes in order), computed where the buffer lives: on a GPU nothing but the commitment crosses PCIe,
    /// and the digests can be fetched later ([`Runtime::buf_download`]) to build openings
    /// ([`cuproof_core::commitment::MerkleTree::from_leaves`]) without copying the buffer.
    pub fn buf_commit_keep_leaves(
        &mut self,
        b: BufferId,
        params: &CommitParams,
    ) -> Result<(Commitment, BufferId), RuntimeError> {
        self.bind_thread()?;
        let (c, stored) = match (&mut self.exec, self.store.get(&b.0)) {
            (Exec::Cpu, Some(Stored::Host(v))) => {
                let len = v.len() as u64;
                record_commit_launches(&mut self.rec, b.0 as u64, len, params, Default::default())?;
                let leaves = cuproof_core::commitment::leaves(v, params);
                let tree = cuproof_core::commitment::MerkleTree::from_leaves(params, len, leaves)
                    .map_err(|e| RuntimeError::Shape(format!("commit: {e}")))?;
                let c = tree.commitment();
                (c, Stored::Host(tree.into_leaves().concat()))
            }
            #[cfg(feature = "cuda")]
            (Exec::Cuda(e), Some(Stored::Device(d, len))) => {
                let (c, leaves) =
                    e.commit_device_keep_leaves(&mut self.rec, d, *len as u64, params)?;
                let bytes = leaves.len();
                (c, Stored::Device(leaves, bytes))
            }
            _ => return Err(RuntimeError::UnknownBuffer(b.0)),
        };
        let h = self.rec.buffer_handle();
        self.store.insert(h, stored);
        Ok((c, BufferId(h)))
    }

    /// [`Runtime::buf_commit_keep_leaves`] with the digests brought to the host at once.
    pub fn buf_commit_leaves(
        &mut self,
        b: BufferId,
        params: &CommitParams,
    ) -> Result<(Commitment, Vec<[u8; 32]>), RuntimeError> {
        let (c, kept) = self.buf_commit_keep_leaves(b, params)?;
        let bytes = self.buf_download(kept);
        self.buf_free(kept)?;
        Ok((c, digests(&bytes?)?))
    }

    /// Copies a backend buffer to host memory.
    pub fn buf_download(&mut self, b: BufferId) -> Result<Vec<u8>, RuntimeError> {
        self.bind_thread()?;
        match (&mut self.exec, self.store.get(&b.0)) {
            (Exec::Cpu, Some(Stored::Host(v))) => Ok(v.clone()),
            #[cfg(feature = "cuda")]
            (Exec::Cuda(e), Some(Stored::Device(d, len))) => {
                let mut v = e.download_u8(d)?;
                v.truncate(*len);
                Ok(v)
            }
            _ => Err(RuntimeError::UnknownBuffer(b.0)),
        }
    }

    /// Length in bytes of a backend buffer.
    pub fn buf_len(&self, b: BufferId) -> Result<usize, RuntimeError> {
        Ok(self.stored(b)?.len())
    }

    /// Releases a backend buffer.
    pub fn buf_free(&mut self, b: BufferId) -> Result<(), RuntimeError> {
        self.bind_thread()?;
        self.store
            .remove(&b.0)
            .map(|_| ())
            .ok_or(RuntimeError::UnknownBuffer(b.0))
    }

    /// Waits until all work issued so far has finished (no-op on the CPU backend).
    pub fn synchronize(&mut self) -> Result<(), RuntimeError> {
        self.bind_thread()?;
        match &mut self.exec {
            Exec::Cpu => Ok(()),
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => e.sync(),
        }
    }

    /// Reports the progress of large commitments computed on the CPU backend (the GPU's take milliseconds):
    /// [`Runtime::commit`], [`Runtime::commit_buffer`] and the commitment of C in [`Runtime::gemm_i8`].
    pub fn set_commit_progress(&mut self, progress: Option<CommitProgress>) {
        self.commit_progress = progress;
    }

    /// Commitment of `data`, computed by the backend (leaf, subtree and root kernels on the GPU).
    pub fn commit(
        &mut self,
        data: &[u8],
        params: &CommitParams,
    ) -> Result<Commitment, RuntimeError> {
        self.commit_as("", data, params)
    }

    fn commit_as(
        &mut self,
        what: &str,
        data: &[u8],
        params: &CommitParams,
    ) -> Result<Commitment, RuntimeError> {
        self.bind_thread()?;
        let handle = self.rec.buffer_handle();
        match &mut self.exec {
            Exec::Cpu => {
                record_commit_launches(
                    &mut self.rec,
                    handle as u64,
                    data.len() as u64,
                    params,
                    Default::default(),
                )?;
                Ok(cpu_commit(&mut self.commit_progress, what, data, params))
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => {
                let buf = e.upload(data)?;
                e.commit_device(&mut self.rec, &buf, data.len() as u64, params)
            }
        }
    }

    /// [`Runtime::commit`] plus a `Buffer` record (role, name, dtype, shape) in the log.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_buffer(
        &mut self,
        data: &[u8],
        params: &CommitParams,
        role: BufferRole,
        name: &str,
        dtype: DType,
        shape: &[u64],
    ) -> Result<Commitment, RuntimeError> {
        let c = self.commit_as(name, data, params)?;
        let buffer = self.rec.buffer_handle();
        self.rec.append(Record::Buffer {
            buffer,
            role,
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            commitment: c,
        });
        Ok(c)
    }

    /// `len` bytes of the seeded fill stream.
    pub fn fill(
        &mut self,
        seed: &[u8; 32],
        stream: u8,
        len: usize,
    ) -> Result<Vec<u8>, RuntimeError> {
        self.bind_thread()?;
        let handle = self.rec.buffer_handle();
        match &mut self.exec {
            Exec::Cpu => {
                record_fill_launch(&mut self.rec, handle as u64, len as u64, seed, stream)?;
                Ok(fill::fill_cpu(seed, stream, len))
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => {
                let buf = e.fill_device(&mut self.rec, seed, stream, len)?;
                let mut v = e.download_u8(&buf)?;
                v.truncate(len); // an empty fill still allocates one byte
                Ok(v)
            }
        }
    }

    /// C = A·B (A m×k row-major, Bt n×k row-major) and the commitment of C, computed where C lives.
    pub fn gemm_i8(
        &mut self,
        a: &[i8],
        bt: &[i8],
        m: usize,
        n: usize,
        k: usize,
        params: &CommitParams,
    ) -> Result<GemmOutput, RuntimeError> {
        self.bind_thread()?;
        gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        let (ha, hb, hc) = (
            self.rec.buffer_handle(),
            self.rec.buffer_handle(),
            self.rec.buffer_handle(),
        );
        match &mut self.exec {
            Exec::Cpu => {
                record_gemm_launch(&mut self.rec, [ha, hb, hc], m, n, k)?;
                let c = gemm::gemm_i8_cpu(a, bt, m, n, k)?;
                let bytes = i32_bytes(&c);
                record_commit_launches(
                    &mut self.rec,
                    hc as u64,
                    bytes.len() as u64,
                    params,
                    Default::default(),
                )?;
                let commitment = cpu_commit(&mut self.commit_progress, "C", &bytes, params);
                Ok(GemmOutput { c, commitment })
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => {
                let da = e.upload(&i8_bytes(a))?;
                let db = e.upload(&i8_bytes(bt))?;
                let (_, out) = cuda_gemm_commit(e, &mut self.rec, &da, &db, m, n, k, params)?;
                Ok(out)
            }
        }
    }

    /// [`Runtime::gemm_i8`] followed by the [`Runtime::freivalds`] check of its C with r from `seed`, with the
    /// operands uploaded once: on a GPU, A, B and C stay on the device between the GEMM, the commitment of C and
    /// the check (the two separate calls upload A and B twice and C once more). Same results, same log records
    /// on the CPU backend as the two calls.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_i8_checked(
        &mut self,
        a: &[i8],
        bt: &[i8],
        m: usize,
        n: usize,
        k: usize,
        params: &CommitParams,
        seed: &[u8; 32],
    ) -> Result<(GemmOutput, freivalds::FreivaldsOutcome), RuntimeError> {
        self.bind_thread()?;
        match &mut self.exec {
            Exec::Cpu => {
                let out = self.gemm_i8(a, bt, m, n, k, params)?;
                let check = self.freivalds(a, bt, &out.c, m, n, k, seed)?;
                Ok((out, check))
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => {
                gemm::check_shape(a.len(), bt.len(), m, n, k)?;
                if k > gemm::MAX_K {
                    return Err(RuntimeError::Shape(format!(
                        "freivalds: k = {k} exceeds {} (int32 sums not exact)",
                        gemm::MAX_K
                    )));
                }
                // the handles the two separate calls would take, so both paths number buffers alike
                for _ in 0..3 + 5 {
                    self.rec.buffer_handle();
                }
                let da = e.upload(&i8_bytes(a))?;
                let db = e.upload(&i8_bytes(bt))?;
                let (dc, out) = cuda_gemm_commit(e, &mut self.rec, &da, &db, m, n, k, params)?;
                let r = freivalds::r_vector(seed, n);
                let check = e.freivalds_device(&mut self.rec, &da, &db, &dc, &r, m, n, k)?;
                Ok((out, check))
            }
        }
    }

    /// Freivalds check of C = A·B with r derived from `seed` (the verifier's challenge).
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds(
        &mut self,
        a: &[i8],
        bt: &[i8],
        c: &[i32],
        m: usize,
        n: usize,
        k: usize,
        seed: &[u8; 32],
    ) -> Result<freivalds::FreivaldsOutcome, RuntimeError> {
        self.bind_thread()?;
        freivalds::check(a, bt, c, m, n, k)?;
        let r = freivalds::r_vector(seed, n);
        let hs: Vec<u64> = (0..5).map(|_| self.rec.buffer_handle() as u64).collect();
        match &mut self.exec {
            Exec::Cpu => {
                record_freivalds_launches(&mut self.rec, &hs, m, n, k)?;
                Ok(freivalds::freivalds_with_r(a, bt, c, &r, m, n, k))
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => {
                let [da, db, dc] = upload_operands(e, a, bt, c)?;
                e.freivalds_device(&mut self.rec, &da, &db, &dc, &r, m, n, k)
            }
        }
    }

    /// The bilinear Freivalds check `sᵀ(A·B)r = sᵀC r` (docs/kernels.md §4b) with s and r derived from `seed`:
    /// three independent passes over A, B and C, false-accept probability ≤ 2^-59.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_bilinear(
        &mut self,
        a: &[i8],
        bt: &[i8],
        c: &[i32],
        m: usize,
        n: usize,
        k: usize,
        seed: &[u8; 32],
    ) -> Result<freivalds::BilinearOutcome, RuntimeError> {
        self.bind_thread()?;
        freivalds::check(a, bt, c, m, n, k)?;
        let (r, sv) = (freivalds::r_vector(seed, n), freivalds::s_vector(seed, m));
        let hs: Vec<u64> = (0..6).map(|_| self.rec.buffer_handle() as u64).collect();
        match &mut self.exec {
            Exec::Cpu => {
                record_bilinear_launches(&mut self.rec, &hs, m, n, k)?;
                Ok(freivalds::bilinear_with_r(a, bt, c, &sv, &r, m, n, k))
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => {
                let [da, db, dc] = upload_operands(e, a, bt, c)?;
                e.freivalds_bilinear_device(&mut self.rec, &da, &db, &dc, &r, &sv, m, n, k)
            }
        }
    }

    /// The hand-written PTX permutation on a batch of 25-lane states (length a multiple of 25), in place.
    pub fn keccak_f1600_batch(&mut self, states: &mut [u64]) -> Result<(), RuntimeError> {
        self.bind_thread()?;
        if !states.len().is_multiple_of(25) {
            return Err(RuntimeError::Shape(format!(
                "keccak batch: {} lanes is not a multiple of 25",
                states.len()
            )));
        }
        let count = (states.len() / 25) as u64;
        let h = self.rec.buffer_handle();
        match &mut self.exec {
            Exec::Cpu => {
                self.rec.launch(
                    "keccak_f1600",
                    keccak::ENTRY_F1600_BATCH,
                    [count.div_ceil(128).max(1) as u32, 1, 1],
                    [128, 1, 1],
                    0,
                    &[Arg::Ptr(h as u64), Arg::U64(count)],
                )?;
                keccak::f1600_batch_cpu(states);
                Ok(())
            }
            #[cfg(feature = "cuda")]
            Exec::Cuda(e) => e.keccak_batch(&mut self.rec, states),
        }
    }
}

/// Launch shapes of a commitment under `schedule`, recorded by the CPU backend exactly as the CUDA backend issues
/// them (pointers are the buffer handle and placeholders).
pub(crate) fn record_commit_launches(
    rec: &mut Recorder,
    buf: u64,
    len: u64,
    params: &CommitParams,
    schedule: merkle::CommitSchedule,
) -> Result<(), RuntimeError> {
    let bufs = merkle::CommitBuffers {
        data: buf,
        leaves: u64::MAX,
        other: u64::MAX - 1,
        root: u64::MAX - 2,
    };
    let n = params.leaf_count(len);
    for step in merkle::commit_plan(n, schedule) {
        if let Some(l) = merkle::step_launch(&step, &bufs, len, params) {
            rec.launch(
                "keccak_merkle",
                l.entry,
                [l.grid, 1, 1],
                [l.block, 1, 1],
                0,
                &l.args,
            )?;
        }
    }
    Ok(())
}

/// Concatenated 32-byte digests (as [`Runtime::buf_commit_keep_leaves`] keeps them) split into digests.
pub fn digests(bytes: &[u8]) -> Result<Vec<[u8; 32]>, RuntimeError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(RuntimeError::Shape(format!(
            "{} bytes are not whole 32-byte digests",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|d| {
            let mut out = [0u8; 32];
            out.copy_from_slice(d);
            out
        })
        .collect())
}

/// The GEMM launch the CUDA backend makes for `C = A·B` on buffers `[a, bt, c]` (handles in place of pointers).
fn record_gemm_launch(
    rec: &mut Recorder,
    [a, bt, c]: [u32; 3],
    m: usize,
    n: usize,
    k: usize,
) -> Result<(), RuntimeError> {
    rec.launch(
        "gemm_i8",
        gemm::ENTRY,
        gemm::grid(m, n),
        [gemm::THREADS, 1, 1],
        0,
        &[
            Arg::Ptr(a as u64),
            Arg::Ptr(bt as u64),
            Arg::Ptr(c as u64),
            Arg::U32(m as u32),
            Arg::U32(n as u32),
            Arg::U32(k as u32),
        ],
    )
}

fn record_fill_launch(
    rec: &mut Recorder,
    buf: u64,
    len: u64,
    seed: &[u8; 32],
    stream: u8,
) -> Result<(), RuntimeError> {
    let w = fill::seed_words(seed);
    rec.launch(
        "keccak_merkle",
        fill::ENTRY,
        [
            len.div_ceil(fill::RATE as u64)
                .div_ceil(fill::BLOCK as u64)
                .max(1) as u32,
            1,
            1,
        ],
        [fill::BLOCK, 1, 1],
        0,
        &[
            Arg::Ptr(buf),
            Arg::U64(len),
            Arg::U64(w[0]),
            Arg::U64(w[1]),
            Arg::U64(w[2]),
            Arg::U64(w[3]),
            Arg::U32(stream as u32),
        ],
    )
}

fn record_freivalds_launches(
    rec: &mut Recorder,
    h: &[u64],
    m: usize,
    n: usize,
    k: usize,
) -> Result<(), RuntimeError> {
    // The CUDA backend's launches (src/cuda.rs): same entries, order, grids and arguments, with buffer handles for
    // device pointers: h = [a, bt, c, r, scratch].
    let (m32, n32, k32) = (m as u32, n as u32, k as u32);
    let [a, bt, c, r, sc] = [h[0], h[1], h[2], h[3], h[4]].map(Arg::Ptr);
    let slices = Arg::U32(freivalds::DEFAULT_SLICES);
    let (m, n, k) = (Arg::U32(m32), Arg::U32(n32), Arg::U32(k32));
    record_freivalds_list(
        rec,
        m32,
        k32,
        [
            (freivalds::ENTRY_BR_PARTIAL, vec![bt, r, n, k, sc]),
            (freivalds::ENTRY_SUM_SLICES, vec![sc, k, slices, sc]),
            (freivalds::ENTRY_ROWS_I8, vec![a, sc, m, k, sc]),
            (freivalds::ENTRY_ROWS_I32, vec![c, r, m, n, sc]),
        ],
    )
}

/// The CUDA backend's six bilinear-check launches (src/cuda.rs), with buffer handles for device pointers:
/// h = [a, bt, c, r, s, scratch].
fn record_bilinear_launches(
    rec: &mut Recorder,
    h: &[u64],
    m: usize,
    n: usize,
    k: usize,
) -> Result<(), RuntimeError> {
    let (m32, n32, k32) = (m as u32, n as u32, k as u32);
    let [a, bt, c, r, s, sc] = [h[0], h[1], h[2], h[3], h[4], h[5]].map(Arg::Ptr);
    let slices = Arg::U32(freivalds::DEFAULT_SLICES);
    let (m, n, k) = (Arg::U32(m32), Arg::U32(n32), Arg::U32(k32));
    record_freivalds_list(
        rec,
        m32,
        k32,
        [
            (freivalds::ENTRY_BR_PARTIAL, vec![bt, r, n, k, sc]),
            (freivalds::ENTRY_BR_PARTIAL, vec![a, s, m, k, sc]),
            (freivalds::ENTRY_SUM_SLICES, vec![sc, k, slices, sc]),
            (freivalds::ENTRY_SUM_SLICES, vec![sc, k, slices, sc]),
            (freivalds::ENTRY_ROWS_I32, vec![c, r, m, n, sc]),
            (freivalds::ENTRY_DOT2, vec![sc, sc, k, s, sc, m, sc]),
        ],
    )
}

/// Records Freivalds launches with the CUDA backend's grids and blocks (`kernels::freivalds::grid`; C·r's grid
/// uncapped: the cap is per SM, which the CPU backend does not have).
fn record_freivalds_list<const N: usize>(
    rec: &mut Recorder,
    m: u32,
    k: u32,
    launches: [(&str, Vec<Arg>); N],
) -> Result<(), RuntimeError> {
    for (entry, args) in launches {
        let grid = freivalds::grid(entry, m, k, freivalds::DEFAULT_SLICES, 0)
            .ok_or_else(|| RuntimeError::Shape(format!("freivalds: unknown entry {entry}")))?;
        let block = if entry == freivalds::ENTRY_DOT2 {
            freivalds::DOT_BLOCK
        } else {
            freivalds::BLOCK
        };
        rec.launch("freivalds", entry, grid, [block, 1, 1], 0, &args)?;
    }
    Ok(())
}

/// A, Bt and C on the device, for a check of C = A·B.
#[cfg(feature = "cuda")]
fn upload_operands(
    e: &crate::cuda::CudaExec,
    a: &[i8],
    bt: &[i8],
    c: &[i32],
) -> Result<[cust::memory::DeviceBuffer<u8>; 3], RuntimeError> {
    Ok([
        e.upload(&i8_bytes(a))?,
        e.upload(&i8_bytes(bt))?,
        e.upload(&i32_bytes(c))?,
    ])
}
