//! Parser bounds and strictness on hand-made inputs.

use cuproof_attest::alg::*;
use cuproof_attest::pcr::PcrSelection;
use cuproof_attest::public::{attrs, KeyParams, Scheme, SymDef};
use cuproof_attest::wire::{put_tpm2b, put_u16, put_u32, untpm2b};
use cuproof_attest::{Attest, Error, HashAlg, PublicArea, Signature};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn pcr_selection_bounds() {
    let mut b = Vec::new();
    put_u32(&mut b, 9);
    assert!(matches!(
        PcrSelection::parse(&b),
        Err(Error::SizeOutOfRange { .. })
    ));
    let mut b = Vec::new();
    put_u32(&mut b, 1);
    put_u16(&mut b, TPM_ALG_SHA256);
    b.push(5);
    b.extend_from_slice(&[0xff; 5]);
    assert!(matches!(
        PcrSelection::parse(&b),
        Err(Error::SizeOutOfRange { .. })
    ));
    let s = PcrSelection::single(HashAlg::Sha256, &[23, 0, 7, 7]).unwrap();
    assert_eq!(s.banks[0].pcrs, vec![0, 7, 23]);
    let mut bytes = s.to_bytes();
    assert_eq!(PcrSelection::parse(&bytes).unwrap(), s);
    bytes.push(0);
    assert!(matches!(
        PcrSelection::parse(&bytes),
        Err(Error::TrailingBytes { .. })
    ));
    assert!(PcrSelection::single(HashAlg::Sha256, &[32]).is_err());
}

#[test]
fn public_area_strictness() {
    let ak = data("ak_rsa.pub");
    let area = PublicArea::from_tpm2b(&ak).unwrap();
    assert_eq!(area.tpm2b_bytes(), ak);
    // Size prefix too large / too small / trailing.
    let mut v = ak.clone();
    v.push(0);
    assert!(PublicArea::from_tpm2b(&v).is_err());
    let mut v = ak.clone();
    v[1] = v[1].wrapping_sub(1);
    assert!(PublicArea::from_tpm2b(&v).is_err());
    assert!(PublicArea::from_tpm2b(&ak[..ak.len() - 1]).is_err());
    // Reserved attribute bit.
    let mut v = ak.clone();
    v[2 + 4 + 3] |= 1; // bit 0 of objectAttributes
    assert!(matches!(
        PublicArea::from_tpm2b(&v),
        Err(Error::Invalid { .. })
    ));
    // Modulus length not matching keyBits.
    let r = PublicArea::build(
        HashAlg::Sha256,
        attrs::SIGN_ENCRYPT,
        &[],
        KeyParams::Rsa {
            symmetric: SymDef {
                alg: TPM_ALG_NULL,
                key_bits: 0,
                mode: TPM_ALG_NULL,
            },
            scheme: Scheme {
                scheme: TPM_ALG_NULL,
                hash: TPM_ALG_NULL,
                count: 0,
            },
            key_bits: 2048,
            exponent: 0,
            modulus: vec![0xc5; 128],
        },
    );
    assert!(r.is_err());
    // authPolicy of the wrong length for the nameAlg.
    let r = PublicArea::build(
        HashAlg::Sha256,
        attrs::SIGN_ENCRYPT,
        &[1; 20],
        KeyParams::Rsa {
            symmetric: SymDef {
                alg: TPM_ALG_NULL,
                key_bits: 0,
                mode: TPM_ALG_NULL,
            },
            scheme: Scheme {
                scheme: TPM_ALG_NULL,
                hash: TPM_ALG_NULL,
                count: 0,
            },
            key_bits: 2048,
            exponent: 0,
            modulus: vec![0xc5; 256],
        },
    );
    assert!(r.is_err());
    // Names: tpm2-tools' name of the fixture AK is nameAlg ‖ SHA-256(TPMT_PUBLIC).
    let name = area.name();
    assert_eq!(&name[..2], &[0x00, 0x0b]);
    assert_eq!(
        &name[2..],
        HashAlg::Sha256.digest(area.tpmt_bytes()).as_slice()
    );
    let mut n = Vec::new();
    put_tpm2b(&mut n, "n", &name).unwrap();
    assert_eq!(cuproof_attest::public::parse_tpm2b_name(&n).unwrap(), name);
    let mut n = Vec::new();
    put_tpm2b(&mut n, "n", &name[..33]).unwrap();
    assert!(cuproof_attest::public::parse_tpm2b_name(&n).is_err());
    assert!(untpm2b("x", &[0, 2, 1]).is_err());
}

