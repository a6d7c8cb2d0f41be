//! # cuproof-tpm — the machine side of cuproof's TPM attestation
//!
//! Talks to a TPM 2.0 through tss-esapi (tpm2-tss): endorsement key and certificate,
//! attestation key created under the EK and activated by credential, PCR extend/reset/read,
//! quotes returned as raw TPM bytes, export in tpm2-tools' file formats, and a private
//! software TPM ([`swtpm::Swtpm`]) for machines without one.
//!
//! Raw-bytes interface with the rest of cuproof: EK/AK public = TPM2B_PUBLIC, EK cert = DER,
//! quote attest = TPMS_ATTEST, signature = TPMT_SIGNATURE, PCR values = (bank alg id, index,
//! value). The pure-Rust checks live in `cuproof-attest`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod akfile;
pub mod error;
pub mod export;
pub mod node;
pub mod swtpm;

pub use cuproof_attest::{HashAlg, PcrValue, TpmKind};
pub use error::{Result, TpmError};

use cuproof_attest::pcr::{pcr_digest, PcrSelection};
use cuproof_attest::public::PublicArea;
use cuproof_attest::{Attest, Attested};
use std::str::FromStr;
use tss_esapi::abstraction::{ak, ek, pcr as abs_pcr, AsymmetricAlgorithmSelection};
use tss_esapi::attributes::SessionAttributesBuilder;
use tss_esapi::constants::SessionType;
use tss_esapi::handles::{KeyHandle, ObjectHandle, PcrHandle, SessionHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, SignatureSchemeAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Data, Digest, DigestList, DigestValues, EncryptedSecret, IdObject, PcrSelectionListBuilder,
    PcrSlot, Private, Public, SignatureScheme, SymmetricDefinition,
};
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::{Context, TctiNameConf};

/// Default TCTI when nothing is configured.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";
/// Default job PCR (resettable from locality 0 on swtpm and PC-client TPMs: 16 and 23).
pub const DEFAULT_JOB_PCR: u8 = 23;

/// Environment variables consulted for a TCTI string, in order.
pub const TCTI_ENV_VARS: &[&str] = &["CUPROOF_TCTI", "TPM2TOOLS_TCTI", "TCTI", "TPM2_PKCS11_TCTI"];

/// The TCTI configured by the environment (first non-empty of [`TCTI_ENV_VARS`]), if any.
pub fn configured_tcti() -> Option<String> {
    TCTI_ENV_VARS
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
}

/// The TCTI to use: the configured one, else [`DEFAULT_TCTI`].
pub fn resolve_tcti() -> String {
    configured_tcti().unwrap_or_else(|| DEFAULT_TCTI.to_string())
}

/// Whether a TPM is configured or a TPM device node exists (otherwise callers may fall back to a
/// private swtpm, and must then say `software TPM`).
pub fn tpm_available() -> bool {
    configured_tcti().is_some()
        || std::path::Path::new("/dev/tpmrm0").exists()
        || std::path::Path::new("/dev/tpm0").exists()
}

/// Endorsement key types (TCG EK Credential Profile templates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EkType {
    /// RSA-2048, template L-1 (low range), certificate at NV 0x01c00002.
    Rsa2048,
    /// ECC NIST P-256, template L-2 (low range), certificate at NV 0x01c0000a.
    EccP256,
    /// ECC NIST P-384, template H-3 (high range), certificate at NV 0x01c00016.
    EccP384,
}

impl EkType {
    /// NV index of the EK certificate.
    pub fn cert_nv_index(self) -> u32 {
        match self {
            EkType::Rsa2048 => 0x01c0_0002,
            EkType::EccP256 => 0x01c0_000a,
            EkType::EccP384 => 0x01c0_0016,
        }
    }

    fn selection(self) -> AsymmetricAlgorithmSelection {
        match self {
            EkType::Rsa2048 => AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048),
            EkType::EccP256 => AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256),
            EkType::EccP384 => AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP384),
        }
    }

    fn code(self) -> u8 {
        match self {
            EkType::Rsa2048 => 1,
            EkType::EccP256 => 2,
            EkType::EccP384 => 3,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(EkType::Rsa2048),
            2 => Some(EkType::EccP256),
            3 => Some(EkType::EccP384),
            _ => None,
        }
    }
}

