//! `contrast compare`: several configurations trained on one dataset with the same budget
//! and the same seeds, each in its own run folder, then one table.
//!
//! A comparison is a base configuration (the shared budget: dataset, recipe, encoder,
//! epochs, batch, ...), a list of runs (each a few settings that differ from the base: a
//! loss, negatives, ...), and a list of seeds. Run `r` with seed `s` trains in
//! `out/<label of r>-seed<s>` (see [`folder_name`]).
//!
//! **Resuming.** A run is finished when its `report.json` exists; it is then read, never
//! trained again. A run with a checkpoint but no report was interrupted: it resumes from the
//! checkpoint (the same parameters as an uninterrupted run, bit for bit). A run folder that
//! holds another configuration is an error, never overwritten. So an interrupted comparison
//! is finished by running the same command again.
//!
//! **Runs file** (`--config runs.toml`): the base settings as top-level keys (any key of
//! [`TrainConfig`]), `seeds = [0, 1]`, and one `[[run]]` table per run with the settings it
//! changes (and an optional `name`, its folder label):
//!
//! ```toml
//! dataset = "mnist5k"
//! epochs = 10
//! seeds = [0, 1]
//!
//! [[run]]
//! loss = { name = "nt_xent" }
//!
//! [[run]]
//! name = "dcl_w-sharp"
//! loss = { name = "dcl_w", sigma = 0.2 }
//! ```
//!
//! The results: [`summary`] (`compare.md`, `compare.json`, `compare.csv`, `compare.png`).

pub mod summary;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::loss_choice::LossChoice;
use crate::negatives::Negatives;
use crate::recipes::{check_choices, loss_of, negatives_of};
use crate::run::{Observer, train};

pub use summary::{Summary, write_summary};

/// One configuration of a comparison: the settings it changes in the base.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Its name in tables and run folders.
    pub label: String,
    /// The keys it sets, as in a config file.
    pub settings: toml::Table,
}

/// A grid combination the recipe does not take, left out of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The combination.
    pub run: String,
    /// Why it does not apply.
    pub why: String,
}

/// What to compare: the base, the runs, the seeds and where the run folders go.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The shared settings (the budget); its `seed` and `out` are replaced per run.
    pub base: TrainConfig,
    /// The configurations.
    pub runs: Vec<RunSpec>,
    /// Every run trains once per seed.
    pub seeds: Vec<u64>,
    /// The folder of the run folders and the summary files.
    pub out: PathBuf,
    /// Grid combinations that do not apply.
    pub skipped: Vec<Skipped>,
}

/// One run of one seed, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Index into [`Comparison::runs`].
    pub run: usize,
    /// The seed.
    pub seed: u64,
    /// The full configuration (its `out` is the run folder).
    pub config: TrainConfig,
}

/// What happened to a run in this invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Trained from the start.
    Trained,
    /// Continued from its checkpoint.
    Resumed,
    /// Finished before; its report was read.
    Reused,
}

