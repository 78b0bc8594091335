//! NT-Xent and its analytic gradient on a hand-made batch, checked against central finite
//! differences (for readers studying how the loss works inside).
//!
//! ```text
//! z: (2N, D), rows i and p(i) = (i + N) mod 2N are two views of one sample
//! zn_i = z_i / max(||z_i||, 1e-12),  s_ij = zn_i . zn_j / T
//! loss = (1 / 2N) sum_i [ log sum_{k != i} exp(s_ik) - s_i,p(i) ]
//! ```
//! The gradient comes back from `contrast_losses::nt_xent` in the same call as the loss;
//! here each entry is compared with `(loss(z + h e_ij) - loss(z - h e_ij)) / 2h`.
//!
//! Run: `cargo run --example nt_xent_gradient`. Exits with status 1 if any entry's relative
//! error exceeds 1e-6.

use std::process::ExitCode;

use contrast::losses::{NtXentConfig, nt_xent};
use ndarray::{Array2, array};

fn main() -> ExitCode {
    // Two samples (N = 2), two views each, D = 3: rows 0 and 2 are one sample, 1 and 3 the other.
    let z: Array2<f64> = array![
        [1.0, 0.2, -0.3],
        [-0.4, 1.1, 0.5],
        [0.9, 0.35, -0.1],
        [-0.2, 0.8, 0.7],
    ];
    let config = NtXentConfig::new(0.5);
    let out = match nt_xent(z.view(), &config) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("nt_xent failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loss = |z: &Array2<f64>| nt_xent(z.view(), &config).map(|o| o.loss);
    println!(
        "NT-Xent, T = 0.5, 2N = 4 rows of D = 3: loss = {:.10}",
        out.loss
    );
    println!(
        "{:>6} {:>16} {:>16} {:>10}",
        "entry", "analytic", "finite diff", "rel err"
    );

    let h = 1e-5;
    let mut worst = 0.0f64;
    for ((i, j), &analytic) in out.grad.indexed_iter() {
        let (mut up, mut down) = (z.clone(), z.clone());
        up[[i, j]] += h;
        down[[i, j]] -= h;
        let (Ok(f_up), Ok(f_down)) = (loss(&up), loss(&down)) else {
            eprintln!("the loss failed on a perturbed batch");
            return ExitCode::FAILURE;
        };
        let numeric = (f_up - f_down) / (2.0 * h);
        // Relative to max(1, |values|), so entries near zero are not judged by rounding noise.
        let rel = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(1.0);
        worst = worst.max(rel);
        println!("({i}, {j}) {analytic:>16.10} {numeric:>16.10} {rel:>10.1e}");
    }

    // Moving a row along itself does not change its normalised row, so each row of the
    // gradient is orthogonal to that row of z.
    let radial = out
        .grad
        .rows()
        .into_iter()
        .zip(z.rows())
        .map(|(g, r)| g.dot(&r).abs())
        .fold(0.0, f64::max);
    println!("largest relative error {worst:.1e}; largest |grad_i . z_i| {radial:.1e}");
    if worst > 1e-6 || radial > 1e-12 {
        eprintln!("FAILED: the analytic gradient disagrees with finite differences");
        return ExitCode::FAILURE;
    }
    println!("ok: analytic and finite-difference gradients agree");
    ExitCode::SUCCESS
}
