//! The run configuration: every CLI flag, also readable from a TOML file.
//!
//! A file holds any subset of the keys below; unknown keys and wrong types are errors that
//! name the key. The CLI applies its flags on top of the file, then [`TrainConfig::validate`]
//! checks the whole. The resolved configuration is written into the run folder as
//! `config.toml`, so every run can be repeated exactly.
//!
//! With the feature `clap`, the enums derive `clap::ValueEnum`, so the CLI takes them as
//! flag values directly (their doc comments are the help text).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::augmentation::ViewSpec;
use crate::error::{Error, Result};
use crate::loss_choice::LossChoice;
use crate::negatives::{Duplicates, Negatives, Sampling};

/// Which contrastive recipe trains the encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Two views, NT-Xent over the batch (Chen et al. 2020).
    Simclr,
    /// Momentum key encoder and a queue of negatives, InfoNCE (He et al. 2020, v2 head).
    Moco,
    /// Supervised contrastive loss over labelled views (Khosla et al. 2020).
    Supcon,
    /// P x K batches, batch-hard triplet mining, triplet margin loss.
    Triplet,
    /// Non-contrastive comparison: a predictor regresses the projection of an EMA target
    /// network, no negatives (Grill et al. 2020).
    Byol,
    /// Temporal contrast on trajectories (`cartpole`, `mountaincar`): InfoNCE between a
    /// prediction from observation t and the actions, and observation t + k (CPC, CURL, ATC).
    Temporal,
    /// Pairs that mean the same (a translation, a paraphrase): symmetric InfoNCE over
    /// in-batch negatives in both directions, as CLIP (Radford et al. 2021).
    Pairs,
}

impl Method {
    /// The name used in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Simclr => "simclr",
            Method::Moco => "moco",
            Method::Supcon => "supcon",
            Method::Triplet => "triplet",
            Method::Byol => "byol",
            Method::Temporal => "temporal",
            Method::Pairs => "pairs",
        }
    }
}

/// Which encoder architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum EncoderKind {
    /// Multi-layer perceptron on flattened pixels.
    Mlp,
    /// Small conv-relu-pool CNN.
    Cnn,
    /// CIFAR-variant ResNet-18.
    Resnet18,
    /// Strided CNN for frame stacks of any size: conv 5x5 s2, conv 3x3 s2, linear to 128.
    Strided,
}

/// Which augmentation recipe makes the views (see [`crate::augmentation`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Augmentation {
    /// `objects` for Fashion-MNIST, `digits` for other grayscale data, `color` for RGB.
    Auto,
    /// Grayscale digits: crop 0.5-1, small affine, noise, erasing; no flip.
    Digits,
    /// Grayscale objects: crop 0.2-1, horizontal flip, brightness/contrast, erasing.
    Objects,
    /// SimCLR's colour recipe: crop, flip, colour jitter, random grayscale.
    Color,
    /// No augmentation (frame stacks).
    None,
    /// Random shift of a frame stack by up to 4 pixels, edges repeated (DrQ).
    Shift,
}

impl Augmentation {
    /// The name used in config files.
    pub fn name(self) -> &'static str {
        match self {
            Augmentation::Auto => "auto",
            Augmentation::Digits => "digits",
            Augmentation::Objects => "objects",
            Augmentation::Color => "color",
            Augmentation::None => "none",
            Augmentation::Shift => "shift",
        }
    }
}

/// Which optimizer updates the parameters (see [`crate::optimizer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay.
    Adamw,
    /// SGD with momentum (MoCo's optimizer).
    Sgd,
    /// LARS with momentum (SimCLR's optimizer for large batches).
    Lars,
}

/// Where the heavy linear algebra runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// CPU only.
    Cpu,
    /// The GPU through wgpu; an error when no adapter exists.
    Gpu,
    /// The GPU when an adapter exists, else the CPU (said in the log).
    Auto,
}