impl Comparison {
    /// Every combination of `losses` and `negatives` (an empty list: the recipe's own) on
    /// `base`, for every seed; combinations the recipe does not take (e.g. `nt_xent` with a
    /// queue) are listed in [`Comparison::skipped`], other bad settings are errors.
    ///
    /// # Errors
    /// No seed, no run that applies, or a setting that is bad on its own.
    pub fn grid(
        base: TrainConfig,
        losses: &[LossChoice],
        negatives: &[Negatives],
        seeds: Vec<u64>,
        out: PathBuf,
    ) -> Result<Self> {
        let losses: Vec<Option<&LossChoice>> = if losses.is_empty() {
            vec![None]
        } else {
            losses.iter().map(Some).collect()
        };
        let negatives: Vec<Option<Negatives>> = if negatives.is_empty() {
            vec![None]
        } else {
            negatives.iter().copied().map(Some).collect()
        };
        let mut runs = Vec::new();
        let mut skipped = Vec::new();
        for loss in &losses {
            for &neg in &negatives {
                let mut settings = toml::Table::new();
                if let Some(loss) = loss {
                    let value = toml::Value::try_from(*loss).expect("losses serialise");
                    settings.insert("loss".into(), value);
                }
                if let Some(neg) = neg {
                    settings.insert("negatives".into(), neg.name().into());
                }
                let config = with_settings(&base, &settings)?;
                let label = grid_label(&config);
                match check_choices(&config) {
                    Ok(()) => runs.push(RunSpec { label, settings }),
                    // Only the combination is at fault when the loss works with some of the
                    // negatives and the negatives with some of the losses.
                    Err(e) if pairs_elsewhere(&base, (*loss, neg), (&losses, &negatives)) => {
                        let why = match e {
                            Error::Config(why) => why,
                            other => other.to_string(),
                        };
                        skipped.push(Skipped { run: label, why })
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let comparison = Self {
            base,
            runs,
            seeds,
            out,
            skipped,
        };
        comparison.jobs()?;
        Ok(comparison)
    }

    /// A runs file (see the module docs); `base` holds the settings given beside it (the
    /// command line's), which the file's top-level keys do not override.
    ///
    /// # Errors
    /// A file that is not TOML, a bad key or value (named), runs with one label, no run.
    pub fn from_runs_file(
        text: &str,
        apply: impl Fn(&mut TrainConfig) -> Result<()>,
        out: PathBuf,
    ) -> Result<Self> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::Config(format!("runs file: {e}")))?;
        let seeds = match table.remove("seeds") {
            None => vec![0],
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_integer().and_then(|i| u64::try_from(i).ok()))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| Error::Config("seeds must be whole numbers >= 0".into()))?,
            Some(other) => {
                return Err(Error::Config(format!(
                    "seeds must be a list such as [0, 1], got {other}"
                )));
            }
        };
        let runs = match table.remove("run") {
            Some(toml::Value::Array(runs)) => runs,
            _ => {
                return Err(Error::Config(
                    "the runs file lists its runs as [[run]] tables".into(),
                ));
            }
        };
        let mut base = TrainConfig::from_toml(&table.to_string())?;
        apply(&mut base)?;
        let mut specs = Vec::new();
        for (i, run) in runs.into_iter().enumerate() {
            let toml::Value::Table(mut settings) = run else {
                return Err(Error::Config(format!("run {} is not a table", i + 1)));
            };
            let name = match settings.remove("name") {
                Some(toml::Value::String(name)) => Some(name),
                None => None,
                Some(other) => {
                    return Err(Error::Config(format!(
                        "run {}: name must be a string, got {other}",
                        i + 1
                    )));
                }
            };
            let config = with_settings(&base, &settings)
                .map_err(|e| Error::Config(format!("run {}: {e}", i + 1)))?;
            let label = name.unwrap_or_else(|| settings_label(&config, &settings));
            specs.push(RunSpec { label, settings });
        }
        let comparison = Self {
            base,
            runs: specs,
            seeds,
            out,
            skipped: Vec::new(),
        };
        comparison.jobs()?;
        Ok(comparison)
    }

    /// Whether `text` is a runs file (it has `[[run]]` tables) rather than a config file.
    pub fn is_runs_file(text: &str) -> bool {
        text.parse::<toml::Table>()
            .is_ok_and(|table| table.contains_key("run"))
    }

    /// Every (run, seed) with its full, validated configuration, in order.
    ///
    /// # Errors
    /// No run or no seed, two runs with one folder, or a run's bad setting.
    pub fn jobs(&self) -> Result<Vec<Job>> {
        if self.runs.is_empty() || self.seeds.is_empty() {
            return Err(Error::Config(format!(
                "nothing to compare: {} runs, {} seeds",
                self.runs.len(),
                self.seeds.len()
            )));
        }
        let mut jobs = Vec::new();
        let mut folders = std::collections::BTreeSet::new();
        for (r, spec) in self.runs.iter().enumerate() {
            for &seed in &self.seeds {
                let mut config = with_settings(&self.base, &spec.settings)
                    .map_err(|e| Error::Config(format!("run {}: {e}", spec.label)))?;
                config.seed = seed;
                let folder = folder_name(&spec.label, seed);
                if !folders.insert(folder.clone()) {
                    return Err(Error::Config(format!(
                        "two runs share the folder {folder}: give them distinct names"
                    )));
                }
                config.out = self.out.join(folder);
                config
                    .validate()
                    .map_err(|e| Error::Config(format!("run {}: {e}", spec.label)))?;
                jobs.push(Job {
                    run: r,
                    seed,
                    config,
                });
            }
        }
        Ok(jobs)
    }
}

/// `base` with the keys of `settings` set, as if both were one config file.
fn with_settings(base: &TrainConfig, settings: &toml::Table) -> Result<TrainConfig> {
    let mut table: toml::Table = base
        .to_toml()
        .parse()
        .map_err(|e: toml::de::Error| Error::Config(e.to_string()))?;
    for (key, value) in settings {
        table.insert(key.clone(), value.clone());
    }
    TrainConfig::from_toml(&table.to_string())
}

