//! 2-D convolution (NCHW, cross-correlation as in every DL library) by im2col + matmul.
//!
//! For one sample, `cols` holds every receptive field as a column:
//! `cols[(c, i, j), (oh, ow)] = x[c, oh·s + i - p, ow·s + j - p]` (0 outside the image), so
//! the output is the product `W_mat · cols` with `W_mat = w` reshaped to `(Cout, Cin·kh·kw)`.
//! Backward, per sample: `dW_mat += G · colsᵀ`, `dcols = W_matᵀ · G`, and `dx` is `dcols`
//! scattered back (col2im, the adjoint of the gather). `db = Σ G` over batch and pixels.
//! Samples run in parallel on rayon.

use ndarray::{Array2, Array4, ArrayD, ArrayView3, Axis, Ix4, NdFloat};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};
use crate::kernels::matmul;

/// Sizes of one convolution (or pooling window sweep).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub padding: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Geometry {
    pub(crate) fn new(
        op: &'static str,
        input: &[usize],
        kernel: (usize, usize),
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        if input.len() != 4 {
            return Err(Error::shape(op, &[input], "expects an (N,C,H,W) input"));
        }
        if stride == 0 || kernel.0 == 0 || kernel.1 == 0 {
            return Err(Error::invalid(
                op,
                format!("kernel {kernel:?} and stride {stride} must be > 0"),
            ));
        }
        let (h, w) = (input[2] + 2 * padding, input[3] + 2 * padding);
        if h < kernel.0 || w < kernel.1 {
            return Err(Error::shape(
                op,
                &[input],
                format!("kernel {kernel:?} exceeds the padded image"),
            ));
        }
        Ok(Self {
            channels: input[1],
            height: input[2],
            width: input[3],
            kh: kernel.0,
            kw: kernel.1,
            stride,
            padding,
            out_h: (h - kernel.0) / stride + 1,
            out_w: (w - kernel.1) / stride + 1,
        })
    }

    /// Calls `f(row, col, c, y, x)` for every receptive-field tap that lands inside the
    /// image: `row` indexes `(c, i, j)`, `col` indexes `(oh, ow)`.
    pub(crate) fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
        for c in 0..self.channels {
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = (c * self.kh + i) * self.kw + j;
                    for oh in 0..self.out_h {
                        let Some(y) = (oh * self.stride + i)
                            .checked_sub(self.padding)
                            .filter(|&y| y < self.height)
                        else {
                            continue;
                        };
                        for ow in 0..self.out_w {
                            let Some(x) = (ow * self.stride + j)
                                .checked_sub(self.padding)
                                .filter(|&x| x < self.width)
                            else {
                                continue;
                            };
                            f(row, oh * self.out_w + ow, c, y, x);
                        }
                    }
                }
            }
        }
    }

    fn im2col<A: NdFloat>(&self, x: ArrayView3<A>) -> Array2<A> {
        let mut cols = Array2::zeros((self.channels * self.kh * self.kw, self.out_h * self.out_w));
        self.for_each_tap(|r, c, ch, y, xx| cols[[r, c]] = x[[ch, y, xx]]);
        cols
    }

    fn col2im<A: NdFloat>(&self, cols: &Array2<A>) -> ndarray::Array3<A> {
        let mut x = ndarray::Array3::zeros((self.channels, self.height, self.width));
        self.for_each_tap(|r, c, ch, y, xx| x[[ch, y, xx]] += cols[[r, c]]);
        x
    }
}

/// One sample's `(dW_mat, dx)`, each computed only when needed.
type SampleGrads<A> = (Option<Array2<A>>, Option<ndarray::Array3<A>>);

