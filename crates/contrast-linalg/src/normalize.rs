//! Row L2 normalisation and its backward pass.
//!
//! ```text
//! zn_i = z_i / r_i,   r_i = max(||z_i||, eps),   eps = NORM_EPS = 1e-12  (torch F.normalize)
//! dz_i = (dzn_i - zn_i (zn_i . dzn_i)) / r_i      when ||z_i|| > eps
//! dz_i = dzn_i / eps                               when the clamp is active
//! ```
//! Above the clamp the backward removes the radial part of the gradient (the norm does not
//! change along `zn_i`) and divides by the norm; below it `r_i` is the constant `eps`.
//! With normalisation switched off, [`RowNormalized`] passes rows and gradients through, so
//! a loss with a `normalize` switch keeps a single code path.

use ndarray::{Array1, Array2, ArrayView2, Axis, NdFloat, Zip};

/// The clamp of torch's `F.normalize` (its default `eps`), which every peer library uses.
pub const NORM_EPS: f64 = 1e-12;

/// Rows, L2-normalised (or passed through), remembering what the backward pass needs.
///
/// ```
/// use contrast_linalg::RowNormalized;
/// use ndarray::array;
///
/// let z = array![[3.0f64, 4.0]];
/// let n = RowNormalized::new(z.view(), true);
/// assert_eq!(n.rows, array![[0.6, 0.8]]);
/// // A gradient along the row itself does not change the normalised row.
/// let dz = n.backward(array![[0.6, 0.8]]);
/// assert!(dz.iter().all(|g| g.abs() < 1e-15));
/// ```
#[derive(Clone, Debug)]
pub struct RowNormalized<A> {
    /// The rows used downstream: `z_i / max(||z_i||, eps)`, or `z` itself when off.
    pub rows: Array2<A>,
    /// `max(||z_i||, eps)` per row, and whether the clamp was active; `None` when off.
    scale: Option<(Array1<A>, Vec<bool>)>,
}

impl<A: NdFloat> RowNormalized<A> {
    /// Normalises the rows of `z` with [`NORM_EPS`] when `normalize`, else copies them.
    pub fn new(z: ArrayView2<A>, normalize: bool) -> Self {
        if normalize {
            Self::with_eps(z, A::from(NORM_EPS).expect("1e-12 converts to every float"))
        } else {
            Self {
                rows: z.to_owned(),
                scale: None,
            }
        }
    }

    /// Normalises the rows of `z` with the clamp `eps` (callers check `eps > 0`).
    pub fn with_eps(z: ArrayView2<A>, eps: A) -> Self {
        let norms = z.map_axis(Axis(1), |r| r.dot(&r).sqrt());
        let clamped: Vec<bool> = norms.iter().map(|&n| n <= eps).collect();
        let scale = norms.mapv(|n| n.max(eps));
        let mut rows = z.to_owned();
        Zip::from(rows.rows_mut())
            .and(&scale)
            .for_each(|mut r, &s| r /= s);
        Self {
            rows,
            scale: Some((scale, clamped)),
        }
    }

    /// Maps `d loss / d rows` to `d loss / d z` (consumes and returns the buffer).
    ///
    /// # Panics
    /// When `grad` is not of the shape of [`Self::rows`].
    pub fn backward(&self, mut grad: Array2<A>) -> Array2<A> {
        let Some((scale, clamped)) = &self.scale else {
            return grad;
        };
        Zip::from(grad.rows_mut())
            .and(self.rows.rows())
            .and(scale)
            .and(clamped.as_slice())
            .for_each(|mut g, zn, &s, &c| {
                if !c {
                    // Remove the radial component: the norm does not change with it.
                    let radial = zn.dot(&g);
                    g.scaled_add(-radial, &zn);
                }
                g /= s;
            });
        grad
    }
}

/// The rows of `x` divided by `max(||x_i||, NORM_EPS)` (no backward kept).
///
/// ```
/// use contrast_linalg::l2_normalize_rows;
/// use ndarray::array;
///
/// assert_eq!(l2_normalize_rows(array![[0.0f32, 2.0], [0.0, 0.0]].view()), array![[0.0, 1.0], [0.0, 0.0]]);
/// ```
pub fn l2_normalize_rows<A: NdFloat>(x: ArrayView2<A>) -> Array2<A> {
    RowNormalized::new(x, true).rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_differences::central_differences;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn rows_get_unit_norm_and_the_radial_gradient_vanishes() {
        let z = array![[3.0f64, 4.0], [0.0, 0.0]];
        let n = RowNormalized::new(z.view(), true);
        assert_eq!(n.rows, array![[0.6, 0.8], [0.0, 0.0]]);
        // A gradient along the row itself changes nothing after normalisation.
        let g = n.backward(array![[0.6, 0.8], [1.0, 2.0]]);
        assert!(g.row(0).iter().all(|x| x.abs() < 1e-15));
        // The zero row is clamped by eps: the gradient passes, divided by eps.
        assert_eq!(g.row(1).to_vec(), vec![1e12, 2e12]);
        let off = RowNormalized::new(z.view(), false);
        assert_eq!(off.rows, z);
        assert_eq!(
            off.backward(array![[1.0, 2.0], [3.0, 4.0]]),
            array![[1.0, 2.0], [3.0, 4.0]]
        );
    }

    #[test]
    fn a_larger_eps_clamps_more_rows() {
        let z = array![[0.3f32, 0.4], [3.0, 4.0]];
        let n = RowNormalized::with_eps(z.view(), 1.0);
        // ||row 0|| = 0.5 <= 1: divided by 1, gradient passes unprojected.
        assert_eq!(n.rows, array![[0.3, 0.4], [0.6, 0.8]]);
        assert_eq!(
            n.backward(array![[1.0, 1.0], [0.0, 0.0]]),
            array![[1.0, 1.0], [0.0, 0.0]]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The backward against central differences of `sum(w * normalize(z))`, on rows
        /// away from the clamp; and `l2_normalize_rows` equals the forward.
        #[test]
        fn backward_matches_finite_differences(
            (z, w) in (1usize..5, 1usize..6).prop_flat_map(|(n, d)| (
                proptest::collection::vec(-2.0f64..2.0, n * d)
                    .prop_map(move |v| Array2::from_shape_vec((n, d), v).expect("n * d"))
                    .prop_filter("rows away from zero", |z| z.rows().into_iter().all(|r| r.dot(&r) > 0.01)),
                proptest::collection::vec(-1.0f64..1.0, n * d)
                    .prop_map(move |v| Array2::from_shape_vec((n, d), v).expect("n * d")),
            ))
        ) {
            let f = |z: &Array2<f64>| (&RowNormalized::new(z.view(), true).rows * &w).sum();
            let n = RowNormalized::new(z.view(), true);
            prop_assert_eq!(&l2_normalize_rows(z.view()), &n.rows);
            let dz = n.backward(w.clone());
            let fd = central_differences(f, &z, 1e-6);
            for (((i, j), &g), &n) in dz.indexed_iter().zip(&fd) {
                prop_assert!((n - g).abs() <= 1e-6 * (1.0 + g.abs()), "({}, {}): {} vs {}", i, j, n, g);
            }
        }
    }
}
