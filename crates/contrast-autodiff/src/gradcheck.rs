//! Gradient checking by central finite differences, in f64.
//!
//! For a scalar function `f: R^n -> R` and a claimed gradient `g`, each checked element
//! `i` compares `g_i` with
//!
//! ```text
//! n_i = (f(x + h e_i) - f(x - h e_i)) / (2 h)
//! ```
//!
//! and reports the largest absolute error `|g_i - n_i|` and the largest relative error
//! `|g_i - n_i| / max(1, |g_i|, |n_i|)`. The unit floor in the denominator keeps the
//! relative error meaningful for gradients near zero, where a pure ratio would only
//! measure rounding noise. The truncation error of the central difference is `O(h^2)`
//! and its rounding error `O(eps_f64 / h)`; the default `h = 1e-5` balances the two,
//! giving errors around `1e-9` on smooth functions of moderate size.
//!
//! Large inputs can be checked on a seeded random subset of elements
//! ([`GradCheckConfig::max_elements`]).
//!
//! ```
//! use contrast_autodiff::gradcheck::{check_gradient, GradCheckConfig};
//! use ndarray::{ArrayD, IxDyn};
//!
//! // f(x) = sum x^3, so df/dx = 3 x^2.
//! let x = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![0.5, -1.0, 2.0, 0.1]).unwrap();
//! let analytic = x.mapv(|v| 3.0 * v * v);
//! let report = check_gradient(|x| x.mapv(|v| v * v * v).sum(), &x, &analytic,
//!                             &GradCheckConfig::default());
//! assert!(report.max_rel_err < 1e-8, "{report}");
//! ```

use ndarray::ArrayD;
use rand::SeedableRng;
use rand::seq::index::sample;

#[cfg(any(test, feature = "strategies"))]
pub mod strategies;

/// Settings of a finite-difference check.
#[derive(Clone, Debug)]
pub struct GradCheckConfig {
    /// Step `h` of the central difference.
    pub step: f64,
    /// Check at most this many elements, chosen at random (seeded); `None` checks all.
    pub max_elements: Option<usize>,
    /// Seed of the element subset.
    pub seed: u64,
}

impl Default for GradCheckConfig {
    fn default() -> Self {
        Self {
            step: 1e-5,
            max_elements: None,
            seed: 0,
        }
    }
}

/// What a gradient check found.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// Largest `|analytic - numeric|` over the checked elements.
    pub max_abs_err: f64,
    /// Largest `|analytic - numeric| / max(1, |analytic|, |numeric|)`.
    pub max_rel_err: f64,
    /// Multi-index of the element with the largest relative error.
    pub worst_index: Vec<usize>,
    /// Analytic value at the worst element.
    pub worst_analytic: f64,
    /// Numeric value at the worst element.
    pub worst_numeric: f64,
    /// How many elements were checked.
    pub checked: usize,
}

impl GradCheckReport {
    /// True when the relative error of every checked element is at most `tol`
    /// (and nothing was NaN).
    pub fn passes(&self, tol: f64) -> bool {
        self.max_rel_err <= tol
    }
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gradcheck over {} elements: max abs err {:.3e}, max rel err {:.3e} \
             at {:?} (analytic {:.9e}, numeric {:.9e})",
            self.checked,
            self.max_abs_err,
            self.max_rel_err,
            self.worst_index,
            self.worst_analytic,
            self.worst_numeric
        )
    }
}

