//! `contrast train`: a contrastive run on a dataset, with progress bars, a results table and
//! a run folder (see `contrast_train::run`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use contrast::train::config::{
    Augmentation, Device, EncoderKind, Method, OptimizerKind, TrainConfig,
};
use contrast::train::distributed::{Ranks, mpi_ranks};
use contrast::train::run::{RunSummary, train_on};
use contrast::train::tasks::text::DEFAULT_TEXT_DATASET;

use super::choices::ChoiceArgs;
use super::progress::Progress;

/// Arguments of `contrast train`. Flags override the `--config` file, which overrides the
/// defaults; the defaults depend on the dataset (`TrainConfig::for_dataset`: text gets the
/// pairs recipe's, trajectories the temporal recipe's).
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// TOML file with any of the settings below (keys as in the run folder's config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Dataset: digits, mnist5k (embedded), fashion-mnist[:PATH], mnist:PATH, cifar10:PATH,
    /// cifar100:PATH, folder:PATH; text: bible:web-es, bible:kjv-web, bible:A-B (installed
    /// SWORD modules), bible-slice:web-es (embedded; the default of --method pairs),
    /// pairs:PATH; trajectories (generated and cached): cartpole (the default of --method
    /// temporal), mountaincar.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Contrastive recipe.
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// Encoder architecture.
    #[arg(long, value_enum)]
    pub encoder: Option<EncoderKind>,
    /// Augmentation recipe of the views.
    #[arg(long, value_enum)]
    pub augmentation: Option<Augmentation>,
    /// Passes over the training split.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per batch (two views each).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Softmax temperature.
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f32>,
    /// Optimizer.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Where the matrix products run.
    #[arg(long, value_enum)]
    pub device: Option<Device>,
    /// Encode the batch this many samples at a time (cached-gradient step: batches larger
    /// than memory, the same gradient; batch norm then normalises each chunk).
    #[arg(long)]
    pub chunk_size: Option<usize>,
    /// Seed of every random stream.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Temporal: steps k from an observation to its positive (default 1).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Temporal: frames per observation (default 2).
    #[arg(long)]
    pub frame_stack: Option<usize>,
    /// Temporal: a textured background and a moving disc behind the system.
    #[arg(long)]
    pub distractors: bool,
    /// Temporal: compare the embeddings of t and t + k directly, without the predictor.
    #[arg(long)]
    pub no_predictor: bool,
    /// Temporal: keys from an EMA target encoder with this momentum (CURL, ATC; e.g. 0.99).
    /// Without it the keys come from the encoder itself, with gradient.
    #[arg(long)]
    pub target_momentum: Option<f32>,
    /// Temporal: no target encoder (the default; overrides a config file's momentum).
    #[arg(long, conflicts_with = "target_momentum")]
    pub no_target: bool,
    /// Temporal, without a target encoder: the share of the gradient that reaches the encoder
    /// through the keys, in [0, 1] (default 0.1; 1 the plain loss).
    #[arg(long, conflicts_with = "target_momentum")]
    pub key_gradient: Option<f32>,
    /// Temporal: read frames 1.. of a stack as their changes since the frame before, scaled
    /// per pixel, instead of standardising every frame alike.
    #[arg(long)]
    pub frame_differences: bool,
    /// Temporal: the loss compares the features themselves, without the projection head
    /// between the keys' features and the loss.
    #[arg(long)]
    pub no_projection_head: bool,
    /// Temporal: windows of this many consecutive pairs of one episode per batch.
    #[arg(long)]
    pub window: Option<usize>,
    /// Pairs: learn the temperature (CLIP's clamped log-scale), starting at --temperature.
    #[arg(long)]
    pub learnable_temperature: bool,
    /// Text: two word-dropping views of each sentence instead of its partner (no pairs).
    #[arg(long)]
    pub unsupervised: bool,
    /// Text: thin both sides of every training pair by word-dropping views (a regulariser).
    #[arg(long)]
    pub augment_pairs: bool,
    /// Continue the run in this folder from its last checkpoint (settings come from it).
    #[arg(long, conflicts_with_all = ["config", "out"])]
    pub resume: Option<PathBuf>,
    /// Data-parallel over the ranks of an MPI launch (`mpirun -np N contrast train
    /// --distributed ...`; implied when mpirun started this process). Needs a build with
    /// `--features mpi`.
    #[arg(long)]
    pub distributed: bool,
    /// No progress bars; only the final table.
    #[arg(long)]
    pub quiet: bool,
    /// Machine-readable output: one JSON object per epoch, then the summary.
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,
    /// Loss, negatives, views and sampling.
    #[command(flatten)]
    pub choices: ChoiceArgs,
}

