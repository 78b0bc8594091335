//! Text: sentence embeddings from pairs that mean the same (translations, paraphrases),
//! evaluated by retrieving each held-out sentence's partner.
//!
//! - **Data** (`contrast-text`): `bible:A-B` (verses of two installed SWORD modules aligned
//!   by reference: `bible:web-es` English-Spanish, `bible:kjv-web` paraphrases),
//!   `bible-slice:A-B` (the compiled-in slice, the default: no install needed),
//!   `pairs:PATH` (a tab-separated pair file with its fixed ~10% hold-out, or a folder with
//!   `train.tsv` and `test.tsv`). Bibles: Old Testament = train, New Testament = test.
//! - **Input**: every sentence featurised once as a bag of hashed word unigrams and
//!   character 3- to 5-grams (`config.buckets` buckets), read by a shared
//!   [`BagEncoder`](contrast_nn::encoders::BagEncoder) (one encoder for both languages).
//! - **Views** (`source.rs`): the two sides of a pair, or, with `unsupervised`, two
//!   word-dropping views of one sentence (with `augment_pairs`, each side thinned so too).
//! - **Evaluation**: the test pairs' projections (what the loss compared, CLIP's
//!   convention), cosine similarity, and for each direction (left -> right, right -> left)
//!   top-1 accuracy in seeded pools of 1,000 pairs (the true partner and 999 others),
//!   top-1 in the full test pool, and MRR in the pools of 1,000
//!   ([`crate::eval::retrieval`]); beside TF-IDF on the same hashed features (idf fitted on
//!   the training sentences) and the encoder at its random initialisation.
//! - **Files**: `embeddings.npy` holds the test split's left sentences then its right ones
//!   (`2n` rows); `retrieval.png` plots top-1 in pools of 1,000 per epoch.

mod source;

use std::path::Path;
use std::sync::Arc;

use contrast_text::{FeatureConfig, Featurizer, PairDataset, TextDataset, Tfidf, TokenBags};
use contrast_text::{cosine_matrix, load_dataset};
use ndarray::{Array2, ArrayView2, Axis, concatenate};

use super::{InputSpec, Split, Task};
use crate::batch::Input;
use crate::config::{Method, TrainConfig};
use crate::error::Result;
use crate::eval::features::{Stage, encode_inputs};
use crate::eval::report::Row;
use crate::eval::retrieval::{RETRIEVAL_POOL, ranks_of_scores, summarize};
use crate::metrics::EpochMetrics;
use crate::plot::{Series, line_chart_png};
use crate::run::write;
use crate::source::Source as _;
use crate::trainer::Trainer;

pub use source::{SPAN_MASK_RATIO, SPAN_MASK_WORDS, WORD_DELETION};

/// The dataset a text run uses when none is named: the compiled-in English-Spanish slice.
pub const DEFAULT_TEXT_DATASET: &str = "bible-slice:web-es";
/// Seed of the retrieval pools (fixed, so every run and baseline sees the same pools).
const POOL_SEED: u64 = 0;
/// Row name of the TF-IDF baseline.
const TFIDF: &str = "TF-IDF (same hashed features)";

/// Whether `dataset` names text (`bible:`, `bible-slice:`, `pairs:`).
pub fn is_text_dataset(dataset: &str) -> bool {
    TextDataset::parse(dataset).is_some()
}

/// The defaults of a text run over `base`: the pairs recipe at `T = 0.05`, batches of 512
/// pairs, word-dropping views of both sides (without them the table memorises the training
/// pairs: training loss near 0 while test retrieval stalls), a learning rate of 0.02 (the
/// lazy-Adam table moves each row only on the steps that use it, so it needs a larger rate
/// than the MLP alone would), the budget chosen on `bible:web-es` (see the README's text
/// section), retrieval monitored every epoch, a checkpoint (768 MiB with the default table
/// and its Adam moments) every 10 epochs and at the end.
pub fn defaults(base: TrainConfig) -> TrainConfig {
    TrainConfig {
        method: Method::Pairs,
        augment_pairs: true,
        epochs: 20,
        batch_size: 512,
        temperature: 0.05,
        lr: 0.02,
        warmup_epochs: 1,
        projection_dim: 128,
        eval_every: 1,
        checkpoint_every: 10,
        ..base
    }
}

/// A text dataset featurised: the bags of both sides of both splits.
pub struct Text {
    data: PairDataset,
    featurizer: Featurizer,
    /// `[left, right]` bags of the training pairs.
    train: [TokenBags; 2],
    /// `[left, right]` bags of the test pairs.
    test: [TokenBags; 2],
}

