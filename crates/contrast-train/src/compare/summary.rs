//! The results of a comparison, one row per run: each probe's mean and spread over the
//! seeds (the spread is the sample standard deviation, `n - 1` in the denominator; `min`
//! and `max` are kept too), and the mean training time. Written as
//!
//! | file | what |
//! |---|---|
//! | `compare.md` | the table, the budget, the baselines, the combinations left out |
//! | `compare.json` | everything, per-seed values included ([`Summary`]) |
//! | `compare.csv` | the table, one row per run |
//! | `compare.png` | horizontal bars of every probe's mean with +- one standard deviation |

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Comparison, Job, Skipped};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::eval::report::{Report, TRAINED};
use crate::metrics::from_json_lines;
use crate::plot::{BarGroup, bar_chart_png};
use crate::recipes::{loss_of, negatives_of};
use crate::run::write;

/// How the spread over seeds is measured (said in every file).
pub const SPREAD: &str = "sample standard deviation over seeds (n - 1 in the denominator)";

/// Mean, spread and range of one probe over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds (0 for one seed).
    pub std: f64,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
}

impl Stats {
    /// The statistics of `values` (at least one).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self {
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// One configuration over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The run's label.
    pub run: String,
    /// Recipe.
    pub method: String,
    /// Loss, with its parameters.
    pub loss: String,
    /// Negatives.
    pub negatives: String,
    /// Views per sample.
    pub views: String,
    /// The run folders, one per seed (relative to the comparison folder).
    pub folders: Vec<String>,
    /// `values[s][c]`: probe `c` of seed `s`.
    pub values: Vec<Vec<f64>>,
    /// Per probe, over the seeds.
    pub stats: Vec<Stats>,
    /// Mean seconds of training per seed (the epochs and their kNN monitor; not the final
    /// evaluation). Differs from machine to machine and between invocations.
    pub train_seconds: f64,
}

/// A baseline of the first run (same data for all): mean and spread over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// `random encoder`, `raw pixels`, ...
    pub features: String,
    /// Per probe.
    pub stats: Vec<Stats>,
}

/// Everything a comparison found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The dataset.
    pub dataset: String,
    /// The shared settings in words.
    pub budget: String,
    /// The seeds of every run.
    pub seeds: Vec<u64>,
    /// The probes.
    pub columns: Vec<String>,
    /// How the spread is measured.
    pub spread: String,
    /// One row per run, in order.
    pub rows: Vec<Row>,
    /// The first run's baselines.
    pub baselines: Vec<Baseline>,
    /// Grid combinations left out.
    pub skipped: Vec<Skipped>,
}

impl Summary {
    /// Reads every job's `report.json` and `metrics.jsonl` into the table.
    ///
    /// # Errors
    /// A missing or unreadable report, or reports with other columns.
    pub fn collect(comparison: &Comparison, jobs: &[Job]) -> Result<Self> {
        let mut rows = Vec::new();
        let mut columns: Option<Vec<String>> = None;
        let mut baselines: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
        for (r, spec) in comparison.runs.iter().enumerate() {
            let mine: Vec<&Job> = jobs.iter().filter(|j| j.run == r).collect();
            let mut values = Vec::new();
            let mut seconds = 0.0;
            for job in &mine {
                let report = read_report(&job.config.out)?;
                match &columns {
                    None => columns = Some(report.columns.clone()),
                    Some(c) if *c != report.columns => {
                        return Err(Error::Config(format!(
                            "{}: report columns {:?} differ from {c:?}",
                            job.config.out.display(),
                            report.columns
                        )));
                    }
                    Some(_) => {}
                }
                values.push(report.trained().to_vec());
                seconds += train_seconds(&job.config.out)?;
                if r == 0 {
                    for row in report.rows.iter().filter(|row| row.features != TRAINED) {
                        match baselines.iter_mut().find(|(f, _)| *f == row.features) {
                            Some((_, v)) => v.push(row.values.clone()),
                            None => {
                                baselines.push((row.features.clone(), vec![row.values.clone()]))
                            }
                        }
                    }
                }
            }
            let config = &mine[0].config;
            rows.push(Row {
                run: spec.label.clone(),
                method: format!("{:?}", config.method).to_lowercase(),
                loss: loss_of(config).map_or_else(|| "(recipe's own)".into(), |l| l.describe()),
                negatives: negatives_of(config).map_or("none", |n| n.name()).into(),
                views: config.views.to_string(),
                folders: mine
                    .iter()
                    .map(|j| {
                        j.config
                            .out
                            .file_name()
                            .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
                    })
                    .collect(),
                stats: per_column(&values),
                values,
                train_seconds: seconds / mine.len() as f64,
            });
        }
        Ok(Self {
            dataset: comparison.base.dataset.clone(),
            budget: budget(&comparison.base),
            seeds: comparison.seeds.clone(),
            columns: columns.unwrap_or_default(),
            spread: SPREAD.into(),
            rows,
            baselines: baselines
                .into_iter()
                .map(|(features, values)| Baseline {
                    features,
                    stats: per_column(&values),
                })
                .collect(),
            skipped: comparison.skipped.clone(),
        })
    }

