//! # cuproof — the GPU runtime
//!
//! The toolkit library of the cuproof workspace: the kernels (`kernels/`), their bit-identical CPU twins, and a
//! runtime that measures everything it does on the GPU into the execution log ([`cuproof_core::log`]).
//!
//! * [`kernels`] — one module per kernel family with its CPU twin: [`kernels::keccak`] (Keccak-f\[1600\]),
//!   [`kernels::merkle`] (the `cuproof-commit-v1` buffer commitment), [`kernels::gemm`] (int8 GEMM),
//!   [`kernels::freivalds`] (exact Freivalds check over F_(2^61-1)), [`kernels::fill`] (seeded fill).
//! * [`ptx`] — the PTX modules as `&'static str` (compiled by nvcc 13.0.x at build time when present, else the
//!   committed PTX under `kernels/ptx/`).
//! * [`host`] — the kernels' portable math (`kernels/*.cuh`) compiled for the host; the tests run it against the
//!   Rust twins.
//! * [`runtime`] — [`runtime::Runtime`]: backend selection (CPU always, CUDA behind feature `cuda`), device
//!   inventory, measured module loading, recorded launches, device-side commitments and the workloads.
//!
//! * [`job`] — [`job::MeasuredJob`]: a measured job over **your own** PTX kernels (measured loading, committed
//!   inputs, logged launches, committed outputs, TPM checkpoints, quote → receipt), with CPU twins supplied as
//!   closures on the CPU backend.
//! * [`gpu_attest`] — the cards' own attestation reports (NVML behind feature `cuda`, a software responder for
//!   tests), checked by [`cuproof_attest::gpu`].
//! * [`node`] — [`node::NodeSession`]: the TPM side (configured TPM or a private swtpm, EK/AK, local
//!   enrollment, job PCR, quotes).
//!
//! The main flow of a provider attesting its own kernel (see `examples/attest_ptx.rs` and `docs/api.md`):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cuproof::job::{BackendChoice, JobSpec, KernelArg, LaunchConfig, MeasuredJob};
//! use cuproof_core::log::DType;
//! let mut node = cuproof::node::NodeSession::open(None)?;
//! let mut job = MeasuredJob::start(&mut node, JobSpec::new("my-kernel", [1; 32], [2; 32]), BackendChoice::Auto)?;
//! job.load_ptx("m", &std::fs::read_to_string("my_kernel.ptx")?)?;
//! job.cpu_twin("m", "my_entry", |_cfg, _args| Ok(()))?; // what the CPU backend runs instead
//! let x = job.input("x", DType::U8, &[4], &[1, 2, 3, 4])?;
//! let y = job.alloc(4)?;
//! job.launch("m", "my_entry", LaunchConfig::linear(4, 32), &[KernelArg::Buffer(x), KernelArg::Buffer(y)])?;
//! job.commit_output(y, "y", DType::U8, &[4])?;
//! let receipt = job.finish(&["y"])?;
//! // an auditor: cuproof_verify::verify_receipt(&receipt, &policy, &mut VerifyContext::new(challenge))
//! # let _ = receipt; Ok(()) }
//! ```
//!
//! The runtime on its own:
//!
//! ```
//! use cuproof::runtime::Runtime;
//! use cuproof_core::commitment::CommitParams;
//! let mut rt = Runtime::cpu();
//! let c = rt.commit(b"hello", &CommitParams::default()).unwrap();
//! assert_eq!(c, cuproof_core::commitment::commit(b"hello", &CommitParams::default()));
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod gpu_attest;
pub mod host;
pub mod job;
pub mod kernels;
pub mod node;
pub mod ptx;
pub mod runtime;

#[cfg(feature = "cuda")]
pub mod cuda;

pub use error::RuntimeError;
pub use job::{BackendChoice, JobError, JobSpec, KernelArg, LaunchConfig, MeasuredJob};
pub use node::{NodeError, NodeSession};
pub use runtime::Runtime;
