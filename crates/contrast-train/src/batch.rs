//! What one training batch holds, whatever the kind of data.
//!
//! A batch of `N` samples carries `V` views (`views[v]` is view `v` of every sample, so each
//! view has `N` rows) and per-sample facts the losses may need: class labels (SupCon,
//! triplet), instance ids (the dataset index: two rows with the same id are the same sample,
//! never each other's negatives), and an optional conditioning matrix (the temporal recipe's
//! actions). Images and frame stacks are NCHW arrays; text is token bags (hashed n-gram ids
//! of each sentence, CSR layout).
//!
//! The cached-gradient step cuts a batch into chunks of samples and data-parallel training
//! gives every rank a shard: both are [`Batch::samples`] of the same batch.

use std::ops::Range;

use contrast_text::TokenBags;
use ndarray::{Array2, Array4, Axis, s};

use crate::error::{Error, Result};

/// One view of every sample of a batch, in the form an encoder takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// Images or frame stacks, `(N, C, H, W)`, values in `[0, 1]`.
    Images(Array4<f32>),
    /// Sentences as bags of feature ids, one bag per sample.
    Bags(TokenBags),
}

impl Input {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Input::Images(x) => x.shape()[0],
            Input::Bags(b) => b.len(),
        }
    }

    /// Whether it holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples in `range`.
    pub fn samples(&self, range: Range<usize>) -> Input {
        match self {
            Input::Images(x) => Input::Images(x.slice(s![range, .., .., ..]).to_owned()),
            Input::Bags(b) => Input::Bags(TokenBags::from_bags(
                range.map(|i| b.bag(i)).collect::<Vec<_>>(),
            )),
        }
    }

    /// Several inputs of the same kind one after the other (e.g. two views as one batch of
    /// `2N` rows, so that batch norm sees both, as SimCLR does).
    ///
    /// # Errors
    /// [`Error::Config`] when the parts differ in kind or in shape.
    pub fn concat(parts: &[&Input]) -> Result<Input> {
        match parts.first() {
            Some(Input::Bags(_)) => {
                let mut bags = Vec::new();
                for part in parts {
                    let Input::Bags(b) = part else {
                        return Err(Error::Config("views of different kinds".into()));
                    };
                    bags.extend(b.iter());
                }
                Ok(Input::Bags(TokenBags::from_bags(bags)))
            }
            _ => {
                let mut images = Vec::new();
                for part in parts {
                    let Input::Images(x) = part else {
                        return Err(Error::Config("views of different kinds".into()));
                    };
                    images.push(x.view());
                }
                let x = ndarray::concatenate(Axis(0), &images)
                    .map_err(|e| Error::Config(format!("views of different shapes: {e}")))?;
                Ok(Input::Images(x))
            }
        }
    }
}

/// The views of a batch of samples and what the losses know about each sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// `views[v]`: view `v` of every sample.
    pub views: Vec<Input>,
    /// Class label of each sample (0 where the data has none).
    pub labels: Vec<usize>,
    /// Instance id of each sample: its index in the training data.
    pub ids: Vec<u64>,
    /// Per-sample conditioning rows `(N, c)`, e.g. one-hot actions.
    pub context: Option<Array2<f32>>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether it holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples in `range`, with all their views and facts.
    pub fn samples(&self, range: Range<usize>) -> Batch {
        Batch {
            views: self
                .views
                .iter()
                .map(|v| v.samples(range.clone()))
                .collect(),
            labels: self.labels[range.clone()].to_vec(),
            ids: self.ids[range.clone()].to_vec(),
            context: self
                .context
                .as_ref()
                .map(|c| c.slice(s![range, ..]).to_owned()),
        }
    }

    /// The per-sample facts without the views.
    pub fn meta(&self) -> Meta {
        Meta {
            labels: self.labels.clone(),
            ids: self.ids.clone(),
        }
    }
}

/// The per-sample facts of a whole batch, which a loss may need for every row it sees
/// (gathered from every rank in data-parallel training).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Class label of each sample.
    pub labels: Vec<usize>,
    /// Instance id of each sample.
    pub ids: Vec<u64>,
}

/// Consecutive ranges of at most `size` samples covering `0..len` (the last may be short).
pub fn chunks(len: usize, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    (0..len.div_ceil(size))
        .map(|c| c * size..((c + 1) * size).min(len))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize) -> Batch {
        let images = Array4::from_shape_fn((n, 1, 2, 2), |(i, _, y, x)| (i * 4 + y * 2 + x) as f32);
        Batch {
            views: vec![Input::Images(images.clone()), Input::Images(images + 100.0)],
            labels: (0..n).map(|i| i % 3).collect(),
            ids: (0..n as u64).map(|i| 10 + i).collect(),
            context: Some(Array2::from_shape_fn((n, 2), |(i, j)| (i * 2 + j) as f32)),
        }
    }

    #[test]
    fn samples_cut_every_part_alike() {
        let b = batch(5);
        let part = b.samples(1..3);
        assert_eq!(part.len(), 2);
        assert_eq!(part.labels, vec![1, 2]);
        assert_eq!(part.ids, vec![11, 12]);
        assert_eq!(part.context.unwrap().row(0).to_vec(), vec![2.0, 3.0]);
        let Input::Images(v1) = &part.views[1] else {
            panic!("images")
        };
        assert_eq!(v1[[0, 0, 0, 0]], 104.0);
        assert_eq!(v1.shape(), &[2, 1, 2, 2]);
    }

    #[test]
    fn concat_stacks_views_and_rejects_mismatched_shapes() {
        let b = batch(3);
        let both = Input::concat(&[&b.views[0], &b.views[1]]).unwrap();
        assert_eq!(both.len(), 6);
        let Input::Images(x) = &both else {
            panic!("images")
        };
        assert_eq!(x[[3, 0, 0, 0]], 100.0);
        let odd = Input::Images(Array4::zeros((2, 1, 3, 3)));
        let e = Input::concat(&[&b.views[0], &odd]).unwrap_err();
        assert!(e.to_string().contains("different shapes"), "{e}");
    }

    #[test]
    fn bags_are_cut_and_concatenated_bag_by_bag() {
        let bags = TokenBags::from_bags([vec![1, 2], vec![], vec![3], vec![4, 5, 6]]);
        let b = Batch {
            views: vec![Input::Bags(bags.clone()), Input::Bags(bags)],
            labels: vec![0; 4],
            ids: (0..4).collect(),
            context: None,
        };
        let part = b.samples(1..4);
        let Input::Bags(cut) = &part.views[0] else {
            panic!("bags")
        };
        assert_eq!(
            cut.iter().collect::<Vec<_>>(),
            vec![&[][..], &[3], &[4, 5, 6]]
        );
        let both = Input::concat(&[&part.views[0], &b.views[1]]).unwrap();
        assert_eq!(both.len(), 7);
        let Input::Bags(all) = &both else {
            panic!("bags")
        };
        assert_eq!(all.bag(3), &[1, 2]);
        let images = Input::Images(Array4::zeros((1, 1, 1, 1)));
        let e = Input::concat(&[&part.views[0], &images]).unwrap_err();
        assert!(e.to_string().contains("different kinds"), "{e}");
    }

    #[test]
    fn chunks_cover_the_batch_with_a_short_last_one() {
        assert_eq!(chunks(7, 3), vec![0..3, 3..6, 6..7]);
        assert_eq!(chunks(6, 3), vec![0..3, 3..6]);
        assert_eq!(chunks(2, 5), vec![0..2]);
        assert!(chunks(0, 4).is_empty());
    }
}
