//! Row L2-normalisation `zn_i = z_i / max(||z_i||, eps)`, its backward
//! `dz_i = (dzn_i - zn_i (zn_i . dzn_i)) / max(||z_i||, eps)`, and the cosine
//! similarity matrix `S = norm(A) norm(B)^T / T` built from it and [`gemm`].
//!
//! Kernels: `shaders/normalize.wgsl`, `shaders/normalize_backward.wgsl` (one
//! workgroup of 64 per row, tree reduction from `shaders/row_reduce.wgsl`).

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::context::GpuContext;
use crate::error::{Error, Result};
use crate::kernel::{Access, Kernel, KernelSpec, linear_grid};
use crate::matmul::{Transpose, gemm};
use crate::matrix::GpuMatrix;

/// [`contrast_linalg::NORM_EPS`] (torch's `F.normalize` default) in the kernels' f32: rows
/// shorter than this are divided by it instead.
pub const NORM_EPS: f32 = contrast_linalg::NORM_EPS as f32;

pub(crate) const ROW_REDUCE_WGSL: &str = include_str!("../../../shaders/row_reduce.wgsl");
const NORMALIZE_WGSL: &str = include_str!("../../../shaders/normalize.wgsl");
const NORMALIZE_BACKWARD_WGSL: &str = include_str!("../../../shaders/normalize_backward.wgsl");

/// Normalised rows together with the original norms the backward pass needs.
#[derive(Debug)]
pub struct Normalized {
    /// `zn`, same shape as the input.
    pub rows: GpuMatrix,
    /// `||z_i||` (not clamped), shape `(n, 1)`.
    pub norms: GpuMatrix,
    /// The `eps` used.
    pub eps: f32,
}

fn row_kernel(
    ctx: &GpuContext,
    label: &'static str,
    source: &'static str,
    storage: &'static [Access],
) -> Result<std::sync::Arc<Kernel>> {
    ctx.kernel(label.to_string(), |device| {
        Kernel::build(
            device,
            &KernelSpec {
                label,
                sources: &[ROW_REDUCE_WGSL, source],
                entry: label,
                storage,
                constants: &[],
            },
        )
    })
}

fn row_dims(rows: usize, cols: usize, eps: f32) -> [u32; 4] {
    [rows as u32, cols as u32, eps.to_bits(), 0]
}

/// `zn_i = z_i / max(||z_i||, eps)` for every row, on the device.
///
/// # Errors
/// [`Error::TooLarge`] beyond the device's buffer limits.
pub fn l2_normalize_rows(ctx: &GpuContext, z: &GpuMatrix, eps: f32) -> Result<Normalized> {
    let (n, d) = z.shape();
    let out = Normalized {
        rows: GpuMatrix::zeros(ctx, n, d)?,
        norms: GpuMatrix::zeros(ctx, n, 1)?,
        eps,
    };
    if n > 0 {
        let kernel = row_kernel(
            ctx,
            "normalize_rows",
            NORMALIZE_WGSL,
            &[Access::Read, Access::Write, Access::Write],
        )?;
        let dims = row_dims(n, d, eps);
        ctx.dispatch(
            &kernel,
            bytemuck::cast_slice(&dims),
            &[&z.buffer, &out.rows.buffer, &out.norms.buffer],
            linear_grid(n),
        )?;
    }
    Ok(out)
}

/// Backward of [`l2_normalize_rows`]: `dz` from `dzn` (the gradient w.r.t. `zn`).
///
/// # Errors
/// [`Error::ShapeMismatch`] if `dzn` is not shaped like `zn`.
pub fn l2_normalize_rows_backward(
    ctx: &GpuContext,
    normalized: &Normalized,
    dzn: &GpuMatrix,
) -> Result<GpuMatrix> {
    let (n, d) = normalized.rows.shape();
    if dzn.shape() != (n, d) {
        return Err(Error::ShapeMismatch {
            op: "l2_normalize_rows_backward",
            left: (n, d),
            right: dzn.shape(),
            msg: "the gradient must have the shape of the normalised rows",
        });
    }
    let dz = GpuMatrix::zeros(ctx, n, d)?;
    if n > 0 {
        let kernel = row_kernel(
            ctx,
            "normalize_backward",
            NORMALIZE_BACKWARD_WGSL,
            &[Access::Read, Access::Read, Access::Read, Access::Write],
        )?;
        let dims = row_dims(n, d, normalized.eps);
        ctx.dispatch(
            &kernel,
            bytemuck::cast_slice(&dims),
            &[
                &normalized.rows.buffer,
                &normalized.norms.buffer,
                &dzn.buffer,
                &dz.buffer,
            ],
            linear_grid(n),
        )?;
    }
    Ok(dz)
}

