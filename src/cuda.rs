//! The CUDA backend (feature `cuda`, cust 0.3.2 over the driver API).
//!
//! [`CudaExec`] owns the context, one stream and the loaded modules. Modules are loaded only from a
//! [`MeasuredImage`] (made by [`Recorder::measure_module`] after it logged the image digest); every launch goes
//! through [`CudaExec::launch`], which records it in the log first. Without a usable driver (the stub libcuda that
//! `build.rs` links when CUDA is absent answers CUDA_ERROR_NO_DEVICE) [`CudaExec::new`] returns
//! [`RuntimeError::NoDevice`].
#![allow(unsafe_code)]

use crate::error::RuntimeError;
use crate::kernels::merkle::{CommitSchedule, CommitStep, Lane};
use crate::kernels::{fill, freivalds, gemm, keccak, merkle};
use crate::runtime::{Arg, MeasuredImage, Recorder};
use cuproof_core::commitment::{CommitParams, Commitment};
use cuproof_core::log::GpuInfo;
use cust::device::DeviceAttribute;
use cust::event::{Event, EventFlags};
use cust::memory::{CopyDestination, DeviceBuffer};
use cust::module::Module;
use cust::prelude::{Context, Device, Stream, StreamFlags};
use cust::stream::StreamWaitEventFlags;
use std::collections::HashMap;
use std::ffi::c_void;

/// Where the linked libcuda came from at build time: `real:<dir>` or `stub:<dir>`.
pub const LIBCUDA: &str = env!("CUPROOF_LIBCUDA");

fn err(op: &'static str) -> impl Fn(cust::error::CudaError) -> RuntimeError {
    move |e| match e {
        cust::error::CudaError::NoDevice => {
            RuntimeError::NoDevice(format!("{op}: CUDA_ERROR_NO_DEVICE ({LIBCUDA})"))
        }
        e => RuntimeError::Cuda {
            op,
            msg: e.to_string(),
        },
    }
}

/// `CUtensorMap` (cuda.h: 16 opaque 64-bit words, 64-byte aligned).
#[repr(C, align(64))]
struct CuTensorMap([u64; 16]);

#[link(name = "cuda")]
extern "C" {
    // CUDA 12.0+ driver API; not in cust_raw 0.11.3's bindings. The stub libcuda exports it too
    // (kernels/cuda_stub_symbols.txt). Enum parameters are C `int`s.
    fn cuTensorMapEncodeTiled(
        tensor_map: *mut CuTensorMap,
        data_type: u32,
        rank: u32,
        global_address: *mut c_void,
        global_dim: *const u64,
        global_strides: *const u64,
        box_dim: *const u32,
        element_strides: *const u32,
        interleave: u32,
        swizzle: u32,
        l2_promotion: u32,
        oob_fill: u32,
    ) -> u32;
}

/// `CUlaunchAttribute` (cuda.h: a 4-byte id, 4 bytes of padding, a 64-byte value union).
#[repr(C, align(8))]
struct CuLaunchAttribute {
    id: u32,
    pad: [u8; 4],
    value: [u8; 64],
}

/// `CUlaunchConfig` (cuda.h).
#[repr(C)]
struct CuLaunchConfig {
    grid: [u32; 3],
    block: [u32; 3],
    shared: u32,
    stream: cust::sys::CUstream,
    attrs: *mut CuLaunchAttribute,
    num_attrs: u32,
}

// The layouts cuda.h gives these structs on 64-bit targets.
const _: () = assert!(std::mem::size_of::<CuLaunchAttribute>() == 72);
const _: () = assert!(std::mem::size_of::<CuLaunchConfig>() == 56);

#[link(name = "cuda")]
extern "C" {
    // CUDA 12.0+ driver API, likewise absent from cust_raw 0.11.3 and exported by the stub.
    fn cuLaunchKernelEx(
        config: *const CuLaunchConfig,
        f: cust::sys::CUfunction,
        params: *mut *mut c_void,
        extra: *mut *mut c_void,
    ) -> u32;
}

/// `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION`: the launch may begin before its stream predecessor
/// completes; the kernel waits for it with `griddepcontrol.wait`.
const CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION: u32 = 6;

const CU_TENSOR_MAP_DATA_TYPE_UINT8: u32 = 0;
const CU_TENSOR_MAP_INTERLEAVE_NONE: u32 = 0;
const CU_TENSOR_MAP_SWIZZLE_128B: u32 = 3;
const CU_TENSOR_MAP_L2_PROMOTION_L2_256B: u32 = 3;
const CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: u32 = 0;

/// A 2-D uint8 tensor map of a `rows × cols` row-major matrix at `ptr` (cols % 16 == 0), box `box_cols × box_rows`,
/// 128-byte swizzle, zero fill out of bounds. Returns the 128 bytes of the map.
fn tensor_map_2d(
    ptr: u64,
    rows: usize,
    cols: usize,
    box_rows: u32,
    box_cols: u32,
) -> Result<[u8; 128], RuntimeError> {
    let dims = [cols as u64, rows as u64];
    let strides = [cols as u64];
    let boxd = [box_cols, box_rows];
    let elem = [1u32, 1u32];
    let mut map = CuTensorMap([0; 16]);
    // SAFETY: every pointer refers to a live local array of the length the rank (2) implies; the driver writes only
    // the 128-byte map we own. `ptr` is a device address the caller keeps alive while the map is used.
    let r = unsafe {
        cuTensorMapEncodeTiled(
            &mut map,
            CU_TENSOR_MAP_DATA_TYPE_UINT8,
            2,
            ptr as *mut c_void,
            dims.as_ptr(),
            strides.as_ptr(),
            boxd.as_ptr(),
            elem.as_ptr(),
            CU_TENSOR_MAP_INTERLEAVE_NONE,
            CU_TENSOR_MAP_SWIZZLE_128B,
            CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
        )
    };
    match r {
        0 => {}
        100 => {
            return Err(RuntimeError::NoDevice(format!(
                "cuTensorMapEncodeTiled: CUDA_ERROR_NO_DEVICE ({LIBCUDA})"
            )))
        }
        code => {
            return Err(RuntimeError::Cuda {
                op: "cuTensorMapEncodeTiled",
                msg: format!("CUresult {code}"),
            })
        }
    }
    let mut out = [0u8; 128];
    for (o, w) in out.chunks_exact_mut(8).zip(map.0.iter()) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    Ok(out)
}

/// What a pair of GEMM tensor maps was encoded for: (A, Bt, m, n, k).
type TmapKey = (u64, u64, usize, usize, usize);

/// Which int8 GEMM kernel to launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmKernel {
    /// The Hopper kernel when loaded (compute capability 9.0) and applicable (k % 16 == 0), else `MmaSync`.
    Auto,
    /// `cuproof_gemm_i8`: mma.sync m16n8k32, any shape, sm_80+.
    MmaSync,
    /// `cuproof_gemm_i8_sm90`: TMA + wgmma m64n256k32 (errors when not loaded or not applicable).
    Wgmma,
}

/// Which Freivalds kernels to launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreivaldsKernel {
    /// `Simt` (the tensor-core kernels become the default once a device check has measured them).
    Auto,
    /// The four integer-ALU kernels (`cuproof_freivalds_br_partial`, `_sum_slices`, `_rows_i8`, `_rows_i32`):
    /// any shape.
    Simt,
    /// The six tensor-core kernels (`cuproof_freivalds_tc_*`, `kernels/freivalds_tc.cuh`): k % 16 == 0 and
    /// n % 4 == 0 (errors otherwise).
    TensorCore,
}

/// How the independent Freivalds passes are issued: C·r needs only r, so it can run beside the B·r → A·y chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreivaldsSchedule {
    /// Every launch on the main stream, in record order.
    OneStream,
    /// C·r issued first, on the second stream; the chain on the main stream; joined by an event.
    Overlap,
    /// As `Overlap`, with the chain on a stream of the greatest priority (the default).
    OverlapPrioritized,
}

/// How the integer-ALU Freivalds kernels are launched (tuning; `Default` is the production choice, docs/perf.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreivaldsLaunch {
    /// Stream schedule of the four kernels.
    pub schedule: FreivaldsSchedule,
    /// Blocks of the C·r kernel per SM (its warps stride over the rows); 0: one block per 8 row groups.
    pub cr_blocks_per_sm: u32,
    /// Column slices of B·r, 1..=`freivalds::SLICES` (0: `SLICES`); any count gives the same y.
    pub br_slices: u32,
    /// C·r by the Hopper bulk-copy kernel with this shape, where it applies (the `freivalds_sm90` module loaded,
    /// `freivalds::bulk::launch` accepts the shape); otherwise the SIMT kernel.
    pub cr_bulk: Option<freivalds::bulk::Shape>,
    /// A·y likewise.
    pub ay_bulk: Option<freivalds::bulk::Shape>,
    /// B·r with the slice sum folded in (`cuproof_freivalds_br_fused`: one launch instead of B·r + sum).
    pub fused_sum: bool,
    /// Threads per C·r block (a multiple of 32 up to `freivalds::BLOCK`; 0: `BLOCK`): with `cr_blocks_per_sm`,
    /// how many C·r warps share each SM with the chain.
    pub cr_block: u32,
    /// The chain from the `freivalds_pdl_sm90` module (when loaded: compute capability 9.0), its dependent
    /// launches (slice sum, A·y) with programmatic dependent launch.
    pub pdl: bool,
    /// B·r by `cuproof_freivalds_br_partial4` (4 l per thread, 48 registers: two blocks fit beside C·r's).
    pub br_narrow: bool,
    /// B·r and A·y with two-way dot products (`dp2a`: the `_dp2a` entries, half the arithmetic instructions of the
    /// IMAD kernels, the same partial sums). Takes precedence over `ay_bulk` (the bulk A·y has no dp2a form); the
    /// fused B·r (`fused_sum`) stays IMAD.
    pub dp2a: bool,
}

impl Default for FreivaldsLaunch {
    /// Measured on H100s (docs/perf.md §4): C·r held to two blocks per SM leaves registers for the chain's
    /// blocks beside it (uncapped, its 512 blocks fill every SM and the overlap mostly serialises).
    fn default() -> Self {
        FreivaldsLaunch {
            schedule: FreivaldsSchedule::OverlapPrioritized,
            cr_blocks_per_sm: freivalds::CR_BLOCKS_PER_SM,
            br_slices: freivalds::DEFAULT_SLICES,
            cr_bulk: None,
            ay_bulk: None,
            fused_sum: false,
            cr_block: 0,
            pdl: false,
            br_narrow: false,
            dp2a: false,
        }
    }
}

impl FreivaldsLaunch {
    fn slices(&self) -> u32 {
        match self.br_slices {
            0 => freivalds::SLICES,
            s => s.min(freivalds::SLICES),
        }
    }
}

