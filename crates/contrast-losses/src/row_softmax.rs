//! The dense softmax's hot loop: one row of logits to probabilities, vectorisable.
//!
//! ```text
//! m   = max_{j != skip} x_j
//! e_j = exp(x_j - m)   (e_skip = 0),   l = sum_j e_j   (accumulated in f64)
//! x_j <- scale e_j / l,   returns lse = m + log l   (in f64)
//! ```
//! Maxima and sums run in [`LANES`] independent lanes in a fixed order: LLVM vectorises
//! them (a plain float fold is a serial dependency chain), and the result depends only on
//! the row, never on how rows are shared between threads.
//!
//! For f32 the exponential is [`exp_f32`], a branch-free polynomial that vectorises
//! (libm's `expf` is a scalar call); other types use their `exp`.

use ndarray::{Array2, Axis, NdFloat};
use rayon::prelude::*;
use std::any::{Any, TypeId};

/// Independent accumulators per row: eight f32 fill two SSE or one AVX register.
const LANES: usize = 8;

/// `exp(x)` for f32 `x <= 0` (the only arguments here: `x - max`), relative error
/// below 3e-7 (2.5 ulp). Cody-Waite reduction `x = k ln2 + r`, `|r| <= ln2 / 2`,
/// degree-6 Taylor polynomial of `exp(r)`, then the exponent bits of `2^k`.
/// Arguments below -87 (masked `-inf` included) give 0; exp(-87) is 1.6e-38.
pub(crate) fn exp_f32(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits, so k comes
    // out by integer subtraction: no call, no saturating cast, everything vectorises.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let underflow = x < -87.0;
    let x = if underflow { -87.0 } else { x };
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // k is in [-126, 0]: 2^k is a normal f32, its biased exponent k + 127.
    let k_int = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let e = f32::from_bits(k_int.wrapping_add(127) << 23) * p;
    if underflow { 0.0 } else { e }
}

/// `xs` as f32, when `A` is f32.
fn as_f32_mut<A: 'static>(xs: &mut [A]) -> Option<&mut [f32]> {
    if TypeId::of::<A>() != TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: `A` is f32 (equal `TypeId`s), so the slice already is a `[f32]`: same
    // layout, length and validity; the borrow is passed through unchanged.
    Some(unsafe { &mut *(xs as *mut [A] as *mut [f32]) })
}

/// `xs_j <- exp(xs_j)` for arguments `<= 0` (vectorised for f32).
pub(crate) fn exp_in_place<A: NdFloat>(xs: &mut [A]) {
    if let Some(xs) = as_f32_mut(xs) {
        xs.iter_mut().for_each(|x| *x = exp_f32(*x));
        return;
    }
    xs.iter_mut().for_each(|x| *x = x.exp());
}

/// `xs_j <- exp(xs_j - shift)` for `shift >= max xs`; returns the sum in f64.
pub(crate) fn exp_shifted_sum<A: NdFloat>(xs: &mut [A], shift: A) -> f64 {
    if let Some(xs) = as_f32_mut(xs) {
        return lane_exp_sum(xs, shift.to_f32().unwrap_or(f32::NAN), exp_f32);
    }
    lane_exp_sum(xs, shift, A::exp)
}

/// Maximum of a slice (`-inf` when empty).
pub(crate) fn lane_max<A: NdFloat>(xs: &[A]) -> A {
    let mut acc = [A::neg_infinity(); LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for k in 0..LANES {
            acc[k] = if chunk[k] > acc[k] { chunk[k] } else { acc[k] };
        }
    }
    for (k, &x) in rest.iter().enumerate() {
        if x > acc[k] {
            acc[k] = x;
        }
    }
    acc.into_iter().fold(A::neg_infinity(), A::max)
}

/// `xs_j <- exp(xs_j - shift)`, returning the sum in f64.
fn lane_exp_sum<A: NdFloat>(xs: &mut [A], shift: A, exp: impl Fn(A) -> A) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut chunks = xs.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for k in 0..LANES {
            let e = exp(chunk[k] - shift);
            chunk[k] = e;
            acc[k] += e.to_f64().unwrap_or(f64::NAN);
        }
    }
    for (k, x) in chunks.into_remainder().iter_mut().enumerate() {
        let e = exp(*x - shift);
        *x = e;
        acc[k] += e.to_f64().unwrap_or(f64::NAN);
    }
    acc.into_iter().sum()
}

