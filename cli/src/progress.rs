//! Step-by-step progress on standard error, shown only when standard error is a terminal (quiet in pipes and CI).

use std::io::IsTerminal;
use std::time::Instant;

/// Progress printer.
pub struct Progress {
    on: bool,
    start: Instant,
}

impl Progress {
    /// A progress printer that is active when stderr is a terminal.
    pub fn new() -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }

    /// Report a step.
    pub fn step(&self, msg: &str) {
        log::info!("{msg}");
        if self.on {
            eprintln!("  [{:>7.2}s] {msg}", self.start.elapsed().as_secs_f64());
        }
    }

    /// Report the end.
    pub fn done(&self) {
        if self.on {
            eprintln!("  [{:>7.2}s] done", self.start.elapsed().as_secs_f64());
        }
    }
}
