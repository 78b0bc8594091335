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

use std::path::{Path, PathBuf};
use std::time::Instant;

use contrast_data::Dataset;
use contrast_nn::param_file::write_atomically;
use serde::{Deserialize, Serialize};

use crate::augmentation::views_for;
use crate::checkpoint;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::eval::features::encode;
use crate::eval::knn::{KnnConfig, knn_accuracy};
use crate::eval::pca::pca;
use crate::eval::report::{Report, geometry, pixel_scores, scores};
use crate::metrics::{EpochMetrics, from_json_lines, to_json_lines};
use crate::npy;
use crate::plot::{Series, line_chart_png, scatter_png};
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
    let started = Instant::now();
    config.validate()?;
    let data = contrast_data::resolve(&config.dataset)?;
    let (train_set, test_set) = (&data.train, &data.test);
    let out = config.out.clone();
    let mut trainer = Trainer::new(config, train_set)?;
    observer.status(&trainer.placement.description);

    // Baseline before any step: the same encoder at its random initialisation.
    observer.status("evaluating the random encoder baseline");
    let random_train = encode(&mut trainer.g, &mut trainer.model, train_set)?;
    let random_test = encode(&mut trainer.g, &mut trainer.model, test_set)?;
    let random_scores = scores(
        random_train.view(),
        train_set,
        random_test.view(),
        test_set,
        config.probe_epochs,
        config.seed,
    )?;

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
    std::fs::create_dir_all(&out).map_err(|source| Error::Io {
        path: out.clone(),
        source,
    })?;
    // A killed run may have left half-written temporaries beside its files.
    contrast_nn::param_file::remove_stale_temporaries(&out)?;
    write(&out.join("config.toml"), config.to_toml().as_bytes())?;

    for epoch in first_epoch..config.epochs {
        let epoch_started = Instant::now();
        observer.epoch_started(epoch + 1, config.epochs, trainer.steps_per_epoch());
        let loss = trainer.epoch(train_set, epoch, |r| observer.step(r))?;
        let samples = trainer.steps_per_epoch() * config.batch_size;
        let train_seconds = epoch_started.elapsed().as_secs_f64();
        let last = epoch + 1 == config.epochs;
        let knn = if last || (epoch + 1) % config.eval_every == 0 {
            Some(knn_of(&mut trainer, train_set, test_set)?)
        } else {
            None
        };
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            loss,
            lr: f64::from(contrast_nn::optim::Optimizer::lr(&trainer.optimizer)),
            knn_accuracy: knn,
            samples_per_second: samples as f64 / train_seconds.max(1e-9),
            seconds: epoch_started.elapsed().as_secs_f64(),
        };
        history.push(metrics.clone());
        write(&metrics_path, to_json_lines(&history).as_bytes())?;
        if last || (epoch + 1) % config.checkpoint_every == 0 {
            checkpoint::save(&checkpoint_path, &trainer, epoch + 1)?;
        }
        observer.epoch_finished(&metrics);
    }

    observer.status("final evaluation: kNN, linear probe, geometry, baselines");
    let (trained, test_features) = evaluate(&mut trainer, train_set, test_set)?;
    let report = Report {
        trained: trained.scores,
        random_encoder: random_scores,
        raw_pixels: pixel_scores(train_set, test_set, config.probe_epochs, config.seed)?,
        alignment: trained.alignment,
        uniformity: trained.uniformity,
    };
    write(
        &out.join("report.json"),
        serde_json::to_string_pretty(&report)
            .expect("serialises")
            .as_bytes(),
    )?;
    write(
        &out.join("embeddings.npy"),
        &npy::encode_f32(test_features.view()),
    )?;
    write_plots(&out, &history, &test_features, test_set)?;
    Ok(RunSummary {
        out,
        epochs: history,
        report,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A trained model loaded from a checkpoint, with the data it was trained on (or the
/// dataset named by `dataset`, when given).
pub fn restore(
    checkpoint_path: &Path,
    dataset: Option<&str>,
) -> Result<(Trainer, contrast_data::Resolved)> {
    let mut config = checkpoint::config(checkpoint_path)?;
    if let Some(spec) = dataset {
        config.dataset = spec.to_string();
    }
    // Evaluation runs on the CPU: it is a few forward passes.
    config.device = crate::config::Device::Cpu;
    let data = contrast_data::resolve(&config.dataset)?;
    let mut trainer = Trainer::new(&config, &data.train)?;
    checkpoint::load(checkpoint_path, &mut trainer)?;
    Ok((trainer, data))
}

/// The trained encoder's side of the final evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// kNN and linear probe.
    pub scores: crate::eval::report::Scores,
    /// Alignment of two views of the test images.
    pub alignment: f64,
    /// Uniformity of the test features.
    pub uniformity: f64,
}

/// Evaluates the trainer's encoder on `test` with `train` as the labelled bank; returns the
/// evaluation and the test features.
pub fn evaluate(
    trainer: &mut Trainer,
    train: &Dataset,
    test: &Dataset,
) -> Result<(Evaluation, ndarray::Array2<f32>)> {
    let config = trainer.config.clone();
    let train_features = encode(&mut trainer.g, &mut trainer.model, train)?;
    let test_features = encode(&mut trainer.g, &mut trainer.model, test)?;
    let views = views_for(config.augmentation, &config.dataset, train.shape(), 2)?;
    let (alignment, uniformity) = geometry(
        &mut trainer.g,
        &mut trainer.model,
        test,
        &views,
        config.seed,
    )?;
    let scores = scores(
        train_features.view(),
        train,
        test_features.view(),
        test,
        config.probe_epochs,
        config.seed,
    )?;
    Ok((
        Evaluation {
            scores,
            alignment,
            uniformity,
        },
        test_features,
    ))
}

fn knn_of(trainer: &mut Trainer, train: &Dataset, test: &Dataset) -> Result<f64> {
    let a = encode(&mut trainer.g, &mut trainer.model, train)?;
    let b = encode(&mut trainer.g, &mut trainer.model, test)?;
    let classes = train.num_classes().max(test.num_classes());
    knn_accuracy(
        a.view(),
        train.labels(),
        b.view(),
        test.labels(),
        classes,
        KnnConfig::INSTDISC,
    )
}

fn write_plots(
    out: &Path,
    history: &[EpochMetrics],
    test_features: &ndarray::Array2<f32>,
    test: &Dataset,
) -> Result<()> {
    let series = |name: &str, f: &dyn Fn(&EpochMetrics) -> Option<f64>| Series {
        name: name.to_string(),
        points: history
            .iter()
            .filter_map(|m| f(m).map(|v| (m.epoch as f64, v)))
            .collect(),
    };
    let loss = series("training loss", &|m| Some(m.loss));
    write(
        &out.join("loss.png"),
        &line_chart_png("Loss per epoch", "epoch", "loss", &[loss], (800, 500))?,
    )?;
    let knn = series("kNN top-1 (k=200, T=0.1)", &|m| m.knn_accuracy);
    write(
        &out.join("knn.png"),
        &line_chart_png(
            "kNN accuracy on the test split",
            "epoch",
            "accuracy",
            &[knn],
            (800, 500),
        )?,
    )?;
    let (projection, _) = pca(test_features.view(), 2)?;
    let points: Vec<(f64, f64)> = projection
        .rows()
        .into_iter()
        .map(|r| (f64::from(r[0]), f64::from(r[1])))
        .collect();
    let png = scatter_png(
        "Test embeddings, PCA",
        &points,
        test.labels(),
        test.class_names(),
        (800, 800),
    )?;
    write(&out.join("pca.png"), &png)
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

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(write_atomically(path, bytes)?)
}