impl TrainArgs {
    /// The configuration: defaults, then the file, then the flags.
    pub fn resolve(&self) -> anyhow::Result<TrainConfig> {
        if let Some(dir) = &self.resume {
            let path = dir.join(contrast::train::checkpoint::FILE);
            let mut config = contrast::train::checkpoint::config(&path)
                .with_context(|| format!("--resume {}", dir.display()))?;
            config.out = dir.clone();
            return self.overrides_must_match(config);
        }
        let over = |base: TrainConfig| -> anyhow::Result<TrainConfig> {
            Ok(match &self.config {
                Some(path) => TrainConfig::from_file_over(&base, path)?,
                None => base,
            })
        };
        // The defaults depend on the data, so the dataset is found first; the pairs recipe
        // without a named dataset trains on the embedded text slice, the temporal recipe on
        // cartpole.
        let file = over(TrainConfig::default())?;
        let named_in_file = file.dataset != TrainConfig::default().dataset;
        let method = self.method.unwrap_or(file.method);
        let dataset = match &self.dataset {
            Some(dataset) => dataset.clone(),
            None if !named_in_file && method == Method::Pairs => DEFAULT_TEXT_DATASET.to_string(),
            None if !named_in_file && method == Method::Temporal => "cartpole".to_string(),
            None => file.dataset,
        };
        let mut config = over(TrainConfig::for_dataset(&dataset))?;
        config.dataset = dataset;
        self.apply(&mut config)?;
        config.validate()?;
        config.pin_defaults();
        Ok(config)
    }

    /// Applies the flags to `c`.
    pub(super) fn apply(&self, c: &mut TrainConfig) -> anyhow::Result<()> {
        self.apply_settings(c);
        self.choices.apply(c, false)
    }

    /// Applies the flags to `c`, but those of [`ChoiceArgs`].
    pub(super) fn apply_settings(&self, c: &mut TrainConfig) {
        if let Some(v) = &self.dataset {
            c.dataset = v.clone();
        }
        c.method = self.method.unwrap_or(c.method);
        c.encoder = self.encoder.unwrap_or(c.encoder);
        c.augmentation = self.augmentation.unwrap_or(c.augmentation);
        c.device = self.device.unwrap_or(c.device);
        c.optimizer = self.optimizer.unwrap_or(c.optimizer);
        c.epochs = self.epochs.unwrap_or(c.epochs);
        c.batch_size = self.batch_size.unwrap_or(c.batch_size);
        c.temperature = self.temperature.unwrap_or(c.temperature);
        c.lr = self.lr.unwrap_or(c.lr);
        c.seed = self.seed.unwrap_or(c.seed);
        c.learnable_temperature |= self.learnable_temperature;
        c.unsupervised |= self.unsupervised;
        c.augment_pairs |= self.augment_pairs;
        c.chunk_size = self.chunk_size.or(c.chunk_size);
        c.horizon = self.horizon.or(c.horizon);
        c.frame_stack = self.frame_stack.or(c.frame_stack);
        if self.distractors {
            c.distractors = Some(true);
        }
        if self.no_predictor {
            c.predictor = Some(false);
        }
        c.target_momentum = self.target_momentum.or(c.target_momentum);
        if self.target_momentum.is_some() {
            // Keys from a target encoder take no gradient: a config file's key share (a
            // saved run's pinned default) gives way to the flag.
            c.key_gradient = None;
        }
        if self.no_target {
            c.target_momentum = None;
        }
        c.key_gradient = self.key_gradient.or(c.key_gradient);
        if self.frame_differences {
            c.frame_differences = Some(true);
        }
        if self.no_projection_head {
            c.projection_head = Some(false);
        }
        c.window = self.window.or(c.window);
        if let Some(out) = &self.out {
            c.out = out.clone();
        }
    }

    /// With `--resume`, flags may only repeat the saved settings: a changed setting would
    /// not continue the same run.
    fn overrides_must_match(&self, saved: TrainConfig) -> anyhow::Result<TrainConfig> {
        let mut wanted = saved.clone();
        self.apply(&mut wanted)?;
        wanted.out = saved.out.clone();
        anyhow::ensure!(
            wanted == saved,
            "--resume continues a run with its saved settings; flags that change them are not \
             allowed (start a new run with --out instead)"
        );
        Ok(saved)
    }
}

/// Runs `contrast train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    let ranks = if args.distributed || contrast::collective::launched_by_mpi() {
        Some(mpi_ranks()?)
    } else {
        None
    };
    let root = ranks.as_ref().is_none_or(Ranks::is_root);
    // Only rank 0 shows progress and prints the table; the others train quietly.
    let mut progress = Progress::new(args.quiet || !root, args.json && root);
    let summary = train_on(&config, args.resume.is_some(), &mut progress, ranks)?;
    progress.finish();
    if !root {
        return Ok(());
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(s: &RunSummary) {
    println!("run folder: {} ({:.1} s)", s.out.display(), s.seconds);
    print!("{}", s.report.table());
}
