//! `contrast bench step --model mlp|cnn [--batch 256] [--threads N]`: the median SimCLR
//! training step of the benchmark models (see [`super::simclr_step`]).

use anyhow::Context;
use clap::{Args, Subcommand};

use super::simclr_step::{SimclrStep, StepModel, set_threads, time_steps};

/// Arguments of `contrast bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to time.
    #[command(subcommand)]
    pub what: BenchCommand,
}

/// Benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// One SimCLR step (forward two views, NT-Xent T=0.5, backward, SGD momentum 0.9).
    Step(StepArgs),
    /// The trainer's step on one batch, plain or in cached-gradient chunks, with peak memory.
    TrainStep(super::bench_train_step::TrainStepArgs),
}

/// Arguments of `contrast bench step`.
#[derive(Args, Debug)]
pub struct StepArgs {
    /// Model to train.
    #[arg(long, value_enum)]
    pub model: StepModel,
    /// Images per batch (two views each, so twice as many rows).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Worker threads (default: rayon's choice, RAYON_NUM_THREADS or all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub iters: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Seed of the weights and the random batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Run `contrast bench ...`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchCommand::Step(a) => step(a),
        BenchCommand::TrainStep(a) => super::bench_train_step::run(a),
    }
}

fn step(a: StepArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.batch > 0, "--batch must be at least 1");
    anyhow::ensure!(a.iters > 0, "--iters must be at least 1");
    if let Some(n) = a.threads {
        set_threads(n)?;
    }
    let mut s =
        SimclrStep::new(a.model, a.batch, a.seed).context("building the benchmark model")?;
    let params = s.num_params();
    let t = time_steps(|| s.step(), a.warmup, a.iters).context("running the step")?;
    let name = format!("{:?}", a.model).to_lowercase();
    println!(
        "{name:4} sgd params={:8} batch={} (2 views -> {} rows) threads={} median_step={:8.2} ms (min {:.2}, max {:.2})  steps/s={:7.2}  images/s={:9.1}  last_loss={:.4}",
        params,
        a.batch,
        2 * a.batch,
        rayon::current_num_threads(),
        t.median_ms,
        t.min_ms,
        t.max_ms,
        1e3 / t.median_ms,
        a.batch as f64 * 1e3 / t.median_ms,
        t.last_loss
    );
    Ok(())
}
