//! One device per test binary, shared by the tests' threads, and the comparison rule.

use std::sync::OnceLock;

use contrast_gpu::{GpuContext, Result};
use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

static CONTEXT: OnceLock<Result<GpuContext>> = OnceLock::new();

/// The shared context, or `None` after a loud message when there is no adapter.
/// With `CONTRAST_REQUIRE_GPU=1` (as CI sets it) a missing adapter fails the test.
pub fn gpu() -> Option<&'static GpuContext> {
    match CONTEXT.get_or_init(GpuContext::new) {
        Ok(ctx) => {
            static ONCE: OnceLock<()> = OnceLock::new();
            ONCE.get_or_init(|| eprintln!("contrast-gpu tests on {}", ctx.adapter()));
            Some(ctx)
        }
        Err(e) => {
            if std::env::var("CONTRAST_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("CONTRAST_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!(
                "!!!!!!!! SKIPPING GPU TEST: no GPU context ({e}); set CONTRAST_REQUIRE_GPU=1 to fail instead !!!!!!!!"
            );
            None
        }
    }
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn random(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
}

/// Normwise relative error: max |got - want| / max(max |want|, 1e-6); the floor keeps
/// results that are exactly 0 in theory (D = 1 gradients) from dividing by rounding noise.
pub fn rel_err(got: ArrayView2<'_, f32>, want: ArrayView2<'_, f32>) -> f64 {
    assert_eq!(got.dim(), want.dim(), "shapes differ");
    let scale = want
        .iter()
        .fold(0.0f64, |m, &x| m.max(f64::from(x).abs()))
        .max(1e-6);
    let diff = got.iter().zip(want.iter()).fold(0.0f64, |m, (&g, &w)| {
        m.max((f64::from(g) - f64::from(w)).abs())
    });
    diff / scale
}

pub const TOL: f64 = 1e-4;

/// Fails with the shapes and the error when `got` is not within [`TOL`] of `want`.
pub fn assert_close(what: &str, got: ArrayView2<'_, f32>, want: ArrayView2<'_, f32>) {
    let e = rel_err(got, want);
    assert!(
        e <= TOL,
        "{what}: relative error {e:e} > {TOL:e} (shape {:?})",
        want.dim()
    );
}