/// Every setting of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Dataset name understood by `contrast_data` (e.g. `mnist5k`, `digits`, `fashion-mnist`).
    pub dataset: String,
    /// The recipe.
    pub method: Method,
    /// The encoder architecture.
    pub encoder: EncoderKind,
    /// The augmentation recipe of the views.
    pub augmentation: Augmentation,
    /// Passes over the training split.
    pub epochs: usize,
    /// Samples per batch (each gives two views, so the loss sees twice as many rows).
    pub batch_size: usize,
    /// Softmax temperature of NT-Xent / InfoNCE / SupCon.
    pub temperature: f32,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Peak learning rate (after warm-up).
    pub lr: f32,
    /// Momentum of SGD and LARS.
    pub momentum: f32,
    /// Weight decay (not applied to biases and normalisation parameters).
    pub weight_decay: f32,
    /// Epochs of linear warm-up before the cosine decay.
    pub warmup_epochs: usize,
    /// Output width of the projection head.
    pub projection_dim: usize,
    /// MoCo, and `negatives = "queue"` or `"xbm"`: rows the memory holds.
    pub queue_size: usize,
    /// MoCo: momentum of the key encoder.
    pub moco_momentum: f32,
    /// BYOL: momentum of the target network at step 0, raised to 1 by a cosine schedule.
    pub byol_momentum: f32,
    /// Triplet: margin of the triplet loss.
    pub margin: f32,
    /// Triplet: samples per class in a P x K batch.
    pub samples_per_class: usize,
    /// CPU or GPU.
    pub device: Device,
    /// Seed of every random stream.
    pub seed: u64,
    /// Run folder.
    pub out: PathBuf,
    /// Evaluate (kNN) every this many epochs; the final evaluation always runs.
    pub eval_every: usize,
    /// Epochs of the linear probe.
    pub probe_epochs: usize,
    /// Write a checkpoint every this many epochs.
    pub checkpoint_every: usize,

    // --- Loss, negatives and views as choices (see `crate::recipes` for which recipe takes which) ---
    /// The loss, a `[loss]` table (`name` and that loss's parameters, see
    /// [`crate::loss_choice`]); absent: the recipe's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossChoice>,
    /// Where the negatives come from (see [`crate::negatives`]); absent: the recipe's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negatives: Option<Negatives>,
    /// `negatives = "hardest"`: negatives kept per anchor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardest_k: Option<usize>,
    /// How batches are drawn: a shuffle per epoch, or with replacement.
    pub sampling: Sampling,
    /// Two copies of one sample in a batch: kept as negatives, avoided, or masked.
    pub duplicates: Duplicates,
    /// Views per sample: `"2"`, or `"2+k"` for k small crops (multi-crop).
    pub views: ViewSpec,
    /// Side of the small crops; absent: 3/7 of the image side for encoders that take any
    /// size, the full side otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub small_crop_size: Option<usize>,

    // Sentence embeddings from pairs (`--method pairs`, text datasets; see `tasks::text`).
    /// Pairs: learn the temperature as CLIP does (a log-scale parameter started at
    /// `temperature`, clamped to `0.01 <= T <= 1` after every step).
    pub learnable_temperature: bool,
    /// Text: two token views (word deletion, span mask) of each sentence as the positive
    /// pair instead of the sentence's partner (text without pairs).
    pub unsupervised: bool,
    /// Text: thin each side of a training pair by the same word-dropping views (a
    /// regulariser against memorising the pairs).
    pub augment_pairs: bool,
    /// Text: hash buckets of the featuriser, the rows of the embedding table.
    pub buckets: u32,
    /// Text: widths of the bag encoder, `[embedding, hidden..., features]`.
    pub text_dims: Vec<usize>,
    // Cached-gradient steps (see `crate::cached`).
    /// Samples encoded at a time in a cached-gradient step (batches larger than memory, the
    /// same gradient; batch norm normalises each chunk by its own statistics); unset: the
    /// whole batch in one graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<usize>,

    // Temporal contrast (`--method temporal` on `cartpole` / `mountaincar`); read through
    // [`TrainConfig::temporal`]. Unset means the default below; set with another method it
    // is an error.
    /// Temporal: steps `k` from an observation to its positive (default 1).
    pub horizon: Option<usize>,
    /// Temporal: frames per observation (default 2).
    pub frame_stack: Option<usize>,
    /// Temporal: a textured background and a moving disc behind the system (default off).
    pub distractors: Option<bool>,
    /// Temporal: predict the future embedding from the present one and the actions through
    /// an MLP (default on); off compares the two embeddings directly.
    pub predictor: Option<bool>,
    /// Temporal: keys from an EMA copy of the encoder with this momentum (CURL, ATC); unset
    /// (the trajectory defaults), keys from the encoder itself.
    pub target_momentum: Option<f32>,
    /// Temporal, keys from the encoder itself: the share of the gradient that reaches the
    /// encoder through the keys, in `[0, 1]` (1: all of it; 0: keys as constants; default
    /// [`KEY_GRADIENT`]).
    pub key_gradient: Option<f32>,
    /// Temporal: the encoder reads frames 1.. of a stack as their changes since the frame
    /// before, scaled per pixel (default off: every frame is standardised alike).
    pub frame_differences: Option<bool>,
    /// Temporal: the keys reach the loss through a projection head, `h(f(o_{t+k}))`, while
    /// the probes read the features `f(o)` before it (SimCLR's finding; default on).
    pub projection_head: Option<bool>,
    /// Temporal: batches laid out in windows of this many consecutive pairs of one episode,
    /// so that neighbours in time are each other's negatives (default 1: independent pairs).
    pub window: Option<usize>,
}