impl Text {
    /// Loads and featurises `config.dataset`.
    ///
    /// # Errors
    /// The dataset's (a file and line, a module, a missing install), a bad bucket count, a
    /// test split smaller than two pairs.
    pub fn load(config: &TrainConfig) -> Result<Self> {
        let data = load_dataset(&config.dataset)?;
        let featurizer = featurizer(config)?;
        if data.test.len() < 2 {
            return Err(crate::error::Error::Config(format!(
                "{}: the test split has {} pair(s); retrieval needs at least 2",
                data.name,
                data.test.len()
            )));
        }
        let bags = |pairs: &[contrast_text::TextPair]| {
            let left: Vec<&str> = pairs.iter().map(|p| p.left.as_str()).collect();
            let right: Vec<&str> = pairs.iter().map(|p| p.right.as_str()).collect();
            [featurizer.bags(&left), featurizer.bags(&right)]
        };
        Ok(Self {
            train: bags(&data.train),
            test: bags(&data.test),
            featurizer,
            data,
        })
    }

    /// The pairs, as loaded.
    pub fn data(&self) -> &PairDataset {
        &self.data
    }

    /// `left -> right` and `right -> left` names, e.g. `web->es` (the sides as the dataset
    /// name spells them; `left`, `right` for pair files).
    fn directions(&self) -> [String; 2] {
        let (l, r) = match TextDataset::parse(&self.data.name) {
            Some(Ok(TextDataset::Bible { left, right } | TextDataset::Slice { left, right })) => {
                (left, right)
            }
            _ => ("left".to_string(), "right".to_string()),
        };
        [format!("{l}->{r}"), format!("{r}->{l}")]
    }

    fn monitor_names(&self) -> [String; 2] {
        self.directions().map(|d| format!("{d} top-1@1000"))
    }

    /// Retrieval figures of the cosine score matrix `scores` (left rows, right columns):
    /// top-1 in pools of 1,000 both directions, top-1 in the full pool both directions,
    /// MRR in pools of 1,000 both directions.
    fn figures(&self, scores: ArrayView2<f32>) -> Result<Vec<f64>> {
        let n = scores.nrows();
        let truth: Vec<usize> = (0..n).collect();
        let pool = RETRIEVAL_POOL.min(n);
        let mut pools = Vec::new();
        let mut full = Vec::new();
        for s in [scores, scores.t()] {
            pools.push(summarize(&ranks_of_scores(s, &truth, pool, POOL_SEED)?));
            full.push(summarize(&ranks_of_scores(s, &truth, n, POOL_SEED)?));
        }
        Ok(vec![
            pools[0].top1,
            pools[1].top1,
            full[0].top1,
            full[1].top1,
            pools[0].mrr,
            pools[1].mrr,
        ])
    }

    /// The trainer's embeddings of both sides of the test split.
    fn test_sides(&self, trainer: &mut Trainer) -> Result<[Array2<f32>; 2]> {
        Ok([
            encode_bags(trainer, &self.test[0])?,
            encode_bags(trainer, &self.test[1])?,
        ])
    }
}

fn featurizer(config: &TrainConfig) -> Result<Featurizer> {
    Ok(Featurizer::new(FeatureConfig {
        buckets: config.buckets,
        ..FeatureConfig::default()
    })?)
}

/// The trainer's embeddings (projections) of `bags`, one row per bag.
fn encode_bags(trainer: &mut Trainer, bags: &TokenBags) -> Result<Array2<f32>> {
    encode_inputs(
        &mut trainer.g,
        &mut trainer.model,
        bags.len(),
        Stage::Projection,
        |rows| Input::Bags(TokenBags::from_bags(rows.map(|i| bags.bag(i)))),
    )
}

/// The trainer's embeddings of sentences (`contrast embed` of a text file): one row per
/// sentence, the space retrieval is scored in.
///
/// # Errors
/// The trainer's model does not read text, or its bucket count is invalid.
pub fn embed_texts<S: AsRef<str> + Sync>(
    trainer: &mut Trainer,
    texts: &[S],
) -> Result<Array2<f32>> {
    let bags = featurizer(&trainer.config)?.bags(texts);
    encode_bags(trainer, &bags)
}

