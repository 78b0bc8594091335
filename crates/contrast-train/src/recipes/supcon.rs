//! Supervised contrastive learning (Khosla et al. 2020): SimCLR's two views, but every row
//! of the same class is a positive (the `L_out` form).

use contrast_autodiff::{Graph, Var};
use contrast_losses::SupConConfig;
use contrast_losses::autodiff::supcon_op;
use contrast_nn::Module;
use ndarray::Array4;

use super::stacked_input;
use crate::error::Result;
use crate::model::ContrastModel;

/// `SupCon(head(encoder([view 1; view 2])), [labels; labels])` at temperature `t`.
pub fn loss(
    g: &mut Graph<f32>,
    model: &mut ContrastModel,
    views: &[Array4<f32>],
    labels: &[usize],
    t: f32,
) -> Result<Var> {
    let x = stacked_input(g, views)?;
    let z = model.forward(g, x)?;
    let row_labels: Vec<usize> = labels.iter().chain(labels).copied().collect();
    Ok(supcon_op(
        g,
        z,
        &row_labels,
        &SupConConfig::new(f64::from(t)),
    )?)
}
