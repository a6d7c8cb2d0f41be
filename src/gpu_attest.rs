//! The node side of GPU attestation: asking a card for its own signed measurements.
//!
//! A verifier that wants more than the driver's word for which card did the work asks each card, through its
//! driver, for an SPDM `GET_MEASUREMENTS` report over a nonce the verifier can recompute
//! ([`cuproof_attest::gpu::gpu_nonce`]). The card signs it with a key whose certificate chains to NVIDIA; the
//! verifier side is [`cuproof_attest::gpu`] (pure functions, no driver).
//!
//! * [`GpuAttester`]: what a node asks; [`GpuAttestError::Unavailable`] when a card cannot answer (no driver, no
//!   such card, confidential computing off), which is a verdict for the verifier's policy, not a node failure.
//! * [`Nvml`] (feature `cuda`): the driver's NVML, loaded at run time (`libnvidia-ml.so.1`),
//!   `nvmlDeviceGetConfComputeGpuAttestationReport` and `nvmlDeviceGetConfComputeGpuCertificate`.
//! * [`SoftGpu`]: a software responder, as swtpm is a software TPM: NVIDIA's message formats and signature, a key
//!   and chain you give it (the test authority under `tests/data/gpu-test-authority/`, which no policy trusts
//!   unless told to). For tests and for rehearsing a verifier's policy without a confidential-computing GPU.

use cuproof_attest::gpu::opaque::{
    OpaqueField, FIELD_DRIVER_VERSION, FIELD_FWID, FIELD_PROJECT, FIELD_PROJECT_SKU,
};
use cuproof_attest::gpu::spdm::{self, MeasurementBlock, NONCE_LEN};
use cuproof_attest::gpu::{DeviceChain, GpuEvidence, OpaqueData};
use rand::RngCore;
use sha2::{Digest, Sha384};

/// Why a card gave no evidence.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum GpuAttestError {
    /// The card cannot attest here: no NVML, no such card, or confidential computing not enabled. The claim goes
    /// on without evidence; whether that is acceptable is the verifier's policy.
    #[error("GPU attestation unavailable: {0}")]
    Unavailable(String),
    /// The card or its driver failed while attesting.
    #[error("GPU attestation failed: {0}")]
    Failed(String),
}

/// Something that can ask a node's cards for attestation reports.
pub trait GpuAttester: Send + Sync {
    /// The evidence of card `card` (position among the node's runtimes) whose driver UUID is `uuid`, its request
    /// carrying `nonce`.
    fn attest(
        &self,
        card: usize,
        uuid: &[u8; 16],
        nonce: &[u8; NONCE_LEN],
    ) -> Result<GpuEvidence, GpuAttestError>;

    /// What this attester is, for messages (`NVML 550.90.07`, `software GPU responder`).
    fn describe(&self) -> String;
}

/// One card of a [`SoftGpu`].
#[derive(Clone)]
struct SoftCard {
    key: p384::ecdsa::SigningKey,
    chain: Vec<u8>,
    fwid: Option<Vec<u8>>,
}

/// A software GPU responder: answers `GET_MEASUREMENTS` as a Hopper card does, signing with the keys it is given.
#[derive(Clone, Default)]
pub struct SoftGpu {
    cards: Vec<SoftCard>,
    measurements: Vec<MeasurementBlock>,
    driver_version: String,
}

impl SoftGpu {
    /// A responder with no cards yet; eight SHA-384 measurements (`SHA-384("cuproof soft GPU measurement <i>")`,
    /// indices 1..=8) and driver version `cuproof-soft`.
    pub fn new() -> Self {
        let measurements = (1..=8u8)
            .map(|i| MeasurementBlock {
                index: i,
                value_type: 0x01,
                value: Sha384::digest(format!("cuproof soft GPU measurement {i}")).to_vec(),
            })
            .collect();
        SoftGpu {
            cards: Vec::new(),
            measurements,
            driver_version: "cuproof-soft".into(),
        }
    }

