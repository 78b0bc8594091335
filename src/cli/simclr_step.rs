//! The benchmark SimCLR training step of `contrast bench step` and `benches/train_step.rs`
//! (which includes this file): the same models, loss and optimizer as
//! `scripts/peer_step.py`, so the two timings can be compared as a ratio.
//!
//! * `mlp`: encoder `Linear(784,512)-ReLU-Linear(512,512)-ReLU`, head `Linear(512,128)`.
//! * `cnn`: `Conv(1->32,3,p1)-ReLU-MaxPool2-Conv(32->64,3,p1)-ReLU-MaxPool2-Flatten-Linear(3136,128)`.
//! * Loss: NT-Xent, `T = 0.5`, a batch of `B` images in two views, so `2B` rows; rows `i`
//!   and `i + B` are positives; mean over the `2B` anchors (see docs/references.md, section
//!   "NT-Xent"), as one graph node with its exact gradient
//!   (`contrast_losses::autodiff::nt_xent_op`).
//! * Step: `zero_grad; z = model(views); loss = nt_xent(z); backward; SGD(lr 0.05, momentum 0.9)`.

use std::time::Instant;

use anyhow::Context;
use contrast::autodiff::Graph;
use contrast::losses::NtXentConfig;
use contrast::losses::autodiff::nt_xent_op;
use contrast::nn::encoders::{Mlp, MlpConfig, SmallCnn, SmallCnnConfig};
use contrast::nn::init::Init;
use contrast::nn::layers::{Linear, Sequential};
use contrast::nn::optim::{Sgd, graph_step};
use contrast::nn::{Module, NamedParam};
use ndarray::ArrayD;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Which benchmark model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StepModel {
    /// 784-512-512 MLP encoder with a 512-128 linear head.
    Mlp,
    /// conv(1->32)-pool-conv(32->64)-pool-linear(3136->128).
    Cnn,
}

/// A ready-to-run benchmark step: graph, model, optimizer and a fixed random batch.
pub struct SimclrStep {
    g: Graph<f32>,
    model: Box<dyn Module<f32>>,
    params: Vec<NamedParam>,
    opt: Sgd<f32>,
    views: ArrayD<f32>,
    loss: NtXentConfig,
}

impl SimclrStep {
    /// Builds `model` for `batch` images (two views each, `2 batch` rows), seeded.
    pub fn new(model: StepModel, batch: usize, seed: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(batch > 0, "the benchmark batch must hold at least 1 image");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut g = Graph::new();
        let model: Box<dyn Module<f32>> = match model {
            StepModel::Mlp => Box::new(
                Sequential::new()
                    .with(Mlp::new(
                        &mut g,
                        &MlpConfig::relu(&[784, 512, 512]),
                        &mut rng,
                    )?)
                    .with(Linear::new(&mut g, 512, 128, true, &mut rng)?),
            ),
            StepModel::Cnn => Box::new(SmallCnn::new(&mut g, &SmallCnnConfig::mnist(), &mut rng)?),
        };
        let views = Init::Uniform { bound: 1.0 }.sample(&[2 * batch, 1, 28, 28], &mut rng)?;
        let params = model.named_params();
        Ok(Self {
            g,
            model,
            params,
            opt: Sgd::new(0.05)?.momentum(0.9)?,
            views,
            loss: NtXentConfig::new(0.5),
        })
    }

    /// Number of trainable scalars.
    pub fn num_params(&self) -> usize {
        self.model.num_params(&self.g)
    }

    /// One step: forward both views, NT-Xent, backward, SGD. Returns the loss.
    pub fn step(&mut self) -> anyhow::Result<f32> {
        self.g.zero_grad();
        let x = self.g.input(self.views.clone());
        let z = self.model.forward(&mut self.g, x)?;
        let loss = nt_xent_op(&mut self.g, z, &self.loss)?;
        let value = self.g.backward(loss)?;
        graph_step(&mut self.opt, &mut self.g, &self.params)?;
        Ok(value)
    }
}

/// Median, fastest and slowest step in milliseconds, and the last loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepTiming {
    /// Median step time.
    pub median_ms: f64,
    /// Fastest step.
    pub min_ms: f64,
    /// Slowest step.
    pub max_ms: f64,
    /// Loss of the last step.
    pub last_loss: f32,
}

/// Runs `warmup` untimed calls of `step`, then times `iters >= 1` calls one by one.
pub fn time_steps(
    mut step: impl FnMut() -> anyhow::Result<f32>,
    warmup: usize,
    iters: usize,
) -> anyhow::Result<StepTiming> {
    for _ in 0..warmup {
        step()?;
    }
    let mut times = Vec::with_capacity(iters.max(1));
    let mut last_loss = f32::NAN;
    for _ in 0..iters.max(1) {
        let t0 = Instant::now();
        last_loss = step()?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median_ms = if times.len() % 2 == 1 {
        times[mid]
    } else {
        0.5 * (times[mid - 1] + times[mid])
    };
    Ok(StepTiming {
        median_ms,
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        last_loss,
    })
}

/// Sizes rayon's global pool to `n` threads (before any parallel work; later it is an error).
pub fn set_threads(n: usize) -> anyhow::Result<()> {
    anyhow::ensure!(n > 0, "--threads must be at least 1");
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .with_context(|| format!("sizing rayon's global pool to {n} threads"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_reports_median_extremes_and_last_loss() {
        let mut calls = 0;
        let t = time_steps(
            || {
                calls += 1;
                Ok(calls as f32)
            },
            2,
            3,
        )
        .unwrap();
        assert_eq!(calls, 5);
        assert_eq!(t.last_loss, 5.0);
        assert!(t.min_ms <= t.median_ms && t.median_ms <= t.max_ms);
        assert!(time_steps(|| anyhow::bail!("no step"), 0, 1).is_err());
    }

    #[test]
    fn steps_run_and_reduce_the_loss() {
        for model in [StepModel::Mlp, StepModel::Cnn] {
            let mut s = SimclrStep::new(model, 4, 0).unwrap();
            let first = s.step().unwrap();
            let mut last = first;
            for _ in 0..5 {
                last = s.step().unwrap();
            }
            assert!(
                last.is_finite() && last < first,
                "{model:?}: {first} -> {last}"
            );
        }
        assert!(SimclrStep::new(StepModel::Mlp, 0, 0).is_err());
    }

    #[test]
    fn the_models_have_the_peer_parameter_counts() {
        // torch: MLP 784*512+512 + 512*512+512 + 512*128+128; CNN 320 + 18,496 + 401,536.
        let mlp = SimclrStep::new(StepModel::Mlp, 1, 0).unwrap();
        assert_eq!(mlp.num_params(), 401_920 + 262_656 + 65_664);
        let cnn = SimclrStep::new(StepModel::Cnn, 1, 0).unwrap();
        assert_eq!(cnn.num_params(), 320 + 18_496 + 401_536);
    }
}
