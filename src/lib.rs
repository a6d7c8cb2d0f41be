//! # cuproof — the GPU runtime
//!
//! The toolkit library of the cuproof workspace: the kernels (`kernels/`), their bit-identical CPU twins, and a
//! runtime that measures everything it does on the GPU into the execution log ([`cuproof_core::log`]).
//!
//! * [`kernels`] — one module per kernel family with its CPU twin: [`kernels::keccak`] (Keccak-f[1600]),
//!   [`kernels::merkle`] (the `cuproof-commit-v1` buffer commitment), [`kernels::gemm`] (int8 GEMM),
//!   [`kernels::freivalds`] (exact Freivalds check over F_(2^61-1)), [`kernels::fill`] (seeded fill).
//! * [`ptx`] — the PTX modules as `&'static str` (compiled by nvcc 13.0.x at build time when present, else the
//!   committed PTX under `kernels/ptx/`).
//! * [`host`] — the kernels' portable math (`kernels/*.cuh`) compiled for the host; the tests run it against the
//!   Rust twins.
//! * [`runtime`] — [`runtime::Runtime`]: backend selection (CPU always, CUDA behind feature `cuda`), device
//!   inventory, measured module loading, recorded launches, device-side commitments and the workloads.
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
pub mod host;
pub mod kernels;
pub mod ptx;
pub mod runtime;

#[cfg(feature = "cuda")]
pub mod cuda;

pub use error::RuntimeError;
pub use runtime::Runtime;