/// The temporal recipe's default share of the gradient through the keys (see
/// [`TrainConfig::key_gradient`]).
pub const KEY_GRADIENT: f32 = 0.1;

/// The temporal recipe's settings with their defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TemporalSettings {
    /// Steps `k` from an observation to its positive.
    pub horizon: usize,
    /// Frames per observation.
    pub frame_stack: usize,
    /// Distracting backgrounds and discs.
    pub distractors: bool,
    /// An action-conditioned predictor between the two embeddings.
    pub predictor: bool,
    /// Momentum of the EMA target encoder, if there is one.
    pub target_momentum: Option<f32>,
    /// Share of the gradient through the keys (without a target encoder).
    pub key_gradient: f32,
    /// Frames 1.. as differences from the frame before.
    pub frame_differences: bool,
    /// A projection head between the features and the loss.
    pub projection_head: bool,
    /// Consecutive pairs of one episode per window of a batch.
    pub window: usize,
}

impl TemporalSettings {
    /// The settings that decide the data a temporal task holds and what its encoder reads:
    /// `(horizon, frame_stack, distractors, frame_differences)`. Two configurations with
    /// equal ones can share one loaded task.
    pub fn data(&self) -> (usize, usize, bool, bool) {
        (
            self.horizon,
            self.frame_stack,
            self.distractors,
            self.frame_differences,
        )
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            dataset: "mnist5k".into(),
            method: Method::Simclr,
            encoder: EncoderKind::Cnn,
            augmentation: Augmentation::Auto,
            epochs: 50,
            batch_size: 256,
            temperature: 0.3,
            optimizer: OptimizerKind::Adamw,
            lr: 0.001,
            momentum: 0.9,
            weight_decay: 1e-6,
            warmup_epochs: 1,
            projection_dim: 64,
            queue_size: 2048,
            moco_momentum: 0.99,
            byol_momentum: 0.99,
            margin: 0.2,
            samples_per_class: 32,
            device: Device::Cpu,
            seed: 0,
            out: PathBuf::from("runs/latest"),
            eval_every: 5,
            probe_epochs: 100,
            checkpoint_every: 1,
            loss: None,
            negatives: None,
            hardest_k: None,
            sampling: Sampling::Shuffle,
            duplicates: Duplicates::Keep,
            views: ViewSpec::default(),
            small_crop_size: None,
            learnable_temperature: false,
            unsupervised: false,
            augment_pairs: false,
            buckets: contrast_text::DEFAULT_BUCKETS,
            text_dims: vec![256, 256, 128],
            chunk_size: None,
            horizon: None,
            frame_stack: None,
            distractors: None,
            predictor: None,
            target_momentum: None,
            key_gradient: None,
            frame_differences: None,
            projection_head: None,
            window: None,
        }
    }
}

/// Whether `dataset` names generated trajectories (`cartpole`, `mountaincar`) rather than
/// images.
pub fn is_trajectory_dataset(dataset: &str) -> bool {
    dataset.parse::<contrast_env::System>().is_ok()
}

