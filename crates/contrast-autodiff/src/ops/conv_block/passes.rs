//! The parallel passes of a conv block over its batch, task by task (see [`super::block`]
//! for the chunk layout): forward (convolve, and pool or gather batch moments), pooling with
//! batch statistics, and backward. Per-task partial sums are added in task order.

use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayViewMut2, NdFloat};
use rayon::prelude::*;

use super::block::{Affine, Block, NormState, span};
use super::sums::{Moments, add_into, lane_sum};
use contrast_linalg::gemm_into;

/// Which gradients the backward pass computes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Needs {
    pub x: bool,
    pub w: bool,
    pub bias: bool,
    /// `γ` or `β`.
    pub norm: bool,
}

/// The backward pass's results (`None` where not needed).
pub(super) struct Grads<A> {
    dx: Option<Vec<A>>,
    dw: Option<Array2<A>>,
    db: Option<Vec<A>>,
    /// `(dγ, dβ)`.
    dnorm: Option<(Vec<A>, Vec<A>)>,
}

impl<A: NdFloat> Grads<A> {
    /// One gradient per parent of the op, in order `x, w, [bias], [γ, β]`, shaped like it.
    pub fn into_parent_order(
        self,
        inputs: &[&ArrayD<A>],
        has_bias: bool,
        has_norm: bool,
    ) -> Vec<Option<ArrayD<A>>> {
        let vector = |v: Vec<A>| Array1::from(v).into_dyn();
        let mut out = vec![
            self.dx
                .map(|dx| ArrayD::from_shape_vec(inputs[0].raw_dim(), dx).expect("count")),
            self.dw.map(|dw| {
                dw.into_shape_with_order(inputs[1].raw_dim())
                    .expect("count")
            }),
        ];
        if has_bias {
            out.push(self.db.map(vector));
        }
        if has_norm {
            let (dgamma, dbeta) = self.dnorm.unzip();
            out.push(dgamma.map(vector));
            out.push(dbeta.map(vector));
        }
        out
    }
}

/// `data` cut into per-task slices of `len`, or one `None` per task.
fn task_slots<T>(data: Option<&mut [T]>, len: usize, tasks: usize) -> Vec<Option<&mut [T]>> {
    match data {
        Some(d) => d.chunks_mut(len).map(Some).collect(),
        None => (0..tasks).map(|_| None).collect(),
    }
}

impl<A: NdFloat> Block<A> {
    /// Convolves every chunk, then pools it (when `affine` is known) or accumulates its
    /// per-channel moments (batch-norm training, `affine = None`) into the returned list.
    /// `kept`, when given, receives the convolution output of the whole batch.
    pub fn forward_pass(
        &self,
        xs: &[A],
        kept: Option<&mut [A]>,
        affine: Option<&Affine<A>>,
        out: &mut [A],
        codes: &mut [u8],
    ) -> Vec<Moments<A>> {
        let (plan, hw) = (self.plan, self.conv_len());
        let per_task: Vec<Vec<Moments<A>>> = xs
            .par_chunks(plan.task * self.in_len())
            .zip(out.par_chunks_mut(plan.task * self.out_len()))
            .zip(codes.par_chunks_mut(plan.task * self.out_len()))
            .zip(task_slots(kept, plan.task * self.z_len(), plan.tasks()))
            .map(|(((xs, out), codes), mut kept)| {
                let mut cols = vec![A::zero(); self.geo.cols_rows() * plan.chunk * hw];
                let mut scratch = vec![A::zero(); plan.chunk * self.z_len()];
                let mut moments = vec![Moments::empty(); self.cout];
                for r in plan.chunks(xs.len() / self.in_len()) {
                    let z = match kept.as_deref_mut() {
                        Some(k) => &mut k[span(&r, self.z_len())],
                        None => &mut scratch[..r.len() * self.z_len()],
                    };
                    self.convolve(&xs[span(&r, self.in_len())], &mut cols, z);
                    let o = span(&r, self.out_len());
                    match affine {
                        Some(a) => self.pool_chunk(z, a, &mut out[o.clone()], &mut codes[o]),
                        None => {
                            for (m, z) in moments.iter_mut().zip(z.chunks_exact(r.len() * hw)) {
                                *m = m.merge(Moments::of(z));
                            }
                        }
                    }
                }
                moments
            })
            .collect();
        per_task
            .into_iter()
            .reduce(|a, b| a.into_iter().zip(b).map(|(a, b)| a.merge(b)).collect())
            .unwrap_or_default()
    }