    /// `compare.md`.
    pub fn markdown(&self) -> String {
        let seeds: Vec<String> = self.seeds.iter().map(u64::to_string).collect();
        let mut md = format!(
            "# Comparison on {}\n\nBudget of every run: {}; seeds {}.\n\nEach cell: mean +- {}, \
             {} seeds. Train time: mean seconds per run (epochs and their kNN monitor, not the \
             final evaluation).\n\n",
            self.dataset,
            self.budget,
            seeds.join(", "),
            SPREAD,
            self.seeds.len()
        );
        let header: Vec<&str> = ["run", "loss", "negatives", "views"]
            .into_iter()
            .chain(self.columns.iter().map(String::as_str))
            .chain(["train time (s)"])
            .collect();
        md.push_str(&table_row(&header));
        let rule: Vec<&str> = (0..header.len())
            .map(|i| if i < 4 { "---" } else { "---:" })
            .collect();
        md.push_str(&table_row(&rule));
        for row in &self.rows {
            let mut cells = vec![
                row.run.clone(),
                row.loss.clone(),
                row.negatives.clone(),
                row.views.clone(),
            ];
            cells.extend(row.stats.iter().map(cell));
            cells.push(format!("{:.1}", row.train_seconds));
            md.push_str(&table_row(&cells));
        }
        if !self.baselines.is_empty() {
            md.push_str("\nBaselines (the first run's seeds; the same data for every run):\n\n");
            let header: Vec<&str> = ["features"]
                .into_iter()
                .chain(self.columns.iter().map(String::as_str))
                .collect();
            md.push_str(&table_row(&header));
            let rule: Vec<&str> = (0..header.len())
                .map(|i| if i == 0 { "---" } else { "---:" })
                .collect();
            md.push_str(&table_row(&rule));
            for b in &self.baselines {
                let mut cells = vec![b.features.clone()];
                cells.extend(b.stats.iter().map(cell));
                md.push_str(&table_row(&cells));
            }
        }
        if !self.skipped.is_empty() {
            md.push_str("\nLeft out (the recipe does not take the combination):\n\n");
            for s in &self.skipped {
                md.push_str(&format!("- `{}`: {}\n", s.run, s.why));
            }
        }
        md
    }

    /// `compare.csv`: one row per run, each probe's mean and standard deviation.
    pub fn csv(&self) -> String {
        let mut header = vec![
            "run".to_string(),
            "method".into(),
            "loss".into(),
            "negatives".into(),
            "views".into(),
            "seeds".into(),
        ];
        for c in &self.columns {
            header.push(format!("{c} mean"));
            header.push(format!("{c} std"));
        }
        header.push("train seconds".into());
        let mut text = csv_line(&header);
        for row in &self.rows {
            let mut cells = vec![
                row.run.clone(),
                row.method.clone(),
                row.loss.clone(),
                row.negatives.clone(),
                row.views.clone(),
                row.values.len().to_string(),
            ];
            for s in &row.stats {
                cells.push(s.mean.to_string());
                cells.push(s.std.to_string());
            }
            cells.push(format!("{:.3}", row.train_seconds));
            text.push_str(&csv_line(&cells));
        }
        text
    }

    /// `compare.png`: every run's probes as bars with their spread.
    pub fn chart(&self) -> Result<Vec<u8>> {
        let groups: Vec<BarGroup> = self
            .rows
            .iter()
            .map(|row| BarGroup {
                label: row.run.clone(),
                bars: row.stats.iter().map(|s| (s.mean, s.std)).collect(),
            })
            .collect();
        let height = (140 + 26 * self.rows.len() * self.columns.len().max(1)) as u32;
        bar_chart_png(
            &format!(
                "{}: mean +- sample std over {} seeds",
                self.dataset,
                self.seeds.len()
            ),
            "accuracy",
            &self.columns,
            &groups,
            (960, height.clamp(360, 4000)),
        )
    }
}