#[test]
fn attest_and_signature_strictness() {
    let a = data("quote_rsa.attest");
    let parsed = Attest::parse(&a).unwrap();
    assert_eq!(parsed.magic, cuproof_attest::attest::TPM_GENERATED_VALUE);
    let mut v = a.clone();
    v.push(0);
    assert!(matches!(
        Attest::parse(&v),
        Err(Error::TrailingBytes { .. })
    ));
    assert!(matches!(
        Attest::parse(&a[..a.len() - 1]),
        Err(Error::Truncated { .. })
    ));
    assert!(Attest::parse(&vec![0u8; 4096]).is_err());
    let s = data("quote_ecc.sig");
    assert!(matches!(
        Signature::parse(&s).unwrap(),
        Signature::Ecc {
            scheme: TPM_ALG_ECDSA,
            ..
        }
    ));
    assert!(Signature::parse(&s[..s.len() - 1]).is_err());
    assert!(Signature::parse(&[0x00, 0x99]).is_err());
    assert_eq!(Signature::parse(&[0x00, 0x10]).unwrap(), Signature::Null);
}

#[test]
fn node_record_json_is_strict() {
    let ak = data("ak_rsa.pub");
    let ek = data("ek_rsa.pub");
    let name = PublicArea::from_tpm2b(&ak).unwrap().name();
    let rec = cuproof_attest::NodeRecord {
        version: 1,
        ek_public: ek.clone(),
        ek_cert_sha256: Some(sha256(&data("ek_rsa.der")).to_vec()),
        ak_public: ak.clone(),
        ak_name: name.clone(),
        tpm_kind: cuproof_attest::TpmKind::Software,
        enrolled_at: 1,
    };
    let json = rec.to_json().unwrap();
    assert_eq!(cuproof_attest::NodeRecord::from_json(&json).unwrap(), rec);
    // Unknown field.
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["extra"] = serde_json::Value::Bool(true);
    assert!(cuproof_attest::NodeRecord::from_json(&serde_json::to_vec(&v).unwrap()).is_err());
    // AK name not matching the AK.
    let mut bad = rec.clone();
    bad.ak_name[5] ^= 1;
    assert!(cuproof_attest::NodeRecord::from_json(&bad.to_json().unwrap()).is_err());
    // EK in the AK slot.
    let mut bad = rec.clone();
    bad.ak_public = ek;
    bad.ak_name = PublicArea::from_tpm2b(&bad.ak_public).unwrap().name();
    assert!(cuproof_attest::NodeRecord::from_json(&bad.to_json().unwrap()).is_err());
    // Record-level quote check on the fixture.
    let (_, pcrs) = cuproof_attest::tpm2tools::parse_pcr_file(&data("quote_rsa.pcrs")).unwrap();
    let req: Vec<_> = [0u8, 1, 2, 3, 4, 5, 6, 7, 23]
        .iter()
        .map(|&p| (HashAlg::Sha256, p))
        .collect();
    rec.verify_quote(
        &data("quote_rsa.attest"),
        &data("quote_rsa.sig"),
        &pcrs,
        &sha256(b"rsa"),
        &req,
    )
    .unwrap();
    let mut trust = cuproof_attest::EkTrust::default();
    trust
        .add_roots(&data("ca_root.pem"), cuproof_attest::TpmKind::Software)
        .unwrap();
    trust
        .add_intermediates(&data("ca_intermediate.pem"))
        .unwrap();
    assert_eq!(
        rec.check_ek_certificate(&data("ek_rsa.der"), &trust)
            .unwrap(),
        cuproof_attest::TpmKind::Software
    );
    assert!(rec
        .check_ek_certificate(&data("ek_ecc.der"), &trust)
        .is_err());
}
