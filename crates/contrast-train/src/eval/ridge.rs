//! Ridge regression in closed form: a linear probe from frozen features to continuous targets
//! (e.g. the true state variables behind an observation).
//!
//! Features are standardised with the training rows' mean and standard deviation (a
//! constant feature keeps scale 1), targets are centred, and with `Z` the standardised
//! training features, `Y` the training targets:
//!
//! ```text
//! z = (x - mu) / sigma
//! W = (Z^T Z + lambda I)^{-1} Z^T (Y - mean(Y))        (d x t)
//! prediction(x) = mean(Y) + z W
//! ```
//!
//! `lambda` = [`RIDGE_LAMBDA`] = 1, scikit-learn's default `alpha`, on the sum of squares
//! over training rows (so with 50,000 rows it is a light touch, which matters only for
//! nearly collinear features such as neighbouring pixels). Everything is computed in f64:
//! the Gram matrix `Z^T Z` is accumulated over blocks of rows (so a 50,000 x 5,120 pixel
//! matrix is never copied whole) from rows centred first (no cancellation in
//! `E[x^2] - E[x]^2`), and the system is solved by a Cholesky factorisation whose rows are
//! shared out over threads (each entry is computed by one thread in a fixed order, so the
//! result does not depend on the number of threads).

use contrast_linalg::matmul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::batch::chunks;
use crate::error::{Error, Result};

/// The regularisation of [`Ridge::fit`] used by the evaluations: scikit-learn's default.
pub const RIDGE_LAMBDA: f64 = 1.0;

/// Training rows per block of the Gram accumulation.
const BLOCK: usize = 4096;

/// A fitted ridge regression (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Ridge {
    mean: Array1<f64>,
    scale: Array1<f64>,
    weights: Array2<f64>,
    intercept: Array1<f64>,
}

impl Ridge {
    /// Fits `y` `(n, t)` from `x` `(n, d)` with regularisation `lambda > 0`.
    ///
    /// # Errors
    /// No row, a target count other than `n`, non-finite values, or a bad `lambda`.
    pub fn fit(x: ArrayView2<f32>, y: ArrayView2<f64>, lambda: f64) -> Result<Self> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 || y.ncols() == 0 {
            return Err(Error::Empty("ridge needs rows, features and targets"));
        }
        if y.nrows() != n {
            return Err(Error::LabelCount {
                what: "ridge targets",
                expected: n,
                got: y.nrows(),
            });
        }
        if !(lambda > 0.0 && lambda.is_finite()) {
            return Err(Error::Config(format!(
                "ridge lambda must be finite and > 0, got {lambda}"
            )));
        }
        if x.iter().any(|v| !v.is_finite()) || y.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("ridge inputs"));
        }
        let mean = column_means(x);
        let intercept = y.mean_axis(Axis(0)).expect("rows exist");
        let mut gram = Array2::<f64>::zeros((d, d));
        let mut cross = Array2::<f64>::zeros((d, y.ncols()));
        for rows in chunks(n, BLOCK) {
            let block = x.slice(s![rows.clone(), ..]);
            let centred =
                Array2::from_shape_fn(block.dim(), |(i, j)| f64::from(block[[i, j]]) - mean[j]);
            let targets = &y.slice(s![rows, ..]) - &intercept;
            gram += &matmul(centred.t(), centred.view());
            cross += &matmul(centred.t(), targets.view());
        }
        let scale = gram
            .diag()
            .mapv(|v| (v / n as f64).sqrt())
            .mapv(|s| if s > 1e-6 { s } else { 1.0 });
        let mut system = gram;
        for ((i, j), v) in system.indexed_iter_mut() {
            *v /= scale[i] * scale[j];
            if i == j {
                *v += lambda;
            }
        }
        let rhs = &cross / &scale.view().insert_axis(Axis(1));
        cholesky_in_place(&mut system)?;
        let weights = cholesky_solve(&system, rhs);
        Ok(Self {
            mean,
            scale,
            weights,
            intercept,
        })
    }

    /// Number of features the regression reads.
    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Predictions `(m, t)` for the rows of `x` `(m, d)`.
    ///
    /// # Errors
    /// `x` with another number of features than the training rows.
    pub fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        if x.ncols() != self.features() {
            return Err(Error::Shape {
                what: "ridge features",
                expected: vec![x.nrows(), self.features()],
                got: x.shape().to_vec(),
            });
        }
        let mut out = Array2::zeros((x.nrows(), self.weights.ncols()));
        for rows in chunks(x.nrows(), BLOCK) {
            let block = x.slice(s![rows.clone(), ..]);
            let z = Array2::from_shape_fn(block.dim(), |(i, j)| {
                (f64::from(block[[i, j]]) - self.mean[j]) / self.scale[j]
            });
            let predicted = matmul(z.view(), self.weights.view()) + &self.intercept;
            out.slice_mut(s![rows, ..]).assign(&predicted);
        }
        Ok(out)
    }
}

