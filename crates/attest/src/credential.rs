//! Registrar-side TPM2_MakeCredential in pure Rust (TPM 2.0 Part 1, "Credential Protection").

use crate::alg::*;
use crate::error::{Error, Result};
use crate::public::{KeyParams, PublicArea};
use crate::wire::{put_tpm2b, tpm2b};
use p256::elliptic_curve::ecdh::EphemeralSecret;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ModulusSize, ToEncodedPoint};
use p256::elliptic_curve::{AffinePoint, CurveArithmetic, FieldBytes, FieldBytesSize, PublicKey};
use rand::{CryptoRng, RngCore};

/// KDFa (SP 800-108 counter mode with HMAC), as the TPM uses it:
/// K_i = HMAC(key, i ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ bits), concatenated and truncated.
pub fn kdfa(
    hash: HashAlg,
    key: &[u8],
    label: &str,
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(bytes + hash.size());
    let mut counter: u32 = 1;
    while out.len() < bytes {
        let k = hash.hmac_parts(
            key,
            &[
                &counter.to_be_bytes(),
                label.as_bytes(),
                &[0u8],
                context_u,
                context_v,
                &bits.to_be_bytes(),
            ],
        );
        out.extend_from_slice(&k);
        counter = counter.wrapping_add(1);
    }
    out.truncate(bytes);
    if bits & 7 != 0 {
        if let Some(first) = out.first_mut() {
            *first &= (1u8 << (bits % 8)) - 1;
        }
    }
    out
}

/// KDFe (SP 800-56A concatenation KDF), as the TPM uses it:
/// K_i = H(i ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo), concatenated and truncated.
pub fn kdfe(
    hash: HashAlg,
    z: &[u8],
    label: &str,
    party_u: &[u8],
    party_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(bytes + hash.size());
    let mut counter: u32 = 1;
    while out.len() < bytes {
        let k = hash.digest_parts(&[
            &counter.to_be_bytes(),
            z,
            label.as_bytes(),
            &[0u8],
            party_u,
            party_v,
        ]);
        out.extend_from_slice(&k);
        counter = counter.wrapping_add(1);
    }
    out.truncate(bytes);
    out
}

/// The two blobs that TPM2_ActivateCredential takes, each marshalled with its u16 size prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialBlob {
    /// TPM2B_ID_OBJECT (integrityHMAC ‖ encIdentity).
    pub id_object: Vec<u8>,
    /// TPM2B_ENCRYPTED_SECRET (RSA-OAEP ciphertext or ECC ephemeral point).
    pub encrypted_secret: Vec<u8>,
}

/// Largest credential (TPM2B_DIGEST).
pub const MAX_CREDENTIAL: usize = 64;

fn aes_cfb_encrypt(key: &[u8], data: &mut [u8]) -> Result<()> {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let iv = [0u8; 16];
    match key.len() {
        16 => cfb_mode::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map_err(|e| Error::Crypto(format!("AES-128-CFB: {e}")))?
            .encrypt(data),
        24 => cfb_mode::Encryptor::<aes::Aes192>::new_from_slices(key, &iv)
            .map_err(|e| Error::Crypto(format!("AES-192-CFB: {e}")))?
            .encrypt(data),
        32 => cfb_mode::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map_err(|e| Error::Crypto(format!("AES-256-CFB: {e}")))?
            .encrypt(data),
        n => return Err(Error::Crypto(format!("AES key of {n} bytes"))),
    }
    Ok(())
}

/// Decrypt AES-CFB with a zero IV (used by tests that emulate ActivateCredential).
pub fn aes_cfb_decrypt(key: &[u8], data: &mut [u8]) -> Result<()> {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let iv = [0u8; 16];
    match key.len() {
        16 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map_err(|e| Error::Crypto(format!("AES-128-CFB: {e}")))?
            .decrypt(data),
        24 => cfb_mode::Decryptor::<aes::Aes192>::new_from_slices(key, &iv)
            .map_err(|e| Error::Crypto(format!("AES-192-CFB: {e}")))?
            .decrypt(data),
        32 => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map_err(|e| Error::Crypto(format!("AES-256-CFB: {e}")))?
            .decrypt(data),
        n => return Err(Error::Crypto(format!("AES key of {n} bytes"))),
    }
    Ok(())
}

