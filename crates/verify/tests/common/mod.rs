//! Test support: a private swtpm (with an EK certificate from a private swtpm_localca), enrollment by real
//! credential activation (registrar side: cuproof-attest; node side: tpm2_activatecredential), real quotes with
//! tpm2_quote over a real execution log, and a real Groth16/BN254 proof of a small test circuit.
//!
//! External tools (Debian packages): `swtpm`, `swtpm-tools` (swtpm_setup, swtpm_localca; the latter needs
//! `gnutls-bin`'s certtool), `tpm2-tools` (5.x). They are looked up on `PATH`. A missing tool fails the
//! test with a message naming the package.
#![allow(dead_code)]

use ark_bn254::{Bn254, Fr};
use ark_ff::PrimeField;
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use cuproof_attest::bootlog::build::{simulated_firmware_for, SimulatedBoot};
use cuproof_attest::bootlog::ALG_SHA256;
use cuproof_attest::ekcert::{EkTrust, TpmKind as AttestTpmKind};
use cuproof_attest::enroll::{
    start_enrollment, EnrollmentRequest, EnrollmentResponse, NodeRecord, RegistrarPolicy,
};
use cuproof_core::commitment::{commit, CommitParams};
use cuproof_core::log::{
    Backend, BufferRole, DType, ExecutionLog, GpuInfo, Inventory, ModuleFormat, Record,
    DEFAULT_JOB_PCR,
};
use cuproof_core::receipt::{
    NodeIdentity, PcrValue, ProofEntry, ProofSystem, Receipt, Statement, TensorCommitment, Timing,
    TpmKind, TpmQuote,
};
use cuproof_verify::groth16::public_input;
use cuproof_verify::Policy;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// Boot PCRs the test policy pins (with the job PCR 23).
pub const BOOT_PCRS: [u8; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/// Unix time used as "now" by the tests (certificates from swtpm_localca are valid around the real now).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("required tool `{name}` not found on PATH: install the Debian package `{package}` (scripts/test does)");
}

// ------------------------------------------------------------------------------------------------------
// swtpm

/// A private swtpm listening on localhost TCP ports, manufactured with EK certificates from a private CA.
pub struct Swtpm {
    child: Child,
    pub dir: tempfile::TempDir,
    port: u16,
}

