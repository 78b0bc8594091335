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

/// The loss and gradient of a labelled loss, with the anchors that had no positive.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelLossGrad<A> {
    /// The reduced loss.
    pub loss: A,
    /// `d loss / d z`, the shape of the input.
    pub grad: Array2<A>,
    /// The anchors without a positive in the batch (ascending), handled as
    /// [`NoPositive::Skip`] says; empty when every anchor had one (with
    /// [`NoPositive::Error`] the call fails instead).
    pub skipped: Vec<usize>,
}

impl<A> From<LabelLossGrad<A>> for LossGrad<A> {
    fn from(out: LabelLossGrad<A>) -> Self {
        LossGrad {
            loss: out.loss,
            grad: out.grad,
        }
    }
}

/// What a labelled loss does with an anchor that has no positive in its batch (a class
/// seen once). Such an anchor has no term of its own: SupCon would divide by
/// `|P(i)| = 0`, the sum-in-log form would take `log 0`, and the pair and triplet forms
/// have no pair or triplet to average. A sampler that should guarantee positives but does
/// not shows up here, so the choice is explicit and the skipped anchors are reported
/// ([`LabelLossGrad::skipped`], [`crate::anchors_without_positive`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NoPositive {
    /// The anchor has no term and is left out of the mean (pytorch-metric-learning's
    /// `AvgNonZeroReducer`); it still serves as a negative of the other anchors, and the
    /// output lists it. A batch where no anchor has a positive gives loss 0 and a zero
    /// gradient (an empty mean, as the peer), with every anchor listed.
    #[default]
    Skip,
    /// The call fails with [`crate::Error::NoPositive`] naming the first such anchor.
    Error,
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

/// Temperature, normalisation and the [`NoPositive`] policy: the settings of the labelled
/// softmax losses without extras ([`crate::nt_xent_pairs`], [`crate::positives_in_log`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxConfig {
    /// Temperature `T > 0`.
    pub temperature: f64,
    /// L2-normalise rows first.
    pub normalize: bool,
    /// What an anchor without a positive does (default: skipped and reported).
    pub no_positive: NoPositive,
}

impl Default for SoftmaxConfig {
    fn default() -> Self {
        Self::new(0.1)
    }
}

impl SoftmaxConfig {
    /// Temperature `t`, rows normalised, anchors without a positive skipped.
    pub fn new(temperature: f64) -> Self {
        Self {
            temperature,
            normalize: true,
            no_positive: NoPositive::Skip,
        }
    }
    /// Turns row normalisation on or off.
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }
    /// Sets what an anchor without a positive does.
    pub fn no_positive(mut self, policy: NoPositive) -> Self {
        self.no_positive = policy;
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
