//! Pure-Rust checks with software keys: every signature scheme path, structural rejections
//! after a valid signature, and MakeCredential against an emulated ActivateCredential.

use cuproof_attest::alg::*;
use cuproof_attest::attest::{TPM_GENERATED_VALUE, TPM_ST_ATTEST_CERTIFY, TPM_ST_ATTEST_QUOTE};
use cuproof_attest::credential::{aes_cfb_decrypt, kdfa, kdfe, make_credential};
use cuproof_attest::pcr::{pcr_digest, PcrSelection, PcrValue};
use cuproof_attest::public::{attrs, KeyParams, Scheme, SymDef};
use cuproof_attest::wire::{put_tpm2b, put_u16, put_u32, Reader};
use cuproof_attest::{verify_quote, Error, HashAlg, PublicArea, QuoteExpectations};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::traits::PublicKeyParts;

const AK_ATTRS: u32 = attrs::FIXED_TPM
    | attrs::FIXED_PARENT
    | attrs::SENSITIVE_DATA_ORIGIN
    | attrs::USER_WITH_AUTH
    | attrs::RESTRICTED
    | attrs::SIGN_ENCRYPT;
const EK_ATTRS: u32 = attrs::FIXED_TPM
    | attrs::FIXED_PARENT
    | attrs::SENSITIVE_DATA_ORIGIN
    | attrs::ADMIN_WITH_POLICY
    | attrs::RESTRICTED
    | attrs::DECRYPT;
const NULL_SYM: SymDef = SymDef {
    alg: TPM_ALG_NULL,
    key_bits: 0,
    mode: TPM_ALG_NULL,
};
const AES128: SymDef = SymDef {
    alg: TPM_ALG_AES,
    key_bits: 128,
    mode: TPM_ALG_CFB,
};
fn scheme(s: u16, h: u16) -> Scheme {
    Scheme {
        scheme: s,
        hash: h,
        count: 0,
    }
}

fn rsa_area(key: &rsa::RsaPrivateKey, attributes: u32, sch: Scheme, sym: SymDef) -> PublicArea {
    PublicArea::build(
        HashAlg::Sha256,
        attributes,
        &[],
        KeyParams::Rsa {
            symmetric: sym,
            scheme: sch,
            key_bits: 2048,
            exponent: 0,
            modulus: key.n().to_bytes_be(),
        },
    )
    .unwrap()
}

fn attest_bytes(magic: u32, ty: u16, nonce: &[u8], pcrs: &[PcrValue], trailing: bool) -> Vec<u8> {
    let sel = PcrSelection::single(HashAlg::Sha256, &[23]).unwrap();
    let mut a = Vec::new();
    put_u32(&mut a, magic);
    put_u16(&mut a, ty);
    put_tpm2b(
        &mut a,
        "qs",
        &[
            0x00, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
            22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
        ],
    )
    .unwrap();
    put_tpm2b(&mut a, "extra", nonce).unwrap();
    a.extend_from_slice(&1234u64.to_be_bytes());
    put_u32(&mut a, 5);
    put_u32(&mut a, 0);
    a.push(1);
    a.extend_from_slice(&7u64.to_be_bytes());
    if ty == TPM_ST_ATTEST_QUOTE {
        a.extend_from_slice(&sel.to_bytes());
        put_tpm2b(
            &mut a,
            "d",
            &pcr_digest(HashAlg::Sha256, &sel, pcrs).unwrap(),
        )
        .unwrap();
    } else {
        put_tpm2b(
            &mut a,
            "n",
            &[
                0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0,
            ],
        )
        .unwrap();
        put_tpm2b(&mut a, "qn", &[]).unwrap();
    }
    if trailing {
        a.push(0);
    }
    a
}

fn rsa_sig(alg: u16, sig: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    put_u16(&mut s, alg);
    put_u16(&mut s, TPM_ALG_SHA256);
    put_tpm2b(&mut s, "sig", sig).unwrap();
    s
}

fn pcrs() -> Vec<PcrValue> {
    vec![PcrValue {
        bank: TPM_ALG_SHA256,
        index: 23,
        value: vec![0xab; 32],
    }]
}

fn expect<'a>(nonce: &'a [u8], req: &'a [(HashAlg, u8)]) -> QuoteExpectations<'a> {
    QuoteExpectations {
        qualifying_data: nonce,
        required_pcrs: req,
        qualified_signer: None,
        signature_policy: Default::default(),
    }
}

