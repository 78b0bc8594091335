//! Fused NT-Xent / InfoNCE (SimCLR layout) that never stores the `2N x 2N`
//! similarity matrix.
//!
//! For `z` of shape `(2N, D)`, rows `i` and `p(i) = (i + N) mod 2N` positive:
//! ```text
//! zn_i = z_i / max(||z_i||, 1e-12),   s_ij = zn_i . zn_j / T
//! lse_i = log sum_{j != i} exp(s_ij),  loss = (1/2N) sum_i (lse_i - s_i,p(i))
//! dzn   = (G + G^T) zn / T,  G_ij = (exp(s_ij - lse_i) [j != i] - [j = p(i)]) / 2N
//! dz_i  = (dzn_i - zn_i (zn_i . dzn_i)) / max(||z_i||, 1e-12)
//! ```
//! (see docs/references.md, section "NT-Xent"; equal to SimCLR's NT-Xent and
//! pytorch-metric-learning's `NTXentLoss`.)
//!
//! Pipeline on the device, every step resident:
//! 1. `normalize.wgsl`: `zn` and the norms;
//! 2. `nt_xent_forward.wgsl`: per row block, an online log-sum-exp over column tiles
//!    of `zn zn^T / T` with the diagonal masked; writes `lse` and the per-row loss;
//! 3. `nt_xent_backward.wgsl`: recomputes each tile of `s`, forms the `(G + G^T)` tile
//!    and accumulates it times `zn`, giving `dzn`;
//! 4. `normalize_backward.wgsl`: `dz`.
//!
//! The mean over rows is taken on the host in f64 (2N floats read back). Memory is
//! O(N D): at 2N = 65,536 and D = 128 the buffers total about 130 MB.

use ndarray::{Array2, ArrayView2, NdFloat};

use crate::context::GpuContext;
use crate::error::{Error, Result};
use crate::kernel::{Access, Kernel, KernelSpec};
use crate::matmul::TILE_GEMM_WGSL;
use crate::matrix::GpuMatrix;
use crate::normalize::{
    NORM_EPS, check_temperature, l2_normalize_rows, l2_normalize_rows_backward,
};

const FORWARD_WGSL: &str = include_str!("../../../shaders/nt_xent_forward.wgsl");
const BACKWARD_WGSL: &str = include_str!("../../../shaders/nt_xent_backward.wgsl");

/// The fused kernels use 4 x 4 register blocks (64 x 64 tiles): their weight tile and
/// per-row merges are sized for that, and it keeps workgroup memory under 24 KiB.
const FUSED_REG_WGSL: &str = "const REG: u32 = 4u;\n";
const TILE: usize = 64;

/// Workgroup memory of the backward kernel: two 4 KiB slices and the 16 KiB weight tile.
const BACKWARD_WORKGROUP_BYTES: u32 = 24 * 1024;

/// What the forward pass keeps: one log-sum-exp and one loss term per row.
#[derive(Debug)]
pub struct NtXentForward {
    /// `lse_i`, shape `(2N, 1)`: all the backward pass needs besides `zn`.
    pub lse: GpuMatrix,
    /// `l_i = lse_i - s_i,p(i)`, shape `(2N, 1)`.
    pub row_loss: GpuMatrix,
}

impl NtXentForward {
    /// The loss: the mean of the per-row terms (reads `2N` floats back).
    ///
    /// # Errors
    /// [`Error::BufferMap`] or [`Error::Poll`] if the device fails.
    pub fn loss(&self, ctx: &GpuContext) -> Result<f32> {
        let rows = self.row_loss.download(ctx)?;
        let sum: f64 = rows.iter().map(|&x| f64::from(x)).sum();
        Ok((sum / rows.len() as f64) as f32)
    }
}

fn check_layout(op: &'static str, shape: (usize, usize), temperature: f32) -> Result<()> {
    check_temperature(op, temperature)?;
    let (rows, dim) = shape;
    if rows < 2 || !rows.is_multiple_of(2) {
        return Err(Error::OddBatch { rows });
    }
    if dim == 0 {
        return Err(Error::Empty { op, shape });
    }
    Ok(())
}

/// The fused kernels share their layout: zn, then per-row buffers.
fn fused_kernel(
    ctx: &GpuContext,
    label: &'static str,
    source: &'static str,
    dim: usize,
) -> Result<std::sync::Arc<Kernel>> {
    let vec = dim.is_multiple_of(4);
    let storage: &[Access] = if label == "nt_xent_forward" {
        &[Access::Read, Access::Write, Access::Write]
    } else {
        &[Access::Read, Access::Read, Access::Write]
    };
    ctx.kernel(format!("{label} {vec}"), |device| {
        Kernel::build(
            device,
            &KernelSpec {
                label,
                sources: &[FUSED_REG_WGSL, TILE_GEMM_WGSL, source],
                entry: label,
                storage,
                constants: &[
                    ("TRANS_B", 1.0),
                    ("VEC_A", f64::from(u8::from(vec))),
                    ("VEC_B", f64::from(u8::from(vec))),
                ],
            },
        )
    })
}

fn fused_dims(shape: (usize, usize), temperature: f32) -> [u32; 4] {
    let (rows, dim) = shape;
    [
        rows as u32,
        dim as u32,
        (rows / 2) as u32,
        (1.0 / temperature).to_bits(),
    ]
}