impl TrainConfig {
    /// The defaults for `dataset`: [`TrainConfig::default`] for images; for text datasets
    /// (`bible:A-B`, `bible-slice:A-B`, `pairs:PATH`) the pairs recipe with its own budget
    /// ([`crate::tasks::text::defaults`]); for trajectories (`cartpole`, `mountaincar`) the
    /// temporal recipe with its own budget: the strided CNN, InfoNCE at T = 0.1, every
    /// temporal setting written out (see the README's temporal section for what it gives).
    pub fn for_dataset(dataset: &str) -> Self {
        let base = Self {
            dataset: dataset.to_string(),
            ..Self::default()
        };
        if crate::tasks::text::is_text_dataset(dataset) {
            return crate::tasks::text::defaults(base);
        }
        if !is_trajectory_dataset(dataset) {
            return base;
        }
        Self {
            method: Method::Temporal,
            encoder: EncoderKind::Strided,
            augmentation: Augmentation::None,
            epochs: 10,
            batch_size: 256,
            temperature: 0.1,
            lr: 2e-3,
            warmup_epochs: 0,
            eval_every: 1,
            horizon: Some(1),
            frame_stack: Some(2),
            distractors: Some(false),
            predictor: Some(true),
            target_momentum: None,
            projection_head: Some(true),
            window: Some(1),
            ..base
        }
    }

    /// Writes the temporal key share's default into `key_gradient` when it applies (the
    /// temporal recipe without a target encoder), so that a saved configuration (a run
    /// folder's `config.toml`, a checkpoint) keeps the share it ran with if the default
    /// changes. Left unset with a target encoder, where setting it is an error.
    pub fn pin_defaults(&mut self) {
        if self.method == Method::Temporal && self.target_momentum.is_none() {
            self.key_gradient.get_or_insert(KEY_GRADIENT);
        }
    }

    /// The temporal settings, defaults filled in.
    pub fn temporal(&self) -> TemporalSettings {
        TemporalSettings {
            horizon: self.horizon.unwrap_or(1),
            frame_stack: self.frame_stack.unwrap_or(2),
            distractors: self.distractors.unwrap_or(false),
            predictor: self.predictor.unwrap_or(true),
            target_momentum: self.target_momentum,
            key_gradient: self.key_gradient.unwrap_or(KEY_GRADIENT),
            frame_differences: self.frame_differences.unwrap_or(false),
            projection_head: self.projection_head.unwrap_or(true),
            window: self.window.unwrap_or(1),
        }
    }

    /// Parses a TOML document; unknown keys and wrong types are errors naming the key.
    pub fn from_toml(text: &str) -> Result<Self> {
        Self::from_toml_over(&Self::default(), text)
    }

    /// Parses a TOML document over `base`: the document's keys replace base's values.
    pub fn from_toml_over(base: &Self, text: &str) -> Result<Self> {
        // A `[loss]` table is checked first, so that a parameter of another loss is named
        // with the loss it belongs to rather than as a bare unknown field.
        if let Ok(table) = text.parse::<toml::Table>()
            && let Some(toml::Value::Table(loss)) = table.get("loss")
        {
            LossChoice::from_table(loss.clone())?;
        }
        // Parsed alone first, so that unknown keys and wrong types are reported by name.
        let _: Self = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        let mut merged = toml::Table::try_from(base).expect("every field serialises");
        let document: toml::Table = text.parse().map_err(|e| Error::Config(format!("{e}")))?;
        merged.extend(document);
        merged.try_into().map_err(|e| Error::Config(e.to_string()))
    }

