//! What every op test shares: the gradient assertion and the forward evaluation.

use contrast_autodiff::gradcheck::{GradCheckConfig, check_graph};
use contrast_autodiff::{Graph, Result, Var};
use ndarray::ArrayD;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The bound on the relative error of every gradient element.
pub const TOL: f64 = 1e-6;

/// Proptest settings: few cases, small shapes, so the whole suite stays fast.
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig::with_cases(n)
}

/// Fails the proptest case unless the gradient of every input passes at [`TOL`].
pub fn assert_grads(
    inputs: &[ArrayD<f64>],
    build: impl Fn(&mut Graph<f64>, &[Var]) -> Result<Var>,
) -> std::result::Result<(), TestCaseError> {
    let reports = check_graph(inputs, build, &GradCheckConfig::default())
        .map_err(|e| TestCaseError::fail(format!("graph failed: {e}")))?;
    for (i, r) in reports.iter().enumerate() {
        prop_assert!(r.passes(TOL), "input {i}: {r}");
    }
    Ok(())
}

/// The output value of `build` over constant inputs.
pub fn forward(
    inputs: &[ArrayD<f64>],
    build: impl Fn(&mut Graph<f64>, &[Var]) -> Result<Var>,
) -> ArrayD<f64> {
    let mut g = Graph::new();
    let vars: Vec<Var> = inputs.iter().map(|x| g.input(x.clone())).collect();
    let out = build(&mut g, &vars).expect("forward");
    g.value(out).clone()
}

/// Fails unless `a` and `b` have one shape and agree elementwise within `tol`.
pub fn assert_close(
    a: &ArrayD<f64>,
    b: &ArrayD<f64>,
    tol: f64,
) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(a.shape(), b.shape());
    for (x, y) in a.iter().zip(b) {
        prop_assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{x} vs {y}\n{a}\n{b}"
        );
    }
    Ok(())
}