/// Produce the seed and its encryption to the EK.
fn secret_to_ek<R: RngCore + CryptoRng>(
    ek: &PublicArea,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let name_alg = ek.name_alg;
    match &ek.params {
        KeyParams::Rsa { .. } => {
            let pk = ek.rsa_public_key()?;
            let mut seed = vec![0u8; name_alg.size()];
            rng.fill_bytes(&mut seed);
            let label = "IDENTITY\0".to_string();
            let padding = match name_alg {
                HashAlg::Sha1 => rsa::Oaep::new_with_label::<sha1::Sha1, _>(label),
                HashAlg::Sha256 => rsa::Oaep::new_with_label::<sha2::Sha256, _>(label),
                HashAlg::Sha384 => rsa::Oaep::new_with_label::<sha2::Sha384, _>(label),
                HashAlg::Sha512 => rsa::Oaep::new_with_label::<sha2::Sha512, _>(label),
            };
            let ct = pk
                .encrypt(rng, padding, &seed)
                .map_err(|e| Error::Crypto(format!("RSA-OAEP: {e}")))?;
            Ok((seed, ct))
        }
        KeyParams::Ecc { curve, .. } => {
            let (_, point) = ek.ecc_point()?;
            match *curve {
                TPM_ECC_NIST_P256 => {
                    ecc_secret_to_ek::<p256::NistP256, R>(name_alg, &point, "P-256", rng)
                }
                TPM_ECC_NIST_P384 => {
                    ecc_secret_to_ek::<p384::NistP384, R>(name_alg, &point, "P-384", rng)
                }
                other => Err(Error::UnsupportedAlgorithm {
                    what: "EK curve",
                    alg: other,
                }),
            }
        }
    }
}