    /// Reads and parses a TOML file over `base` (see [`TrainConfig::from_toml_over`]).
    pub fn from_file_over(base: &Self, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_over(base, &text).map_err(|e| match e {
            Error::Config(msg) => Error::Config(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_file_over(&Self::default(), path)
    }

    /// The configuration as a TOML document.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("every field serialises")
    }

    /// Checks every value, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size < 2 {
            return bad(format!(
                "batch_size must be at least 2 (a positive needs a negative), got {}",
                self.batch_size
            ));
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad(format!(
                "temperature must be finite and > 0, got {}",
                self.temperature
            ));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("lr must be finite and > 0, got {}", self.lr));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!(
                "weight_decay must be finite and >= 0, got {}",
                self.weight_decay
            ));
        }
        if self.warmup_epochs >= self.epochs && self.epochs > 1 {
            return bad(format!(
                "warmup_epochs ({}) must be below epochs ({})",
                self.warmup_epochs, self.epochs
            ));
        }
        if self.projection_dim == 0 {
            return bad("projection_dim must be at least 1".into());
        }
        if self.method == Method::Moco && self.queue_size == 0 {
            return bad("queue_size must be at least 1 for MoCo".into());
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(format!("momentum must be in [0, 1), got {}", self.momentum));
        }
        if !(0.0..1.0).contains(&self.moco_momentum) {
            return bad(format!(
                "moco_momentum must be in [0, 1), got {}",
                self.moco_momentum
            ));
        }
        if !(0.0..1.0).contains(&self.byol_momentum) {
            return bad(format!(
                "byol_momentum must be in [0, 1), got {}",
                self.byol_momentum
            ));
        }
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            return bad(format!(
                "margin must be finite and >= 0, got {}",
                self.margin
            ));
        }
        if self.method == Method::Triplet
            && (self.samples_per_class < 2
                || !self.batch_size.is_multiple_of(self.samples_per_class))
        {
            return bad(format!(
                "triplet batches are P x K: samples_per_class ({}) must be >= 2 and divide batch_size ({})",
                self.samples_per_class, self.batch_size
            ));
        }
        if self.eval_every == 0 || self.checkpoint_every == 0 {
            return bad("eval_every and checkpoint_every must be at least 1".into());
        }
        if self.buckets == 0 || self.text_dims.is_empty() || self.text_dims.contains(&0) {
            return bad(format!(
                "buckets ({}) and every entry of text_dims ({:?}) must be at least 1",
                self.buckets, self.text_dims
            ));
        }
        if self.learnable_temperature && self.method != Method::Pairs {
            return bad("learnable_temperature applies to --method pairs only".into());
        }
        if self.learnable_temperature && !(0.01..=1.0).contains(&self.temperature) {
            return bad(format!(
                "temperature must start in [0.01, 1] when learnable (CLIP's clamp), got {}",
                self.temperature
            ));
        }
        if self.chunk_size == Some(0) {
            return bad(
                "chunk_size must be at least 1 (leave it out for whole-batch steps)".into(),
            );
        }
        self.validate_temporal()?;
        // The loss, the negatives and the views, against the recipe's table.
        crate::recipes::check_choices(self)
    }

    /// The temporal recipe and trajectory data go together; its settings are its alone.
    fn validate_temporal(&self) -> Result<()> {
        let method = self.method.name();
        let dataset = &self.dataset;
        let not_applicable =
            |setting: String, reason: String| Err(Error::NotApplicable { setting, reason });
        match (self.method, is_trajectory_dataset(dataset)) {
            (Method::Temporal, false) => {
                return not_applicable(
                    format!("method = {method}"),
                    format!(
                        "the temporal recipe trains on trajectories (cartpole, mountaincar), \
                         and {dataset} holds none"
                    ),
                );
            }
            (other, true) if other != Method::Temporal => {
                return not_applicable(
                    format!("method = {method}"),
                    format!(
                        "{dataset} holds trajectories, whose positives are the future: train \
                         it with --method temporal"
                    ),
                );
            }
            _ => {}
        }
        if self.method != Method::Temporal {
            let set = [
                ("horizon", self.horizon.map(|v| v.to_string())),
                ("frame_stack", self.frame_stack.map(|v| v.to_string())),
                ("distractors", self.distractors.map(|v| v.to_string())),
                ("predictor", self.predictor.map(|v| v.to_string())),
                (
                    "target_momentum",
                    self.target_momentum.map(|v| v.to_string()),
                ),
                ("key_gradient", self.key_gradient.map(|v| v.to_string())),
                (
                    "frame_differences",
                    self.frame_differences.map(|v| v.to_string()),
                ),
                (
                    "projection_head",
                    self.projection_head.map(|v| v.to_string()),
                ),
                ("window", self.window.map(|v| v.to_string())),
            ];
            if let Some((key, Some(value))) = set.into_iter().find(|(_, v)| v.is_some()) {
                return not_applicable(
                    format!("{key} = {value}"),
                    format!("a setting of the temporal recipe; --method {method} does not use it"),
                );
            }
            return Ok(());
        }
        if self.sampling != Sampling::Shuffle {
            return not_applicable(
                "sampling = \"replacement\"".into(),
                "temporal batches are shuffled windows of time steps (see window)".into(),
            );
        }
        let t = self.temporal();
        if t.frame_stack == 0 {
            return Err(contrast_env::Error::ZeroFrameStack.into());
        }
        if t.horizon == 0 {
            return Err(contrast_env::Error::ZeroOffset.into());
        }
        if t.window == 0 {
            return Err(Error::Config("window must be at least 1".into()));
        }
        if let Some(m) = t.target_momentum
            && !(0.0..1.0).contains(&m)
        {
            return Err(Error::Config(format!(
                "target_momentum must be in [0, 1), got {m}"
            )));
        }
        if !(0.0..=1.0).contains(&t.key_gradient) {
            return Err(Error::Config(format!(
                "key_gradient must be in [0, 1], got {}",
                t.key_gradient
            )));
        }
        if let (Some(_), Some(b)) = (t.target_momentum, self.key_gradient) {
            return not_applicable(
                format!("key_gradient = {b}"),
                "the keys come from the EMA target encoder, which gets no gradient".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let c = TrainConfig::default();
        c.validate().unwrap();
        assert_eq!(TrainConfig::from_toml(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn pinned_defaults_are_written_out_only_where_they_apply() {
        let mut c = TrainConfig::for_dataset("cartpole");
        assert_eq!(c.key_gradient, None);
        c.pin_defaults();
        assert_eq!(c.key_gradient, Some(KEY_GRADIENT));
        c.validate().unwrap();
        assert!(
            c.to_toml()
                .contains(&format!("key_gradient = {KEY_GRADIENT}"))
        );
        assert_eq!(TrainConfig::from_toml(&c.to_toml()).unwrap(), c);
        // An explicit share stays; with a target encoder there is none to pin.
        let mut set = TrainConfig {
            key_gradient: Some(1.0),
            ..TrainConfig::for_dataset("cartpole")
        };
        set.pin_defaults();
        assert_eq!(set.key_gradient, Some(1.0));
        let mut ema = TrainConfig {
            target_momentum: Some(0.99),
            ..TrainConfig::for_dataset("cartpole")
        };
        ema.pin_defaults();
        assert_eq!(ema.key_gradient, None);
        ema.validate().unwrap();
        let mut images = TrainConfig::default();
        images.pin_defaults();
        assert_eq!(images, TrainConfig::default());
    }

    #[test]
    fn chunk_size_is_off_by_default_and_read_from_toml() {
        assert_eq!(TrainConfig::default().chunk_size, None);
        assert!(!TrainConfig::default().to_toml().contains("chunk_size"));
        let c = TrainConfig::from_toml("chunk_size = 64\n").unwrap();
        assert_eq!(c.chunk_size, Some(64));
        assert_eq!(TrainConfig::from_toml(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let c = TrainConfig::from_toml("method = \"moco\"\nepochs = 3\n").unwrap();
        assert_eq!(c.method, Method::Moco);
        assert_eq!(c.epochs, 3);
        assert_eq!(c.batch_size, TrainConfig::default().batch_size);
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let e = TrainConfig::from_toml("epochz = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("epochz"), "{e}");
        let e = TrainConfig::from_toml("epochs = \"three\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("epochs"), "{e}");
        let e = TrainConfig::from_toml("batch_size = -4\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch_size"), "{e}");
    }

    #[test]
    fn invalid_values_are_rejected_by_name() {
        type Spoil = fn(&mut TrainConfig);
        let cases: [(&str, Spoil); 6] = [
            ("temperature", |c| c.temperature = 0.0),
            ("batch_size", |c| c.batch_size = 1),
            ("lr", |c| c.lr = f32::NAN),
            ("byol_momentum", |c| c.byol_momentum = 1.0),
            ("chunk_size", |c| c.chunk_size = Some(0)),
            ("samples_per_class", |c| {
                c.method = Method::Triplet;
                c.samples_per_class = 3;
            }),
        ];
        for (key, spoil) in cases {
            let mut c = TrainConfig::default();
            spoil(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
