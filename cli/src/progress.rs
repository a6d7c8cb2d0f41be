//! Progress on standard error, drawn only when standard error is a terminal (quiet in pipes, CI and tests;
//! `--json` output on standard output is never touched).
//!
//! * [`Progress::step`]: one line per finished step, with the time since the command started.
//! * [`spinner`]: a spinner with the elapsed time, for work whose library gives no fraction (Groth16 setup
//!   and proving, key loading, the job itself).
//! * [`bytes`]: a byte bar, used only where the bytes counted are the work being done: reading a large input
//!   file ([`read_file`]) and committing to a large tensor block by block ([`commit`]).

use crate::error::{CliError, CliResult};
use cuproof_core::commitment::{self, CommitParams, Commitment};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The spinner or bar on screen, if any: step lines are printed above it instead of through it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active() -> Option<ProgressBar> {
    ACTIVE.lock().ok().and_then(|g| g.clone())
}

thread_local! {
    /// Inside [`suspend`] already (indicatif's suspend holds the bar's lock: nesting it would deadlock).
    static SUSPENDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` (which prints) with the active spinner or bar, if any, lifted off the screen. Reentrant.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    if SUSPENDED.with(|s| s.get()) {
        return f();
    }
    match active() {
        Some(pb) => {
            SUSPENDED.with(|s| s.set(true));
            let r = pb.suspend(f);
            SUSPENDED.with(|s| s.set(false));
            r
        }
        None => f(),
    }
}

fn set_active(pb: Option<ProgressBar>) {
    if let Ok(mut g) = ACTIVE.lock() {
        *g = pb;
    }
}

/// Byte counts below this get no bar (the work is over before a bar could be read).
pub const BAR_MIN_BYTES: u64 = 16 << 20;

/// Whether progress is drawn: standard error is a terminal.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

fn target() -> ProgressDrawTarget {
    if enabled() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// Step-by-step progress lines.
pub struct Progress {
    on: bool,
    start: Instant,
}

impl Progress {
    /// A progress printer that is active when stderr is a terminal.
    pub fn new() -> Self {
        Progress {
            on: enabled(),
            start: Instant::now(),
        }
    }

    /// Report a finished step.
    pub fn step(&self, msg: &str) {
        log::info!("{msg}");
        if self.on {
            let line = format!("  [{:>7.2}s] {msg}", self.start.elapsed().as_secs_f64());
            suspend(|| eprintln!("{line}"));
        }
    }

    /// Report the end.
    pub fn done(&self) {
        if self.on {
            eprintln!("  [{:>7.2}s] done", self.start.elapsed().as_secs_f64());
        }
    }
}

/// A running spinner or bar; cleared when dropped.
pub struct Task {
    pb: ProgressBar,
}

impl Task {
    /// Advance a byte bar.
    pub fn inc(&self, n: u64) {
        self.pb.inc(n);
    }

    /// Change the message.
    pub fn set_message(&self, msg: impl Into<String>) {
        let msg = msg.into();
        log::info!("{msg}");
        self.pb.set_message(msg);
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.pb.finish_and_clear();
        set_active(None);
    }
}

fn start(pb: ProgressBar) -> Task {
    set_active(Some(pb.clone()));
    Task { pb }
}

/// A spinner with the elapsed time (no fraction is known).
pub fn spinner(msg: impl Into<String>) -> Task {
    let msg = msg.into();
    log::info!("{msg}");
    let pb = ProgressBar::with_draw_target(None, target());
    pb.set_style(
        ProgressStyle::with_template("  {spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    start(pb)
}

/// A byte bar over `total` bytes.
pub fn bytes(msg: impl Into<String>, total: u64) -> Task {
    let msg = msg.into();
    log::info!("{msg}");
    let pb = ProgressBar::with_draw_target(Some(total), target());
    pb.set_style(
        ProgressStyle::with_template(
            "  {msg} [{bar:24}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(msg);
    start(pb)
}

/// Read a file, with a byte bar for large files. Failures are input errors naming the file.
pub fn read_file(path: &Path, what: &str) -> CliResult<Vec<u8>> {
    let err =
        |e: std::io::Error| CliError::input(format!("cannot read {what} {}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(err)?;
    let len = f.metadata().map_err(err)?.len();
    if len < BAR_MIN_BYTES {
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(err)?;
        return Ok(out);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let bar = bytes(format!("reading {name}"), len);
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        bar.inc(n as u64);
    }
    Ok(out)
}

/// Block size of [`commit`]: the bar advances once per block.
const COMMIT_BLOCK: usize = 64 << 20;

/// `cuproof_core::commitment::commit`, computed block by block so that a large tensor gets an honest byte bar.
/// A block is a power-of-two number of chunks, so the tree over its leaves (the last block's promoted as
/// `commit` does) is a node of the full tree, and the tree over the block roots is the full tree; the root
/// binding is `commitment::bind_root`. Small buffers go straight to `commit`. Tested equal to `commit`.
pub fn commit(data: &[u8], params: &CommitParams, what: &str) -> Commitment {
    if (data.len() as u64) < BAR_MIN_BYTES {
        return commitment::commit(data, params);
    }
    let bar = bytes(format!("committing {what}"), data.len() as u64);
    commit_blocks(data, params, COMMIT_BLOCK, &|n| bar.inc(n))
}

fn commit_blocks(
    data: &[u8],
    params: &CommitParams,
    block: usize,
    advance: &dyn Fn(u64),
) -> Commitment {
    if data.is_empty() {
        return commitment::commit(data, params);
    }
    let block = block.max(params.chunk_size()).next_power_of_two();
    let roots: Vec<[u8; 32]> = data
        .chunks(block)
        .map(|part| {
            let root =
                commitment::tree_root_of_leaves(params.alg, commitment::leaves(part, params));
            advance(part.len() as u64);
            root
        })
        .collect();
    let len = data.len() as u64;
    let tree_root = commitment::tree_root_of_leaves(params.alg, roots);
    Commitment {
        params: *params,
        len,
        root: commitment::bind_root(params, len, &tree_root),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuproof_core::hash::HashAlg;

    #[test]
    fn block_commitment_equals_commit() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            for chunk_log2 in [5u8, 6, 12] {
                let params = CommitParams::new(alg, chunk_log2).unwrap();
                for len in [
                    0usize, 1, 31, 32, 33, 64, 100, 4095, 4096, 4097, 12_345, 20_000,
                ] {
                    for block in [1usize, 32, 64, 96, 1000, 4096, 8192, 1 << 20] {
                        let mut seen = 0u64;
                        let counter = std::cell::Cell::new(0u64);
                        let c = commit_blocks(&data[..len], &params, block, &|n| {
                            counter.set(counter.get() + n)
                        });
                        seen += counter.get();
                        assert_eq!(c, commitment::commit(&data[..len], &params), "len {len}");
                        assert_eq!(seen, len as u64);
                    }
                }
            }
        }
        // The public entry point agrees too.
        let p = CommitParams::default();
        assert_eq!(commit(&data, &p, "x"), commitment::commit(&data, &p));
    }

    /// A step line printed from inside a suspended bar (a job's progress callback calling `Progress::step`)
    /// must not deadlock on indicatif's lock.
    #[test]
    fn nested_suspend_does_not_deadlock() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _task = spinner("outer");
            let v = suspend(|| suspend(|| 7));
            Progress::new().step("a step");
            let _ = tx.send(v);
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(20)), Ok(7));
    }

    #[test]
    fn read_file_reads_exactly() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(read_file(&p, "x").unwrap(), b"hello");
        // Above the bar threshold: read in blocks, every byte in order.
        let big: Vec<u8> = (0..BAR_MIN_BYTES + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&p, &big).unwrap();
        assert_eq!(read_file(&p, "x").unwrap(), big);
        let e = read_file(&d.path().join("missing"), "input").unwrap_err();
        assert!(e.msg.contains("cannot read input"), "{}", e.msg);
    }
}
