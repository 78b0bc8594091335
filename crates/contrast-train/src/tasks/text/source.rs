//! The training side of a text dataset as batches of token-bag views.
//!
//! - **Pairs**: sample `i` is training pair `i`; view 0 is its left sentence, view 1 its
//!   right one (translation or paraphrase), both featurised once, up front.
//! - **Unsupervised** (text without pairs): sample `i` is one sentence (each side of every
//!   training pair counts as a sentence); each view keeps a random subset of its words
//!   (with `augment_pairs`, each side of a pair is thinned so too, a regulariser):
//!   contrast-augment's span mask over word positions (masked words dropped), then its
//!   token deletion, drawn from the `(seed, epoch, index, view)` stream. A word's ids (its
//!   unigram and character n-grams) stay or go together, so a view is a shorter sentence.

use contrast_augment::{TokenOp, stream_rng};
use contrast_text::{Featurizer, TokenBags, words};

use crate::batch::{Batch, Input};
use crate::error::{Error, Result};
use crate::source::Source;

/// Fraction of a sentence's words covered by masked spans in an unsupervised view.
pub const SPAN_MASK_RATIO: f32 = 0.2;
/// Length of a masked span, in words.
pub const SPAN_MASK_WORDS: usize = 2;
/// Probability that each remaining word is deleted from an unsupervised view.
pub const WORD_DELETION: f32 = 0.1;
/// The mask token of the span mask over word positions (never a position).
const MASKED: u32 = u32::MAX;

/// Training pairs as views: the two sides, or word-dropping views of each sentence (of
/// each side of a pair, with `augment_pairs`).
pub(crate) enum TextViews {
    /// Left and right bags of every training pair.
    Pairs {
        /// Left sentences.
        left: TokenBags,
        /// Right sentences.
        right: TokenBags,
        /// Views per sample (1: left only, 2: both).
        views: usize,
        /// All 0: no classes.
        labels: Vec<usize>,
    },
    /// Sentences as the bags of their words; view `v` of sample `i` is a word-dropping view
    /// of `sides[v % sides.len()][i]` (one side: two views of one sentence; two sides:
    /// augmented pairs).
    Words {
        /// `sides[s][i][w]`: the ids of word `w` of sentence `i` on side `s`.
        sides: Vec<Vec<Vec<Vec<u32>>>>,
        /// Views per sample.
        views: usize,
        /// The two token ops, applied in order to word positions.
        ops: [TokenOp; 2],
        /// Seed of the view streams.
        seed: u64,
        /// All 0: no classes.
        labels: Vec<usize>,
    },
}

impl TextViews {
    /// The two sides of each pair as views 0 and 1.
    pub(crate) fn pairs(left: TokenBags, right: TokenBags, views: usize) -> Result<Self> {
        check_views(views)?;
        let labels = vec![0; left.len()];
        Ok(Self::Pairs {
            left,
            right,
            views,
            labels,
        })
    }

    /// Word-dropping views of the sentences of every side of `sides` (all sides equally long).
    pub(crate) fn words(
        featurizer: &Featurizer,
        sides: &[Vec<&str>],
        views: usize,
        seed: u64,
    ) -> Result<Self> {
        check_views(views)?;
        let sides: Vec<Vec<Vec<Vec<u32>>>> = sides
            .iter()
            .map(|texts| {
                texts
                    .iter()
                    .map(|t| words(t).iter().map(|w| featurizer.bag(w)).collect())
                    .collect()
            })
            .collect();
        let ops = [
            TokenOp::span_mask(SPAN_MASK_RATIO, SPAN_MASK_WORDS, MASKED)?,
            TokenOp::deletion(WORD_DELETION)?,
        ];
        Ok(Self::Words {
            labels: vec![0; sides.first().map_or(0, Vec::len)],
            sides,
            views,
            ops,
            seed,
        })
    }
}

fn check_views(views: usize) -> Result<()> {
    if !(1..=2).contains(&views) {
        return Err(Error::Config(format!(
            "text gives one or two views per sample, the recipe asks for {views}"
        )));
    }
    Ok(())
}

