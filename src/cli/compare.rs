//! `contrast compare`: a list of configurations trained with the same budget and seeds,
//! each in its own run folder under `--out`, then `compare.md`, `compare.json`,
//! `compare.csv` and `compare.png` (see `contrast_train::compare`). Run the same command
//! again after an interruption: finished runs are read, not trained again.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use contrast::train::compare::{Comparison, Outcome, compare};
use contrast::train::config::TrainConfig;

use super::progress::Progress;
use super::train::TrainArgs;

/// Arguments of `contrast compare`: the grid (`--losses`, `--negatives`, `--seeds`) or a
/// runs file (`--config` with `[[run]]` tables), and the shared settings as the flags of
/// `contrast train` (`--config` without `[[run]]` is a config file of shared settings).
#[derive(Args, Debug)]
#[command(
    after_help = "Here --config is a config file of the shared settings, or a runs file: \
the shared settings, `seeds = [0, 1]` and one [[run]] table per run with the keys it changes \
(and an optional `name`). --out is the comparison folder (default runs/compare); each run \
trains in OUT/<run>-seed<seed>. Run the same command again after an interruption: finished \
runs are read, an interrupted one resumes from its checkpoint."
)]
pub struct CompareArgs {
    /// Losses to compare, comma-separated (e.g. nt_xent,dcl,hcl); loss-parameter flags go
    /// to the listed losses that take them.
    #[arg(long, value_delimiter = ',')]
    pub losses: Vec<String>,
    /// Seeds of every run, comma-separated (default 0, or the runs file's `seeds`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// The shared settings.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Runs `contrast compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let t = &args.train;
    anyhow::ensure!(
        t.resume.is_none(),
        "compare resumes by itself: run the same command again"
    );
    anyhow::ensure!(
        t.seed.is_none(),
        "compare trains every run with each of --seeds (not --seed)"
    );
    let out = t
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/compare"));
    let file = match &t.config {
        Some(path) => Some((
            path,
            std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?,
        )),
        None => None,
    };
    let lists_runs = file
        .as_ref()
        .is_some_and(|(_, text)| Comparison::is_runs_file(text));
    let mut comparison = if let (true, Some((path, text))) = (lists_runs, &file) {
        anyhow::ensure!(
            args.losses.is_empty() && t.choices.negatives.len() <= 1 && t.choices.loss.is_none(),
            "{} lists the runs: --losses, --loss and a --negatives list build a grid instead",
            path.display()
        );
        Comparison::from_runs_file(
            text,
            |c| {
                t.apply(c)
                    .map_err(|e| contrast::train::Error::Config(e.to_string()))
            },
            out,
        )
        .with_context(|| format!("{}", path.display()))?
    } else {
        let mut base = match &file {
            Some((path, text)) => {
                TrainConfig::from_toml(text).with_context(|| format!("{}", path.display()))?
            }
            None => TrainConfig::default(),
        };
        t.apply_settings(&mut base);
        t.choices.apply_except_loss(&mut base);
        let losses = if args.losses.is_empty() {
            t.choices.apply(&mut base, true)?;
            Vec::new()
        } else {
            t.choices.losses(&args.losses)?
        };
        Comparison::grid(
            base,
            &losses,
            &t.choices.negatives,
            args.seeds.clone().unwrap_or_else(|| vec![0]),
            out,
        )?
    };
    if let Some(seeds) = &args.seeds {
        comparison.seeds = seeds.clone();
    }
    let jobs = comparison.jobs()?;
    if !t.quiet {
        eprintln!(
            "{} runs x {} seeds = {} trainings into {}",
            comparison.runs.len(),
            comparison.seeds.len(),
            jobs.len(),
            comparison.out.display()
        );
        for s in &comparison.skipped {
            eprintln!("left out {}: {}", s.run, s.why);
        }
    }
    let mut progress = Progress::new(t.quiet, t.json);
    let (summary, outcomes) = compare(&comparison, &mut progress)?;
    progress.finish();
    let count = |o: Outcome| outcomes.iter().filter(|&&x| x == o).count();
    if t.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", summary.markdown());
        println!(
            "\ntrained {}, resumed {}, reused {} finished runs; files in {}",
            count(Outcome::Trained),
            count(Outcome::Resumed),
            count(Outcome::Reused),
            comparison.out.display()
        );
    }
    Ok(())
}