/// Column means in f64.
fn column_means(x: ArrayView2<f32>) -> Array1<f64> {
    let mut sum = Array1::<f64>::zeros(x.ncols());
    for row in x.rows() {
        sum.zip_mut_with(&row, |s, &v| *s += f64::from(v));
    }
    sum / x.nrows() as f64
}

/// `a = L L^T` for a symmetric positive definite `a`: overwrites the lower triangle of `a`
/// with `L` (Cholesky-Crout, column by column; the entries below each pivot in parallel).
fn cholesky_in_place(a: &mut Array2<f64>) -> Result<()> {
    let d = a.nrows();
    let data = a.as_slice_mut().expect("standard layout");
    for j in 0..d {
        let (head, tail) = data.split_at_mut((j + 1) * d);
        let row_j = &mut head[j * d..];
        let pivot = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if !(pivot > 0.0 && pivot.is_finite()) {
            return Err(Error::Config(format!(
                "ridge: the regularised Gram matrix is not positive definite (pivot {pivot} at \
                 {j} of {d})"
            )));
        }
        let l_jj = pivot.sqrt();
        row_j[j] = l_jj;
        let row_j = &row_j[..j];
        tail.par_chunks_mut(d).for_each(|row_i| {
            row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / l_jj;
        });
    }
    Ok(())
}

/// `x` with `L L^T x = b`, `L` the lower triangle of `l` (forward, then back substitution).
fn cholesky_solve(l: &Array2<f64>, mut b: Array2<f64>) -> Array2<f64> {
    let d = l.nrows();
    for mut column in b.columns_mut() {
        for i in 0..d {
            let row = l.row(i);
            let sum: f64 = (0..i).map(|k| row[k] * column[k]).sum();
            column[i] = (column[i] - sum) / row[i];
        }
        for i in (0..d).rev() {
            let sum: f64 = (i + 1..d).map(|k| l[[k, i]] * column[k]).sum();
            column[i] = (column[i] - sum) / l[[i, i]];
        }
    }
    b
}