#[test]
fn rsa_schemes_and_structural_rejections() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let nonce = [9u8; 32];
    let req = [(HashAlg::Sha256, 23u8)];
    let sign_v15 = |msg: &[u8]| {
        key.sign(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &HashAlg::Sha256.digest(msg),
        )
        .unwrap()
    };
    let ak = rsa_area(
        &key,
        AK_ATTRS,
        scheme(TPM_ALG_RSASSA, TPM_ALG_SHA256),
        NULL_SYM,
    );
    let good = attest_bytes(
        TPM_GENERATED_VALUE,
        TPM_ST_ATTEST_QUOTE,
        &nonce,
        &pcrs(),
        false,
    );
    let sig = rsa_sig(TPM_ALG_RSASSA, &sign_v15(&good));
    verify_quote(&ak, &good, &sig, &pcrs(), &expect(&nonce, &req)).unwrap();

    // Validly signed but structurally wrong: each caught after the signature.
    let bad_magic = attest_bytes(0xff544348, TPM_ST_ATTEST_QUOTE, &nonce, &pcrs(), false);
    let s = rsa_sig(TPM_ALG_RSASSA, &sign_v15(&bad_magic));
    assert_eq!(
        verify_quote(&ak, &bad_magic, &s, &pcrs(), &expect(&nonce, &req)),
        Err(Error::BadMagic(0xff544348))
    );
    let certify = attest_bytes(
        TPM_GENERATED_VALUE,
        TPM_ST_ATTEST_CERTIFY,
        &nonce,
        &pcrs(),
        false,
    );
    let s = rsa_sig(TPM_ALG_RSASSA, &sign_v15(&certify));
    assert!(matches!(
        verify_quote(&ak, &certify, &s, &pcrs(), &expect(&nonce, &req)),
        Err(Error::WrongAttestType { .. })
    ));
    let trailing = attest_bytes(
        TPM_GENERATED_VALUE,
        TPM_ST_ATTEST_QUOTE,
        &nonce,
        &pcrs(),
        true,
    );
    let s = rsa_sig(TPM_ALG_RSASSA, &sign_v15(&trailing));
    assert!(matches!(
        verify_quote(&ak, &trailing, &s, &pcrs(), &expect(&nonce, &req)),
        Err(Error::TrailingBytes { .. })
    ));
    // Shorter nonce that is a prefix: still a mismatch.
    assert_eq!(
        verify_quote(&ak, &good, &sig, &pcrs(), &expect(&nonce[..31], &req)),
        Err(Error::NonceMismatch)
    );
    // Signature with trailing bytes.
    let mut s2 = sig.clone();
    s2.push(0);
    assert!(matches!(
        verify_quote(&ak, &good, &s2, &pcrs(), &expect(&nonce, &req)),
        Err(Error::TrailingBytes { .. })
    ));
    // RSASSA key, PSS signature: the key's fixed scheme refuses it.
    let pss = key
        .sign_with_rng(
            &mut rng,
            rsa::Pss::new_with_salt::<sha2::Sha256>(32),
            &HashAlg::Sha256.digest(&good),
        )
        .unwrap();
    assert!(matches!(
        verify_quote(
            &ak,
            &good,
            &rsa_sig(TPM_ALG_RSAPSS, &pss),
            &pcrs(),
            &expect(&nonce, &req)
        ),
        Err(Error::KeyMismatch(_))
    ));
    // PSS key: both digest-length and maximum salt accepted, other salt lengths not.
    let ak_pss = rsa_area(
        &key,
        AK_ATTRS,
        scheme(TPM_ALG_RSAPSS, TPM_ALG_SHA256),
        NULL_SYM,
    );
    let max_salt = 256 - 32 - 2;
    for (salt, ok) in [(32usize, true), (max_salt, true), (20, false)] {
        let s = key
            .sign_with_rng(
                &mut rng,
                rsa::Pss::new_with_salt::<sha2::Sha256>(salt),
                &HashAlg::Sha256.digest(&good),
            )
            .unwrap();
        let r = verify_quote(
            &ak_pss,
            &good,
            &rsa_sig(TPM_ALG_RSAPSS, &s),
            &pcrs(),
            &expect(&nonce, &req),
        );
        assert_eq!(r.is_ok(), ok, "salt {salt}: {r:?}");
    }
    // SHA-1 is refused by the default allow-list, even for a key that fixes SHA-1.
    let ak_sha1 = rsa_area(
        &key,
        AK_ATTRS,
        scheme(TPM_ALG_RSASSA, TPM_ALG_SHA1),
        NULL_SYM,
    );
    let s1 = key
        .sign(
            rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            &HashAlg::Sha1.digest(&good),
        )
        .unwrap();
    let mut sig1 = Vec::new();
    put_u16(&mut sig1, TPM_ALG_RSASSA);
    put_u16(&mut sig1, TPM_ALG_SHA1);
    put_tpm2b(&mut sig1, "s", &s1).unwrap();
    assert!(matches!(
        verify_quote(&ak_sha1, &good, &sig1, &pcrs(), &expect(&nonce, &req)),
        Err(Error::SchemeNotAllowed { .. })
    ));
    // HMAC and NULL signatures are refused.
    let mut h = Vec::new();
    put_u16(&mut h, TPM_ALG_HMAC);
    put_u16(&mut h, TPM_ALG_SHA256);
    h.extend_from_slice(&[0u8; 32]);
    assert!(matches!(
        verify_quote(&ak, &good, &h, &pcrs(), &expect(&nonce, &req)),
        Err(Error::SchemeNotAllowed { .. })
    ));
    assert!(matches!(
        verify_quote(&ak, &good, &[0x00, 0x10], &pcrs(), &expect(&nonce, &req)),
        Err(Error::SchemeNotAllowed { .. })
    ));
}

