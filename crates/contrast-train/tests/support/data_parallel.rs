//! The data-parallel equivalence scenario, shared by the thread-group tests and the MPI
//! example: a few steps of a recipe on digits, on one process over the global batch and on
//! the ranks of a collective over their shards.

use contrast_nn::checkpoint::state_dict;
use contrast_nn::state::StateDict;
use contrast_train::config::{EncoderKind, Method, OptimizerKind, TrainConfig};
use contrast_train::distributed::Ranks;
use contrast_train::tasks;
use contrast_train::trainer::Trainer;

/// Steps of every scenario.
pub const STEPS: usize = 3;

/// A small CNN with batch norm on digits, batches of 24 samples (48 rows for two views),
/// SGD with momentum: its update is linear in the gradient, so the parameters differ as
/// little as the gradients do (Adam's first steps move every element by about `lr` whatever
/// its gradient's size, which turns rounding noise in tiny gradients into `lr`-sized steps).
pub fn config(method: Method) -> TrainConfig {
    TrainConfig {
        dataset: "digits".into(),
        method,
        optimizer: OptimizerKind::Sgd,
        encoder: EncoderKind::Cnn,
        epochs: 1,
        batch_size: 24,
        queue_size: 64,
        samples_per_class: 4,
        lr: 0.05,
        ..TrainConfig::default()
    }
}

/// What a run of [`STEPS`] steps produced.
pub struct Outcome {
    /// The loss of every step.
    pub losses: Vec<f32>,
    /// Parameters and buffers afterwards (the momentum network's too).
    pub state: StateDict<f32>,
}

/// [`STEPS`] steps of `config` on one process (`ranks` `None`) or on `ranks`.
pub fn run(config: &TrainConfig, ranks: Option<Ranks>) -> contrast_train::Result<Outcome> {
    let mut trainer = trainer(config, ranks)?;
    let plan = trainer.plan(0)?;
    let mut losses = Vec::new();
    for indices in plan.iter().take(STEPS) {
        let batch = trainer.batch(indices, 0)?;
        losses.push(trainer.step(&batch, 0)?);
    }
    let mut state = state_dict(&trainer.g, &trainer.model);
    if let Some((prefix, momentum)) = trainer.recipe.momentum_model() {
        for (name, value) in state_dict(&trainer.g, momentum) {
            state.insert(format!("{prefix}.{name}"), value);
        }
    }
    Ok(Outcome { losses, state })
}

/// The parameter gradients of the first batch (no step), by name.
pub fn first_gradients(
    config: &TrainConfig,
    ranks: Option<Ranks>,
) -> contrast_train::Result<StateDict<f32>> {
    let mut trainer = trainer(config, ranks)?;
    let indices = trainer.plan(0)?.swap_remove(0);
    let batch = trainer.batch(&indices, 0)?;
    trainer.loss_and_gradients(&batch)?;
    Ok(trainer
        .params
        .iter()
        .filter_map(|p| Some((p.name.clone(), trainer.g.grad(p.var)?.clone())))
        .collect())
}

fn trainer(config: &TrainConfig, ranks: Option<Ranks>) -> contrast_train::Result<Trainer> {
    let task = tasks::load(config)?;
    let mut trainer = Trainer::new(config, task.as_ref())?;
    if let Some(ranks) = ranks {
        trainer.distribute(ranks)?;
    }
    Ok(trainer)
}

/// Per tensor: the largest `|a - b|` and the largest `|a|`.
pub fn differences(a: &StateDict<f32>, b: &StateDict<f32>) -> Vec<(String, f32, f32)> {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "different tensors"
    );
    a.iter()
        .map(|(name, x)| {
            let y = &b[name];
            let scale = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = x
                .iter()
                .zip(y.iter())
                .fold(0f32, |m, (p, q)| m.max((p - q).abs()));
            (name.clone(), diff, scale)
        })
        .collect()
}

/// The largest difference between two gradients relative to the largest gradient of all
/// (a gradient that is zero in exact arithmetic holds only rounding noise, whose relative
/// error means nothing).
pub fn gradient_difference(a: &StateDict<f32>, b: &StateDict<f32>) -> f32 {
    let d = differences(a, b);
    let scale = d.iter().fold(1e-30f32, |m, (_, _, s)| m.max(*s));
    d.iter().fold(0f32, |m, (_, diff, _)| m.max(diff / scale))
}

/// The largest parameter difference relative to its tensor's largest value.
pub fn parameter_difference(a: &StateDict<f32>, b: &StateDict<f32>) -> f32 {
    differences(a, b)
        .into_iter()
        .fold(0f32, |m, (_, diff, scale)| m.max(diff / scale.max(1e-12)))
}

/// The largest relative difference between two loss sequences.
pub fn loss_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs() / p.abs().max(1e-12))
        .fold(0.0, f32::max)
}