/// A dot product with eight independent partial sums, so that it vectorises (the order is
/// fixed: the same bits on every thread).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut partial = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            partial[k] += x[k] * y[k];
        }
    }
    partial.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, d: usize, seed: u64) -> Array2<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0f32..1.0))
    }

    /// The textbook formula with explicit matrices: standardise, form `Z^T Z + lambda I`,
    /// invert it by Gauss-Jordan elimination with partial pivoting.
    fn reference(x: &Array2<f32>, y: &Array2<f64>, lambda: f64, test: &Array2<f32>) -> Array2<f64> {
        let x = x.mapv(f64::from);
        let (n, d) = x.dim();
        let mean = x.mean_axis(Axis(0)).unwrap();
        let std = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 1e-6 { s } else { 1.0 });
        let z = (&x - &mean) / &std;
        let ybar = y.mean_axis(Axis(0)).unwrap();
        let mut a = z.t().dot(&z) + Array2::<f64>::eye(d) * lambda;
        let mut inv = Array2::<f64>::eye(d);
        for c in 0..d {
            let p = (c..d)
                .max_by(|&i, &j| a[[i, c]].abs().total_cmp(&a[[j, c]].abs()))
                .unwrap();
            for k in 0..d {
                a.swap([c, k], [p, k]);
                inv.swap([c, k], [p, k]);
            }
            let pivot = a[[c, c]];
            a.row_mut(c).mapv_inplace(|v| v / pivot);
            inv.row_mut(c).mapv_inplace(|v| v / pivot);
            for r in (0..d).filter(|&r| r != c) {
                let f = a[[r, c]];
                let (ar, ir) = (a.row(c).to_owned(), inv.row(c).to_owned());
                a.row_mut(r).scaled_add(-f, &ar);
                inv.row_mut(r).scaled_add(-f, &ir);
            }
        }
        let w = inv.dot(&z.t().dot(&(y - &ybar)));
        assert_eq!(n, y.nrows());
        let zt = (&test.mapv(f64::from) - &mean) / &std;
        zt.dot(&w) + &ybar
    }

    #[test]
    fn agrees_with_the_explicit_formula() {
        for (n, d, t, lambda, seed) in [
            (40, 3, 1, 1.0, 0),
            (9000, 7, 3, 0.5, 1),
            (30, 12, 2, 4.0, 2),
        ] {
            let x = random(n, d, seed);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed + 100);
            let y = Array2::from_shape_fn((n, t), |(i, k)| {
                f64::from(x[[i, k % d]]) * (k as f64 + 1.0) + rng.random_range(-0.1..0.1) + 3.0
            });
            let test = random(17, d, seed + 200);
            let fit = Ridge::fit(x.view(), y.view(), lambda).unwrap();
            let got = fit.predict(test.view()).unwrap();
            let want = reference(&x, &y, lambda, &test);
            let err = (&got - &want).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
            assert!(err < 1e-9, "n {n} d {d}: max difference {err}");
        }
    }

    #[test]
    fn a_linear_target_is_recovered_and_constant_features_are_harmless() {
        let mut x = random(500, 4, 3);
        x.column_mut(2).fill(0.25);
        let y = x.map_axis(Axis(1), |r| 2.0 * f64::from(r[0]) - f64::from(r[3]) + 1.0);
        let y = y.insert_axis(Axis(1));
        let fit = Ridge::fit(x.view(), y.view(), 1e-6).unwrap();
        let err = (&fit.predict(x.view()).unwrap() - &y)
            .mapv(f64::abs)
            .fold(0.0f64, |m, &v| m.max(v));
        assert!(err < 1e-6, "{err}");
    }

    #[test]
    fn threads_do_not_change_the_bits() {
        let x = random(300, 40, 4);
        let y = x
            .map_axis(Axis(1), |r| f64::from(r.sum()))
            .insert_axis(Axis(1));
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| Ridge::fit(x.view(), y.view(), 1.0).unwrap())
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = random(10, 2, 5);
        let y = Array2::<f64>::zeros((9, 1));
        assert!(matches!(
            Ridge::fit(x.view(), y.view(), 1.0),
            Err(Error::LabelCount { .. })
        ));
        let y = Array2::<f64>::zeros((10, 1));
        assert!(matches!(
            Ridge::fit(x.view(), y.view(), 0.0),
            Err(Error::Config(_))
        ));
        let fit = Ridge::fit(x.view(), y.view(), 1.0).unwrap();
        assert!(matches!(
            fit.predict(random(3, 3, 6).view()),
            Err(Error::Shape { .. })
        ));
        let mut bad = x.clone();
        bad[[0, 0]] = f32::NAN;
        assert!(matches!(
            Ridge::fit(bad.view(), y.view(), 1.0),
            Err(Error::NonFinite(_))
        ));
    }
}