/// Device scratch of the tensor-core Freivalds kernels for one shape (allocated once for timing loops).
pub struct FreivaldsTcScratch {
    /// The launch plan.
    pub plan: freivalds::tc::Plan,
    shape: (usize, usize, usize),
    rplanes: DeviceBuffer<u8>,
    eplanes: DeviceBuffer<u8>,
    rsum: DeviceBuffer<u64>,
    ypart: DeviceBuffer<u64>,
    yplanes: DeviceBuffer<u8>,
    zpart: DeviceBuffer<u64>,
    wpart: DeviceBuffer<u64>,
}

/// Device scratch of the bilinear Freivalds check for one shape (allocated once for timing loops).
pub struct BilinearScratch {
    shape: (usize, usize, usize),
    part_u: DeviceBuffer<u64>,
    part_v: DeviceBuffer<u64>,
    /// u = sᵀA (k entries).
    pub u: DeviceBuffer<u64>,
    /// v = B·r (k entries).
    pub v: DeviceBuffer<u64>,
    /// w = C·r (m entries).
    pub w: DeviceBuffer<u64>,
    /// [u·v, s·w].
    pub out: DeviceBuffer<u64>,
    /// The queue kernel's scratch ([`BilinearScratch::new`]; none from [`BilinearScratch::without_queue`]).
    queue: Option<QueueScratch>,
}

/// The queue kernel's own scratch: its u32 counters (zeroed here; the kernel leaves them zero), sized for 4 l per
/// lane, and two partial residues per block (64 KiB).
struct QueueScratch {
    ctr: DeviceBuffer<u8>,
    blocks: DeviceBuffer<u64>,
}

impl BilinearScratch {
    /// Scratch for an m×k by k×n product, for the two-launch check and the queue kernel.
    pub fn new(exec: &CudaExec, m: usize, n: usize, k: usize) -> Result<Self, RuntimeError> {
        let mut s = Self::without_queue(exec, m, n, k)?;
        s.queue = Some(QueueScratch {
            ctr: exec.alloc(4 * (2 + 3 * k.div_ceil(32 * 4)))?,
            blocks: exec.zeros_u64(2 * freivalds::queue::MAX_BLOCKS as usize)?,
        });
        Ok(s)
    }

    /// Scratch for the two-launch check only (what one call of `freivalds_bilinear_device` needs).
    pub fn without_queue(
        exec: &CudaExec,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Self, RuntimeError> {
        let parts = k * freivalds::SLICES as usize;
        Ok(BilinearScratch {
            shape: (m, n, k),
            part_u: exec.zeros_u64(parts)?,
            part_v: exec.zeros_u64(parts)?,
            u: exec.zeros_u64(k)?,
            v: exec.zeros_u64(k)?,
            w: exec.zeros_u64(m)?,
            out: exec.zeros_u64(2)?,
            queue: None,
        })
    }

    /// The shape (m, n, k), if the operands fit it: A m×k and Bt n×k bytes, C m×n int32, r n and s m words.
    fn check(
        &self,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &DeviceBuffer<u64>,
        s: &DeviceBuffer<u64>,
    ) -> Result<(usize, usize, usize), RuntimeError> {
        let (m, n, k) = self.shape;
        gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        if c.len() < m * n * 4 || r.len() < n || s.len() < m {
            return Err(RuntimeError::Shape(
                "freivalds (bilinear): a buffer is too small for the shape".into(),
            ));
        }
        Ok((m, n, k))
    }
}

/// A GPU with the cuproof modules loaded.
pub struct CudaExec {
    info: GpuInfo,
    modules: HashMap<String, Module>,
    stream: Stream,
    /// A second stream for work independent of the main chain (the Freivalds C·r pass runs on it beside B·r and
    /// A·y); forked from and joined back into `stream` by events, so callers only ever see `stream`.
    aux: Stream,
    /// A stream of the device's greatest priority: with `FreivaldsSchedule::OverlapPrioritized` the B·r → A·y
    /// chain runs on it, so its blocks are scheduled ahead of C·r's as SM slots free up.
    hi: Stream,
    /// Tensor maps of the last Hopper GEMM and the device copy of the two maps.
    tmaps: std::cell::RefCell<Option<(TmapKey, DeviceBuffer<u8>)>>,
    /// The scratch of the last commitment, reused by the next one that fits (no allocation per call in a loop).
    commit_scratch: std::cell::RefCell<Option<CommitScratch>>,
    /// The fused B·r kernel's accumulators and group counters for the last k (zeroed at allocation; the kernel
    /// leaves them zero).
    fused_scratch: std::cell::RefCell<Option<(usize, DeviceBuffer<u64>)>>,
    /// Resident blocks per SM of each bilinear queue entry (the occupancy query, once per entry).
    queue_occupancy: std::cell::RefCell<HashMap<&'static str, u32>>,
    ctx: Context,
}

impl std::fmt::Debug for CudaExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaExec")
            .field("info", &self.info)
            .finish()
    }
}

fn device_uuid(dev: &Device) -> Result<[u8; 16], RuntimeError> {
    let mut u = cust::sys::CUuuid_st { bytes: [0; 16] };
    // SAFETY: cuDeviceGetUuid writes 16 bytes into the CUuuid we own; dev is a valid device handle.
    let r = unsafe { cust::sys::cuDeviceGetUuid(&mut u, dev.as_raw()) };
    if r != cust::sys::cudaError_enum::CUDA_SUCCESS {
        return Err(RuntimeError::Cuda {
            op: "cuDeviceGetUuid",
            msg: format!("{r:?}"),
        });
    }
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(u.bytes.iter()) {
        *o = *b as u8;
    }
    Ok(out)
}

/// A launch configuration.
#[derive(Clone, Copy, Debug)]
pub struct LaunchCfg {
    /// Grid.
    pub grid: [u32; 3],
    /// Block.
    pub block: [u32; 3],
    /// Dynamic shared memory bytes.
    pub shared: u32,
}

/// Device scratch of a commitment: two digest buffers for the levels and the root.
pub struct CommitScratch {
    leaves: u64,
    a: DeviceBuffer<u64>,
    b: DeviceBuffer<u64>,
    root: DeviceBuffer<u64>,
}

impl CommitScratch {
    /// Scratch for up to `leaves` leaves.
    pub fn new(leaves: u64) -> Result<Self, RuntimeError> {
        let words = usize::try_from(leaves.max(1).saturating_mul(4))
            .map_err(|_| RuntimeError::Shape("too many leaves".into()))?;
        // level 1 holds ceil(n/2) digests; later levels alternate between `a` (n digests) and `b`
        let words_b = 4 * (words / 4).div_ceil(2);
        Ok(CommitScratch {
            leaves: leaves.max(1),
            a: DeviceBuffer::zeroed(words).map_err(err("cuMemAlloc"))?,
            b: DeviceBuffer::zeroed(words_b).map_err(err("cuMemAlloc"))?,
            root: DeviceBuffer::zeroed(4).map_err(err("cuMemAlloc"))?,
        })
    }
}

impl CudaExec {
    /// Initialises the driver and creates a context on device `ordinal`; reads the inventory.
    pub fn new(ordinal: u32) -> Result<Self, RuntimeError> {
        cust::init(cust::CudaFlags::empty()).map_err(err("cuInit"))?;
        let dev = Device::get_device(ordinal).map_err(err("cuDeviceGet"))?;
        let ctx = Context::new(dev).map_err(err("cuCtxCreate"))?;
        let attr = |a| dev.get_attribute(a).map_err(err("cuDeviceGetAttribute"));
        let ver = cust::CudaApiVersion::get().map_err(err("cuDriverGetVersion"))?;
        let info = GpuInfo {
            ordinal,
            name: dev.name().map_err(err("cuDeviceGetName"))?,
            uuid: device_uuid(&dev)?,
            sm_count: attr(DeviceAttribute::MultiprocessorCount)? as u32,
            memory_bytes: dev.total_memory().map_err(err("cuDeviceTotalMem"))? as u64,
            compute_capability: (
                attr(DeviceAttribute::ComputeCapabilityMajor)? as u8,
                attr(DeviceAttribute::ComputeCapabilityMinor)? as u8,
            ),
            driver_version: (ver.major() * 1000 + ver.minor() * 10) as u32,
        };
        // A blocking stream: it is ordered with the legacy default stream that cust's synchronous copies and
        // memsets use, so uploads are complete before our kernels read them.
        let stream = Stream::new(StreamFlags::DEFAULT, None).map_err(err("cuStreamCreate"))?;
        let aux = Stream::new(StreamFlags::DEFAULT, None).map_err(err("cuStreamCreate"))?;
        let greatest = cust::context::CurrentContext::get_stream_priority_range()
            .map_err(err("cuCtxGetStreamPriorityRange"))?
            .greatest;
        let hi =
            Stream::new(StreamFlags::DEFAULT, Some(greatest)).map_err(err("cuStreamCreate"))?;
        Ok(CudaExec {
            info,
            modules: HashMap::new(),
            stream,
            aux,
            hi,
            tmaps: std::cell::RefCell::new(None),
            commit_scratch: std::cell::RefCell::new(None),
            fused_scratch: std::cell::RefCell::new(None),
            queue_occupancy: std::cell::RefCell::new(HashMap::new()),
            ctx,
        })
    }

    /// Makes this executor's context the calling thread's current one (a runtime moved to another thread calls
    /// this before its first launch there; the driver's current context is per thread).
    pub fn make_current(&self) -> Result<(), RuntimeError> {
        cust::context::CurrentContext::set_current(&self.ctx).map_err(err("cuCtxSetCurrent"))
    }

    /// The device inventory entry.
    pub fn gpu_info(&self) -> &GpuInfo {
        &self.info
    }

    /// Loads a measured module image (the digest was logged before this call).
    pub fn load(&mut self, token: MeasuredImage<'_>) -> Result<(), RuntimeError> {
        let module = Module::from_ptx(token.image, &[]).map_err(err("cuModuleLoadData"))?;
        // entries that take more than 48 KiB of dynamic shared memory opt in at load
        let big_smem: &[(&str, u32)] = match token.name {
            gemm::sm90::MODULE => &[(gemm::sm90::ENTRY, gemm::sm90::SMEM_BYTES)],
            freivalds::bulk::MODULE => &[
                (freivalds::bulk::ENTRY_CR, freivalds::bulk::MAX_SMEM),
                (freivalds::bulk::ENTRY_AY, freivalds::bulk::MAX_SMEM),
            ],
            _ => &[],
        };
        for (entry, bytes) in big_smem {
            Self::allow_dynamic_smem(&module, entry, *bytes)?;
        }
        self.modules.insert(token.name.to_string(), module);
        Ok(())
    }

