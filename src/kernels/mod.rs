//! The kernel families, each with its CPU twin (pure Rust) next to the launch description the runtime uses.
//!
//! The CPU twins are what the CPU backend runs; they are bit-identical to the GPU kernels by construction of the
//! functions they compute (see `docs/kernels.md`), which the tests check against the host build of the kernel
//! source ([`crate::host`]) and `scripts/device-check` checks against the GPU.

pub mod fill;
pub mod freivalds;
pub mod gemm;
pub mod keccak;
pub mod merkle;