/// Attestation key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AkType {
    /// RSA-2048, RSASSA-PKCS1v1.5 with SHA-256.
    Rsa2048Sha256,
    /// ECC NIST P-256, ECDSA with SHA-256.
    EccP256Sha256,
}

/// A loaded endorsement key.
#[derive(Debug, Clone)]
pub struct Ek {
    handle: KeyHandle,
    /// Which template.
    pub ek_type: EkType,
    /// Public area as TPM2B_PUBLIC bytes.
    pub public: Vec<u8>,
    /// Parsed public area.
    pub area: PublicArea,
}

/// The TPM-wrapped AK: public and private (encrypted by the EK) blobs. Not secret in the
/// cryptographic sense (only the TPM holding the EK can load it), but keep it 0600.
#[derive(Clone, PartialEq, Eq)]
pub struct AkBlob {
    /// EK type the AK was created under.
    pub ek_type: EkType,
    /// TPM2B_PUBLIC bytes.
    pub public: Vec<u8>,
    /// TPM2B_PRIVATE contents (wrapped by the EK).
    pub private: Vec<u8>,
}

impl std::fmt::Debug for AkBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AkBlob")
            .field("ek_type", &self.ek_type)
            .field("public", &hex::encode(&self.public))
            .field(
                "private",
                &format_args!("<{} bytes wrapped>", self.private.len()),
            )
            .finish()
    }
}

/// A loaded attestation key.
#[derive(Debug, Clone)]
pub struct Ak {
    handle: KeyHandle,
    /// Public area as TPM2B_PUBLIC bytes.
    pub public: Vec<u8>,
    /// Parsed public area.
    pub area: PublicArea,
}

impl Ak {
    /// The AK's name.
    pub fn name(&self) -> Vec<u8> {
        self.area.name()
    }
}

/// A quote as raw TPM bytes plus the PCR values of the quoted selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Marshalled TPMS_ATTEST (the signed message).
    pub attest: Vec<u8>,
    /// Marshalled TPMT_SIGNATURE.
    pub signature: Vec<u8>,
    /// The quoted selection.
    pub selection: PcrSelection,
    /// PCR values read in the same selection, matching the quoted digest.
    pub pcrs: Vec<PcrValue>,
}

/// An open TPM.
pub struct Tpm {
    ctx: Context,
    tcti: String,
    broken: std::cell::Cell<bool>,
}

impl std::fmt::Debug for Tpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tpm").field("tcti", &self.tcti).finish()
    }
}

fn hash_to_tss(h: HashAlg) -> HashingAlgorithm {
    match h {
        HashAlg::Sha1 => HashingAlgorithm::Sha1,
        HashAlg::Sha256 => HashingAlgorithm::Sha256,
        HashAlg::Sha384 => HashingAlgorithm::Sha384,
        HashAlg::Sha512 => HashingAlgorithm::Sha512,
    }
}

fn public_to_tpm2b(p: &Public) -> std::result::Result<Vec<u8>, tss_esapi::Error> {
    let tpmt = p.marshall()?;
    let mut v = Vec::with_capacity(tpmt.len() + 2);
    v.extend_from_slice(&(tpmt.len() as u16).to_be_bytes());
    v.extend_from_slice(&tpmt);
    Ok(v)
}

const POLICY_A_SHA384: &str = "8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e143e8bb1133824ccb431053871c6db53";
const POLICY_C_SHA384: &str = "d6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d165";