#[test]
fn ecdsa_p256_and_p384() {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let nonce = [1u8; 16];
    let req = [(HashAlg::Sha256, 23u8)];
    let good = attest_bytes(
        TPM_GENERATED_VALUE,
        TPM_ST_ATTEST_QUOTE,
        &nonce,
        &pcrs(),
        false,
    );
    let digest = HashAlg::Sha256.digest(&good);
    let ecc_area = |curve: u16, x: &[u8], y: &[u8]| {
        PublicArea::build(
            HashAlg::Sha256,
            AK_ATTRS,
            &[],
            KeyParams::Ecc {
                symmetric: NULL_SYM,
                scheme: scheme(TPM_ALG_ECDSA, TPM_ALG_SHA256),
                curve,
                kdf: scheme(TPM_ALG_NULL, TPM_ALG_NULL),
                x: x.to_vec(),
                y: y.to_vec(),
            },
        )
        .unwrap()
    };
    let ecc_sig = |r: &[u8], s: &[u8]| {
        let mut v = Vec::new();
        put_u16(&mut v, TPM_ALG_ECDSA);
        put_u16(&mut v, TPM_ALG_SHA256);
        put_tpm2b(&mut v, "r", r).unwrap();
        put_tpm2b(&mut v, "s", s).unwrap();
        v
    };
    // P-256
    let sk = p256::ecdsa::SigningKey::random(&mut rng);
    let pt = p256::EncodedPoint::from(sk.verifying_key());
    let ak = ecc_area(TPM_ECC_NIST_P256, pt.x().unwrap(), pt.y().unwrap());
    let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
    let (r, s) = sig.split_bytes();
    verify_quote(&ak, &good, &ecc_sig(&r, &s), &pcrs(), &expect(&nonce, &req)).unwrap();
    // Swapped r/s fails.
    assert_eq!(
        verify_quote(&ak, &good, &ecc_sig(&s, &r), &pcrs(), &expect(&nonce, &req)),
        Err(Error::BadSignature)
    );
    // P-384 key with a SHA-256 ECDSA scheme.
    let sk = p384::ecdsa::SigningKey::random(&mut rng);
    let pt = p384::EncodedPoint::from(sk.verifying_key());
    let ak = ecc_area(TPM_ECC_NIST_P384, pt.x().unwrap(), pt.y().unwrap());
    let sig: p384::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
    let (r, s) = sig.split_bytes();
    verify_quote(&ak, &good, &ecc_sig(&r, &s), &pcrs(), &expect(&nonce, &req)).unwrap();
    // Point not on the curve.
    let bad = ecc_area(TPM_ECC_NIST_P384, &[1u8; 48], &[2u8; 48]);
    assert!(verify_quote(
        &bad,
        &good,
        &ecc_sig(&r, &s),
        &pcrs(),
        &expect(&nonce, &req)
    )
    .is_err());
}

/// Emulate TPM2_ActivateCredential in software (what the TPM does with the EK private key).
fn activate(
    name_alg: HashAlg,
    seed: &[u8],
    sym_bits: u32,
    ak_name: &[u8],
    id_object: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let mut r = Reader::new(id_object);
    let inner = r.tpm2b("id", 4096).map_err(|_| "id")?;
    let mut r = Reader::new(inner);
    let hmac = r.tpm2b("hmac", 64).map_err(|_| "hmac")?;
    let enc = r.take(r.remaining(), "enc").map_err(|_| "enc")?;
    let hmac_key = kdfa(
        name_alg,
        seed,
        "INTEGRITY",
        &[],
        &[],
        (name_alg.size() * 8) as u32,
    );
    if name_alg.hmac_parts(&hmac_key, &[enc, ak_name]) != hmac {
        return Err("integrity");
    }
    let key = kdfa(name_alg, seed, "STORAGE", ak_name, &[], sym_bits);
    let mut dec = enc.to_vec();
    aes_cfb_decrypt(&key, &mut dec).map_err(|_| "aes")?;
    let mut r = Reader::new(&dec);
    let cred = r.tpm2b("cred", 64).map_err(|_| "cred")?.to_vec();
    r.finish("cred").map_err(|_| "cred trailing")?;
    Ok(cred)
}

