//! Row L2 normalisation and its backward pass, shared by every cosine-similarity loss.
//!
//! ```text
//! zn_i = z_i / r_i,   r_i = max(||z_i||, eps),   eps = 1e-12  (torch F.normalize)
//! dz_i = (dzn_i - zn_i (zn_i . dzn_i)) / r_i      when ||z_i|| > eps
//! dz_i = dzn_i / eps                               when the clamp is active
//! ```
//! With normalisation switched off the same type passes rows and gradients through,
//! so each loss has a single code path.

use ndarray::{Array1, Array2, ArrayView2, Axis, NdFloat, Zip};

/// The clamp of torch's `F.normalize`, which every peer library uses.
pub const NORM_EPS: f64 = 1e-12;

/// Rows, L2-normalised (or passed through), remembering what the backward needs.
#[derive(Clone, Debug)]
pub struct RowNormalized<A> {
    /// The rows used by the loss: `z_i / max(||z_i||, eps)`, or `z` itself when off.
    pub rows: Array2<A>,
    /// `max(||z_i||, eps)` per row, and whether the clamp was active; `None` when off.
    scale: Option<(Array1<A>, Vec<bool>)>,
}

impl<A: NdFloat> RowNormalized<A> {
    /// Normalises the rows of `z` when `normalize`, else copies them.
    pub fn new(z: ArrayView2<A>, normalize: bool) -> Self {
        if !normalize {
            return Self {
                rows: z.to_owned(),
                scale: None,
            };
        }
        let eps = A::from(NORM_EPS).unwrap();
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

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
        assert_eq!(
            off.backward(array![[1.0, 2.0], [3.0, 4.0]]),
            array![[1.0, 2.0], [3.0, 4.0]]
        );
    }
}
