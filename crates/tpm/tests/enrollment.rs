//! Enrollment edge cases on private swtpms.

mod common;

use cuproof_attest::enroll::{start_enrollment, EnrollmentRequest, EnrollmentResponse};
use cuproof_attest::{EkTrust, Error, RegistrarPolicy, TpmKind};
use cuproof_tpm::{akfile, AkType, EkType};

#[test]
fn ak_from_another_tpm_is_refused() {
    let (sw_a, mut tpm_a) = common::start();
    let (_sw_b, mut tpm_b) = common::start();
    let policy = common::registrar_policy(&sw_a);

    let ek_a = tpm_a.endorsement_key(EkType::Rsa2048).unwrap();
    let cert_a = tpm_a.ek_certificate(EkType::Rsa2048).unwrap();
    let ek_b = tpm_b.endorsement_key(EkType::Rsa2048).unwrap();
    let blob_b = tpm_b.create_ak(&ek_b, AkType::Rsa2048Sha256).unwrap();
    let ak_b = tpm_b.load_ak(&ek_b, &blob_b).unwrap();

    // The node claims TPM A's EK (with its valid certificate) but its AK lives in TPM B.
    let request = EnrollmentRequest {
        ek_public: ek_a.public.clone(),
        ek_cert: Some(cert_a),
        ak_public: ak_b.public.clone(),
    };
    let (challenge, pending) = start_enrollment(&request, &policy, &mut rand::rngs::OsRng).unwrap();
    // TPM B cannot decrypt a seed made for TPM A's EK.
    let r = tpm_b.activate_credential(
        &ek_b,
        &ak_b,
        &challenge.id_object,
        &challenge.encrypted_secret,
    );
    assert!(r.is_err(), "activation on the AK's TPM must fail");
    // TPM A has the EK but not the AK: its own AK has another name, so the HMAC check fails.
    let blob_a = tpm_a.create_ak(&ek_a, AkType::Rsa2048Sha256).unwrap();
    let ak_a = tpm_a.load_ak(&ek_a, &blob_a).unwrap();
    let r = tpm_a.activate_credential(
        &ek_a,
        &ak_a,
        &challenge.id_object,
        &challenge.encrypted_secret,
    );
    assert!(r.is_err(), "activation for another AK name must fail");
    // A guessed credential does not finish the enrollment.
    assert_eq!(
        pending.finish(
            &EnrollmentResponse {
                credential: vec![7u8; 32]
            },
            0
        ),
        Err(Error::CredentialMismatch)
    );
}

#[test]
fn ek_certificate_checks() {
    let (sw_a, mut tpm_a) = common::start();
    let (sw_b, mut tpm_b) = common::start();
    let ek_a = tpm_a.endorsement_key(EkType::Rsa2048).unwrap();
    let cert_a = tpm_a.ek_certificate(EkType::Rsa2048).unwrap();
    let cert_b = tpm_b.ek_certificate(EkType::Rsa2048).unwrap();
    let blob = tpm_a.create_ak(&ek_a, AkType::Rsa2048Sha256).unwrap();

    // Certificate of another TPM for this EK: key mismatch.
    let req = EnrollmentRequest {
        ek_public: ek_a.public.clone(),
        ek_cert: Some(cert_b),
        ak_public: blob.public.clone(),
    };
    assert_eq!(
        start_enrollment(
            &req,
            &common::registrar_policy(&sw_a),
            &mut rand::rngs::OsRng
        )
        .err(),
        Some(Error::EkCertKeyMismatch)
    );
    // Right certificate, but the registrar trusts only TPM B's local CA: no chain.
    let req = EnrollmentRequest {
        ek_cert: Some(cert_a.clone()),
        ..req
    };
    assert!(matches!(
        start_enrollment(
            &req,
            &common::registrar_policy(&sw_b),
            &mut rand::rngs::OsRng
        ),
        Err(Error::EkChain(_))
    ));
    // No roots at all.
    assert!(matches!(
        start_enrollment(&req, &RegistrarPolicy::default(), &mut rand::rngs::OsRng),
        Err(Error::EkChain(_))
    ));
    // Intermediate missing: chain incomplete.
    let mut trust = EkTrust::default();
    trust
        .add_roots(&sw_a.ca_root_pem().unwrap(), TpmKind::Software)
        .unwrap();
    let p = RegistrarPolicy {
        trust,
        allow_uncertified: false,
    };
    assert!(matches!(
        start_enrollment(&req, &p, &mut rand::rngs::OsRng),
        Err(Error::EkChain(_))
    ));
    // The intermediate given as a root is accepted (a trust anchor may be any CA).
    let mut trust = EkTrust::default();
    trust
        .add_roots(&sw_a.ca_intermediate_pem().unwrap(), TpmKind::Hardware)
        .unwrap();
    let p = RegistrarPolicy {
        trust,
        allow_uncertified: false,
    };
    let (_, pending) = start_enrollment(&req, &p, &mut rand::rngs::OsRng).unwrap();
    assert_eq!(pending.tpm_kind, TpmKind::Hardware);
    // Time check: far in the future the certificates have expired or not; in 1970 they are not valid yet.
    let mut p2 = common::registrar_policy(&sw_a);
    p2.trust.now = Some(1);
    assert!(matches!(
        start_enrollment(&req, &p2, &mut rand::rngs::OsRng),
        Err(Error::EkChain(_))
    ));
    p2.trust.now = Some(common::now());
    start_enrollment(&req, &p2, &mut rand::rngs::OsRng).unwrap();
    // No certificate: refused unless allowed, then recorded as software.
    let req_nocert = EnrollmentRequest {
        ek_cert: None,
        ..req.clone()
    };
    assert!(matches!(
        start_enrollment(
            &req_nocert,
            &common::registrar_policy(&sw_a),
            &mut rand::rngs::OsRng
        ),
        Err(Error::EkChain(_))
    ));
    // An EK public presented as the AK is refused (decrypt key, no signing scheme).
    let bad = EnrollmentRequest {
        ak_public: ek_a.public.clone(),
        ..req
    };
    assert!(matches!(
        start_enrollment(
            &bad,
            &common::registrar_policy(&sw_a),
            &mut rand::rngs::OsRng
        ),
        Err(Error::AkAttributes(_))
    ));
}

