//! Trains the temporal recipe with several settings on one loaded data set and prints the
//! trained encoder's probes for each (no baselines: they do not depend on the settings), the
//! seconds per step, and the per-epoch monitor: the way to compare settings before changing
//! the defaults of `TrainConfig::for_dataset("cartpole")`.
//!
//! ```sh
//! cargo run --release -p contrast-train --example temporal_sweep -- cartpole \
//!     "epochs = 4" "epochs = 4
//! target_momentum = 0.99"
//! ```
//!
//! Each argument after the dataset is a TOML document over the dataset's defaults; a line
//! `no_target = true` drops the EMA target encoder (the CLI's `--no-target`).

use std::time::Instant;

use contrast_train::config::TrainConfig;
use contrast_train::tasks::Task;
use contrast_train::tasks::temporal::Temporal;
use contrast_train::trainer::Trainer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dataset = args.next().unwrap_or_else(|| "cartpole".into());
    let base = TrainConfig::for_dataset(&dataset);
    let variants: Vec<String> = args.collect();
    let started = Instant::now();
    let task = Temporal::load(&base)?;
    eprintln!(
        "data: {} train / {} test transitions ({:.1} s)",
        task.train().num_transitions(),
        task.test().num_transitions(),
        started.elapsed().as_secs_f64()
    );
    for text in if variants.is_empty() {
        vec![String::new()]
    } else {
        variants
    } {
        // `no_target = true` (a line of its own) drops the dataset's EMA target encoder, as
        // the CLI's `--no-target` does; TOML has no way to unset a value.
        let no_target = text.lines().any(|l| l.trim() == "no_target = true");
        let toml: String = text
            .lines()
            .filter(|l| l.trim() != "no_target = true")
            .collect::<Vec<_>>()
            .join("\n");
        let mut config = TrainConfig::from_toml_over(&base, &toml)?;
        if no_target {
            config.target_momentum = None;
        }
        config.validate()?;
        // Settings that shape the data need their own data set.
        let loaded;
        let task = if config.temporal().data() == base.temporal().data() {
            &task
        } else {
            loaded = Temporal::load(&config)?;
            &loaded
        };
        let mut trainer = Trainer::new(&config, task)?;
        let mut step_seconds = 0.0;
        for epoch in 0..config.epochs {
            let t = Instant::now();
            let loss = trainer.epoch(epoch, |_| {})?;
            step_seconds += t.elapsed().as_secs_f64();
            let monitor = task.monitor(&mut trainer)?;
            let shown: Vec<String> = monitor.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            eprintln!("  epoch {} loss {loss:.4}  {}", epoch + 1, shown.join("  "));
        }
        let scores = task.score(&mut trainer)?;
        let columns = task.columns();
        println!("--- {}", text.replace('\n', "; "));
        println!(
            "steps {}  {:.3} s/step",
            trainer.steps_done,
            step_seconds / trainer.steps_done.max(1) as f64
        );
        for (c, v) in columns.iter().zip(&scores) {
            println!("  {c:<20} {v:.4}");
        }
        for (k, v) in task.extras(&mut trainer)? {
            println!("  {k:<20} {v:.4}");
        }
    }
    Ok(())
}
