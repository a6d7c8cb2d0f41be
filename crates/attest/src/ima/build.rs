//! Writing IMA measurement lists: [`ImaLogBuilder`] (tests, tools) and [`simulated_runtime`], the runtime
//! measurements cuproof plays into a *software* TPM it started (PCR 10), next to the simulated firmware boot, so
//! that the IMA checks run end to end without a real kernel. Proves nothing: the receipt says `software`.

use super::*;

/// Writes a binary measurement list (little-endian), templates other than the legacy `ima`.
#[derive(Debug, Clone, Default)]
pub struct ImaLogBuilder {
    out: Vec<u8>,
    extends: Vec<(u8, [u8; 32])>,
}

fn field(v: &mut Vec<u8>, b: &[u8]) {
    v.extend_from_slice(&(b.len() as u32).to_le_bytes());
    v.extend_from_slice(b);
}

impl ImaLogBuilder {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append an entry with the given template data (`violation`: logged digest zero, PCR extended with ones).
    pub fn raw(&mut self, pcr: u32, template: &str, data: &[u8], violation: bool) {
        let sha1: [u8; 20] = if violation {
            [0; 20]
        } else {
            sha1::Sha1::digest(data).into()
        };
        self.out.extend_from_slice(&pcr.to_le_bytes());
        self.out.extend_from_slice(&sha1);
        self.out
            .extend_from_slice(&(template.len() as u32).to_le_bytes());
        self.out.extend_from_slice(template.as_bytes());
        self.out
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.out.extend_from_slice(data);
        let ext: [u8; 32] = if violation {
            [0xff; 32]
        } else {
            sha2::Sha256::digest(data).into()
        };
        self.extends.push((pcr as u8, ext));
    }

    /// A file measurement (`ima-ng`: d-ng, n-ng; `ima-sig`: plus the signature field, empty when `None`).
    pub fn file(&mut self, template: &str, path: &str, sha256: &[u8; 32], sig: Option<&[u8]>) {
        let mut d = b"sha256:\0".to_vec();
        d.extend_from_slice(sha256);
        let mut n = path.as_bytes().to_vec();
        n.push(0);
        let mut data = Vec::new();
        field(&mut data, &d);
        field(&mut data, &n);
        if template != "ima-ng" {
            field(&mut data, sig.unwrap_or_default());
        }
        self.raw(IMA_PCR, template, &data, false);
    }

    /// The first entry: `boot_aggregate` with the given digest.
    pub fn boot_aggregate(&mut self, digest: &[u8; 32]) {
        self.file("ima-ng", "boot_aggregate", digest, None);
    }

    /// A violation entry for `path` (its file digest is logged as zeros).
    pub fn violation(&mut self, path: &str) {
        let mut d = b"sha256:\0".to_vec();
        d.extend_from_slice(&[0u8; 32]);
        let mut n = path.as_bytes().to_vec();
        n.push(0);
        let mut data = Vec::new();
        field(&mut data, &d);
        field(&mut data, &n);
        self.raw(IMA_PCR, "ima-ng", &data, true);
    }

    /// (PCR, SHA-256 extend) of the entries so far, per-bank mode: what to play into a TPM.
    pub fn sha256_extends(&self) -> &[(u8, [u8; 32])] {
        &self.extends
    }

    /// The list bytes.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// The simulated runtime measurements.
#[derive(Debug, Clone)]
pub struct SimulatedIma {
    /// The binary measurement list.
    pub bytes: Vec<u8>,
    /// (PCR, SHA-256 extend) in order.
    pub extends: Vec<(u8, [u8; 32])>,
    /// (path, SHA-256 file digest) of every measured file, `boot_aggregate` first.
    pub files: Vec<(String, [u8; 32])>,
}

/// The kernel-module and driver files the simulation measures after `boot_aggregate`.
pub const SIMULATED_FILES: [&str; 5] = [
    "/usr/lib/modules/6.1.0-cuproof/updates/dkms/nvidia.ko",
    "/usr/lib/modules/6.1.0-cuproof/updates/dkms/nvidia-uvm.ko",
    "/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05",
    "/usr/bin/nvidia-smi",
    "/usr/local/bin/cuproof",
];

/// What a kernel with `ima_policy=tcb`-like rules would log after booting the simulated firmware: the
/// `boot_aggregate` (SHA-256 over the SHA-256 PCRs 0–9 given, as kernels do for TPM 2.0) and the NVIDIA driver
/// stack (stand-in file digests). Deterministic for given PCRs.
pub fn simulated_runtime(pcrs_0_to_9: &[[u8; 32]; 10]) -> SimulatedIma {
    let mut b = ImaLogBuilder::new();
    let mut agg = sha2::Sha256::new();
    for p in pcrs_0_to_9 {
        agg.update(p);
    }
    let agg: [u8; 32] = agg.finalize().into();
    b.boot_aggregate(&agg);
    let mut files = vec![("boot_aggregate".to_string(), agg)];
    for path in SIMULATED_FILES {
        let d: [u8; 32] = sha2::Sha256::digest(format!("cuproof simulated file {path}")).into();
        b.file("ima-ng", path, &d, None);
        files.push((path.to_string(), d));
    }
    SimulatedIma {
        extends: b.sha256_extends().to_vec(),
        bytes: b.finish(),
        files,
    }
}

/// Rebuild the binary list from the kernel's ASCII form (`ascii_runtime_measurements`: `pcr template-hash
/// template d-ng-alg:digest name [signature]` per line, for `ima-ng` and `ima-sig`), keeping each logged
/// template hash, so that [`ImaLog::parse`] checks it against the rebuilt template data. Names with spaces are
/// taken whole; for `ima-sig` a last word that reads as a v2 signature (`0302…`) is the signature.
pub fn from_ascii(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let err = |w: &str| format!("line {}: {w}", n + 1);
        let mut it = line.splitn(5, ' ');
        let (Some(pcr), Some(th), Some(template), Some(d), Some(rest)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(err("expected `pcr template-hash template alg:digest name`"));
        };
        let pcr: u32 = pcr.parse().map_err(|_| err("PCR is not a number"))?;
        let th = hex::decode(th)
            .ok()
            .filter(|h| h.len() == 20)
            .ok_or_else(|| err("template hash is not 40 hex digits"))?;
        if template != "ima-ng" && template != "ima-sig" {
            return Err(err(
                "only ima-ng and ima-sig lines carry everything the binary entry holds",
            ));
        }
        let (alg, digest) = d
            .split_once(':')
            .ok_or_else(|| err("digest without alg:"))?;
        let digest = hex::decode(digest).map_err(|_| err("digest is not hex"))?;
        let (path, sig) = match (template, rest.rsplit_once(' ')) {
            ("ima-sig", Some((p, s))) if s.starts_with("0302") && hex::decode(s).is_ok() => {
                (p, hex::decode(s).unwrap_or_default())
            }
            _ => (rest, Vec::new()),
        };
        let mut dng = format!("{alg}:\0").into_bytes();
        dng.extend_from_slice(&digest);
        let mut nng = path.as_bytes().to_vec();
        nng.push(0);
        let mut data = Vec::new();
        field(&mut data, &dng);
        field(&mut data, &nng);
        if template == "ima-sig" {
            field(&mut data, &sig);
        }
        out.extend_from_slice(&pcr.to_le_bytes());
        out.extend_from_slice(&th);
        out.extend_from_slice(&(template.len() as u32).to_le_bytes());
        out.extend_from_slice(template.as_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
    }
    Ok(out)
}
