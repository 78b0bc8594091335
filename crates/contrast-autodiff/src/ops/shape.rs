//! Ops that move elements without arithmetic: transpose/permute, reshape, concat, stack,
//! narrow and index_select. Each backward routes the gradient back to where the element
//! came from (the inverse permutation, the original shape, the slice, a scatter-add).

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, NdFloat, Slice};

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

impl<A: NdFloat> Graph<A> {
    /// Transpose of a 2-D value.
    pub fn transpose(&mut self, x: Var) -> Result<Var> {
        let shape = self.try_value(x)?.shape().to_vec();
        if shape.len() != 2 {
            return Err(Error::shape("transpose", &[&shape], "expects a 2-D value"));
        }
        self.permute_named("transpose", x, &[1, 0])
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    pub fn permute(&mut self, x: Var, axes: &[usize]) -> Result<Var> {
        self.permute_named("permute", x, axes)
    }

    fn permute_named(&mut self, op: &'static str, x: Var, axes: &[usize]) -> Result<Var> {
        let value = self.try_value(x)?;
        let n = value.ndim();
        let mut seen = vec![false; n];
        for &a in axes {
            if a >= n || std::mem::replace(&mut seen[a], true) {
                return Err(Error::Axis {
                    op,
                    axis: a,
                    shape: value.shape().to_vec(),
                });
            }
        }
        if axes.len() != n {
            return Err(Error::invalid(
                op,
                format!("{axes:?} is not a permutation of {n} axes"),
            ));
        }
        let out = standard(value.view().permuted_axes(IxDyn(axes)));
        let mut inverse = vec![0; n];
        for (i, &a) in axes.iter().enumerate() {
            inverse[a] = i;
        }
        let backward = move |bp: Backprop<'_, A>| {
            Ok(vec![Some(standard(
                bp.grad.view().permuted_axes(IxDyn(&inverse)),
            ))])
        };
        self.record(op, out, &[x], Box::new(backward))
    }