    /// Pools the kept convolution output of every chunk with `affine`.
    pub fn pool_pass(&self, kept: &[A], affine: &Affine<A>, out: &mut [A], codes: &mut [u8]) {
        let plan = self.plan;
        kept.par_chunks(plan.task * self.z_len())
            .zip(out.par_chunks_mut(plan.task * self.out_len()))
            .zip(codes.par_chunks_mut(plan.task * self.out_len()))
            .for_each(|((z, out), codes)| {
                for r in plan.chunks(z.len() / self.z_len()) {
                    let o = span(&r, self.out_len());
                    let z = &z[span(&r, self.z_len())];
                    self.pool_chunk(z, affine, &mut out[o.clone()], &mut codes[o]);
                }
            });
    }

    /// Per-channel `(Σ g_u, Σ g_u ẑ)` over the whole batch, from the winners only (`g_u` is
    /// zero elsewhere).
    fn norm_sums(&self, g: &[A], codes: &[u8], kept: &[A], st: &NormState<A>) -> [Vec<A>; 2] {
        let (plan, hw, ohw) = (self.plan, self.conv_len(), self.pool.out_len());
        let per_task: Vec<[Vec<A>; 2]> = g
            .par_chunks(plan.task * self.out_len())
            .zip(codes.par_chunks(plan.task * self.out_len()))
            .zip(kept.par_chunks(plan.task * self.z_len()))
            .map(|((g, codes), z)| {
                let mut sums = [vec![A::zero(); self.cout], vec![A::zero(); self.cout]];
                for r in plan.chunks(g.len() / self.out_len()) {
                    let z = &z[span(&r, self.z_len())];
                    for i in r.clone() {
                        for c in 0..self.cout {
                            let o = (i * self.cout + c) * ohw..(i * self.cout + c + 1) * ohw;
                            let plane = &z[(c * r.len() + i - r.start) * hw..][..hw];
                            let (mu, s, g) = (st.mean[c], st.inv_std[c], &g[o.clone()]);
                            self.pool.for_each_winner(&codes[o], |k, p| {
                                sums[0][c] += g[k];
                                sums[1][c] += g[k] * (plane[p] - mu) * s;
                            });
                        }
                    }
                }
                sums
            })
            .collect();
        let mut total = [vec![A::zero(); self.cout], vec![A::zero(); self.cout]];
        for sums in per_task {
            add_into(&mut total[0], &sums[0]);
            add_into(&mut total[1], &sums[1]);
        }
        total
    }

    /// `g_z` of one chunk from its `g_u` (in place), by the batch-norm rows of the module
    /// docs; `z` is the chunk's kept convolution output, `sums` the batch's `(Σ g_u, Σ g_u ẑ)`.
    fn norm_backward_chunk(&self, gz: &mut [A], z: &[A], st: &NormState<A>, sums: &[Vec<A>; 2]) {
        let n = gz.len() / self.cout;
        let m = A::from(self.plan.samples * self.conv_len()).expect("float");
        for (c, (row, z)) in gz.chunks_exact_mut(n).zip(z.chunks_exact(n)).enumerate() {
            let (mu, s, gamma) = (st.mean[c], st.inv_std[c], st.gamma[c]);
            if st.train {
                let (k, sum_g, sum_gz) = (gamma * s / m, sums[0][c], sums[1][c]);
                for (d, &v) in row.iter_mut().zip(z) {
                    *d = k * (m * *d - sum_g - (v - mu) * s * sum_gz);
                }
            } else {
                row.iter_mut().for_each(|d| *d = *d * gamma * s);
            }
        }
    }