/// Whether `loss` applies with one of `all_negatives` and `negatives` with one of
/// `all_losses` (on the base recipe).
fn pairs_elsewhere(
    base: &TrainConfig,
    (loss, negatives): (Option<&LossChoice>, Option<Negatives>),
    (all_losses, all_negatives): (&[Option<&LossChoice>], &[Option<Negatives>]),
) -> bool {
    let fits = |loss: Option<&LossChoice>, negatives: Option<Negatives>| {
        let mut c = base.clone();
        c.loss = loss.cloned().or(c.loss.clone());
        c.negatives = negatives.or(c.negatives);
        check_choices(&c).is_ok()
    };
    all_negatives.iter().any(|&n| fits(loss, n)) && all_losses.iter().any(|&l| fits(l, negatives))
}

/// A grid run's label: its loss and negatives, e.g. `dcl_w(sigma=0.5)-queue`.
fn grid_label(config: &TrainConfig) -> String {
    let loss = loss_of(config).map_or_else(
        || format!("{:?}", config.method).to_lowercase(),
        |l| l.label(),
    );
    let negatives = negatives_of(config).map_or("none", Negatives::name);
    format!("{loss}-{negatives}")
}

/// A runs-file run's label: its settings, `key=value` joined by `-` (the loss by its label).
fn settings_label(config: &TrainConfig, settings: &toml::Table) -> String {
    let parts: Vec<String> = settings
        .iter()
        .map(|(key, value)| match (key.as_str(), value) {
            ("loss", _) => loss_of(config).map_or_else(String::new, |l| l.label()),
            (_, toml::Value::String(s)) => format!("{key}={s}"),
            _ => format!("{key}={value}"),
        })
        .collect();
    if parts.is_empty() {
        "base".into()
    } else {
        parts.join("-")
    }
}

/// The run folder of `label` and `seed`: the label with `(`, `)`, `,`, spaces and path
/// characters made `-` or dropped, then `-seed<seed>`.
pub fn folder_name(label: &str, seed: u64) -> String {
    let mut name = String::new();
    for c in label.chars() {
        match c {
            ')' => {}
            c if c.is_ascii_alphanumeric() || "_.=+-".contains(c) => name.push(c),
            _ => name.push('-'),
        }
    }
    format!("{}-seed{seed}", name.trim_matches('-'))
}

/// Trains (or resumes, or reuses) every job of `comparison` in order, telling `observer`,
/// then writes the summary files into `comparison.out`. Returns the summary and what
/// happened to each job.
///
/// # Errors
/// A run folder that holds another configuration, or any training or writing error (the
/// runs finished before it stay finished).
pub fn compare(
    comparison: &Comparison,
    observer: &mut dyn Observer,
) -> Result<(Summary, Vec<Outcome>)> {
    let jobs = comparison.jobs()?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let label = &comparison.runs[job.run].label;
        let outcome = run_job(job)?;
        let verb = match outcome {
            Outcome::Reused => "finished before, reused",
            Outcome::Resumed => "resuming from its checkpoint",
            Outcome::Trained => "training",
        };
        observer.status(&format!(
            "run {}/{}: {label}, seed {}: {verb}",
            i + 1,
            jobs.len(),
            job.seed
        ));
        if outcome != Outcome::Reused {
            train(&job.config, outcome == Outcome::Resumed, observer)?;
        }
        outcomes.push(outcome);
    }
    let summary = Summary::collect(comparison, &jobs)?;
    write_summary(&comparison.out, &summary)?;
    Ok((summary, outcomes))
}

/// What a job's folder says it needs.
fn run_job(job: &Job) -> Result<Outcome> {
    let dir = &job.config.out;
    let saved = match read_config(dir)? {
        Some(saved) => saved,
        None => return Ok(Outcome::Trained),
    };
    if saved != job.config {
        return Err(Error::Config(format!(
            "{} holds a run with other settings; compare into another --out (or remove it)",
            dir.display()
        )));
    }
    if dir.join("report.json").is_file() {
        return Ok(Outcome::Reused);
    }
    // A checkpoint that does not load (never left by a crash, the writes are atomic)
    // means starting over.
    Ok(match checkpoint::config(&dir.join(checkpoint::FILE)) {
        Ok(at) if at == job.config => Outcome::Resumed,
        _ => Outcome::Trained,
    })
}

