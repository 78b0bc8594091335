//! Subcommands of `contrast`, one module each.

mod bench;
mod bench_train_step;
mod choices;
mod compare;
mod embed;
mod eval;
mod info;
mod progress;
mod simclr_step;
mod train;

use clap::{Parser, Subcommand};

/// Contrastive self-supervised representation learning from scratch.
#[derive(Parser, Debug)]
#[command(name = "contrast", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train an encoder without labels (default: SimCLR, small CNN, embedded MNIST subset).
    Train(train::TrainArgs),
    /// Evaluate a checkpoint: kNN, linear probe, alignment and uniformity.
    Eval(eval::EvalArgs),
    /// Write a checkpoint's features of a dataset split to a .npy file.
    Embed(embed::EmbedArgs),
    /// Show the datasets found and the GPU adapter.
    Info(info::InfoArgs),
    /// Time parts of the pipeline (compare with scripts/peer_step.py).
    Bench(bench::BenchArgs),
    /// Train several configurations (losses, negatives, seeds) on one budget and compare them.
    Compare(compare::CompareArgs),
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Info(args) => info::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Compare(args) => compare::run(args),
    }
}