impl Tpm {
    /// Open the TPM named by a TCTI string (e.g. `device:/dev/tpmrm0`,
    /// `swtpm:host=127.0.0.1,port=2321`).
    pub fn open(tcti: &str) -> Result<Self> {
        let conf = TctiNameConf::from_str(tcti).map_err(|e| TpmError::InvalidTcti {
            tcti: tcti.to_string(),
            reason: e.to_string(),
        })?;
        let ctx = Context::new(conf).map_err(|e| TpmError::Unreachable {
            tcti: tcti.to_string(),
            reason: e.to_string(),
        })?;
        let mut tpm = Tpm {
            ctx,
            tcti: tcti.to_string(),
            broken: std::cell::Cell::new(false),
        };
        // Probe: a context that opened may still have no TPM behind it.
        tpm.ctx.get_random(8).map_err(|e| TpmError::Unreachable {
            tcti: tcti.to_string(),
            reason: e.to_string(),
        })?;
        Ok(tpm)
    }

    /// Open the TPM named by the environment ([`resolve_tcti`]).
    pub fn open_default() -> Result<Self> {
        Self::open(&resolve_tcti())
    }

    /// Whether a transport error was seen (the TPM went away); the handle is then unusable.
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// The TCTI string this TPM was opened with.
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    fn err(&self, op: &'static str, e: tss_esapi::Error) -> TpmError {
        // Once the transport broke, the ESAPI context is unusable: every later error is the
        // same unreachable TPM, whatever code ESAPI reports.
        if self.broken.get() || error::is_transport_error(&e) {
            self.broken.set(true);
            TpmError::Unreachable {
                tcti: self.tcti.clone(),
                reason: format!(
                    "{op}: {e} (rc {})",
                    error::raw_rc(&e)
                        .map(|rc| format!("0x{rc:08x}"))
                        .unwrap_or_else(|| "-".into())
                ),
            }
        } else {
            TpmError::Command {
                op,
                rc: error::raw_rc(&e)
                    .map(|rc| format!("0x{rc:08x}"))
                    .unwrap_or_else(|| "-".into()),
                source: e,
            }
        }
    }

    /// Create (re-derive) the endorsement key from its TCG template. Each call loads a new
    /// transient object: release it with [`Tpm::unload_ek`] (or drop the `Tpm`).
    pub fn endorsement_key(&mut self, ek_type: EkType) -> Result<Ek> {
        let handle = ek::create_ek_object_2(&mut self.ctx, ek_type.selection(), None)
            .map_err(|e| self.err("CreatePrimary(EK)", e))?;
        let (public, _, _) = self
            .ctx
            .read_public(handle)
            .map_err(|e| self.err("ReadPublic(EK)", e))?;
        let public = public_to_tpm2b(&public).map_err(|e| self.err("marshal EK", e))?;
        let area = PublicArea::from_tpm2b(&public)?;
        Ok(Ek {
            handle,
            ek_type,
            public,
            area,
        })
    }

    /// Read the EK certificate (DER) from its NV index. Trailing zero padding is removed.
    pub fn ek_certificate(&mut self, ek_type: EkType) -> Result<Vec<u8>> {
        let raw = ek::retrieve_ek_pubcert(&mut self.ctx, ek_type.selection()).map_err(|e| {
            if self.broken.get() || error::is_transport_error(&e) {
                self.err("NV_Read(EK cert)", e)
            } else {
                TpmError::NoEkCert(ek_type.cert_nv_index())
            }
        })?;
        Ok(trim_der(raw))
    }