/// Forward pass on normalised rows `zn` (as [`l2_normalize_rows`] produces).
///
/// # Errors
/// [`Error::OddBatch`], [`Error::Empty`], [`Error::InvalidTemperature`].
pub fn nt_xent_forward(
    ctx: &GpuContext,
    zn: &GpuMatrix,
    temperature: f32,
) -> Result<NtXentForward> {
    check_layout("nt_xent_forward", zn.shape(), temperature)?;
    let rows = zn.rows();
    let out = NtXentForward {
        lse: GpuMatrix::zeros(ctx, rows, 1)?,
        row_loss: GpuMatrix::zeros(ctx, rows, 1)?,
    };
    let kernel = fused_kernel(ctx, "nt_xent_forward", FORWARD_WGSL, zn.cols())?;
    ctx.dispatch(
        &kernel,
        bytemuck::cast_slice(&fused_dims(zn.shape(), temperature)),
        &[&zn.buffer, &out.lse.buffer, &out.row_loss.buffer],
        (rows.div_ceil(TILE) as u32, 1),
    )?;
    Ok(out)
}

/// Backward pass: `dzn`, the gradient of the mean loss w.r.t. the normalised rows.
///
/// # Errors
/// As [`nt_xent_forward`]; [`Error::ShapeMismatch`] if `lse` has the wrong length;
/// [`Error::Unsupported`] if the device has under 24 KiB of workgroup memory.
pub fn nt_xent_backward(
    ctx: &GpuContext,
    zn: &GpuMatrix,
    lse: &GpuMatrix,
    temperature: f32,
) -> Result<GpuMatrix> {
    check_layout("nt_xent_backward", zn.shape(), temperature)?;
    if lse.shape() != (zn.rows(), 1) {
        return Err(Error::ShapeMismatch {
            op: "nt_xent_backward",
            left: zn.shape(),
            right: lse.shape(),
            msg: "lse must hold one value per row",
        });
    }
    let available = ctx.limits().max_compute_workgroup_storage_size;
    if available < BACKWARD_WORKGROUP_BYTES {
        return Err(Error::Unsupported {
            what: "max_compute_workgroup_storage_size",
            needed: BACKWARD_WORKGROUP_BYTES.into(),
            available: available.into(),
        });
    }
    let (rows, dim) = zn.shape();
    let dzn = GpuMatrix::zeros(ctx, rows, dim)?;
    let kernel = fused_kernel(ctx, "nt_xent_backward", BACKWARD_WGSL, dim)?;
    ctx.dispatch(
        &kernel,
        bytemuck::cast_slice(&fused_dims(zn.shape(), temperature)),
        &[&zn.buffer, &lse.buffer, &dzn.buffer],
        (rows.div_ceil(TILE) as u32, dim.div_ceil(TILE) as u32),
    )?;
    Ok(dzn)
}

/// The whole loss on raw embeddings `z` (2N, D): `(loss, dz)`, with `dz` resident.
///
/// # Errors
/// As [`nt_xent_forward`] and [`nt_xent_backward`].
pub fn nt_xent(ctx: &GpuContext, z: &GpuMatrix, temperature: f32) -> Result<(f32, GpuMatrix)> {
    check_layout("nt_xent", z.shape(), temperature)?;
    let normalized = l2_normalize_rows(ctx, z, NORM_EPS)?;
    let forward = nt_xent_forward(ctx, &normalized.rows, temperature)?;
    let dzn = nt_xent_backward(ctx, &normalized.rows, &forward.lse, temperature)?;
    let dz = l2_normalize_rows_backward(ctx, &normalized, &dzn)?;
    Ok((forward.loss(ctx)?, dz))
}

/// Dense CPU reference: builds the full `2N x 2N` matrix; `(loss, dz)`.
///
/// # Errors
/// [`Error::OddBatch`], [`Error::Empty`], [`Error::InvalidTemperature`].
pub fn nt_xent_reference<A: NdFloat>(
    z: ArrayView2<'_, A>,
    temperature: A,
) -> Result<(A, Array2<A>)> {
    let t32 = temperature.to_f32().unwrap_or(f32::NAN);
    check_layout("nt_xent_reference", z.dim(), t32)?;
    let (rows, _) = z.dim();
    let eps = A::from(NORM_EPS).expect("representable");
    let scale: Vec<A> = z
        .rows()
        .into_iter()
        .map(|r| r.dot(&r).sqrt().max(eps))
        .collect();
    let mut zn = z.to_owned();
    for (mut r, &s) in zn.rows_mut().into_iter().zip(&scale) {
        r.mapv_inplace(|x| x / s);
    }
    let s = zn.dot(&zn.t()).mapv(|x| x / temperature);
    let two_n = A::from(rows).expect("representable");
    let mut g = Array2::<A>::zeros((rows, rows));
    let mut loss = A::zero();
    for i in 0..rows {
        let pos = (i + rows / 2) % rows;
        let m = (0..rows)
            .filter(|&j| j != i)
            .map(|j| s[[i, j]])
            .fold(A::neg_infinity(), A::max);
        let sum = (0..rows)
            .filter(|&j| j != i)
            .map(|j| (s[[i, j]] - m).exp())
            .fold(A::zero(), |a, b| a + b);
        let lse = m + sum.ln();
        loss += lse - s[[i, pos]];
        for j in (0..rows).filter(|&j| j != i) {
            g[[i, j]] = (s[[i, j]] - lse).exp() / two_n;
        }
        g[[i, pos]] -= A::one() / two_n;
    }
    let dzn = (&g + &g.t()).dot(&zn).mapv(|x| x / temperature);
    let mut dz = dzn;
    for ((mut d, zr), &sc) in dz.rows_mut().into_iter().zip(zn.rows()).zip(&scale) {
        let proj = zr.dot(&d);
        d.zip_mut_with(&zr, |g, &y| *g = (*g - y * proj) / sc);
    }
    Ok((loss / two_n, dz))
}
