//! Trajectories of a classic-control system seen through pixels (`cartpole`, `mountaincar`):
//! the temporal recipe's data, and probes of what its frozen features know about the true
//! state.
//!
//! # Data
//!
//! [`contrast_env`] generates disjoint training and test episodes (default 50,000 / 10,000
//! transitions, half uniform-random, half an epsilon-noisy heuristic; 40 x 64 frames; data
//! seed 0, whatever the run's seed) and keeps them in its on-disk cache, so the first run on
//! a machine generates them and later runs read them. Observations are stacks of the last
//! `frame_stack` frames; `distractors` draws a textured background and a moving disc behind
//! the system. Training samples are the `(t, t + k)` pairs of the training episodes
//! ([`TransitionPairs`], `k = horizon`). The encoder reads every stack through
//! [`PixelStats`]: frame 0 standardised per pixel by the training frames' statistics, later
//! frames standardised alike, or, with `frame_differences`, as their changes since the frame
//! before, scaled per pixel; in training and in the probes alike;
//! the raw-pixel baseline reads the stacks in `[0, 1]`.
//!
//! # Evaluation (frozen encoder, held-out episodes)
//!
//! Features `f(o)` of every time step of both splits, each with its true state `s`:
//!
//! - **next-state top-1**: for every test pair, the query `q(f(o_t), a_t..a_{t+k-1})` (the
//!   trained predictor) retrieves the key `h(f(o_{t+k}))` (through the projection head, as
//!   the loss compares them; the target's with an EMA target) among a pool of 1,000 futures
//!   of test pairs, the true one included; the baselines and the untrained encoder, whose
//!   predictor and head have learnt nothing, compare `f(o_t)` with `f(o_{t+k})`
//!   ([`crate::eval::retrieval`], cosine, pools seeded with the run's seed; the whole set
//!   when it has fewer pairs);
//! - **kNN R2 `<var>`**: the mean state of the 20 training steps nearest in cosine
//!   ([`crate::eval::knn_regression`]), `R^2` per state variable on the test steps;
//! - **ridge R2 `<var>`**: closed-form ridge on standardised features, lambda 1, fitted on the
//!   training steps ([`crate::eval::ridge`]), `R^2` on the test steps.
//!
//! The same probes score the encoder at its random initialisation and the **raw pixels**
//! (the flattened frame stack, `frame_stack x 40 x 64` values). The per-epoch monitor
//! (`metrics.jsonl`, `r2.png`) runs next-state top-1 and kNN R2 (the forward passes cost a
//! few percent of an epoch's training); the ridge probe and the baselines run once, at the
//! end. The extras give the trained model's next-state MRR and its top-1 without the
//! predictor (what the predictor adds).

mod source;
mod standardize;

pub use source::{TransitionPairs, actions_one_hot};
pub use standardize::{DIFFERENCE_FLOOR, PixelStats, STD_FLOOR};

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use contrast_augment::RandomShift;
use contrast_autodiff::{Graph, Var};
use contrast_data::ImageShape;
use contrast_env::{Cache, GenerationSettings, TimePair, TransitionSet, load_or_generate};
use ndarray::{Array2, ArrayView2, Axis, Ix2, s};

use super::{InputSpec, Split, Task};
use crate::batch::chunks;
use crate::config::{Augmentation, TemporalSettings, TrainConfig};
use crate::error::{Error, Result};
use crate::eval::features::encode_images;
use crate::eval::knn_regression::{KNN_REGRESSION_K, knn_regression};
use crate::eval::r_squared::r_squared;
use crate::eval::report::Row;
use crate::eval::retrieval::{RETRIEVAL_POOL, Retrieval, retrieval};
use crate::eval::ridge::{RIDGE_LAMBDA, Ridge};
use crate::metrics::EpochMetrics;
use crate::model::ContrastModel;
use crate::plot::{Series, line_chart_png};
use crate::run::write;
use crate::source::Source;
use crate::trainer::Trainer;

/// Steps encoded per batch of observations.
const ENCODE_CHUNK: usize = 1024;
/// Largest shift of the `shift` augmentation, pixels (DrQ's 4).
const SHIFT_PAD: usize = 4;
/// Name of the retrieval column (and monitor entry).
const TOP1: &str = "next-state top-1";

/// A system's training and test episodes with the rows the probes read.
pub struct Temporal {
    train: Arc<TransitionSet>,
    test: Arc<TransitionSet>,
    settings: TemporalSettings,
    /// Per-pixel statistics of the training frames, by which the encoder's input is
    /// standardised.
    stats: Arc<PixelStats>,
    train_states: Array2<f64>,
    test_states: Array2<f64>,
    /// The test pairs, and the rows (global steps) of their present and future.
    test_pairs: Vec<TimePair>,
    anchors: Vec<usize>,
    futures: Vec<usize>,
}

