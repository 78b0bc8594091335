//! Numpy broadcasting and its adjoint.
//!
//! Shapes are aligned on the right; a dimension of 1 (or a missing leading one) is repeated.
//! The backward of a broadcast is a sum: an input that was repeated along an axis receives
//! the sum of the output gradient along that axis, so `reduce_to_shape` sums the leading
//! extra axes away and sums (keeping the axis) wherever the input had a 1.

use ndarray::{ArrayD, Axis, CowArray, IxDyn, NdFloat};

use crate::error::{Error, Result};

/// The broadcast shape of `a` and `b`, or a shape error naming `op`.
pub(crate) fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() >= n {
            s[i + s.len() - n]
        } else {
            1
        }
    };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(Error::shape(op, &[a, b], "shapes do not broadcast")),
        })
        .collect()
}

/// Sums `g` (of a broadcast shape) down to `shape`: the adjoint of broadcasting.
///
/// Takes `g` borrowed or owned: a bias's gradient (a sum over rows) reads a view of `g`
/// and copies nothing, and an owned `g` that needs no sum is returned as it is. Each sum
/// runs in a fixed order on one thread, so the bits never depend on the pool size.
pub(crate) fn reduce_to_shape<A: NdFloat>(g: CowArray<'_, A, IxDyn>, shape: &[usize]) -> ArrayD<A> {
    let mut g = g;
    while g.ndim() > shape.len() {
        g = g.sum_axis(Axis(0)).into();
    }
    for (axis, &d) in shape.iter().enumerate() {
        if d == 1 && g.shape()[axis] != 1 {
            g = g.sum_axis(Axis(axis)).insert_axis(Axis(axis)).into();
        }
    }
    g.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast_shape("t", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shape("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        assert!(matches!(
            broadcast_shape("add", &[3], &[4]),
            Err(Error::Shape { op: "add", .. })
        ));
    }

    #[test]
    fn reduce_sums_repeated_axes() {
        let g = ArrayD::from_elem(IxDyn(&[2, 3, 4]), 1.0);
        let r = reduce_to_shape(g.view().into(), &[3, 1]);
        assert_eq!(r.shape(), &[3, 1]);
        assert!(r.iter().all(|&v| v == 8.0));
    }
}
