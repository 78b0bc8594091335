//! Frozen features: the encoder in evaluation mode (batch norm on running statistics),
//! with nothing recorded for backward.

use contrast_autodiff::Graph;
use contrast_data::Dataset;
use contrast_nn::Module;
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
    model.set_training(false);
    let n = images.shape()[0];
    let mut out = Array2::zeros((n, model.feature_dim()));
    let indices: Vec<usize> = (0..n).collect();
    let result = indices.chunks(CHUNK).try_for_each(|chunk| -> Result<()> {
        let rows = g.no_grad(|g| -> Result<Array2<f32>> {
            let part = images.slice(s![chunk[0]..chunk[0] + chunk.len(), .., .., ..]);
            let h = model.features(g, &Input::Images(part.to_owned()))?;
            let value = g.value(h).clone();
            value
                .into_dimensionality::<Ix2>()
                .map_err(|_| Error::Config("encoder output must be a matrix".into()))
        });
        g.reset();
        out.slice_mut(s![chunk[0]..chunk[0] + chunk.len(), ..])
            .assign(&rows?);
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
