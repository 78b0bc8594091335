//! The `contrast` command line.

use clap::Parser;

/// Contrastive self-supervised representation learning from scratch.
#[derive(Parser, Debug)]
#[command(name = "contrast", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