fn free_port_pair() -> u16 {
    for _ in 0..64 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let p = l.local_addr().expect("addr").port();
        drop(l);
        if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

impl Swtpm {
    /// Manufacture (swtpm_setup --create-ek-cert with a private swtpm_localca) and start a TPM.
    pub fn start() -> Swtpm {
        let swtpm = require_tool("swtpm", "swtpm");
        let setup = require_tool("swtpm_setup", "swtpm-tools");
        let localca = require_tool("swtpm_localca", "swtpm-tools");
        require_tool("certtool", "gnutls-bin");
        for t in [
            "tpm2_readpublic",
            "tpm2_createak",
            "tpm2_evictcontrol",
            "tpm2_nvread",
            "tpm2_activatecredential",
            "tpm2_quote",
            "tpm2_pcrread",
            "tpm2_pcrextend",
            "tpm2_pcrreset",
        ] {
            require_tool(t, "tpm2-tools");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("state")).expect("mkdir");
        std::fs::create_dir_all(d.join("ca")).expect("mkdir");
        let ca = d.join("ca");
        std::fs::write(
            d.join("localca.conf"),
            format!(
                "statedir = {0}\nsigningkey = {0}/signkey.pem\nissuercert = {0}/issuercert.pem\ncertserial = {0}/certserial\n",
                ca.display()
            ),
        )
        .expect("write");
        std::fs::write(
            d.join("localca.options"),
            "--platform-manufacturer cuproof\n--platform-version 2.1\n--platform-model test\n",
        )
        .expect("write");
        std::fs::write(
            d.join("setup.conf"),
            format!(
                "create_certs_tool = {}\ncreate_certs_tool_config = {}\ncreate_certs_tool_options = {}\nactive_pcr_banks = sha256\n",
                localca.display(),
                d.join("localca.conf").display(),
                d.join("localca.options").display()
            ),
        )
        .expect("write");
        let out = Command::new(&setup)
            .arg("--tpm2")
            .arg("--tpmstate")
            .arg(d.join("state"))
            .arg("--create-ek-cert")
            .arg("--config")
            .arg(d.join("setup.conf"))
            .arg("--overwrite")
            .output()
            .expect("run swtpm_setup");
        assert!(
            out.status.success(),
            "swtpm_setup failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port_pair();
        let child = Command::new(&swtpm)
            .arg("socket")
            .arg("--tpm2")
            .arg("--tpmstate")
            .arg(format!("dir={}", d.join("state").display()))
            .arg("--server")
            .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
            .arg("--flags")
            .arg("not-need-init,startup-clear")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start swtpm");
        let t = Swtpm { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return t;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("swtpm did not start listening");
    }

    /// Run a tpm2-tools command against this TPM; returns stdout. Transient objects are flushed after.
    pub fn tool(&self, name: &str, args: &[&str]) -> Vec<u8> {
        let out = Command::new(name)
            .args(args)
            .current_dir(self.dir.path())
            .env(
                "TPM2TOOLS_TCTI",
                format!("swtpm:host=127.0.0.1,port={}", self.port),
            )
            .output()
            .unwrap_or_else(|e| panic!("{name}: {e} (install tpm2-tools)"));
        assert!(
            out.status.success(),
            "{name} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = Command::new("tpm2_flushcontext")
            .arg("-t")
            .current_dir(self.dir.path())
            .env(
                "TPM2TOOLS_TCTI",
                format!("swtpm:host=127.0.0.1,port={}", self.port),
            )
            .output();
        out.stdout
    }

    /// Path inside the TPM's private directory.
    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Read a file written by a tool.
    pub fn read(&self, f: &str) -> Vec<u8> {
        std::fs::read(self.path(f)).unwrap_or_else(|e| panic!("read {f}: {e}"))
    }

    /// Root and intermediate certificates of the private CA (PEM).
    pub fn ca_pems(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.read("ca/swtpm-localca-rootca-cert.pem"),
            self.read("ca/issuercert.pem"),
        )
    }

    /// Read SHA-256 PCR values.
    pub fn pcrs(&self, idx: &[u8]) -> Vec<PcrValue> {
        let list: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
        let out = self.tool("tpm2_pcrread", &[&format!("sha256:{}", list.join(","))]);
        let text = String::from_utf8_lossy(&out);
        let mut v = Vec::new();
        for line in text.lines() {
            let Some((k, val)) = line.split_once(':') else {
                continue;
            };
            let Ok(index) = k.trim().parse::<u8>() else {
                continue;
            };
            let hexv = val.trim().trim_start_matches("0x");
            v.push(PcrValue {
                bank: 0x000B,
                index,
                value: hex::decode(hexv).expect("pcr hex"),
            });
        }
        assert_eq!(v.len(), idx.len(), "pcrread output: {text}");
        v
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------------
// An AK enrolled by credential activation.

/// EK and an AK (persistent handle) with their public areas.
pub struct Ak {
    pub handle: String,
    pub ak_public: Vec<u8>,
    pub ek_public: Vec<u8>,
    pub ek_cert: Vec<u8>,
}

/// Create an RSA AK under the RSA EK (persistent at 0x81010001 after swtpm_setup) and persist it at `handle`.
pub fn create_ak(tpm: &Swtpm, handle: &str, alg: &str, scheme: &str) -> Ak {
    tpm.tool("tpm2_readpublic", &["-c", "0x81010001", "-o", "ek.pub"]);
    let ctx = format!("ak-{handle}.ctx");
    let pubf = format!("ak-{handle}.pub");
    tpm.tool(
        "tpm2_createak",
        &[
            "-C",
            "0x81010001",
            "-c",
            &ctx,
            "-G",
            alg,
            "-g",
            "sha256",
            "-s",
            scheme,
            "-u",
            &pubf,
        ],
    );
    tpm.tool("tpm2_evictcontrol", &["-c", &ctx, handle]);
    tpm.tool("tpm2_nvread", &["0x1c00002", "-o", "ek.der"]);
    Ak {
        handle: handle.to_string(),
        ak_public: tpm.read(&pubf),
        ek_public: tpm.read("ek.pub"),
        ek_cert: tpm.read("ek.der"),
    }
}

/// Registrar trust for the private CA (root as a software anchor, issuer as an intermediate).
pub fn registrar_trust(tpm: &Swtpm) -> EkTrust {
    let (root, issuer) = tpm.ca_pems();
    let mut t = EkTrust::default();
    t.add_roots(&root, AttestTpmKind::Software).expect("root");
    t.add_intermediates(&issuer).expect("issuer");
    t
}

/// Enroll: the registrar (cuproof-attest) makes a credential for the EK bound to the AK's name; the TPM
/// activates it (tpm2_activatecredential with an EK policy session); the registrar checks it.
pub fn enroll(tpm: &Swtpm, ak: &Ak) -> NodeRecord {
    let req = EnrollmentRequest {
        ek_public: ak.ek_public.clone(),
        ek_cert: Some(ak.ek_cert.clone()),
        ak_public: ak.ak_public.clone(),
    };
    let policy = RegistrarPolicy {
        trust: registrar_trust(tpm),
        allow_uncertified: false,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (challenge, pending) = start_enrollment(&req, &policy, &mut rng).expect("start enrollment");
    let mut blob = vec![0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1];
    blob.extend_from_slice(&challenge.id_object);
    blob.extend_from_slice(&challenge.encrypted_secret);
    std::fs::write(tpm.path("cred.blob"), &blob).expect("write blob");
    tpm.tool(
        "tpm2_startauthsession",
        &["--policy-session", "-S", "session.ctx"],
    );
    tpm.tool("tpm2_policysecret", &["-S", "session.ctx", "-c", "e"]);
    tpm.tool(
        "tpm2_activatecredential",
        &[
            "-c",
            &ak.handle,
            "-C",
            "0x81010001",
            "-i",
            "cred.blob",
            "-o",
            "cred.out",
            "-P",
            "session:session.ctx",
        ],
    );
    tpm.tool("tpm2_flushcontext", &["session.ctx"]);
    let response = EnrollmentResponse {
        credential: tpm.read("cred.out"),
    };
    pending.finish(&response, now()).expect("finish enrollment")
}

// ------------------------------------------------------------------------------------------------------
// Groth16 test circuit: one public input x, witness y = x², constraint x·x = y.

#[derive(Clone)]
pub struct SquareCircuit {
    pub x: Option<Fr>,
}

impl ConstraintSynthesizer<Fr> for SquareCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let x = cs.new_input_variable(|| self.x.ok_or(SynthesisError::AssignmentMissing))?;
        let y = cs.new_witness_variable(|| {
            let x = self.x.ok_or(SynthesisError::AssignmentMissing)?;
            Ok(x * x)
        })?;
        let lc = |v: Variable| LinearCombination::from(v);
        cs.enforce_r1cs_constraint(|| lc(x), || lc(x), || lc(y))?;
        Ok(())
    }
}

/// Circuit id of the test circuit.
pub fn circuit_id() -> [u8; 32] {
    Sha256::digest(b"cuproof.test.square-circuit.v1").into()
}

/// Groth16 keys of the test circuit (fixed seed).
pub fn groth16_keys() -> (ProvingKey<Bn254>, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(SquareCircuit { x: None }, &mut rng)
        .expect("setup");
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes).expect("vk");
    (pk, bytes)
}

/// Prove the test circuit for the public input word `x`.
pub fn prove(pk: &ProvingKey<Bn254>, x: &[u8; 32]) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from_le_bytes(x[..8].try_into().expect("8")));
    let fr = Fr::from_be_bytes_mod_order(x);
    let proof =
        Groth16::<Bn254>::prove(pk, SquareCircuit { x: Some(fr) }, &mut rng).expect("prove");
    let mut out = Vec::new();
    proof.serialize_compressed(&mut out).expect("proof");
    out
}

// ------------------------------------------------------------------------------------------------------
// Receipts.

/// The kernel module image of the test job (hashed into ModuleLoad and allowed by the test policy).
pub const MODULE_IMAGE: &[u8] =
    b"// cuproof test kernel: C[i][j] = sum_k A[i][k] * B[k][j] (int8 -> int32)\n";

pub fn module_digest() -> [u8; 32] {
    Sha256::digest(MODULE_IMAGE).into()
}

fn tensor_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn field_commitment(seed: u8) -> [u8; 32] {
    let mut f: [u8; 32] = Sha256::digest([b'f', seed]).into();
    f[0] &= 0x1f;
    f
}

/// Build the job log and statement for `job_id`/`challenge`, extend the log's checkpoints into PCR 23 of the
/// TPM, quote with the AK, and prove the statement.
pub fn make_receipt(
    tpm: &Swtpm,
    ak: &Ak,
    pk: &ProvingKey<Bn254>,
    vk_digest: [u8; 32],
    job_id: [u8; 32],
    challenge: [u8; 32],
) -> Receipt {
    make_receipt_with_logs(
        tpm,
        ak,
        pk,
        vk_digest,
        job_id,
        challenge,
        &boot().bytes,
        &ima().bytes,
    )
}

/// The simulated IMA runtime list every test TPM has measured into PCR 10 after [`boot`].
pub fn ima() -> cuproof_attest::ima::build::SimulatedIma {
    let log = cuproof_attest::bootlog::BootLog::parse(&boot().bytes).expect("boot log");
    let mut pcrs = [[0u8; 32]; 10];
    for (i, p) in pcrs.iter_mut().enumerate() {
        p.copy_from_slice(&log.replayed_value(ALG_SHA256, i as u8).expect("pcr"));
    }
    cuproof_attest::ima::build::simulated_runtime(&pcrs)
}

/// The simulated firmware boot every test TPM has been through (SHA-256 bank).
pub fn boot() -> SimulatedBoot {
    simulated_firmware_for(&[ALG_SHA256])
}

/// Play a firmware boot into the TPM's PCRs, as firmware does before the OS starts.
pub fn play_boot(tpm: &Swtpm, extends: &[(u8, [u8; 32])]) {
    for (pcr, d) in extends {
        tpm.tool(
            "tpm2_pcrextend",
            &[&format!("{pcr}:sha256={}", hex::encode(d))],
        );
    }
}

/// [`make_receipt`] whose node identity carries `boot_log` and `ima_log` (whatever the TPM measured).
#[allow(clippy::too_many_arguments)]
pub fn make_receipt_with_logs(
    tpm: &Swtpm,
    ak: &Ak,
    pk: &ProvingKey<Bn254>,
    vk_digest: [u8; 32],
    job_id: [u8; 32],
    challenge: [u8; 32],
    boot_log: &[u8],
    ima_log: &[u8],
) -> Receipt {
    let params = vec![
        ("k".to_string(), "4".to_string()),
        ("m".to_string(), "4".to_string()),
        ("n".to_string(), "4".to_string()),
    ];
    let cp = CommitParams::default();
    let a = commit(&tensor_bytes(job_id[0], 16), &cp);
    let b = commit(&tensor_bytes(job_id[0].wrapping_add(1), 16), &cp);
    let c = commit(&tensor_bytes(job_id[0].wrapping_add(2), 64), &cp);
    let tensors = vec![
        TensorCommitment {
            role: BufferRole::Input,
            name: "A".into(),
            dtype: DType::I8,
            shape: vec![4, 4],
            commitment: a,
            field_commitment: Some(field_commitment(job_id[0])),
        },
        TensorCommitment {
            role: BufferRole::Input,
            name: "B".into(),
            dtype: DType::I8,
            shape: vec![4, 4],
            commitment: b,
            field_commitment: Some(field_commitment(job_id[0].wrapping_add(1))),
        },
        TensorCommitment {
            role: BufferRole::Output,
            name: "C".into(),
            dtype: DType::I32,
            shape: vec![4, 4],
            commitment: c,
            field_commitment: Some(field_commitment(job_id[0].wrapping_add(2))),
        },
    ];
    let mut log = ExecutionLog::new();
    log.append(Record::JobStart {
        job_id,
        workload: "matmul-i8".into(),
        params: params.clone(),
        challenge,
    });
    log.append(Record::Inventory(Inventory {
        backend: Backend::Cpu,
        host: "linux-x86_64".into(),
        cpu: "test cpu".into(),
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
    let mut digests = vec![log.checkpoint(DEFAULT_JOB_PCR).0];
    log.append(Record::ModuleLoad {
        module: 0,
        name: "matmul_i8".into(),
        format: ModuleFormat::Host,
        image_digest: module_digest(),
        image_len: MODULE_IMAGE.len() as u64,
    });
    for (i, t) in tensors.iter().enumerate().take(2) {
        log.append(Record::Buffer {
            buffer: i as u32,
            role: t.role,
            name: t.name.clone(),
            dtype: t.dtype,
            shape: t.shape.clone(),
            commitment: t.commitment,
        });
    }
    log.append(Record::Launch {
        module: 0,
        entry: "matmul_i8".into(),
        grid: [1, 1, 1],
        block: [16, 1, 1],
        shared_mem: 0,
        args_digest: [4; 32],
    });
    let t = &tensors[2];
    log.append(Record::Buffer {
        buffer: 2,
        role: t.role,
        name: t.name.clone(),
        dtype: t.dtype,
        shape: t.shape.clone(),
        commitment: t.commitment,
    });
    log.append(Record::JobEnd {
        status: 0,
        elapsed_ns: 1234,
    });
    digests.push(log.checkpoint(DEFAULT_JOB_PCR).0);

    let statement = Statement {
        workload: "matmul-i8".into(),
        params,
        job_id,
        challenge,
        backend: Backend::Cpu,
        tensors,
        log_head: log.head(),
    };
    // The TPM side: reset the job PCR, extend each checkpoint digest, quote.
    tpm.tool("tpm2_pcrreset", &["23"]);
    for d in &digests {
        tpm.tool(
            "tpm2_pcrextend",
            &[&format!("23:sha256={}", hex::encode(d))],
        );
    }
    let x = public_input(
        &circuit_id(),
        &statement.digest(),
        &statement.tensors[0].field_commitment.expect("fa"),
        &statement.tensors[1].field_commitment.expect("fb"),
        &statement.tensors[2].field_commitment.expect("fc"),
    );
    let proof = ProofEntry {
        system: ProofSystem::Groth16Bn254,
        circuit_id: circuit_id(),
        vk_digest,
        public_input: x,
        proof: prove(pk, &x),
    };
    let mut receipt = Receipt {
        statement,
        log,
        node: NodeIdentity {
            label: "test-node".into(),
            tpm: TpmKind::Software,
            ek_public: ak.ek_public.clone(),
            ek_cert: ak.ek_cert.clone(),
            ak_public: ak.ak_public.clone(),
            boot_log: boot_log.to_vec(),
            ima_log: ima_log.to_vec(),
        },
        quotes: Vec::new(),
        proofs: vec![proof],
        timings: vec![Timing {
            label: "job".into(),
            nanos: 1234,
        }],
    };
    let sel: Vec<u8> = {
        let mut s = BOOT_PCRS.to_vec();
        s.push(23);
        s
    };
    let list: Vec<String> = sel.iter().map(|i| i.to_string()).collect();
    tpm.tool(
        "tpm2_quote",
        &[
            "-c",
            &ak.handle,
            "-l",
            &format!("sha256:{}", list.join(",")),
            "-q",
            &hex::encode(receipt.qualifying_data(&challenge).expect("binding")),
            "-m",
            "quote.msg",
            "-s",
            "quote.sig",
            "-g",
            "sha256",
        ],
    );
    let pcrs = tpm.pcrs(&sel);
    let quote = TpmQuote {
        purpose: "job-end".into(),
        attest: tpm.read("quote.msg"),
        signature: tpm.read("quote.sig"),
        pcrs,
    };
    receipt.quotes.push(quote);
    receipt
}

/// Write the test policy (and its files) into `dir`; `extra` is appended TOML.
pub fn write_policy(
    dir: &Path,
    tpm_roots: (&[u8], &[u8]),
    vk: &[u8],
    pcrs: &[PcrValue],
    extra: &str,
) -> PathBuf {
    std::fs::write(dir.join("root.pem"), tpm_roots.0).expect("write");
    std::fs::write(dir.join("issuer.pem"), tpm_roots.1).expect("write");
    std::fs::write(dir.join("square.vk"), vk).expect("write");
    let mut allowed = String::new();
    for p in pcrs.iter().filter(|p| p.index != 23) {
        allowed.push_str(&format!("{} = [\"{}\"]\n", p.index, hex::encode(&p.value)));
    }
    let text = format!(
        r#"name = "test"
backend = "any"

[tpm]
accept = ["software", "hardware"]
software_roots = ["root.pem"]
intermediates = ["issuer.pem"]

[pcrs]
job = 23

[pcrs.allowed]
{allowed}
[modules]
allowed = ["{module}"]

[gpu]
models = ["NVIDIA H100 80GB HBM3"]

[proofs]
required = ["square"]

[proofs.circuits.square]
circuit_id = "{cid}"
vk = "square.vk"
workloads = ["matmul-i8"]
{extra}
"#,
        module = hex::encode(module_digest()),
        cid = hex::encode(circuit_id()),
    );
    let p = dir.join("policy.toml");
    std::fs::write(&p, text).expect("write");
    p
}

/// Everything the tests share, built once per test binary.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub policy: Policy,
    pub policy_path: PathBuf,
    pub node: NodeRecord,
    /// Valid receipt for job 1 under `challenge`.
    pub receipt: Receipt,
    pub bytes: Vec<u8>,
    pub challenge: [u8; 32],
    /// Another job (job 2, challenge 2) on the same TPM and AK.
    pub receipt2: Receipt,
    pub challenge2: [u8; 32],
    /// A job quoted by a second AK (not enrolled) of the same TPM.
    pub receipt_other_ak: Receipt,
    /// Enrollment record of the second AK.
    pub node_other_ak: NodeRecord,
    /// Job 1 quoted by an ECC P-256 (ECDSA-SHA256) AK, and that AK's enrollment record.
    pub receipt_ecc: Receipt,
    pub node_ecc: NodeRecord,
    /// An old job from before (challenge 0): an old nonce.
    pub receipt_old: Receipt,
    pub challenge_old: [u8; 32],
    /// Job 1 carrying a boot log of a Secure-Boot-off machine, though this TPM measured the simulated boot.
    pub receipt_boot_forged: Receipt,
    /// Job 1 carrying no boot log.
    pub receipt_boot_missing: Receipt,
    /// Job 1 whose IMA list lacks its last entry (the NVIDIA stack's last measurement hidden).
    pub receipt_ima_truncated: Receipt,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

/// The shared fixture (first call starts a swtpm, enrolls, quotes, proves: a few seconds).
pub fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(build_fixture)
}

/// The `[boot]` table of the test policy: Secure Boot, the simulated boot's applications and its `db`.
pub fn boot_policy_toml() -> String {
    let b = boot();
    let log = cuproof_attest::bootlog::BootLog::parse(&b.bytes).expect("boot log");
    let db = log
        .events_in(7)
        .filter_map(|e| cuproof_attest::bootlog::uefi::UefiVariable::parse(&e.data).ok())
        .find(|v| v.name == "db")
        .expect("db");
    let apps: Vec<String> = b
        .boot_applications
        .iter()
        .map(|d| format!("\"{}\"", hex::encode(d)))
        .collect();
    let files: Vec<String> = log
        .events_in(9)
        .map(|e| format!("\"{}\"", hex::encode(e.sha256())))
        .collect();
    format!(
        "\n[boot]\nsecure_boot = true\nboot_applications = [{}]\nloaded_files = [{}]\n\n[boot.variables]\ndb = [\"{}\"]\n",
        apps.join(", "),
        files.join(", "),
        hex::encode(Sha256::digest(&db.data))
    )
}

/// A boot log of the same machine with Secure Boot off (what a provider would like to hide).
pub fn secure_boot_off_log() -> Vec<u8> {
    let b = boot();
    let log = cuproof_attest::bootlog::BootLog::parse(&b.bytes).expect("boot log");
    let mut out = b.bytes.clone();
    let e = log
        .events
        .iter()
        .find(|e| {
            cuproof_attest::bootlog::uefi::UefiVariable::parse(&e.data)
                .is_ok_and(|v| v.name == "SecureBoot")
        })
        .expect("SecureBoot event");
    // SHA-256-only layout: pcr u32, type u32, count u32, alg u16, digest[32], size u32, data. The value is the
    // data's last byte; the digest is recomputed so that the event stays bound (as a Secure-Boot-off machine's).
    let digest_at = e.offset + 14;
    let value_at = e.offset + 50 + e.data.len() - 1;
    out[value_at] = 0;
    let mut data = e.data.clone();
    let last = data.len() - 1;
    data[last] = 0;
    out[digest_at..digest_at + 32].copy_from_slice(&Sha256::digest(&data));
    out
}

fn build_fixture() -> Fixture {
    let tpm = Swtpm::start();
    play_boot(&tpm, &boot().extends);
    play_boot(&tpm, &ima().extends);
    let ak = create_ak(&tpm, "0x81010002", "rsa", "rsassa");
    let node = enroll(&tpm, &ak);
    let ak2 = create_ak(&tpm, "0x81010003", "rsa", "rsassa");
    let node2 = enroll(&tpm, &ak2);
    let ak_ecc = create_ak(&tpm, "0x81010004", "ecc", "ecdsa");
    let node_ecc = enroll(&tpm, &ak_ecc);
    let (pk, vk) = groth16_keys();
    let vkd: [u8; 32] = Sha256::digest(&vk).into();
    let challenge_old = [0xC0; 32];
    let challenge = [0xC1; 32];
    let challenge2 = [0xC2; 32];
    let receipt_old = make_receipt(&tpm, &ak, &pk, vkd, [0x10; 32], challenge_old);
    let receipt = make_receipt(&tpm, &ak, &pk, vkd, [0x11; 32], challenge);
    let receipt2 = make_receipt(&tpm, &ak, &pk, vkd, [0x12; 32], challenge2);
    let receipt_other_ak = make_receipt(&tpm, &ak2, &pk, vkd, [0x11; 32], challenge);
    let receipt_ecc = make_receipt(&tpm, &ak_ecc, &pk, vkd, [0x11; 32], challenge);
    let ima_bytes = ima().bytes;
    let receipt_boot_forged = make_receipt_with_logs(
        &tpm,
        &ak,
        &pk,
        vkd,
        [0x11; 32],
        challenge,
        &secure_boot_off_log(),
        &ima_bytes,
    );
    let receipt_boot_missing =
        make_receipt_with_logs(&tpm, &ak, &pk, vkd, [0x11; 32], challenge, &[], &ima_bytes);
    let last = cuproof_attest::ima::ImaLog::parse(&ima_bytes)
        .expect("ima")
        .entries
        .last()
        .expect("entry")
        .offset;
    let receipt_ima_truncated = make_receipt_with_logs(
        &tpm,
        &ak,
        &pk,
        vkd,
        [0x11; 32],
        challenge,
        &boot().bytes,
        &ima_bytes[..last],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, issuer) = tpm.ca_pems();
    let policy_path = write_policy(
        dir.path(),
        (&root, &issuer),
        &vk,
        &receipt.quotes[0].pcrs,
        &format!(
            "{}\n{}",
            boot_policy_toml(),
            cuproof_verify::ima::reference_policy(&ima_bytes).expect("ima policy")
        ),
    );
    let policy = Policy::load(&policy_path).expect("test policy loads");
    let bytes = receipt.encode().expect("encode");
    Fixture {
        dir,
        policy,
        policy_path,
        node,
        receipt,
        bytes,
        challenge,
        receipt2,
        challenge2,
        receipt_other_ak,
        node_other_ak: node2,
        receipt_ecc,
        node_ecc,
        receipt_old,
        challenge_old,
        receipt_boot_forged,
        receipt_boot_missing,
        receipt_ima_truncated,
    }
}
