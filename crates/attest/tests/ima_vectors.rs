//! IMA entries measured by real kernels (tests/vectors/ima_real_entries.txt, in the kernel's ASCII form): the
//! binary entries rebuilt from them parse, which means cuproof's template-data encoding reproduces the kernel's
//! SHA-1 template hash exactly; the file digest and name read back as logged.

use cuproof_attest::ima::{ImaLog, ReplayMode, IMA_PCR};
use sha2::{Digest, Sha256};

struct Ascii {
    pcr: u32,
    template_hash: Vec<u8>,
    template: String,
    alg: String,
    digest: Vec<u8>,
    path: String,
    sig: Option<Vec<u8>>,
}

fn entries() -> Vec<Ascii> {
    include_str!("vectors/ima_real_entries.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            let (alg, d) = p[3].split_once(':').expect("alg:digest");
            Ascii {
                pcr: p[0].parse().expect("pcr"),
                template_hash: hex::decode(p[1]).expect("hex"),
                template: p[2].to_string(),
                alg: alg.to_string(),
                digest: hex::decode(d).expect("hex"),
                path: p[4].to_string(),
                sig: p.get(5).map(|s| hex::decode(s).expect("sig hex")),
            }
        })
        .collect()
}

/// The binary entry rebuilt by the library from the ASCII line (the kernel's template hash kept, not recomputed).
fn binary(a: &Ascii) -> Vec<u8> {
    let mut line = format!(
        "{} {} {} {}:{} {}",
        a.pcr,
        hex::encode(&a.template_hash),
        a.template,
        a.alg,
        hex::encode(&a.digest),
        a.path
    );
    if let Some(s) = &a.sig {
        line.push(' ');
        line.push_str(&hex::encode(s));
    }
    cuproof_attest::ima::build::from_ascii(&line).expect("ascii line")
}

#[test]
fn real_kernel_entries_reproduce_their_template_hashes() {
    let all = entries();
    assert_eq!(all.len(), 7);
    let mut list = Vec::new();
    for a in &all {
        let one = ImaLog::parse(&binary(a)).unwrap_or_else(|e| panic!("{}: {e}", a.path));
        let f = one.entries[0].file.as_ref().expect("file");
        assert_eq!(
            (f.alg, f.digest.as_slice(), f.path.as_str()),
            (a.alg.as_str(), a.digest.as_slice(), a.path.as_str())
        );
        assert_eq!(
            one.entries[0].field_count(),
            if a.template == "ima-sig" { 3 } else { 2 }
        );
        // one flipped bit of the file digest no longer matches the kernel's template hash
        let mut m = binary(a);
        let at = m.len() - a.path.len() - 1 - 4 - a.sig.as_ref().map_or(0, |s| s.len() + 4) - 1;
        m[at] ^= 1;
        assert!(ImaLog::parse(&m).is_err(), "{}", a.path);
        list.extend(binary(a));
    }
    // The whole file, converted at once, is the same list.
    let text: String = include_str!("vectors/ima_real_entries.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        cuproof_attest::ima::build::from_ascii(&text).expect("ascii"),
        list
    );
    // The whole list parses; its PCR-10 replay (per-bank mode) is the chain of SHA-256 over each template data.
    let log = ImaLog::parse(&list).expect("list");
    let mut v = [0u8; 32];
    for e in log.entries.iter().filter(|e| e.pcr == IMA_PCR) {
        let mut h = Sha256::new();
        h.update(v);
        h.update(Sha256::digest(&e.template_data));
        v = h.finalize().into();
    }
    assert_eq!(
        log.replay_sha256(IMA_PCR, log.entries.len(), ReplayMode::PerBank),
        v
    );
}

#[test]
fn real_file_signatures_verify_under_their_keys() {
    use cuproof_attest::ima::sig::{check_file_signature, ImaKey, SignatureCheck};
    let keys = ImaKey::from_pem_or_der(include_bytes!("vectors/ima_keys.pem")).expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(hex::encode(keys[0].keyid()), "f3452d23");
    assert_eq!(hex::encode(keys[1].keyid()), "531f4025");
    let mut signed = 0;
    for a in entries() {
        let log = ImaLog::parse(&binary(&a)).expect("entry");
        let e = &log.entries[0];
        let f = e.file.as_ref().expect("file");
        let Some(sig) = e.signature_field() else {
            assert_eq!(a.template, "ima-ng");
            continue;
        };
        let check = check_file_signature(f, sig, &keys);
        if sig.is_empty() {
            assert_eq!(check, SignatureCheck::Unsigned, "{}", a.path);
            continue;
        }
        // RSA (dd) and secp256k1 (zmore): the kernel-format signature over the file digest verifies
        assert!(
            matches!(check, SignatureCheck::Valid(_)),
            "{}: {check:?}",
            a.path
        );
        signed += 1;
        // one flipped signature bit, another file digest, or no matching key
        let mut bad = sig.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            check_file_signature(f, &bad, &keys),
            SignatureCheck::Invalid(_)
        ));
        let mut other = f.clone();
        other.digest[0] ^= 1;
        assert!(matches!(
            check_file_signature(&other, sig, &keys),
            SignatureCheck::Invalid(_)
        ));
        let only_other_key: Vec<_> = keys
            .iter()
            .filter(|k| k.keyid().as_slice() != &sig[3..7])
            .cloned()
            .collect();
        assert!(matches!(
            check_file_signature(f, sig, &only_other_key),
            SignatureCheck::UnknownKey(_)
        ));
        // truncated signature fields are refused
        for cut in 1..sig.len() {
            assert!(matches!(
                check_file_signature(f, &sig[..cut], &keys),
                SignatureCheck::Invalid(_)
            ));
        }
    }
    assert_eq!(signed, 2);
}
