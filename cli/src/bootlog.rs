//! `cuproof bootlog` and `cuproof ima`: read a firmware (measured-boot) event log or an IMA runtime measurement
//! list, show what it says and what it replays to, and print the `[boot]` / `[ima]` policy table that accepts
//! exactly that (docs/bootlog.md, docs/ima.md).

use crate::error::{CliError, CliResult};
use cuproof_attest::bootlog::uefi::{guid_text, parse_signature_lists, ImageLoad, UefiVariable};
use cuproof_attest::bootlog::{BootLog, EV_EFI_BOOT_SERVICES_APPLICATION, EV_NO_ACTION};
use std::io::Read;
use std::path::Path;

/// Largest log read.
const MAX_BOOT_LOG: u64 = 16 << 20;

fn read_limited(path: &Path) -> CliResult<Vec<u8>> {
    let f = std::fs::File::open(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    let mut buf = Vec::new();
    f.take(MAX_BOOT_LOG + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    if buf.len() as u64 > MAX_BOOT_LOG {
        return Err(CliError::input(format!(
            "{}: larger than {MAX_BOOT_LOG} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

/// What one event says, for people (device paths and names are as logged: hints, not evidence).
fn detail(e: &cuproof_attest::bootlog::BootEvent) -> String {
    let printable = |s: &str| -> String {
        s.chars()
            .take(120)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    if e.event_type == EV_EFI_BOOT_SERVICES_APPLICATION {
        if let Some(p) = ImageLoad::parse(&e.data).ok().and_then(|i| i.file_path()) {
            return printable(&p);
        }
    }
    if e.event_type == cuproof_attest::bootlog::EV_S_CRTM_VERSION && e.data.len().is_multiple_of(2)
    {
        let units: Vec<u16> = e
            .data
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        if let Ok(s) = String::from_utf16(&units) {
            return format!("\"{}\"", printable(&s));
        }
    }
    if let Ok(v) = UefiVariable::parse(&e.data) {
        let entries = matches!(v.secure_boot_name(), Some("PK" | "KEK" | "db" | "dbx"))
            .then(|| parse_signature_lists(&v.data).ok())
            .flatten();
        let val = if let Some(entries) = entries {
            let mut kinds: Vec<String> = entries.iter().map(|s| s.type_name()).collect();
            kinds.dedup();
            format!(
                " ({} bytes, {} {} entries)",
                v.data.len(),
                entries.len(),
                kinds.join("+")
            )
        } else if v.data.len() <= 8 {
            format!(" = {}", hex::encode(&v.data))
        } else {
            format!(" ({} bytes)", v.data.len())
        };
        return format!("{}:{}{val}", &guid_text(&v.guid)[..8], printable(&v.name));
    }
    if let Some((kind, text)) = e.grub_string() {
        return format!("{kind}: {}", printable(text));
    }
    let text = e.data.strip_suffix(&[0u8]).unwrap_or(&e.data);
    if !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return format!("\"{}\"", printable(&String::from_utf8_lossy(text)));
    }
    format!("{} bytes", e.data.len())
}

/// Where a measurement log is read from.
pub enum Source<'a> {
    /// This machine's file under /sys/kernel/security.
    Machine,
    /// A named file.
    File(&'a Path),
    /// The log a receipt carries.
    Receipt(&'a Path),
    /// The log a capacity commit message carries.
    Commit(&'a Path),
}

/// The bytes to show and where they came from: `ima` picks the IMA list, else the firmware log.
fn read_source(
    src: &Source<'_>,
    ima: bool,
    what: &str,
    default: &str,
    hint: &str,
) -> CliResult<(Vec<u8>, String)> {
    let nonempty = |b: Vec<u8>, from: &str| {
        if b.is_empty() {
            Err(CliError::input(format!("the {from} carries no {what}")))
        } else {
            Ok((b, from.to_string()))
        }
    };
    match src {
        Source::Receipt(r) => {
            let node = crate::load_receipt(r)?.node;
            nonempty(if ima { node.ima_log } else { node.boot_log }, "receipt")
        }
        Source::Commit(c) => {
            let bytes = crate::error::read_file(c, "commit message")?;
            let logs = cuproof_capacity::CommitMessage::from_bytes(&bytes)
                .map_err(|e| CliError::input(format!("commit message {}: {e}", c.display())))?
                .logs;
            nonempty(if ima { logs.ima } else { logs.boot }, "commit message")
        }
        Source::File(f) => Ok((read_limited(f)?, f.display().to_string())),
        Source::Machine => {
            let p = Path::new(default);
            let b = read_limited(p).map_err(|e| CliError::env(format!("{e} ({hint})")))?;
            Ok((b, p.display().to_string()))
        }
    }
}

/// `cuproof bootlog`.
pub fn run(src: &Source<'_>, policy_only: bool) -> CliResult<i32> {
    let (bytes, source) = read_source(
        src,
        false,
        "boot event log",
        cuproof::node::DEFAULT_BOOT_LOG,
        "this machine's firmware log; it needs root, or name a file",
    )?;
    let log = BootLog::parse(&bytes).map_err(|e| CliError::input(format!("{source}: {e}")))?;
    let reference = cuproof_verify::boot::reference_policy_of(&log);
    if policy_only {
        print!("{reference}");
        return Ok(0);
    }
    let banks: Vec<String> = log
        .spec
        .banks
        .iter()
        .map(|b| format!("0x{:04x}/{}", b.alg, b.size))
        .collect();
    println!(
        "boot log  {source}: {} events, banks {} (TPM_ALG_ID/bytes){}",
        log.events.len(),
        banks.join(" "),
        log.startup_locality
            .map(|l| format!(", startup locality {l}"))
            .unwrap_or_default()
    );
    println!(
        "{:>4} {:>3}  {:<34} {:<18} {:<5} detail",
        "#", "PCR", "type", "sha256", "bound"
    );
    for e in &log.events {
        let d = if e.event_type == EV_NO_ACTION {
            "-".to_string()
        } else {
            hex::encode(&e.sha256()[..8])
        };
        println!(
            "{:>4} {:>3}  {:<34} {:<18} {:<5} {}",
            e.number,
            e.pcr,
            e.type_name(),
            d,
            if e.data_is_bound() {
                "yes"
            } else if e.grub_string().is_some() {
                "grub"
            } else {
                "no"
            },
            detail(e)
        );
    }
    if let Some(r) = log.replay(cuproof_attest::bootlog::ALG_SHA256) {
        println!("replayed SHA-256 PCRs (a quote of this boot must hold these):");
        for (p, v) in r {
            println!("  {p:>2}: {}", hex::encode(v));
        }
    }
    println!("\npolicy table that accepts exactly this boot (merge your fleet's):\n{reference}");
    Ok(0)
}

/// `cuproof ima`.
pub fn run_ima(src: &Source<'_>, policy_only: bool) -> CliResult<i32> {
    use cuproof_attest::ima::{ImaLog, ReplayMode, IMA_PCR};
    let (bytes, source) = read_source(
        src,
        true,
        "IMA measurement list",
        cuproof::node::DEFAULT_IMA_LOG,
        "this machine's IMA list; it needs root and a kernel with IMA, or name a file",
    )?;
    // the kernel's ASCII form (ascii_runtime_measurements) is rebuilt into the binary list
    let ascii = std::str::from_utf8(&bytes).ok().filter(|t| {
        let mut w = t.split(' ');
        w.next().is_some_and(|x| x.parse::<u32>().is_ok())
            && w.next()
                .is_some_and(|x| x.len() == 40 && hex::decode(x).is_ok())
    });
    let (bytes, source) = match ascii {
        Some(t) => (
            cuproof_attest::ima::build::from_ascii(t)
                .map_err(|e| CliError::input(format!("{source}: {e}")))?,
            format!("{source} (ASCII)"),
        ),
        None => (bytes, source),
    };
    let log = ImaLog::parse(&bytes).map_err(|e| CliError::input(format!("{source}: {e}")))?;
    let reference = cuproof_verify::ima::reference_policy_of(&log);
    if policy_only {
        print!("{reference}");
        return Ok(0);
    }
    println!("IMA list  {source}: {} entries", log.entries.len());
    for e in &log.entries {
        let printable = |s: &str| -> String {
            s.chars()
                .take(96)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()
        };
        let (d, p) = match &e.file {
            Some(f) => (f.digest_text(), printable(&f.path)),
            None => ("-".into(), format!("({} fields)", e.field_count())),
        };
        println!(
            "{:>5} {:>2} {} {:<8} {}{} {}",
            e.number,
            e.pcr,
            hex::encode(e.template_sha1),
            printable(&e.template),
            d,
            if e.is_violation() { " VIOLATION" } else { "" },
            p
        );
    }
    println!(
        "replayed SHA-256 PCR {IMA_PCR} (a quote taken right after reading this list must hold it): {}",
        hex::encode(log.replay_sha256(IMA_PCR, log.entries.len(), ReplayMode::PerBank))
    );
    println!("\npolicy table that accepts exactly these files (merge your fleet's):\n{reference}");
    Ok(0)
}