/// The ids of the words of `sentence` kept by `ops` (drawn from `rng`).
fn word_view(sentence: &[Vec<u32>], ops: &[TokenOp; 2], rng: &mut impl rand::Rng) -> Vec<u32> {
    let positions: Vec<u32> = (0..sentence.len() as u32).collect();
    let unmasked: Vec<u32> = ops[0]
        .apply(&positions, rng)
        .into_iter()
        .filter(|&p| p != MASKED)
        .collect();
    // A sentence masked whole keeps all its words for the deletion to thin.
    let kept = ops[1].apply(
        if unmasked.is_empty() {
            &positions
        } else {
            &unmasked
        },
        rng,
    );
    kept.iter()
        .flat_map(|&p| sentence[p as usize].iter().copied())
        .collect()
}

impl Source for TextViews {
    fn len(&self) -> usize {
        self.labels().len()
    }

    fn labels(&self) -> &[usize] {
        match self {
            Self::Pairs { labels, .. } | Self::Words { labels, .. } => labels,
        }
    }

    fn batch(&self, indices: &[usize], epoch: u64) -> Result<Batch> {
        let views = match self {
            Self::Pairs {
                left, right, views, ..
            } => [left, right][..*views]
                .iter()
                .map(|side| Input::Bags(TokenBags::from_bags(indices.iter().map(|&i| side.bag(i)))))
                .collect(),
            Self::Words {
                sides,
                views,
                ops,
                seed,
                ..
            } => (0..*views)
                .map(|v| {
                    let side = &sides[v % sides.len()];
                    Input::Bags(TokenBags::from_bags(indices.iter().map(|&i| {
                        let mut rng = stream_rng(*seed, epoch, i as u64, v as u64);
                        word_view(&side[i], ops, &mut rng)
                    })))
                })
                .collect(),
        };
        Ok(Batch {
            views,
            labels: vec![0; indices.len()],
            ids: indices.iter().map(|&i| i as u64).collect(),
            context: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contrast_text::FeatureConfig;

    #[test]
    fn unsupervised_views_drop_whole_words_and_are_keyed_by_the_stream() {
        let f = Featurizer::new(FeatureConfig {
            buckets: 1000,
            ..FeatureConfig::default()
        })
        .unwrap();
        let text = "in the beginning god created the heaven and the earth";
        let source = TextViews::words(&f, &[vec![text, "and god said"]], 2, 7).unwrap();
        let a = source.batch(&[0, 1], 3).unwrap();
        assert_eq!(a, source.batch(&[0, 1], 3).unwrap());
        assert_ne!(a, source.batch(&[0, 1], 4).unwrap());
        let Input::Bags(v0) = &a.views[0] else {
            panic!("bags")
        };
        let Input::Bags(v1) = &a.views[1] else {
            panic!("bags")
        };
        assert_ne!(v0.bag(0), v1.bag(0));
        let whole = f.bag(text);
        for view in [v0.bag(0), v1.bag(0)] {
            assert!(!view.is_empty() && view.len() < whole.len());
            // Every kept id run is a whole word of the sentence, in order.
            let mut rest = view;
            for w in words(text) {
                let ids = f.bag(&w);
                if rest.starts_with(&ids) {
                    rest = &rest[ids.len()..];
                }
            }
            assert!(rest.is_empty(), "a partial word in {view:?}");
        }
    }

    #[test]
    fn pair_views_are_the_two_sides() {
        let left = TokenBags::from_bags([vec![1], vec![2, 3]]);
        let right = TokenBags::from_bags([vec![4], vec![5]]);
        let source = TextViews::pairs(left, right, 2).unwrap();
        let b = source.batch(&[1], 0).unwrap();
        assert_eq!(b.views[0], Input::Bags(TokenBags::from_bags([vec![2, 3]])));
        assert_eq!(b.views[1], Input::Bags(TokenBags::from_bags([vec![5]])));
        assert!(TextViews::pairs(TokenBags::default(), TokenBags::default(), 3).is_err());
    }
}