/// Checks that a temperature is usable.
pub(crate) fn check_temperature(op: &'static str, temperature: f32) -> Result<()> {
    if temperature > 0.0 && temperature.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidTemperature { op, temperature })
    }
}

/// `S = norm(A) norm(B)^T / T`, shape `(n_a, n_b)`, resident on the device.
///
/// # Errors
/// [`Error::ShapeMismatch`] if the row lengths differ, [`Error::InvalidTemperature`].
pub fn cosine_similarity(
    ctx: &GpuContext,
    a: &GpuMatrix,
    b: &GpuMatrix,
    temperature: f32,
) -> Result<GpuMatrix> {
    check_temperature("cosine_similarity", temperature)?;
    if a.cols() != b.cols() {
        return Err(Error::ShapeMismatch {
            op: "cosine_similarity",
            left: a.shape(),
            right: b.shape(),
            msg: "rows must have the same length",
        });
    }
    let na = l2_normalize_rows(ctx, a, NORM_EPS)?;
    let nb = l2_normalize_rows(ctx, b, NORM_EPS)?;
    gemm(
        ctx,
        &na.rows,
        Transpose::No,
        &nb.rows,
        Transpose::Yes,
        1.0 / temperature,
    )
}

/// CPU reference of [`l2_normalize_rows`]: `(zn, norms)`, computed in f64.
pub fn l2_normalize_rows_reference(z: ArrayView2<'_, f32>, eps: f32) -> (Array2<f32>, Array1<f32>) {
    let z = z.mapv(f64::from);
    let norms = z.map_axis(Axis(1), |r| r.dot(&r).sqrt());
    let mut zn = z;
    for (mut row, &nrm) in zn.rows_mut().into_iter().zip(norms.iter()) {
        row /= nrm.max(f64::from(eps));
    }
    (zn.mapv(|x| x as f32), norms.mapv(|x| x as f32))
}

/// CPU reference of [`l2_normalize_rows_backward`] from the input `z` and `dzn`.
pub fn l2_normalize_rows_backward_reference(
    z: ArrayView2<'_, f32>,
    dzn: ArrayView2<'_, f32>,
    eps: f32,
) -> Array2<f32> {
    let mut dz = Array2::zeros(z.dim());
    for ((zr, gr), mut out) in z.rows().into_iter().zip(dzn.rows()).zip(dz.rows_mut()) {
        let zr = zr.mapv(f64::from);
        let gr = gr.mapv(f64::from);
        let scale = zr.dot(&zr).sqrt().max(f64::from(eps));
        let zn = &zr / scale;
        let proj = zn.dot(&gr);
        out.assign(&((&gr - &(&zn * proj)) / scale).mapv(|x| x as f32));
    }
    dz
}

/// CPU reference of [`cosine_similarity`], computed in f64.
///
/// # Errors
/// As [`cosine_similarity`].
pub fn cosine_similarity_reference(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    temperature: f32,
) -> Result<Array2<f32>> {
    check_temperature("cosine_similarity_reference", temperature)?;
    if a.ncols() != b.ncols() {
        return Err(Error::ShapeMismatch {
            op: "cosine_similarity_reference",
            left: a.dim(),
            right: b.dim(),
            msg: "rows must have the same length",
        });
    }
    let (na, _) = l2_normalize_rows_reference(a, NORM_EPS);
    let (nb, _) = l2_normalize_rows_reference(b, NORM_EPS);
    let s = na.mapv(f64::from).dot(&nb.mapv(f64::from).t());
    Ok(s.mapv(|x| (x / f64::from(temperature)) as f32))
}
