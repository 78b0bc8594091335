//! Triplet learning with batch-hard mining (Hermans et al. 2017) on P x K batches: for each
//! anchor the farthest same-class row and the nearest other-class row, on L2-normalised
//! projections; loss `mean max(d(a, p) - d(a, n) + margin, 0)`.

use contrast_autodiff::{Graph, Var};
use contrast_linalg::{NORM_EPS, pairwise_distances};
use contrast_losses::autodiff::triplet_margin_op;
use contrast_losses::{Reduction, TripletConfig};
use contrast_sampling::layout::Labelled;
use contrast_sampling::triplets::batch_hard;
use ndarray::Ix2;

use crate::error::{Error, Result};

/// Batch-hard triplet loss of the projections `rows[0]` (one view per sample).
pub fn loss(g: &mut Graph<f32>, rows: &[Var], labels: &[usize], margin: f32) -> Result<Var> {
    let z = g.l2_normalize_rows(rows[0], NORM_EPS as f32)?;
    let embeddings = g
        .value(z)
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| Error::Config("triplet embeddings must be a matrix".into()))?
        .to_owned();
    let distances = pairwise_distances(embeddings.view());
    let triplets = batch_hard(distances.view(), &Labelled::new(labels.to_vec())?)?;
    if triplets.is_empty() {
        return Err(Error::Config(
            "no valid triplet in the batch: each needs two samples of a class and another class"
                .into(),
        ));
    }
    let pick = |f: fn(&contrast_sampling::triplets::Triplet) -> usize| -> Vec<usize> {
        triplets.iter().map(f).collect()
    };
    let anchors = g.index_select(z, &pick(|t| t.anchor))?;
    let positives = g.index_select(z, &pick(|t| t.positive))?;
    let negatives = g.index_select(z, &pick(|t| t.negative))?;
    let config = TripletConfig {
        margin: f64::from(margin),
        reduction: Reduction::Mean,
        ..TripletConfig::default()
    };
    Ok(triplet_margin_op(
        g, anchors, positives, negatives, &config,
    )?)
}