#[test]
fn p256_ek_uncertified_and_ak_file() {
    let (sw, mut tpm) = common::start();
    let mut policy = common::registrar_policy(&sw);
    policy.allow_uncertified = true;
    // swtpm provisions no P-256 EK certificate: NV read fails with a typed error.
    assert!(matches!(
        tpm.ek_certificate(EkType::EccP256),
        Err(cuproof_tpm::TpmError::NoEkCert(0x01c0000a))
    ));
    let ek = tpm.endorsement_key(EkType::EccP256).unwrap();
    let blob = tpm.create_ak(&ek, AkType::EccP256Sha256).unwrap();

    // AK file: created 0600, refuses to overwrite, round-trips, loads.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ak.key");
    akfile::save(&path, &blob).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(akfile::save(&path, &blob).is_err());
    let blob2 = akfile::load(&path).unwrap();
    assert_eq!(blob, blob2);
    assert!(!format!("{blob2:?}").contains(&hex::encode(&blob2.private)));
    let ak = tpm.load_ak(&ek, &blob2).unwrap();

    let request = EnrollmentRequest {
        ek_public: ek.public.clone(),
        ek_cert: None,
        ak_public: ak.public.clone(),
    };
    let (challenge, pending) = start_enrollment(&request, &policy, &mut rand::rngs::OsRng).unwrap();
    // The exchange goes through JSON files.
    let challenge_json = serde_json::to_vec(&challenge).unwrap();
    let challenge: cuproof_attest::EnrollmentChallenge =
        serde_json::from_slice(&challenge_json).unwrap();
    let credential = tpm
        .activate_credential(&ek, &ak, &challenge.id_object, &challenge.encrypted_secret)
        .expect("ActivateCredential with a P-256 EK (KDFe)");
    let record = pending
        .finish(&EnrollmentResponse { credential }, common::now())
        .unwrap();
    assert_eq!(record.tpm_kind, TpmKind::Software);
    assert_eq!(record.ek_cert_sha256, None);
}

#[test]
fn enrollment_through_files_and_reload() {
    use cuproof_attest::{EnrollmentChallenge, EnrollmentRequest, EnrollmentResponse, NodeRecord};
    use cuproof_tpm::node::{read_json, write_json};
    let (sw, mut tpm) = common::start();
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f);

    // Node.
    let id = tpm
        .new_identity(EkType::Rsa2048, AkType::Rsa2048Sha256, &p("ak.key"))
        .unwrap();
    assert!(id.ek_cert.is_some());
    write_json(&p("enroll-request.json"), &id.request()).unwrap();
    // Registrar.
    let req: EnrollmentRequest = read_json(&p("enroll-request.json")).unwrap();
    let (challenge, pending) =
        start_enrollment(&req, &common::registrar_policy(&sw), &mut rand::rngs::OsRng).unwrap();
    write_json(&p("enroll-challenge.json"), &challenge).unwrap();
    // Node.
    let ch: EnrollmentChallenge = read_json(&p("enroll-challenge.json")).unwrap();
    let resp = tpm.answer_challenge(&id, &ch).unwrap();
    write_json(&p("enroll-response.json"), &resp).unwrap();
    // Registrar.
    let resp: EnrollmentResponse = read_json(&p("enroll-response.json")).unwrap();
    let record = pending.finish(&resp, common::now()).unwrap();
    std::fs::write(p("node-record.json"), record.to_json().unwrap()).unwrap();
    drop(tpm);

    // Later: a new connection reloads the identity from the AK file and quotes.
    let mut tpm = cuproof_tpm::Tpm::open(&sw.tcti()).unwrap();
    let id2 = tpm.load_identity(&p("ak.key")).unwrap();
    assert_eq!(id2.ak.public, id.ak.public);
    let q = tpm
        .quote(&id2.ak, cuproof_attest::HashAlg::Sha256, &[23], b"nonce")
        .unwrap();
    let record = NodeRecord::from_json(&std::fs::read(p("node-record.json")).unwrap()).unwrap();
    record
        .verify_quote(
            &q.attest,
            &q.signature,
            &q.pcrs,
            b"nonce",
            &[(cuproof_attest::HashAlg::Sha256, 23)],
        )
        .unwrap();
    // Strict JSON: unknown fields refused; a malformed file is a typed error.
    std::fs::write(p("bad.json"), br#"{"credential":"00","x":1}"#).unwrap();
    assert!(read_json::<EnrollmentResponse>(&p("bad.json")).is_err());
    std::fs::write(p("bad.json"), b"{").unwrap();
    assert!(read_json::<EnrollmentResponse>(&p("bad.json")).is_err());
    // No temporary files left next to the outputs.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
}