/// The ECC half of [`secret_to_ek`] for one curve (TPM 2.0 Part 1, "ECDH-based secret sharing"): an
/// ephemeral key pair `(d_e, Q_e)`, `Z = x(d_e · Q_EK)`, seed = KDFe(nameAlg, Z, "IDENTITY", x(Q_e), x(Q_EK)),
/// and the encrypted secret is the TPMS_ECC_POINT `Q_e` (x and y, each a TPM2B of the field size).
fn ecc_secret_to_ek<C, R>(
    name_alg: HashAlg,
    ek_point: &[u8],
    curve_name: &str,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromEncodedPoint<C> + ToEncodedPoint<C>,
    FieldBytesSize<C>: ModulusSize,
    R: RngCore + CryptoRng,
{
    let ek_pub = PublicKey::<C>::from_sec1_bytes(ek_point)
        .map_err(|_| Error::Crypto(format!("EK point not on {curve_name}")))?;
    let eph = EphemeralSecret::<C>::random(rng);
    let eph_pub = eph.public_key().to_encoded_point(false);
    let shared = eph.diffie_hellman(&ek_pub);
    let coord = |p: Option<&FieldBytes<C>>| p.map(|v| v.to_vec()).unwrap_or_default();
    let (ex, ey) = (coord(eph_pub.x()), coord(eph_pub.y()));
    // x(Q_EK) as the field-size big-endian string: the uncompressed re-encoding of the parsed point carries
    // exactly the bytes `ecc_point` wrote after its 0x04.
    let ek_x = coord(ek_pub.to_encoded_point(false).x());
    let seed = kdfe(
        name_alg,
        shared.raw_secret_bytes(),
        "IDENTITY",
        &ex,
        &ek_x,
        (name_alg.size() * 8) as u32,
    );
    let mut enc = Vec::new();
    put_tpm2b(&mut enc, "ECC point x", &ex)?;
    put_tpm2b(&mut enc, "ECC point y", &ey)?;
    Ok((seed, enc))
}

/// TPM2_MakeCredential: protect `credential` so that only the TPM holding `ek` can recover it,
/// and only for the object named `object_name` (the AK's Name) loaded in that same TPM.
pub fn make_credential<R: RngCore + CryptoRng>(
    ek: &PublicArea,
    object_name: &[u8],
    credential: &[u8],
    rng: &mut R,
) -> Result<CredentialBlob> {
    if credential.is_empty() || credential.len() > ek.name_alg.size() {
        return Err(Error::SizeOutOfRange {
            what: "credential",
            size: credential.len(),
            max: ek.name_alg.size(),
        });
    }
    crate::public::check_name(object_name)?;
    let sym = ek.symmetric();
    if sym.alg != TPM_ALG_AES || sym.mode != TPM_ALG_CFB {
        return Err(Error::UnsupportedAlgorithm {
            what: "EK symmetric (need AES-CFB)",
            alg: sym.alg,
        });
    }
    let (seed, encrypted_secret) = secret_to_ek(ek, rng)?;
    let name_alg = ek.name_alg;
    let sym_key = kdfa(
        name_alg,
        &seed,
        "STORAGE",
        object_name,
        &[],
        sym.key_bits as u32,
    );
    let mut enc_identity = tpm2b("credential", credential)?;
    aes_cfb_encrypt(&sym_key, &mut enc_identity)?;
    let hmac_key = kdfa(
        name_alg,
        &seed,
        "INTEGRITY",
        &[],
        &[],
        (name_alg.size() * 8) as u32,
    );
    let outer_hmac = name_alg.hmac_parts(&hmac_key, &[&enc_identity, object_name]);
    let mut id = Vec::new();
    put_tpm2b(&mut id, "integrityHMAC", &outer_hmac)?;
    id.extend_from_slice(&enc_identity);
    Ok(CredentialBlob {
        id_object: tpm2b("TPM2B_ID_OBJECT", &id)?,
        encrypted_secret: tpm2b("TPM2B_ENCRYPTED_SECRET", &encrypted_secret)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::public::{attrs, Scheme, SymDef};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use sha2::Digest;

    const EK_ATTRS: u32 = attrs::FIXED_TPM
        | attrs::FIXED_PARENT
        | attrs::SENSITIVE_DATA_ORIGIN
        | attrs::ADMIN_WITH_POLICY
        | attrs::RESTRICTED
        | attrs::DECRYPT;
    const NULL_SCHEME: Scheme = Scheme {
        scheme: TPM_ALG_NULL,
        hash: TPM_ALG_NULL,
        count: 0,
    };

    fn ecc_ek(name_alg: HashAlg, curve: u16, key_bits: u16, x: &[u8], y: &[u8]) -> PublicArea {
        PublicArea::build(
            name_alg,
            EK_ATTRS,
            &[],
            KeyParams::Ecc {
                symmetric: SymDef {
                    alg: TPM_ALG_AES,
                    key_bits,
                    mode: TPM_ALG_CFB,
                },
                scheme: NULL_SCHEME,
                curve,
                kdf: NULL_SCHEME,
                x: x.to_vec(),
                y: y.to_vec(),
            },
        )
        .unwrap()
    }

    fn ak_name(name_alg: HashAlg) -> Vec<u8> {
        let mut n = match name_alg {
            HashAlg::Sha384 => vec![0x00, 0x0c],
            _ => vec![0x00, 0x0b],
        };
        n.extend_from_slice(&vec![0x42; name_alg.size()]);
        n
    }

    /// TPM side of ActivateCredential: integrity check, then decrypt the credential.
    fn activate(name_alg: HashAlg, seed: &[u8], sym_bits: u32, name: &[u8], id: &[u8]) -> Vec<u8> {
        let mut r = crate::wire::Reader::new(id);
        let inner = r.tpm2b("id", 4096).unwrap();
        let mut r = crate::wire::Reader::new(inner);
        let hmac = r.tpm2b("hmac", 64).unwrap().to_vec();
        let enc = r.take(r.remaining(), "enc").unwrap();
        let hmac_key = kdfa(
            name_alg,
            seed,
            "INTEGRITY",
            &[],
            &[],
            (name_alg.size() * 8) as u32,
        );
        assert_eq!(name_alg.hmac_parts(&hmac_key, &[enc, name]), hmac);
        let key = kdfa(name_alg, seed, "STORAGE", name, &[], sym_bits);
        let mut dec = enc.to_vec();
        aes_cfb_decrypt(&key, &mut dec).unwrap();
        let mut r = crate::wire::Reader::new(&dec);
        r.tpm2b("cred", 64).unwrap().to_vec()
    }

    /// The ephemeral point `(x, y)` of an ECC encrypted secret.
    fn eph_point(blob: &CredentialBlob) -> (Vec<u8>, Vec<u8>) {
        let mut r = crate::wire::Reader::new(&blob.encrypted_secret);
        let point = r.tpm2b("s", 256).unwrap();
        let mut r = crate::wire::Reader::new(point);
        let x = r.tpm2b("x", 66).unwrap().to_vec();
        let y = r.tpm2b("y", 66).unwrap().to_vec();
        (x, y)
    }

    fn fingerprint(blob: &CredentialBlob) -> String {
        let mut h = sha2::Sha256::new();
        h.update(&blob.id_object);
        h.update(&blob.encrypted_secret);
        hex::encode(h.finalize())
    }

    /// P-256 and P-384 EKs: the TPM side (EK private scalar) recovers the credential, and the blobs made from a
    /// seeded RNG are byte for byte those of the implementation before the two curve branches were merged.
    #[test]
    fn ecc_make_credential_roundtrip_and_known_answers() {
        let credential = [0x5cu8; 32];
        let mut fps = Vec::new();
        for (name_alg, sym_bits) in [(HashAlg::Sha256, 128u16), (HashAlg::Sha384, 256)] {
            let name = ak_name(name_alg);
            // P-256.
            let mut rng = ChaCha20Rng::seed_from_u64(256);
            let sk = p256::SecretKey::random(&mut rng);
            let pt = p256::EncodedPoint::from(sk.public_key());
            let ek = ecc_ek(
                name_alg,
                TPM_ECC_NIST_P256,
                sym_bits,
                pt.x().unwrap(),
                pt.y().unwrap(),
            );
            let blob = make_credential(&ek, &name, &credential, &mut rng).unwrap();
            let (ex, ey) = eph_point(&blob);
            let eph = p256::PublicKey::from_sec1_bytes(&[&[4u8][..], &ex, &ey].concat()).unwrap();
            let z = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), eph.as_affine());
            let bits = (name_alg.size() * 8) as u32;
            let seed = kdfe(
                name_alg,
                z.raw_secret_bytes(),
                "IDENTITY",
                &ex,
                pt.x().unwrap(),
                bits,
            );
            assert_eq!(
                activate(name_alg, &seed, sym_bits.into(), &name, &blob.id_object),
                credential
            );
            fps.push(fingerprint(&blob));
            // P-384.
            let mut rng = ChaCha20Rng::seed_from_u64(384);
            let sk = p384::SecretKey::random(&mut rng);
            let pt = p384::EncodedPoint::from(sk.public_key());
            let ek = ecc_ek(
                name_alg,
                TPM_ECC_NIST_P384,
                sym_bits,
                pt.x().unwrap(),
                pt.y().unwrap(),
            );
            let blob = make_credential(&ek, &name, &credential, &mut rng).unwrap();
            let (ex, ey) = eph_point(&blob);
            assert_eq!((ex.len(), ey.len()), (48, 48));
            let eph = p384::PublicKey::from_sec1_bytes(&[&[4u8][..], &ex, &ey].concat()).unwrap();
            let z = p384::ecdh::diffie_hellman(sk.to_nonzero_scalar(), eph.as_affine());
            let seed = kdfe(
                name_alg,
                z.raw_secret_bytes(),
                "IDENTITY",
                &ex,
                pt.x().unwrap(),
                bits,
            );
            assert_eq!(
                activate(name_alg, &seed, sym_bits.into(), &name, &blob.id_object),
                credential
            );
            fps.push(fingerprint(&blob));
        }
        assert_eq!(
            fps,
            [
                "40ed9911ee95e6f112518860633b7babf79203209fb955622cebc95c173995b1",
                "c46d9e7fa278f9f5acaa55fe7e023f51191e8d3277c77e4fdcbff95a79157fef",
                "dd35fe0e7f8267ccaf0331105537608bca22f4a2bbf9d8badb7f1918ee847444",
                "9b31a9b99b5b8556702f94490726236787da2d102d042d44b960fcc2371109df",
            ]
        );
    }
}
