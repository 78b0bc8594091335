//! The final evaluation of a run, always beside two baselines on the same split: raw pixels
//! and the same encoder at its random initialisation, so the table shows what
//! self-supervision bought.

use contrast_augment::Views;
use contrast_autodiff::Graph;
use contrast_data::Dataset;
use contrast_losses::{AlignmentConfig, UniformityConfig, alignment, uniformity};
use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::eval::features::{encode_images, pixels};
use crate::eval::knn::{KnnConfig, knn_accuracy};
use crate::eval::probe::linear_probe;
use crate::model::ContrastModel;

/// Rows of the test split used for uniformity (all pairs): bounds its cost.
const GEOMETRY_ROWS: usize = 2000;

/// Accuracies of one kind of feature on the test split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Weighted kNN, k = 200, T = 0.1 (InstDisc, lightly).
    pub knn_200: f64,
    /// Weighted kNN, k = 20, T = 0.07 (solo-learn).
    pub knn_20: f64,
    /// Linear probe top-1.
    pub linear_probe: f64,
}

/// Everything the final evaluation measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The trained encoder's features.
    pub trained: Scores,
    /// The same encoder at its random initialisation.
    pub random_encoder: Scores,
    /// Raw pixels.
    pub raw_pixels: Scores,
    /// Alignment `E ||f(x) - f(y)||^2` of two augmented views of test images (normalised features).
    pub alignment: f64,
    /// Uniformity `log E exp(-2 ||f(x) - f(y)||^2)` over test features.
    pub uniformity: f64,
}

/// kNN (both protocols) and the linear probe of features `(train, test)`.
pub fn scores(
    train: ArrayView2<f32>,
    train_data: &Dataset,
    test: ArrayView2<f32>,
    test_data: &Dataset,
    probe_epochs: usize,
    seed: u64,
) -> Result<Scores> {
    let classes = train_data.num_classes().max(test_data.num_classes());
    let (ytr, yte) = (train_data.labels(), test_data.labels());
    Ok(Scores {
        knn_200: knn_accuracy(train, ytr, test, yte, classes, KnnConfig::INSTDISC)?,
        knn_20: knn_accuracy(train, ytr, test, yte, classes, KnnConfig::SOLO_LEARN)?,
        linear_probe: linear_probe(train, ytr, test, yte, classes, probe_epochs, seed)?,
    })
}

/// Alignment of two augmented views of the test images and uniformity of their features.
pub fn geometry(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    test: &Dataset,
    views: &Views,
    seed: u64,
) -> Result<(f64, f64)> {
    let n = test.len().min(GEOMETRY_ROWS);
    let images = test.to_array();
    let images = images.slice(s![..n, .., .., ..]);
    let indices: Vec<u64> = (0..n as u64).collect();
    // A stream no training epoch uses, so the views are fresh.
    let pair = views.batch(images, &indices, seed, u64::MAX)?;
    let x = encode_images(g, model, pair[0].view())?;
    let y = encode_images(g, model, pair[1 % pair.len()].view())?;
    let align = alignment(x.view(), y.view(), &AlignmentConfig::default())?.loss;
    let unif = uniformity(x.view(), &UniformityConfig::default())?.loss;
    Ok((f64::from(align), f64::from(unif)))
}

/// The raw-pixel baseline.
pub fn pixel_scores(
    train: &Dataset,
    test: &Dataset,
    probe_epochs: usize,
    seed: u64,
) -> Result<Scores> {
    scores(
        pixels(train).view(),
        train,
        pixels(test).view(),
        test,
        probe_epochs,
        seed,
    )
}
