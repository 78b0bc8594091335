//! Progress of a run on the terminal: a bar per epoch with loss and throughput (indicatif),
//! nothing with `--quiet`, JSON lines with `--json`.

use std::time::Instant;

use contrast::train::metrics::EpochMetrics;
use contrast::train::run::Observer;
use contrast::train::trainer::StepReport;
use indicatif::{ProgressBar, ProgressStyle};

/// The CLI's [`Observer`].
pub struct Progress {
    quiet: bool,
    json: bool,
    bar: Option<ProgressBar>,
    epoch_started: Instant,
}

impl Progress {
    /// A progress display; `quiet` hides it, `json` prints JSON lines instead.
    pub fn new(quiet: bool, json: bool) -> Self {
        Self {
            quiet,
            json,
            bar: None,
            epoch_started: Instant::now(),
        }
    }

    /// Clears the last bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.epoch_started = Instant::now();
        if self.quiet || self.json {
            return;
        }
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn step(&mut self, r: StepReport) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let elapsed = self.epoch_started.elapsed().as_secs_f64().max(1e-9);
            let done = bar.position() as f64;
            bar.set_message(format!(
                "loss {:.4}  lr {:.2e}  {:.1} steps/s",
                r.loss,
                r.lr,
                done / elapsed
            ));
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        if self.json {
            println!("{}", serde_json::to_string(m).expect("metrics serialise"));
            return;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let monitor: String = m
                .monitor
                .iter()
                .map(|(name, v)| format!("  {name} {v:.4}"))
                .collect();
            eprintln!(
                "epoch {:>3}  loss {:.4}  {:.0} samples/s  {:.1} s{monitor}",
                m.epoch, m.loss, m.samples_per_second, m.seconds
            );
        }
    }

    fn status(&mut self, message: &str) {
        if !self.quiet && !self.json {
            eprintln!("{message}");
        }
    }
}
