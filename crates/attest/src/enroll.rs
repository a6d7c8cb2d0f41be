//! Registrar side of enrollment by credential activation, and the resulting node record.

use crate::alg::{HashAlg, TPM_ALG_ECDSA, TPM_ALG_RSAPSS, TPM_ALG_RSASSA};
use crate::credential::{make_credential, CredentialBlob};
use crate::ekcert::{Cert, EkTrust, TpmKind};
use crate::error::{Error, Result};
use crate::public::{attrs, PublicArea};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Check that a public area is an attestation key: restricted, sign, fixedTPM, fixedParent,
/// sensitiveDataOrigin, userWithAuth, not decrypt, with a fixed signing scheme (RSASSA, RSAPSS
/// or ECDSA) and a SHA-256-or-better hash.
pub fn check_ak_attributes(ak: &PublicArea) -> Result<()> {
    let required = [
        (attrs::RESTRICTED, "restricted"),
        (attrs::SIGN_ENCRYPT, "sign"),
        (attrs::FIXED_TPM, "fixedTPM"),
        (attrs::FIXED_PARENT, "fixedParent"),
        (attrs::SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin"),
        (attrs::USER_WITH_AUTH, "userWithAuth"),
    ];
    for (bit, name) in required {
        if !ak.has(bit) {
            return Err(Error::AkAttributes(format!("{name} not set")));
        }
    }
    if ak.has(attrs::DECRYPT) {
        return Err(Error::AkAttributes("decrypt set".into()));
    }
    let scheme = ak.scheme();
    if !matches!(
        scheme.scheme,
        TPM_ALG_RSASSA | TPM_ALG_RSAPSS | TPM_ALG_ECDSA
    ) {
        return Err(Error::AkAttributes(format!(
            "signing scheme 0x{:04x} not allowed",
            scheme.scheme
        )));
    }
    match HashAlg::from_alg_id(scheme.hash) {
        Ok(HashAlg::Sha256 | HashAlg::Sha384 | HashAlg::Sha512) => {}
        _ => {
            return Err(Error::AkAttributes(format!(
                "scheme hash 0x{:04x} not allowed",
                scheme.hash
            )))
        }
    }
    if ak.name_alg == HashAlg::Sha1 {
        return Err(Error::AkAttributes("nameAlg SHA-1".into()));
    }
    Ok(())
}

/// Check that a public area looks like an endorsement key (restricted decryption key, fixedTPM).
pub fn check_ek_attributes(ek: &PublicArea) -> Result<()> {
    for (bit, name) in [
        (attrs::RESTRICTED, "restricted"),
        (attrs::DECRYPT, "decrypt"),
        (attrs::FIXED_TPM, "fixedTPM"),
        (attrs::FIXED_PARENT, "fixedParent"),
        (attrs::SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin"),
    ] {
        if !ek.has(bit) {
            return Err(Error::invalid("EK attributes", format!("{name} not set")));
        }
    }
    if ek.has(attrs::SIGN_ENCRYPT) {
        return Err(Error::invalid("EK attributes", "sign set"));
    }
    Ok(())
}

/// What a node sends to the registrar to enroll (file `enroll-request.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    /// EK public, TPM2B_PUBLIC marshalled.
    #[serde(with = "crate::hexser")]
    pub ek_public: Vec<u8>,
    /// EK certificate, DER (absent when the TPM has none).
    #[serde(with = "crate::hexser::option", default)]
    pub ek_cert: Option<Vec<u8>>,
    /// AK public, TPM2B_PUBLIC marshalled.
    #[serde(with = "crate::hexser")]
    pub ak_public: Vec<u8>,
}

/// The registrar's challenge to the node (file `enroll-challenge.json`): the two inputs of
/// TPM2_ActivateCredential, each marshalled with its size prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentChallenge {
    /// TPM2B_ID_OBJECT.
    #[serde(with = "crate::hexser")]
    pub id_object: Vec<u8>,
    /// TPM2B_ENCRYPTED_SECRET.
    #[serde(with = "crate::hexser")]
    pub encrypted_secret: Vec<u8>,
}

