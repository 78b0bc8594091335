//! Property-testing a loss you wrote yourself, with the public proptest strategies of
//! `contrast_autodiff::gradcheck::strategies` (feature `strategies`) and `assert_gradient`.
//!
//! The loss here is a cosine-margin loss on a two-view batch `(2N, D)`, rows `i` and
//! `p(i) = (i + N) mod 2N` positives, `c_ij = cos(z_i, z_j)`:
//!
//! ```text
//! L = (1 / 2N) sum_i [ (1 - c_i,p(i)) + (1 / (2N - 2)) sum_{j not in {i, p(i)}} max(0, c_ij - m)^2 ]
//! ```
//! It pulls the two views of a sample together and pushes other samples below the margin
//! `m`. Its gradient is written by hand: `G_ij = dL/dc_ij`, then `dL/dzn = (G + G^T) zn`
//! (`c = zn zn^T` is symmetric in `zn`), then back through the row normalisation with
//! `contrast_linalg::RowNormalized::backward`.
//!
//! Three properties are checked over random batches: the gradient matches central
//! differences, the loss ignores the length of each row, and a gradient that forgets the
//! normalisation's backward is caught. Exits with status 1 on any failure.
//!
//! Run: `cargo run --example property_test_your_loss`.

use std::process::ExitCode;

use contrast::autodiff::gradcheck::strategies::{assert_gradient, two_view};
use contrast::linalg::{RowNormalized, matmul};
use ndarray::{Array2, ArrayView2};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

const MARGIN: f64 = 0.2;

/// The loss and its gradient. `skip_normalisation_backward` makes the gradient wrong on
/// purpose, to show that the property test notices.
fn cosine_margin(z: ArrayView2<f64>, skip_normalisation_backward: bool) -> (f64, Array2<f64>) {
    let rows = z.nrows();
    let (n, negatives) = (rows / 2, (rows - 2) as f64);
    let zn = RowNormalized::new(z, true);
    let cos = matmul(zn.rows.view(), zn.rows.t());
    let mut loss = 0.0;
    let mut dcos = Array2::<f64>::zeros((rows, rows));
    for i in 0..rows {
        let p = (i + n) % rows;
        loss += 1.0 - cos[[i, p]];
        dcos[[i, p]] -= 1.0;
        for j in (0..rows).filter(|&j| j != i && j != p) {
            let excess = (cos[[i, j]] - MARGIN).max(0.0);
            loss += excess * excess / negatives;
            dcos[[i, j]] += 2.0 * excess / negatives;
        }
    }
    let scale = 1.0 / rows as f64;
    let dzn = matmul((&dcos + &dcos.t()).view(), zn.rows.view()) * scale;
    let grad = if skip_normalisation_backward {
        dzn
    } else {
        zn.backward(dzn)
    };
    (loss * scale, grad)
}

/// Runs `property` on 64 random two-view batches (fixed seed, so CI is reproducible).
fn check(
    name: &str,
    property: impl Fn(Array2<f64>) -> Result<(), TestCaseError>,
) -> Result<(), String> {
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let config = Config {
        failure_persistence: None,
        ..Config::with_cases(64)
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&two_view(), property)
        .map_err(|e| format!("{name}: {e}"))
}

fn main() -> ExitCode {
    let gradient = check("gradient matches central differences", |z| {
        let (_, grad) = cosine_margin(z.view(), false);
        assert_gradient("cosine margin", &z, &grad, |v| cosine_margin(v, false).0);
        Ok(())
    });
    let scale = check("loss ignores row lengths", |z| {
        let scaled = Array2::from_shape_fn(z.dim(), |(i, j)| z[[i, j]] * (1.0 + i as f64));
        let (a, b) = (
            cosine_margin(z.view(), false).0,
            cosine_margin(scaled.view(), false).0,
        );
        if (a - b).abs() > 1e-12 {
            return Err(TestCaseError::fail(format!("{a} vs {b}")));
        }
        Ok(())
    });
    // The broken gradient must fail; silence the panic messages of the expected failure.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let broken = check("broken gradient", |z| {
        let (_, grad) = cosine_margin(z.view(), true);
        assert_gradient("broken", &z, &grad, |v| cosine_margin(v, false).0);
        Ok(())
    });
    std::panic::set_hook(previous_hook);

    let mut ok = true;
    for (name, result) in [("gradient", gradient), ("row lengths", scale)] {
        match result {
            Ok(()) => println!("ok: {name} property holds on 64 random batches"),
            Err(e) => {
                eprintln!("FAILED: {e}");
                ok = false;
            }
        }
    }
    match broken {
        // The failure must be assert_gradient's report, not some other panic.
        Err(e) if e.contains("broken: gradcheck over") => {
            let first = e.lines().next().unwrap_or_default();
            println!("ok: a gradient without the normalisation backward is caught ({first})");
        }
        other => {
            eprintln!("FAILED: the broken gradient was not caught as expected: {other:?}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