/// Writes `compare.md`, `compare.json`, `compare.csv` and `compare.png` into `out`.
pub fn write_summary(out: &Path, summary: &Summary) -> Result<()> {
    write(&out.join("compare.md"), summary.markdown().as_bytes())?;
    let json = serde_json::to_string_pretty(summary).expect("summaries serialise");
    write(&out.join("compare.json"), json.as_bytes())?;
    write(&out.join("compare.csv"), summary.csv().as_bytes())?;
    write(&out.join("compare.png"), &summary.chart()?)
}

fn per_column(values: &[Vec<f64>]) -> Vec<Stats> {
    let columns = values.first().map_or(0, Vec::len);
    (0..columns)
        .map(|c| Stats::of(&values.iter().map(|v| v[c]).collect::<Vec<_>>()))
        .collect()
}

fn cell(s: &Stats) -> String {
    format!("{:.4} +- {:.4}", s.mean, s.std)
}

fn table_row(cells: &[impl AsRef<str>]) -> String {
    let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// A CSV line with every field quoted (labels hold commas).
fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    format!("{}\n", quoted.join(","))
}

/// The shared settings that decide the budget, in words.
fn budget(c: &TrainConfig) -> String {
    format!(
        "method {}, encoder {:?}, {} epochs, batch {}, temperature {}, lr {}, projection {}, \
         views {}, queue {}",
        format!("{:?}", c.method).to_lowercase(),
        c.encoder,
        c.epochs,
        c.batch_size,
        c.temperature,
        c.lr,
        c.projection_dim,
        c.views,
        c.queue_size
    )
    .to_lowercase()
}

fn read_report(dir: &Path) -> Result<Report> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

/// Seconds of the epochs in `metrics.jsonl`.
fn train_seconds(dir: &Path) -> Result<f64> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let epochs =
        from_json_lines(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(epochs.iter().map(|m| m.seconds).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_use_the_sample_standard_deviation() {
        let s = Stats::of(&[0.9, 0.8]);
        assert!((s.mean - 0.85).abs() < 1e-12);
        assert!((s.std - 0.1 / 2f64.sqrt()).abs() < 1e-12, "{}", s.std);
        assert_eq!((s.min, s.max), (0.8, 0.9));
        assert_eq!(Stats::of(&[0.5]).std, 0.0);
    }

    fn summary() -> Summary {
        Summary {
            dataset: "digits".into(),
            budget: "2 epochs".into(),
            seeds: vec![0, 1],
            columns: vec!["kNN k=200".into(), "linear probe".into()],
            spread: SPREAD.into(),
            rows: vec![Row {
                run: "align_uniform(alpha=2,t=2)-batch".into(),
                method: "simclr".into(),
                loss: "align_uniform(alpha=2,t=2)".into(),
                negatives: "batch".into(),
                views: "2".into(),
                folders: vec!["a-seed0".into(), "a-seed1".into()],
                values: vec![vec![0.9, 0.8], vec![0.7, 0.6]],
                stats: per_column(&[vec![0.9, 0.8], vec![0.7, 0.6]]),
                train_seconds: 3.25,
            }],
            baselines: vec![Baseline {
                features: "raw pixels".into(),
                stats: per_column(&[vec![0.5, 0.6]]),
            }],
            skipped: vec![Skipped {
                run: "nt_xent-queue".into(),
                why: "no".into(),
            }],
        }
    }

    #[test]
    fn the_files_say_the_spread_and_hold_every_row() {
        let s = summary();
        let md = s.markdown();
        assert!(md.contains(SPREAD), "{md}");
        assert!(md.contains("| align_uniform(alpha=2,t=2)-batch |"), "{md}");
        assert!(md.contains("0.8000 +- 0.1414"), "{md}");
        assert!(
            md.contains("raw pixels") && md.contains("nt_xent-queue"),
            "{md}"
        );
        let csv = s.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"kNN k=200 std\""), "{csv}");
        assert!(
            lines[1].starts_with("\"align_uniform(alpha=2,t=2)-batch\","),
            "{csv}"
        );
        let png = s.chart().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Summary>(&json).unwrap(), s);
    }
}
