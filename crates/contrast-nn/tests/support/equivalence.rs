//! The distributed-equivalence scenario, shared by the thread-group tests
//! (`tests/distributed_equivalence.rs`) and the MPI example (`examples/mpi_equivalence.rs`).
//!
//! A few training steps on a global batch of two-view samples, run two ways:
//!
//! * **one process** on the whole batch: `x = [view 1; view 2]` (2N rows), encoder with
//!   batch norm, the loss on the `2N` embeddings, backward, optimizer step;
//! * **one rank of R**, on its contiguous shard of samples (both views): local forward with
//!   synchronised batch norm, `gather_rows` of the embeddings, `view_major` back into the
//!   global `[view 1; view 2]` layout, the same loss (labels gathered for SupCon), backward
//!   with the gradient summed back, `all_reduce_gradients` (mean), the same step.
//!
//! Both record the loss of every step and the final parameters and buffers; the tests
//! demand equality within 1e-10 (f64), and a large difference for the negative controls.

use std::sync::Arc;

use contrast_autodiff::Graph;
use contrast_collective::{Collective, Communicator, shard_range};
use contrast_losses::autodiff::{nt_xent_op, supcon_op};
use contrast_losses::{NtXentConfig, SupConConfig};
use contrast_nn::Module;
use contrast_nn::distributed::{
    SharedCollective, SumBack, all_reduce_gradients, broadcast_module, gather_labels,
    gather_rows_with, view_major,
};
use contrast_nn::encoders::{Mlp, MlpConfig, SmallCnn, SmallCnnConfig};
use contrast_nn::layers::Activation;
use contrast_nn::optim::{Adam, Optimizer, Sgd, graph_step};
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use rand::SeedableRng;

/// Any error of the scenario (layers, losses, collectives).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The encoder.
#[derive(Clone, Copy, Debug)]
pub enum Model {
    /// `Linear(6, 16) -> BatchNorm1d -> ReLU -> Linear(16, 8)`.
    Mlp,
    /// `SmallCnn` on 1x8x8 images: two stages conv3x3 -> BatchNorm2d -> ReLU -> maxpool,
    /// then `Linear(24, 8)`.
    Cnn,
}

/// The loss over the global batch.
#[derive(Clone, Copy, Debug)]
pub enum Loss {
    /// NT-Xent at T = 0.5 (rows i and i + N are a pair).
    NtXent,
    /// SupCon at T = 0.5 with labels `i mod 3`, gathered across ranks.
    SupCon,
}

/// The optimizer.
#[derive(Clone, Copy, Debug)]
pub enum Optim {
    /// SGD, lr 0.2, momentum 0.9.
    Sgd,
    /// Adam, lr 0.01.
    Adam,
}

/// One equivalence scenario.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// The encoder.
    pub model: Model,
    /// The loss.
    pub loss: Loss,
    /// The optimizer.
    pub optim: Optim,
    /// Samples in the global batch (two views each).
    pub batch: usize,
    /// Optimizer steps.
    pub steps: usize,
    /// The gather's backward; `Skip` is the negative control.
    pub sum_back: SumBack,
    /// Synchronised batch norm; `false` (local statistics) is the other negative control.
    pub sync_bn: bool,
}

impl Scenario {
    /// The correct distributed setup for `model`, `loss`, `optim`: 3 steps on 7 samples.
    pub fn new(model: Model, loss: Loss, optim: Optim) -> Self {
        Self {
            model,
            loss,
            optim,
            batch: 7,
            steps: 3,
            sum_back: SumBack::AllReduce,
            sync_bn: true,
        }
    }
}

/// What a run leaves: the loss of every step, the final parameters and buffers.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Loss of each step.
    pub losses: Vec<f64>,
    /// Parameters then buffers, in the model's order.
    pub state: Vec<ArrayD<f64>>,
}

impl Trace {
    /// Largest absolute difference over the losses and every state element.
    pub fn max_diff(&self, other: &Trace) -> f64 {
        let losses = self
            .losses
            .iter()
            .zip(&other.losses)
            .map(|(a, b)| (a - b).abs());
        let state = self
            .state
            .iter()
            .zip(&other.state)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()));
        losses.chain(state).fold(0.0, f64::max)
    }

    /// A 64-bit FNV-1a hash of the state's bits: equal hashes mean ranks hold the same
    /// parameters and buffers, bit for bit (and ranks can compare them with one `u64`).
    pub fn state_hash(&self) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for v in self.state.iter().flat_map(|a| a.iter()) {
            for byte in v.to_bits().to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }
}

