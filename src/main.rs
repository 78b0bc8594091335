//! The `contrast` command line.

mod cli;

use clap::Parser;

/// Large arrays are freed and allocated again every step; mimalloc reuses their pages where
/// the system allocator returns them to the kernel and faults fresh ones in (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    cli::run(cli::Cli::parse())
}
