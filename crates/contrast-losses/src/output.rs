//! What every loss returns, and the knobs shared by several of them.

use ndarray::{Array1, Array2};

/// A scalar loss and its gradient with respect to the one embedding input.
#[derive(Clone, Debug, PartialEq)]
pub struct LossGrad<A> {
    /// The reduced loss.
    pub loss: A,
    /// `d loss / d z`, the shape of the input.
    pub grad: Array2<A>,
}

/// A loss of two embedding inputs and its gradient with respect to both.
#[derive(Clone, Debug, PartialEq)]
pub struct PairLossGrad<A> {
    /// The reduced loss.
    pub loss: A,
    /// `d loss / d x`.
    pub grad_x: Array2<A>,
    /// `d loss / d y`.
    pub grad_y: Array2<A>,
}

/// How per-sample losses are combined (the torch `reduction` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Mean over samples.
    #[default]
    Mean,
    /// Sum over samples.
    Sum,
    /// No reduction: the per-sample losses are returned beside the sum, and the gradients
    /// are those of the sum (each sample's loss depends only on its own rows).
    None,
}

impl Reduction {
    /// The factor `d reduced / d per-sample loss` for `count` samples.
    pub(crate) fn weight(self, count: usize) -> f64 {
        match self {
            Reduction::Mean => 1.0 / count as f64,
            Reduction::Sum | Reduction::None => 1.0,
        }
    }
}

/// Per-sample losses alongside the reduced one (used where a `none` reduction exists).
pub type PerSample<A> = Array1<A>;

/// Dense or tiled evaluation of the softmax losses (NT-Xent, InfoNCE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Evaluation {
    /// Tiled when the logit matrix would have more than [`AUTO_TILED_ABOVE`] entries.
    #[default]
    Auto,
    /// Materialise the whole logit matrix (fastest at small sizes).
    Dense,
    /// Row-block x column-tile evaluation, never holding the logit matrix.
    Tiled(TileSize),
}

/// Tile shape of the tiled losses: rows per parallel block, columns per tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileSize {
    /// Rows (anchors) per block; blocks run in parallel with rayon.
    pub rows: usize,
    /// Columns (candidates) per tile.
    pub cols: usize,
}

impl Default for TileSize {
    fn default() -> Self {
        Self {
            rows: 128,
            cols: 512,
        }
    }
}

/// `Evaluation::Auto` switches to tiles above this many logits (2^24: a 4096 x 4096 matrix,
/// 64 MiB in f32). Below it the dense product is faster and its memory is modest.
pub const AUTO_TILED_ABOVE: usize = 1 << 24;

impl Evaluation {
    /// The tile size to use for a logit matrix of `rows x cols`, or `None` for dense.
    pub(crate) fn resolve(self, rows: usize, cols: usize) -> Option<TileSize> {
        match self {
            Evaluation::Dense => None,
            Evaluation::Tiled(t) => Some(t),
            Evaluation::Auto => {
                (rows.saturating_mul(cols) > AUTO_TILED_ABOVE).then(TileSize::default)
            }
        }
    }
}

/// Temperature and normalisation: the settings of the softmax losses without extras.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxConfig {
    /// Temperature `T > 0`.
    pub temperature: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
}

impl Default for SoftmaxConfig {
    fn default() -> Self {
        Self {
            temperature: 0.1,
            normalize: true,
        }
    }
}

impl SoftmaxConfig {
    /// Temperature `t`, rows normalised.
    pub fn new(temperature: f64) -> Self {
        Self {
            temperature,
            normalize: true,
        }
    }
    /// Turns row normalisation on or off.
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_switches_to_tiles_above_the_threshold() {
        assert_eq!(Evaluation::Auto.resolve(4096, 4096), None);
        assert_eq!(
            Evaluation::Auto.resolve(4098, 4096),
            Some(TileSize::default())
        );
        assert_eq!(Evaluation::Dense.resolve(1 << 20, 1 << 20), None);
        let t = TileSize { rows: 3, cols: 5 };
        assert_eq!(Evaluation::Tiled(t).resolve(4, 4), Some(t));
        assert!((Reduction::Mean.weight(4) - 0.25).abs() < 1e-15);
        assert_eq!(Reduction::Sum.weight(4), 1.0);
    }
}