impl<A: NdFloat> Graph<A> {
    /// Convolution of `x: (N,Cin,H,W)` with `w: (Cout,Cin,kh,kw)` and optional `bias: (Cout,)`,
    /// zero `padding` on every side and `stride` in both directions: `(N,Cout,Ho,Wo)` with
    /// `Ho = (H + 2p - kh) / s + 1`.
    pub fn conv2d(
        &mut self,
        x: Var,
        w: Var,
        bias: Option<Var>,
        stride: usize,
        padding: usize,
    ) -> Result<Var> {
        let (xv, wv) = (self.try_value(x)?, self.try_value(w)?);
        let ws = wv.shape();
        let bias_shape = bias
            .map(|b| self.try_value(b).map(|v| v.shape().to_vec()))
            .transpose()?;
        if ws.len() != 4
            || xv.ndim() != 4
            || ws[1] != xv.shape()[1]
            || bias_shape.as_ref().is_some_and(|b| b[..] != ws[..1])
        {
            let mut shapes = vec![xv.shape(), ws];
            shapes.extend(bias_shape.as_deref());
            return Err(Error::shape(
                "conv2d",
                &shapes,
                "expects x (N,Cin,H,W), w (Cout,Cin,kh,kw), bias (Cout,)",
            ));
        }
        let geo = Geometry::new("conv2d", xv.shape(), (ws[2], ws[3]), stride, padding)?;
        let cout = ws[0];
        let x4 = xv.view().into_dimensionality::<Ix4>().expect("4-D");
        let wmat = wv
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((cout, ws[1] * ws[2] * ws[3]))
            .expect("count");
        let bias_v = bias.map(|b| self.value(b).clone());
        let planes: Vec<Array2<A>> = x4
            .outer_iter()
            .into_par_iter()
            .map(|sample| {
                let mut y = matmul(wmat.view(), geo.im2col(sample).view());
                if let Some(b) = &bias_v {
                    for (mut row, &bv) in y.outer_iter_mut().zip(b.iter()) {
                        row += bv;
                    }
                }
                y
            })
            .collect();
        let mut out = Array4::zeros((planes.len(), cout, geo.out_h, geo.out_w));
        for (mut dst, plane) in out.outer_iter_mut().zip(&planes) {
            dst.assign(
                &plane
                    .view()
                    .into_shape_with_order((cout, geo.out_h, geo.out_w))
                    .expect("count"),
            );
        }
        let parents: Vec<Var> = [x, w].into_iter().chain(bias).collect();
        let backward = move |bp: Backprop<'_, A>| {
            let x4 = bp.inputs[0]
                .view()
                .into_dimensionality::<Ix4>()
                .expect("4-D");
            let wshape = bp.inputs[1].shape().to_vec();
            let g = bp.grad.as_standard_layout();
            let g3 = g
                .view()
                .into_shape_with_order((x4.len_of(Axis(0)), cout, geo.out_h * geo.out_w))
                .expect("count");
            let per_sample: Vec<SampleGrads<A>> = x4
                .outer_iter()
                .into_par_iter()
                .zip(g3.outer_iter().into_par_iter())
                .map(|(sample, gs)| {
                    let dw = bp.needs[1].then(|| matmul(gs, geo.im2col(sample).t()));
                    let dx = bp.needs[0].then(|| geo.col2im(&matmul(wmat.t(), gs)));
                    (dw, dx)
                })
                .collect();
            let dx = bp.needs[0].then(|| {
                let mut dx = Array4::zeros(x4.raw_dim());
                for (mut dst, (_, d)) in dx.outer_iter_mut().zip(&per_sample) {
                    dst.assign(d.as_ref().expect("computed"));
                }
                dx.into_dyn()
            });
            let dw = bp.needs[1].then(|| {
                let mut dw = Array2::zeros(wmat.raw_dim());
                for (d, _) in &per_sample {
                    dw += d.as_ref().expect("computed");
                }
                dw.into_shape_with_order(wshape).expect("count")
            });
            let mut grads: Vec<Option<ArrayD<A>>> = vec![dx, dw];
            if bp.inputs.len() == 3 {
                grads.push(bp.needs[2].then(|| g3.sum_axis(Axis(2)).sum_axis(Axis(0)).into_dyn()));
            }
            Ok(grads)
        };
        self.record("conv2d", out.into_dyn(), &parents, Box::new(backward))
    }
}
