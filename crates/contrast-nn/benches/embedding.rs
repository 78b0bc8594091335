//! Criterion benchmark `embedding`: one training step of the text encoder, with the lazy
//! (row-sparse) Adam update beside the dense Adam update of the whole table.
//!
//! The step: `EmbeddingBag(2^18 x 256, mean) -> Linear 256-256 -> ReLU -> Linear 256-128`,
//! loss = mean of the squared outputs, on a batch of 512 bags of 120..=180 ids (150 on
//! average), f32. Benchmark ids `text_step/<variant>/<ids>`:
//!
//! * `forward_backward`: forward and backward only (the table's gradient is row-sparse).
//! * `lazy_adam`: forward, backward, and `graph_step` with Adam: the table's present rows
//!   only (`torch.optim.SparseAdam`'s semantics).
//! * `dense_adam`: forward, backward, then the reference update that PyTorch's
//!   `nn.EmbeddingBag` + `torch.optim.Adam` performs: the table's gradient made dense
//!   (`2^18 x 256` zeros plus the used rows) and dense Adam over every row.
//!
//! and `<ids>` is the law of the ids: `uniform` over the 2^18 buckets (the worst case for
//! the sparse path: about 67,000 distinct rows per batch) or `zipf` (`Zipf(2^18, 1)` ranks
//! scattered over the buckets by a fixed bijection: heavy-tailed like hashed n-grams of
//! real text, about 20,000 distinct rows per batch). The ratio `dense_adam / lazy_adam` is
//! read in one run. `scripts/peer_text_step.py` times the same step in PyTorch.
//!
//! Run: `cargo bench -p contrast-nn --bench embedding`.

use std::hint::black_box;
use std::time::Duration;

use contrast_autodiff::{Bags, Graph};
use contrast_nn::Module;
use contrast_nn::encoders::{BagEncoder, BagEncoderConfig};
use contrast_nn::optim::{Adam, Optimizer, ParamRef, graph_step};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

const BUCKETS: usize = 1 << 18;
const BATCH: usize = 512;

/// 512 bags of 120..=180 ids drawn by `draw`.
fn batch(rng: &mut ChaCha8Rng, draw: impl Fn(&mut ChaCha8Rng) -> u32) -> Bags<f32> {
    let lists: Vec<Vec<u32>> = (0..BATCH)
        .map(|_| {
            let n = rng.random_range(120..=180);
            (0..n).map(|_| draw(rng)).collect()
        })
        .collect();
    Bags::from_lists(&lists)
}

fn uniform_ids(rng: &mut ChaCha8Rng) -> Bags<f32> {
    batch(rng, |r| r.random_range(0..BUCKETS as u32))
}

fn zipf_ids(rng: &mut ChaCha8Rng) -> Bags<f32> {
    let zipf = Zipf::new(BUCKETS as f64, 1.0).expect("valid Zipf");
    // An odd multiplier is a bijection modulo 2^18: frequent ranks land on scattered rows.
    batch(rng, move |r| {
        let rank = zipf.sample(r) as u64 - 1;
        ((rank * 2_654_435_761) % BUCKETS as u64) as u32
    })
}

/// The encoder, its optimizer, and the forward + backward of one batch.
struct Step {
    g: Graph<f32>,
    encoder: BagEncoder<f32>,
    opt: Adam<f32>,
}

impl Step {
    fn new() -> Self {
        let mut g = Graph::new();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let encoder = BagEncoder::new(&mut g, &BagEncoderConfig::text(), &mut rng).unwrap();
        Self {
            g,
            encoder,
            opt: Adam::new(1e-3).unwrap(),
        }
    }

    fn forward_backward(&mut self, bags: &Bags<f32>) -> f32 {
        self.g.zero_grad();
        let y = self.encoder.forward_bags(&mut self.g, bags).unwrap();
        let sq = self.g.mul(y, y).unwrap();
        let loss = self.g.mean_all(sq).unwrap();
        self.g.backward(loss).unwrap()
    }

    fn lazy(&mut self, bags: &Bags<f32>) -> f32 {
        let loss = self.forward_backward(bags);
        let params = self.encoder.named_params();
        graph_step(&mut self.opt, &mut self.g, &params).unwrap();
        loss
    }

    /// The reference: every gradient dense (the table's made dense as PyTorch's is), one
    /// dense Adam step over all of them.
    fn dense(&mut self, bags: &Bags<f32>) -> f32 {
        let loss = self.forward_backward(bags);
        let params = self.encoder.named_params();
        let grads: Vec<ArrayD<f32>> = params
            .iter()
            .map(|p| self.g.gradient(p.var).unwrap().to_dense())
            .collect();
        let mut values: Vec<ArrayD<f32>> = params
            .iter()
            .map(|p| std::mem::replace(self.g.value_mut(p.var), ArrayD::zeros(IxDyn(&[0]))))
            .collect();
        let mut refs: Vec<ParamRef<'_, f32>> = params
            .iter()
            .zip(values.iter_mut())
            .zip(&grads)
            .map(|((p, value), grad)| ParamRef {
                name: &p.name,
                kind: p.kind,
                value,
                grad,
            })
            .collect();
        self.opt.step(&mut refs).unwrap();
        for (p, v) in params.iter().zip(values) {
            *self.g.value_mut(p.var) = v;
        }
        loss
    }
}

fn text_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("text_step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    type Law = fn(&mut ChaCha8Rng) -> Bags<f32>;
    let laws: [(&str, Law); 2] = [("uniform", uniform_ids), ("zipf", zipf_ids)];
    let mut step = Step::new();
    for (law, make) in laws {
        // A few batches in turn, so one lucky draw does not set the figure.
        let batches: Vec<Bags<f32>> = (0..4).map(|_| make(&mut rng)).collect();
        let distinct = {
            let mut ids = batches[0].ids().to_vec();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        };
        eprintln!("text_step/{law}: {distinct} distinct rows in a batch of {BATCH} bags");
        type Variant = fn(&mut Step, &Bags<f32>) -> f32;
        let variants: [(&str, Variant); 3] = [
            ("forward_backward", Step::forward_backward),
            ("lazy_adam", Step::lazy),
            ("dense_adam", Step::dense),
        ];
        for (name, run) in variants {
            let mut i = 0;
            group.bench_function(format!("{name}/{law}"), |b| {
                b.iter(|| {
                    i += 1;
                    black_box(run(&mut step, &batches[i % batches.len()]))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, text_step);
criterion_main!(benches);
