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

fn field(v: &mut Vec<u8>, b: &[u8]) {
    v.extend_from_slice(&(b.len() as u32).to_le_bytes());
    v.extend_from_slice(b);
}

/// The binary entry, with the kernel's template hash as logged (not recomputed).
fn binary(a: &Ascii) -> Vec<u8> {
    let mut d = format!("{}:\0", a.alg).into_bytes();
    d.extend_from_slice(&a.digest);
    let mut n = a.path.as_bytes().to_vec();
    n.push(0);
    let mut data = Vec::new();
    field(&mut data, &d);
    field(&mut data, &n);
    if a.template == "ima-sig" {
        field(&mut data, a.sig.as_deref().unwrap_or_default());
    }
    let mut out = Vec::new();
    out.extend_from_slice(&a.pcr.to_le_bytes());
    out.extend_from_slice(&a.template_hash);
    out.extend_from_slice(&(a.template.len() as u32).to_le_bytes());
    out.extend_from_slice(a.template.as_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
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
            (f.alg.as_str(), f.digest.as_slice(), f.path.as_str()),
            (a.alg.as_str(), a.digest.as_slice(), a.path.as_str())
        );
        assert_eq!(
            one.entries[0].fields.len(),
            if a.template == "ima-sig" { 3 } else { 2 }
        );
        // one flipped bit of the file digest no longer matches the kernel's template hash
        let mut m = binary(a);
        let at = m.len() - a.path.len() - 1 - 4 - a.sig.as_ref().map_or(0, |s| s.len() + 4) - 1;
        m[at] ^= 1;
        assert!(ImaLog::parse(&m).is_err(), "{}", a.path);
        list.extend(binary(a));
    }
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
