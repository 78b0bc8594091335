//! Checkpoints: everything a run needs to continue exactly where it stopped, in one
//! safetensors file written atomically (temporary file, fsync, rename).
//!
//! Tensors: the model's parameters and batch-norm statistics under their dotted names
//! (`encoder.net.0.weight`, `head.layers.1.running_mean`, ...), the optimizer's state under
//! `optimizer.`, and for MoCo the key encoder under `key.` and the queue as `queue.keys`.
//! Metadata: the number of finished epochs and steps, and the configuration as TOML.
//! Since every random stream is keyed by `(seed, epoch, ...)`, nothing else is needed for
//! a resumed run to reach the same parameters as an uninterrupted one.

use std::collections::HashMap;
use std::path::Path;

use contrast_nn::checkpoint::{check_optimizer_state, load_state_dict, param_shapes, state_dict};
use contrast_nn::optim::Optimizer;
use contrast_nn::param_file::{load_metadata, load_safetensors, save_safetensors_with_metadata};
use contrast_nn::state::{strip_prefix, with_prefix};

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::recipes::Recipe;
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
    if let Recipe::Moco(moco) = &trainer.recipe {
        state.extend(with_prefix("key", state_dict(&trainer.g, moco.key_model())));
        state.insert("queue.keys".into(), moco.queue_keys().into_dyn());
    }
    let metadata = HashMap::from([
        ("epochs".to_string(), epochs.to_string()),
        ("steps".to_string(), trainer.steps_done.to_string()),
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
    let mut state = load_safetensors::<f32>(path)?;
    let optimizer = strip_prefix("optimizer", &state);
    let key = strip_prefix("key", &state);
    let queue = state.remove("queue.keys");
    state.retain(|k, _| !k.starts_with("optimizer.") && !k.starts_with("key."));
    // The optimizer's buffers must belong to the model's params, checked before anything
    // changes (the optimizer itself only knows buffer names, not param shapes).
    check_optimizer_state(&param_shapes(&trainer.g, &trainer.model), &optimizer)?;
    load_state_dict(&mut trainer.g, &mut trainer.model, &state)?;
    trainer.optimizer.load_state_dict(&optimizer)?;
    if let Recipe::Moco(moco) = &mut trainer.recipe {
        load_state_dict(&mut trainer.g, moco.key_model_mut(), &key)?;
        let keys = queue.ok_or_else(|| missing(path, "queue.keys"))?;
        moco.restore_queue(keys)?;
    }
    trainer.steps_done = progress.steps;
    Ok(progress)
}

fn missing(path: &Path, what: &str) -> Error {
    Error::Config(format!(
        "{}: not a contrast training checkpoint (no `{what}` entry)",
        path.display()
    ))
}
