//! Shared fixtures of the core crate's integration tests.
#![allow(dead_code)]

use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::log::*;
use cuproof_core::receipt::*;

/// A log with every record type and two checkpoints.
pub fn sample_log() -> ExecutionLog {
    let mut log = ExecutionLog::new();
    log.append(Record::JobStart {
        job_id: [1; 32],
        workload: "matmul-i8".into(),
        params: vec![
            ("k".into(), "8".into()),
            ("m".into(), "8".into()),
            ("n".into(), "8".into()),
        ],
        challenge: [2; 32],
    });
    log.append(Record::Inventory(Inventory {
        backend: Backend::Cpu,
        host: "linux-x86_64".into(),
        cpu: "sample".into(),
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
        name: "gemm_i8".into(),
        format: ModuleFormat::Ptx,
        image_digest: [3; 32],
        image_len: 1234,
    });
    log.append(Record::Launch {
        module: 0,
        entry: "gemm_i8_mma".into(),
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
    log.append(Record::JobEnd {
        status: 0,
        elapsed_ns: 42,
    });
    log.checkpoint(DEFAULT_JOB_PCR);
    log
}

/// A receipt around [`sample_log`] with one quote and one proof entry (opaque bytes).
pub fn sample_receipt() -> Receipt {
    let log = sample_log();
    let statement = Statement {
        workload: "matmul-i8".into(),
        params: vec![
            ("k".into(), "8".into()),
            ("m".into(), "8".into()),
            ("n".into(), "8".into()),
        ],
        job_id: [1; 32],
        challenge: [2; 32],
        backend: Backend::Cpu,
        tensors: vec![TensorCommitment {
            role: BufferRole::Output,
            name: "C".into(),
            dtype: DType::I32,
            shape: vec![8, 8],
            commitment: commit(&[0u8; 256], &CommitParams::default()),
            field_commitment: Some([7; 32]),
        }],
        log_head: log.head(),
    };
    Receipt {
        statement,
        log,
        node: NodeIdentity {
            label: "node-1".into(),
            tpm: TpmKind::Software,
            ek_public: vec![0xE0; 40],
            ek_cert: vec![0x30, 0x82, 0x00, 0x01, 0x00],
            ak_public: vec![0xA0; 40],
            boot_log: vec![0xB0; 12],
            ima_log: vec![0x1A; 9],
        },
        quotes: vec![TpmQuote {
            purpose: "job-end".into(),
            attest: vec![0xff, 0x54, 0x43, 0x47, 1, 2, 3],
            signature: vec![0, 0x14, 0, 0x0b, 0, 2, 9, 9],
            pcrs: vec![PcrValue {
                bank: 0x000B,
                index: 23,
                value: vec![5; 32],
            }],
        }],
        proofs: vec![ProofEntry {
            system: ProofSystem::Groth16Bn254,
            circuit_id: [8; 32],
            vk_digest: [9; 32],
            public_input: [10; 32],
            proof: vec![11; 128],
        }],
        timings: vec![Timing {
            label: "job".into(),
            nanos: 1_000_000,
        }],
    }
}