/// The node's answer (file `enroll-response.json`): the credential recovered by ActivateCredential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentResponse {
    /// The activated credential.
    #[serde(with = "crate::hexser")]
    pub credential: Vec<u8>,
}

/// Registrar-side state between challenge and response. Holds the expected credential: keep it
/// private to the registrar.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingEnrollment {
    /// The request being answered.
    pub request: EnrollmentRequest,
    /// Kind of TPM established by the EK certificate chain.
    pub tpm_kind: TpmKind,
    #[serde(with = "crate::hexser")]
    credential: Vec<u8>,
}

impl std::fmt::Debug for PendingEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingEnrollment")
            .field("request", &self.request)
            .field("tpm_kind", &self.tpm_kind)
            .field("credential", &"<secret>")
            .finish()
    }
}

/// How the registrar treats EK certificates.
#[derive(Debug, Clone, Default)]
pub struct RegistrarPolicy {
    /// Trusted roots/intermediates.
    pub trust: EkTrust,
    /// Accept a request without an EK certificate (the node is then recorded as `software`).
    pub allow_uncertified: bool,
}

/// Start an enrollment: check the AK attributes, the EK, the EK certificate chain and that the
/// certificate's key is the EK; then make a credential bound to the AK's name for the EK.
pub fn start_enrollment<R: RngCore + CryptoRng>(
    request: &EnrollmentRequest,
    policy: &RegistrarPolicy,
    rng: &mut R,
) -> Result<(EnrollmentChallenge, PendingEnrollment)> {
    let ek = PublicArea::from_tpm2b(&request.ek_public)?;
    let ak = PublicArea::from_tpm2b(&request.ak_public)?;
    check_ek_attributes(&ek)?;
    check_ak_attributes(&ak)?;
    let tpm_kind = match &request.ek_cert {
        Some(der) => {
            let cert = Cert::from_der(der)?;
            if !cert.key_matches(&ek)? {
                return Err(Error::EkCertKeyMismatch);
            }
            policy.trust.verify_chain(&cert)?
        }
        None if policy.allow_uncertified => TpmKind::Software,
        None => return Err(Error::EkChain("no EK certificate presented".into())),
    };
    let mut credential = vec![0u8; 32.min(ek.name_alg.size())];
    rng.fill_bytes(&mut credential);
    let CredentialBlob {
        id_object,
        encrypted_secret,
    } = make_credential(&ek, &ak.name(), &credential, rng)?;
    Ok((
        EnrollmentChallenge {
            id_object,
            encrypted_secret,
        },
        PendingEnrollment {
            request: request.clone(),
            tpm_kind,
            credential,
        },
    ))
}

impl PendingEnrollment {
    /// Finish: the node's activated credential must equal the issued one (constant time).
    /// `enrolled_at` is a unix time in seconds.
    pub fn finish(&self, response: &EnrollmentResponse, enrolled_at: u64) -> Result<NodeRecord> {
        if !bool::from(response.credential.ct_eq(&self.credential)) {
            return Err(Error::CredentialMismatch);
        }
        let ak = PublicArea::from_tpm2b(&self.request.ak_public)?;
        Ok(NodeRecord {
            version: NodeRecord::VERSION,
            ek_public: self.request.ek_public.clone(),
            ek_cert_sha256: self
                .request
                .ek_cert
                .as_ref()
                .map(|c| crate::alg::sha256(c).to_vec()),
            ak_public: self.request.ak_public.clone(),
            ak_name: ak.name(),
            tpm_kind: self.tpm_kind,
            enrolled_at,
        })
    }
}