/// The `config.toml` of a run folder, when it has one.
fn read_config(dir: &Path) -> Result<Option<TrainConfig>> {
    let path = dir.join("config.toml");
    if !path.is_file() {
        return Ok(None);
    }
    TrainConfig::from_file(&path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TrainConfig {
        TrainConfig {
            dataset: "digits".into(),
            epochs: 2,
            batch_size: 64,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn a_grid_crosses_losses_and_negatives_and_skips_what_does_not_apply() {
        let losses = [
            LossChoice::named("nt_xent").unwrap(),
            LossChoice::named("info_nce").unwrap(),
        ];
        let c = Comparison::grid(
            base(),
            &losses,
            &[Negatives::Batch, Negatives::Queue],
            vec![0, 1],
            PathBuf::from("cmp"),
        )
        .unwrap();
        let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            ["nt_xent-batch", "info_nce-batch", "info_nce-queue"]
        );
        assert_eq!(c.skipped.len(), 1);
        assert_eq!(c.skipped[0].run, "nt_xent-queue");
        assert!(c.skipped[0].why.contains("info_nce"), "{:?}", c.skipped);
        let jobs = c.jobs().unwrap();
        assert_eq!(jobs.len(), 6);
        assert_eq!(jobs[5].config.seed, 1);
        assert_eq!(jobs[5].config.negatives, Some(Negatives::Queue));
        assert_eq!(
            jobs[5].config.out,
            PathBuf::from("cmp/info_nce-queue-seed1")
        );
        assert_eq!(jobs[0].config.epochs, 2);
    }

    #[test]
    fn a_bad_setting_alone_is_an_error_not_a_skip() {
        let mut short = base();
        short.queue_size = 8;
        let e = Comparison::grid(
            short,
            &[LossChoice::named("info_nce").unwrap()],
            &[Negatives::Queue],
            vec![0],
            PathBuf::from("cmp"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("queue_size 8"), "{e}");
        let e = Comparison::grid(base(), &[], &[], vec![], PathBuf::from("x")).unwrap_err();
        assert!(e.to_string().contains("nothing to compare"), "{e}");
    }

    #[test]
    fn a_runs_file_sets_the_base_seeds_and_runs() {
        let text = r#"
            dataset = "digits"
            epochs = 3
            seeds = [4, 5]

            [[run]]
            loss = { name = "dcl_w", sigma = 0.25 }

            [[run]]
            name = "moco"
            method = "moco"
        "#;
        let c = Comparison::from_runs_file(
            text,
            |c| {
                c.batch_size = 64;
                Ok(())
            },
            PathBuf::from("out"),
        )
        .unwrap();
        assert_eq!(c.seeds, vec![4, 5]);
        assert_eq!(c.runs[0].label, "dcl_w(sigma=0.25)");
        let jobs = c.jobs().unwrap();
        assert_eq!(jobs[0].config.loss, Some(LossChoice::DclW { sigma: 0.25 }));
        assert_eq!((jobs[0].config.epochs, jobs[0].config.batch_size), (3, 64));
        assert_eq!(
            jobs[0].config.out,
            PathBuf::from("out/dcl_w-sigma=0.25-seed4")
        );
        assert_eq!(jobs[3].config.method, crate::config::Method::Moco);
        assert_eq!(jobs[3].config.out, PathBuf::from("out/moco-seed5"));

        for (bad, expect) in [
            ("[[run]]\nepochz = 1\n", "epochz"),
            ("[[run]]\nloss = { name = \"dcl\", beta = 1 }\n", "hcl"),
            ("seeds = [-1]\n[[run]]\n", "seeds"),
            ("epochs = 2\n", "[[run]]"),
            (
                "[[run]]\nname = \"a\"\n[[run]]\nname = \"a\"\n",
                "share the folder",
            ),
        ] {
            let e = Comparison::from_runs_file(bad, |_| Ok(()), PathBuf::from("o"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{bad}: {e}");
        }
    }

    #[test]
    fn folder_names_are_plain() {
        assert_eq!(
            folder_name("dcl_w(sigma=0.5)-queue", 3),
            "dcl_w-sigma=0.5-queue-seed3"
        );
        assert_eq!(
            folder_name("align_uniform(alpha=2,t=2)", 0),
            "align_uniform-alpha=2-t=2-seed0"
        );
        assert_eq!(folder_name("a/b c", 1), "a-b-c-seed1");
    }
}
