//! ReLU followed by max pooling over one `(H, W)` plane, with each window's winner kept as
//! one byte: the tail of a [`conv_block`](crate::Graph::conv_block).
//!
//! For a window `o` of side `k` at stride `s` (no padding):
//!
//! ```text
//! y[o]    = max(0, max_{i,j < k} u[oh·s + i, ow·s + j])
//! code[o] = i·k + j of the first maximal u in the window,  or DEAD when that maximum is <= 0
//! dL/du[p] = Σ_{o : winner(o) = p, code[o] != DEAD} dL/dy[o]
//! ```
//!
//! This is `max_pool2d(relu(u))` exactly, value and gradient: ReLU is monotone, so the
//! window maximum of `relu(u)` is `relu` of the window maximum of `u`; when that maximum is
//! positive, the first maximal element of `relu(u)` is the first maximal element of `u`
//! (every non-positive `u` maps to 0, below it); when it is `<= 0`, ReLU's derivative there
//! is 0 (`relu'(0) = 0`, as in `Graph::relu`), so no gradient flows. The backward pass needs
//! only the codes, a quarter of the pooled input's size in bytes for 2x2 windows of f32.

use std::hint::select_unpredictable;

use crate::error::{Error, Result};

/// Code of a window whose maximum is `<= 0`: ReLU passes no gradient back into it.
pub(crate) const DEAD: u8 = u8::MAX;

