//! # cuproof-attest — the pure-Rust verifier side of cuproof's TPM attestation
//!
//! Usable by auditors on any machine: no C dependency, no TPM needed.
//!
//! * Strict parsers for the TPM 2.0 wire structures that evidence is made of:
//!   [`public::PublicArea`] (TPM2B_PUBLIC / TPMT_PUBLIC, RSA and ECC), [`attest::Attest`]
//!   (TPMS_ATTEST), [`signature::Signature`] (TPMT_SIGNATURE), [`pcr::PcrSelection`]
//!   (TPML_PCR_SELECTION), TPM2B_NAME; names and qualified names.
//! * [`quote::verify_quote`]: signature first, then magic/type, nonce, qualified signer, PCR
//!   selection, PCR digest.
//! * Enrollment (registrar side): [`enroll::start_enrollment`] checks the AK attributes and the
//!   EK certificate chain and runs TPM2_MakeCredential ([`credential::make_credential`]);
//!   [`enroll::PendingEnrollment::finish`] yields a [`enroll::NodeRecord`].
//! * [`bootlog`]: the firmware's measured-boot event log (TCG PC Client, crypto-agile): strict parsing,
//!   replay, the UEFI variables and boot applications a policy judges.
//! * [`ima`]: the kernel's IMA runtime measurement list (PCR 10): strict parsing, replay in both kernel modes.
//! * [`gpu`]: an NVIDIA GPU's own attestation report (SPDM 1.1 measurements signed by a key that
//!   chains to NVIDIA's Device Identity CA): strict parsing, chain, signature, nonce, FWID.
//! * [`fuzz`]: every parser as a bytes → `Result` function.
//!
//! Data is exchanged as raw TPM bytes: `ek_public`/`ak_public` = TPM2B_PUBLIC, `attest` =
//! TPMS_ATTEST, `signature` = TPMT_SIGNATURE, PCR values = (bank alg id, index, value).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alg;
pub mod attest;
pub mod bootlog;
pub mod credential;
pub mod ekcert;
pub mod enroll;
pub mod error;
pub mod fuzz;
pub mod gpu;
mod hexser;
pub mod ima;
pub mod pcr;
pub mod public;
pub mod quote;
pub mod signature;
pub mod tpm2tools;
pub mod wire;

pub use alg::HashAlg;
pub use attest::{Attest, Attested, ClockInfo};
pub use ekcert::{Cert, EkTrust, TpmKind};
pub use enroll::{
    start_enrollment, EnrollmentChallenge, EnrollmentRequest, EnrollmentResponse, NodeRecord,
    PendingEnrollment, RegistrarPolicy,
};
pub use error::{Error, Result};
pub use pcr::{PcrSelection, PcrValue};
pub use public::PublicArea;
pub use quote::{verify_quote, QuoteExpectations, VerifiedQuote};
pub use signature::{Signature, SignaturePolicy};