/// Input `k` of view `view` of sample `sample` at step `step`: a fixed function of the four,
/// so every rank and the single process see the same data.
fn input_value(step: usize, sample: usize, view: usize, k: usize) -> f64 {
    let t = (step * 7919 + sample * 104_729 + view * 15_485_863 + k * 31) as f64;
    (t * 0.000_123_7).sin() * 1.5 + ((sample + k) % 5) as f64 * 0.2
}

/// The global batch of one step: both views, `(N, 6)` or `(N, 1, 8, 8)` each.
fn views(scenario: &Scenario, step: usize) -> [ArrayD<f64>; 2] {
    let sample_shape: &[usize] = match scenario.model {
        Model::Mlp => &[6],
        Model::Cnn => &[1, 8, 8],
    };
    let per_sample: usize = sample_shape.iter().product();
    let mut shape = vec![scenario.batch];
    shape.extend_from_slice(sample_shape);
    [0, 1].map(|view| {
        let values = (0..scenario.batch * per_sample)
            .map(|i| input_value(step, i / per_sample, view, i % per_sample))
            .collect();
        ArrayD::from_shape_vec(IxDyn(&shape), values).expect("sized")
    })
}

fn build_model(g: &mut Graph<f64>, model: Model) -> Result<Box<dyn Module<f64>>, BoxError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2024);
    Ok(match model {
        Model::Mlp => Box::new(Mlp::new(
            g,
            &MlpConfig {
                dims: vec![6, 16, 8],
                activation: Activation::Relu,
                batch_norm: true,
                activate_last: false,
            },
            &mut rng,
        )?),
        Model::Cnn => Box::new(SmallCnn::new(
            g,
            &SmallCnnConfig {
                in_channels: 1,
                image_side: 8,
                channels: vec![4, 6],
                out_dim: Some(8),
                batch_norm: true,
            },
            &mut rng,
        )?),
    })
}

fn build_optimizer(optim: Optim) -> Result<Box<dyn Optimizer<f64>>, BoxError> {
    Ok(match optim {
        Optim::Sgd => Box::new(Sgd::new(0.2)?.momentum(0.9)?),
        Optim::Adam => Box::new(Adam::new(0.01)?),
    })
}

/// Runs the scenario in one process (`comm: None`) or as one rank of `comm`'s group.
pub fn run(scenario: &Scenario, comm: Option<Arc<dyn Communicator>>) -> Result<Trace, BoxError> {
    let mut g = Graph::new();
    let mut model = build_model(&mut g, scenario.model)?;
    let mut opt = build_optimizer(scenario.optim)?;
    let floats: Option<SharedCollective<f64>> = comm.clone().map(|c| c as SharedCollective<f64>);
    if let Some(c) = &floats {
        broadcast_module(&mut g, model.as_mut(), &**c)?;
        if scenario.sync_bn {
            model.set_collective(Some(Arc::clone(c)));
        }
    }
    let params = model.named_params();
    let mut losses = Vec::with_capacity(scenario.steps);
    for step in 0..scenario.steps {
        let [v1, v2] = views(scenario, step);
        let labels: Vec<usize> = (0..scenario.batch).map(|i| i % 3).collect();
        // This process's samples: all of them, or the rank's contiguous shard.
        let shard = match &comm {
            None => 0..scenario.batch,
            Some(c) => shard_range(scenario.batch, c.world(), c.rank())?,
        };
        let range = Slice::from(shard.clone());
        let x = ndarray::concatenate(
            Axis(0),
            &[v1.slice_axis(Axis(0), range), v2.slice_axis(Axis(0), range)],
        )?;
        let x = g.input(x);
        let z = model.forward(&mut g, x)?;
        let (z, labels) = match (&floats, &comm) {
            (Some(c), Some(comm)) => {
                let gathered = gather_rows_with(&mut g, z, c, scenario.sum_back)?;
                let label_collective: &dyn Collective<u64> = &**comm;
                let labels = gather_labels(&labels[shard.clone()], label_collective)?;
                (view_major(&mut g, &gathered, 2)?, labels)
            }
            _ => (z, labels),
        };
        let loss = match scenario.loss {
            Loss::NtXent => nt_xent_op(&mut g, z, &NtXentConfig::new(0.5))?,
            Loss::SupCon => {
                let two_views: Vec<usize> = labels.iter().chain(&labels).copied().collect();
                supcon_op(&mut g, z, &two_views, &SupConConfig::new(0.5))?
            }
        };
        losses.push(g.backward(loss)?);
        if let Some(c) = &floats {
            all_reduce_gradients(&mut g, &params, &**c)?;
        }
        graph_step(opt.as_mut(), &mut g, &params)?;
        g.zero_grad();
    }
    let mut state: Vec<ArrayD<f64>> = params.iter().map(|p| g.value(p.var).clone()).collect();
    state.extend(model.named_buffers().into_iter().map(|(_, v)| v.to_owned()));
    Ok(Trace { losses, state })
}