    /// The gradients of the block with respect to `x`, `w`, `b`, `γ`, `β` from the pooled
    /// gradient `g` and the forward pass's `codes` (and `kept` convolution output under
    /// batch norm).
    pub fn backward_pass(
        &self,
        xs: &[A],
        g: &[A],
        codes: &[u8],
        kept: Option<&[A]>,
        norm: Option<&NormState<A>>,
        needs: Needs,
    ) -> Grads<A> {
        let (plan, hw, rows) = (self.plan, self.conv_len(), self.geo.cols_rows());
        let sums = norm.map(|st| self.norm_sums(g, codes, kept.expect("kept z"), st));
        let mut dx = needs.x.then(|| vec![A::zero(); xs.len()]);
        let kept_slots: Vec<Option<&[A]>> = match kept {
            Some(z) => z.chunks(plan.task * self.z_len()).map(Some).collect(),
            None => (0..plan.tasks()).map(|_| None).collect(),
        };
        let need_conv = needs.x || needs.w || needs.bias;
        let per_task: Vec<(Option<Array2<A>>, Vec<A>)> = xs
            .par_chunks(plan.task * self.in_len())
            .zip(g.par_chunks(plan.task * self.out_len()))
            .zip(codes.par_chunks(plan.task * self.out_len()))
            .zip(kept_slots)
            .zip(task_slots(
                dx.as_deref_mut(),
                plan.task * self.in_len(),
                plan.tasks(),
            ))
            .map(|((((xs, g), codes), z), mut dx)| {
                let mut dw = needs.w.then(|| Array2::zeros(self.wmat.raw_dim()));
                let mut db = vec![A::zero(); self.cout];
                if !need_conv {
                    return (dw, db);
                }
                let mut cols = vec![A::zero(); rows * plan.chunk * hw];
                let mut gz = vec![A::zero(); plan.chunk * self.z_len()];
                let mut dcols = vec![A::zero(); if needs.x { rows * plan.chunk * hw } else { 0 }];
                for r in plan.chunks(xs.len() / self.in_len()) {
                    let (s, o) = (r.len(), span(&r, self.out_len()));
                    let gz = &mut gz[..s * self.z_len()];
                    self.unpool_chunk(&g[o.clone()], &codes[o], gz);
                    if let (Some(st), Some(sums), Some(z)) = (norm, &sums, z) {
                        self.norm_backward_chunk(gz, &z[span(&r, self.z_len())], st, sums);
                    }
                    if needs.bias {
                        for (d, row) in db.iter_mut().zip(gz.chunks_exact(s * hw)) {
                            *d += lane_sum(row, |v| v);
                        }
                    }
                    let gzm = ArrayView2::from_shape((self.cout, s * hw), &*gz).expect("count");
                    let xs = &xs[span(&r, self.in_len())];
                    if let Some(dw) = dw.as_mut() {
                        let cols = self.im2col(xs, &mut cols);
                        gemm_into(A::one(), gzm, cols.t(), A::one(), dw.view_mut());
                    }
                    if let Some(dx) = dx.as_deref_mut() {
                        let dcols = &mut dcols[..rows * s * hw];
                        let dm = ArrayViewMut2::from_shape((rows, s * hw), &mut *dcols);
                        gemm_into(A::one(), self.wmat.t(), gzm, A::zero(), dm.expect("count"));
                        let dx = &mut dx[span(&r, self.in_len())];
                        for (i, img) in dx.chunks_exact_mut(self.in_len()).enumerate() {
                            self.geo.col2im_into(&mut dcols[i * hw..], s * hw, img);
                        }
                    }
                }
                (dw, db)
            })
            .collect();
        let mut dw = needs.w.then(|| Array2::zeros(self.wmat.raw_dim()));
        let mut db = vec![A::zero(); self.cout];
        for (w, b) in per_task {
            if let (Some(total), Some(w)) = (dw.as_mut(), w) {
                *total += &w;
            }
            add_into(&mut db, &b);
        }
        Grads {
            dx,
            dw,
            db: needs.bias.then_some(db),
            dnorm: sums
                .filter(|_| needs.norm)
                .map(|[sum_g, sum_gz]| (sum_gz, sum_g)),
        }
    }
}
