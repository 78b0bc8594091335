//! Reductions over axes: sum, mean, max, and the max-shifted log-sum-exp family.
//!
//! * `sum`: `dL/dx = broadcast(dL/dy)`; `mean` divides by the reduced count.
//! * `max`: the gradient goes to the maximal elements, split evenly among ties.
//! * `logsumexp(x) = m + log(sum exp(x - m))` with `m = max(x)`, so no `exp` overflows;
//!   `d/dx = softmax(x)`.
//! * `softmax(x) = exp(x - logsumexp(x))`, backward `y * (g - sum(g * y))`.
//! * `log_softmax(x) = x - logsumexp(x)`, backward `g - softmax(x) * sum(g)`.

use ndarray::{ArrayD, Axis, IxDyn, NdFloat, Zip};

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

/// Sorted, distinct, in-range axes, or an axis error naming `op`.
pub(crate) fn check_axes(op: &'static str, shape: &[usize], axes: &[usize]) -> Result<Vec<usize>> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    for (i, &axis) in sorted.iter().enumerate() {
        if axis >= shape.len() || (i > 0 && sorted[i - 1] == axis) {
            return Err(Error::Axis {
                op,
                axis,
                shape: shape.to_vec(),
            });
        }
    }
    Ok(sorted)
}

/// `shape` with the `axes` set to 1.
fn kept_shape(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut kept = shape.to_vec();
    for &a in axes {
        kept[a] = 1;
    }
    kept
}

/// `shape` with the `axes` removed (or set to 1 with `keepdims`).
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    if keepdims {
        return kept_shape(shape, axes);
    }
    (0..shape.len())
        .filter(|i| !axes.contains(i))
        .map(|i| shape[i])
        .collect()
}

/// Folds `x` over `axes`, keeping them as length-1 axes. Generic in `f` (not a fn
/// pointer) so the per-element fold inlines.
fn fold_kept<A: NdFloat>(
    x: &ArrayD<A>,
    axes: &[usize],
    init: A,
    f: impl Fn(A, A) -> A + Copy,
) -> ArrayD<A> {
    let fold = |x: &ArrayD<A>, a: usize| {
        x.fold_axis(Axis(a), init, |&acc, &v| f(acc, v))
            .insert_axis(Axis(a))
    };
    // The first fold reads `x` in place; only the (smaller) partial results are owned.
    let Some((&first, rest)) = axes.split_first() else {
        return x.clone();
    };
    rest.iter().fold(fold(x, first), |out, &a| fold(&out, a))
}

/// The gradient `g` of a reduced value times `scale`, broadcast back over the input's
/// shape in one pass (one allocation).
fn spread<A: NdFloat>(g: &ArrayD<A>, kept: &[usize], shape: &[usize], scale: A) -> ArrayD<A> {
    let g = g.to_shape(IxDyn(kept)).expect("same element count");
    let g = g.broadcast(IxDyn(shape)).expect("kept shape broadcasts");
    if scale == A::one() {
        g.to_owned()
    } else {
        g.mapv(|v| v * scale)
    }
}

impl<A: NdFloat> Graph<A> {
    fn sum_scaled(
        &mut self,
        op: &'static str,
        x: Var,
        axes: &[usize],
        keepdims: bool,
        mean: bool,
    ) -> Result<Var> {
        let value = self.try_value(x)?;
        let shape = value.shape().to_vec();
        let axes = check_axes(op, &shape, axes)?;
        let count: usize = axes.iter().map(|&a| shape[a]).product();
        if mean && count == 0 {
            return Err(Error::shape(op, &[&shape], "mean over an empty axis"));
        }
        let scale = if mean {
            A::from(count).expect("float").recip()
        } else {
            A::one()
        };
        let kept = kept_shape(&shape, &axes);
        let out = fold_kept(value, &axes, A::zero(), |a, b| a + b)
            .mapv(|v| v * scale)
            .into_shape_with_order(IxDyn(&reduced_shape(&shape, &axes, keepdims)))
            .expect("same element count");
        let backward =
            move |bp: Backprop<'_, A>| Ok(vec![Some(spread(&bp.grad, &kept, &shape, scale))]);
        self.record(op, out, &[x], Box::new(backward))
    }

    /// Sum over `axes` (all listed axes at once); `keepdims` keeps them with length 1.
    pub fn sum(&mut self, x: Var, axes: &[usize], keepdims: bool) -> Result<Var> {
        self.sum_scaled("sum", x, axes, keepdims, false)
    }

    /// Sum of every element, as a 0-d value.
    pub fn sum_all(&mut self, x: Var) -> Result<Var> {
        let axes: Vec<usize> = (0..self.try_value(x)?.ndim()).collect();
        self.sum_scaled("sum_all", x, &axes, false, false)
    }

    /// Mean over `axes`; `keepdims` keeps them with length 1.
    pub fn mean(&mut self, x: Var, axes: &[usize], keepdims: bool) -> Result<Var> {
        self.sum_scaled("mean", x, axes, keepdims, true)
    }

    /// Mean of every element, as a 0-d value.
    pub fn mean_all(&mut self, x: Var) -> Result<Var> {
        let axes: Vec<usize> = (0..self.try_value(x)?.ndim()).collect();
        self.sum_scaled("mean_all", x, &axes, false, true)
    }

