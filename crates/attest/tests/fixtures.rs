//! Offline checks on evidence captured from a real (software) TPM: swtpm 0.7.1 / libtpms,
//! EK certificates from a swtpm local CA, AKs made by cuproof-tpm, quotes over PCRs 0-7 and 23.

use cuproof_attest::enroll::{check_ak_attributes, check_ek_attributes};
use cuproof_attest::pcr::replay;
use cuproof_attest::{
    verify_quote, Cert, EkTrust, Error, HashAlg, PublicArea, QuoteExpectations, TpmKind,
};

fn data(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Fixture {
    ek: PublicArea,
    ek_cert: Vec<u8>,
    ak: PublicArea,
    attest: Vec<u8>,
    sig: Vec<u8>,
    pcrs: Vec<cuproof_attest::PcrValue>,
    nonce: [u8; 32],
}

fn fixture(tag: &str) -> Fixture {
    let (_, pcrs) =
        cuproof_attest::tpm2tools::parse_pcr_file(&data(&format!("quote_{tag}.pcrs"))).unwrap();
    Fixture {
        ek: PublicArea::from_tpm2b(&data(&format!("ek_{tag}.pub"))).unwrap(),
        ek_cert: data(&format!("ek_{tag}.der")),
        ak: PublicArea::from_tpm2b(&data(&format!("ak_{tag}.pub"))).unwrap(),
        attest: data(&format!("quote_{tag}.attest")),
        sig: data(&format!("quote_{tag}.sig")),
        pcrs,
        nonce: cuproof_attest::alg::sha256(tag.as_bytes()),
    }
}

fn required() -> Vec<(HashAlg, u8)> {
    [0u8, 1, 2, 3, 4, 5, 6, 7, 23]
        .iter()
        .map(|&p| (HashAlg::Sha256, p))
        .collect()
}

fn check(f: &Fixture, attest: &[u8], sig: &[u8]) -> cuproof_attest::Result<()> {
    let req = required();
    let qn = f.ak.qualified_name_under_ek(&f.ek);
    verify_quote(
        &f.ak,
        attest,
        sig,
        &f.pcrs,
        &QuoteExpectations {
            qualifying_data: &f.nonce,
            required_pcrs: &req,
            qualified_signer: Some(&qn),
            signature_policy: Default::default(),
        },
    )
    .map(|_| ())
}

#[test]
fn real_quotes_verify_offline() {
    for tag in ["rsa", "ecc"] {
        let f = fixture(tag);
        check(&f, &f.attest, &f.sig).unwrap_or_else(|e| panic!("{tag}: {e}"));
        let v = verify_quote(
            &f.ak,
            &f.attest,
            &f.sig,
            &f.pcrs,
            &QuoteExpectations {
                qualifying_data: &f.nonce,
                required_pcrs: &required(),
                qualified_signer: None,
                signature_policy: Default::default(),
            },
        )
        .unwrap();
        let expected = replay(
            HashAlg::Sha256,
            &[
                &cuproof_attest::alg::sha256(b"fixture-0"),
                &cuproof_attest::alg::sha256(b"fixture-1"),
            ],
        );
        assert_eq!(v.pcr(HashAlg::Sha256, 23).unwrap(), expected.as_slice());
        assert!(v.attest.clock_info.safe);
        check_ak_attributes(&f.ak).unwrap();
        check_ek_attributes(&f.ek).unwrap();
        assert!(check_ak_attributes(&f.ek).is_err());
    }
}

#[test]
fn ek_certificates_chain_to_the_local_ca() {
    let mut trust = EkTrust::default();
    trust
        .add_roots(&data("ca_root.pem"), TpmKind::Software)
        .unwrap();
    trust
        .add_intermediates(&data("ca_intermediate.pem"))
        .unwrap();
    for tag in ["rsa", "ecc"] {
        let f = fixture(tag);
        let cert = Cert::from_der(&f.ek_cert).unwrap();
        assert!(cert.key_matches(&f.ek).unwrap(), "{tag}: cert key = EK");
        assert!(!cert.key_matches(&f.ak).unwrap());
        assert_eq!(trust.verify_chain(&cert).unwrap(), TpmKind::Software);
        // Trailing byte after the DER: refused.
        let mut der = f.ek_cert.clone();
        der.push(0);
        assert!(Cert::from_der(&der).is_err());
        // Signature bit flipped: chain check fails.
        let mut der = f.ek_cert.clone();
        let n = der.len();
        der[n - 5] ^= 1;
        let bad = Cert::from_der(&der).unwrap();
        assert!(matches!(trust.verify_chain(&bad), Err(Error::EkChain(_))));
    }
    let other = fixture("rsa");
    let ecc = fixture("ecc");
    assert!(!Cert::from_der(&other.ek_cert)
        .unwrap()
        .key_matches(&ecc.ek)
        .unwrap());
}

#[test]
fn every_single_bit_flip_of_attest_and_signature_is_rejected() {
    for tag in ["rsa", "ecc"] {
        let f = fixture(tag);
        for i in 0..f.attest.len() * 8 {
            let mut a = f.attest.clone();
            a[i / 8] ^= 1 << (i % 8);
            assert!(
                check(&f, &a, &f.sig).is_err(),
                "{tag}: attest bit {i} accepted"
            );
        }
        for i in 0..f.sig.len() * 8 {
            let mut s = f.sig.clone();
            s[i / 8] ^= 1 << (i % 8);
            assert!(
                check(&f, &f.attest, &s).is_err(),
                "{tag}: sig bit {i} accepted"
            );
        }
        for k in 0..f.pcrs.len() {
            let mut g = fixture(tag);
            g.pcrs[k].value[31] ^= 1;
            assert_eq!(check(&g, &g.attest, &g.sig), Err(Error::PcrDigestMismatch));
        }
    }
}

#[test]
fn quote_checks_come_after_the_signature() {
    let f = fixture("rsa");
    // Another AK's key: the signature fails before anything in the attest is looked at.
    let e = fixture("ecc");
    let r = verify_quote(
        &e.ak,
        &f.attest,
        &f.sig,
        &f.pcrs,
        &QuoteExpectations {
            qualifying_data: &f.nonce,
            required_pcrs: &required(),
            qualified_signer: None,
            signature_policy: Default::default(),
        },
    );
    assert!(matches!(r, Err(Error::KeyMismatch(_))), "{r:?}");
    // Hash not on the allow-list.
    let r = verify_quote(
        &f.ak,
        &f.attest,
        &f.sig,
        &f.pcrs,
        &QuoteExpectations {
            qualifying_data: &f.nonce,
            required_pcrs: &required(),
            qualified_signer: None,
            signature_policy: cuproof_attest::SignaturePolicy {
                schemes: vec![cuproof_attest::alg::TPM_ALG_RSASSA],
                hashes: vec![HashAlg::Sha384],
            },
        },
    );
    assert!(matches!(r, Err(Error::SchemeNotAllowed { .. })), "{r:?}");
    // Missing / extra PCR values.
    let mut g = fixture("rsa");
    g.pcrs.pop();
    assert!(matches!(
        check(&g, &g.attest, &g.sig),
        Err(Error::PcrValuesMismatch(_))
    ));
    let mut g = fixture("rsa");
    let dup = g.pcrs[0].clone();
    g.pcrs.push(dup);
    assert!(matches!(
        check(&g, &g.attest, &g.sig),
        Err(Error::PcrValuesMismatch(_))
    ));
}
