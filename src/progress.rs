//! Progress of long work (training, evaluation, ingest): a bar or spinner on a terminal's
//! stderr, and a structured log event when each stage ends, wherever the output goes.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// One stage of long work.
pub struct Stage {
    bar: ProgressBar,
    name: &'static str,
    started: Instant,
}

impl Stage {
    /// A stage whose size is unknown: a spinner.
    pub fn spinner(name: &'static str) -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self::with_bar(bar, name)
    }

    /// A stage of `len` steps: a bar.
    pub fn counted(name: &'static str, len: u64) -> Self {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Self::with_bar(bar, name)
    }

    fn with_bar(bar: ProgressBar, name: &'static str) -> Self {
        bar.set_message(name);
        Self {
            bar,
            name,
            started: Instant::now(),
        }
    }

    /// Advances a counted stage.
    pub fn advance(&self, steps: u64) {
        self.bar.inc(steps);
    }

    /// Ends the stage and logs how long it took.
    pub fn finish(self) {
        self.bar.finish_and_clear();
        tracing::info!(
            stage = self.name,
            seconds = self.started.elapsed().as_secs_f64(),
            "stage done"
        );
    }
}
