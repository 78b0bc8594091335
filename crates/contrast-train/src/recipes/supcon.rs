//! Supervised contrastive learning (Khosla et al. 2020): SimCLR's two views, but every row
//! of the same class is a positive (the `L_out` form).

use contrast_autodiff::{Graph, Var};
use contrast_losses::SupConConfig;
use contrast_losses::autodiff::supcon_op;

use super::stacked;
use crate::error::Result;

/// `SupCon([z1; z2], [labels; labels])` at temperature `t`.
pub fn loss(g: &mut Graph<f32>, rows: &[Var], labels: &[usize], t: f32) -> Result<Var> {
    let z = stacked(g, rows)?;
    let row_labels: Vec<usize> = labels.iter().chain(labels).copied().collect();
    Ok(supcon_op(
        g,
        z,
        &row_labels,
        &SupConConfig::new(f64::from(t)),
    )?)
}
