//! `contrast embed --checkpoint FILE --dataset SPEC --out FILE.npy`: encoder features of a
//! split as a float32 `.npy` matrix (one row per image, in dataset order; for text, the
//! split's left sentences then its right ones).
//! With `--text FILE` (a model trained on text), one row per line of `FILE` instead.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use contrast::nn::param_file::write_atomically;
use contrast::train::npy;
use contrast::train::run::restore;
use contrast::train::tasks::text::embed_texts;
use contrast::train::tasks::{InputSpec, Split};

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
    /// Text model: embed every line of this UTF-8 file (one row per line) instead of a split.
    #[arg(long)]
    pub text: Option<PathBuf>,
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
    // Read before the model, so a bad file costs nothing and writes nothing.
    let lines = match &args.text {
        Some(path) => Some(read_lines(path)?),
        None => None,
    };
    let (mut trainer, task) = restore(&args.checkpoint, args.dataset.as_deref())?;
    let features = match &lines {
        Some(lines) => {
            anyhow::ensure!(
                matches!(task.input(), InputSpec::Bags { .. }),
                "--text needs a model trained on text; {} was trained on {}",
                args.checkpoint.display(),
                trainer.config.dataset
            );
            embed_texts(&mut trainer, lines)?
        }
        None => task.embed(&mut trainer, args.split)?,
    };
    write_atomically(&args.out, &npy::encode_f32(features.view()))?;
    println!(
        "{} rows x {} features -> {}",
        features.nrows(),
        features.ncols(),
        args.out.display()
    );
    Ok(())
}

/// The lines of a UTF-8 text file (without their `\n` or `\r\n`); invalid UTF-8 is an
/// error naming the file and line.
fn read_lines(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("--text {}", path.display()))?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    anyhow::ensure!(
        !body.is_empty(),
        "--text {}: the file is empty",
        path.display()
    );
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8(line.to_vec()).map_err(|_| {
                anyhow::anyhow!("--text {}: line {}: invalid UTF-8", path.display(), i + 1)
            })
        })
        .collect()
}