    /// Lets `entry` of `module` launch with up to `bytes` of dynamic shared memory.
    fn allow_dynamic_smem(module: &Module, entry: &str, bytes: u32) -> Result<(), RuntimeError> {
        let f = module
            .get_function(entry)
            .map_err(err("cuModuleGetFunction"))?;
        // SAFETY: `f` is a live function handle of the module just loaded; the attribute takes an int.
        let r = unsafe {
            cust::sys::cuFuncSetAttribute(
                f.to_raw(),
                cust::sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                bytes as i32,
            )
        };
        if r != cust::sys::cudaError_enum::CUDA_SUCCESS {
            return Err(RuntimeError::Cuda {
                op: "cuFuncSetAttribute",
                msg: format!("{r:?}"),
            });
        }
        Ok(())
    }

    /// Records, then issues a launch of `entry` from a measured module.
    pub fn launch(
        &self,
        rec: &mut Recorder,
        module: &str,
        entry: &str,
        cfg: LaunchCfg,
        args: &[Arg],
    ) -> Result<(), RuntimeError> {
        rec.launch(module, entry, cfg.grid, cfg.block, cfg.shared, args)?;
        self.issue(&self.stream, module, entry, cfg, args)
    }

    /// Issues a launch on `stream` (the caller recorded it).
    fn issue(
        &self,
        stream: &Stream,
        module: &str,
        entry: &str,
        cfg: LaunchCfg,
        args: &[Arg],
    ) -> Result<(), RuntimeError> {
        self.issue_with(stream, module, entry, cfg, args, false)
    }

    /// [`CudaExec::issue`], with programmatic stream serialization when `dependent`: the kernel may launch before
    /// its predecessor on `stream` completes and must wait for it itself (`griddepcontrol.wait`, the
    /// `freivalds_pdl_sm90` module's dependents).
    fn issue_with(
        &self,
        stream: &Stream,
        module: &str,
        entry: &str,
        cfg: LaunchCfg,
        args: &[Arg],
        dependent: bool,
    ) -> Result<(), RuntimeError> {
        let m = self
            .modules
            .get(module)
            .ok_or_else(|| RuntimeError::Unmeasured(module.to_string()))?;
        let f = m.get_function(entry).map_err(err("cuModuleGetFunction"))?;
        let mut slots: Vec<[u8; 8]> = args
            .iter()
            .map(|a| {
                let mut s = [0u8; 8];
                let b = a.bytes();
                s[..b.len()].copy_from_slice(&b);
                s
            })
            .collect();
        let ptrs: Vec<*mut c_void> = slots
            .iter_mut()
            .map(|s| s.as_mut_ptr() as *mut c_void)
            .collect();
        if dependent {
            let mut attr = CuLaunchAttribute {
                id: CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION,
                pad: [0; 4],
                value: [0; 64],
            };
            // programmaticStreamSerializationAllowed: int 1
            attr.value[..4].copy_from_slice(&1i32.to_le_bytes());
            let config = CuLaunchConfig {
                grid: cfg.grid,
                block: cfg.block,
                shared: cfg.shared,
                stream: stream.as_inner(),
                attrs: &mut attr,
                num_attrs: 1,
            };
            let mut ptrs = ptrs;
            // SAFETY: `config` and `attr` are live locals laid out as cuda.h's structs (sizes asserted above);
            // `ptrs` holds one pointer per kernel parameter to live 8-byte slots, as for cuLaunchKernel below; `f`
            // is a function of a loaded module.
            let r = unsafe {
                cuLaunchKernelEx(&config, f.to_raw(), ptrs.as_mut_ptr(), std::ptr::null_mut())
            };
            return match r {
                0 => Ok(()),
                100 => Err(RuntimeError::NoDevice(format!(
                    "cuLaunchKernelEx: CUDA_ERROR_NO_DEVICE ({LIBCUDA})"
                ))),
                code => Err(RuntimeError::Cuda {
                    op: "cuLaunchKernelEx",
                    msg: format!("CUresult {code}"),
                }),
            };
        }
        // SAFETY: every pointer in `ptrs` points to an 8-byte slot holding the argument in the kernel's parameter
        // type (u64 / u32, little-endian); the slots outlive the call (the driver copies them at launch). Device
        // pointers passed as arguments come from live DeviceBuffers owned by the caller until synchronisation.
        unsafe {
            stream
                .launch(
                    &f,
                    (cfg.grid[0], cfg.grid[1], cfg.grid[2]),
                    (cfg.block[0], cfg.block[1], cfg.block[2]),
                    cfg.shared,
                    &ptrs,
                )
                .map_err(err("cuLaunchKernel"))?;
        }
        Ok(())
    }

    /// Makes `to` wait for the work queued so far on `from` (an event recorded on `from`).
    fn order(from: &Stream, to: &Stream) -> Result<(), RuntimeError> {
        let ev = Event::new(EventFlags::DISABLE_TIMING).map_err(err("cuEventCreate"))?;
        ev.record(from).map_err(err("cuEventRecord"))?;
        // The wait is captured at this call: the event may be destroyed (dropped) before it completes.
        to.wait_event(ev, StreamWaitEventFlags::DEFAULT)
            .map_err(err("cuStreamWaitEvent"))
    }

    /// Waits for the stream.
    pub fn sync(&self) -> Result<(), RuntimeError> {
        self.stream
            .synchronize()
            .map_err(err("cuStreamSynchronize"))
    }

    /// Host -> device copy into a new buffer (at least one byte is allocated).
    pub fn upload(&self, data: &[u8]) -> Result<DeviceBuffer<u8>, RuntimeError> {
        if data.is_empty() {
            return DeviceBuffer::zeroed(1).map_err(err("cuMemAlloc"));
        }
        DeviceBuffer::from_slice(data).map_err(err("cuMemcpyHtoD"))
    }

    /// A zeroed device buffer of `len` bytes (at least one).
    pub fn alloc(&self, len: usize) -> Result<DeviceBuffer<u8>, RuntimeError> {
        DeviceBuffer::zeroed(len.max(1)).map_err(err("cuMemAlloc"))
    }

    /// Device -> host copy of a whole buffer.
    pub fn download_u8(&self, buf: &DeviceBuffer<u8>) -> Result<Vec<u8>, RuntimeError> {
        self.sync()?;
        let mut v = vec![0u8; buf.len()];
        buf.copy_to(&mut v[..]).map_err(err("cuMemcpyDtoH"))?;
        Ok(v)
    }

    /// Host -> device copy of u64 words into a new buffer (at least one word is allocated).
    pub fn upload_u64(&self, data: &[u64]) -> Result<DeviceBuffer<u64>, RuntimeError> {
        if data.is_empty() {
            return self.zeros_u64(1);
        }
        DeviceBuffer::from_slice(data).map_err(err("cuMemcpyHtoD"))
    }

    /// A zeroed device buffer of `len` u64 words (at least one).
    pub fn zeros_u64(&self, len: usize) -> Result<DeviceBuffer<u64>, RuntimeError> {
        DeviceBuffer::zeroed(len.max(1)).map_err(err("cuMemAlloc"))
    }

    /// Device -> host copy of a whole u64 buffer.
    pub fn download_u64(&self, buf: &DeviceBuffer<u64>) -> Result<Vec<u64>, RuntimeError> {
        self.sync()?;
        let mut v = vec![0u64; buf.len()];
        buf.copy_to(&mut v[..]).map_err(err("cuMemcpyDtoH"))?;
        Ok(v)
    }

    /// Commitment of the first `len` bytes of a device buffer, on the device (leaf, level and root kernels).
    pub fn commit_device(
        &self,
        rec: &mut Recorder,
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
    ) -> Result<Commitment, RuntimeError> {
        self.with_scratch(params.leaf_count(len), |scratch| {
            self.commit_device_with(rec, buf, len, params, scratch)
        })
    }

    /// Runs `f` with a commitment scratch for at least `leaves` leaves: the cached one when it is large enough.
    fn with_scratch<R>(
        &self,
        leaves: u64,
        f: impl FnOnce(&CommitScratch) -> Result<R, RuntimeError>,
    ) -> Result<R, RuntimeError> {
        let mut slot = self.commit_scratch.borrow_mut();
        let scratch = match slot.take() {
            Some(s) if s.leaves >= leaves => s,
            _ => CommitScratch::new(leaves)?,
        };
        let out = f(&scratch);
        *slot = Some(scratch);
        out
    }

    /// [`CudaExec::commit_device`] with preallocated scratch (for timing loops).
    pub fn commit_device_with(
        &self,
        rec: &mut Recorder,
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
    ) -> Result<Commitment, RuntimeError> {
        self.commit_device_sched(rec, buf, len, params, scratch, CommitSchedule::default())
    }

    /// [`CudaExec::commit_device_with`] under a chosen launch schedule (every schedule computes the same
    /// commitment; the CPU backend records [`CommitSchedule::default`]'s launches).
    pub fn commit_device_sched(
        &self,
        rec: &mut Recorder,
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
        schedule: CommitSchedule,
    ) -> Result<Commitment, RuntimeError> {
        let n = Self::commit_fits(buf, len, params, scratch)?;
        let data = buf.as_device_ptr().as_raw();
        let plan = merkle::commit_plan(n, schedule);
        self.commit_steps(rec, data, len, params, scratch, &plan)?;
        let r = self.download_u64(&scratch.root)?;
        Ok(Commitment {
            params: *params,
            len,
            root: merkle::lanes_to_digest(&r),
        })
    }

    /// Commitment of `buf[..len]` with its leaf digests kept on the device: a new buffer of 32 bytes per chunk
    /// (the digests' bytes in order), copied device to device before a tree pass reuses the leaf buffer. Nothing
    /// but the 32-byte root crosses PCIe. The default plan; the CPU backend records the same launches
    /// ([`crate::runtime::Runtime::buf_commit_keep_leaves`]).
    pub fn commit_device_keep_leaves(
        &self,
        rec: &mut Recorder,
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
    ) -> Result<(Commitment, DeviceBuffer<u8>), RuntimeError> {
        self.with_scratch(params.leaf_count(len), |scratch| {
            self.commit_keep_leaves_with(rec, buf, len, params, scratch)
        })
    }