impl Temporal {
    /// Generates (or reads from the default cache) the data set of `config`.
    pub fn load(config: &TrainConfig) -> Result<Self> {
        Self::load_with(config, &Cache::from_env())
    }

    /// [`Temporal::load`] with the given cache (e.g. [`Cache::Disabled`] in tests).
    ///
    /// # Errors
    /// An unknown system, a frame stack of 0, a horizon of 0 or longer than every episode of
    /// either split, a cache directory that cannot be created.
    pub fn load_with(config: &TrainConfig, cache: &Cache) -> Result<Self> {
        let settings = config.temporal();
        let mut generation = GenerationSettings::from_spec(&config.dataset)?;
        generation.distractors = settings.distractors;
        generation.frame_stack = settings.frame_stack;
        let (data, _status) = load_or_generate(&generation, cache)?;
        Self::new(data.train, data.test, settings)
    }

    /// The task over given splits (their frame stacks are set from `settings`).
    ///
    /// # Errors
    /// As [`Temporal::load_with`].
    pub fn new(
        mut train: TransitionSet,
        mut test: TransitionSet,
        settings: TemporalSettings,
    ) -> Result<Self> {
        train.set_frame_stack(settings.frame_stack)?;
        test.set_frame_stack(settings.frame_stack)?;
        train.count_pairs(settings.horizon)?;
        let test_pairs = test.pairs(settings.horizon)?;
        let row = |e, t| test.global_index(e, t);
        let anchors = test_pairs
            .iter()
            .map(|p| row(p.episode, p.t))
            .collect::<contrast_env::Result<_>>()?;
        let futures = test_pairs
            .iter()
            .map(|p| row(p.episode, p.future))
            .collect::<contrast_env::Result<_>>()?;
        Ok(Self {
            stats: Arc::new(if settings.frame_differences {
                PixelStats::with_differences(&train)?
            } else {
                PixelStats::of(&train)?
            }),
            train_states: train.states(),
            test_states: test.states(),
            train: Arc::new(train),
            test: Arc::new(test),
            settings,
            test_pairs,
            anchors,
            futures,
        })
    }

    /// The training episodes.
    pub fn train(&self) -> &TransitionSet {
        &self.train
    }

    /// The held-out episodes.
    pub fn test(&self) -> &TransitionSet {
        &self.test
    }

    fn split(&self, split: Split) -> &TransitionSet {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }

    /// The retrieval queries of the test pairs: the predictor's output from their present
    /// features and actions when `predict`, else the present features through the head (of
    /// a trained model: the random encoder is scored on its features, as the pixels are).
    fn queries(
        &self,
        trainer: &mut Trainer,
        test: &Array2<f32>,
        predict: bool,
    ) -> Result<Array2<f32>> {
        let present = test.select(Axis(0), &self.anchors);
        if !(predict && trainer.model.has_predictor()) {
            return if trainer.steps_done > 0 {
                through_head(&mut trainer.g, &mut trainer.model, present)
            } else {
                Ok(present)
            };
        }
        let actions = actions_one_hot(&self.test, &self.test_pairs)?;
        let (g, model) = (&mut trainer.g, &mut trainer.model);
        let width = model.projection_dim();
        by_chunks(g, present.nrows(), width, |g, rows| {
            let z = g.input(present.slice(s![rows.clone(), ..]).to_owned().into_dyn());
            let a = g.input(actions.slice(s![rows, ..]).to_owned().into_dyn());
            let joint = g.concat(&[z, a], 1)?;
            model.predict(g, joint)
        })
    }

    /// The retrieval candidates: the futures' embeddings as the loss compares them, from the
    /// encoder the loss took them from (the target encoder when the recipe keeps one, else
    /// `test`'s rows), through its head once trained.
    fn candidates(&self, trainer: &mut Trainer, test: &Array2<f32>) -> Result<Array2<f32>> {
        let g = &mut trainer.g;
        let (model, futures) = match trainer.recipe.momentum_model_mut() {
            None => (&mut trainer.model, test.select(Axis(0), &self.futures)),
            Some((_, target)) => {
                let steps: Vec<(usize, usize)> = self
                    .test_pairs
                    .iter()
                    .map(|p| (p.episode, p.future))
                    .collect();
                let futures = encode_steps(g, target, &self.test, &self.stats, &steps)?;
                (target, futures)
            }
        };
        if trainer.steps_done > 0 {
            through_head(g, model, futures)
        } else {
            Ok(futures)
        }
    }