    /// Maximum over `axes`. The gradient flows to the maximal elements (split among ties).
    pub fn max(&mut self, x: Var, axes: &[usize], keepdims: bool) -> Result<Var> {
        let value = self.try_value(x)?;
        let shape = value.shape().to_vec();
        let axes = check_axes("max", &shape, axes)?;
        if axes.iter().any(|&a| shape[a] == 0) {
            return Err(Error::shape("max", &[&shape], "max over an empty axis"));
        }
        let kept = kept_shape(&shape, &axes);
        let m = fold_kept(value, &axes, A::neg_infinity(), A::max);
        let out = m
            .into_shape_with_order(IxDyn(&reduced_shape(&shape, &axes, keepdims)))
            .expect("same element count");
        let backward = move |bp: Backprop<'_, A>| {
            let m = bp.output.to_shape(IxDyn(&kept)).expect("same count");
            let mask = Zip::from(bp.inputs[0])
                .and_broadcast(&m)
                .map_collect(|&v, &m| if v == m { A::one() } else { A::zero() });
            let ties = fold_kept(&mask, &axes, A::zero(), |a, b| a + b);
            let g = bp.grad.to_shape(IxDyn(&kept)).expect("same count");
            let gx = Zip::from(&mask)
                .and_broadcast(&g)
                .and_broadcast(&ties)
                .map_collect(|&k, &g, &t| k * g / t);
            Ok(vec![Some(gx)])
        };
        self.record("max", out, &[x], Box::new(backward))
    }

    /// `log(sum(exp(x)))` along `axis`, shifted by the maximum so nothing overflows.
    pub fn logsumexp(&mut self, x: Var, axis: usize, keepdims: bool) -> Result<Var> {
        let value = self.try_value(x)?;
        let shape = value.shape().to_vec();
        let lse = logsumexp_kept("logsumexp", value, axis)?;
        let kept = lse.shape().to_vec();
        let out = lse
            .into_shape_with_order(IxDyn(&reduced_shape(&shape, &[axis], keepdims)))
            .expect("same count");
        let backward = move |bp: Backprop<'_, A>| {
            let lse = bp.output.to_shape(IxDyn(&kept)).expect("same count");
            let g = bp.grad.to_shape(IxDyn(&kept)).expect("same count");
            let gx = Zip::from(bp.inputs[0])
                .and_broadcast(&lse)
                .and_broadcast(&g)
                .map_collect(|&v, &l, &g| g * (v - l).exp());
            Ok(vec![Some(gx)])
        };
        self.record("logsumexp", out, &[x], Box::new(backward))
    }

    /// `exp(x - logsumexp(x))` along `axis`.
    pub fn softmax(&mut self, x: Var, axis: usize) -> Result<Var> {
        let value = self.try_value(x)?;
        let lse = logsumexp_kept("softmax", value, axis)?;
        let out = Zip::from(value)
            .and_broadcast(&lse)
            .map_collect(|&v, &l| (v - l).exp());
        let backward = move |bp: Backprop<'_, A>| {
            let y = bp.output;
            let gy = Zip::from(&bp.grad).and(y).map_collect(|&g, &y| g * y);
            let s = gy.sum_axis(Axis(axis)).insert_axis(Axis(axis));
            let mut gx = bp.grad;
            Zip::from(&mut gx)
                .and(y)
                .and_broadcast(&s)
                .for_each(|g, &y, &s| *g = y * (*g - s));
            Ok(vec![Some(gx)])
        };
        self.record("softmax", out, &[x], Box::new(backward))
    }

    /// `x - logsumexp(x)` along `axis`.
    pub fn log_softmax(&mut self, x: Var, axis: usize) -> Result<Var> {
        let value = self.try_value(x)?;
        let lse = logsumexp_kept("log_softmax", value, axis)?;
        let out = Zip::from(value)
            .and_broadcast(&lse)
            .map_collect(|&v, &l| v - l);
        let backward = move |bp: Backprop<'_, A>| {
            let s = bp.grad.sum_axis(Axis(axis)).insert_axis(Axis(axis));
            let mut gx = bp.grad;
            Zip::from(&mut gx)
                .and(bp.output)
                .and_broadcast(&s)
                .for_each(|g, &y, &s| *g -= y.exp() * s);
            Ok(vec![Some(gx)])
        };
        self.record("log_softmax", out, &[x], Box::new(backward))
    }
}

/// Max-shifted log-sum-exp along `axis`, keeping the axis.
fn logsumexp_kept<A: NdFloat>(op: &'static str, x: &ArrayD<A>, axis: usize) -> Result<ArrayD<A>> {
    let shape = x.shape();
    check_axes(op, shape, &[axis])?;
    if shape[axis] == 0 {
        return Err(Error::shape(op, &[shape], "log-sum-exp over an empty axis"));
    }
    let m = fold_kept(x, &[axis], A::neg_infinity(), A::max);
    // An all -inf row would give (-inf) - (-inf) = NaN; shift it by 0 instead.
    let m = m.mapv(|v| if v.is_finite() { v } else { A::zero() });
    let sum = Zip::from(x)
        .and_broadcast(&m)
        .map_collect(|&v, &m| (v - m).exp())
        .sum_axis(Axis(axis))
        .insert_axis(Axis(axis));
    Ok(Zip::from(&sum).and(&m).map_collect(|&s, &m| m + s.ln()))
}