    /// Same elements (row-major order), new shape of the same element count.
    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Result<Var> {
        let value = self.try_value(x)?;
        let old = value.shape().to_vec();
        if shape.iter().product::<usize>() != value.len() {
            return Err(Error::shape(
                "reshape",
                &[&old, shape],
                "element counts differ",
            ));
        }
        let out = standard(value.view())
            .into_shape_with_order(IxDyn(shape))
            .expect("checked");
        let backward = move |bp: Backprop<'_, A>| {
            // A row-major gradient (the usual case) is reshaped in place, without a copy.
            let g = if bp.grad.is_standard_layout() {
                bp.grad
            } else {
                standard(bp.grad.view())
            };
            Ok(vec![Some(
                g.into_shape_with_order(IxDyn(&old)).expect("same count"),
            )])
        };
        self.record("reshape", out, &[x], Box::new(backward))
    }

    /// Joins values along an existing `axis`; all other dimensions must agree.
    pub fn concat(&mut self, xs: &[Var], axis: usize) -> Result<Var> {
        let values = self.values(xs)?;
        let shapes: Vec<&[usize]> = values.iter().map(|v| v.shape()).collect();
        let first = *shapes
            .first()
            .ok_or_else(|| Error::invalid("concat", "no inputs"))?;
        if axis >= first.len() {
            return Err(Error::Axis {
                op: "concat",
                axis,
                shape: first.to_vec(),
            });
        }
        let agree = |s: &&[usize]| {
            s.len() == first.len() && (0..s.len()).all(|i| i == axis || s[i] == first[i])
        };
        if !shapes.iter().all(agree) {
            return Err(Error::shape(
                "concat",
                &shapes,
                format!("dimensions other than axis {axis} differ"),
            ));
        }
        let lens: Vec<usize> = shapes.iter().map(|s| s[axis]).collect();
        let views: Vec<ArrayViewD<A>> = values.iter().map(|v| v.view()).collect();
        let out = ndarray::concatenate(Axis(axis), &views).expect("checked");
        let backward = move |bp: Backprop<'_, A>| {
            let mut start = 0;
            Ok(lens
                .iter()
                .map(|&len| {
                    let part = bp
                        .grad
                        .slice_axis(Axis(axis), Slice::from(start..start + len));
                    start += len;
                    Some(part.to_owned())
                })
                .collect())
        };
        self.record("concat", out, xs, Box::new(backward))
    }

    /// Stacks values of one shape along a new `axis`.
    pub fn stack(&mut self, xs: &[Var], axis: usize) -> Result<Var> {
        let values = self.values(xs)?;
        let shapes: Vec<&[usize]> = values.iter().map(|v| v.shape()).collect();
        let first = *shapes
            .first()
            .ok_or_else(|| Error::invalid("stack", "no inputs"))?;
        if axis > first.len() {
            return Err(Error::Axis {
                op: "stack",
                axis,
                shape: first.to_vec(),
            });
        }
        if !shapes.iter().all(|s| *s == first) {
            return Err(Error::shape(
                "stack",
                &shapes,
                "all inputs must have one shape",
            ));
        }
        let views: Vec<ArrayViewD<A>> = values.iter().map(|v| v.view()).collect();
        let out = ndarray::stack(Axis(axis), &views).expect("checked");
        let count = xs.len();
        let backward = move |bp: Backprop<'_, A>| {
            Ok((0..count)
                .map(|i| Some(bp.grad.index_axis(Axis(axis), i).to_owned()))
                .collect())
        };
        self.record("stack", out, xs, Box::new(backward))
    }

    /// Elements `start..start + len` along `axis`.
    pub fn narrow(&mut self, x: Var, axis: usize, start: usize, len: usize) -> Result<Var> {
        let value = self.try_value(x)?;
        let shape = value.shape().to_vec();
        if axis >= shape.len() {
            return Err(Error::Axis {
                op: "narrow",
                axis,
                shape,
            });
        }
        if start + len > shape[axis] {
            return Err(Error::shape(
                "narrow",
                &[&shape],
                format!("range {start}..{} exceeds axis {axis}", start + len),
            ));
        }
        let range = Slice::from(start..start + len);
        let out = value.slice_axis(Axis(axis), range).to_owned();
        let backward = move |bp: Backprop<'_, A>| {
            let mut gx = ArrayD::zeros(IxDyn(&shape));
            gx.slice_axis_mut(Axis(axis), range).assign(&bp.grad);
            Ok(vec![Some(gx)])
        };
        self.record("narrow", out, &[x], Box::new(backward))
    }

    /// Gathers rows (axis 0) by index; an index may repeat (its gradients add up).
    pub fn index_select(&mut self, x: Var, rows: &[usize]) -> Result<Var> {
        let value = self.try_value(x)?;
        let shape = value.shape().to_vec();
        if let Some(&bad) = rows.iter().find(|&&r| shape.is_empty() || r >= shape[0]) {
            return Err(Error::shape(
                "index_select",
                &[&shape],
                format!("row {bad} out of range"),
            ));
        }
        let out = value.select(Axis(0), rows);
        let rows = rows.to_vec();
        let backward = move |bp: Backprop<'_, A>| {
            let mut gx = ArrayD::zeros(IxDyn(&shape));
            for (i, &r) in rows.iter().enumerate() {
                let mut dst = gx.index_axis_mut(Axis(0), r);
                dst += &bp.grad.index_axis(Axis(0), i);
            }
            Ok(vec![Some(gx)])
        };
        self.record("index_select", out, &[x], Box::new(backward))
    }
}

/// An owned copy in row-major layout (reshapes and kernels expect it).
pub(crate) fn standard<A: NdFloat>(v: ArrayViewD<A>) -> ArrayD<A> {
    v.as_standard_layout().into_owned()
}