/// One row: softmax over every entry but `skip` (which becomes 0), times `scale`.
/// Returns the row's log-sum-exp in f64.
fn softmax_row<A: NdFloat>(xs: &mut [A], skip: usize, scale: f64, exp: impl Fn(A) -> A) -> f64 {
    // Masked as -inf: no effect on the maximum, and its exp is exactly 0.
    xs[skip] = A::neg_infinity();
    let max = lane_max(xs);
    let sum = lane_exp_sum(xs, max, exp);
    let k = A::from(scale / sum).unwrap_or(A::nan());
    for x in xs.iter_mut() {
        *x *= k;
    }
    max.to_f64().unwrap_or(f64::NAN) + sum.ln()
}

/// Every row `i` of the square matrix `s[.., ..n]` (`n` rows; columns past `n` are
/// padding, left alone) to `scale softmax_{j != i}(s_i.)`, in parallel; returns each
/// row's log-sum-exp (f64, in row order).
pub(crate) fn softmax_rows_skip_diagonal<A: NdFloat>(s: &mut Array2<A>, scale: f64) -> Vec<f64> {
    // f32 gets the vectorised exponential. `Array2<A>` is `'static`, so `Any` tells the
    // types apart without unsafe code.
    let any: &mut dyn Any = s;
    if let Some(s32) = any.downcast_mut::<Array2<f32>>() {
        return rows(s32, scale, exp_f32);
    }
    rows(s, scale, A::exp)
}

fn rows<A: NdFloat>(s: &mut Array2<A>, scale: f64, exp: impl Fn(A) -> A + Sync) -> Vec<f64> {
    debug_assert!(s.is_standard_layout());
    let n = s.nrows();
    s.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(i, mut row)| {
            let xs = row
                .as_slice_mut()
                .expect("rows of a standard-layout matrix");
            softmax_row(&mut xs[..n], i, scale, &exp)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_three_ulp_of_libm_on_the_negative_axis() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let x = -(i as f32) * 4.35e-4; // down to -87
            let want = f64::from(x).exp();
            worst = worst.max((f64::from(exp_f32(x)) - want).abs() / want);
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-87.5), 0.0);
        let mut xs = [0.0f32, -1.0, f32::NEG_INFINITY];
        exp_in_place(&mut xs);
        assert_eq!(xs[2], 0.0);
        assert!((xs[1] - (-1.0f32).exp()).abs() < 1e-7);
    }

    #[test]
    fn rows_equal_the_plain_softmax_for_both_types() {
        let n = 19; // not a multiple of the lane count
        let s = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 11) as f64 * 0.9 - 4.0);
        let mut s64 = s.clone();
        let s32 = Array2::from_shape_fn(
            (n, n + 2),
            |(i, j)| {
                if j < n { s[[i, j]] as f32 } else { 7.0 }
            },
        );
        let lse64 = softmax_rows_skip_diagonal(&mut s64, 0.5);
        // With two columns of padding, which stay untouched.
        let mut s32 = s32;
        let lse32 = softmax_rows_skip_diagonal(&mut s32, 0.5);
        assert!(s32.slice(ndarray::s![.., n..]).iter().all(|&x| x == 7.0));
        for i in 0..n {
            let lse = (0..n)
                .filter(|&j| j != i)
                .map(|j| s[[i, j]].exp())
                .sum::<f64>()
                .ln();
            assert!((lse64[i] - lse).abs() < 1e-13);
            assert!((lse32[i] - lse).abs() < 1e-6);
            assert_eq!(s64[[i, i]], 0.0);
            for j in (0..n).filter(|&j| j != i) {
                let p = 0.5 * (s[[i, j]] - lse).exp();
                assert!((s64[[i, j]] - p).abs() < 1e-15);
                assert!((f64::from(s32[[i, j]]) - p).abs() < 1e-7);
            }
        }
    }
}