    /// Add a card: its attestation key (PKCS#8 PEM, P-384) and that key's chain (PEM, attestation key first).
    /// The chain's FWID (if its certificate carries one) goes into every report, as a card's firmware puts it.
    pub fn with_card(mut self, key_pem: &str, chain: &[u8]) -> Result<Self, GpuAttestError> {
        use p384::pkcs8::DecodePrivateKey;
        let key = p384::ecdsa::SigningKey::from_pkcs8_pem(key_pem).map_err(|_| {
            GpuAttestError::Failed("attestation key: not a P-384 PKCS#8 key".into())
        })?;
        let parsed =
            DeviceChain::parse(chain).map_err(|e| GpuAttestError::Failed(e.to_string()))?;
        let certified = parsed
            .attestation_key()
            .map_err(|e| GpuAttestError::Failed(e.to_string()))?;
        if certified != *key.verifying_key() {
            return Err(GpuAttestError::Failed(
                "the key is not the one the chain's first certificate certifies".into(),
            ));
        }
        let fwid = parsed
            .fwid()
            .map_err(|e| GpuAttestError::Failed(e.to_string()))?;
        self.cards.push(SoftCard {
            key,
            chain: chain.to_vec(),
            fwid,
        });
        Ok(self)
    }

    /// Replace the measurements every card reports (e.g. to rehearse a card whose firmware changed).
    pub fn with_measurements(mut self, measurements: Vec<MeasurementBlock>) -> Self {
        self.measurements = measurements;
        self
    }

    /// The measurements every card reports.
    pub fn measurements(&self) -> &[MeasurementBlock] {
        &self.measurements
    }

    /// The report card `card` gives for `nonce`.
    pub fn report(&self, card: usize, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, GpuAttestError> {
        let c = self.cards.get(card).ok_or_else(|| {
            GpuAttestError::Unavailable(format!(
                "the software responder has {} card(s), not card {card}",
                self.cards.len()
            ))
        })?;
        let mut fields = vec![
            OpaqueField {
                id: FIELD_DRIVER_VERSION,
                value: nul_terminated(&self.driver_version),
            },
            OpaqueField {
                id: FIELD_PROJECT,
                value: nul_terminated("0000"),
            },
            OpaqueField {
                id: FIELD_PROJECT_SKU,
                value: nul_terminated("0000"),
            },
        ];
        if let Some(fwid) = &c.fwid {
            fields.push(OpaqueField {
                id: FIELD_FWID,
                value: fwid.clone(),
            });
        }
        let failed = |e: cuproof_attest::gpu::GpuError| GpuAttestError::Failed(e.to_string());
        let opaque = OpaqueData { fields }.to_bytes().map_err(failed)?;
        let mut responder_nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut responder_nonce);
        let mut report = spdm::encode_request(nonce, 0);
        report.extend(
            spdm::encode_response_unsigned(0, &self.measurements, &responder_nonce, &opaque)
                .map_err(failed)?,
        );
        use p384::ecdsa::signature::hazmat::PrehashSigner;
        let sig: p384::ecdsa::Signature = c
            .key
            .sign_prehash(&Sha384::digest(&report))
            .map_err(|_| GpuAttestError::Failed("signing failed".into()))?;
        report.extend_from_slice(&sig.to_bytes());
        Ok(report)
    }
}

impl GpuAttester for SoftGpu {
    fn attest(
        &self,
        card: usize,
        _uuid: &[u8; 16],
        nonce: &[u8; NONCE_LEN],
    ) -> Result<GpuEvidence, GpuAttestError> {
        Ok(GpuEvidence {
            report: self.report(card, nonce)?,
            cert_chain: self.cards[card].chain.clone(),
        })
    }

    fn describe(&self) -> String {
        format!("software GPU responder ({} card(s))", self.cards.len())
    }
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// The driver's UUID string of a card, as NVML takes it: `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn nvml_uuid(uuid: &[u8; 16]) -> String {
    let h = |r: std::ops::Range<usize>| -> String {
        uuid[r].iter().map(|b| format!("{b:02x}")).collect()
    };
    format!(
        "GPU-{}-{}-{}-{}-{}",
        h(0..4),
        h(4..6),
        h(6..8),
        h(8..10),
        h(10..16)
    )
}

#[cfg(feature = "cuda")]
pub use nvml::Nvml;

#[cfg(feature = "cuda")]
mod nvml {
    //! NVML, loaded at run time: a node without the driver still builds, runs and says why no card attested.
    #![allow(unsafe_code)]

    use super::{nvml_uuid, GpuAttestError, GpuAttester};
    use cuproof_attest::gpu::spdm::{MAX_REPORT_LEN, NONCE_LEN};
    use cuproof_attest::gpu::GpuEvidence;
    use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

    const NVML_SUCCESS: c_int = 0;
    const NVML_ERROR_NOT_SUPPORTED: c_int = 3;
    const NVML_ERROR_NO_PERMISSION: c_int = 4;
    const NVML_ERROR_NOT_FOUND: c_int = 6;
    const NVML_ERROR_FUNCTION_NOT_FOUND: c_int = 13;

