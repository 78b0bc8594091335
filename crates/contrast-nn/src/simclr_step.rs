//! The benchmark SimCLR training step (`contrast bench step`, `benches/train_step.rs`):
//! the same models, loss and optimizer as `shared/peers/torch_step.py`, so the two timings
//! can be compared as a ratio.
//!
//! * `mlp`: encoder `Linear(784,512)-ReLU-Linear(512,512)-ReLU`, head `Linear(512,128)`.
//! * `cnn`: `Conv(1->32,3,p1)-ReLU-MaxPool2-Conv(32->64,3,p1)-ReLU-MaxPool2-Flatten-Linear(3136,128)`.
//! * Loss: NT-Xent, `T = 0.5`, a batch of `B` images in two views, so `2B` rows; rows `i`
//!   and `i + B` are positives; mean over the `2B` anchors (REFERENCES.md).
//! * Step: `zero_grad; z = model(views); loss = nt_xent(z); backward; SGD(lr 0.05, momentum 0.9)`.
//!
//! The NT-Xent here is composed from autodiff primitives (normalise, matmul, masked
//! log-sum-exp), because the graph op of `contrast-losses` (feature `autodiff`) did not exist
//! when this was written; it computes the same function.

use std::time::Instant;

use contrast_autodiff::{Graph, Var};
use ndarray::{ArrayD, IxDyn, NdFloat};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::encoders::{Mlp, MlpConfig, SmallCnn, SmallCnnConfig};
use crate::error::{Error, Result};
use crate::init::Init;
use crate::layers::{Linear, Sequential};
use crate::module::{Module, NamedParam};
use crate::optim::{Sgd, graph_step};
use crate::scalar;

/// Which benchmark model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepModel {
    /// 784-512-512 MLP encoder with a 512-128 linear head.
    Mlp,
    /// Two conv stages and a 3136-128 linear layer.
    Cnn,
}

/// NT-Xent of `z` `(2B, d)` (rows `i`, `i + B` positive) at temperature `t`, as a graph node:
/// `mean_i [ log sum_{k != i} exp(s_ik) - s_i,p(i) ]`, `s = zn zn^T / t`, `zn` the unit rows.
pub fn nt_xent<A: NdFloat>(g: &mut Graph<A>, z: Var, temperature: f64) -> Result<Var> {
    let shape = g.try_value(z)?.shape().to_vec();
    if shape.len() != 2 || shape[0] < 2 || shape[0] % 2 != 0 {
        return Err(Error::InputShape {
            layer: "nt_xent",
            expected: "(2B, d) with B >= 1".into(),
            got: shape,
        });
    }
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(Error::InvalidConfig {
            what: "temperature",
            value: temperature.to_string(),
            why: "must be finite and > 0",
        });
    }
    let (n2, b) = (shape[0], shape[0] / 2);
    let zn = g.l2_normalize_rows(z, scalar(1e-12))?;
    let znt = g.transpose(zn)?;
    let sim = g.matmul(zn, znt)?;
    let logits = g.mul_scalar(sim, scalar(1.0 / temperature))?;
    // Self-similarity leaves the denominator: |s| <= 1/t, so -1e4 - 1/t underflows exp to 0
    // in f32 and f64 alike without putting an infinity in the graph.
    let mask = ArrayD::from_shape_fn(IxDyn(&[n2, n2]), |i| {
        if i[0] == i[1] {
            scalar(-1e4)
        } else {
            A::zero()
        }
    });
    let mask = g.input(mask);
    let masked = g.add(logits, mask)?;
    let lse = g.logsumexp(masked, 1, false)?;
    // Positive logit of row i: zn_i . zn_p(i) / t.
    let partner: Vec<usize> = (0..n2).map(|i| (i + b) % n2).collect();
    let zp = g.index_select(zn, &partner)?;
    let prod = g.mul(zn, zp)?;
    let pos = g.sum(prod, &[1], false)?;
    let pos = g.mul_scalar(pos, scalar(1.0 / temperature))?;
    let per_anchor = g.sub(lse, pos)?;
    Ok(g.mean_all(per_anchor)?)
}

/// A ready-to-run benchmark step: graph, model, optimizer and a fixed random batch.
pub struct SimclrStep {
    g: Graph<f32>,
    model: Box<dyn Module<f32>>,
    params: Vec<NamedParam>,
    opt: Sgd<f32>,
    views: ArrayD<f32>,
    temperature: f64,
}

