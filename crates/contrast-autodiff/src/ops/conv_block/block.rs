//! One block's sizes, how its batch is cut, and what it does to one chunk of samples:
//! gather the columns, convolve, pool, and route the pooled gradient back.
//!
//! Chunk layout: a chunk of `S` consecutive samples keeps its convolution output as one
//! `(Cout, S·H'·W')` matrix (row `c` holds channel `c` of every sample of the chunk, sample
//! after sample), the product of one gemm. Pooled outputs, codes, inputs and input gradients
//! stay NCHW. A value kept for the whole batch (the convolution output under batch norm)
//! is the chunks' matrices one after another, so the samples `a..b` of a chunk occupy
//! `a·Cout·H'·W'..b·Cout·H'·W'` either way.

use std::ops::Range;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, NdFloat};

use super::super::conv::Geometry;
use super::super::relu_pool::{PoolGeometry, relu_max_pool, relu_max_pool_adjoint};
use contrast_linalg::gemm_into;

/// Values per chunk (columns plus convolution output): about a core's L2 cache of f32 (1 MiB
/// here). Measured on the small CNN: 2^17 and 2^19 are each ~5% slower than 2^18.
const CHUNK_VALUES: usize = 1 << 18;
/// Parallel tasks per batch: enough for load balance on a few cores, few enough that the
/// per-task partial sums of `dW` stay small.
const TASKS: usize = 16;

/// How a batch is cut: chunks of `chunk` samples (one gemm each), `task` samples (whole
/// chunks) per parallel task. Shapes alone decide both, never the thread count.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    pub samples: usize,
    pub chunk: usize,
    pub task: usize,
}

impl Plan {
    fn new(samples: usize, values_per_sample: usize) -> Self {
        let chunk = (CHUNK_VALUES / values_per_sample.max(1)).clamp(1, samples.max(1));
        let chunks = samples.div_ceil(chunk).max(1);
        Self {
            samples,
            chunk,
            task: chunks.div_ceil(TASKS) * chunk,
        }
    }

    /// The chunks (sample ranges, relative to the task) of a task of `len` samples.
    pub fn chunks(&self, len: usize) -> impl Iterator<Item = Range<usize>> + use<> {
        let chunk = self.chunk;
        (0..len.div_ceil(chunk)).map(move |i| i * chunk..((i + 1) * chunk).min(len))
    }

    /// Number of tasks.
    pub fn tasks(&self) -> usize {
        self.samples.div_ceil(self.task).max(1)
    }
}

/// The flat range of samples `r` in an array of `per_sample` values per sample.
pub(super) fn span(r: &Range<usize>, per_sample: usize) -> Range<usize> {
    r.start * per_sample..r.end * per_sample
}

/// Per-channel `u = (z - shift) · scale + offset`, applied before the ReLU.
#[derive(Clone, Debug)]
pub(super) struct Affine<A> {
    pub shift: Vec<A>,
    pub scale: Vec<A>,
    pub offset: Vec<A>,
}

impl<A: NdFloat> Affine<A> {
    /// `u = z`.
    pub fn identity(channels: usize) -> Self {
        Self {
            shift: vec![A::zero(); channels],
            scale: vec![A::one(); channels],
            offset: vec![A::zero(); channels],
        }
    }
}

/// What the backward pass needs of a batch norm: `γ`, the statistics it normalised with
/// (`μ`, `s = 1/sqrt(σ² + eps)`) and whether they were the batch's own.
#[derive(Clone, Debug)]
pub(super) struct NormState<A> {
    pub gamma: Vec<A>,
    pub mean: Vec<A>,
    pub inv_std: Vec<A>,
    pub train: bool,
}

/// Everything the passes share about one block.
pub(super) struct Block<A> {
    pub geo: Geometry,
    pub pool: PoolGeometry,
    pub plan: Plan,
    pub cout: usize,
    /// `w` as `(Cout, Cin·kh·kw)`.
    pub wmat: Array2<A>,
    pub bias: Option<Vec<A>>,
}