    /// Create an AK under the EK (policy session on the EK's endorsement policy).
    pub fn create_ak(&mut self, ek: &Ek, ak_type: AkType) -> Result<AkBlob> {
        let (sel, scheme) = match ak_type {
            AkType::Rsa2048Sha256 => (
                AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048),
                SignatureSchemeAlgorithm::RsaSsa,
            ),
            AkType::EccP256Sha256 => (
                AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256),
                SignatureSchemeAlgorithm::EcDsa,
            ),
        };
        let res = ak::create_ak_2(
            &mut self.ctx,
            ek.handle,
            HashingAlgorithm::Sha256,
            sel,
            scheme,
            None,
            None,
        )
        .map_err(|e| self.err("Create(AK)", e))?;
        Ok(AkBlob {
            ek_type: ek.ek_type,
            public: public_to_tpm2b(&res.out_public).map_err(|e| self.err("marshal AK", e))?,
            private: res.out_private.value().to_vec(),
        })
    }

    /// Load an AK blob under the EK.
    pub fn load_ak(&mut self, ek: &Ek, blob: &AkBlob) -> Result<Ak> {
        if blob.ek_type != ek.ek_type {
            return Err(TpmError::Invalid(format!(
                "AK was created under a {:?} EK, not {:?}",
                blob.ek_type, ek.ek_type
            )));
        }
        let area = PublicArea::from_tpm2b(&blob.public)?;
        let public = Public::unmarshall(area.tpmt_bytes())
            .map_err(|e| TpmError::Invalid(format!("AK public: {e}")))?;
        let private = Private::try_from(blob.private.clone())
            .map_err(|e| TpmError::Invalid(format!("AK private: {e}")))?;
        let handle = ak::load_ak(&mut self.ctx, ek.handle, None, private, public)
            .map_err(|e| self.err("Load(AK)", e))?;
        Ok(Ak {
            handle,
            public: blob.public.clone(),
            area,
        })
    }

    /// TPM2_ActivateCredential: recover the registrar's credential. `id_object` and
    /// `encrypted_secret` are TPM2B-marshalled (size prefix included), as produced by
    /// `cuproof_attest::credential::make_credential`.
    pub fn activate_credential(
        &mut self,
        ek: &Ek,
        ak: &Ak,
        id_object: &[u8],
        encrypted_secret: &[u8],
    ) -> Result<Vec<u8>> {
        let id = cuproof_attest::wire::untpm2b("TPM2B_ID_OBJECT", id_object)?;
        let secret = cuproof_attest::wire::untpm2b("TPM2B_ENCRYPTED_SECRET", encrypted_secret)?;
        let id = IdObject::try_from(id.to_vec())
            .map_err(|e| TpmError::Invalid(format!("ID object: {e}")))?;
        let secret = EncryptedSecret::try_from(secret.to_vec())
            .map_err(|e| TpmError::Invalid(format!("encrypted secret: {e}")))?;
        let (hash, sym) = match ek.ek_type {
            EkType::EccP384 => (HashingAlgorithm::Sha384, SymmetricDefinition::AES_256_CFB),
            _ => (HashingAlgorithm::Sha256, SymmetricDefinition::AES_128_CFB),
        };
        let session = self
            .ctx
            .start_auth_session(None, None, None, SessionType::Policy, sym, hash)
            .map_err(|e| self.err("StartAuthSession", e))?
            .ok_or_else(|| TpmError::Invalid("no session returned".into()))?;
        let (attrs, mask) = SessionAttributesBuilder::new()
            .with_decrypt(true)
            .with_encrypt(true)
            .build();
        let ek_type = ek.ek_type;
        let (ek_handle, ak_handle) = (ek.handle, ak.handle);
        let result = self.ctx.execute_with_temporary_object(
            ObjectHandle::from(SessionHandle::from(session)),
            |ctx, _| {
                ctx.tr_sess_set_attributes(session, attrs, mask)?;
                let policy = PolicySession::try_from(session)?;
                ctx.execute_with_nullauth_session(|ctx| {
                    ctx.policy_secret(
                        policy,
                        tss_esapi::handles::AuthHandle::Endorsement,
                        Default::default(),
                        Default::default(),
                        Default::default(),
                        None,
                    )
                })?;
                if ek_type == EkType::EccP384 {
                    let mut list = DigestList::new();
                    for h in [POLICY_A_SHA384, POLICY_C_SHA384] {
                        let bytes = hex::decode(h).map_err(|_| {
                            tss_esapi::Error::WrapperError(
                                tss_esapi::WrapperErrorKind::InvalidParam,
                            )
                        })?;
                        list.add(Digest::try_from(bytes)?)?;
                    }
                    ctx.policy_or(policy, list)?;
                }
                ctx.execute_with_sessions(
                    (Some(AuthSession::Password), Some(session), None),
                    |ctx| ctx.activate_credential(ak_handle, ek_handle, id, secret),
                )
            },
        );
        let digest = result.map_err(|e| self.err("ActivateCredential", e))?;
        Ok(digest.value().to_vec())
    }

    /// Flush a loaded AK.
    pub fn unload_ak(&mut self, ak: Ak) -> Result<()> {
        self.ctx
            .flush_context(ak.handle.into())
            .map_err(|e| self.err("FlushContext(AK)", e))
    }

    /// Flush a loaded EK.
    pub fn unload_ek(&mut self, ek: Ek) -> Result<()> {
        self.ctx
            .flush_context(ek.handle.into())
            .map_err(|e| self.err("FlushContext(EK)", e))
    }

    fn pcr_handle(pcr: u8) -> Result<PcrHandle> {
        if pcr > 23 {
            return Err(TpmError::Invalid(format!("PCR {pcr} out of range 0..=23")));
        }
        PcrHandle::try_from(pcr as u32).map_err(|e| TpmError::Invalid(format!("PCR {pcr}: {e}")))
    }

    /// Extend `digest` (SHA-256) into `pcr` in the SHA-256 bank.
    pub fn extend(&mut self, pcr: u8, digest: &[u8; 32]) -> Result<()> {
        let h = Self::pcr_handle(pcr)?;
        let mut vals = DigestValues::new();
        vals.set(
            HashingAlgorithm::Sha256,
            Digest::try_from(digest.to_vec()).map_err(|e| TpmError::Invalid(e.to_string()))?,
        );
        self.ctx
            .execute_with_session(Some(AuthSession::Password), |ctx| ctx.pcr_extend(h, vals))
            .map_err(|e| self.err("PCR_Extend", e))
    }

    /// Reset a PCR. Allowed from locality 0 only for the debug/application PCRs (16 and 23 on
    /// PC-client TPMs and swtpm); others fail with a TPM error.
    pub fn reset_pcr(&mut self, pcr: u8) -> Result<()> {
        let h = Self::pcr_handle(pcr)?;
        self.ctx
            .execute_with_session(Some(AuthSession::Password), |ctx| ctx.pcr_reset(h))
            .map_err(|e| self.err("PCR_Reset", e))
    }

    /// Read PCRs of one bank.
    pub fn read_pcrs(&mut self, bank: HashAlg, pcrs: &[u8]) -> Result<Vec<PcrValue>> {
        let selection = PcrSelection::single(bank, pcrs)?;
        self.read_selection(&selection)
    }

    fn tss_selection(sel: &PcrSelection) -> Result<tss_esapi::structures::PcrSelectionList> {
        let mut b = PcrSelectionListBuilder::new();
        for bank in &sel.banks {
            let alg = HashAlg::from_alg_id(bank.hash_alg)?;
            let slots = bank
                .pcrs
                .iter()
                .map(|&p| {
                    PcrSlot::try_from(1u32 << p).map_err(|e| TpmError::Invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            b = b.with_selection(hash_to_tss(alg), &slots);
        }
        b.build().map_err(|e| TpmError::Invalid(e.to_string()))
    }

    fn read_selection(&mut self, sel: &PcrSelection) -> Result<Vec<PcrValue>> {
        let list = Self::tss_selection(sel)?;
        let data = abs_pcr::read_all(&mut self.ctx, list).map_err(|e| self.err("PCR_Read", e))?;
        let mut out = Vec::new();
        for (bank, index) in sel.ordered() {
            let alg = hash_to_tss(HashAlg::from_alg_id(bank)?);
            let slot =
                PcrSlot::try_from(1u32 << index).map_err(|e| TpmError::Invalid(e.to_string()))?;
            let d = data
                .pcr_bank(alg)
                .and_then(|b| b.get_digest(slot))
                .ok_or_else(|| {
                    TpmError::Invalid(format!("TPM returned no value for PCR {index}"))
                })?;
            out.push(PcrValue {
                bank,
                index,
                value: d.value().to_vec(),
            });
        }
        Ok(out)
    }

    /// TPM2_Quote over `pcrs` of `bank` with `qualifying_data` (≤ 64 bytes), signed by `ak`
    /// with its own scheme. Returns the raw attest and signature and the PCR values, checked
    /// against the quoted digest (retried if a PCR changed in between).
    pub fn quote(
        &mut self,
        ak: &Ak,
        bank: HashAlg,
        pcrs: &[u8],
        qualifying_data: &[u8],
    ) -> Result<Quote> {
        let selection = PcrSelection::single(bank, pcrs)?;
        let data = Data::try_from(qualifying_data.to_vec())
            .map_err(|e| TpmError::Invalid(format!("qualifying data: {e}")))?;
        const TRIES: u32 = 3;
        for _ in 0..TRIES {
            let list = Self::tss_selection(&selection)?;
            let (attest, sig) = self
                .ctx
                .execute_with_nullauth_session(|ctx| {
                    ctx.quote(ak.handle, data.clone(), SignatureScheme::Null, list)
                })
                .map_err(|e| self.err("Quote", e))?;
            let attest = attest
                .marshall()
                .map_err(|e| self.err("marshal attest", e))?;
            let signature = sig
                .marshall()
                .map_err(|e| self.err("marshal signature", e))?;
            let values = self.read_selection(&selection)?;
            let parsed = Attest::parse(&attest)?;
            if let Attested::Quote {
                selection: quoted,
                pcr_digest: quoted_digest,
            } = &parsed.attested
            {
                let sig_hash = match cuproof_attest::Signature::parse(&signature)? {
                    cuproof_attest::Signature::RsaSsa { hash, .. }
                    | cuproof_attest::Signature::RsaPss { hash, .. }
                    | cuproof_attest::Signature::Ecc { hash, .. } => HashAlg::from_alg_id(hash)?,
                    _ => return Err(TpmError::Invalid("unexpected signature type".into())),
                };
                if pcr_digest(sig_hash, quoted, &values)? == *quoted_digest {
                    return Ok(Quote {
                        attest,
                        signature,
                        selection: quoted.clone(),
                        pcrs: values,
                    });
                }
            } else {
                return Err(TpmError::Invalid(
                    "TPM returned a non-quote attestation".into(),
                ));
            }
        }
        Err(TpmError::PcrRace(TRIES))
    }

    /// Access the underlying tss-esapi context (advanced use).
    pub fn context(&mut self) -> &mut Context {
        &mut self.ctx
    }
}

/// Cut DER to its outer TLV's length, dropping trailing zero padding some TPMs store in NV.
fn trim_der(mut raw: Vec<u8>) -> Vec<u8> {
    let len = match raw.get(1) {
        Some(&b) if b < 0x80 => Some(2 + b as usize),
        Some(&b) => {
            let n = (b & 0x7f) as usize;
            if n == 0 || n > 4 || raw.len() < 2 + n {
                None
            } else {
                let mut l = 0usize;
                for &x in &raw[2..2 + n] {
                    l = (l << 8) | x as usize;
                }
                Some(2 + n + l)
            }
        }
        None => None,
    };
    if let Some(l) = len {
        if l < raw.len() && raw[l..].iter().all(|&b| b == 0 || b == 0xff) {
            raw.truncate(l);
        }
    }
    raw
}

/// Open the configured TPM, or — when none is configured and no device exists — start a private
/// swtpm. Returns the TPM, the swtpm guard (keep it alive) and whether it is a software TPM.
pub fn open_or_start_swtpm() -> Result<(Tpm, Option<swtpm::Swtpm>, TpmKind)> {
    if tpm_available() {
        let tpm = Tpm::open_default()?;
        let kind = if tpm.tcti().starts_with("swtpm") || tpm.tcti().starts_with("mssim") {
            TpmKind::Software
        } else {
            TpmKind::Hardware
        };
        Ok((tpm, None, kind))
    } else {
        let sw = swtpm::Swtpm::start()?;
        let tpm = Tpm::open(&sw.tcti())?;
        Ok((tpm, Some(sw), TpmKind::Software))
    }
}