#[test]
fn make_credential_roundtrip_rsa_and_ecc() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let ak_name = {
        let mut n = vec![0x00, 0x0b];
        n.extend_from_slice(&[0x42; 32]);
        n
    };
    let credential = [0x5cu8; 32];
    // RSA EK.
    let ek_key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let ek = rsa_area(
        &ek_key,
        EK_ATTRS,
        scheme(TPM_ALG_NULL, TPM_ALG_NULL),
        AES128,
    );
    let blob = make_credential(&ek, &ak_name, &credential, &mut rng).unwrap();
    let mut r = Reader::new(&blob.encrypted_secret);
    let ct = r.tpm2b("s", 512).unwrap();
    let seed = ek_key
        .decrypt(
            rsa::Oaep::new_with_label::<sha2::Sha256, _>("IDENTITY\0"),
            ct,
        )
        .unwrap();
    assert_eq!(seed.len(), 32);
    assert_eq!(
        activate(HashAlg::Sha256, &seed, 128, &ak_name, &blob.id_object).unwrap(),
        credential
    );
    let mut other = ak_name.clone();
    other[5] ^= 1;
    assert_eq!(
        activate(HashAlg::Sha256, &seed, 128, &other, &blob.id_object),
        Err("integrity")
    );
    // ECC P-256 EK: the TPM side recomputes Z with its private scalar.
    let ek_sk = p256::SecretKey::random(&mut rng);
    let pt = p256::EncodedPoint::from(ek_sk.public_key());
    let ek = PublicArea::build(
        HashAlg::Sha256,
        EK_ATTRS,
        &[],
        KeyParams::Ecc {
            symmetric: AES128,
            scheme: scheme(TPM_ALG_NULL, TPM_ALG_NULL),
            curve: TPM_ECC_NIST_P256,
            kdf: scheme(TPM_ALG_NULL, TPM_ALG_NULL),
            x: pt.x().unwrap().to_vec(),
            y: pt.y().unwrap().to_vec(),
        },
    )
    .unwrap();
    let blob = make_credential(&ek, &ak_name, &credential, &mut rng).unwrap();
    let mut r = Reader::new(&blob.encrypted_secret);
    let point = r.tpm2b("s", 256).unwrap();
    let mut r = Reader::new(point);
    let ex = r.tpm2b("x", 66).unwrap();
    let ey = r.tpm2b("y", 66).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(ex);
    sec1.extend_from_slice(ey);
    let eph = p256::PublicKey::from_sec1_bytes(&sec1).unwrap();
    let z = p256::ecdh::diffie_hellman(ek_sk.to_nonzero_scalar(), eph.as_affine());
    let seed = kdfe(
        HashAlg::Sha256,
        z.raw_secret_bytes(),
        "IDENTITY",
        ex,
        pt.x().unwrap(),
        256,
    );
    assert_eq!(
        activate(HashAlg::Sha256, &seed, 128, &ak_name, &blob.id_object).unwrap(),
        credential
    );
    // Credential longer than the EK's digest: refused.
    assert!(make_credential(&ek, &ak_name, &[0u8; 33], &mut rng).is_err());
    assert!(make_credential(&ek, &ak_name, &[], &mut rng).is_err());
    // EK without AES-CFB: refused.
    let ek_nosym = rsa_area(
        &ek_key,
        EK_ATTRS,
        scheme(TPM_ALG_NULL, TPM_ALG_NULL),
        NULL_SYM,
    );
    assert!(make_credential(&ek_nosym, &ak_name, &credential, &mut rng).is_err());
}

#[test]
fn kdfa_properties() {
    // Length, truncation, label and context separation.
    let k = kdfa(HashAlg::Sha256, b"key", "STORAGE", b"u", b"v", 128);
    assert_eq!(k.len(), 16);
    let long = kdfa(HashAlg::Sha256, b"key", "STORAGE", b"u", b"v", 512);
    assert_eq!(long.len(), 64);
    assert_ne!(
        k,
        long[..16].to_vec(),
        "bit length is an input of every block"
    );
    assert_ne!(
        k,
        kdfa(HashAlg::Sha256, b"key", "INTEGRITY", b"u", b"v", 128)
    );
    assert_ne!(k, kdfa(HashAlg::Sha256, b"key", "STORAGE", b"v", b"u", 128));
    let odd = kdfa(HashAlg::Sha256, b"key", "X", b"", b"", 12);
    assert_eq!(odd.len(), 2);
    assert!(odd[0] < 16);
}
