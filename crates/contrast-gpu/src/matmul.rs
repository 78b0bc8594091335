//! Matrix multiplication `C = alpha op(A) op(B)` with `op` the identity or the
//! transpose: `A B` (forward), `A B^T` (similarities, backward of `A B` for dA) and
//! `A^T B` (backward for dB).
//!
//! The WGSL kernel (`shaders/matmul.wgsl` over `shaders/tile_gemm.wgsl`) tiles C into
//! 128 x 128 blocks per workgroup of 16 x 16 invocations; each invocation accumulates an
//! 8 x 8 block in registers over K slices of 16 staged in workgroup memory, loading
//! vec4s when the stored row length is a multiple of 4. Edges are bounds-checked, so
//! any shape works (1 x N, tall and skinny, sizes that are not multiples of 64).

use ndarray::{Array2, ArrayView2};

use crate::context::GpuContext;
use crate::error::{Error, Result};
use crate::kernel::{Access, Kernel, KernelSpec};
use crate::matrix::GpuMatrix;

/// Whether an operand enters the product as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// `op(X) = X`.
    No,
    /// `op(X) = X^T`.
    Yes,
}

impl Transpose {
    fn is_yes(self) -> bool {
        self == Transpose::Yes
    }

    /// Shape of `op(X)` for a stored `(rows, cols)`.
    fn apply(self, (r, c): (usize, usize)) -> (usize, usize) {
        if self.is_yes() { (c, r) } else { (r, c) }
    }
}

/// Register block of the matmul kernel: 8 x 8 per invocation, 128 x 128 per workgroup.
/// (The one WGSL line that sizes `tile_gemm.wgsl`, which each kernel chooses.)
const MATMUL_REG_WGSL: &str = "const REG: u32 = 8u;\n";
const MATMUL_TILE: usize = 128;

/// The tile-product fragment every matrix kernel is compiled with.
pub(crate) const TILE_GEMM_WGSL: &str = include_str!("../../../shaders/tile_gemm.wgsl");
const MATMUL_WGSL: &str = include_str!("../../../shaders/matmul.wgsl");

/// `(m, k, n)` of `op(A) op(B)`, or the error naming both stored shapes.
fn product_dims(
    op: &'static str,
    a: (usize, usize),
    ta: Transpose,
    b: (usize, usize),
    tb: Transpose,
) -> Result<(usize, usize, usize)> {
    let (m, k) = ta.apply(a);
    let (k2, n) = tb.apply(b);
    if k != k2 {
        return Err(Error::ShapeMismatch {
            op,
            left: a,
            right: b,
            msg: "inner dimensions of op(A) op(B) differ",
        });
    }
    Ok((m, k, n))
}

/// `C = alpha op(A) op(B)` on the device; C stays resident.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the inner dimensions differ, [`Error::TooLarge`]
/// when C exceeds the device's buffer limits.
pub fn gemm(
    ctx: &GpuContext,
    a: &GpuMatrix,
    ta: Transpose,
    b: &GpuMatrix,
    tb: Transpose,
    alpha: f32,
) -> Result<GpuMatrix> {
    let (m, k, n) = product_dims("gemm", a.shape(), ta, b.shape(), tb)?;
    let c = GpuMatrix::zeros(ctx, m, n)?;
    if m == 0 || n == 0 || k == 0 {
        return Ok(c);
    }
    // vec4 loads are legal when every stored row starts on a 16-byte boundary.
    let (vec_a, vec_b) = (a.cols().is_multiple_of(4), b.cols().is_multiple_of(4));
    let key = format!("matmul {ta:?} {tb:?} {vec_a} {vec_b}");
    let kernel = ctx.kernel(key, |device| {
        Kernel::build(
            device,
            &KernelSpec {
                label: "matmul",
                sources: &[MATMUL_REG_WGSL, TILE_GEMM_WGSL, MATMUL_WGSL],
                entry: "matmul",
                storage: &[Access::Read, Access::Read, Access::Write],
                constants: &[
                    ("TRANS_A", f64::from(u8::from(ta.is_yes()))),
                    ("TRANS_B", f64::from(u8::from(tb.is_yes()))),
                    ("VEC_A", f64::from(u8::from(vec_a))),
                    ("VEC_B", f64::from(u8::from(vec_b))),
                ],
            },
        )
    })?;
    let dims = [m as u32, n as u32, k as u32, alpha.to_bits()];
    let grid = (
        n.div_ceil(MATMUL_TILE) as u32,
        m.div_ceil(MATMUL_TILE) as u32,
    );
    ctx.dispatch(
        &kernel,
        bytemuck::cast_slice(&dims),
        &[&a.buffer, &b.buffer, &c.buffer],
        grid,
    )?;
    Ok(c)
}

/// `C = A B`.
///
/// # Errors
/// As [`gemm`].
pub fn matmul(ctx: &GpuContext, a: &GpuMatrix, b: &GpuMatrix) -> Result<GpuMatrix> {
    gemm(ctx, a, Transpose::No, b, Transpose::No, 1.0)
}

/// `C = A B^T`.
///
/// # Errors
/// As [`gemm`].
pub fn matmul_nt(ctx: &GpuContext, a: &GpuMatrix, b: &GpuMatrix) -> Result<GpuMatrix> {
    gemm(ctx, a, Transpose::No, b, Transpose::Yes, 1.0)
}

/// `C = A^T B`.
///
/// # Errors
/// As [`gemm`].
pub fn matmul_tn(ctx: &GpuContext, a: &GpuMatrix, b: &GpuMatrix) -> Result<GpuMatrix> {
    gemm(ctx, a, Transpose::Yes, b, Transpose::No, 1.0)
}

/// CPU reference of [`gemm`]: the same product accumulated in f64.
///
/// # Errors
/// [`Error::ShapeMismatch`] as [`gemm`].
pub fn gemm_reference(
    a: ArrayView2<'_, f32>,
    ta: Transpose,
    b: ArrayView2<'_, f32>,
    tb: Transpose,
    alpha: f32,
) -> Result<Array2<f32>> {
    product_dims("gemm_reference", a.dim(), ta, b.dim(), tb)?;
    let a = a.mapv(f64::from);
    let b = b.mapv(f64::from);
    let a = if ta.is_yes() { a.t() } else { a.view() };
    let b = if tb.is_yes() { b.t() } else { b.view() };
    Ok(a.dot(&b).mapv(|x| (f64::from(alpha) * x) as f32))
}
