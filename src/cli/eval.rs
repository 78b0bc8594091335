//! `contrast eval --checkpoint FILE`: the task's probes of a trained encoder beside its
//! baselines (for images: kNN, linear probe, alignment and uniformity; raw pixels).

use std::path::PathBuf;

use clap::Args;
use contrast::train::run::{evaluate, restore};

/// Arguments of `contrast eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A `checkpoint.safetensors` written by `contrast train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Evaluate on another dataset than the one trained on (same image shape).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `contrast eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let (mut trainer, task) = restore(&args.checkpoint, args.dataset.as_deref())?;
    let report = evaluate(task.as_ref(), &mut trainer, None)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("dataset {}", trainer.config.dataset);
        print!("{}", report.table());
    }
    Ok(())
}