    fn commit_keep_leaves_with(
        &self,
        rec: &mut Recorder,
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
    ) -> Result<(Commitment, DeviceBuffer<u8>), RuntimeError> {
        let n = Self::commit_fits(buf, len, params, scratch)?;
        let bytes = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(32))
            .ok_or_else(|| RuntimeError::Shape("commit: too many leaves".into()))?;
        // SAFETY: cuMemAlloc only (no memset, which would wait for the work queued before this call); every byte is
        // written by the device copy below, on our stream, before anything can read the buffer.
        let leaves = unsafe { DeviceBuffer::<u8>::uninitialized(bytes.max(1)) }
            .map_err(err("cuMemAlloc"))?;
        let data = buf.as_device_ptr().as_raw();
        // the default plan, cut before the first step that overwrites the leaf buffer (an odd pass) or reads the
        // tree root: everything before it has written the leaves and leaves them intact
        let plan = merkle::commit_plan(n, CommitSchedule::default());
        let split = plan
            .iter()
            .position(|s| match s {
                CommitStep::Subtree { pass, .. } => !pass.is_multiple_of(2),
                CommitStep::Root => true,
                _ => false,
            })
            .unwrap_or(plan.len());
        self.commit_steps(rec, data, len, params, scratch, &plan[..split])?;
        self.copy_raw_d2d(
            leaves.as_device_ptr().as_raw(),
            scratch.a.as_device_ptr().as_raw(),
            bytes,
        )?;
        self.commit_steps(rec, data, len, params, scratch, &plan[split..])?;
        let r = self.download_u64(&scratch.root)?;
        let c = Commitment {
            params: *params,
            len,
            root: merkle::lanes_to_digest(&r),
        };
        Ok((c, leaves))
    }

    /// The leaf count of a commitment of `buf[..len]`, or why it does not fit the buffer or the scratch.
    fn commit_fits(
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
    ) -> Result<u64, RuntimeError> {
        let n = params.leaf_count(len);
        if len > buf.len() as u64 {
            return Err(RuntimeError::Shape(format!(
                "commit: {len} bytes requested from a {}-byte buffer",
                buf.len()
            )));
        }
        if n > scratch.leaves {
            return Err(RuntimeError::Shape(format!(
                "commit: scratch holds {} leaves, {n} needed",
                scratch.leaves
            )));
        }
        Ok(n)
    }

    fn lane(&self, lane: Lane) -> &Stream {
        match lane {
            Lane::Main => &self.stream,
            Lane::Second => &self.aux,
            Lane::High => &self.hi,
        }
    }

    /// Records, then issues the steps of a commitment plan ([`merkle::commit_plan`]) over the data at device
    /// address `data` (unused by plans without leaf steps) and the scratch.
    fn commit_steps(
        &self,
        rec: &mut Recorder,
        data: u64,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
        steps: &[CommitStep],
    ) -> Result<(), RuntimeError> {
        let bufs = merkle::CommitBuffers {
            data,
            leaves: scratch.a.as_device_ptr().as_raw(),
            other: scratch.b.as_device_ptr().as_raw(),
            root: scratch.root.as_device_ptr().as_raw(),
        };
        for step in steps {
            let (lane, after) = match *step {
                CommitStep::Fork => {
                    Self::order(&self.stream, &self.aux)?;
                    Self::order(&self.stream, &self.hi)?;
                    continue;
                }
                CommitStep::Join => {
                    Self::order(&self.aux, &self.stream)?;
                    Self::order(&self.hi, &self.stream)?;
                    continue;
                }
                CommitStep::Leaves { lane, .. } => (lane, None),
                CommitStep::Subtree { lane, after, .. } => (lane, after),
                CommitStep::Root => (Lane::Main, None),
            };
            if let Some(a) = after.filter(|a| *a != lane) {
                Self::order(self.lane(a), self.lane(lane))?;
            }
            if let Some(l) = merkle::step_launch(step, &bufs, len, params) {
                let cfg = LaunchCfg {
                    grid: [l.grid, 1, 1],
                    block: [l.block, 1, 1],
                    shared: 0,
                };
                rec.launch("keccak_merkle", l.entry, cfg.grid, cfg.block, 0, &l.args)?;
                self.issue(self.lane(lane), "keccak_merkle", l.entry, cfg, &l.args)?;
            }
        }
        Ok(())
    }

    /// The serial plan's steps of a commitment of `len` bytes that `keep` selects, after checking the scratch.
    fn serial_steps(
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
        keep: impl Fn(&CommitStep) -> bool,
    ) -> Result<Vec<CommitStep>, RuntimeError> {
        let n = params.leaf_count(len);
        if n > scratch.leaves {
            return Err(RuntimeError::Shape(format!(
                "commit: scratch holds {} leaves, {n} needed",
                scratch.leaves
            )));
        }
        Ok(merkle::commit_plan(n, CommitSchedule::Serial)
            .into_iter()
            .filter(keep)
            .collect())
    }

    /// The tree levels and the root of a commitment of `len` bytes whose leaves [`CudaExec::merkle_leaves`] wrote
    /// into `scratch` (launches only: the root stays in the scratch).
    pub fn merkle_tree(
        &self,
        rec: &mut Recorder,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
    ) -> Result<(), RuntimeError> {
        let steps = Self::serial_steps(len, params, scratch, |s| {
            !matches!(s, CommitStep::Leaves { .. })
        })?;
        self.commit_steps(rec, 0, len, params, scratch, &steps)
    }

    /// Subtree pass `pass` (0-based, of [`merkle::subtree_passes`]) of the tree over `scratch` (for timing the
    /// levels one launch at a time).
    pub fn merkle_subtree_pass(
        &self,
        rec: &mut Recorder,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
        pass: usize,
    ) -> Result<(), RuntimeError> {
        let steps = Self::serial_steps(
            len,
            params,
            scratch,
            |s| matches!(s, CommitStep::Subtree { pass: p, .. } if *p == pass),
        )?;
        if steps.is_empty() {
            return Err(RuntimeError::Shape(format!(
                "commit: no subtree pass {pass} for {len} bytes"
            )));
        }
        self.commit_steps(rec, 0, len, params, scratch, &steps)
    }

    /// Seeded fill of a new device buffer of `len` bytes.
    pub fn fill_device(
        &self,
        rec: &mut Recorder,
        seed: &[u8; 32],
        stream: u8,
        len: usize,
    ) -> Result<DeviceBuffer<u8>, RuntimeError> {
        let out = self.alloc(len)?;
        self.fill_into(rec, &out, seed, stream, len)?;
        Ok(out)
    }

    /// Seeded fill of the first `len` bytes of an existing device buffer.
    pub fn fill_into(
        &self,
        rec: &mut Recorder,
        out: &DeviceBuffer<u8>,
        seed: &[u8; 32],
        stream: u8,
        len: usize,
    ) -> Result<(), RuntimeError> {
        if len > out.len() {
            return Err(RuntimeError::Shape(format!(
                "fill: {len} bytes into a {}-byte buffer",
                out.len()
            )));
        }
        let w = fill::seed_words(seed);
        let blocks = (len as u64).div_ceil(fill::RATE as u64);
        self.launch(
            rec,
            "keccak_merkle",
            fill::ENTRY,
            LaunchCfg {
                grid: [blocks.div_ceil(fill::BLOCK as u64).max(1) as u32, 1, 1],
                block: [fill::BLOCK, 1, 1],
                shared: 0,
            },
            &[
                Arg::Ptr(out.as_device_ptr().as_raw()),
                Arg::U64(len as u64),
                Arg::U64(w[0]),
                Arg::U64(w[1]),
                Arg::U64(w[2]),
                Arg::U64(w[3]),
                Arg::U32(stream as u32),
            ],
        )
    }

    /// C = A·B on the tensor cores; returns C as a device byte buffer (m·n little-endian int32).
    pub fn gemm_device(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<DeviceBuffer<u8>, RuntimeError> {
        gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        let c = self.alloc(m * n * 4)?;
        self.gemm_into(rec, a, bt, &c, m, n, k)?;
        Ok(c)
    }

    /// C = A·B into an existing buffer (for timing loops), with the kernel chosen by [`GemmKernel::Auto`].
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_into(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(), RuntimeError> {
        self.gemm_into_with(rec, GemmKernel::Auto, a, bt, c, m, n, k)
    }

    /// The leaf kernel alone: `H(0x00 || chunk)` of every chunk of `buf[..len]` into the scratch (for timing the
    /// leaves apart from the tree levels; [`CudaExec::commit_device_with`] runs it first).
    pub fn merkle_leaves(
        &self,
        rec: &mut Recorder,
        buf: &DeviceBuffer<u8>,
        len: u64,
        params: &CommitParams,
        scratch: &CommitScratch,
    ) -> Result<(), RuntimeError> {
        Self::commit_fits(buf, len, params, scratch)?;
        let steps = Self::serial_steps(len, params, scratch, |s| {
            matches!(s, CommitStep::Leaves { .. })
        })?;
        let data = buf.as_device_ptr().as_raw();
        self.commit_steps(rec, data, len, params, scratch, &steps)
    }

    /// Whether the Hopper GEMM module is loaded.
    pub fn has_sm90_gemm(&self) -> bool {
        self.modules.contains_key(gemm::sm90::MODULE)
    }

    /// Whether the Hopper Freivalds row passes (`freivalds_sm90`) are loaded.
    pub fn has_sm90_freivalds(&self) -> bool {
        self.modules.contains_key(freivalds::bulk::MODULE)
    }

    /// C = A·B into an existing buffer with a chosen kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_into_with(
        &self,
        rec: &mut Recorder,
        kernel: GemmKernel,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(), RuntimeError> {
        gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        if c.len() < m * n * 4 {
            return Err(RuntimeError::Shape("gemm: C buffer too small".into()));
        }
        let hopper = self.has_sm90_gemm() && gemm::sm90::applies(k);
        let use_sm90 = match kernel {
            GemmKernel::Auto => hopper,
            GemmKernel::MmaSync => false,
            GemmKernel::Wgmma if hopper => true,
            GemmKernel::Wgmma => {
                return Err(RuntimeError::Shape(format!(
                    "gemm: the wgmma kernel needs compute capability 9.0 and k % 16 == 0 (k = {k})"
                )))
            }
        };
        if use_sm90 {
            return self.gemm_sm90(rec, a, bt, c, m, n, k);
        }
        self.launch(
            rec,
            "gemm_i8",
            gemm::ENTRY,
            LaunchCfg {
                grid: gemm::grid(m, n),
                block: [gemm::THREADS, 1, 1],
                shared: 0,
            },
            &[
                Arg::Ptr(a.as_device_ptr().as_raw()),
                Arg::Ptr(bt.as_device_ptr().as_raw()),
                Arg::Ptr(c.as_device_ptr().as_raw()),
                Arg::U32(m as u32),
                Arg::U32(n as u32),
                Arg::U32(k as u32),
            ],
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn gemm_sm90(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(), RuntimeError> {
        let (pa, pb) = (a.as_device_ptr().as_raw(), bt.as_device_ptr().as_raw());
        let key = (pa, pb, m, n, k);
        let mut cache = self.tmaps.borrow_mut();
        let cached = cache
            .as_ref()
            .filter(|(kk, _)| *kk == key)
            .map(|(_, buf)| buf.as_device_ptr().as_raw());
        let tm = match cached {
            Some(p) => p,
            None => {
                let mut maps = Vec::with_capacity(256);
                maps.extend_from_slice(&tensor_map_2d(pa, m, k, gemm::sm90::BM, gemm::sm90::BK)?);
                maps.extend_from_slice(&tensor_map_2d(pb, n, k, gemm::sm90::BN, gemm::sm90::BK)?);
                let buf = DeviceBuffer::from_slice(&maps).map_err(err("cuMemcpyHtoD"))?;
                let p = buf.as_device_ptr().as_raw();
                *cache = Some((key, buf));
                p
            }
        };
        self.launch(
            rec,
            gemm::sm90::MODULE,
            gemm::sm90::ENTRY,
            LaunchCfg {
                grid: gemm::sm90::grid(m, n),
                block: [gemm::sm90::THREADS, 1, 1],
                shared: gemm::sm90::SMEM_BYTES,
            },
            &[
                Arg::Ptr(pa),
                Arg::Ptr(pb),
                Arg::Ptr(c.as_device_ptr().as_raw()),
                Arg::U32(m as u32),
                Arg::U32(n as u32),
                Arg::U32(k as u32),
                Arg::Ptr(tm),
            ],
        )
    }

    /// The Freivalds kernels on device operands (C as little-endian int32 bytes); r is uploaded.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_device(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &[u64],
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<freivalds::FreivaldsOutcome, RuntimeError> {
        self.freivalds_device_with(rec, FreivaldsKernel::Auto, a, bt, c, r, m, n, k)
    }

    /// [`CudaExec::freivalds_device`] with the kernels chosen by `kernel`.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_device_with(
        &self,
        rec: &mut Recorder,
        kernel: FreivaldsKernel,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &[u64],
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<freivalds::FreivaldsOutcome, RuntimeError> {
        gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        if c.len() != m * n * 4 || r.len() != n {
            return Err(RuntimeError::Shape(
                "freivalds: C or r has the wrong size".into(),
            ));
        }
        let dr = DeviceBuffer::from_slice(r).map_err(err("cuMemcpyHtoD"))?;
        let y: DeviceBuffer<u64> = DeviceBuffer::zeroed(k).map_err(err("cuMemAlloc"))?;
        let z: DeviceBuffer<u64> = DeviceBuffer::zeroed(m).map_err(err("cuMemAlloc"))?;
        let w: DeviceBuffer<u64> = DeviceBuffer::zeroed(m).map_err(err("cuMemAlloc"))?;
        match kernel {
            FreivaldsKernel::Auto | FreivaldsKernel::Simt => {
                let part: DeviceBuffer<u64> = DeviceBuffer::zeroed(k * freivalds::SLICES as usize)
                    .map_err(err("cuMemAlloc"))?;
                let bufs = FreivaldsBufs {
                    a,
                    bt,
                    c,
                    r: &dr,
                    part: &part,
                    y: &y,
                    z: &z,
                    w: &w,
                };
                self.freivalds_launches(rec, &bufs, m, n, k, FreivaldsLaunch::default())?;
            }
            FreivaldsKernel::TensorCore => {
                let scratch = self.freivalds_tc_scratch(m, n, k)?;
                self.freivalds_tc_launches(
                    rec,
                    a,
                    bt,
                    c,
                    &dr,
                    &scratch,
                    &y,
                    &z,
                    &w,
                    FreivaldsSchedule::Overlap,
                )?;
            }
        }
        let (y, z, w) = (
            self.download_u64(&y)?,
            self.download_u64(&z)?,
            self.download_u64(&w)?,
        );
        let accept = z == w;
        Ok(freivalds::FreivaldsOutcome { y, z, w, accept })
    }

    /// Scratch of the tensor-core Freivalds kernels for an m×k by k×n product, planned for this GPU's SMs.
    pub fn freivalds_tc_scratch(
        &self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<FreivaldsTcScratch, RuntimeError> {
        let plan = freivalds::tc::plan(m, n, k, self.info.sm_count)?;
        self.freivalds_tc_scratch_with(m, n, k, plan)
    }

    /// Scratch for an explicit `plan` (the device check sweeps plans).
    pub fn freivalds_tc_scratch_with(
        &self,
        m: usize,
        n: usize,
        k: usize,
        plan: freivalds::tc::Plan,
    ) -> Result<FreivaldsTcScratch, RuntimeError> {
        use freivalds::tc;
        let ok = plan.fits(m, n, k);
        if !ok {
            return Err(RuntimeError::Shape(format!(
                "freivalds (tensor cores): plan {plan:?} does not fit m = {m}, n = {n}, k = {k}"
            )));
        }
        let limbs = tc::LIMBS as usize;
        let u8s = |len: usize| DeviceBuffer::<u8>::zeroed(len.max(1)).map_err(err("cuMemAlloc"));
        let u64s = |len: usize| DeviceBuffer::<u64>::zeroed(len.max(1)).map_err(err("cuMemAlloc"));
        Ok(FreivaldsTcScratch {
            plan,
            shape: (m, n, k),
            rplanes: u8s(limbs * plan.rstride as usize)?,
            eplanes: u8s(limbs * 4 * plan.rstride as usize)?,
            rsum: u64s(plan.prep_blocks as usize)?,
            ypart: u64s(plan.br_slices as usize * k)?,
            yplanes: u8s(limbs * plan.ystride as usize)?,
            zpart: u64s(plan.ay_slices as usize * m)?,
            wpart: u64s(plan.cr_slices as usize * m)?,
        })
    }

    /// The six tensor-core Freivalds launches on preallocated buffers (for timing loops), recorded in
    /// `freivalds::tc::ENTRIES` order. Unless `schedule` is `OneStream`, C·r (which needs only the prep's planes)
    /// runs on the second stream beside B·r → finish_y → A·y, and finish_zw waits for both.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_tc_launches(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &DeviceBuffer<u64>,
        scratch: &FreivaldsTcScratch,
        y: &DeviceBuffer<u64>,
        z: &DeviceBuffer<u64>,
        w: &DeviceBuffer<u64>,
        schedule: FreivaldsSchedule,
    ) -> Result<(), RuntimeError> {
        use freivalds::tc;
        let concurrent = schedule != FreivaldsSchedule::OneStream;
        let mut planned = Vec::with_capacity(tc::ENTRIES.len());
        for entry in tc::ENTRIES {
            let (cfg, args) = self.freivalds_tc_cfg(entry, a, bt, c, r, scratch, y, z, w)?;
            rec.launch("freivalds", entry, cfg.grid, cfg.block, cfg.shared, &args)?;
            planned.push((entry, cfg, args));
        }
        for (entry, cfg, args) in &planned {
            match *entry {
                tc::ENTRY_CR if concurrent => {
                    Self::order(&self.stream, &self.aux)?;
                    self.issue(&self.aux, "freivalds", entry, *cfg, args)?;
                }
                tc::ENTRY_FINISH_ZW if concurrent => {
                    Self::order(&self.aux, &self.stream)?;
                    self.issue(&self.stream, "freivalds", entry, *cfg, args)?;
                }
                _ => self.issue(&self.stream, "freivalds", entry, *cfg, args)?,
            }
        }
        Ok(())
    }

    /// The Freivalds chain's stream and C·r's under `schedule`, both ordered after the main stream's work so far.
    fn fork_freivalds(
        &self,
        schedule: FreivaldsSchedule,
    ) -> Result<(&Stream, &Stream), RuntimeError> {
        let (chain, cr) = match schedule {
            FreivaldsSchedule::OneStream => (&self.stream, &self.stream),
            FreivaldsSchedule::Overlap => (&self.stream, &self.aux),
            FreivaldsSchedule::OverlapPrioritized => (&self.hi, &self.aux),
        };
        for forked in [cr, chain] {
            if !std::ptr::eq(forked, &self.stream) {
                Self::order(&self.stream, forked)?;
            }
        }
        Ok((chain, cr))
    }

    /// The main stream ordered after the work queued on `chain` and `cr` ([`CudaExec::fork_freivalds`]'s streams).
    fn join_freivalds(&self, chain: &Stream, cr: &Stream) -> Result<(), RuntimeError> {
        for joined in [cr, chain] {
            if !std::ptr::eq(joined, &self.stream) {
                Self::order(joined, &self.stream)?;
            }
        }
        Ok(())
    }

    /// The hybrid check: the B·r → y → A·y chain on the tensor cores (`freivalds_tc_*`: prep, B·r, finish y, A·y,
    /// finish z) and C·r by the integer-ALU kernel (`cuproof_freivalds_rows_i32`, capped at
    /// `launch.cr_blocks_per_sm` blocks per SM) beside it. The chain's multiply-adds then run on the tensor cores
    /// while C·r's run on the integer pipes, instead of both on the integer pipes. `part` is the SIMT scratch
    /// (k × `freivalds::SLICES`); the same y, z, w as every other launch.
    pub fn freivalds_hybrid_launches(
        &self,
        rec: &mut Recorder,
        bufs: &FreivaldsBufs<'_>,
        scratch: &FreivaldsTcScratch,
        launch: FreivaldsLaunch,
    ) -> Result<(), RuntimeError> {
        use freivalds::tc;
        let (m, n, k) = scratch.shape;
        let FreivaldsBufs {
            a,
            bt,
            c,
            r,
            y,
            z,
            w,
            ..
        } = *bufs;
        let cap = launch.cr_blocks_per_sm * self.info.sm_count;
        let (cr_cfg, cr_args) = freivalds_cfg(
            freivalds::ENTRY_ROWS_I32,
            bufs,
            m,
            n,
            k,
            cap,
            launch.slices(),
        )?;
        let mut chain = Vec::with_capacity(5);
        for entry in [
            tc::ENTRY_PREP,
            tc::ENTRY_BR,
            tc::ENTRY_FINISH_Y,
            tc::ENTRY_AY,
            tc::ENTRY_FINISH_ZW,
        ] {
            let (cfg, mut args) = self.freivalds_tc_cfg(entry, a, bt, c, r, scratch, y, z, w)?;
            if entry == tc::ENTRY_FINISH_ZW {
                // no C·r slices: finish z only
                args[3] = Arg::U32(0);
            }
            rec.launch("freivalds", entry, cfg.grid, cfg.block, cfg.shared, &args)?;
            chain.push((entry, cfg, args));
        }
        rec.launch(
            "freivalds",
            freivalds::ENTRY_ROWS_I32,
            cr_cfg.grid,
            cr_cfg.block,
            cr_cfg.shared,
            &cr_args,
        )?;
        let (chain_stream, cr_stream) = self.fork_freivalds(launch.schedule)?;
        self.issue(
            cr_stream,
            "freivalds",
            freivalds::ENTRY_ROWS_I32,
            cr_cfg,
            &cr_args,
        )?;
        for (entry, cfg, args) in &chain {
            self.issue(chain_stream, "freivalds", entry, *cfg, args)?;
        }
        self.join_freivalds(chain_stream, cr_stream)?;
        Ok(())
    }

    /// One of the six tensor-core Freivalds launches (`entry` is one of `freivalds::tc::ENTRY_*`).
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_tc_phase(
        &self,
        rec: &mut Recorder,
        entry: &str,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &DeviceBuffer<u64>,
        scratch: &FreivaldsTcScratch,
        y: &DeviceBuffer<u64>,
        z: &DeviceBuffer<u64>,
        w: &DeviceBuffer<u64>,
    ) -> Result<(), RuntimeError> {
        let (cfg, args) = self.freivalds_tc_cfg(entry, a, bt, c, r, scratch, y, z, w)?;
        self.launch(rec, "freivalds", entry, cfg, &args)
    }

    /// Launch shape and arguments of one tensor-core Freivalds kernel, after checking the buffers fit the shape.
    #[allow(clippy::too_many_arguments)]
    fn freivalds_tc_cfg(
        &self,
        entry: &str,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &DeviceBuffer<u64>,
        scratch: &FreivaldsTcScratch,
        y: &DeviceBuffer<u64>,
        z: &DeviceBuffer<u64>,
        w: &DeviceBuffer<u64>,
    ) -> Result<(LaunchCfg, Vec<Arg>), RuntimeError> {
        use freivalds::tc;
        let (m, n, k) = scratch.shape;
        gemm::check_shape(a.len(), bt.len(), m, n, k)?;
        if c.len() < m * n * 4 || r.len() < n || y.len() < k || z.len() < m || w.len() < m {
            return Err(RuntimeError::Shape(
                "freivalds: a buffer is too small for the shape".into(),
            ));
        }
        let p = |b: &DeviceBuffer<u8>| b.as_device_ptr().as_raw();
        let q = |b: &DeviceBuffer<u64>| b.as_device_ptr().as_raw();
        let bufs = tc::Buffers {
            a: p(a),
            bt: p(bt),
            c: p(c),
            r: q(r),
            rplanes: p(&scratch.rplanes),
            eplanes: p(&scratch.eplanes),
            rsum: q(&scratch.rsum),
            ypart: q(&scratch.ypart),
            yplanes: p(&scratch.yplanes),
            zpart: q(&scratch.zpart),
            wpart: q(&scratch.wpart),
            y: q(y),
            z: q(z),
            w: q(w),
        };
        let (grid, args) = tc::launch(entry, &scratch.plan, m, n, k, &bufs)
            .ok_or_else(|| RuntimeError::Shape(format!("freivalds: unknown entry {entry}")))?;
        let launch_cfg = LaunchCfg {
            grid: [grid[0], grid[1], 1],
            block: [256, 1, 1],
            shared: 0,
        };
        Ok((launch_cfg, args))
    }

    /// The four Freivalds launches on preallocated buffers (for timing loops), recorded in the order B·r, slice
    /// sum, A·y, C·r. C·r does not depend on y, so (unless `launch.schedule` is `OneStream`) it runs on a second
    /// stream beside the B·r → sum → A·y chain: the chain is ALU-bound at ~1.8 TB/s, C·r is bandwidth-bound,
    /// and together they keep the memory system busier than either alone (docs/perf.md §4).
    pub fn freivalds_launches(
        &self,
        rec: &mut Recorder,
        bufs: &FreivaldsBufs<'_>,
        m: usize,
        n: usize,
        k: usize,
        launch: FreivaldsLaunch,
    ) -> Result<(), RuntimeError> {
        self.freivalds_issue(rec, bufs, m, n, k, launch, None)
    }

    /// [`CudaExec::freivalds_launches`] with an event recorded after each launch on its stream and at the join:
    /// milliseconds from the fork to each, in issue order (where the overlapped passes end).
    pub fn freivalds_timeline(
        &self,
        rec: &mut Recorder,
        bufs: &FreivaldsBufs<'_>,
        m: usize,
        n: usize,
        k: usize,
        launch: FreivaldsLaunch,
    ) -> Result<Vec<(String, f64)>, RuntimeError> {
        let start = Event::new(EventFlags::DEFAULT).map_err(err("cuEventCreate"))?;
        start.record(&self.stream).map_err(err("cuEventRecord"))?;
        let mut marks = Vec::new();
        self.freivalds_issue(rec, bufs, m, n, k, launch, Some(&mut marks))?;
        let end = Event::new(EventFlags::DEFAULT).map_err(err("cuEventCreate"))?;
        end.record(&self.stream).map_err(err("cuEventRecord"))?;
        end.synchronize().map_err(err("cuEventSynchronize"))?;
        marks.push(("join".to_string(), end));
        marks
            .iter()
            .map(|(name, e)| {
                e.elapsed_time_f32(&start)
                    .map(|ms| (name.clone(), ms as f64))
                    .map_err(err("cuEventElapsedTime"))
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn freivalds_issue(
        &self,
        rec: &mut Recorder,
        bufs: &FreivaldsBufs<'_>,
        m: usize,
        n: usize,
        k: usize,
        launch: FreivaldsLaunch,
        mut marks: Option<&mut Vec<(String, Event)>>,
    ) -> Result<(), RuntimeError> {
        let bufs = *bufs;
        let FreivaldsBufs { bt, r, y, .. } = bufs;
        let cap = launch.cr_blocks_per_sm * self.info.sm_count;
        let slices = launch.slices();
        let mut planned = Vec::with_capacity(4);
        if launch.fused_sum {
            // B·r with the slice sum: check the buffers as the SIMT B·r does, then swap the entry and arguments
            let (cfg, _) = freivalds_cfg(freivalds::ENTRY_BR_PARTIAL, &bufs, m, n, k, cap, slices)?;
            let (acc, done) = self.fused_scratch_ptrs(k)?;
            let args = vec![
                Arg::Ptr(bt.as_device_ptr().as_raw()),
                Arg::Ptr(r.as_device_ptr().as_raw()),
                Arg::U32(n as u32),
                Arg::U32(k as u32),
                Arg::Ptr(acc),
                Arg::Ptr(done),
                Arg::Ptr(y.as_device_ptr().as_raw()),
            ];
            rec.launch(
                "freivalds",
                freivalds::ENTRY_BR_FUSED,
                cfg.grid,
                cfg.block,
                cfg.shared,
                &args,
            )?;
            planned.push(("freivalds", freivalds::ENTRY_BR_FUSED, cfg, args));
        }
        let br = match (launch.br_narrow, launch.dp2a) {
            (false, false) => freivalds::ENTRY_BR_PARTIAL,
            (true, false) => freivalds::ENTRY_BR_PARTIAL4,
            (false, true) => freivalds::ENTRY_BR_PARTIAL_DP2A,
            (true, true) => freivalds::ENTRY_BR_PARTIAL4_DP2A,
        };
        let ay = if launch.dp2a {
            freivalds::ENTRY_ROWS_I8_DP2A
        } else {
            freivalds::ENTRY_ROWS_I8
        };
        let simt_entries: &[&str] = if launch.fused_sum {
            &[ay, freivalds::ENTRY_ROWS_I32]
        } else {
            &[
                br,
                freivalds::ENTRY_SUM_SLICES,
                ay,
                freivalds::ENTRY_ROWS_I32,
            ]
        };
        for &entry in simt_entries {
            // the SIMT configuration checks every buffer against the shape, also for a bulk launch
            let (mut cfg, args) = freivalds_cfg(entry, &bufs, m, n, k, cap, slices)?;
            if entry == freivalds::ENTRY_ROWS_I32 {
                let (grid, block) = freivalds::cr_launch(m as u32, cap, launch.cr_block)?;
                cfg.grid = grid;
                cfg.block = [block, 1, 1];
            }
            let simt_module = if launch.pdl
                && entry != freivalds::ENTRY_ROWS_I32
                && self.modules.contains_key(freivalds::PDL_MODULE)
            {
                freivalds::PDL_MODULE
            } else {
                "freivalds"
            };
            let (module, entry, cfg, args) = match self
                .freivalds_bulk_cfg(entry, &bufs, m, n, k, &launch)
            {
                Some((bulk_entry, cfg, args)) => (freivalds::bulk::MODULE, bulk_entry, cfg, args),
                None => (simt_module, entry, cfg, args),
            };
            rec.launch(module, entry, cfg.grid, cfg.block, cfg.shared, &args)?;
            planned.push((module, entry, cfg, args));
        }
        // the chain's stream, and C·r's
        let (chain_stream, cr_stream) = self.fork_freivalds(launch.schedule)?;
        // beside the chain, C·r (recorded last) first: the longest pass; on one stream, in record order
        let last = planned.len() - 1;
        let issue_order: Vec<usize> = if launch.schedule == FreivaldsSchedule::OneStream {
            (0..=last).collect()
        } else {
            std::iter::once(last).chain(0..last).collect()
        };
        for i in issue_order {
            let (module, entry, cfg, args) = &planned[i];
            let stream = if i == last { cr_stream } else { chain_stream };
            // a dependent of the PDL module waits for its predecessor on the chain's stream itself
            let dependent = *module == freivalds::PDL_MODULE
                && i > 0
                && i != last
                && freivalds::waits_for_primary(entry);
            self.issue_with(stream, module, entry, *cfg, args, dependent)?;
            if let Some(marks) = marks.as_mut() {
                let e = Event::new(EventFlags::DEFAULT).map_err(err("cuEventCreate"))?;
                e.record(stream).map_err(err("cuEventRecord"))?;
                marks.push((entry.to_string(), e));
            }
        }
        self.join_freivalds(chain_stream, cr_stream)?;
        Ok(())
    }

    /// Device addresses of the fused B·r kernel's accumulators (2k words) and group counters for k, allocated
    /// zeroed on first use for this k (the kernel leaves them zero after every launch).
    fn fused_scratch_ptrs(&self, k: usize) -> Result<(u64, u64), RuntimeError> {
        let groups = k.div_ceil((freivalds::BLOCK * freivalds::BR_PER_THREAD) as usize);
        let words = 2 * k + groups.div_ceil(2);
        let mut slot = self.fused_scratch.borrow_mut();
        if slot.as_ref().is_none_or(|(kk, _)| *kk != k) {
            *slot = Some((k, self.zeros_u64(words.max(1))?));
        }
        let base = slot.as_ref().map_or(0, |(_, b)| b.as_device_ptr().as_raw());
        Ok((base, base + 16 * k as u64))
    }

    /// The Hopper bulk-copy launch replacing the SIMT `entry` (A·y or C·r) under `launch`, when it applies: the
    /// shape is set, the `freivalds_sm90` module is loaded, the operands are 16-byte aligned and
    /// `freivalds::bulk::launch` accepts the shape. `None`: use the SIMT kernel.
    fn freivalds_bulk_cfg(
        &self,
        entry: &str,
        b: &FreivaldsBufs<'_>,
        m: usize,
        n: usize,
        k: usize,
        launch: &FreivaldsLaunch,
    ) -> Option<(&'static str, LaunchCfg, Vec<Arg>)> {
        use freivalds::bulk::{self, Pass};
        let (pass, shape, mat, vec, ncols, out) = match entry {
            freivalds::ENTRY_ROWS_I8 => (Pass::Ay, launch.ay_bulk?, b.a, b.y, k, b.z),
            freivalds::ENTRY_ROWS_I32 => (Pass::Cr, launch.cr_bulk?, b.c, b.r, n, b.w),
            _ => return None,
        };
        if !self.has_sm90_freivalds() {
            return None;
        }
        let l = bulk::launch(pass, shape, m, ncols, self.info.sm_count).ok()?;
        let (pm, pv) = (mat.as_device_ptr().as_raw(), vec.as_device_ptr().as_raw());
        if pm % 16 != 0 || pv % 16 != 0 {
            return None;
        }
        let args = vec![
            Arg::Ptr(pm),
            Arg::Ptr(pv),
            Arg::U32(m as u32),
            Arg::U32(ncols as u32),
            Arg::U32(shape.seg),
            Arg::U32(shape.stages),
            Arg::U32(shape.vec_in_smem as u32),
            Arg::Ptr(out.as_device_ptr().as_raw()),
        ];
        let cfg = LaunchCfg {
            grid: [l.grid, 1, 1],
            block: [l.block, 1, 1],
            shared: l.smem,
        };
        Some((pass.entry(), cfg, args))
    }

    /// The bilinear check (`sᵀ(A·B)r` against `sᵀC r`, docs/kernels.md §4b) on device operands: s and r are
    /// uploaded, the six launches issued with the default launch, the vectors and both sides downloaded.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_bilinear_device(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &[u64],
        s: &[u64],
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<freivalds::BilinearOutcome, RuntimeError> {
        if r.len() != n || s.len() != m {
            return Err(RuntimeError::Shape(
                "freivalds (bilinear): r or s has the wrong size".into(),
            ));
        }
        let (dr, ds) = (self.upload_u64(r)?, self.upload_u64(s)?);
        let scratch = BilinearScratch::without_queue(self, m, n, k)?;
        self.freivalds_bilinear_launches(
            rec,
            a,
            bt,
            c,
            &dr,
            &ds,
            &scratch,
            FreivaldsLaunch::default(),
        )?;
        let out = self.download_u64(&scratch.out)?;
        Ok(freivalds::BilinearOutcome {
            u: self.download_u64(&scratch.u)?,
            v: self.download_u64(&scratch.v)?,
            w: self.download_u64(&scratch.w)?,
            lhs: out[0],
            rhs: out[1],
            accept: out[0] == out[1],
        })
    }

    /// The bilinear check's six launches on preallocated buffers (for timing loops), recorded in the order B·r,
    /// sᵀA, their two slice sums, C·r, the dot products. The passes over Bt, A and C depend on nothing but r and
    /// s: unless `launch.schedule` is `OneStream`, B·r → sum runs on the main stream, sᵀA → sum on the
    /// greatest-priority stream and C·r on the second stream, and the dot products wait for all three. Only
    /// `cr_blocks_per_sm` and `br_slices` of `launch` apply beyond that.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_bilinear_launches(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &DeviceBuffer<u64>,
        s: &DeviceBuffer<u64>,
        scratch: &BilinearScratch,
        launch: FreivaldsLaunch,
    ) -> Result<(), RuntimeError> {
        let (m, n, k) = scratch.check(a, bt, c, r, s)?;
        let (m32, n32, k32) = (m as u32, n as u32, k as u32);
        let slices = launch.slices();
        let cap = launch.cr_blocks_per_sm * self.info.sm_count;
        let p = |b: &DeviceBuffer<u8>| Arg::Ptr(b.as_device_ptr().as_raw());
        let q = |b: &DeviceBuffer<u64>| Arg::Ptr(b.as_device_ptr().as_raw());
        let sc = scratch;
        // both column passes (B·r and sᵀA) by the B·r kernel, with dp2a where asked
        let br = if launch.dp2a {
            freivalds::ENTRY_BR_PARTIAL_DP2A
        } else {
            freivalds::ENTRY_BR_PARTIAL
        };
        let plan = [
            (
                br,
                vec![p(bt), q(r), Arg::U32(n32), Arg::U32(k32), q(&sc.part_v)],
            ),
            (
                br,
                vec![p(a), q(s), Arg::U32(m32), Arg::U32(k32), q(&sc.part_u)],
            ),
            (
                freivalds::ENTRY_SUM_SLICES,
                vec![q(&sc.part_v), Arg::U32(k32), Arg::U32(slices), q(&sc.v)],
            ),
            (
                freivalds::ENTRY_SUM_SLICES,
                vec![q(&sc.part_u), Arg::U32(k32), Arg::U32(slices), q(&sc.u)],
            ),
            (
                freivalds::ENTRY_ROWS_I32,
                vec![p(c), q(r), Arg::U32(m32), Arg::U32(n32), q(&sc.w)],
            ),
            (
                freivalds::ENTRY_DOT2,
                vec![
                    q(&sc.u),
                    q(&sc.v),
                    Arg::U32(k32),
                    q(s),
                    q(&sc.w),
                    Arg::U32(m32),
                    q(&sc.out),
                ],
            ),
        ];
        let mut planned = Vec::with_capacity(plan.len());
        for (entry, args) in plan {
            let grid = freivalds::grid(entry, m32, k32, slices, cap)
                .ok_or_else(|| RuntimeError::Shape(format!("freivalds: unknown entry {entry}")))?;
            let block = if entry == freivalds::ENTRY_DOT2 {
                freivalds::DOT_BLOCK
            } else {
                freivalds::BLOCK
            };
            let cfg = LaunchCfg {
                grid,
                block: [block, 1, 1],
                shared: 0,
            };
            rec.launch("freivalds", entry, cfg.grid, cfg.block, cfg.shared, &args)?;
            planned.push((entry, cfg, args));
        }
        // stream of each launch: B·r and its sum; sᵀA and its sum; C·r; the dot products
        let overlap = launch.schedule != FreivaldsSchedule::OneStream;
        let streams: [&Stream; 6] = if overlap {
            Self::order(&self.stream, &self.aux)?;
            Self::order(&self.stream, &self.hi)?;
            [
                &self.stream,
                &self.hi,
                &self.stream,
                &self.hi,
                &self.aux,
                &self.stream,
            ]
        } else {
            [&self.stream; 6]
        };
        // C·r first: it is the longest pass
        for i in [4, 0, 1, 2, 3] {
            let (entry, cfg, args) = &planned[i];
            self.issue(streams[i], "freivalds", entry, *cfg, args)?;
        }
        if overlap {
            Self::order(&self.aux, &self.stream)?;
            Self::order(&self.hi, &self.stream)?;
        }
        let (entry, cfg, args) = &planned[5];
        self.issue(&self.stream, "freivalds", entry, *cfg, args)
    }

    /// The bilinear check as one persistent kernel over a work queue (docs/kernels.md §4f) on preallocated
    /// buffers: u, v and both sides land in `scratch` (w is not computed: its terms go straight into s·w). One
    /// launch on the main stream, recorded as such; returns the grid it used (`shape.blocks_per_sm` per SM, or as
    /// many as fit by the occupancy query, at most `freivalds::queue::MAX_BLOCKS`). With `times`, every warp
    /// writes the global timer (ns) when it starts and ends its items there (2 words per warp).
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_bilinear_queue_launch(
        &self,
        rec: &mut Recorder,
        a: &DeviceBuffer<u8>,
        bt: &DeviceBuffer<u8>,
        c: &DeviceBuffer<u8>,
        r: &DeviceBuffer<u64>,
        s: &DeviceBuffer<u64>,
        scratch: &BilinearScratch,
        shape: freivalds::queue::Shape,
        times: Option<&DeviceBuffer<u64>>,
    ) -> Result<u32, RuntimeError> {
        let (m, n, k) = scratch.check(a, bt, c, r, s)?;
        let items = shape.items(m, n, k)?;
        let queue = scratch.queue.as_ref().ok_or_else(|| {
            RuntimeError::Shape(
                "freivalds (bilinear queue): the scratch was made without the queue's (BilinearScratch::new)"
                    .into(),
            )
        })?;
        if 4 * items.counters() > queue.ctr.len() {
            return Err(RuntimeError::Shape(
                "freivalds (bilinear queue): the scratch has too few counters for the shape".into(),
            ));
        }
        let entry = shape.entry();
        let per_sm = match shape.blocks_per_sm {
            0 => self.queue_blocks_per_sm(entry)?,
            b => b,
        };
        let grid = (per_sm * self.info.sm_count).clamp(1, freivalds::queue::MAX_BLOCKS);
        if times
            .is_some_and(|t| t.len() < 2 * grid as usize * (freivalds::queue::BLOCK as usize / 32))
        {
            return Err(RuntimeError::Shape(
                "freivalds (bilinear queue): the timeline buffer needs 2 words per warp".into(),
            ));
        }
        let p = |b: &DeviceBuffer<u8>| Arg::Ptr(b.as_device_ptr().as_raw());
        let q = |b: &DeviceBuffer<u64>| Arg::Ptr(b.as_device_ptr().as_raw());
        let sc = scratch;
        let args = [
            p(bt),
            p(a),
            p(c),
            q(r),
            q(s),
            Arg::U32(m as u32),
            Arg::U32(n as u32),
            Arg::U32(k as u32),
            Arg::U32(shape.slices),
            Arg::U32(shape.cr_chunk),
            Arg::U32(shape.tail_div),
            Arg::U32(shape.claim_ahead.into()),
            q(&sc.part_v),
            q(&sc.part_u),
            q(&sc.v),
            q(&sc.u),
            p(&queue.ctr),
            q(&queue.blocks),
            times.map_or(Arg::Ptr(0), q),
            q(&sc.out),
        ];
        let cfg = LaunchCfg {
            grid: [grid, 1, 1],
            block: [freivalds::queue::BLOCK, 1, 1],
            shared: 0,
        };
        self.launch(rec, "freivalds", entry, cfg, &args)?;
        Ok(grid)
    }

    /// Blocks of `entry` (a bilinear queue entry) that fit on an SM at once: the occupancy query, asked once per
    /// entry and kept.
    fn queue_blocks_per_sm(&self, entry: &'static str) -> Result<u32, RuntimeError> {
        if let Some(&b) = self.queue_occupancy.borrow().get(entry) {
            return Ok(b);
        }
        let f = self
            .modules
            .get("freivalds")
            .ok_or_else(|| RuntimeError::Unmeasured("freivalds".into()))?
            .get_function(entry)
            .map_err(err("cuModuleGetFunction"))?;
        let b = f
            .max_active_blocks_per_multiprocessor(freivalds::queue::BLOCK.into(), 0)
            .map_err(err("cuOccupancyMaxActiveBlocksPerMultiprocessor"))?
            .max(1);
        self.queue_occupancy.borrow_mut().insert(entry, b);
        Ok(b)
    }

    /// One of the four Freivalds launches (`entry` is one of the `freivalds::ENTRY_*`), default launch.
    pub fn freivalds_phase(
        &self,
        rec: &mut Recorder,
        entry: &str,
        bufs: &FreivaldsBufs<'_>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(), RuntimeError> {
        self.freivalds_phase_launch(rec, entry, bufs, m, n, k, FreivaldsLaunch::default())
    }

    /// One Freivalds launch under `launch` (A·y and C·r by the bulk-copy kernels where `launch` asks for them and
    /// they apply), on the main stream.
    #[allow(clippy::too_many_arguments)]
    pub fn freivalds_phase_launch(
        &self,
        rec: &mut Recorder,
        entry: &str,
        bufs: &FreivaldsBufs<'_>,
        m: usize,
        n: usize,
        k: usize,
        launch: FreivaldsLaunch,
    ) -> Result<(), RuntimeError> {
        let cap = launch.cr_blocks_per_sm * self.info.sm_count;
        // the SIMT configuration checks every buffer against the shape, also for a bulk launch
        let (cfg, args) = freivalds_cfg(entry, bufs, m, n, k, cap, launch.slices())?;
        match self.freivalds_bulk_cfg(entry, bufs, m, n, k, &launch) {
            Some((bulk_entry, cfg, args)) => {
                self.launch(rec, freivalds::bulk::MODULE, bulk_entry, cfg, &args)
            }
            None => self.launch(rec, "freivalds", entry, cfg, &args),
        }
    }

    /// The hand-written PTX permutation on a batch of states, in place.
    pub fn keccak_batch(&self, rec: &mut Recorder, states: &mut [u64]) -> Result<(), RuntimeError> {
        if states.is_empty() {
            return Ok(());
        }
        let count = (states.len() / 25) as u64;
        let buf = DeviceBuffer::from_slice(states).map_err(err("cuMemcpyHtoD"))?;
        self.launch(
            rec,
            "keccak_f1600",
            keccak::ENTRY_F1600_BATCH,
            LaunchCfg {
                grid: [count.div_ceil(128).max(1) as u32, 1, 1],
                block: [128, 1, 1],
                shared: 0,
            },
            &[Arg::Ptr(buf.as_device_ptr().as_raw()), Arg::U64(count)],
        )?;
        let out = self.download_u64(&buf)?;
        states.copy_from_slice(&out);
        Ok(())
    }

    /// Device-to-device copy of `src` into `dst` (equal lengths), asynchronously on the stream.
    pub fn copy_d2d(
        &self,
        src: &DeviceBuffer<u8>,
        dst: &mut DeviceBuffer<u8>,
    ) -> Result<(), RuntimeError> {
        if src.len() != dst.len() {
            return Err(RuntimeError::Shape("copy: lengths differ".into()));
        }
        self.copy_raw_d2d(
            dst.as_device_ptr().as_raw(),
            src.as_device_ptr().as_raw(),
            src.len(),
        )
    }

    /// `bytes` bytes from device address `src` to `dst`, ordered on our stream; the callers pass addresses of live
    /// buffers that hold at least `bytes` bytes.
    fn copy_raw_d2d(&self, dst: u64, src: u64, bytes: usize) -> Result<(), RuntimeError> {
        if bytes == 0 {
            return Ok(());
        }
        // SAFETY: the callers pass live device allocations of at least `bytes` bytes each; the copy is ordered on
        // our stream, before any later work that reads `dst`.
        let r = unsafe { cust::sys::cuMemcpyDtoDAsync_v2(dst, src, bytes, self.stream.as_inner()) };
        if r != cust::sys::cudaError_enum::CUDA_SUCCESS {
            return Err(RuntimeError::Cuda {
                op: "cuMemcpyDtoDAsync",
                msg: format!("{r:?}"),
            });
        }
        Ok(())
    }

    /// Times `f` (work queued on this executor's stream) with CUDA events: milliseconds per iteration over
    /// `iters` runs after one warm-up.
    pub fn time_ms<F>(&self, iters: u32, mut f: F) -> Result<f64, RuntimeError>
    where
        F: FnMut() -> Result<(), RuntimeError>,
    {
        f()?;
        self.sync()?;
        let start = Event::new(EventFlags::DEFAULT).map_err(err("cuEventCreate"))?;
        let stop = Event::new(EventFlags::DEFAULT).map_err(err("cuEventCreate"))?;
        start.record(&self.stream).map_err(err("cuEventRecord"))?;
        for _ in 0..iters.max(1) {
            f()?;
        }
        stop.record(&self.stream).map_err(err("cuEventRecord"))?;
        stop.synchronize().map_err(err("cuEventSynchronize"))?;
        let ms = stop
            .elapsed_time_f32(&start)
            .map_err(err("cuEventElapsedTime"))?;
        Ok(ms as f64 / iters.max(1) as f64)
    }
}

/// The device buffers of one Freivalds check: the operands, r, the scratch and the three vectors it writes.
#[derive(Clone, Copy)]
pub struct FreivaldsBufs<'a> {
    /// A (m × k int8).
    pub a: &'a DeviceBuffer<u8>,
    /// Bᵀ (n × k int8).
    pub bt: &'a DeviceBuffer<u8>,
    /// C (m × n int32, little-endian bytes).
    pub c: &'a DeviceBuffer<u8>,
    /// r (n residues).
    pub r: &'a DeviceBuffer<u64>,
    /// Scratch: B·r's slice partials (at least k × `freivalds::SLICES` words).
    pub part: &'a DeviceBuffer<u64>,
    /// y = B·r (k).
    pub y: &'a DeviceBuffer<u64>,
    /// z = A·y (m).
    pub z: &'a DeviceBuffer<u64>,
    /// w = C·r (m).
    pub w: &'a DeviceBuffer<u64>,
}

/// The scratch and output vectors of one integer-ALU Freivalds check, owned (for timing loops and checks that
/// launch many times on one shape): B·r's slice partials, y, z and w, allocated zeroed.
pub struct FreivaldsScratch {
    /// B·r's slice partials (k × `freivalds::SLICES` words).
    pub part: DeviceBuffer<u64>,
    /// y = B·r (k).
    pub y: DeviceBuffer<u64>,
    /// z = A·y (m).
    pub z: DeviceBuffer<u64>,
    /// w = C·r (m).
    pub w: DeviceBuffer<u64>,
}

impl FreivaldsScratch {
    /// Scratch for an m×k by k×n product (n does not matter: r and C are the caller's).
    pub fn new(exec: &CudaExec, m: usize, k: usize) -> Result<Self, RuntimeError> {
        Ok(FreivaldsScratch {
            part: exec.zeros_u64(k * freivalds::SLICES as usize)?,
            y: exec.zeros_u64(k)?,
            z: exec.zeros_u64(m)?,
            w: exec.zeros_u64(m)?,
        })
    }

    /// The buffers of a check of these operands into this scratch.
    pub fn bufs<'a>(
        &'a self,
        a: &'a DeviceBuffer<u8>,
        bt: &'a DeviceBuffer<u8>,
        c: &'a DeviceBuffer<u8>,
        r: &'a DeviceBuffer<u64>,
    ) -> FreivaldsBufs<'a> {
        FreivaldsBufs {
            a,
            bt,
            c,
            r,
            part: &self.part,
            y: &self.y,
            z: &self.z,
            w: &self.w,
        }
    }
}

/// Launch shape and arguments of one integer-ALU Freivalds kernel, after checking the buffers fit the shape.
/// `cr_cap` caps the C·r grid (0: none); `slices` (1..=SLICES) is B·r's column-slice count.
#[allow(clippy::too_many_arguments)]
fn freivalds_cfg(
    entry: &str,
    b: &FreivaldsBufs<'_>,
    m: usize,
    n: usize,
    k: usize,
    cr_cap: u32,
    slices: u32,
) -> Result<(LaunchCfg, Vec<Arg>), RuntimeError> {
    let FreivaldsBufs {
        a,
        bt,
        c,
        r,
        part,
        y,
        z,
        w,
    } = *b;
    gemm::check_shape(a.len(), bt.len(), m, n, k)?;
    if c.len() < m * n * 4
        || r.len() < n
        || part.len() < k * freivalds::SLICES as usize
        || y.len() < k
        || z.len() < m
        || w.len() < m
    {
        return Err(RuntimeError::Shape(
            "freivalds: a buffer is too small for the shape".into(),
        ));
    }
    let (m32, n32, k32) = (m as u32, n as u32, k as u32);
    let p = |b: &DeviceBuffer<u8>| Arg::Ptr(b.as_device_ptr().as_raw());
    let q = |b: &DeviceBuffer<u64>| Arg::Ptr(b.as_device_ptr().as_raw());
    let grid = freivalds::grid(entry, m32, k32, slices, cr_cap)
        .ok_or_else(|| RuntimeError::Shape(format!("freivalds: unknown entry {entry}")))?;
    let args = match entry {
        freivalds::ENTRY_BR_PARTIAL
        | freivalds::ENTRY_BR_PARTIAL4
        | freivalds::ENTRY_BR_PARTIAL_DP2A
        | freivalds::ENTRY_BR_PARTIAL4_DP2A => {
            vec![p(bt), q(r), Arg::U32(n32), Arg::U32(k32), q(part)]
        }
        // the slice count B·r ran with is its grid's y
        freivalds::ENTRY_SUM_SLICES => vec![
            q(part),
            Arg::U32(k32),
            Arg::U32(
                freivalds::grid(freivalds::ENTRY_BR_PARTIAL, m32, k32, slices, 0)
                    .map_or(1, |g| g[1]),
            ),
            q(y),
        ],
        freivalds::ENTRY_ROWS_I8 | freivalds::ENTRY_ROWS_I8_DP2A => {
            vec![p(a), q(y), Arg::U32(m32), Arg::U32(k32), q(z)]
        }
        _ => vec![p(c), q(r), Arg::U32(m32), Arg::U32(n32), q(w)],
    };
    let launch_cfg = LaunchCfg {
        grid,
        block: [freivalds::BLOCK, 1, 1],
        shared: 0,
    };
    Ok((launch_cfg, args))
}
