//! NT-Xent on the GPU (feature `gpu`): the fused WGSL kernels of `contrast-gpu`.
//!
//! Same function, same convention as [`crate::nt_xent()`] (SimCLR layout, rows `i` and
//! `(i + N) mod 2N` positive, cosine logits over `T`, mean over the `2N` anchors), and
//! the same input checks, so a caller can switch between the two freely. The GPU path
//! streams over column tiles and never stores the `2N x 2N` similarity matrix: forward
//! keeps one log-sum-exp per row, backward recomputes each tile (see
//! `contrast_gpu::nt_xent`). It computes in f32; the row normalisation is always on.
//!
//! Errors are [`GpuLossError`]: this crate's [`Error`] for bad input, or
//! `contrast_gpu::Error` for the device (no adapter: fall back to the CPU loss).

use contrast_gpu::{GpuContext, GpuMatrix};
use ndarray::ArrayView2;

use crate::output::LossGrad;
use crate::{Error, NtXentConfig, validate};

/// Why the GPU loss failed: the input (as the CPU loss would say) or the device.
#[derive(Debug, thiserror::Error)]
pub enum GpuLossError {
    /// Bad input or configuration, exactly as [`crate::nt_xent()`] reports it.
    #[error(transparent)]
    Loss(#[from] Error),
    /// The device: no adapter, a buffer over the device's limits, a lost device.
    #[error(transparent)]
    Gpu(#[from] contrast_gpu::Error),
}

/// NT-Xent of a two-view batch `z` (2N, D) and `d loss / d z`, on `ctx`.
///
/// # Errors
/// [`GpuLossError::Loss`] for empty or non-finite `z`, odd rows, fewer than two pairs,
/// a bad temperature or `normalize = false` (the fused kernel always normalises);
/// [`GpuLossError::Gpu`] when the device fails.
pub fn nt_xent_gpu(
    ctx: &GpuContext,
    z: ArrayView2<'_, f32>,
    config: &NtXentConfig,
) -> Result<LossGrad<f32>, GpuLossError> {
    validate::embeddings("nt_xent_gpu z", &z)?;
    validate::temperature::<f32>(config.temperature)?;
    validate::two_view_rows("nt_xent_gpu", &z)?;
    if !config.normalize {
        return Err(Error::Parameter {
            name: "normalize",
            value: 0.0,
            expected: "true: the fused GPU kernel normalises rows",
        }
        .into());
    }
    let gz = GpuMatrix::upload(ctx, z)?;
    let (loss, grad) = contrast_gpu::nt_xent(ctx, &gz, config.temperature as f32)?;
    Ok(LossGrad {
        loss,
        grad: grad.download(ctx)?,
    })
}

/// [`nt_xent_gpu`] as one node of a `contrast_autodiff` graph (features `gpu` and
/// `autodiff`): the trainer's `--device gpu` computes its SimCLR loss with it. The node's
/// backward scales the gradient the kernel computed.
///
/// # Errors
/// As [`nt_xent_gpu`]; a `z` that is not a matrix is [`Error::Shape`].
#[cfg(feature = "autodiff")]
pub fn nt_xent_gpu_op(
    g: &mut contrast_autodiff::Graph<f32>,
    ctx: &GpuContext,
    z: contrast_autodiff::Var,
    config: &NtXentConfig,
) -> Result<contrast_autodiff::Var, GpuLossError> {
    let out = nt_xent_gpu(ctx, crate::autodiff::matrix(g, z, "nt_xent_gpu z")?, config)?;
    Ok(crate::autodiff::single(g, z, "nt_xent_gpu", |_| Ok(out))?)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::output::Evaluation;

    /// One device for the test binary; no adapter fails under `CONTRAST_REQUIRE_GPU=1`
    /// and is otherwise reported loudly.
    fn gpu() -> Option<&'static GpuContext> {
        static CTX: OnceLock<contrast_gpu::Result<GpuContext>> = OnceLock::new();
        match CTX.get_or_init(GpuContext::new) {
            Ok(ctx) => Some(ctx),
            Err(e) if std::env::var("CONTRAST_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
                panic!("CONTRAST_REQUIRE_GPU=1 but no GPU: {e}")
            }
            Err(e) => {
                eprintln!("!!!!!!!! SKIPPING GPU TEST: no GPU ({e}) !!!!!!!!");
                None
            }
        }
    }

    /// The fused GPU loss against this crate's dense NT-Xent (f64), value and gradient.
    #[test]
    fn matches_the_dense_cpu_loss() {
        let Some(ctx) = gpu() else { return };
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        for (rows, dim, t) in [(4, 3, 0.5), (66, 17, 0.1), (130, 64, 0.07), (256, 128, 0.2)] {
            let z = Array2::from_shape_fn((rows, dim), |_| rng.random_range(-1.0f32..1.0));
            let config = NtXentConfig::new(t);
            let got = nt_xent_gpu(ctx, z.view(), &config).unwrap();
            let dense = crate::nt_xent(
                z.mapv(f64::from).view(),
                &config.evaluation(Evaluation::Dense),
            )
            .unwrap();
            let loss_err = (f64::from(got.loss) - dense.loss).abs() / dense.loss.abs().max(1.0);
            assert!(
                loss_err <= 1e-4,
                "loss {} vs {} ({rows}x{dim})",
                got.loss,
                dense.loss
            );
            let scale = dense.grad.iter().fold(1e-6f64, |m, g| m.max(g.abs()));
            let err = got
                .grad
                .iter()
                .zip(dense.grad.iter())
                .fold(0.0f64, |m, (&g, &d)| m.max((f64::from(g) - d).abs()));
            assert!(
                err / scale <= 1e-4,
                "gradient rel err {} ({rows}x{dim})",
                err / scale
            );
        }
    }

    #[cfg(feature = "autodiff")]
    #[test]
    fn graph_node_gives_the_cpu_loss_gradient() {
        let Some(ctx) = gpu() else { return };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let z = Array2::from_shape_fn((12, 7), |_| rng.random_range(-1.0f32..1.0));
        let config = NtXentConfig::new(0.3);
        let mut g = contrast_autodiff::Graph::<f32>::new();
        let v = g.param(z.clone().into_dyn());
        let loss = nt_xent_gpu_op(&mut g, ctx, v, &config).unwrap();
        let value = g.backward(loss).unwrap();
        let cpu = crate::nt_xent(z.view(), &config).unwrap();
        assert!((value - cpu.loss).abs() <= 1e-4 * cpu.loss.abs().max(1.0));
        let grad = g.grad(v).unwrap();
        for (a, b) in grad.iter().zip(cpu.grad.iter()) {
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1e-2), "{a} vs {b}");
        }
    }

    #[test]
    fn rejects_what_the_cpu_loss_rejects() {
        let Some(ctx) = gpu() else { return };
        let z = Array2::<f32>::ones((3, 2));
        assert!(matches!(
            nt_xent_gpu(ctx, z.view(), &NtXentConfig::new(0.5)),
            Err(GpuLossError::Loss(Error::OddRows { rows: 3, .. }))
        ));
        let z = Array2::<f32>::ones((4, 2));
        assert!(matches!(
            nt_xent_gpu(ctx, z.view(), &NtXentConfig::new(0.0)),
            Err(GpuLossError::Loss(Error::Temperature(_)))
        ));
        assert!(matches!(
            nt_xent_gpu(ctx, z.view(), &NtXentConfig::new(0.5).normalize(false)),
            Err(GpuLossError::Loss(Error::Parameter {
                name: "normalize",
                ..
            }))
        ));
    }
}
