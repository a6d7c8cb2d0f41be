//! The auditor's policy: what a receipt must show to be accepted (`docs/policy.md`).
//!
//! A policy is a TOML file. Every table rejects unknown keys (the error names the key). Files the policy refers
//! to (EK root certificates, Groth16 verifying keys, the freshness state file) are resolved relative to the
//! policy file's directory, read once by [`Policy::load`] / [`Policy::from_toml_str`], and kept in memory.

use ark_bn254::Bn254;
use ark_groth16::{PreparedVerifyingKey, VerifyingKey};
use ark_serialize::CanonicalDeserialize;
use cuproof_attest::alg::{
    HashAlg as TpmHash, TPM_ALG_ECDSA, TPM_ALG_RSAPSS, TPM_ALG_RSASSA, TPM_ALG_SHA256,
};
use cuproof_attest::ekcert::{EkTrust, TpmKind as AttestTpmKind};
use cuproof_attest::signature::SignaturePolicy;
use cuproof_core::log::{Backend, DEFAULT_JOB_PCR};
use cuproof_core::receipt::TpmKind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 1 << 20;
/// Largest auxiliary file (certificate, verifying key) read.
const MAX_AUX_BYTES: u64 = 1 << 22;

/// Errors of loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file (or a file it names) could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than the limit.
    #[error("{path}: file larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// TOML syntax error, unknown key, or a value of the wrong type (the message names the key).
    #[error("policy: {0}")]
    Toml(String),
    /// A value is well-typed but not acceptable.
    #[error("policy: {key}: {why}")]
    Invalid {
        /// The key, dotted (`pcrs.allowed.0`).
        key: String,
        /// What is wrong.
        why: String,
    },
}

/// Largest `[capacity] wall_clock_allowance_ms` accepted (60 s).
pub const MAX_WALL_CLOCK_ALLOWANCE_MS: u64 = 60_000;

/// The policy format version this build reads (`version = 1` in the TOML; absent means 1).
pub const POLICY_VERSION: u32 = 1;

fn invalid(key: impl Into<String>, why: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        key: key.into(),
        why: why.into(),
    }
}

/// Backend the policy requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendRequirement {
    /// Only the CUDA backend.
    Cuda,
    /// Only the CPU backend.
    Cpu,
    /// Either.
    Any,
}

impl BackendRequirement {
    /// Whether `b` satisfies the requirement.
    pub fn admits(self, b: Backend) -> bool {
        matches!(
            (self, b),
            (BackendRequirement::Any, _)
                | (BackendRequirement::Cuda, Backend::Cuda)
                | (BackendRequirement::Cpu, Backend::Cpu)
        )
    }
}

/// Kinds of TPM a policy may accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TpmKindName {
    /// A hardware TPM.
    Hardware,
    /// A software TPM (swtpm).
    Software,
    /// No TPM at all (no quote): only sensible for local development.
    None,
}

impl TpmKindName {
    fn matches(self, k: TpmKind) -> bool {
        matches!(
            (self, k),
            (TpmKindName::Hardware, TpmKind::Hardware)
                | (TpmKindName::Software, TpmKind::Software)
                | (TpmKindName::None, TpmKind::None)
        )
    }
}

/// A signature scheme on the allow-list, e.g. `"rsassa-sha256"`, `"rsapss-sha384"`, `"ecdsa-sha256"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeName {
    /// TPM_ALG_ID of the scheme.
    pub scheme: u16,
    /// The hash.
    pub hash: TpmHash,
}

impl SchemeName {
    fn parse(s: &str) -> Option<Self> {
        let (a, h) = s.split_once('-')?;
        let scheme = match a {
            "rsassa" => TPM_ALG_RSASSA,
            "rsapss" => TPM_ALG_RSAPSS,
            "ecdsa" => TPM_ALG_ECDSA,
            _ => return None,
        };
        let hash = match h {
            "sha256" => TpmHash::Sha256,
            "sha384" => TpmHash::Sha384,
            "sha512" => TpmHash::Sha512,
            _ => return None,
        };
        Some(SchemeName { scheme, hash })
    }
}

impl fmt::Display for SchemeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = match self.scheme {
            TPM_ALG_RSASSA => "rsassa",
            TPM_ALG_RSAPSS => "rsapss",
            _ => "ecdsa",
        };
        let h = match self.hash {
            TpmHash::Sha1 => "sha1",
            TpmHash::Sha256 => "sha256",
            TpmHash::Sha384 => "sha384",
            TpmHash::Sha512 => "sha512",
        };
        write!(f, "{a}-{h}")
    }
}

// ---------------------------------------------------------------------------------------------------------
// Raw TOML shape.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    /// Policy format version; absent means the current one.
    #[serde(default)]
    version: Option<u32>,
    name: String,
    #[serde(default)]
    description: String,
    backend: BackendRequirement,
    tpm: RawTpm,
    pcrs: RawPcrs,
    #[serde(default)]
    freshness: RawFreshness,
    #[serde(default)]
    modules: RawModules,
    #[serde(default)]
    gpu: RawGpu,
    #[serde(default)]
    proofs: RawProofs,
    #[serde(default)]
    capacity: RawCapacity,
    #[serde(default)]
    gpu_attestation: RawGpuAttestation,
    #[serde(default)]
    boot: Option<RawBoot>,
    #[serde(default)]
    ima: Option<RawIma>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIma {
    #[serde(default = "default_true")]
    require_log: bool,
    #[serde(default = "default_ima_pcr")]
    pcr: u32,
    #[serde(default)]
    allow_violations: bool,
    #[serde(default = "default_true")]
    check_boot_aggregate: bool,
    #[serde(default)]
    deny_unknown: bool,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    digests: Vec<String>,
    #[serde(default)]
    files: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    signing_keys: Vec<String>,
}