/// The registrar's record of an enrolled node, used by later verifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRecord {
    /// Format version (1).
    pub version: u32,
    /// EK public, TPM2B_PUBLIC marshalled.
    #[serde(with = "crate::hexser")]
    pub ek_public: Vec<u8>,
    /// SHA-256 of the EK certificate's DER (absent when enrolled without one).
    #[serde(with = "crate::hexser::option", default)]
    pub ek_cert_sha256: Option<Vec<u8>>,
    /// AK public, TPM2B_PUBLIC marshalled.
    #[serde(with = "crate::hexser")]
    pub ak_public: Vec<u8>,
    /// AK name (nameAlg ‖ H(TPMT_PUBLIC)).
    #[serde(with = "crate::hexser")]
    pub ak_name: Vec<u8>,
    /// Hardware or software TPM.
    pub tpm_kind: TpmKind,
    /// Unix time (seconds) of enrollment.
    pub enrolled_at: u64,
}

impl NodeRecord {
    /// Current format version.
    pub const VERSION: u32 = 1;

    /// Parse from JSON and check consistency (version, AK name equals the AK public's name,
    /// public areas parse, digest length).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let r: NodeRecord =
            serde_json::from_slice(bytes).map_err(|e| Error::NodeRecord(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    /// Serialize to pretty JSON.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| Error::NodeRecord(e.to_string()))
    }

    /// Check internal consistency.
    pub fn validate(&self) -> Result<()> {
        if self.version != Self::VERSION {
            return Err(Error::NodeRecord(format!("version {}", self.version)));
        }
        let ak = self.ak()?;
        let ek = self.ek()?;
        check_ak_attributes(&ak)?;
        check_ek_attributes(&ek)?;
        if !bool::from(ak.name().ct_eq(&self.ak_name)) {
            return Err(Error::NodeRecord("AK name does not match AK public".into()));
        }
        if let Some(d) = &self.ek_cert_sha256 {
            if d.len() != 32 {
                return Err(Error::NodeRecord("EK cert digest is not 32 bytes".into()));
            }
        }
        Ok(())
    }

    /// Parsed AK public area.
    pub fn ak(&self) -> Result<PublicArea> {
        PublicArea::from_tpm2b(&self.ak_public)
    }

    /// Parsed EK public area.
    pub fn ek(&self) -> Result<PublicArea> {
        PublicArea::from_tpm2b(&self.ek_public)
    }

    /// The AK's qualified name under the EK (what a quote's qualifiedSigner must be).
    pub fn ak_qualified_name(&self) -> Result<Vec<u8>> {
        Ok(self.ak()?.qualified_name_under_ek(&self.ek()?))
    }

    /// Re-check the node's EK certificate against (possibly other) trust roots: the certificate
    /// must be the one enrolled (SHA-256 equal, constant time), its key must be the EK, and it
    /// must chain to a root of `trust`. Returns the kind of that root.
    pub fn check_ek_certificate(&self, ek_cert_der: &[u8], trust: &EkTrust) -> Result<TpmKind> {
        let enrolled = self
            .ek_cert_sha256
            .as_ref()
            .ok_or_else(|| Error::EkChain("node was enrolled without an EK certificate".into()))?;
        if !bool::from(crate::alg::sha256(ek_cert_der).ct_eq(enrolled.as_slice())) {
            return Err(Error::EkChain(
                "EK certificate differs from the enrolled one".into(),
            ));
        }
        let cert = Cert::from_der(ek_cert_der)?;
        if !cert.key_matches(&self.ek()?)? {
            return Err(Error::EkCertKeyMismatch);
        }
        trust.verify_chain(&cert)
    }

    /// Verify a quote made by this node's AK, requiring `qualifiedSigner` to be the AK's
    /// qualified name under the enrolled EK (see [`crate::quote::verify_quote`] for the order).
    pub fn verify_quote(
        &self,
        attest: &[u8],
        signature: &[u8],
        pcrs: &[crate::pcr::PcrValue],
        qualifying_data: &[u8],
        required_pcrs: &[(HashAlg, u8)],
    ) -> Result<crate::quote::VerifiedQuote> {
        let ak = self.ak()?;
        let qn = ak.qualified_name_under_ek(&self.ek()?);
        crate::quote::verify_quote(
            &ak,
            attest,
            signature,
            pcrs,
            &crate::quote::QuoteExpectations {
                qualifying_data,
                required_pcrs,
                qualified_signer: Some(&qn),
                signature_policy: Default::default(),
            },
        )
    }
}
