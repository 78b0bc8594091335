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
use contrast_linalg::matmul;

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
    /// image: `row` indexes `(c, i, j)`, `col` indexes `(oh, ow)`. The definition that the
    /// sliced [`Geometry::im2col`] and [`Geometry::col2im`] are tested against.
    #[cfg(test)]
    pub(crate) fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
        for c in 0..self.channels {
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = (c * self.kh + i) * self.kw + j;
                    for oh in 0..self.out_h {
                        let Some(y) = self.image_row(oh, i) else {
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

    /// The image row `y = oh·s + i - p` that tap row `i` of output row `oh` reads, if inside.
    #[inline]
    fn image_row(&self, oh: usize, i: usize) -> Option<usize> {
        (oh * self.stride + i)
            .checked_sub(self.padding)
            .filter(|&y| y < self.height)
    }

    /// The output columns `ow` whose tap `j` lands inside the image, and the image column of
    /// the first: `x = ow·s + j - p` for `ow` in the range.
    #[inline]
    fn valid_columns(&self, j: usize) -> std::ops::Range<usize> {
        let (s, p) = (self.stride, self.padding);
        let lo = p.saturating_sub(j).div_ceil(s);
        let hi = (self.width + p)
            .saturating_sub(j)
            .div_ceil(s)
            .min(self.out_w);
        lo..hi.max(lo)
    }

    /// `cols[(c, i, j), (oh, ow)]`, the same taps as [`Geometry::for_each_tap`], walked row by
    /// row over contiguous slices (this gather and its adjoint dominate a small CNN's step).
    fn im2col<A: NdFloat>(&self, x: ArrayView3<A>) -> Array2<A> {
        let x = x.as_standard_layout();
        let (rows, n_cols) = (self.cols_rows(), self.out_h * self.out_w);
        let mut cols = vec![A::zero(); rows * n_cols];
        self.im2col_into(x.as_slice().expect("standard layout"), &mut cols, n_cols);
        Array2::from_shape_vec((rows, n_cols), cols).expect("count")
    }

    /// Rows of `cols`: `C·kh·kw`.
    pub(crate) fn cols_rows(&self) -> usize {
        self.channels * self.kh * self.kw
    }

    /// [`Geometry::im2col`] of one image `xs` (`C·H·W` values) written into the columns
    /// `0..Ho·Wo` of a wider matrix whose rows start `row_stride` apart (the columns of one
    /// sample in a chunk of samples). Every written element is set, padding taps to zero.
    pub(crate) fn im2col_into<A: NdFloat>(&self, xs: &[A], cols: &mut [A], row_stride: usize) {
        let n_cols = self.out_h * self.out_w;
        let plane_len = self.height * self.width;
        for (row, tap) in self.rows() {
            let dst = &mut cols[row * row_stride..row * row_stride + n_cols];
            if let Some(shift) = tap {
                let plane = &xs[(row / (self.kh * self.kw)) * plane_len..][..plane_len];
                let d = shift.copied.clone();
                dst[..d.start].fill(A::zero());
                dst[d.end..].fill(A::zero());
                if !d.is_empty() {
                    dst[d.clone()].copy_from_slice(&plane[shift.source(d)]);
                }
                shift.clear_outside_columns(dst);
                continue;
            }
            dst.fill(A::zero());
            self.row_taps(row, |image_row, first_x, cols_offset, ow_range| {
                let src = &xs[image_row..image_row + self.width];
                let out = &mut dst[cols_offset..cols_offset + self.out_w];
                if self.stride == 1 {
                    out[ow_range.clone()].copy_from_slice(&src[first_x..first_x + ow_range.len()]);
                } else {
                    for (k, ow) in ow_range.enumerate() {
                        out[ow] = src[first_x + k * self.stride];
                    }
                }
            });
        }
    }

    /// Every row of `cols` with its [`PlaneShift`] when it has one (computed once per tap).
    fn rows(&self) -> impl Iterator<Item = (usize, Option<PlaneShift>)> + '_ {
        let taps: Vec<Option<PlaneShift>> = (0..self.kh * self.kw)
            .map(|t| self.shift(t / self.kw, t % self.kw))
            .collect();
        (0..self.cols_rows()).map(move |row| (row, taps[row % (self.kh * self.kw)].clone()))
    }

    /// The adjoint of [`Geometry::im2col`]: every column entry added back to its pixel, in
    /// the same order as the tap walk.
    fn col2im<A: NdFloat>(&self, cols: Array2<A>) -> ndarray::Array3<A> {
        let mut cols = cols.as_standard_layout().into_owned();
        let mut x = vec![A::zero(); self.channels * self.height * self.width];
        let row_stride = self.out_h * self.out_w;
        let cols = cols.as_slice_mut().expect("standard layout");
        self.col2im_into(cols, row_stride, &mut x);
        ndarray::Array3::from_shape_vec((self.channels, self.height, self.width), x).expect("count")
    }

    /// The adjoint of [`Geometry::im2col_into`]: adds the columns `0..Ho·Wo` of a matrix with
    /// rows `row_stride` apart back onto the image `xs` (`C·H·W` values). The entries of
    /// taps that fall outside the image carry no gradient; they may be zeroed in `cols`.
    pub(crate) fn col2im_into<A: NdFloat>(&self, cols: &mut [A], row_stride: usize, xs: &mut [A]) {
        let n_cols = self.out_h * self.out_w;
        let plane_len = self.height * self.width;
        for (row, tap) in self.rows() {
            let src = &mut cols[row * row_stride..row * row_stride + n_cols];
            if let Some(shift) = tap {
                shift.clear_outside_columns(src);
                let plane = &mut xs[(row / (self.kh * self.kw)) * plane_len..][..plane_len];
                let d = shift.copied.clone();
                if !d.is_empty() {
                    let dst = &mut plane[shift.source(d.clone())];
                    dst.iter_mut().zip(&src[d]).for_each(|(x, &g)| *x += g);
                }
                continue;
            }
            self.row_taps(row, |image_row, first_x, cols_offset, ow_range| {
                let dst = &mut xs[image_row..image_row + self.width];
                let src = &src[cols_offset..cols_offset + self.out_w][ow_range];
                if self.stride == 1 {
                    let dst = &mut dst[first_x..first_x + src.len()];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                } else {
                    let dst = dst[first_x..].iter_mut().step_by(self.stride);
                    dst.zip(src).for_each(|(d, &s)| *d += s);
                }
            });
        }
    }

    /// Tap `(i, j)` as a shifted copy of an image plane, when the stride is 1 and the output
    /// is as wide as the image ("same" width): then row `(c, i, j)` of `cols` is
    /// `cols[d] = x_c[d + off]` with `off = (i - p)·W + (j - p)` for every `d = oh·W + ow` of a
    /// tap inside the image, so one contiguous copy does the whole row, and only the columns
    /// whose tap falls outside the image are cleared afterwards.
    fn shift(&self, i: usize, j: usize) -> Option<PlaneShift> {
        if self.stride != 1 || self.out_w != self.width {
            return None;
        }
        let (w, len) = (self.width, self.height * self.width);
        let columns = self.valid_columns(j);
        let columns = columns.start.min(w)..columns.end.min(w);
        let oh_lo = self.padding.saturating_sub(i).min(self.out_h);
        let oh_hi = (self.height + self.padding)
            .saturating_sub(i)
            .clamp(oh_lo, self.out_h);
        let offset = (i * w + j) as isize - (self.padding * (w + 1)) as isize;
        // Rows oh_lo..oh_hi, trimmed where the shift would read before or past the plane
        // (those elements are in cleared columns).
        let start = (oh_lo * w).max(offset.min(0).unsigned_abs());
        let end = (oh_hi * w).min((len as isize - offset).max(0) as usize);
        Some(PlaneShift {
            offset,
            copied: start.min(end)..end,
            rows: oh_lo..oh_hi,
            columns,
            width: w,
        })
    }

    /// For row `(c, i, j)` of `cols`, calls `f(image_row, first_x, cols_offset, ow_range)` for
    /// every output row `oh` whose tap lands inside the image: the flat start of image row
    /// `(c, y)`, the image column of the first valid output column, the offset of `(oh, 0)`
    /// in the cols row, and the valid `ow` range.
    fn row_taps(&self, row: usize, mut f: impl FnMut(usize, usize, usize, std::ops::Range<usize>)) {
        let (c, i, j) = (
            row / (self.kh * self.kw),
            (row / self.kw) % self.kh,
            row % self.kw,
        );
        let ow_range = self.valid_columns(j);
        if ow_range.is_empty() {
            return;
        }
        let first_x = ow_range.start * self.stride + j - self.padding;
        for oh in 0..self.out_h {
            let Some(y) = self.image_row(oh, i) else {
                continue;
            };
            f(
                (c * self.height + y) * self.width,
                first_x,
                oh * self.out_w,
                ow_range.clone(),
            );
        }
    }
}

/// One tap's rows of `cols` as a shifted image plane (see [`Geometry::shift`]).
#[derive(Clone, Debug)]
struct PlaneShift {
    /// `cols[d]` reads `plane[d + offset]`.
    offset: isize,
    /// The `d` that the one contiguous copy covers.
    copied: std::ops::Range<usize>,
    /// Output rows whose tap row is inside the image.
    rows: std::ops::Range<usize>,
    /// Output columns whose tap column is inside the image.
    columns: std::ops::Range<usize>,
    /// Image (and output) width.
    width: usize,
}

impl PlaneShift {
    /// The plane positions that `d` in `copied` reads.
    fn source(&self, d: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let at = |d: usize| (d as isize + self.offset) as usize;
        at(d.start)..at(d.end)
    }

    /// Zeroes the entries of a `cols` row whose tap column is outside the image.
    fn clear_outside_columns<A: NdFloat>(&self, row: &mut [A]) {
        let w = self.width;
        let lines = &mut row[self.rows.start * w..self.rows.end * w];
        // Column by column down the rows: a "same" 3x3 convolution clears one column per
        // side, and a strided walk avoids a tiny fill call per row.
        for k in (0..self.columns.start).chain(self.columns.end..w) {
            lines[k..]
                .iter_mut()
                .step_by(w)
                .for_each(|v| *v = A::zero());
        }
    }
}

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
        // Each sample's product lands straight in its slot of the output, samples in parallel.
        let mut out = Array4::zeros((x4.len_of(Axis(0)), cout, geo.out_h, geo.out_w));
        out.outer_iter_mut()
            .into_par_iter()
            .zip(x4.outer_iter().into_par_iter())
            .for_each(|(mut dst, sample)| {
                let y = matmul(wmat.view(), geo.im2col(sample).view());
                let mut dst = dst
                    .view_mut()
                    .into_shape_with_order((cout, geo.out_h * geo.out_w))
                    .expect("standard layout");
                dst.assign(&y);
                if let Some(b) = &bias_v {
                    for (mut row, &bv) in dst.outer_iter_mut().zip(b.iter()) {
                        row += bv;
                    }
                }
            });
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
            // dx per sample straight into its slot; the dW terms are summed afterwards in
            // sample order, so the result does not depend on the thread count.
            let mut dx = bp.needs[0].then(|| Array4::<A>::zeros(x4.raw_dim()));
            let dx_slots: Vec<Option<ndarray::ArrayViewMut3<A>>> = match &mut dx {
                Some(dx) => dx.outer_iter_mut().map(Some).collect(),
                None => (0..x4.len_of(Axis(0))).map(|_| None).collect(),
            };
            let dw_terms: Vec<Option<Array2<A>>> = x4
                .outer_iter()
                .into_par_iter()
                .zip(g3.outer_iter().into_par_iter())
                .zip(dx_slots.into_par_iter())
                .map(|((sample, gs), slot)| {
                    if let Some(mut slot) = slot {
                        slot.assign(&geo.col2im(matmul(wmat.t(), gs)));
                    }
                    bp.needs[1].then(|| matmul(gs, geo.im2col(sample).t()))
                })
                .collect();
            let dx = dx.map(|dx| dx.into_dyn());
            let dw = bp.needs[1].then(|| {
                let mut dw = Array2::zeros(wmat.raw_dim());
                for d in &dw_terms {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// im2col and col2im over slices equal the tap-by-tap definition, bit for bit, for
    /// kernels, strides and paddings that clip in every way (padding above the kernel too).
    #[test]
    fn sliced_gather_and_scatter_match_the_tap_walk() {
        for (h, w) in [(1, 1), (5, 7), (8, 8)] {
            for (kh, kw) in [(1, 1), (3, 3), (2, 3), (5, 5)] {
                for stride in 1..=3 {
                    for padding in 0..=6 {
                        let Ok(geo) = Geometry::new("t", &[1, 2, h, w], (kh, kw), stride, padding)
                        else {
                            continue;
                        };
                        let x = Array3::from_shape_fn((2, h, w), |(c, y, x)| {
                            (c * 100 + y * 10 + x) as f64 + 0.5
                        });
                        let mut want = Array2::zeros((2 * kh * kw, geo.out_h * geo.out_w));
                        geo.for_each_tap(|r, c, ch, y, xx| want[[r, c]] = x[[ch, y, xx]]);
                        let cols = geo.im2col(x.view());
                        assert_eq!(cols, want, "im2col {h}x{w} k{kh}x{kw} s{stride} p{padding}");

                        let g = Array2::from_shape_fn(cols.raw_dim(), |(r, c)| {
                            ((r * 31 + c * 17) % 13) as f64 * 0.1 - 0.4
                        });
                        let mut want = Array3::zeros((2, h, w));
                        geo.for_each_tap(|r, c, ch, y, xx| want[[ch, y, xx]] += g[[r, c]]);
                        assert_eq!(
                            geo.col2im(g),
                            want,
                            "col2im {h}x{w} k{kh}x{kw} s{stride} p{padding}"
                        );
                    }
                }
            }
        }
    }
}
