//! Registrar-side TPM2_MakeCredential in pure Rust (TPM 2.0 Part 1, "Credential Protection").

use crate::alg::*;
use crate::error::{Error, Result};
use crate::public::{KeyParams, PublicArea};
use crate::wire::{put_tpm2b, tpm2b};
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
            let bits = (name_alg.size() * 8) as u32;
            match *curve {
                TPM_ECC_NIST_P256 => {
                    use p256::elliptic_curve::sec1::ToEncodedPoint;
                    let ek_pub = p256::PublicKey::from_sec1_bytes(&point)
                        .map_err(|_| Error::Crypto("EK point not on P-256".into()))?;
                    let eph = p256::ecdh::EphemeralSecret::random(rng);
                    let eph_pub = eph.public_key().to_encoded_point(false);
                    let shared = eph.diffie_hellman(&ek_pub);
                    let (ex, ey) = (
                        eph_pub.x().map(|v| v.to_vec()).unwrap_or_default(),
                        eph_pub.y().map(|v| v.to_vec()).unwrap_or_default(),
                    );
                    let seed = kdfe(
                        name_alg,
                        shared.raw_secret_bytes(),
                        "IDENTITY",
                        &ex,
                        &point[1..33],
                        bits,
                    );
                    let mut enc = Vec::new();
                    put_tpm2b(&mut enc, "ECC point x", &ex)?;
                    put_tpm2b(&mut enc, "ECC point y", &ey)?;
                    Ok((seed, enc))
                }
                TPM_ECC_NIST_P384 => {
                    use p384::elliptic_curve::sec1::ToEncodedPoint;
                    let ek_pub = p384::PublicKey::from_sec1_bytes(&point)
                        .map_err(|_| Error::Crypto("EK point not on P-384".into()))?;
                    let eph = p384::ecdh::EphemeralSecret::random(rng);
                    let eph_pub = eph.public_key().to_encoded_point(false);
                    let shared = eph.diffie_hellman(&ek_pub);
                    let (ex, ey) = (
                        eph_pub.x().map(|v| v.to_vec()).unwrap_or_default(),
                        eph_pub.y().map(|v| v.to_vec()).unwrap_or_default(),
                    );
                    let seed = kdfe(
                        name_alg,
                        shared.raw_secret_bytes(),
                        "IDENTITY",
                        &ex,
                        &point[1..49],
                        bits,
                    );
                    let mut enc = Vec::new();
                    put_tpm2b(&mut enc, "ECC point x", &ex)?;
                    put_tpm2b(&mut enc, "ECC point y", &ey)?;
                    Ok((seed, enc))
                }
                other => Err(Error::UnsupportedAlgorithm {
                    what: "EK curve",
                    alg: other,
                }),
            }
        }
    }
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