/// Compares `analytic` with the central-difference gradient of `f` at `x`.
///
/// `f` is called twice per checked element with a copy of `x` that differs in that element.
/// A NaN anywhere (analytic or numeric) makes the errors NaN-free infinities, so the check
/// fails instead of passing silently.
///
/// # Panics
/// When `analytic` and `x` have different shapes: that is a bug in the test, not input.
pub fn check_gradient<F>(
    mut f: F,
    x: &ArrayD<f64>,
    analytic: &ArrayD<f64>,
    config: &GradCheckConfig,
) -> GradCheckReport
where
    F: FnMut(&ArrayD<f64>) -> f64,
{
    assert_eq!(
        x.shape(),
        analytic.shape(),
        "gradcheck: analytic gradient shape differs from the input's"
    );
    let n = x.len();
    let indices: Vec<usize> = match config.max_elements {
        Some(m) if m < n => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
            let mut idx = sample(&mut rng, n, m).into_vec();
            idx.sort_unstable();
            idx
        }
        _ => (0..n).collect(),
    };
    let h = config.step;
    let mut probe = x.as_standard_layout().into_owned();
    let analytic = analytic.as_standard_layout();
    let flat_analytic = analytic.as_slice().expect("standard layout");
    let mut report = GradCheckReport {
        max_abs_err: 0.0,
        max_rel_err: 0.0,
        worst_index: Vec::new(),
        worst_analytic: 0.0,
        worst_numeric: 0.0,
        checked: indices.len(),
    };
    for &i in &indices {
        let original = probe.as_slice().expect("standard layout")[i];
        probe.as_slice_mut().expect("standard layout")[i] = original + h;
        let plus = f(&probe);
        probe.as_slice_mut().expect("standard layout")[i] = original - h;
        let minus = f(&probe);
        probe.as_slice_mut().expect("standard layout")[i] = original;
        let numeric = (plus - minus) / (2.0 * h);
        let a = flat_analytic[i];
        let mut abs = (a - numeric).abs();
        let mut rel = abs / 1f64.max(a.abs()).max(numeric.abs());
        if !abs.is_finite() || !rel.is_finite() {
            abs = f64::INFINITY;
            rel = f64::INFINITY;
        }
        report.max_abs_err = report.max_abs_err.max(abs);
        if rel > report.max_rel_err || report.worst_index.is_empty() {
            report.max_rel_err = report.max_rel_err.max(rel);
            report.worst_index = unravel(i, x.shape());
            report.worst_analytic = a;
            report.worst_numeric = numeric;
        }
    }
    report
}

/// Runs `check` at `config.step`, then, while its report fails `tol`, at `config.step / s`
/// for each `s` of `shrink` in turn; returns the last report.
///
/// A central difference whose two points straddle a kink (a ReLU input, a max-pool tie) or
/// where the third derivative is huge (a batch statistic of nearly equal values) is wrong
/// while the gradient is right; a smaller step removes the error, while a wrong gradient
/// stays wrong at every step.
pub fn retry_smaller_steps(
    config: &GradCheckConfig,
    tol: f64,
    shrink: &[f64],
    mut check: impl FnMut(&GradCheckConfig) -> GradCheckReport,
) -> GradCheckReport {
    let mut report = check(config);
    for s in shrink {
        if report.passes(tol) {
            break;
        }
        report = check(&GradCheckConfig {
            step: config.step / s,
            ..config.clone()
        });
    }
    report
}

