//! A bag-of-features encoder for text: an embedding bag followed by an MLP.
//!
//! A sentence is a bag of hashed n-gram ids in `[0, buckets)`; the encoder maps a batch of
//! bags to one feature row each:
//!
//! ```text
//! h_0 = EmbeddingBag(bag)                     (buckets x d_0 table, mean or sum)
//! h_i = relu(h_{i-1} W_i^T + b_i)             i = 1 .. L-1
//! y   = h_{L-1} W_L^T + b_L                   (no activation on the output)
//! ```
//!
//! with `dims = [d_0, d_1, ..., d_L]`. The default ([`BagEncoderConfig::text`]) is a mean
//! bag of `2^18 x 256`, then `Linear 256-256 -> ReLU -> Linear 256-128`: one encoder can
//! serve both sides of translation pairs (the ids of both languages share its table).
//!
//! Parameter names: `embedding.weight`, then the MLP's `mlp.layers.<i>.weight` / `.bias`.
//! Like its [`EmbeddingBag`], the encoder takes bags through
//! [`BagEncoder::forward_bags`]; [`Module::forward`] returns [`Error::BagsInput`].
//!
//! ```
//! use contrast_autodiff::{BagMode, Bags, Graph};
//! use contrast_nn::encoders::{BagEncoder, BagEncoderConfig};
//! use contrast_nn::optim::{graph_step, Adam};
//! use contrast_nn::Module;
//! use rand::SeedableRng;
//!
//! # fn main() -> contrast_nn::Result<()> {
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut g = Graph::<f32>::new();
//! let config = BagEncoderConfig { buckets: 1000, dims: vec![16, 16, 8], mode: BagMode::Mean };
//! let mut encoder = BagEncoder::new(&mut g, &config, &mut rng)?;
//! let bags = Bags::from_lists(&[vec![3, 17, 998], vec![4, 4]]);
//! let y = encoder.forward_bags(&mut g, &bags)?;
//! assert_eq!(g.value(y).shape(), &[2, 8]);
//!
//! let sq = g.mul(y, y)?;
//! let loss = g.mean_all(sq)?;
//! g.backward(loss)?;
//! let table = encoder.embedding().weight();
//! assert_eq!(g.sparse_grad(table).unwrap().rows(), &[3, 4, 17, 998]); // only the used rows
//! let mut opt = Adam::new(1e-3)?;
//! graph_step(&mut opt, &mut g, &encoder.named_params())?; // lazy Adam on the table
//! # Ok(())
//! # }
//! ```

use contrast_autodiff::{BagMode, Bags, Graph, Var};
use ndarray::NdFloat;
use rand::Rng;

use super::{Mlp, MlpConfig};
use crate::error::{Error, Result};
use crate::layers::{Activation, EmbeddingBag};
use crate::module::Module;

/// Sizes of a [`BagEncoder`].
#[derive(Clone, Debug, PartialEq)]
pub struct BagEncoderConfig {
    /// Rows of the embedding table (the hash buckets of the featuriser).
    pub buckets: usize,
    /// `[embedding width, hidden..., output]`: at least the embedding width, all > 0. With
    /// one entry the encoder is the embedding bag alone.
    pub dims: Vec<usize>,
    /// Mean or sum over a bag.
    pub mode: BagMode,
}

impl BagEncoderConfig {
    /// The text encoder of the pairs recipe: a mean bag of `2^18 x 256`, then
    /// `Linear 256-256 -> ReLU -> Linear 256-128`.
    pub fn text() -> Self {
        Self {
            buckets: 1 << 18,
            dims: vec![256, 256, 128],
            mode: BagMode::Mean,
        }
    }
}

/// `EmbeddingBag -> (Linear -> ReLU)* -> Linear`: bags of ids to `(N, dims.last())` features.
pub struct BagEncoder<A> {
    embedding: EmbeddingBag<A>,
    mlp: Option<Mlp<A>>,
    out_features: usize,
}

impl<A: NdFloat> BagEncoder<A> {
    /// Build the encoder: the table from `N(0, 1)` (PyTorch's `nn.EmbeddingBag`), the linear
    /// layers with PyTorch's default init, in that order from `rng`.
    pub fn new(g: &mut Graph<A>, config: &BagEncoderConfig, rng: &mut impl Rng) -> Result<Self> {
        let d = &config.dims;
        if d.is_empty() || d.contains(&0) {
            return Err(Error::InvalidConfig {
                what: "bag encoder widths",
                value: format!("{d:?}"),
                why: "need at least the embedding width, all > 0",
            });
        }
        let embedding = EmbeddingBag::new(g, config.buckets, d[0], config.mode, rng)?;
        let mlp = if d.len() > 1 {
            let mlp = MlpConfig {
                dims: d.clone(),
                activation: Activation::Relu,
                batch_norm: false,
                activate_last: false,
            };
            Some(Mlp::new(g, &mlp, rng)?)
        } else {
            None
        };
        Ok(Self {
            embedding,
            mlp,
            out_features: d[d.len() - 1],
        })
    }

    /// The features of every bag: `(bags.len(), out_features)`.
    ///
    /// Errors: an id `>= buckets`, per-id weights in mean mode.
    pub fn forward_bags(&mut self, g: &mut Graph<A>, bags: &Bags<A>) -> Result<Var> {
        let h = self.embedding.forward_bags(g, bags)?;
        match &mut self.mlp {
            Some(mlp) => mlp.forward(g, h),
            None => Ok(h),
        }
    }

    /// The embedding bag (its table is `embedding().weight()`).
    pub fn embedding(&self) -> &EmbeddingBag<A> {
        &self.embedding
    }

    /// Width of the output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<A: NdFloat> Module<A> for BagEncoder<A> {
    /// Always [`Error::BagsInput`]: the input is bags, see [`BagEncoder::forward_bags`].
    fn forward(&mut self, _g: &mut Graph<A>, _x: Var) -> Result<Var> {
        Err(Error::BagsInput {
            layer: "BagEncoder",
        })
    }

    fn children(&self) -> Vec<(String, &dyn Module<A>)> {
        let mut c: Vec<(String, &dyn Module<A>)> = vec![("embedding".into(), &self.embedding)];
        if let Some(mlp) = &self.mlp {
            c.push(("mlp".into(), mlp));
        }
        c
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<A>)> {
        let mut c: Vec<(String, &mut dyn Module<A>)> =
            vec![("embedding".into(), &mut self.embedding)];
        if let Some(mlp) = &mut self.mlp {
            c.push(("mlp".into(), mlp));
        }
        c
    }
}
