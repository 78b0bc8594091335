//! `contrast embed --checkpoint FILE --dataset SPEC --out FILE.npy`: encoder features of a
//! split as a float32 `.npy` matrix (one row per image, in dataset order).

use std::path::PathBuf;

use clap::Args;
use contrast::nn::param_file::write_atomically;
use contrast::train::npy;
use contrast::train::run::restore;
use contrast::train::tasks::Split;

/// Arguments of `contrast embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// A `checkpoint.safetensors` written by `contrast train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Dataset to embed (default: the one trained on).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Split to embed.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Output `.npy` file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `contrast embed`.
pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.out.extension().is_some_and(|e| e == "npy"),
        "--out must name a .npy file, got {}",
        args.out.display()
    );
    let (mut trainer, task) = restore(&args.checkpoint, args.dataset.as_deref())?;
    let features = task.embed(&mut trainer, args.split)?;
    write_atomically(&args.out, &npy::encode_f32(features.view()))?;
    println!(
        "{} rows x {} features -> {}",
        features.nrows(),
        features.ncols(),
        args.out.display()
    );
    Ok(())
}
