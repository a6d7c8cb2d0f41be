//! End-to-end on a private swtpm: EK + cert → AK → MakeCredential (cuproof-attest) →
//! ActivateCredential → NodeRecord; extend PCR 23 → quote → verify; negative cases.

mod common;

use cuproof_attest::enroll::{start_enrollment, EnrollmentRequest, EnrollmentResponse};
use cuproof_attest::pcr::replay;
use cuproof_attest::{verify_quote, Error, HashAlg, QuoteExpectations, TpmKind};
use cuproof_tpm::{AkType, EkType};
use rand::RngCore;

fn expect<'a>(
    nonce: &'a [u8],
    pcrs: &'a [(HashAlg, u8)],
    qs: Option<&'a [u8]>,
) -> QuoteExpectations<'a> {
    QuoteExpectations {
        qualifying_data: nonce,
        required_pcrs: pcrs,
        qualified_signer: qs,
        signature_policy: Default::default(),
    }
}

fn enroll_and_quote(ek_type: EkType, ak_type: AkType) {
    let (sw, mut tpm) = common::start();
    let policy = common::registrar_policy(&sw);

    // Node: EK, certificate, AK.
    let ek = tpm.endorsement_key(ek_type).expect("EK");
    let cert = tpm.ek_certificate(ek_type).expect("EK certificate in NV");
    let blob = tpm.create_ak(&ek, ak_type).expect("create AK");
    let ak = tpm.load_ak(&ek, &blob).expect("load AK");

    // Registrar: checks + MakeCredential.
    let request = EnrollmentRequest {
        ek_public: ek.public.clone(),
        ek_cert: Some(cert.clone()),
        ak_public: ak.public.clone(),
    };
    let (challenge, pending) =
        start_enrollment(&request, &policy, &mut rand::rngs::OsRng).expect("start enrollment");

    // Node: ActivateCredential.
    let credential = tpm
        .activate_credential(&ek, &ak, &challenge.id_object, &challenge.encrypted_secret)
        .expect("ActivateCredential");
    let record = pending
        .finish(&EnrollmentResponse { credential }, common::now())
        .expect("finish enrollment");
    assert_eq!(record.tpm_kind, TpmKind::Software);
    assert_eq!(record.ak_name, ak.name());
    let record = cuproof_attest::NodeRecord::from_json(&record.to_json().unwrap()).unwrap();

    // Job PCR: reset, extend a few digests, quote.
    tpm.reset_pcr(23).expect("reset PCR 23");
    let digests: Vec<[u8; 32]> = (0..4u8)
        .map(|i| cuproof_attest::alg::sha256(&[b'j', i]))
        .collect();
    for d in &digests {
        tpm.extend(23, d).expect("extend");
    }
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sel: Vec<u8> = vec![0, 1, 2, 3, 4, 5, 6, 7, 23];
    let quote = tpm
        .quote(&ak, HashAlg::Sha256, &sel, &nonce)
        .expect("quote");

    let required: Vec<(HashAlg, u8)> = sel.iter().map(|&p| (HashAlg::Sha256, p)).collect();
    let ak_area = record.ak().unwrap();
    let qn = record.ak_qualified_name().unwrap();
    let v = verify_quote(
        &ak_area,
        &quote.attest,
        &quote.signature,
        &quote.pcrs,
        &expect(&nonce, &required, Some(&qn)),
    )
    .expect("quote verifies");
    let refs: Vec<&[u8]> = digests.iter().map(|d| d.as_slice()).collect();
    assert_eq!(
        v.pcr(HashAlg::Sha256, 23).unwrap(),
        replay(HashAlg::Sha256, &refs).as_slice(),
        "replayed PCR equals the quoted value"
    );
    assert!(v.attest.clock_info.safe);
    // The same through the node record, and the EK certificate re-checked against the roots.
    let v2 = record
        .verify_quote(
            &quote.attest,
            &quote.signature,
            &quote.pcrs,
            &nonce,
            &required,
        )
        .expect("record verifies the quote");
    assert_eq!(v2, v);
    assert_eq!(
        record.check_ek_certificate(&cert, &policy.trust).unwrap(),
        TpmKind::Software
    );
    let mut other_cert = cert.clone();
    let n = other_cert.len();
    other_cert[n - 3] ^= 1;
    assert!(record
        .check_ek_certificate(&other_cert, &policy.trust)
        .is_err());
    assert!(v.attest.clock_info.clock > 0);

    // Wrong nonce.
    let mut other_nonce = nonce;
    other_nonce[0] ^= 1;
    assert_eq!(
        verify_quote(
            &ak_area,
            &quote.attest,
            &quote.signature,
            &quote.pcrs,
            &expect(&other_nonce, &required, None)
        ),
        Err(Error::NonceMismatch)
    );
    // Other AK (same TPM, same EK).
    let blob2 = tpm.create_ak(&ek, ak_type).expect("second AK");
    let other = cuproof_attest::PublicArea::from_tpm2b(&blob2.public).unwrap();
    assert_eq!(
        verify_quote(
            &other,
            &quote.attest,
            &quote.signature,
            &quote.pcrs,
            &expect(&nonce, &required, None)
        ),
        Err(Error::BadSignature)
    );
    // Tampered attest: flip a bit in the clock.
    let mut tampered = quote.attest.clone();
    let n = tampered.len();
    tampered[n - 40] ^= 0x01;
    assert_eq!(
        verify_quote(
            &ak_area,
            &tampered,
            &quote.signature,
            &quote.pcrs,
            &expect(&nonce, &required, None)
        ),
        Err(Error::BadSignature)
    );
    // Wrong PCR value.
    let mut pcrs = quote.pcrs.clone();
    pcrs.last_mut().unwrap().value[0] ^= 0x80;
    assert_eq!(
        verify_quote(
            &ak_area,
            &quote.attest,
            &quote.signature,
            &pcrs,
            &expect(&nonce, &required, None)
        ),
        Err(Error::PcrDigestMismatch)
    );
    // Selection other than required.
    assert!(matches!(
        verify_quote(
            &ak_area,
            &quote.attest,
            &quote.signature,
            &quote.pcrs,
            &expect(&nonce, &required[..3], None)
        ),
        Err(Error::PcrSelectionMismatch(_))
    ));
    // Wrong qualified signer.
    assert_eq!(
        verify_quote(
            &ak_area,
            &quote.attest,
            &quote.signature,
            &quote.pcrs,
            &expect(&nonce, &required, Some(&record.ak_name))
        ),
        Err(Error::QualifiedSignerMismatch)
    );
    // A wrong activated credential is refused.
    assert_eq!(
        pending.finish(
            &EnrollmentResponse {
                credential: vec![0u8; 32]
            },
            0
        ),
        Err(Error::CredentialMismatch)
    );
    tpm.unload_ak(ak).unwrap();
    tpm.unload_ek(ek).unwrap();
}

#[test]
fn rsa_ek_rsa_ak_end_to_end() {
    enroll_and_quote(EkType::Rsa2048, AkType::Rsa2048Sha256);
}

#[test]
fn p384_ek_ecc_ak_end_to_end() {
    enroll_and_quote(EkType::EccP384, AkType::EccP256Sha256);
}