    /// Next-state retrieval of the test pairs from `queries` among the futures' features.
    fn retrieve(
        &self,
        queries: &Array2<f32>,
        candidates: &Array2<f32>,
        seed: u64,
    ) -> Result<Retrieval> {
        let truth: Vec<usize> = (0..queries.nrows()).collect();
        let pool = RETRIEVAL_POOL.min(candidates.nrows());
        retrieval(queries.view(), candidates.view(), &truth, pool, seed)
    }

    /// Next-state top-1 and kNN R2 per state variable (the monitor's columns).
    fn retrieval_and_knn(
        &self,
        train: ArrayView2<f32>,
        test: &Array2<f32>,
        [queries, candidates]: [&Array2<f32>; 2],
        seed: u64,
    ) -> Result<Vec<f64>> {
        let mut values = vec![self.retrieve(queries, candidates, seed)?.top1];
        let k = KNN_REGRESSION_K.min(train.nrows());
        let knn = knn_regression(train, self.train_states.view(), test.view(), k)?;
        values.extend(r_squared(self.test_states.view(), knn.view())?);
        Ok(values)
    }

    /// Every column of the report for one kind of feature.
    fn probes(
        &self,
        train: ArrayView2<f32>,
        test: &Array2<f32>,
        retrieval: [&Array2<f32>; 2],
        seed: u64,
    ) -> Result<Vec<f64>> {
        let mut values = self.retrieval_and_knn(train, test, retrieval, seed)?;
        let ridge = Ridge::fit(train, self.train_states.view(), RIDGE_LAMBDA)?;
        let predicted = ridge.predict(test.view())?;
        values.extend(r_squared(self.test_states.view(), predicted.view())?);
        Ok(values)
    }

    fn names(&self) -> &'static [&'static str] {
        self.train.state_names()
    }
}

/// Encoder features of the observations at `steps` of `set`, in order.
fn encode_steps(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    set: &TransitionSet,
    stats: &PixelStats,
    steps: &[(usize, usize)],
) -> Result<Array2<f32>> {
    let mut out = Array2::zeros((steps.len(), model.feature_dim()));
    for rows in chunks(steps.len(), ENCODE_CHUNK) {
        let mut stacks = set.observations(&steps[rows.clone()])?;
        stats.apply(&mut stacks)?;
        let features = encode_images(g, model, stacks.view())?;
        out.slice_mut(s![rows, ..]).assign(&features);
    }
    Ok(out)
}

/// Features `h` through `model`'s projection head, where the loss compares them; `h` itself
/// without a head.
fn through_head(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    h: Array2<f32>,
) -> Result<Array2<f32>> {
    if !model.has_head() {
        return Ok(h);
    }
    by_chunks(g, h.nrows(), model.projection_dim(), |g, rows| {
        let x = g.input(h.slice(s![rows, ..]).to_owned().into_dyn());
        model.head(g, x)
    })
}

/// The `(n, width)` outputs of `f` over rows `0..n`, [`ENCODE_CHUNK`] rows per call, without
/// gradient; the graph is cleared after each call.
fn by_chunks(
    g: &mut Graph<f32>,
    n: usize,
    width: usize,
    mut f: impl FnMut(&mut Graph<f32>, Range<usize>) -> Result<Var>,
) -> Result<Array2<f32>> {
    let mut out = Array2::zeros((n, width));
    for rows in chunks(n, ENCODE_CHUNK) {
        let block = g.no_grad(|g| -> Result<Array2<f32>> {
            let y = f(g, rows.clone())?;
            g.value(y)
                .clone()
                .into_dimensionality::<Ix2>()
                .map_err(|_| Error::Config("outputs must be a matrix".into()))
        });
        g.reset();
        out.slice_mut(s![rows, ..]).assign(&block?);
    }
    Ok(out)
}

/// Every `(episode, t)` of a set, in global step order.
fn all_steps(set: &TransitionSet) -> Vec<(usize, usize)> {
    set.episodes()
        .iter()
        .enumerate()
        .flat_map(|(e, info)| (0..=info.len).map(move |t| (e, t)))
        .collect()
}

/// The flattened frame stacks of every step of a set: `(steps, frames H W)`.
fn pixels(set: &TransitionSet) -> Result<Array2<f32>> {
    let stacks = set.observations(&all_steps(set))?;
    let n = stacks.shape()[0];
    let d = stacks.len() / n.max(1);
    Ok(stacks
        .into_shape_with_order((n, d))
        .expect("contiguous stacks"))
}