impl SimclrStep {
    /// Build `model` for `batch` images (two views each, `2 batch` rows), seeded.
    pub fn new(model: StepModel, batch: usize, seed: u64) -> Result<Self> {
        if batch == 0 {
            return Err(Error::InvalidConfig {
                what: "batch",
                value: "0".into(),
                why: "must be >= 1",
            });
        }
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
            temperature: 0.5,
        })
    }

    /// Number of trainable scalars.
    pub fn num_params(&self) -> usize {
        self.model.num_params(&self.g)
    }

    /// One step: forward both views, NT-Xent, backward, SGD. Returns the loss.
    pub fn step(&mut self) -> Result<f32> {
        let t = self.temperature;
        self.step_with(|g, z| nt_xent(g, z, t))
    }

    /// One step with another loss node on the embeddings `z` `(2B, 128)`, e.g. the fused
    /// `contrast_losses::autodiff::nt_xent_op` (contrast-nn does not depend on the losses crate).
    pub fn step_with<E: From<Error>>(
        &mut self,
        loss: impl FnOnce(&mut Graph<f32>, Var) -> std::result::Result<Var, E>,
    ) -> std::result::Result<f32, E> {
        self.g.zero_grad();
        let x = self.g.input(self.views.clone());
        let z = self.model.forward(&mut self.g, x)?;
        let loss = loss(&mut self.g, z)?;
        let value = self.g.backward(loss).map_err(Error::from)?;
        graph_step(&mut self.opt, &mut self.g, &self.params)?;
        Ok(value)
    }

    /// The temperature of the benchmark loss (0.5).
    pub fn temperature(&self) -> f64 {
        self.temperature
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

/// Run `warmup` untimed calls of `step`, then time `iters >= 1` calls one by one.
pub fn time_steps<E>(
    mut step: impl FnMut() -> std::result::Result<f32, E>,
    warmup: usize,
    iters: usize,
) -> std::result::Result<StepTiming, E> {
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

/// Size rayon's global pool (call before any parallel work; later calls are an error).
pub fn set_threads(n: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| Error::InvalidConfig {
            what: "threads",
            value: n.to_string(),
            why: if e.to_string().is_empty() {
                "rayon refused"
            } else {
                "rayon's global pool is already built"
            },
        })
}

/// Threads in rayon's global pool (what the step runs on).
pub fn current_threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The composed NT-Xent against a direct loop computation, and against finite differences.
    #[test]
    fn nt_xent_matches_reference_and_gradcheck() {
        use contrast_autodiff::gradcheck::{GradCheckConfig, check_gradient};
        let z = Init::Uniform { bound: 1.0 }
            .sample::<f64>(&[6, 3], &mut ChaCha8Rng::seed_from_u64(3))
            .unwrap();
        let reference = |z: &ArrayD<f64>, t: f64| {
            let n2 = z.shape()[0];
            let zn: Vec<Vec<f64>> = z
                .outer_iter()
                .map(|r| {
                    let n = r.iter().map(|v| v * v).sum::<f64>().sqrt();
                    r.iter().map(|v| v / n).collect()
                })
                .collect();
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / t;
            (0..n2)
                .map(|i| {
                    let lse = (0..n2)
                        .filter(|&k| k != i)
                        .map(|k| dot(&zn[i], &zn[k]).exp())
                        .sum::<f64>()
                        .ln();
                    lse - dot(&zn[i], &zn[(i + n2 / 2) % n2])
                })
                .sum::<f64>()
                / n2 as f64
        };
        for t in [0.5, 0.05] {
            let eval = |z: &ArrayD<f64>| {
                let mut g = Graph::new();
                let zv = g.param(z.clone());
                let loss = nt_xent(&mut g, zv, t).unwrap();
                let l = g.backward(loss).unwrap();
                (l, g.grad(zv).unwrap().clone())
            };
            let (l, grad) = eval(&z);
            assert!(
                (l - reference(&z, t)).abs() < 1e-10,
                "T={t}: {l} vs {}",
                reference(&z, t)
            );
            let report = check_gradient(|z| eval(z).0, &z, &grad, &GradCheckConfig::default());
            assert!(report.passes(1e-6), "T={t}: {report}");
        }
        let mut g = Graph::<f64>::new();
        let odd = g.input(ArrayD::zeros(IxDyn(&[3, 2])));
        assert!(nt_xent(&mut g, odd, 0.5).is_err());
        let ok = g.input(ArrayD::ones(IxDyn(&[2, 2])));
        assert!(nt_xent(&mut g, ok, 0.0).is_err());
    }

    #[test]
    fn timing_reports_median_extremes_and_last_loss() {
        let mut calls = 0;
        let t = time_steps(
            || {
                calls += 1;
                Ok::<f32, Error>(calls as f32)
            },
            2,
            3,
        )
        .unwrap();
        assert_eq!(calls, 5);
        assert_eq!(t.last_loss, 5.0);
        assert!(t.min_ms <= t.median_ms && t.median_ms <= t.max_ms);
        let failing = time_steps(
            || {
                Err::<f32, Error>(Error::Dtype {
                    name: "x".into(),
                    dtype: "U8".into(),
                })
            },
            0,
            1,
        );
        assert!(failing.is_err());
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
}
