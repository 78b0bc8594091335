//! `contrast eval --checkpoint FILE`: kNN, linear probe and geometry of a trained encoder.

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
    let (mut trainer, data) = restore(&args.checkpoint, args.dataset.as_deref())?;
    let (evaluation, _) = evaluate(&mut trainer, &data.train, &data.test)?;
    if args.json {
        println!("{}", serde_json::to_string(&evaluation)?);
    } else {
        let s = evaluation.scores;
        println!(
            "dataset {} (train {} / test {})",
            trainer.config.dataset,
            data.train.len(),
            data.test.len()
        );
        println!("kNN k=200 T=0.1   {:.4}", s.knn_200);
        println!("kNN k=20 T=0.07   {:.4}", s.knn_20);
        println!("linear probe      {:.4}", s.linear_probe);
        println!(
            "alignment {:.4}  uniformity {:.4}",
            evaluation.alignment, evaluation.uniformity
        );
    }
    Ok(())
}
