//! Interop: the UEFI signature databases (`db`, `dbx`) as efitools (the Debian package behind `efi-readvar` and
//! `sign-efi-sig-list`) writes and reads them. `cert-to-efi-sig-list` builds lists that our strict parser reads
//! to the same certificates, owners and fingerprints; `sig-list-to-certs` reads the lists we encode (the
//! simulated firmware's) back to the same certificates and hashes.

use cuproof_attest::bootlog::uefi::{
    encode_signature_lists, guid, guid_text, parse_signature_lists, SignatureEntry,
    EFI_CERT_SHA256, EFI_CERT_X509,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use x509_cert::der::{Decode, DecodePem, Encode};

fn tool(dir: &Path, name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{name} (Debian package efitools) is required; run scripts/test to install it: {e}"
            )
        });
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} {args:?} failed: {text}");
    text
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cuproof-esl-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The two CA certificates of the test data, as (file name, DER).
fn certificates() -> Vec<(&'static str, Vec<u8>)> {
    ["ca_root.pem", "ca_intermediate.pem"]
        .into_iter()
        .map(|f| {
            let pem = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/data")
                    .join(f),
            )
            .expect("test certificate");
            let der = x509_cert::Certificate::from_pem(pem.as_bytes())
                .expect("PEM certificate")
                .to_der()
                .expect("DER");
            (f, der)
        })
        .collect()
}

#[test]
fn efitools_lists_parse_to_the_same_certificates() {
    let dir = temp_dir("in");
    let owner_text = "11111111-2222-3333-4444-555555555555";
    let owner = guid(
        0x1111_1111,
        0x2222,
        0x3333,
        [0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55],
    );
    let certs = certificates();
    // a db of two lists, one per certificate, as an operator builds it
    let mut db = Vec::new();
    for (f, _) in &certs {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(f);
        tool(
            &dir,
            "cert-to-efi-sig-list",
            &["-g", owner_text, src.to_str().expect("path"), "list.esl"],
        );
        db.extend(std::fs::read(dir.join("list.esl")).expect("esl"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let entries = parse_signature_lists(&db).expect("our parser reads efitools' lists");
    assert_eq!(entries.len(), certs.len());
    for (e, (f, der)) in entries.iter().zip(&certs) {
        assert_eq!(e.signature_type, EFI_CERT_X509, "{f}");
        assert_eq!(e.owner, owner, "{f}");
        assert_eq!(guid_text(&e.owner), owner_text);
        assert_eq!(&e.data, der, "{f}: the entry is the certificate's DER");
        // the fingerprint policies name is the certificate's SHA-256 fingerprint
        assert_eq!(
            e.fingerprint(),
            <[u8; 32]>::from(Sha256::digest(der)),
            "{f}"
        );
        let subject = x509_cert::Certificate::from_der(der)
            .expect("certificate")
            .tbs_certificate
            .subject
            .to_string();
        assert_eq!(e.x509_subject().as_deref(), Some(subject.as_str()), "{f}");
    }
    // one byte short, one byte more: refused, not misread
    assert!(parse_signature_lists(&db[..db.len() - 1]).is_err());
    assert!(parse_signature_lists(&[db.as_slice(), &[0]].concat()).is_err());
}

#[test]
fn efitools_reads_the_lists_we_encode() {
    let dir = temp_dir("out");
    let owner = guid(0x7270_7563, 0x6f6f, 0x0066, [0, 0, 0, 0, 0, 0, 0, 0]);
    let (_, der) = certificates().remove(0);
    let hashes: Vec<[u8; 32]> = (0..3u8).map(|i| Sha256::digest([i]).into()).collect();
    let mut entries = vec![SignatureEntry {
        signature_type: EFI_CERT_X509,
        owner,
        data: der.clone(),
    }];
    entries.extend(hashes.iter().map(|h| SignatureEntry {
        signature_type: EFI_CERT_SHA256,
        owner,
        data: h.to_vec(),
    }));
    std::fs::write(dir.join("ours.esl"), encode_signature_lists(&entries)).expect("write");
    let said = tool(&dir, "sig-list-to-certs", &["ours.esl", "out"]);
    // it names our owner GUID for every entry, and writes the certificate and each hash back unchanged
    assert_eq!(
        said.matches(&format!("Guid {}", guid_text(&owner))).count(),
        entries.len(),
        "{said}"
    );
    assert_eq!(std::fs::read(dir.join("out-0.der")).expect("der"), der);
    for (i, h) in hashes.iter().enumerate() {
        let got = std::fs::read(dir.join(format!("out-{}.hash", i + 1))).expect("hash");
        assert_eq!(got, h.to_vec(), "hash {i}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
