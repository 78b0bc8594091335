//! Frozen features: the encoder in evaluation mode (batch norm on running statistics),
//! with nothing recorded for backward.

use contrast_autodiff::Graph;
use contrast_data::Dataset;
use contrast_nn::Module;
use std::ops::Range;

use ndarray::{Array2, ArrayView4, Ix2, s};

use crate::batch::Input;
use crate::error::{Error, Result};
use crate::model::ContrastModel;

/// Rows encoded per forward pass.
const CHUNK: usize = 256;

/// Encoder features of every image of `data`, in dataset order: `(len, feature_dim)`.
pub fn encode(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    data: &Dataset,
) -> Result<Array2<f32>> {
    encode_images(g, model, data.to_array().view())
}

/// Encoder features of an NCHW batch of any size, `CHUNK` images per forward pass.
pub fn encode_images(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    images: ArrayView4<f32>,
) -> Result<Array2<f32>> {
    encode_inputs(g, model, images.shape()[0], Stage::Features, |rows| {
        Input::Images(images.slice(s![rows, .., .., ..]).to_owned())
    })
}

/// Which output of the model to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The encoder's features (before the head).
    Features,
    /// The projection head's output (what the loss compared).
    Projection,
}

/// The model's `stage` output for `n` samples of any kind, in order: `input(rows)` gives the
/// samples `rows` (at most `CHUNK` of them per forward pass).
pub fn encode_inputs(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    n: usize,
    stage: Stage,
    input: impl Fn(Range<usize>) -> Input,
) -> Result<Array2<f32>> {
    model.set_training(false);
    let width = match stage {
        Stage::Features => model.feature_dim(),
        Stage::Projection => model.projection_dim(),
    };
    let mut out = Array2::zeros((n, width));
    let result = crate::batch::chunks(n, CHUNK)
        .into_iter()
        .try_for_each(|rows| -> Result<()> {
            let value = g.no_grad(|g| -> Result<Array2<f32>> {
                let x = input(rows.clone());
                let h = match stage {
                    Stage::Features => model.features(g, &x)?,
                    Stage::Projection => model.project(g, &x)?,
                };
                let value = g.value(h).clone();
                value
                    .into_dimensionality::<Ix2>()
                    .map_err(|_| Error::Config("encoder output must be a matrix".into()))
            });
            g.reset();
            out.slice_mut(s![rows, ..]).assign(&value?);
            Ok(())
        });
    model.set_training(true);
    result.map(|()| out)
}

/// Raw pixels as features: `(len, C H W)` in `[0, 1]`.
pub fn pixels(data: &Dataset) -> Array2<f32> {
    let images = data.to_array();
    let n = images.shape()[0];
    let d = images.len() / n.max(1);
    images
        .into_shape_with_order((n, d))
        .expect("contiguous images")
}