fn default_ima_pcr() -> u32 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoot {
    #[serde(default = "default_true")]
    require_log: bool,
    #[serde(default = "default_boot_pcrs")]
    pcrs: Vec<u32>,
    #[serde(default)]
    secure_boot: bool,
    #[serde(default)]
    boot_applications: Option<Vec<String>>,
    #[serde(default)]
    loaded_files: Option<Vec<String>>,
    #[serde(default)]
    variables: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    dbx_required: Vec<String>,
    #[serde(default)]
    db_allowed: Option<Vec<String>>,
    #[serde(default)]
    authorities: Option<Vec<String>>,
    #[serde(default)]
    kernel_cmdline_require: Vec<String>,
    #[serde(default)]
    kernel_cmdline_forbid: Vec<String>,
}

fn default_boot_pcrs() -> Vec<u32> {
    (0..10).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTpm {
    accept: Vec<TpmKindName>,
    #[serde(default)]
    hardware_roots: Vec<String>,
    #[serde(default)]
    software_roots: Vec<String>,
    #[serde(default)]
    intermediates: Vec<String>,
    #[serde(default = "default_true")]
    require_ek_certificate: bool,
    #[serde(default = "default_true")]
    require_enrollment: bool,
    #[serde(default = "default_schemes")]
    signature_schemes: Vec<String>,
    #[serde(default = "default_job_quote")]
    job_quote: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPcrs {
    #[serde(default = "default_bank")]
    bank: String,
    #[serde(default = "default_job_pcr")]
    job: u32,
    #[serde(default)]
    allowed: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    also_quoted: Vec<u32>,
    #[serde(default = "default_true")]
    exact_selection: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreshness {
    #[serde(default = "default_true")]
    require_safe_clock: bool,
    #[serde(default)]
    max_age_seconds: Option<u64>,
    #[serde(default = "default_skew")]
    max_clock_skew_seconds: u64,
    #[serde(default)]
    state_file: Option<String>,
}

impl Default for RawFreshness {
    fn default() -> Self {
        RawFreshness {
            require_safe_clock: true,
            max_age_seconds: None,
            max_clock_skew_seconds: default_skew(),
            state_file: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModules {
    #[serde(default)]
    allow_any: bool,
    #[serde(default)]
    allowed: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGpu {
    #[serde(default)]
    models: Vec<String>,
    #[serde(default)]
    uuids: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGpuAttestation {
    #[serde(default)]
    required: bool,
    #[serde(default)]
    roots: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    measurements: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProofs {
    #[serde(default)]
    required: Vec<String>,
    /// Whether verifying-key files from `cuproof setup`'s single-party (test-only) setup are accepted.
    #[serde(default = "default_true")]
    allow_test_keys: bool,
    #[serde(default)]
    circuits: BTreeMap<String, RawCircuit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCircuit {
    circuit_id: String,
    vk: String,
    #[serde(default)]
    vk_digest: Option<String>,
    #[serde(default)]
    workloads: Vec<String>,
    #[serde(default = "default_inputs")]
    inputs: [String; 2],
    #[serde(default = "default_output")]
    output: String,
}

/// A key missing from `[capacity]` (or the whole section) takes [`CapacityPolicy::default`]'s value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawCapacity {
    require_class: Option<String>,
    min_cards: u32,
    accept_cpu_class: bool,
    accept_unmeasured_bounds: bool,
    require_hardware_tpm: bool,
    require_safe_clock: bool,
    wall_clock_allowance_ms: u64,
    measured: BTreeMap<String, RawMeasurement>,
}

impl Default for RawCapacity {
    fn default() -> Self {
        let d = CapacityPolicy::default();
        RawCapacity {
            require_class: d.require_class,
            min_cards: d.min_cards,
            accept_cpu_class: d.accept_cpu_class,
            accept_unmeasured_bounds: d.accept_unmeasured_bounds,
            require_hardware_tpm: d.require_hardware_tpm,
            require_safe_clock: d.require_safe_clock,
            wall_clock_allowance_ms: d.wall_clock_allowance_ms,
            measured: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasurement {
    measured_ms: u64,
    tensor_ms: u64,
    on: String,
}

fn default_true() -> bool {
    true
}
fn default_schemes() -> Vec<String> {
    [
        "rsassa-sha256",
        "rsassa-sha384",
        "rsapss-sha256",
        "rsapss-sha384",
        "ecdsa-sha256",
        "ecdsa-sha384",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
fn default_job_quote() -> String {
    "job-end".into()
}
fn default_bank() -> String {
    "sha256".into()
}
fn default_job_pcr() -> u32 {
    DEFAULT_JOB_PCR
}
fn default_skew() -> u64 {
    120
}
fn default_inputs() -> [String; 2] {
    ["A".into(), "B".into()]
}
fn default_output() -> String {
    "C".into()
}

// ---------------------------------------------------------------------------------------------------------
// Resolved policy.

/// A Groth16 circuit the policy knows: its id, verifying key and which tensors feed its statement.
#[derive(Clone)]
pub struct CircuitPolicy {
    /// Name in the policy (`proofs.circuits.<name>`).
    pub name: String,
    /// Circuit identifier as carried by receipts.
    pub circuit_id: [u8; 32],
    /// Where the verifying key came from.
    pub vk_path: PathBuf,
    /// Expected `vk_digest` in receipts: pinned by the policy, else SHA-256 of the verifying-key file.
    pub vk_digest: [u8; 32],
    /// Workloads this circuit proves (empty: any).
    pub workloads: Vec<String>,
    /// Names of the two input tensors whose field commitments enter the statement (`commit_a`, `commit_b`).
    pub inputs: [String; 2],
    /// Name of the output tensor (`commit_c`).
    pub output: String,
    /// The prepared verifying key.
    pub pvk: PreparedVerifyingKey<Bn254>,
}

impl fmt::Debug for CircuitPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitPolicy")
            .field("name", &self.name)
            .field("circuit_id", &hex::encode(self.circuit_id))
            .field("vk_path", &self.vk_path)
            .field("workloads", &self.workloads)
            .finish_non_exhaustive()
    }
}

/// A class's bound measured on a card of the class (it replaces the bound derived from the published peak:
/// `cuproof_capacity::ClassSpec::with_measurement`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CapacityMeasurement {
    /// The class of the capacity table (`h100-sxm`, …).
    pub class: String,
    /// TPM-clock `t2 − t1` of an honest run of the class's workload (ms).
    pub measured_ms: u64,
    /// The part of it spent in the GEMMs (ms), the only part scaled by the tensor peaks for the class below.
    pub tensor_ms: u64,
    /// The card and setup it was measured on.
    pub on: String,
}

/// What the capacity-challenge verifier (crate `cuproof-capacity`; `cuproof challenge new|judge --policy`) accepts
/// (docs/capacity.md, *Policy*). The class table itself is the capacity crate's; this names which of its classes
/// count, and replaces derived bounds by measured ones. Without a `[capacity]` section every field has its strict
/// default.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CapacityPolicy {
    /// The class a node must prove (a name of the capacity table), if one.
    pub require_class: Option<String>,
    /// Fewest cards a claim must name (default 1).
    pub min_cards: u32,
    /// Accept the `cpu` class (development only; default false).
    pub accept_cpu_class: bool,
    /// Accept bounds that were not measured on a card of the class: those derived from published peaks and custom
    /// classes (default false: docs/capacity.md shows the derived GPU rows do not separate the classes below).
    pub accept_unmeasured_bounds: bool,
    /// Require the AK to be the enrolled AK of a hardware TPM (default true: a software TPM's clock is the host's).
    pub require_hardware_tpm: bool,
    /// Require the `safe` flag of both quotes' clocks (default true).
    pub require_safe_clock: bool,
    /// What an interactive verifier allows its own clock, from issuing the challenge to receiving the commitment,
    /// beyond the class bound (network, quoting; default 5000 ms, at most [`MAX_WALL_CLOCK_ALLOWANCE_MS`]). A
    /// verifier that judges a transcript from files has no such time and does not apply it.
    pub wall_clock_allowance_ms: u64,
    /// Measured bounds, by class.
    pub measured: Vec<CapacityMeasurement>,
}

impl Default for CapacityPolicy {
    fn default() -> Self {
        CapacityPolicy {
            require_class: None,
            min_cards: 1,
            accept_cpu_class: false,
            accept_unmeasured_bounds: false,
            require_hardware_tpm: true,
            require_safe_clock: true,
            wall_clock_allowance_ms: 5_000,
            measured: Vec::new(),
        }
    }
}

/// Measured-boot settings (`[boot]`, `docs/bootlog.md`): the firmware event log must replay to the quoted
/// boot PCRs, and what it says booted is judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootPolicy {
    /// Whether a receipt must carry the boot log.
    pub require_log: bool,
    /// PCRs the log must explain: each is quoted and equals the log's replay (sorted, distinct).
    pub pcrs: Vec<u8>,
    /// Whether the SecureBoot variable must be measured as 1 in PCR 7.
    pub secure_boot: bool,
    /// Allowed SHA-256 digests (Authenticode) of every boot application measured in PCR 4; `None`: not judged.
    pub boot_applications: Option<Vec<[u8; 32]>>,
    /// Allowed SHA-256 digests of every file GRUB read (PCR 9: grub.cfg, its modules, the kernel, the initrd —
    /// which Secure Boot does not cover); `None`: not judged.
    pub loaded_files: Option<Vec<[u8; 32]>>,
    /// Allowed SHA-256 digests of the data of Secure Boot variables (`PK`, `KEK`, `db`, `dbx`).
    pub variables: BTreeMap<String, Vec<[u8; 32]>>,
    /// Revocations the measured `dbx` must hold (entry fingerprints: the image hash of an `EFI_CERT_SHA256`
    /// entry, the SHA-256 of any other entry's data); a newer dbx with more entries still passes.
    pub dbx_required: Vec<[u8; 32]>,
    /// Fingerprints allowed in the measured `db` (X.509: the certificate's SHA-256 fingerprint); every entry
    /// must be listed. `None`: not judged.
    pub db_allowed: Option<Vec<[u8; 32]>>,
    /// Identities allowed for every other PCR-7 measurement: the authorities that verified boot images (the
    /// certificate's fingerprint, or the image hash, of the db or shim entry) and anything else measured there
    /// (its SHA-256 digest). `None`: not judged.
    pub authorities: Option<Vec<[u8; 32]>>,
    /// Words the kernel command line GRUB measured (PCR 8) must contain, e.g. `ima_policy=tcb`.
    pub kernel_cmdline_require: Vec<String>,
    /// Words it must not contain; an entry ending in `=` forbids every value of that parameter.
    pub kernel_cmdline_forbid: Vec<String>,
}

/// A file digest as IMA logs it: algorithm name and bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileDigest {
    /// `sha256`, `sha384`, `sha512`, `sha1`, …
    pub alg: String,
    /// The digest.
    pub digest: Vec<u8>,
}

impl FileDigest {
    /// Parse `alg:hex` or bare hex (SHA-256).
    pub fn parse(s: &str) -> Option<Self> {
        let (alg, h) = s.trim().split_once(':').unwrap_or(("sha256", s.trim()));
        let digest = hex::decode(h).ok()?;
        let size = match alg {
            "sha1" => 20,
            "sha256" => 32,
            "sha384" => 48,
            "sha512" => 64,
            _ => return None,
        };
        (digest.len() == size).then(|| FileDigest {
            alg: alg.to_string(),
            digest,
        })
    }
}

/// Runtime measurement settings (`[ima]`, `docs/ima.md`): the IMA list must replay to the quoted PCR 10, and the
/// files it measured are judged.
#[derive(Clone, Debug)]
pub struct ImaPolicy {
    /// Whether a receipt must carry the list.
    pub require_log: bool,
    /// The PCR IMA extends (10).
    pub pcr: u8,
    /// Whether violation entries (integrity unknown) are tolerated.
    pub allow_violations: bool,
    /// Whether the list's `boot_aggregate` must be the hash of the quoted PCRs 0–9 (or 0–7, older kernels).
    pub check_boot_aggregate: bool,
    /// Whether every measured file must be allowed by `files` or `digests` (or excluded).
    pub deny_unknown: bool,
    /// Path prefixes never judged.
    pub exclude: Vec<String>,
    /// Paths that must have been measured (e.g. the NVIDIA kernel module).
    pub required: Vec<String>,
    /// Digests allowed for any path.
    pub digests: Vec<FileDigest>,
    /// Allowed digests per exact path: a measured file at that path must have one of them.
    pub files: BTreeMap<String, Vec<FileDigest>>,
    /// Keys whose valid IMA signature (`ima-sig`) allows a file at any path not pinned by `files`.
    pub signing_keys: Vec<cuproof_attest::ima::sig::ImaKey>,
}

/// A loaded, validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Policy name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Required backend.
    pub backend: BackendRequirement,
    /// Accepted TPM kinds.
    pub tpm_accept: Vec<TpmKindName>,
    /// Trusted EK roots, each marked hardware (manufacturer) or software (a swtpm local CA).
    pub ek_trust: EkTrust,
    /// Whether the node must present an EK certificate chaining to `ek_roots`.
    pub require_ek_certificate: bool,
    /// Whether an enrollment record (credential activation) must vouch for the AK.
    pub require_enrollment: bool,
    /// Signature allow-list.
    pub signature_schemes: Vec<SchemeName>,
    /// Purpose of the quote that covers the job.
    pub job_quote: String,
    /// PCR bank (TPM_ALG_ID; only SHA-256 = 0x000B is supported for the job log).
    pub pcr_bank: u16,
    /// The PCR the job log is extended into.
    pub job_pcr: u32,
    /// Allowed values for boot/driver PCRs.
    pub allowed_pcrs: BTreeMap<u32, Vec<Vec<u8>>>,
    /// Further PCRs that must be in the quote's selection (values not judged).
    pub also_quoted: Vec<u32>,
    /// Whether the quote must select exactly the required PCRs (else: at least them).
    pub exact_selection: bool,
    /// Whether the quote's clock must be marked safe.
    pub require_safe_clock: bool,
    /// Largest age of a receipt, measured from the issue of the challenge to verification.
    pub max_age_seconds: Option<u64>,
    /// Tolerated excess (s) of TPM-clock advance over wall-clock advance between two receipts of one AK, on top
    /// of `max_age_seconds` (the bound applies only when a maximum age is set).
    pub max_clock_skew_seconds: u64,
    /// Freshness state file (JSON), if the policy keeps one.
    pub state_file: Option<PathBuf>,
    /// Whether any kernel module is accepted.
    pub modules_allow_any: bool,
    /// Allowed module image digests (SHA-256 of the exact image bytes).
    pub allowed_modules: Vec<[u8; 32]>,
    /// Allowed GPU model names (exact match).
    pub gpu_models: Vec<String>,
    /// Allowed GPU UUIDs.
    pub gpu_uuids: Vec<[u8; 16]>,
    /// What the cards' own attestation reports must show (`[gpu_attestation]`; applied to capacity claims).
    pub gpu_attestation: cuproof_capacity::gpu::GpuAttestationPolicy,
    /// Circuits that must have a valid proof in every receipt (by policy name).
    pub required_proofs: Vec<String>,
    /// Known circuits.
    pub circuits: Vec<CircuitPolicy>,
    /// Capacity-class thresholds.
    pub capacity: CapacityPolicy,
    /// Measured-boot settings, if the policy has a `[boot]` table.
    pub boot: Option<BootPolicy>,
    /// Runtime-measurement (IMA) settings, if the policy has an `[ima]` table.
    pub ima: Option<ImaPolicy>,
}

fn hex32(key: &str, s: &str) -> Result<[u8; 32], PolicyError> {
    let v = hex::decode(s.trim()).map_err(|e| invalid(key, format!("not hex: {e}")))?;
    v.try_into()
        .map_err(|v: Vec<u8>| invalid(key, format!("{} bytes, expected 32", v.len())))
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, PolicyError> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if buf.len() as u64 > limit {
        return Err(PolicyError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(buf)
}

impl Policy {
    /// Read and validate a policy file; relative paths inside are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let bytes = read_limited(path, MAX_POLICY_BYTES)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| PolicyError::Toml(format!("{}: not UTF-8", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml_str(text, base)
    }

    /// Parse and validate a policy from TOML text; relative paths are resolved against `base_dir`.
    pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Toml(e.to_string()))?;
        Self::resolve(raw, base_dir)
    }

    /// Check the TOML shape only (syntax, types, unknown keys); no file is read. Used by fuzzing and linting.
    pub fn parse_only(text: &str) -> Result<(), PolicyError> {
        let _: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Toml(e.to_string()))?;
        Ok(())
    }

    fn resolve(raw: RawPolicy, base: &Path) -> Result<Self, PolicyError> {
        if let Some(v) = raw.version {
            if v != POLICY_VERSION {
                return Err(invalid(
                    "version",
                    format!("policy format version {v} is not supported (this build reads {POLICY_VERSION})"),
                ));
            }
        }
        let path_of = |s: &str| -> PathBuf {
            let p = Path::new(s);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        if raw.tpm.accept.is_empty() {
            return Err(invalid("tpm.accept", "empty: no receipt could pass"));
        }
        let mut ek_trust = EkTrust::default();
        for (list, kind, name) in [
            (
                &raw.tpm.hardware_roots,
                AttestTpmKind::Hardware,
                "hardware_roots",
            ),
            (
                &raw.tpm.software_roots,
                AttestTpmKind::Software,
                "software_roots",
            ),
        ] {
            for (i, entry) in list.iter().enumerate() {
                let key = format!("tpm.{name}[{i}]");
                let bytes = if entry.trim_start().starts_with("-----BEGIN") {
                    entry.as_bytes().to_vec()
                } else {
                    read_limited(&path_of(entry), MAX_AUX_BYTES)?
                };
                ek_trust
                    .add_roots(&bytes, kind)
                    .map_err(|e| invalid(&key, e.to_string()))?;
            }
        }
        for (i, entry) in raw.tpm.intermediates.iter().enumerate() {
            let key = format!("tpm.intermediates[{i}]");
            let bytes = if entry.trim_start().starts_with("-----BEGIN") {
                entry.as_bytes().to_vec()
            } else {
                read_limited(&path_of(entry), MAX_AUX_BYTES)?
            };
            ek_trust
                .add_intermediates(&bytes)
                .map_err(|e| invalid(&key, e.to_string()))?;
        }
        let needs_tpm = raw.tpm.accept.iter().any(|k| *k != TpmKindName::None);
        if needs_tpm && raw.tpm.require_ek_certificate && ek_trust.roots.is_empty() {
            return Err(invalid(
                "tpm.hardware_roots",
                "require_ek_certificate is set but no root is given",
            ));
        }
        let mut signature_schemes = Vec::new();
        for (i, s) in raw.tpm.signature_schemes.iter().enumerate() {
            signature_schemes.push(SchemeName::parse(s).ok_or_else(|| {
                invalid(
                    format!("tpm.signature_schemes[{i}]"),
                    format!("unknown scheme {s:?} (use rsassa|rsapss|ecdsa-sha256|sha384|sha512)"),
                )
            })?);
        }
        if needs_tpm && signature_schemes.is_empty() {
            return Err(invalid("tpm.signature_schemes", "empty"));
        }
        if raw.tpm.job_quote.is_empty() {
            return Err(invalid("tpm.job_quote", "empty"));
        }
        if raw.pcrs.bank != "sha256" {
            return Err(invalid(
                "pcrs.bank",
                format!("{:?}: only \"sha256\" is supported", raw.pcrs.bank),
            ));
        }
        if raw.pcrs.job > 23 {
            return Err(invalid("pcrs.job", "PCR index above 23"));
        }
        let mut allowed_pcrs = BTreeMap::new();
        for (k, vals) in &raw.pcrs.allowed {
            let key = format!("pcrs.allowed.{k}");
            let idx: u32 = k
                .parse::<u32>()
                .ok()
                .filter(|i| *i <= 23 && k == &i.to_string())
                .ok_or_else(|| invalid(&key, "not a PCR index 0..=23"))?;
            if idx == raw.pcrs.job {
                return Err(invalid(
                    &key,
                    "the job PCR is judged by log replay, not by a fixed value",
                ));
            }
            if vals.is_empty() {
                return Err(invalid(&key, "empty list: no value could pass"));
            }
            let mut vs = Vec::new();
            for (i, v) in vals.iter().enumerate() {
                vs.push(hex32(&format!("{key}[{i}]"), v)?.to_vec());
            }
            allowed_pcrs.insert(idx, vs);
        }
        for (i, p) in raw.pcrs.also_quoted.iter().enumerate() {
            if *p > 23 {
                return Err(invalid(format!("pcrs.also_quoted[{i}]"), "above 23"));
            }
        }
        let mut allowed_modules = Vec::new();
        for (i, m) in raw.modules.allowed.iter().enumerate() {
            allowed_modules.push(hex32(&format!("modules.allowed[{i}]"), m)?);
        }
        if !raw.modules.allow_any && allowed_modules.is_empty() {
            return Err(invalid(
                "modules.allowed",
                "empty while allow_any is false: no module could load",
            ));
        }
        let mut gpu_uuids = Vec::new();
        for (i, u) in raw.gpu.uuids.iter().enumerate() {
            let key = format!("gpu.uuids[{i}]");
            let clean: String = u.chars().filter(|c| *c != '-').collect();
            let clean = clean.strip_prefix("GPU").unwrap_or(&clean).to_string();
            let v = hex::decode(&clean).map_err(|e| invalid(&key, format!("not hex: {e}")))?;
            gpu_uuids.push(
                v.try_into()
                    .map_err(|_| invalid(&key, "a GPU UUID has 16 bytes"))?,
            );
        }
        let mut circuits = Vec::new();
        for (name, c) in &raw.proofs.circuits {
            let key = format!("proofs.circuits.{name}");
            let circuit_id = hex32(&format!("{key}.circuit_id"), &c.circuit_id)?;
            if circuits
                .iter()
                .any(|x: &CircuitPolicy| x.circuit_id == circuit_id)
            {
                return Err(invalid(
                    format!("{key}.circuit_id"),
                    "two circuits share this id",
                ));
            }
            let vk_path = path_of(&c.vk);
            let vk_bytes = read_limited(&vk_path, MAX_AUX_BYTES)?;
            let pvk = prepare_vk_for(&vk_bytes, Some(&circuit_id))
                .map_err(|why| invalid(format!("{key}.vk"), why))?;
            if !raw.proofs.allow_test_keys
                && vk_bytes.starts_with(cuproof_circuits::groth::KEY_MAGIC)
                && cuproof_circuits::groth::read_key_header(&vk_bytes)
                    .map(|h| h.test_only)
                    .unwrap_or(true)
            {
                return Err(invalid(
                    format!("{key}.vk"),
                    "a test-only single-party key (proofs.allow_test_keys = false): use keys from a \
                     multi-party ceremony (cuproof setup --import-zkey)",
                ));
            }
            let vk_digest = match &c.vk_digest {
                Some(d) => hex32(&format!("{key}.vk_digest"), d)?,
                None => cuproof_core::hash::sha256(&vk_bytes),
            };
            circuits.push(CircuitPolicy {
                name: name.clone(),
                circuit_id,
                vk_path,
                vk_digest,
                workloads: c.workloads.clone(),
                inputs: c.inputs.clone(),
                output: c.output.clone(),
                pvk,
            });
        }
        for (i, r) in raw.proofs.required.iter().enumerate() {
            if !raw.proofs.circuits.contains_key(r) {
                return Err(invalid(
                    format!("proofs.required[{i}]"),
                    format!("{r:?} is not a circuit under proofs.circuits"),
                ));
            }
        }
        // Class names are checked against the capacity crate's class table where the capacity verifier is built
        // from this section (the CLI names the key); this crate does not depend on that table.
        let cap = &raw.capacity;
        if !(1..=64).contains(&cap.min_cards) {
            return Err(invalid("capacity.min_cards", "must be in 1..=64"));
        }
        if cap.wall_clock_allowance_ms > MAX_WALL_CLOCK_ALLOWANCE_MS {
            return Err(invalid(
                "capacity.wall_clock_allowance_ms",
                format!(
                    "{} ms: at most {MAX_WALL_CLOCK_ALLOWANCE_MS} (beyond that the verifier's own clock says \
                     nothing about a workload of about a second)",
                    cap.wall_clock_allowance_ms
                ),
            ));
        }
        let mut measured = Vec::new();
        for (class, m) in &cap.measured {
            let key = format!("capacity.measured.{class}");
            if m.measured_ms == 0 || m.tensor_ms == 0 || m.tensor_ms > m.measured_ms {
                return Err(invalid(
                    key,
                    "measured_ms and tensor_ms must be positive, tensor_ms at most measured_ms",
                ));
            }
            if m.on.trim().is_empty() {
                return Err(invalid(
                    format!("{key}.on"),
                    "must name the card and setup it was measured on",
                ));
            }
            measured.push(CapacityMeasurement {
                class: class.clone(),
                measured_ms: m.measured_ms,
                tensor_ms: m.tensor_ms,
                on: m.on.clone(),
            });
        }
        let boot = match &raw.boot {
            None => None,
            Some(b) => Some(resolve_boot(b, raw.pcrs.job)?),
        };
        let ima = match &raw.ima {
            None => None,
            Some(i) => {
                let mut keys = Vec::new();
                for (n, entry) in i.signing_keys.iter().enumerate() {
                    let key = format!("ima.signing_keys[{n}]");
                    let bytes = if entry.trim_start().starts_with("-----BEGIN") {
                        entry.as_bytes().to_vec()
                    } else {
                        read_limited(&path_of(entry), MAX_AUX_BYTES)?
                    };
                    keys.extend(
                        cuproof_attest::ima::sig::ImaKey::from_pem_or_der(&bytes)
                            .map_err(|e| invalid(&key, e))?,
                    );
                }
                Some(resolve_ima(i, raw.pcrs.job, keys)?)
            }
        };
        let gpu_attestation = resolve_gpu_attestation(&raw.gpu_attestation, |entry| {
            if entry.trim_start().starts_with("-----BEGIN") {
                Ok(entry.as_bytes().to_vec())
            } else {
                read_limited(&path_of(entry), MAX_AUX_BYTES)
            }
        })?;
        Ok(Policy {
            name: raw.name,
            description: raw.description,
            backend: raw.backend,
            tpm_accept: raw.tpm.accept,
            ek_trust,
            require_ek_certificate: raw.tpm.require_ek_certificate,
            require_enrollment: raw.tpm.require_enrollment,
            signature_schemes,
            job_quote: raw.tpm.job_quote,
            pcr_bank: TPM_ALG_SHA256,
            job_pcr: raw.pcrs.job,
            allowed_pcrs,
            also_quoted: raw.pcrs.also_quoted,
            exact_selection: raw.pcrs.exact_selection,
            require_safe_clock: raw.freshness.require_safe_clock,
            max_age_seconds: raw.freshness.max_age_seconds,
            max_clock_skew_seconds: raw.freshness.max_clock_skew_seconds,
            state_file: raw.freshness.state_file.as_deref().map(path_of),
            modules_allow_any: raw.modules.allow_any,
            allowed_modules,
            gpu_models: raw.gpu.models,
            gpu_uuids,
            gpu_attestation,
            required_proofs: raw.proofs.required,
            circuits,
            capacity: CapacityPolicy {
                require_class: raw.capacity.require_class.clone(),
                min_cards: raw.capacity.min_cards,
                accept_cpu_class: raw.capacity.accept_cpu_class,
                accept_unmeasured_bounds: raw.capacity.accept_unmeasured_bounds,
                require_hardware_tpm: raw.capacity.require_hardware_tpm,
                require_safe_clock: raw.capacity.require_safe_clock,
                wall_clock_allowance_ms: raw.capacity.wall_clock_allowance_ms,
                measured,
            },
            boot,
            ima,
        })
    }

    /// Whether the policy accepts this TPM kind.
    pub fn accepts_tpm(&self, k: TpmKind) -> bool {
        self.tpm_accept.iter().any(|a| a.matches(k))
    }

    /// The signature allow-list in the form `cuproof-attest` takes.
    pub fn signature_policy(&self) -> SignaturePolicy {
        let mut schemes: Vec<u16> = self.signature_schemes.iter().map(|s| s.scheme).collect();
        schemes.sort_unstable();
        schemes.dedup();
        let mut hashes: Vec<TpmHash> = self.signature_schemes.iter().map(|s| s.hash).collect();
        hashes.sort();
        hashes.dedup();
        SignaturePolicy { schemes, hashes }
    }

    /// Whether the (scheme, hash) pair is on the allow-list (as a pair, not as a cross product).
    pub fn allows_scheme(&self, scheme: u16, hash: u16) -> bool {
        self.signature_schemes
            .iter()
            .any(|s| s.scheme == scheme && s.hash.alg_id() == hash)
    }

    /// The PCRs the job quote must select: the job PCR, every PCR with allowed values, and `also_quoted`.
    pub fn required_selection(&self) -> Vec<u8> {
        let mut v: Vec<u8> = std::iter::once(self.job_pcr)
            .chain(self.allowed_pcrs.keys().copied())
            .chain(self.also_quoted.iter().copied())
            .map(|p| p as u8)
            .chain(self.boot.iter().flat_map(|b| b.pcrs.iter().copied()))
            .chain(self.ima.iter().map(|i| i.pcr))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The circuit with this id, if the policy knows it.
    pub fn circuit(&self, id: &[u8; 32]) -> Option<&CircuitPolicy> {
        self.circuits.iter().find(|c| &c.circuit_id == id)
    }
}

fn resolve_ima(
    i: &RawIma,
    job_pcr: u32,
    signing_keys: Vec<cuproof_attest::ima::sig::ImaKey>,
) -> Result<ImaPolicy, PolicyError> {
    if i.pcr > 23 || i.pcr == job_pcr {
        return Err(invalid("ima.pcr", "above 23 or the job PCR"));
    }
    let judges = i.deny_unknown || !i.required.is_empty() || !i.files.is_empty();
    if judges && !i.require_log {
        return Err(invalid(
            "ima.require_log",
            "false while the policy judges measured files: a receipt without a list would skip that",
        ));
    }
    let digest = |key: String, s: &str| {
        FileDigest::parse(s).ok_or_else(|| {
            invalid(
                key,
                format!(
                    "{s:?}: expected \"sha256:<hex>\" (or sha1/sha384/sha512), or 64 hex digits"
                ),
            )
        })
    };
    let mut digests = Vec::new();
    for (n, d) in i.digests.iter().enumerate() {
        digests.push(digest(format!("ima.digests[{n}]"), d)?);
    }
    let mut files = BTreeMap::new();
    for (path, list) in &i.files {
        let key = format!("ima.files.\"{path}\"");
        if list.is_empty() {
            return Err(invalid(key, "empty list: the file could never pass"));
        }
        let mut v = Vec::new();
        for (n, d) in list.iter().enumerate() {
            v.push(digest(format!("{key}[{n}]"), d)?);
        }
        files.insert(path.clone(), v);
    }
    for (n, p) in i.exclude.iter().enumerate() {
        if p.is_empty() {
            return Err(invalid(
                format!("ima.exclude[{n}]"),
                "empty prefix would exclude everything",
            ));
        }
    }
    Ok(ImaPolicy {
        require_log: i.require_log,
        pcr: i.pcr as u8,
        allow_violations: i.allow_violations,
        check_boot_aggregate: i.check_boot_aggregate,
        deny_unknown: i.deny_unknown,
        exclude: i.exclude.clone(),
        required: i.required.clone(),
        digests,
        files,
        signing_keys,
    })
}

fn resolve_gpu_attestation(
    g: &RawGpuAttestation,
    read: impl Fn(&str) -> Result<Vec<u8>, PolicyError>,
) -> Result<cuproof_capacity::gpu::GpuAttestationPolicy, PolicyError> {
    let mut roots = Vec::new();
    for (i, entry) in g.roots.iter().enumerate() {
        let key = format!("gpu_attestation.roots[{i}]");
        let bytes = read(entry)?;
        roots.extend(
            cuproof_attest::Cert::parse_many(&bytes).map_err(|e| invalid(&key, e.to_string()))?,
        );
    }
    for (i, d) in g.devices.iter().enumerate() {
        if d.is_empty() || d.len() > 64 || !d.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(
                format!("gpu_attestation.devices[{i}]"),
                format!("{d:?} is not a chip serial number (letters and digits, as the device certificate has it)"),
            ));
        }
    }
    let mut measurements = cuproof_attest::gpu::GoldenMeasurements::new();
    for (index, values) in &g.measurements {
        let key = format!("gpu_attestation.measurements.{index}");
        let i: u8 = index
            .parse()
            .ok()
            .filter(|i| (1..=254).contains(i))
            .ok_or_else(|| invalid(&key, "a measurement index is 1..=254"))?;
        if values.is_empty() {
            return Err(invalid(&key, "no allowed value: no card could pass"));
        }
        let mut allowed = Vec::with_capacity(values.len());
        for v in values {
            let b = hex::decode(v.trim()).map_err(|e| invalid(&key, format!("not hex: {e}")))?;
            if b.is_empty() || b.len() > 64 {
                return Err(invalid(&key, format!("{} bytes, not a digest", b.len())));
            }
            allowed.push(b);
        }
        measurements.insert(i, allowed);
    }
    Ok(cuproof_capacity::gpu::GpuAttestationPolicy {
        required: g.required,
        roots,
        at: None,
        measurements,
        devices: g.devices.clone(),
    })
}

fn resolve_boot(b: &RawBoot, job_pcr: u32) -> Result<BootPolicy, PolicyError> {
    let mut pcrs = Vec::new();
    for (i, &p) in b.pcrs.iter().enumerate() {
        let key = format!("boot.pcrs[{i}]");
        if p > 23 {
            return Err(invalid(key, "above 23"));
        }
        if p == job_pcr {
            return Err(invalid(
                key,
                "the job PCR holds the execution log, not the boot log",
            ));
        }
        pcrs.push(p as u8);
    }
    pcrs.sort_unstable();
    pcrs.dedup();
    if pcrs.is_empty() {
        return Err(invalid("boot.pcrs", "empty: the log would explain nothing"));
    }
    let cmdline = !b.kernel_cmdline_require.is_empty() || !b.kernel_cmdline_forbid.is_empty();
    let signature_dbs =
        !b.dbx_required.is_empty() || b.db_allowed.is_some() || b.authorities.is_some();
    let judges = b.secure_boot
        || b.boot_applications.is_some()
        || b.loaded_files.is_some()
        || !b.variables.is_empty()
        || signature_dbs
        || cmdline;
    if judges && !b.require_log {
        return Err(invalid(
            "boot.require_log",
            "false while the policy judges the boot (secure_boot, boot_applications, variables, dbx_required, \
             db_allowed, …): a receipt without a log would skip those checks",
        ));
    }
    if (b.secure_boot || !b.variables.is_empty() || signature_dbs) && !pcrs.contains(&7) {
        return Err(invalid(
            "boot.pcrs",
            "Secure Boot is measured in PCR 7, which is not listed",
        ));
    }
    if cmdline && !pcrs.contains(&8) {
        return Err(invalid(
            "boot.pcrs",
            "GRUB measures the kernel command line in PCR 8, which is not listed",
        ));
    }
    for (key, list) in [
        ("boot.kernel_cmdline_require", &b.kernel_cmdline_require),
        ("boot.kernel_cmdline_forbid", &b.kernel_cmdline_forbid),
    ] {
        for (n, w) in list.iter().enumerate() {
            if w.is_empty() || w.chars().any(char::is_whitespace) {
                return Err(invalid(format!("{key}[{n}]"), "one word, no spaces"));
            }
        }
    }
    // A digest allow-list of events in one PCR: that PCR must be judged, and the list must not be empty.
    let digests = |key: &str, list: &Option<Vec<String>>, pcr: u8, what: &str| {
        let Some(list) = list else {
            return Ok(None);
        };
        if !pcrs.contains(&pcr) {
            return Err(invalid(
                "boot.pcrs",
                format!("{what} are measured in PCR {pcr}, which is not listed"),
            ));
        }
        if list.is_empty() {
            return Err(invalid(key, "empty list: no boot could pass"));
        }
        list.iter()
            .enumerate()
            .map(|(i, d)| hex32(&format!("{key}[{i}]"), d))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    let boot_applications = digests(
        "boot.boot_applications",
        &b.boot_applications,
        4,
        "boot applications",
    )?;
    let loaded_files = digests(
        "boot.loaded_files",
        &b.loaded_files,
        9,
        "the files GRUB reads",
    )?;
    let mut variables = BTreeMap::new();
    for (name, list) in &b.variables {
        let key = format!("boot.variables.{name}");
        if !["PK", "KEK", "db", "dbx"].contains(&name.as_str()) {
            return Err(invalid(
                key,
                "not a Secure Boot variable (PK, KEK, db, dbx)",
            ));
        }
        if list.is_empty() {
            return Err(invalid(key, "empty list: no value could pass"));
        }
        let mut v = Vec::new();
        for (i, d) in list.iter().enumerate() {
            v.push(hex32(&format!("{key}[{i}]"), d)?);
        }
        variables.insert(name.clone(), v);
    }
    let dbx_required = b
        .dbx_required
        .iter()
        .enumerate()
        .map(|(i, d)| hex32(&format!("boot.dbx_required[{i}]"), d))
        .collect::<Result<Vec<_>, _>>()?;
    // an optional non-empty list of fingerprints
    let fingerprints = |key: &str, list: &Option<Vec<String>>, empty: &str| match list {
        None => Ok(None),
        Some(l) if l.is_empty() => Err(invalid(key, empty)),
        Some(l) => l
            .iter()
            .enumerate()
            .map(|(i, d)| hex32(&format!("{key}[{i}]"), d))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    };
    let db_allowed = fingerprints(
        "boot.db_allowed",
        &b.db_allowed,
        "empty list: only an empty db could pass (omit the key to not judge db)",
    )?;
    let authorities = fingerprints(
        "boot.authorities",
        &b.authorities,
        "empty list: a boot that measured any authority could not pass (omit the key to not judge them)",
    )?;
    Ok(BootPolicy {
        require_log: b.require_log,
        pcrs,
        secure_boot: b.secure_boot,
        boot_applications,
        loaded_files,
        variables,
        dbx_required,
        db_allowed,
        authorities,
        kernel_cmdline_require: b.kernel_cmdline_require.clone(),
        kernel_cmdline_forbid: b.kernel_cmdline_forbid.clone(),
    })
}

/// Deserialize (with full point validation) and prepare a compressed arkworks `VerifyingKey<Bn254>`.
pub fn prepare_vk(bytes: &[u8]) -> Result<PreparedVerifyingKey<Bn254>, String> {
    prepare_vk_for(bytes, None)
}

/// [`prepare_vk`], accepting also a cuproof key file (`cuproof setup`: header with magic, circuit id, shape and
/// digest, then the compressed key), whose header digest and circuit id are checked (`circuit_id` when given).
pub fn prepare_vk_for(
    bytes: &[u8],
    circuit_id: Option<&[u8; 32]>,
) -> Result<PreparedVerifyingKey<Bn254>, String> {
    if bytes.starts_with(cuproof_circuits::groth::KEY_MAGIC) {
        let (header, vk) = cuproof_circuits::groth::verifying_key_from_file_bytes(bytes)
            .map_err(|e| format!("cuproof verifying-key file: {e}"))?;
        if let Some(id) = circuit_id {
            if header.circuit_id != *id {
                return Err(format!(
                    "the key file is for circuit {}, the policy names {}",
                    hex::encode(header.circuit_id),
                    hex::encode(id)
                ));
            }
        }
        return finish_vk(vk);
    }
    let vk = VerifyingKey::<Bn254>::deserialize_compressed(bytes)
        .map_err(|e| format!("not a compressed Groth16/BN254 verifying key: {e}"))?;
    finish_vk(vk)
}

fn finish_vk(vk: VerifyingKey<Bn254>) -> Result<PreparedVerifyingKey<Bn254>, String> {
    if vk.gamma_abc_g1.len() != 2 {
        return Err(format!(
            "verifying key has {} public inputs, cuproof circuits have exactly 1",
            vk.gamma_abc_g1.len().saturating_sub(1)
        ));
    }
    Ok(ark_groth16::prepare_verifying_key(&vk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_roundtrip() {
        for s in default_schemes() {
            assert_eq!(SchemeName::parse(&s).unwrap().to_string(), s);
        }
        assert!(SchemeName::parse("rsassa-sha1").is_none());
        assert!(SchemeName::parse("hmac-sha256").is_none());
    }
}