    const CERT_CHAIN_SIZE: usize = 0x1000;
    const ATTESTATION_CERT_CHAIN_SIZE: usize = 0x1400;
    const ATTESTATION_REPORT_SIZE: usize = 0x2000;
    const CEC_ATTESTATION_REPORT_SIZE: usize = 0x1000;

    /// `nvmlConfComputeGpuCertificate_t` (nvml.h, driver 535 and later).
    #[repr(C)]
    struct GpuCertificate {
        cert_chain_size: c_uint,
        attestation_cert_chain_size: c_uint,
        cert_chain: [u8; CERT_CHAIN_SIZE],
        attestation_cert_chain: [u8; ATTESTATION_CERT_CHAIN_SIZE],
    }

    /// `nvmlConfComputeGpuAttestationReport_t`.
    #[repr(C)]
    struct GpuAttestationReport {
        is_cec_attestation_report_present: c_uint,
        attestation_report_size: c_uint,
        cec_attestation_report_size: c_uint,
        nonce: [u8; NONCE_LEN],
        attestation_report: [u8; ATTESTATION_REPORT_SIZE],
        cec_attestation_report: [u8; CEC_ATTESTATION_REPORT_SIZE],
    }

    type Device = *mut c_void;
    type InitFn = unsafe extern "C" fn() -> c_int;
    type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;
    type ByUuidFn = unsafe extern "C" fn(*const c_char, *mut Device) -> c_int;
    type ReportFn = unsafe extern "C" fn(Device, *mut GpuAttestationReport) -> c_int;
    type CertFn = unsafe extern "C" fn(Device, *mut GpuCertificate) -> c_int;
    type DriverVersionFn = unsafe extern "C" fn(*mut c_char, c_uint) -> c_int;

    /// The driver's NVML.
    pub struct Nvml {
        lib: libloading::Library,
    }

    // SAFETY: NVML is thread-safe (its documentation: "all NVML functions are thread-safe").
    unsafe impl Send for Nvml {}
    // SAFETY: as above.
    unsafe impl Sync for Nvml {}

    impl Nvml {
        /// Load `libnvidia-ml.so.1` and initialise it. [`GpuAttestError::Unavailable`] where there is no driver.
        pub fn open() -> Result<Self, GpuAttestError> {
            // SAFETY: loading the driver's library runs its initialisers, which is what every NVML user does.
            let lib = unsafe { libloading::Library::new("libnvidia-ml.so.1") }
                .map_err(|e| GpuAttestError::Unavailable(format!("no NVML: {e}")))?;
            let nvml = Nvml { lib };
            // SAFETY: nvmlInit_v2 takes no arguments; the symbol's type is the documented one.
            let rc = unsafe { nvml.symbol::<InitFn>(b"nvmlInit_v2\0")?() };
            nvml.check("nvmlInit_v2", rc)?;
            Ok(nvml)
        }

        fn symbol<T: Copy>(&self, name: &[u8]) -> Result<T, GpuAttestError> {
            // SAFETY: every call site names a symbol whose C type is `T` (nvml.h).
            unsafe { self.lib.get::<T>(name) }.map(|s| *s).map_err(|_| {
                GpuAttestError::Unavailable(format!(
                    "this driver's NVML has no {} (driver 535 or later is needed)",
                    String::from_utf8_lossy(&name[..name.len() - 1])
                ))
            })
        }

        fn error_string(&self, rc: c_int) -> String {
            match self.symbol::<ErrorStringFn>(b"nvmlErrorString\0") {
                // SAFETY: nvmlErrorString returns a static NUL-terminated string for any code.
                Ok(f) => unsafe {
                    let p = f(rc);
                    if p.is_null() {
                        format!("NVML error {rc}")
                    } else {
                        format!("{} ({rc})", CStr::from_ptr(p).to_string_lossy())
                    }
                },
                Err(_) => format!("NVML error {rc}"),
            }
        }

        fn check(&self, call: &str, rc: c_int) -> Result<(), GpuAttestError> {
            match rc {
                NVML_SUCCESS => Ok(()),
                NVML_ERROR_NOT_SUPPORTED | NVML_ERROR_NOT_FOUND | NVML_ERROR_FUNCTION_NOT_FOUND => {
                    Err(GpuAttestError::Unavailable(format!(
                        "{call}: {} (attestation reports need a confidential-computing-capable card with \
                         confidential computing enabled)",
                        self.error_string(rc)
                    )))
                }
                NVML_ERROR_NO_PERMISSION => Err(GpuAttestError::Unavailable(format!(
                    "{call}: {}",
                    self.error_string(rc)
                ))),
                _ => Err(GpuAttestError::Failed(format!(
                    "{call}: {}",
                    self.error_string(rc)
                ))),
            }
        }

