//! The CPU reference that the fused kernels are tested against is itself checked
//! against central finite differences in f64 (no GPU needed).

use contrast_autodiff::gradcheck::{GradCheckConfig, check_gradient};
use contrast_gpu::nt_xent_reference;
use ndarray::{Array2, Ix2};
use proptest::prelude::*;
use rand::Rng;

use crate::support::rng;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn nt_xent_reference_gradient(half in 1usize..6, dim in 1usize..7, t in 0.1f64..1.0, seed in 0u64..1000) {
        let mut rng = rng(seed);
        let z = Array2::from_shape_fn((2 * half, dim), |_| rng.random_range(-1.0f64..1.0));
        let (_, grad) = nt_xent_reference(z.view(), t).unwrap();
        let loss = |x: &ndarray::ArrayD<f64>| {
            let x = x.view().into_dimensionality::<Ix2>().unwrap();
            nt_xent_reference(x, t).unwrap().0
        };
        let report = check_gradient(loss, &z.into_dyn(), &grad.into_dyn(), &GradCheckConfig::default());
        prop_assert!(report.passes(1e-6), "{report}");
    }
}