/// Cosine similarities of every row of `a` with every row of `b`.
fn cosines(a: &Array2<f32>, b: &Array2<f32>) -> Array2<f32> {
    let unit = |x: &Array2<f32>| {
        let norms = x.map_axis(Axis(1), |r| r.dot(&r).sqrt().max(1e-12));
        x / &norms.insert_axis(Axis(1))
    };
    unit(a).dot(&unit(b).t())
}

impl Task for Text {
    fn input(&self) -> InputSpec {
        InputSpec::Bags {
            buckets: self.featurizer.config().buckets as usize,
        }
    }

    fn source(&self, config: &TrainConfig, views: usize) -> Result<Arc<dyn crate::source::Source>> {
        if config.unsupervised || config.augment_pairs {
            let train = &self.data.train;
            let side = |right: bool| -> Vec<&str> {
                train
                    .iter()
                    .map(|p| if right { &p.right } else { &p.left }.as_str())
                    .collect()
            };
            let sides = if config.unsupervised {
                vec![[side(false), side(true)].concat()]
            } else {
                vec![side(false), side(true)]
            };
            return Ok(Arc::new(source::TextViews::words(
                &self.featurizer,
                &sides,
                views,
                config.seed,
            )?));
        }
        let [left, right] = self.train.clone();
        let source = source::TextViews::pairs(left, right, views)?;
        if source.is_empty() {
            return Err(crate::error::Error::Empty("training pairs"));
        }
        Ok(Arc::new(source))
    }

    fn columns(&self) -> Vec<String> {
        let d = self.directions();
        vec![
            format!("{} top-1@1000", d[0]),
            format!("{} top-1@1000", d[1]),
            format!("{} top-1 all", d[0]),
            format!("{} top-1 all", d[1]),
            format!("{} MRR@1000", d[0]),
            format!("{} MRR@1000", d[1]),
        ]
    }

    fn score(&self, trainer: &mut Trainer) -> Result<Vec<f64>> {
        let [left, right] = self.test_sides(trainer)?;
        self.figures(cosines(&left, &right).view())
    }

    fn baselines(&self, _config: &TrainConfig) -> Result<Vec<Row>> {
        let train = TokenBags::from_bags(self.train[0].iter().chain(self.train[1].iter()));
        let tfidf = Tfidf::fit(&train, self.featurizer.config().buckets)?;
        let scores = cosine_matrix(
            &tfidf.transform(&self.test[0])?,
            &tfidf.transform(&self.test[1])?,
        );
        Ok(vec![Row {
            features: TFIDF.into(),
            values: self.figures(scores.view())?,
        }])
    }

    fn monitor(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>> {
        let [left, right] = self.test_sides(trainer)?;
        let scores = cosines(&left, &right);
        let n = scores.nrows();
        let truth: Vec<usize> = (0..n).collect();
        let pool = RETRIEVAL_POOL.min(n);
        let names = self.monitor_names();
        let mut out = Vec::new();
        for (name, s) in names.into_iter().zip([scores.view(), scores.t()]) {
            let found = summarize(&ranks_of_scores(s, &truth, pool, POOL_SEED)?);
            out.push((name, found.top1));
        }
        if let Some(t) = trainer.model.logit_scale() {
            out.push((
                "temperature".into(),
                f64::from(crate::recipes::pairs::temperature(&trainer.g, t)),
            ));
        }
        Ok(out)
    }

    fn extras(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>> {
        let mut out = vec![
            ("train pairs".to_string(), self.data.train.len() as f64),
            ("test pairs".to_string(), self.data.test.len() as f64),
        ];
        if let Some(t) = trainer.model.logit_scale() {
            out.push((
                "temperature".into(),
                f64::from(crate::recipes::pairs::temperature(&trainer.g, t)),
            ));
        }
        Ok(out)
    }

    fn embed(&self, trainer: &mut Trainer, split: Split) -> Result<Array2<f32>> {
        let [left, right] = match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        let (l, r) = (encode_bags(trainer, left)?, encode_bags(trainer, right)?);
        Ok(concatenate(Axis(0), &[l.view(), r.view()]).expect("same width"))
    }

    fn plots(
        &self,
        out: &Path,
        _trainer: &mut Trainer,
        history: &[EpochMetrics],
        _test_features: &Array2<f32>,
    ) -> Result<()> {
        let series = Series::from_monitor_keys(self.monitor_names(), history);
        let chart = line_chart_png(
            "Retrieval of the partner on the test split (pools of 1,000)",
            "epoch",
            "top-1 accuracy",
            &series,
            (800, 500),
        )?;
        write(&out.join("retrieval.png"), &chart)
    }
}