        /// The driver version NVML reports.
        pub fn driver_version(&self) -> Option<String> {
            let f = self
                .symbol::<DriverVersionFn>(b"nvmlSystemGetDriverVersion\0")
                .ok()?;
            let mut buf = [0 as c_char; 96];
            // SAFETY: the buffer is 96 bytes and its length is passed.
            let rc = unsafe { f(buf.as_mut_ptr(), buf.len() as c_uint) };
            (rc == NVML_SUCCESS).then(|| {
                // SAFETY: on success NVML wrote a NUL-terminated string into buf.
                unsafe { CStr::from_ptr(buf.as_ptr()) }
                    .to_string_lossy()
                    .into_owned()
            })
        }
    }

    impl GpuAttester for Nvml {
        fn attest(
            &self,
            _card: usize,
            uuid: &[u8; 16],
            nonce: &[u8; NONCE_LEN],
        ) -> Result<GpuEvidence, GpuAttestError> {
            let by_uuid = self.symbol::<ByUuidFn>(b"nvmlDeviceGetHandleByUUID\0")?;
            let report_fn =
                self.symbol::<ReportFn>(b"nvmlDeviceGetConfComputeGpuAttestationReport\0")?;
            let cert_fn = self.symbol::<CertFn>(b"nvmlDeviceGetConfComputeGpuCertificate\0")?;
            let id = CString::new(nvml_uuid(uuid)).expect("hex has no NUL");
            let mut dev: Device = std::ptr::null_mut();
            // SAFETY: id is NUL-terminated; dev is a valid out-pointer.
            let rc = unsafe { by_uuid(id.as_ptr(), &mut dev) };
            self.check("nvmlDeviceGetHandleByUUID", rc)?;

            // Both structures are large (12 KiB and 9 KiB): on the heap, zeroed (all-zero is a valid value).
            // SAFETY: the structs are plain integers and byte arrays, for which all-zero bytes are valid.
            let mut report: Box<GpuAttestationReport> = unsafe { Box::new(std::mem::zeroed()) };
            report.nonce.copy_from_slice(nonce);
            // SAFETY: dev is NVML's handle; report points to a structure of the documented layout.
            let rc = unsafe { report_fn(dev, &mut *report) };
            self.check("nvmlDeviceGetConfComputeGpuAttestationReport", rc)?;
            // SAFETY: as above.
            let mut certs: Box<GpuCertificate> = unsafe { Box::new(std::mem::zeroed()) };
            // SAFETY: dev is NVML's handle; certs points to a structure of the documented layout.
            let rc = unsafe { cert_fn(dev, &mut *certs) };
            self.check("nvmlDeviceGetConfComputeGpuCertificate", rc)?;

            let n = report.attestation_report_size as usize;
            if n == 0 || n > ATTESTATION_REPORT_SIZE.min(MAX_REPORT_LEN) {
                return Err(GpuAttestError::Failed(format!(
                    "NVML reported an attestation report of {n} bytes"
                )));
            }
            let m = certs.attestation_cert_chain_size as usize;
            if m == 0 || m > ATTESTATION_CERT_CHAIN_SIZE {
                return Err(GpuAttestError::Failed(format!(
                    "NVML reported an attestation certificate chain of {m} bytes"
                )));
            }
            Ok(GpuEvidence {
                report: report.attestation_report[..n].to_vec(),
                cert_chain: certs.attestation_cert_chain[..m].to_vec(),
            })
        }

        fn describe(&self) -> String {
            match self.driver_version() {
                Some(v) => format!("NVML, driver {v}"),
                None => "NVML".into(),
            }
        }
    }

    impl Drop for Nvml {
        fn drop(&mut self) {
            if let Ok(shutdown) = self.symbol::<InitFn>(b"nvmlShutdown\0") {
                // SAFETY: nvmlShutdown pairs the nvmlInit_v2 of open().
                unsafe {
                    shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvml_uuid_strings_have_the_drivers_shape() {
        let u: [u8; 16] = core::array::from_fn(|i| i as u8 * 17);
        assert_eq!(nvml_uuid(&u), "GPU-00112233-4455-6677-8899-aabbccddeeff");
    }
}
