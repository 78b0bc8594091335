//! Pooling over `(N,C,H,W)` windows without padding: max (the gradient goes to the
//! window's maximal element, the first one on ties), average (the gradient is spread
//! evenly, `g / (k·k)`), and global average (the mean over `H, W`).

use ndarray::{Array3, ArrayD, Axis, Ix4, NdFloat};
use rayon::prelude::*;

use super::conv::Geometry;
use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

impl Geometry {
    /// Calls `f(oh, ow, y, x)` for each output pixel and each input pixel of its window.
    fn for_each_window(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        for oh in 0..self.out_h {
            for ow in 0..self.out_w {
                for i in 0..self.kh {
                    for j in 0..self.kw {
                        f(oh, ow, oh * self.stride + i, ow * self.stride + j);
                    }
                }
            }
        }
    }
}

impl<A: NdFloat> Graph<A> {
    /// Max pooling with a square `kernel` and `stride`: `(N,C,H,W) -> (N,C,Ho,Wo)`.
    pub fn max_pool2d(&mut self, x: Var, kernel: usize, stride: usize) -> Result<Var> {
        let value = self.try_value(x)?;
        let geo = Geometry::new("max_pool2d", value.shape(), (kernel, kernel), stride, 0)?;
        let shape = value.shape().to_vec();
        let planes = value.as_standard_layout();
        let planes = planes
            .view()
            .into_shape_with_order((shape[0] * shape[1], shape[2], shape[3]))
            .expect("count");
        let mut out = Array3::from_elem(
            (planes.len_of(Axis(0)), geo.out_h, geo.out_w),
            A::neg_infinity(),
        );
        // Flat (y, x) of each output's winner, for the backward scatter.
        let mut argmax = Array3::<usize>::zeros(out.raw_dim());
        // Planes in parallel: each is independent, so the result does not depend on threads.
        planes
            .outer_iter()
            .into_par_iter()
            .zip(out.outer_iter_mut().into_par_iter())
            .zip(argmax.outer_iter_mut().into_par_iter())
            .for_each(|((plane, mut o), mut arg)| {
                geo.for_each_window(|oh, ow, y, xx| {
                    // The window's first tap always seeds it, so an all -inf window still routes to itself.
                    if plane[[y, xx]] > o[[oh, ow]] || (y, xx) == (oh * geo.stride, ow * geo.stride)
                    {
                        o[[oh, ow]] = plane[[y, xx]];
                        arg[[oh, ow]] = y * geo.width + xx;
                    }
                });
            });
        let out = out
            .into_shape_with_order(vec![shape[0], shape[1], geo.out_h, geo.out_w])
            .expect("count");
        let backward = move |bp: Backprop<'_, A>| {
            let shape = bp.inputs[0].shape();
            let mut gx = Array3::<A>::zeros((shape[0] * shape[1], shape[2], shape[3]));
            let g = bp
                .grad
                .view()
                .into_shape_with_order((shape[0] * shape[1], geo.out_h * geo.out_w));
            let g =
                g.map_err(|_| Error::shape("max_pool2d", &[bp.grad.shape()], "gradient layout"))?;
            let args = argmax
                .view()
                .into_shape_with_order((shape[0] * shape[1], geo.out_h * geo.out_w))
                .expect("count");
            gx.outer_iter_mut()
                .into_par_iter()
                .zip(g.outer_iter().into_par_iter())
                .zip(args.outer_iter().into_par_iter())
                .for_each(|((mut plane, g), a)| {
                    for (&gv, &flat) in g.iter().zip(a.iter()) {
                        plane[[flat / geo.width, flat % geo.width]] += gv;
                    }
                });
            Ok(vec![Some(
                gx.into_shape_with_order(shape.to_vec())
                    .expect("count")
                    .into_dyn(),
            )])
        };
        self.record("max_pool2d", out.into_dyn(), &[x], Box::new(backward))
    }

    /// Average pooling with a square `kernel` and `stride`: `(N,C,H,W) -> (N,C,Ho,Wo)`.
    pub fn avg_pool2d(&mut self, x: Var, kernel: usize, stride: usize) -> Result<Var> {
        let value = self.try_value(x)?;
        let geo = Geometry::new("avg_pool2d", value.shape(), (kernel, kernel), stride, 0)?;
        let shape = value.shape().to_vec();
        let scale = A::from(kernel * kernel).expect("float").recip();
        let out = map_planes(
            value,
            &[shape[0], shape[1], geo.out_h, geo.out_w],
            |src, dst| {
                geo.for_each_window(|oh, ow, y, xx| dst[[oh, ow]] += src[[y, xx]] * scale);
            },
        );
        let backward = move |bp: Backprop<'_, A>| {
            let gx = map_planes(&bp.grad, &shape, |g, dst| {
                geo.for_each_window(|oh, ow, y, xx| dst[[y, xx]] += g[[oh, ow]] * scale);
            });
            Ok(vec![Some(gx)])
        };
        self.record("avg_pool2d", out, &[x], Box::new(backward))
    }

    /// Mean over the spatial axes: `(N,C,H,W) -> (N,C)`.
    pub fn global_avg_pool(&mut self, x: Var) -> Result<Var> {
        let shape = self.try_value(x)?.shape().to_vec();
        if shape.len() != 4 {
            return Err(Error::shape(
                "global_avg_pool",
                &[&shape],
                "expects an (N,C,H,W) input",
            ));
        }
        self.mean(x, &[2, 3], false)
    }
}

/// Applies `f(source plane, destination plane)` to each `(n, c)` plane of a 4-D `src`,
/// writing into a zeroed array of shape `out_shape`.
fn map_planes<A: NdFloat>(
    src: &ArrayD<A>,
    out_shape: &[usize],
    mut f: impl FnMut(ndarray::ArrayView2<A>, &mut ndarray::ArrayViewMut2<A>),
) -> ArrayD<A> {
    let src = src.view().into_dimensionality::<Ix4>().expect("4-D");
    let mut out = ndarray::Array4::zeros((out_shape[0], out_shape[1], out_shape[2], out_shape[3]));
    for (s, mut o) in src.outer_iter().zip(out.outer_iter_mut()) {
        for (plane, mut dst) in s.outer_iter().zip(o.outer_iter_mut()) {
            f(plane, &mut dst);
        }
    }
    out.into_dyn()
}
