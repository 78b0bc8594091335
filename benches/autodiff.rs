//! Criterion benchmark `autodiff`: the engine's hot spot and one training step.
//!
//! * `matmul_f32/{gemm,ndarray_dot}/N`: square f32 products at N = 512, 1024, 2048. The
//!   throughput is set to `2 N^3` elements, so criterion's "elem/s" reads as FLOP/s.
//!   `gemm` is `contrast_linalg::matmul` (the engine's default kernel); `ndarray_dot`
//!   is ndarray's default `dot` (matrixmultiply), the reference beside it.
//! * `mlp_784_512_512_128_b512/{step,matmuls_only,share}`: forward + backward of a 3-layer
//!   ReLU MLP on 512 rows through the graph, beside the 8 matrix products that step
//!   performs (3 forward, 5 backward: no gradient for the input batch) run on bare arrays
//!   of the same shapes and strides. `share` times the two alternately (so both see the
//!   same machine load) and prints the medians and the ratio `matmuls / step`: the share
//!   of the step spent in matmul. The rest is the graph's own overhead (elementwise ops,
//!   reductions, allocation, bookkeeping). The input batch arrives owned, as in training:
//!   its copy is made outside the timed region.
use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use contrast_autodiff::{Graph, Var};
use contrast_linalg as linalg;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
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
            bench.iter(|| black_box(linalg::matmul(a.view(), b.view())))
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
fn step(g: &mut Graph<f32>, params: &[Var], batch: ArrayD<f32>) -> f32 {
    g.zero_grad();
    let mut h = g.input(batch);
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

/// Bare arrays of the step's shapes: the input, the weights, and activations (which also
/// stand in for the incoming gradients, of the same shapes).
struct Bare {
    x: Array2<f32>,
    ws: Vec<Array2<f32>>,
    acts: Vec<Array2<f32>>,
}

impl Bare {
    fn new(rng: &mut impl Rng) -> Self {
        Self {
            x: random(rng, ROWS, LAYERS[0]),
            ws: LAYERS.windows(2).map(|w| random(rng, w[0], w[1])).collect(),
            acts: LAYERS[1..].iter().map(|&d| random(rng, ROWS, d)).collect(),
        }
    }

    /// The step's 8 products, with the operands the graph hands the kernel.
    fn matmuls(&self) {
        let inputs = [&self.x, &self.acts[0], &self.acts[1]];
        for (l, ((h, w), g)) in inputs.iter().zip(&self.ws).zip(&self.acts).enumerate() {
            // forward: h_{l+1} = h_l W_l; backward: dW_l = h_lᵀ g_{l+1}; dh_l = g_{l+1} W_lᵀ
            black_box(linalg::matmul(h.view(), w.view()));
            black_box(linalg::matmul(h.t(), g.view()));
            if l > 0 {
                black_box(linalg::matmul(g.view(), w.t()));
            }
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
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
    let bare = Bare::new(&mut rng);

    let mut group = c.benchmark_group("mlp_784_512_512_128_b512");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("step", |bench| {
        bench.iter_batched(
            || batch.clone(),
            |b| black_box(step(&mut g, &params, b)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("matmuls_only", |bench| bench.iter(|| bare.matmuls()));
    // (step seconds, matmul seconds) of every alternate pair that `share` timed.
    let pairs = RefCell::new(Vec::<(f64, f64)>::new());
    group.bench_function("share", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let b = batch.clone();
                let t0 = Instant::now();
                black_box(step(&mut g, &params, b));
                let t1 = Instant::now();
                bare.matmuls();
                let t2 = Instant::now();
                total += t2 - t0;
                pairs
                    .borrow_mut()
                    .push(((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()));
            }
            total
        })
    });
    group.finish();
    let pairs = pairs.into_inner();
    if !pairs.is_empty() {
        let step_s = median(pairs.iter().map(|p| p.0).collect());
        let mm_s = median(pairs.iter().map(|p| p.1).collect());
        let share = median(pairs.iter().map(|p| p.1 / p.0).collect());
        println!(
            "mlp_784_512_512_128_b512/share: {} alternate pairs; step median {:.2} ms, its \
             8 matmuls alone {:.2} ms; matmul share (median of ratios) {:.1}%, graph \
             overhead {:.1}% of the step{}",
            pairs.len(),
            step_s * 1e3,
            mm_s * 1e3,
            share * 100.0,
            (1.0 - share) * 100.0,
            if pairs.len() < 10 {
                " (too few pairs to mean anything: a --test run?)"
            } else {
                ""
            }
        );
    }
}

criterion_group!(benches, matmul, mlp);
criterion_main!(benches);
