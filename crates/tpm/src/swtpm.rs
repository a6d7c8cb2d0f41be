//! A private software TPM (swtpm) for tests and for machines without a TPM.
//!
//! Everything lives in a temporary directory: TPM state, a per-instance local CA (root and
//! intermediate) written by `swtpm_localca`, and the configuration files that point
//! `swtpm_setup` at it, so nothing under /etc or /var is read or written. The TPM listens on a
//! random free loopback port; the process is killed and the directory removed on drop.

use crate::error::{Result, TpmError};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options for starting a private swtpm.
#[derive(Debug, Clone)]
pub struct SwtpmOptions {
    /// PCR banks to activate (comma separated, e.g. "sha256" or "sha1,sha256").
    pub pcr_banks: String,
    /// Path of the `swtpm` binary (default: env `CUPROOF_SWTPM` or `swtpm` in PATH).
    pub swtpm: PathBuf,
    /// Path of `swtpm_setup` (default: env `CUPROOF_SWTPM_SETUP` or `swtpm_setup`).
    pub swtpm_setup: PathBuf,
    /// Path of `swtpm_localca` (default: env `CUPROOF_SWTPM_LOCALCA` or `/usr/bin/swtpm_localca`).
    pub swtpm_localca: PathBuf,
}

impl Default for SwtpmOptions {
    fn default() -> Self {
        let env_or =
            |k: &str, d: &str| PathBuf::from(std::env::var(k).unwrap_or_else(|_| d.into()));
        SwtpmOptions {
            pcr_banks: "sha256".into(),
            swtpm: env_or("CUPROOF_SWTPM", "swtpm"),
            swtpm_setup: env_or("CUPROOF_SWTPM_SETUP", "swtpm_setup"),
            swtpm_localca: env_or("CUPROOF_SWTPM_LOCALCA", "/usr/bin/swtpm_localca"),
        }
    }
}

/// A running private swtpm.
#[derive(Debug)]
pub struct Swtpm {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

fn io_err(path: &Path, source: std::io::Error) -> TpmError {
    TpmError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| io_err(path, e))
}

/// Find a port P such that P and P+1 are both free on 127.0.0.1 (races are handled by retrying).
fn free_port_pair() -> Option<u16> {
    for _ in 0..64 {
        let l = TcpListener::bind("127.0.0.1:0").ok()?;
        let p = l.local_addr().ok()?.port();
        if p == u16::MAX {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return Some(p);
        }
    }
    None
}

impl Swtpm {
    /// Manufacture and start a private swtpm with default options.
    pub fn start() -> Result<Self> {
        Self::start_with(&SwtpmOptions::default())
    }

    /// Manufacture (EK, EK certificates from a fresh local CA, platform certificate) and start.
    pub fn start_with(opts: &SwtpmOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cuproof-swtpm-")
            .tempdir()
            .map_err(|e| TpmError::Swtpm(format!("temp dir: {e}")))?;
        let root = dir.path();
        let state = root.join("state");
        let ca = root.join("localca");
        for d in [&state, &ca] {
            std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
        }
        write(
            &root.join("swtpm-localca.conf"),
            &format!(
                "statedir = {ca}\nsigningkey = {ca}/signkey.pem\nissuercert = {ca}/issuercert.pem\ncertserial = {ca}/certserial\n",
                ca = ca.display()
            ),
        )?;
        write(
            &root.join("swtpm-localca.options"),
            "--platform-manufacturer cuproof\n--platform-version 2.1\n--platform-model swtpm\n",
        )?;
        write(
            &root.join("swtpm_setup.conf"),
            &format!(
                "create_certs_tool = {tool}\ncreate_certs_tool_config = {r}/swtpm-localca.conf\ncreate_certs_tool_options = {r}/swtpm-localca.options\nactive_pcr_banks = {banks}\n",
                tool = opts.swtpm_localca.display(),
                r = root.display(),
                banks = opts.pcr_banks
            ),
        )?;
        let mut setup = Command::new(&opts.swtpm_setup);
        if opts.swtpm != Path::new("swtpm") {
            setup.arg("--tpm").arg(&opts.swtpm);
        }
        let out = setup
            .arg("--tpm2")
            .arg("--tpmstate")
            .arg(&state)
            .arg("--create-ek-cert")
            .arg("--create-platform-cert")
            .arg("--config")
            .arg(root.join("swtpm_setup.conf"))
            .arg("--pcr-banks")
            .arg(&opts.pcr_banks)
            .env("XDG_CONFIG_HOME", root)
            .env("HOME", root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                TpmError::Swtpm(format!(
                    "cannot run {} (install the Debian packages swtpm and swtpm-tools): {e}",
                    opts.swtpm_setup.display()
                ))
            })?;
        if !out.status.success() {
            return Err(TpmError::Swtpm(format!(
                "swtpm_setup failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let mut last_err = String::new();
        for _ in 0..8 {
            let port = free_port_pair()
                .ok_or_else(|| TpmError::Swtpm("no free loopback port pair".into()))?;
            let mut child = Command::new(&opts.swtpm)
                .arg("socket")
                .arg("--tpm2")
                .arg("--tpmstate")
                .arg(format!("dir={}", state.display()))
                .arg("--server")
                .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
                .arg("--flags")
                .arg("not-need-init,startup-clear")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| {
                    TpmError::Swtpm(format!("cannot run {}: {e}", opts.swtpm.display()))
                })?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut msg = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut msg);
                    }
                    last_err = format!("swtpm exited ({status}): {msg}");
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Swtpm {
                        child: Some(child),
                        port,
                        dir,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_err = "swtpm did not listen within 10 s".into();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(TpmError::Swtpm(format!(
            "could not start swtpm after retries: {last_err}"
        )))
    }

    /// TCTI string for tss-esapi / tpm2-tools: `swtpm:host=127.0.0.1,port=P`.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// The TPM command port (the control port is `port() + 1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The local CA's root certificate (PEM): pass it as an EK trust root of kind `software`.
    pub fn ca_root_pem(&self) -> Result<Vec<u8>> {
        let p = self
            .dir
            .path()
            .join("localca")
            .join("swtpm-localca-rootca-cert.pem");
        std::fs::read(&p).map_err(|e| io_err(&p, e))
    }

    /// The local CA's intermediate (issuer of the EK certificates), PEM.
    pub fn ca_intermediate_pem(&self) -> Result<Vec<u8>> {
        let p = self.dir.path().join("localca").join("issuercert.pem");
        std::fs::read(&p).map_err(|e| io_err(&p, e))
    }

    /// The instance's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kill the TPM now (to test the TPM going away mid-job). Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether the swtpm process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        self.kill();
    }
}
