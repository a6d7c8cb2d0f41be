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

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("  {spinner} [{elapsed_precise}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "  {msg} [{bar:24}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// A handle on a spinner that a callback may turn into a byte bar for a while (the runtime's progress of a
/// large commitment, reported from inside a library call).
#[derive(Clone)]
pub struct TaskHandle {
    pb: ProgressBar,
    /// The spinner's message while a byte bar replaces it.
    saved: std::sync::Arc<Mutex<Option<String>>>,
}

impl TaskHandle {
    /// Shows `msg` with a byte bar at `done` of `total` in place of the spinner; the spinner (and its message)
    /// comes back once `done` reaches `total`.
    pub fn bytes(&self, msg: &str, done: u64, total: u64) {
        if done == 0 {
            log::info!("{msg}");
            if let Ok(mut g) = self.saved.lock() {
                g.get_or_insert_with(|| self.pb.message());
            }
            self.pb.set_style(bytes_style());
            self.pb.set_length(total);
            self.pb.set_message(msg.to_string());
            self.pb.reset_eta();
        }
        self.pb.set_position(done);
        if done >= total {
            self.pb.unset_length();
            self.pb.set_style(spinner_style());
            if let Some(m) = self.saved.lock().ok().and_then(|mut g| g.take()) {
                self.pb.set_message(m);
            }
        }
    }
}

impl Task {
    /// A handle for callbacks (see [`TaskHandle::bytes`]).
    pub fn handle(&self) -> TaskHandle {
        TaskHandle {
            pb: self.pb.clone(),
            saved: Default::default(),
        }
    }
}

/// A spinner with the elapsed time (no fraction is known).
pub fn spinner(msg: impl Into<String>) -> Task {
    let msg = msg.into();
    log::info!("{msg}");
    let pb = ProgressBar::with_draw_target(None, target());
    pb.set_style(spinner_style());
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    start(pb)
}

/// A byte bar over `total` bytes.
pub fn bytes(msg: impl Into<String>, total: u64) -> Task {
    let msg = msg.into();
    log::info!("{msg}");
    let pb = ProgressBar::with_draw_target(Some(total), target());
    pb.set_style(bytes_style());
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

/// `cuproof_core::commitment::commit` with a byte bar for a large tensor (`commit_with_progress`: the same
/// commitment, hashed block by block). Small buffers go straight to `commit`.
pub fn commit(data: &[u8], params: &CommitParams, what: &str) -> Commitment {
    if (data.len() as u64) < BAR_MIN_BYTES {
        return commitment::commit(data, params);
    }
    let bar = bytes(format!("committing {what}"), data.len() as u64);
    commitment::commit_with_progress(data, params, &mut |done| bar.pb.set_position(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuproof_core::hash::HashAlg;

    #[test]
    fn commit_with_bar_equals_commit() {
        let data: Vec<u8> = (0..(BAR_MIN_BYTES as u32 + 4097))
            .map(|i| (i * 7 + i / 13) as u8)
            .collect();
        for alg in [HashAlg::Keccak256, HashAlg::Sha3_256] {
            let p = CommitParams::new(alg, 12).unwrap();
            assert_eq!(commit(&data, &p, "x"), commitment::commit(&data, &p));
            assert_eq!(
                commit(&data[..100], &p, "x"),
                commitment::commit(&data[..100], &p)
            );
        }
        // A spinner turned into a byte bar and back (hidden draw target in tests) keeps working.
        let task = spinner("job");
        let h = task.handle();
        for d in [0, 10, 100] {
            h.bytes("committing A", d, 100);
        }
        assert_eq!(task.pb.message(), "job");
        task.set_message("after");
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