/// Gradient check of a graph-built function of several inputs.
///
/// `build` receives a fresh `Graph<f64>` and one param per entry of `inputs` and returns the
/// output node. A non-scalar output `y` is contracted to the scalar `L = Σ w ⊙ y` with fixed
/// pseudo-random weights `w` in `[-1, 1]` (seeded by `config.seed`), so every output
/// element's gradient is exercised with a different weight. The analytic gradient of each
/// input comes from one `backward`; the numeric one rebuilds the graph for every probe.
/// Returns one report per input (an input the output does not depend on must get a zero
/// gradient). Row-sparse gradients ([`crate::Grad::Rows`]) are compared as the dense
/// matrices they stand for.
///
/// ```
/// use contrast_autodiff::gradcheck::{check_graph, GradCheckConfig};
/// use ndarray::{ArrayD, IxDyn};
///
/// let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.1, 0.2, -0.3, 0.4, 0.5, -0.6]).unwrap();
/// let b = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, -2.0, 0.5]).unwrap();
/// let reports = check_graph(&[a, b], |g, v| {
///     let p = g.mul(v[0], v[1])?;
///     g.tanh(p)
/// }, &GradCheckConfig::default())?;
/// assert!(reports.iter().all(|r| r.passes(1e-6)), "{reports:?}");
/// # Ok::<(), contrast_autodiff::Error>(())
/// ```
pub fn check_graph<F>(
    inputs: &[ArrayD<f64>],
    build: F,
    config: &GradCheckConfig,
) -> crate::Result<Vec<GradCheckReport>>
where
    F: Fn(&mut crate::Graph<f64>, &[crate::Var]) -> crate::Result<crate::Var>,
{
    let forward = |values: &[ArrayD<f64>]| -> crate::Result<(crate::Graph<f64>, Vec<crate::Var>, crate::Var)> {
        let mut g = crate::Graph::new();
        let vars: Vec<crate::Var> = values.iter().map(|v| g.param(v.clone())).collect();
        let out = build(&mut g, &vars)?;
        let weights = contraction_weights(g.try_value(out)?.shape(), config.seed);
        let w = g.input(weights);
        let weighted = g.mul(out, w)?;
        let loss = g.sum_all(weighted)?;
        Ok((g, vars, loss))
    };
    let (mut g, vars, loss) = forward(inputs)?;
    g.backward(loss)?;
    let analytic: Vec<ArrayD<f64>> = vars
        .iter()
        .zip(inputs)
        .map(|(&v, x)| {
            g.gradient(v)
                .map(crate::Grad::to_dense)
                .unwrap_or_else(|| ArrayD::zeros(x.raw_dim()))
        })
        .collect();
    let mut reports = Vec::with_capacity(inputs.len());
    for (i, (x, grad)) in inputs.iter().zip(&analytic).enumerate() {
        let mut probe: Vec<ArrayD<f64>> = inputs.to_vec();
        let f = |xi: &ArrayD<f64>| {
            probe[i] = xi.clone();
            // A failing rebuild yields NaN, which fails the check instead of hiding.
            forward(&probe).map_or(f64::NAN, |(g, _, loss)| g.value(loss).sum())
        };
        reports.push(check_gradient(f, x, grad, config));
    }
    Ok(reports)
}

/// Fixed weights in `[-1, 1]` that turn an output of `shape` into a scalar.
fn contraction_weights(shape: &[usize], seed: u64) -> ArrayD<f64> {
    use rand::Rng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_ca11);
    ArrayD::from_shape_simple_fn(ndarray::IxDyn(shape), || rng.random_range(-1.0..1.0))
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (slot, &dim) in index.iter_mut().zip(shape).rev() {
        *slot = flat % dim;
        flat /= dim;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn accepts_a_correct_gradient_and_rejects_a_wrong_one() {
        let x = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.3, -0.7, 1.1]).unwrap();
        let good = x.mapv(f64::cos);
        let f = |x: &ArrayD<f64>| x.mapv(f64::sin).sum();
        let ok = check_gradient(f, &x, &good, &GradCheckConfig::default());
        assert!(ok.passes(1e-8), "{ok}");
        let mut bad = good.clone();
        bad[[1]] += 1e-3;
        let report = check_gradient(f, &x, &bad, &GradCheckConfig::default());
        assert!(!report.passes(1e-6), "{report}");
        assert_eq!(report.worst_index, vec![1]);
    }

    #[test]
    fn nan_gradient_fails() {
        let x = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0, 2.0]).unwrap();
        let g = ArrayD::from_shape_vec(IxDyn(&[2]), vec![f64::NAN, 1.0]).unwrap();
        let report = check_gradient(|x| x.sum(), &x, &g, &GradCheckConfig::default());
        assert!(!report.passes(1.0));
    }

    #[test]
    fn subset_checks_the_requested_count() {
        let x = ArrayD::from_elem(IxDyn(&[10, 10]), 0.5);
        let g = ArrayD::from_elem(IxDyn(&[10, 10]), 1.0);
        let config = GradCheckConfig {
            max_elements: Some(7),
            ..Default::default()
        };
        let report = check_gradient(|x| x.sum(), &x, &g, &config);
        assert_eq!(report.checked, 7);
        assert!(report.passes(1e-8));
    }
}
