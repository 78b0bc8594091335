//! The GPU matmul backend for the autodiff graph (feature `gpu`).
//!
//! [`GpuMatmul`] implements [`contrast_autodiff::MatmulBackend`] for `f32` with the
//! tiled WGSL kernel of `contrast-gpu`: install it with
//! `graph.set_matmul_backend(Some(Arc::new(GpuMatmul::new(ctx))))` and every forward and
//! backward product of that graph's `matmul` ops runs on the GPU. Each call uploads both
//! operands and reads the product back (the graph's values live on the host), so
//! products below [`GpuMatmul::min_flops`] stay on the CPU kernel, where the transfer
//! would cost more than the arithmetic.

use std::sync::Arc;

use contrast_autodiff::kernels::CpuMatmul;
use contrast_autodiff::{Error, MatmulBackend, Result};
use contrast_gpu::{GpuContext, GpuMatrix};
use ndarray::{Array2, ArrayView2};

/// Matmul on a shared [`GpuContext`], falling back to the CPU for small products.
#[derive(Clone, Debug)]
pub struct GpuMatmul {
    ctx: Arc<GpuContext>,
    min_flops: u64,
}

impl GpuMatmul {
    /// Default threshold: products under `2 * 128^3` FLOPs run on the CPU.
    pub const DEFAULT_MIN_FLOPS: u64 = 2 * 128 * 128 * 128;

    /// A backend on `ctx` with [`Self::DEFAULT_MIN_FLOPS`].
    pub fn new(ctx: Arc<GpuContext>) -> Self {
        Self {
            ctx,
            min_flops: Self::DEFAULT_MIN_FLOPS,
        }
    }

    /// Sets the size (`2 m k n` FLOPs) from which products go to the GPU; 0 sends all.
    pub fn with_min_flops(mut self, min_flops: u64) -> Self {
        self.min_flops = min_flops;
        self
    }

    /// The current threshold in FLOPs.
    pub fn min_flops(&self) -> u64 {
        self.min_flops
    }

    /// The context the products run on.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }
}

fn gpu_error(e: contrast_gpu::Error) -> Error {
    Error::Op {
        op: "gpu matmul".to_string(),
        msg: e.to_string(),
    }
}

impl MatmulBackend<f32> for GpuMatmul {
    fn matmul(&self, a: ArrayView2<f32>, b: ArrayView2<f32>) -> Result<Array2<f32>> {
        let (m, k) = a.dim();
        let n = b.ncols();
        if 2 * (m as u64) * (k as u64) * (n as u64) < self.min_flops {
            return CpuMatmul.matmul(a, b);
        }
        let ctx = &*self.ctx;
        let ga = GpuMatrix::upload(ctx, a).map_err(gpu_error)?;
        let gb = GpuMatrix::upload(ctx, b).map_err(gpu_error)?;
        contrast_gpu::matmul(ctx, &ga, &gb)
            .and_then(|c| c.download(ctx))
            .map_err(gpu_error)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use contrast_autodiff::Graph;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The shared context; no adapter fails under `CONTRAST_REQUIRE_GPU=1` and is
    /// otherwise reported loudly.
    fn gpu() -> Option<Arc<GpuContext>> {
        static CTX: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();
        match CTX.get_or_init(|| GpuContext::new().map(Arc::new).map_err(|e| e.to_string())) {
            Ok(ctx) => Some(Arc::clone(ctx)),
            Err(e) if std::env::var("CONTRAST_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
                panic!("CONTRAST_REQUIRE_GPU=1 but no GPU: {e}")
            }
            Err(e) => {
                eprintln!("!!!!!!!! SKIPPING GPU TEST: no GPU ({e}) !!!!!!!!");
                None
            }
        }
    }

    fn random(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
    }

    /// loss = sum(A B); gradients through the backend match the CPU graph.
    #[test]
    fn graph_matmul_on_the_gpu_matches_the_cpu() {
        let Some(ctx) = gpu() else { return };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (a, b) = (random(&mut rng, 37, 70), random(&mut rng, 70, 19));
        let run = |backend: Option<Arc<dyn MatmulBackend<f32>>>| {
            let mut g = Graph::<f32>::new();
            g.set_matmul_backend(backend);
            let va = g.param(a.clone().into_dyn());
            let vb = g.param(b.clone().into_dyn());
            let c = g.matmul(va, vb).unwrap();
            let sq = g.mul(c, c).unwrap();
            let loss = g.sum_all(sq).unwrap();
            let value = g.backward(loss).unwrap();
            (
                value,
                g.grad(va).unwrap().clone(),
                g.grad(vb).unwrap().clone(),
            )
        };
        let gpu_backend: Arc<dyn MatmulBackend<f32>> =
            Arc::new(GpuMatmul::new(ctx).with_min_flops(0));
        let (v_gpu, da_gpu, db_gpu) = run(Some(gpu_backend));
        let (v_cpu, da_cpu, db_cpu) = run(None);
        let close = |x: &ndarray::ArrayD<f32>, y: &ndarray::ArrayD<f32>| {
            let scale = y.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
            x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-4 * scale)
        };
        assert!(
            (v_gpu - v_cpu).abs() <= 1e-4 * v_cpu.abs(),
            "{v_gpu} vs {v_cpu}"
        );
        assert!(close(&da_gpu, &da_cpu), "dA differs");
        assert!(close(&db_gpu, &db_cpu), "dB differs");
    }

    #[test]
    fn products_below_the_threshold_agree() {
        let Some(ctx) = gpu() else { return };
        let backend = GpuMatmul::new(ctx);
        let a = Array2::from_shape_fn((2, 3), |(i, j)| (i + j) as f32);
        let b = Array2::from_shape_fn((3, 2), |(i, j)| (i * j) as f32);
        assert!(2 * 2 * 3 * 2 < backend.min_flops());
        assert_eq!(backend.matmul(a.view(), b.view()).unwrap(), a.dot(&b));
    }
}
