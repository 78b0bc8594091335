//! A whole training run and its folder:
//!
//! | file | what |
//! |---|---|
//! | `config.toml` | the resolved configuration (run it again with `--config`) |
//! | `metrics.jsonl` | one JSON object per epoch: loss, learning rate, kNN accuracy, throughput |
//! | `checkpoint.safetensors` | the state after the last finished epoch (`--resume`) |
//! | `report.json` | the final evaluation beside its two baselines |
//! | `embeddings.npy` | encoder features of the test split, `(n, d)` float32 |
//! | `loss.png`, `knn.png`, `pca.png` | loss and kNN accuracy per epoch; 2-D PCA of the test embeddings |
//!
//! Every file is written to a temporary file and renamed into place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use contrast_nn::param_file::write_atomically;
use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::config::TrainConfig;
use crate::distributed::Ranks;
use crate::error::{Error, Result};
use crate::eval::report::{RANDOM, Report, Row, TRAINED};
use crate::metrics::{EpochMetrics, from_json_lines, to_json_lines};
use crate::npy;
use crate::plot::{Series, line_chart_png};
use crate::tasks::{self, Split, Task};
use crate::trainer::{StepReport, Trainer};

/// What a run tells its observer (the CLI's progress bars, or nothing).
pub trait Observer {
    /// An epoch (from 1) of `steps` steps begins.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// A step finished.
    fn step(&mut self, _report: StepReport) {}
    /// An epoch finished.
    fn epoch_finished(&mut self, _metrics: &EpochMetrics) {}
    /// A free-form status line (evaluation, files written).
    fn status(&mut self, _message: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// What a finished run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run folder.
    pub out: PathBuf,
    /// Per-epoch metrics.
    pub epochs: Vec<EpochMetrics>,
    /// The final evaluation.
    pub report: Report,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// Trains per `config` into `config.out`; with `resume`, continues from the folder's
/// checkpoint (whose configuration must equal `config`).
pub fn train(
    config: &TrainConfig,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<RunSummary> {
    train_on(config, resume, observer, None)
}

/// [`train`] as one of the `ranks` of a data-parallel run (`None`: this process alone).
/// Every rank trains; rank 0 alone evaluates and writes the run folder, and only its
/// summary holds the report (the others return an empty one).
pub fn train_on(
    config: &TrainConfig,
    resume: bool,
    observer: &mut dyn Observer,
    ranks: Option<Ranks>,
) -> Result<RunSummary> {
    let started = Instant::now();
    config.validate()?;
    let task = tasks::load(config)?;
    let mut summary = train_task(task.as_ref(), config, resume, observer, ranks)?;
    // The whole run: loading (or generating) the data included.
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// [`train_on`] with a task already loaded (e.g. one built in memory).
pub fn train_task(
    task: &dyn Task,
    config: &TrainConfig,
    resume: bool,
    observer: &mut dyn Observer,
    ranks: Option<Ranks>,
) -> Result<RunSummary> {
    let started = Instant::now();
    config.validate()?;
    let out = config.out.clone();
    let mut trainer = Trainer::new(config, task)?;
    let root = ranks.as_ref().is_none_or(Ranks::is_root);
    if let Some(ranks) = ranks {
        observer.status(&format!("data-parallel: {ranks:?}"));
        trainer.distribute(ranks)?;
    }
    observer.status(&trainer.placement.description);

    // Baseline before any step: the same encoder at its random initialisation.
    let random_scores = if root {
        observer.status("evaluating the random encoder baseline");
        task.score(&mut trainer)?
    } else {
        Vec::new()
    };

    let checkpoint_path = out.join(checkpoint::FILE);
    let metrics_path = out.join("metrics.jsonl");
    let mut history = Vec::new();
    let mut first_epoch = 0;
    if resume {
        let saved = checkpoint::config(&checkpoint_path)?;
        if &saved != config {
            return Err(Error::Config(format!(
                "--resume: the configuration differs from the one in {}; resume with the same \
                 settings (or no flags: they are read from the run folder)",
                checkpoint_path.display()
            )));
        }
        first_epoch = checkpoint::load(&checkpoint_path, &mut trainer)?.epochs;
        history = read_metrics(&metrics_path)?;
        history.truncate(first_epoch);
    }
    // Nothing is written before every setting, the data and the device are known to be good.
    if root {
        std::fs::create_dir_all(&out).map_err(|source| Error::Io {
            path: out.clone(),
            source,
        })?;
        // A killed run may have left half-written temporaries beside its files.
        contrast_nn::param_file::remove_stale_temporaries(&out)?;
        write(&out.join("config.toml"), config.to_toml().as_bytes())?;
    }

    for epoch in first_epoch..config.epochs {
        let epoch_started = Instant::now();
        observer.epoch_started(epoch + 1, config.epochs, trainer.steps_per_epoch());
        let loss = trainer.epoch(epoch, |r| observer.step(r))?;
        let samples = trainer.steps_per_epoch() * config.batch_size;
        let train_seconds = epoch_started.elapsed().as_secs_f64();
        let last = epoch + 1 == config.epochs;
        let monitor = if root && (last || (epoch + 1) % config.eval_every == 0) {
            task.monitor(&mut trainer)?.into_iter().collect()
        } else {
            BTreeMap::new()
        };
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            loss,
            lr: f64::from(contrast_nn::optim::Optimizer::lr(&trainer.optimizer)),
            monitor,
            samples_per_second: samples as f64 / train_seconds.max(1e-9),
            seconds: epoch_started.elapsed().as_secs_f64(),
        };
        history.push(metrics.clone());
        if root {
            write(&metrics_path, to_json_lines(&history).as_bytes())?;
            if last || (epoch + 1) % config.checkpoint_every == 0 {
                checkpoint::save(&checkpoint_path, &trainer, epoch + 1)?;
            }
        }
        observer.epoch_finished(&metrics);
    }
    if !root {
        return Ok(RunSummary {
            out,
            epochs: history,
            report: Report::default(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    observer.status("final evaluation: probes, baselines");
    let report = evaluate(task, &mut trainer, Some(random_scores))?;
    write(
        &out.join("report.json"),
        serde_json::to_string_pretty(&report)
            .expect("serialises")
            .as_bytes(),
    )?;
    let test_features = task.embed(&mut trainer, Split::Test)?;
    write(
        &out.join("embeddings.npy"),
        &npy::encode_f32(test_features.view()),
    )?;
    write_loss_plot(&out, &history)?;
    task.plots(&out, &mut trainer, &history, &test_features)?;
    Ok(RunSummary {
        out,
        epochs: history,
        report,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A trained model loaded from a checkpoint, with its task (the data it was trained on, or
/// the dataset named by `dataset`, when given).
pub fn restore(checkpoint_path: &Path, dataset: Option<&str>) -> Result<(Trainer, Box<dyn Task>)> {
    let mut config = checkpoint::config(checkpoint_path)?;
    if let Some(spec) = dataset {
        config.dataset = spec.to_string();
    }
    // Evaluation runs on the CPU: it is a few forward passes.
    config.device = crate::config::Device::Cpu;
    let task = tasks::load(&config)?;
    let mut trainer = Trainer::new(&config, task.as_ref())?;
    checkpoint::load(checkpoint_path, &mut trainer)?;
    Ok((trainer, task))
}

/// The report of the trainer's encoder on `task`: its row, the random encoder's (given, or
/// left out), the task's baselines, and the extras.
pub fn evaluate(
    task: &dyn Task,
    trainer: &mut Trainer,
    random_encoder: Option<Vec<f64>>,
) -> Result<Report> {
    let mut rows = vec![Row {
        features: TRAINED.into(),
        values: task.score(trainer)?,
    }];
    if let Some(values) = random_encoder {
        rows.push(Row {
            features: RANDOM.into(),
            values,
        });
    }
    rows.extend(task.baselines(&trainer.config)?);
    Ok(Report {
        columns: task.columns(),
        rows,
        extras: task.extras(trainer)?.into_iter().collect(),
    })
}

fn write_loss_plot(out: &Path, history: &[EpochMetrics]) -> Result<()> {
    let loss = Series {
        name: "training loss".to_string(),
        points: history.iter().map(|m| (m.epoch as f64, m.loss)).collect(),
    };
    write(
        &out.join("loss.png"),
        &line_chart_png("Loss per epoch", "epoch", "loss", &[loss], (800, 500))?,
    )
}

fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            from_json_lines(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(write_atomically(path, bytes)?)
}
