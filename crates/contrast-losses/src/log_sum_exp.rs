//! Stable log-sum-exp, in one pass over a stream of logits.
//!
//! ```text
//! m' = max(m, x),   l = l exp(m - m') + exp(x - m'),   lse = m + log l
//! ```
//! Subtracting the running maximum keeps every `exp` at most 1, so T = 0.01 with
//! logits of size 1e8 stays finite. The same accumulator serves the dense losses (one
//! row at a time) and the tiled NT-Xent (one column tile at a time; see docs/references.md,
//! section "Streaming log-sum-exp").

use crate::row_softmax::{exp_shifted_sum, lane_max};
use ndarray::{ArrayViewMut1, NdFloat};

/// Running maximum and rescaled sum of a log-sum-exp over a stream of values.
///
/// The sum is kept in f64 whatever `A` is: a row of 65,536 f32 terms summed in f32 would
/// lose about four digits, and the dense and tiled paths (which add in different orders)
/// would then disagree visibly.
#[derive(Clone, Copy, Debug)]
pub struct OnlineLogSumExp<A> {
    max: A,
    sum: f64,
}

impl<A: NdFloat> Default for OnlineLogSumExp<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: NdFloat> OnlineLogSumExp<A> {
    /// The empty stream (its log-sum-exp is `-inf`).
    pub fn new() -> Self {
        Self {
            max: A::neg_infinity(),
            sum: 0.0,
        }
    }

    /// Adds a block of values at once: one rescale per block instead of one per value.
    pub fn extend(&mut self, values: impl Iterator<Item = A> + Clone) {
        let block_max = values.clone().fold(A::neg_infinity(), A::max);
        if block_max == A::neg_infinity() {
            return;
        }
        let new_max = self.max.max(block_max);
        let rescale = if self.max == A::neg_infinity() {
            0.0
        } else {
            to_f64((self.max - new_max).exp())
        };
        self.sum = self.sum * rescale + values.map(|x| to_f64((x - new_max).exp())).sum::<f64>();
        self.max = new_max;
    }

    /// Adds a block of values, overwriting them (lane-parallel and, for f32, with the
    /// vectorised exponential: the tiled losses' hot loop).
    pub(crate) fn extend_slice(&mut self, xs: &mut [A]) {
        let block_max = lane_max(xs);
        if block_max == A::neg_infinity() {
            return;
        }
        let new_max = self.max.max(block_max);
        let rescale = if self.max == A::neg_infinity() {
            0.0
        } else {
            to_f64((self.max - new_max).exp())
        };
        self.sum = self.sum * rescale + exp_shifted_sum(xs, new_max);
        self.max = new_max;
    }

    /// Adds one value.
    pub fn push(&mut self, x: A) {
        self.extend(std::iter::once(x));
    }

    /// `log sum exp` of everything added so far.
    pub fn value(&self) -> A {
        self.max + A::from(self.sum.ln()).expect("f64 converts to A")
    }
}

fn to_f64<A: NdFloat>(x: A) -> f64 {
    x.to_f64().expect("an NdFloat converts to f64")
}

/// Sum of a stream, accumulated in f64 (loss totals over many anchors).
pub(crate) fn sum_f64<A: NdFloat>(values: impl Iterator<Item = A>) -> A {
    A::from(values.map(to_f64).sum::<f64>()).expect("f64 converts to A")
}

/// `log sum_j exp(x_j)` of a finite stream, stable.
pub fn log_sum_exp<A: NdFloat>(values: impl Iterator<Item = A> + Clone) -> A {
    let mut acc = OnlineLogSumExp::new();
    acc.extend(values);
    acc.value()
}

/// Replaces `row` by its softmax over every entry but `skip` (which becomes 0) and returns
/// the log-sum-exp. One `exp` per entry: the dense losses' hot loop.
pub(crate) fn softmax_in_place<A: NdFloat>(mut row: ArrayViewMut1<A>, skip: usize) -> A {
    let max = row
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != skip)
        .fold(A::neg_infinity(), |m, (_, &x)| m.max(x));
    row[skip] = A::neg_infinity();
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += to_f64(*x);
    }
    let inv = A::from(1.0 / sum).expect("f64 converts to A");
    row.mapv_inplace(|x| x * inv);
    max + A::from(sum.ln()).expect("f64 converts to A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_naive_formula_and_survives_huge_values() {
        let xs = [0.3f64, -1.2, 2.5, 0.0];
        let naive = xs.iter().map(|x| x.exp()).sum::<f64>().ln();
        assert!((log_sum_exp(xs.iter().copied()) - naive).abs() < 1e-14);
        // exp(1e4) overflows; the shifted form does not.
        let big = log_sum_exp([1e4f32, 1e4].into_iter());
        assert!((big - (1e4 + 2f32.ln())).abs() < 1e-2, "{big}");
    }

    #[test]
    fn streaming_in_blocks_equals_one_pass() {
        let xs: Vec<f64> = (0..50).map(|i| (i as f64 * 0.7).sin() * 30.0).collect();
        let mut acc = OnlineLogSumExp::new();
        for block in xs.chunks(7) {
            acc.extend(block.iter().copied());
        }
        acc.extend(std::iter::once(f64::NEG_INFINITY)); // a fully masked tile changes nothing
        assert!((acc.value() - log_sum_exp(xs.iter().copied())).abs() < 1e-12);
        assert_eq!(OnlineLogSumExp::<f64>::new().value(), f64::NEG_INFINITY);
    }
}