/// Window sweep of a pooling over one plane: no padding, output side `(H - k) / s + 1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolGeometry {
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl PoolGeometry {
    /// Windows of side `kernel` every `stride` pixels over an `height x width` plane. The
    /// kernel is at most 15, so that every code `i·k + j` fits below [`DEAD`].
    pub(crate) fn new(
        op: &'static str,
        height: usize,
        width: usize,
        kernel: usize,
        stride: usize,
    ) -> Result<Self> {
        if kernel == 0 || stride == 0 || kernel > 15 {
            return Err(Error::invalid(
                op,
                format!("pool kernel {kernel} must be in 1..=15 and stride {stride} > 0"),
            ));
        }
        if height < kernel || width < kernel {
            return Err(Error::shape(
                op,
                &[&[height, width]],
                format!("pool kernel {kernel} exceeds the convolution's output"),
            ));
        }
        Ok(Self {
            width,
            kernel,
            stride,
            out_h: (height - kernel) / stride + 1,
            out_w: (width - kernel) / stride + 1,
        })
    }

    /// Pixels of one pooled plane.
    pub(crate) fn out_len(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Calls `f(o, p)` for every live window `o` (in order) with `p` the flat position of
    /// its winner in the input plane.
    pub(crate) fn for_each_winner(&self, codes: &[u8], mut f: impl FnMut(usize, usize)) {
        let (k, w) = (self.kernel, self.width);
        for (oh, row) in codes.chunks_exact(self.out_w).enumerate() {
            let top = oh * self.stride * w;
            for (ow, &code) in row.iter().enumerate() {
                if code != DEAD {
                    // 2x2 windows need no division to split the code.
                    let (i, j) = if k == 2 {
                        (usize::from(code >> 1), usize::from(code & 1))
                    } else {
                        (usize::from(code) / k, usize::from(code) % k)
                    };
                    f(oh * self.out_w + ow, top + i * w + ow * self.stride + j);
                }
            }
        }
    }

    /// Whether the windows are 2x2 at stride 2 and tile the plane exactly (even sides).
    fn tiles_2x2(&self, len: usize) -> bool {
        self.kernel == 2 && self.stride == 2 && len == 4 * self.out_h * self.out_w
    }
}

/// `out = max(0, window max of f(u))` and the winners' codes, for one plane `u`; `f` is
/// applied to every element before the comparison (the conv block's bias or normalisation).
pub(crate) fn relu_max_pool<A: ndarray::NdFloat>(
    geo: &PoolGeometry,
    u: &[A],
    f: impl Fn(A) -> A,
    out: &mut [A],
    codes: &mut [u8],
) {
    let (k, w) = (geo.kernel, geo.width);
    let rows = out
        .chunks_exact_mut(geo.out_w)
        .zip(codes.chunks_exact_mut(geo.out_w));
    for (oh, (out, codes)) in rows.enumerate() {
        let top = &u[oh * geo.stride * w..];
        if k == 2 && geo.stride == 2 {
            pool_row_2x2(
                &top[..2 * geo.out_w],
                &top[w..w + 2 * geo.out_w],
                &f,
                out,
                codes,
            );
            continue;
        }
        for (ow, (o, c)) in out.iter_mut().zip(codes.iter_mut()).enumerate() {
            let corner = ow * geo.stride;
            let (mut best, mut code) = (f(top[corner]), 0u8);
            for t in 1..k * k {
                let v = f(top[(t / k) * w + corner + t % k]);
                // Strictly greater: ties keep the first element, as max_pool2d does.
                let take = v > best;
                best = if take { v } else { best };
                code = if take { t as u8 } else { code };
            }
            (*o, *c) = relu_code(best, code);
        }
    }
}

/// One output row of 2x2 windows at stride 2 from image rows `r0`, `r1`: a branchless
/// tournament (left, then top, wins ties) that the compiler vectorises.
fn pool_row_2x2<A: ndarray::NdFloat>(
    r0: &[A],
    r1: &[A],
    f: &impl Fn(A) -> A,
    out: &mut [A],
    codes: &mut [u8],
) {
    let windows = r0.chunks_exact(2).zip(r1.chunks_exact(2));
    for ((a, b), (o, c)) in windows.zip(out.iter_mut().zip(codes.iter_mut())) {
        let (v0, v1, v2, v3) = (f(a[0]), f(a[1]), f(b[0]), f(b[1]));
        let (t0, t1) = (v1 > v0, v3 > v2);
        let (m0, c0) = if t0 { (v1, 1) } else { (v0, 0) };
        let (m1, c1) = if t1 { (v3, 3) } else { (v2, 2) };
        let (best, code) = if m1 > m0 { (m1, c1) } else { (m0, c0) };
        (*o, *c) = relu_code(best, code);
    }
}

/// The ReLU of a window maximum and its code (`DEAD` when the maximum is `<= 0`).
#[inline(always)]
fn relu_code<A: ndarray::NdFloat>(best: A, code: u8) -> (A, u8) {
    if best > A::zero() {
        (best, code)
    } else {
        (A::zero(), DEAD)
    }
}

/// The adjoint of [`relu_max_pool`]: `du[p] = Σ g[o]` over the live windows `o` whose
/// winner is `p` (overlapping windows, `stride < kernel`, may share one), 0 elsewhere.
pub(crate) fn relu_max_pool_adjoint<A: ndarray::NdFloat>(
    geo: &PoolGeometry,
    g: &[A],
    codes: &[u8],
    du: &mut [A],
) {
    if !geo.tiles_2x2(du.len()) {
        du.fill(A::zero());
        geo.for_each_winner(codes, |o, p| du[p] += g[o]);
        return;
    }
    // Every pixel belongs to exactly one window: write each once, branch-free.
    let w = geo.width;
    let rows = du.chunks_exact_mut(2 * w).zip(g.chunks_exact(geo.out_w));
    for ((pair, g), codes) in rows.zip(codes.chunks_exact(geo.out_w)) {
        let (r0, r1) = pair.split_at_mut(w);
        let windows = r0.chunks_exact_mut(2).zip(r1.chunks_exact_mut(2));
        for ((a, b), (&gv, &code)) in windows.zip(g.iter().zip(codes)) {
            // Selects, not a switch on the code: random codes would mispredict every branch.
            let at = |c: u8| select_unpredictable(code == c, gv, A::zero());
            (a[0], a[1], b[0], b[1]) = (at(0), at(1), at(2), at(3));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused pass against `max_pool(relu(u))` written out window by window, with ties,
    /// all-negative windows, overlapping windows, and planes that 2x2 windows tile exactly
    /// (the branch-free adjoint) or not.
    #[test]
    fn matches_relu_then_max_pool_with_ties_and_dead_windows() {
        let sizes = [(5, 6), (4, 6), (6, 8)];
        let cases = [(2, 2), (3, 1), (2, 1), (1, 1), (3, 2)];
        for ((h, w), (k, s)) in sizes.into_iter().flat_map(|hw| cases.map(|c| (hw, c))) {
            let u: Vec<f64> = (0..h * w)
                .map(|p| [0.5, -1.0, 0.5, 2.0, -0.25, 0.0, -3.0][p % 7] * (1.0 + (p / 7) as f64))
                .collect();
            let geo = PoolGeometry::new("t", h, w, k, s).unwrap();
            let mut out = vec![0.0; geo.out_len()];
            let mut codes = vec![0u8; geo.out_len()];
            relu_max_pool(&geo, &u, |v| v, &mut out, &mut codes);
            let mut du = vec![f64::NAN; h * w];
            let g: Vec<f64> = (0..geo.out_len()).map(|o| 1.0 + o as f64).collect();
            relu_max_pool_adjoint(&geo, &g, &codes, &mut du);
            let mut want_du = vec![0.0; h * w];
            for o in 0..geo.out_len() {
                let (oh, ow) = (o / geo.out_w, o % geo.out_w);
                // relu first, then the first maximal element of the window.
                let mut best = (f64::NEG_INFINITY, 0);
                for i in 0..k {
                    for j in 0..k {
                        let p = (oh * s + i) * w + ow * s + j;
                        if u[p].max(0.0) > best.0 {
                            best = (u[p].max(0.0), p);
                        }
                    }
                }
                assert_eq!(out[o], best.0, "{h}x{w} k{k} s{s} o{o}");
                if u[best.1] > 0.0 {
                    want_du[best.1] += g[o];
                }
            }
            assert_eq!(du, want_du, "{h}x{w} k{k} s{s}");
        }
        assert!(PoolGeometry::new("t", 4, 4, 16, 1).is_err());
        assert!(PoolGeometry::new("t", 4, 4, 2, 0).is_err());
        assert!(PoolGeometry::new("t", 1, 4, 2, 2).is_err());
    }
}
