//! Subcommands of `contrast`, one module each. `bench` exists today; `train`, `eval`, `embed`
//! and `info` join [`Command`] as siblings.

mod bench;

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
    /// Time parts of the pipeline (compare with shared/peers/torch_step.py).
    Bench(bench::BenchArgs),
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Bench(args) => bench::run(args),
    }
}