/// The frame-stack augmentation named by `augmentation`.
fn shift_for(augmentation: Augmentation) -> Result<Option<RandomShift>> {
    match augmentation {
        Augmentation::Auto | Augmentation::None => Ok(None),
        Augmentation::Shift => Ok(Some(RandomShift::new(SHIFT_PAD))),
        image => Err(Error::NotApplicable {
            setting: format!("augmentation = {}", image.name()),
            reason: "an image recipe does not fit frame stacks; use none or shift".into(),
        }),
    }
}

impl Task for Temporal {
    fn input(&self) -> InputSpec {
        let t = &self.train;
        InputSpec::FrameStacks {
            shape: ImageShape::new(t.frame_stack(), t.height(), t.width()),
            context: self.settings.horizon * t.system().num_actions(),
        }
    }

    fn source(&self, config: &TrainConfig, views: usize) -> Result<Arc<dyn Source>> {
        // The settings that shape the data must be the ones it was loaded with; the
        // recipe's own (predictor, target, window) may differ.
        let (loaded, asked) = (self.settings.data(), config.temporal().data());
        if loaded != asked {
            return Err(Error::Config(format!(
                "the trajectories were loaded for {loaded:?}, the run asks for {asked:?}"
            )));
        }
        if views != 2 {
            return Err(Error::Config(format!(
                "trajectories give two views per sample (now and later), {views} asked"
            )));
        }
        Ok(Arc::new(TransitionPairs::new(
            Arc::clone(&self.train),
            self.settings.horizon,
            shift_for(config.augmentation)?,
            Arc::clone(&self.stats),
            config.seed,
        )?))
    }

    fn columns(&self) -> Vec<String> {
        let mut columns = vec![TOP1.to_string()];
        for probe in ["kNN", "ridge"] {
            columns.extend(self.names().iter().map(|v| format!("{probe} R2 {v}")));
        }
        columns
    }

    fn score(&self, trainer: &mut Trainer) -> Result<Vec<f64>> {
        let train = self.embed(trainer, Split::Train)?;
        let test = self.embed(trainer, Split::Test)?;
        // The untrained predictor has learnt nothing: the random encoder is scored as the
        // pixels are, present features against future features.
        let trained = trainer.steps_done > 0;
        let queries = self.queries(trainer, &test, trained)?;
        let candidates = self.candidates(trainer, &test)?;
        let seed = trainer.config.seed;
        self.probes(train.view(), &test, [&queries, &candidates], seed)
    }

    fn baselines(&self, config: &TrainConfig) -> Result<Vec<Row>> {
        let train = pixels(&self.train)?;
        let test = pixels(&self.test)?;
        let queries = test.select(Axis(0), &self.anchors);
        let candidates = test.select(Axis(0), &self.futures);
        Ok(vec![Row {
            features: "raw pixels".into(),
            values: self.probes(train.view(), &test, [&queries, &candidates], config.seed)?,
        }])
    }

    fn monitor(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>> {
        let train = self.embed(trainer, Split::Train)?;
        let test = self.embed(trainer, Split::Test)?;
        let queries = self.queries(trainer, &test, true)?;
        let candidates = self.candidates(trainer, &test)?;
        let seed = trainer.config.seed;
        let values = self.retrieval_and_knn(train.view(), &test, [&queries, &candidates], seed)?;
        Ok(self.columns().into_iter().zip(values).collect())
    }

    fn extras(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>> {
        let test = self.embed(trainer, Split::Test)?;
        let seed = trainer.config.seed;
        let queries = self.queries(trainer, &test, true)?;
        let candidates = self.candidates(trainer, &test)?;
        let mut out = vec![(
            "next-state MRR".to_string(),
            self.retrieve(&queries, &candidates, seed)?.mrr,
        )];
        if trainer.model.has_predictor() {
            let present = self.queries(trainer, &test, false)?;
            let top1 = self.retrieve(&present, &candidates, seed)?.top1;
            out.push(("next-state top-1 without predictor".into(), top1));
        }
        Ok(out)
    }

    fn embed(&self, trainer: &mut Trainer, split: Split) -> Result<Array2<f32>> {
        let set = self.split(split);
        let steps = all_steps(set);
        encode_steps(&mut trainer.g, &mut trainer.model, set, &self.stats, &steps)
    }

    fn plots(
        &self,
        out: &Path,
        _trainer: &mut Trainer,
        history: &[EpochMetrics],
        _test_features: &Array2<f32>,
    ) -> Result<()> {
        // The monitor's columns: next-state top-1, then kNN R2 per state variable.
        let names = self.columns().into_iter().take(1 + self.names().len());
        let series = Series::from_monitor_keys(names, history);
        let chart = line_chart_png(
            "Held-out episodes: kNN R2 per state variable, next-state top-1",
            "epoch",
            "R2 / top-1",
            &series,
            (900, 550),
        )?;
        write(&out.join("r2.png"), &chart)
    }
}
