//! The `k` highest-scoring columns of every row (hard-negative mining on a similarity
//! matrix): largest first, ties broken towards the lower column index. With
//! `skip_diagonal`, column `i` is never a candidate for row `i` (a sample is not its
//! own negative). Kernel: `shaders/top_k.wgsl` (per-invocation sorted lists merged
//! in a tree), `k <= MAX_K`.

use ndarray::{Array2, ArrayView2};

use crate::context::GpuContext;
use crate::error::{Error, Result};
use crate::kernel::{Access, Kernel, KernelSpec, linear_grid};
use crate::matrix::{GpuMatrix, storage_buffer};
use crate::normalize::ROW_REDUCE_WGSL;

/// The largest `k` the kernel keeps per invocation.
pub const MAX_K: usize = 32;

const TOP_K_WGSL: &str = include_str!("../../../shaders/top_k.wgsl");

/// The selected columns of each row, best first: both `(rows, k)`.
#[derive(Clone, Debug, PartialEq)]
pub struct TopK {
    /// Column indices.
    pub indices: Array2<u32>,
    /// Their scores.
    pub values: Array2<f32>,
}

fn check_k(shape: (usize, usize), k: usize, skip_diagonal: bool) -> Result<()> {
    let (_, cols) = shape;
    // With the diagonal skipped a square row has one candidate less.
    let candidates = if skip_diagonal && cols > 0 {
        cols - 1
    } else {
        cols
    };
    let max = candidates.min(MAX_K);
    if k == 0 || k > max {
        return Err(Error::InvalidK { k, max });
    }
    Ok(())
}

/// Top-`k` columns per row of `scores` (read back to the host).
///
/// # Errors
/// [`Error::InvalidK`] unless `1 <= k <= min(candidates, MAX_K)`.
pub fn top_k(ctx: &GpuContext, scores: &GpuMatrix, k: usize, skip_diagonal: bool) -> Result<TopK> {
    check_k(scores.shape(), k, skip_diagonal)?;
    let rows = scores.rows();
    let idx = storage_buffer(ctx, "top_k", rows * k)?;
    let val = storage_buffer(ctx, "top_k", rows * k)?;
    let kernel = ctx.kernel("top_k".to_string(), |device| {
        Kernel::build(
            device,
            &KernelSpec {
                label: "top_k",
                sources: &[ROW_REDUCE_WGSL, TOP_K_WGSL],
                entry: "top_k",
                storage: &[Access::Read, Access::Write, Access::Write],
                constants: &[],
            },
        )
    })?;
    let dims = [
        rows as u32,
        scores.cols() as u32,
        k as u32,
        u32::from(skip_diagonal),
    ];
    ctx.dispatch(
        &kernel,
        bytemuck::cast_slice(&dims),
        &[&scores.buffer, &idx, &val],
        linear_grid(rows),
    )?;
    let indices: Vec<u32> = ctx.read_buffer(&idx, rows * k)?;
    let values: Vec<f32> = ctx.read_buffer(&val, rows * k)?;
    Ok(TopK {
        indices: Array2::from_shape_vec((rows, k), indices).expect("rows * k"),
        values: Array2::from_shape_vec((rows, k), values).expect("rows * k"),
    })
}

/// CPU reference of [`top_k`]: a stable sort of each row (no `MAX_K` limit).
///
/// # Errors
/// [`Error::InvalidK`] unless `1 <= k <= candidates`; [`Error::NonFinite`] on NaN.
pub fn top_k_reference(scores: ArrayView2<'_, f32>, k: usize, skip_diagonal: bool) -> Result<TopK> {
    crate::matrix::check_finite("top_k_reference", scores.iter().copied())?;
    let (rows, cols) = scores.dim();
    let candidates = if skip_diagonal && cols > 0 {
        cols - 1
    } else {
        cols
    };
    if k == 0 || k > candidates {
        return Err(Error::InvalidK { k, max: candidates });
    }
    let mut indices = Array2::zeros((rows, k));
    let mut values = Array2::zeros((rows, k));
    for (i, row) in scores.rows().into_iter().enumerate() {
        let mut order: Vec<usize> = (0..cols).filter(|&j| !(skip_diagonal && j == i)).collect();
        // Stable: equal scores keep ascending column order.
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        for (t, &j) in order.iter().take(k).enumerate() {
            indices[[i, t]] = j as u32;
            values[[i, t]] = row[j];
        }
    }
    Ok(TopK { indices, values })
}