impl<A: NdFloat> Block<A> {
    /// A block for `samples` inputs of `geo`'s size.
    pub fn new(
        geo: Geometry,
        pool: PoolGeometry,
        samples: usize,
        wmat: Array2<A>,
        bias: Option<Vec<A>>,
    ) -> Self {
        let cout = wmat.nrows();
        let per_sample = (geo.cols_rows() + cout) * geo.out_h * geo.out_w;
        Self {
            geo,
            pool,
            plan: Plan::new(samples, per_sample),
            cout,
            wmat,
            bias,
        }
    }

    /// Input values per sample: `Cin·H·W`.
    pub fn in_len(&self) -> usize {
        self.geo.channels * self.geo.height * self.geo.width
    }

    /// Convolution output pixels per channel: `H'·W'`.
    pub fn conv_len(&self) -> usize {
        self.geo.out_h * self.geo.out_w
    }

    /// Convolution output values per sample: `Cout·H'·W'`.
    pub fn z_len(&self) -> usize {
        self.cout * self.conv_len()
    }

    /// Pooled output values per sample: `Cout·Hp·Wp`.
    pub fn out_len(&self) -> usize {
        self.cout * self.pool.out_len()
    }

    /// The output shape `(N, Cout, Hp, Wp)`.
    pub fn out_shape(&self) -> [usize; 4] {
        [
            self.plan.samples,
            self.cout,
            self.pool.out_h,
            self.pool.out_w,
        ]
    }

    /// `cols` of samples `xs` (whole images, side by side) as a `(Cin·kh·kw, S·H'·W')`
    /// matrix in the front of the buffer `cols`.
    pub fn im2col<'c>(&self, xs: &[A], cols: &'c mut [A]) -> ArrayView2<'c, A> {
        let (hw, s) = (self.conv_len(), xs.len() / self.in_len());
        let cols = &mut cols[..self.geo.cols_rows() * s * hw];
        for (i, x) in xs.chunks_exact(self.in_len()).enumerate() {
            self.geo.im2col_into(x, &mut cols[i * hw..], s * hw);
        }
        ArrayView2::from_shape((self.geo.cols_rows(), s * hw), cols).expect("count")
    }

    /// `z = W · cols(xs) + b` for one chunk, into `z: (Cout, S·H'·W')`.
    pub fn convolve(&self, xs: &[A], cols: &mut [A], z: &mut [A]) {
        let cols = self.im2col(xs, cols);
        let mut zm = ArrayViewMut2::from_shape((self.cout, cols.ncols()), z).expect("count");
        gemm_into(A::one(), self.wmat.view(), cols, A::zero(), zm.view_mut());
        if let Some(b) = &self.bias {
            for (mut row, &bv) in zm.outer_iter_mut().zip(b) {
                row.mapv_inplace(|v| v + bv);
            }
        }
    }

    /// ReLU and pooling of one chunk's `z` into its samples' `out` and `codes` (NCHW).
    pub fn pool_chunk(&self, z: &[A], affine: &Affine<A>, out: &mut [A], codes: &mut [u8]) {
        let (hw, ohw) = (self.conv_len(), self.pool.out_len());
        let s = z.len() / self.z_len();
        for c in 0..self.cout {
            let (shift, scale, offset) = (affine.shift[c], affine.scale[c], affine.offset[c]);
            let f = |v: A| (v - shift) * scale + offset;
            for i in 0..s {
                let plane = &z[(c * s + i) * hw..][..hw];
                let o = (i * self.cout + c) * ohw..(i * self.cout + c + 1) * ohw;
                relu_max_pool(&self.pool, plane, f, &mut out[o.clone()], &mut codes[o]);
            }
        }
    }

    /// `g_u` of one chunk in `z`'s layout: the pooled gradient at each live winner, 0
    /// elsewhere.
    pub fn unpool_chunk(&self, g: &[A], codes: &[u8], gu: &mut [A]) {
        let (hw, ohw) = (self.conv_len(), self.pool.out_len());
        let s = g.len() / self.out_len();
        for c in 0..self.cout {
            for i in 0..s {
                let o = (i * self.cout + c) * ohw..(i * self.cout + c + 1) * ohw;
                let dst = &mut gu[(c * s + i) * hw..][..hw];
                relu_max_pool_adjoint(&self.pool, &g[o.clone()], &codes[o], dst);
            }
        }
    }
}
