//! Checkpoints: everything a run needs to continue exactly where it stopped, in one
//! safetensors file written atomically (temporary file, fsync, rename).
//!
//! Tensors: the model's parameters and batch-norm statistics under their dotted names
//! (`encoder.net.0.weight`, `head.layers.1.running_mean`, ...), the optimizer's state under
//! `optimizer.`, MoCo's key encoder under `key.`, BYOL's target network under `target.`, and
//! a queue or cross-batch memory of negatives under `queue.` or `xbm.` (see
//! [`crate::negatives::Memory::state`]).
//! Metadata: the number of finished epochs and steps, the number of ranks that trained it (a
//! data-parallel run resumes on as many), and the configuration as TOML.
//! Since every random stream is keyed by `(seed, epoch, ...)`, nothing else is needed for
//! a resumed run to reach the same parameters as an uninterrupted one.

use std::collections::HashMap;
use std::path::Path;

use contrast_nn::checkpoint::{
    check_optimizer_state, expected_shapes, load_state_dict, param_shapes, state_dict,
};
use contrast_nn::optim::Optimizer;
use contrast_nn::param_file::{load_metadata, load_safetensors, save_safetensors_with_metadata};
use contrast_nn::state::{check_names_and_shapes, strip_prefix, with_prefix};

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::trainer::Trainer;

/// File name of the checkpoint inside a run folder.
pub const FILE: &str = "checkpoint.safetensors";

/// Where a checkpoint left off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Finished epochs.
    pub epochs: usize,
    /// Finished steps.
    pub steps: usize,
}

/// Writes the trainer's state after `epochs` finished epochs.
pub fn save(path: &Path, trainer: &Trainer, epochs: usize) -> Result<()> {
    let mut state = state_dict(&trainer.g, &trainer.model);
    state.extend(with_prefix("optimizer", trainer.optimizer.state_dict()));
    if let Some((prefix, momentum)) = trainer.recipe.momentum_model() {
        state.extend(with_prefix(prefix, state_dict(&trainer.g, momentum)));
    }
    if let Some(memory) = trainer.recipe.memory() {
        state.extend(memory.state());
    }
    let metadata = HashMap::from([
        ("epochs".to_string(), epochs.to_string()),
        ("steps".to_string(), trainer.steps_done.to_string()),
        ("ranks".to_string(), world(trainer).to_string()),
        ("config".to_string(), trainer.config.to_toml()),
    ]);
    Ok(save_safetensors_with_metadata(path, &state, &metadata)?)
}

/// The configuration stored in a checkpoint.
pub fn config(path: &Path) -> Result<TrainConfig> {
    let meta = load_metadata(path)?;
    let text = meta.get("config").ok_or_else(|| missing(path, "config"))?;
    TrainConfig::from_toml(text)
}

/// Restores a trainer built with the same configuration; returns where it left off.
/// All or nothing: every tensor is checked before the trainer changes, so on an error the
/// trainer is as it was.
pub fn load(path: &Path, trainer: &mut Trainer) -> Result<Progress> {
    let meta = load_metadata(path)?;
    let number = |key: &str| -> Result<usize> {
        meta.get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| missing(path, key))
    };
    let progress = Progress {
        epochs: number("epochs")?,
        steps: number("steps")?,
    };
    // Checkpoints from before data-parallel training have no `ranks`: one process.
    let saved_ranks = if meta.contains_key("ranks") {
        number("ranks")?
    } else {
        1
    };
    if saved_ranks != world(trainer) {
        return Err(Error::Config(format!(
            "{} was written by a run on {saved_ranks} rank(s), this run has {}: resume with the \
             same number of ranks (`mpirun -np {saved_ranks} contrast train --distributed --resume \
             DIR`, or no mpirun for 1), or start a new run with --out",
            path.display(),
            world(trainer)
        )));
    }
    let mut state = load_safetensors::<f32>(path)?;
    let optimizer_state = strip_prefix("optimizer", &state);
    let momentum_prefix = trainer.recipe.momentum_model().map(|(prefix, _)| prefix);
    let momentum_state = momentum_prefix.map(|prefix| strip_prefix(prefix, &state));
    // Rebuilt aside (the one fallible change), swapped in once everything else passed.
    let memory = match trainer.recipe.memory() {
        Some(memory) => Some(memory.restored(&state)?),
        None => None,
    };
    state.retain(|k, _| {
        !k.starts_with("optimizer.")
            && !k.starts_with("queue.")
            && !k.starts_with("xbm.")
            && momentum_prefix.is_none_or(|p| !k.starts_with(&format!("{p}.")))
    });

    // Checks: the model's tensors, the optimizer's (names and shapes against the model's
    // params, then its own value checks, on a copy), the momentum network's, the queue.
    check_names_and_shapes(&expected_shapes(&trainer.g, &trainer.model), &state)?;
    check_optimizer_state(&param_shapes(&trainer.g, &trainer.model), &optimizer_state)?;
    let mut optimizer = trainer.optimizer.clone();
    optimizer.load_state_dict(&optimizer_state)?;
    if let (Some((_, momentum)), Some(momentum_state)) =
        (trainer.recipe.momentum_model(), &momentum_state)
    {
        check_names_and_shapes(&expected_shapes(&trainer.g, momentum), momentum_state)?;
    }
    // Changes, each already checked.
    load_state_dict(&mut trainer.g, &mut trainer.model, &state)?;
    trainer.optimizer = optimizer;
    if let (Some((_, momentum)), Some(momentum_state)) =
        (trainer.recipe.momentum_model_mut(), &momentum_state)
    {
        load_state_dict(&mut trainer.g, momentum, momentum_state)?;
    }
    if let (Some(slot), Some(memory)) = (trainer.recipe.memory_mut(), memory) {
        *slot = memory;
    }
    trainer.steps_done = progress.steps;
    Ok(progress)
}

/// Ranks of the trainer's run (1 without data-parallel training).
fn world(trainer: &Trainer) -> usize {
    trainer
        .ranks
        .as_ref()
        .map_or(1, crate::distributed::Ranks::world)
}

fn missing(path: &Path, what: &str) -> Error {
    Error::Config(format!(
        "{}: not a contrast training checkpoint (no `{what}` entry)",
        path.display()
    ))
}
