//! Progress on stderr: an indicatif bar per step on a terminal, one plain line per step
//! otherwise, nothing under `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jim_bundle::progress::Reporter;

/// How a run shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bars,
    Lines,
    Quiet,
}

/// The reporter of the `build` command.
pub struct StepReporter {
    mode: Mode,
    current: Mutex<Option<(ProgressBar, Instant)>>,
}

impl StepReporter {
    /// Bars on a terminal, lines when stderr is redirected, nothing when `quiet` or when
    /// `NO_COLOR` or `JIM_NO_PROGRESS` is set (in which case lines are still printed).
    pub fn new(quiet: bool) -> Self {
        let no_progress =
            std::env::var_os("NO_COLOR").is_some() || std::env::var_os("JIM_NO_PROGRESS").is_some();
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && !no_progress {
            Mode::Bars
        } else {
            Mode::Lines
        };
        Self {
            mode,
            current: Mutex::new(None),
        }
    }

    fn with_current(&self, action: impl FnOnce(&mut Option<(ProgressBar, Instant)>)) {
        // A poisoned lock only means a panic elsewhere; progress is not worth a second one.
        if let Ok(mut current) = self.current.lock() {
            action(&mut current);
        }
    }
}

impl Reporter for StepReporter {
    fn start(&self, number: usize, count: usize, description: &str, total_bytes: Option<u64>) {
        let prefix = format!("[{number}/{count}]");
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => eprintln!("{prefix} {description}"),
            Mode::Bars => {
                let bar = match total_bytes {
                    Some(total) => {
                        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                            .with_style(
                                ProgressStyle::with_template(
                                    "{prefix} {wide_msg} {bytes}/{total_bytes} {bar:20}",
                                )
                                .unwrap_or_else(|_| ProgressStyle::default_bar()),
                            )
                    }
                    None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                        .with_style(
                            ProgressStyle::with_template("{prefix} {spinner} {wide_msg} {bytes}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        ),
                };
                bar.set_prefix(prefix);
                bar.set_message(description.to_owned());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                self.with_current(|current| *current = Some((bar, Instant::now())));
            }
        }
    }

    fn advance(&self, bytes: u64) {
        if self.mode == Mode::Bars {
            self.with_current(|current| {
                if let Some((bar, _)) = current {
                    bar.inc(bytes);
                }
            });
        }
    }

    fn finish(&self) {
        if self.mode == Mode::Bars {
            self.with_current(|current| {
                if let Some((bar, started)) = current.take() {
                    let seconds = started.elapsed().as_secs_f64();
                    bar.finish_and_clear();
                    eprintln!("{} {} ({seconds:.1} s)", bar.prefix(), bar.message());
                }
            });
        }
    }
}
