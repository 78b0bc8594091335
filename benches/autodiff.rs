//! Criterion benchmark `autodiff`: the engine's hot spot and one training step.
//!
//! * `matmul_f32/{gemm,ndarray_dot}/N`: square f32 products at N = 512, 1024, 2048. The
//!   throughput is set to `2 N^3` elements, so criterion's "elem/s" reads as FLOP/s.
//!   `gemm` is `contrast_autodiff::kernels::matmul` (the engine's kernel); `ndarray_dot`
//!   is ndarray's default `dot` (matrixmultiply), the reference beside it.
//! * `mlp_784_512_512_128_b512/{step,matmuls_only}`: forward + backward of a 3-layer ReLU
//!   MLP on 512 rows through the graph, beside the 8 matrix products that step performs
//!   (3 forward, 5 backward: no gradient for the input batch) run on bare arrays. The
//!   ratio `matmuls_only / step` is the share of the step spent in matmul; the rest is the
//!   graph's own overhead (elementwise ops, reductions, bookkeeping).
use std::hint::black_box;
use std::time::Duration;

use contrast_autodiff::{Graph, Var, kernels};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

fn matmul(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut group = c.benchmark_group("matmul_f32");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [512usize, 1024, 2048] {
        let (a, b) = (random(&mut rng, n, n), random(&mut rng, n, n));
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.bench_with_input(BenchmarkId::new("gemm", n), &n, |bench, _| {
            bench.iter(|| black_box(kernels::matmul(a.view(), b.view())))
        });
        group.bench_with_input(BenchmarkId::new("ndarray_dot", n), &n, |bench, _| {
            bench.iter(|| black_box(a.dot(&b)))
        });
    }
    group.finish();
}

const ROWS: usize = 512;
const LAYERS: [usize; 4] = [784, 512, 512, 128];

/// One training step's forward and backward: relu MLP, loss = mean of squared outputs.
fn step(g: &mut Graph<f32>, params: &[Var], batch: &ArrayD<f32>) -> f32 {
    g.zero_grad();
    let mut h = g.input(batch.clone());
    for (i, pair) in params.chunks(2).enumerate() {
        h = g.matmul(h, pair[0]).unwrap();
        h = g.add(h, pair[1]).unwrap();
        if i + 1 < params.len() / 2 {
            h = g.relu(h).unwrap();
        }
    }
    let sq = g.mul(h, h).unwrap();
    let loss = g.mean_all(sq).unwrap();
    g.backward(loss).unwrap()
}

fn mlp(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut g = Graph::<f32>::new();
    let mut params = Vec::new();
    for w in LAYERS.windows(2) {
        let scale = (2.0 / w[0] as f32).sqrt();
        params.push(g.param(random(&mut rng, w[0], w[1]).mapv(|v| v * scale).into_dyn()));
        params.push(g.param(ArrayD::zeros(IxDyn(&[w[1]]))));
    }
    let batch = random(&mut rng, ROWS, LAYERS[0]).into_dyn();

    // The same products on bare arrays: activations and gradients of the step's shapes.
    let x = random(&mut rng, ROWS, LAYERS[0]);
    let ws: Vec<Array2<f32>> = LAYERS
        .windows(2)
        .map(|w| random(&mut rng, w[0], w[1]))
        .collect();
    let acts: Vec<Array2<f32>> = LAYERS[1..]
        .iter()
        .map(|&d| random(&mut rng, ROWS, d))
        .collect();

    let mut group = c.benchmark_group("mlp_784_512_512_128_b512");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("step", |bench| {
        bench.iter(|| black_box(step(&mut g, &params, &batch)))
    });
    group.bench_function("matmuls_only", |bench| {
        bench.iter(|| {
            let inputs = [&x, &acts[0], &acts[1]];
            for l in 0..3 {
                // forward: h_{l+1} = h_l W_l; backward: dW_l = h_lᵀ g_{l+1}; dh_l = g_{l+1} W_lᵀ
                black_box(kernels::matmul(inputs[l].view(), ws[l].view()));
                black_box(kernels::matmul(inputs[l].t(), acts[l].view()));
                if l > 0 {
                    black_box(kernels::matmul(acts[l].view(), ws[l].t()));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, matmul, mlp);
criterion_main!(benches);
