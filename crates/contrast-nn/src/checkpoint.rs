//! Saving and loading a module's parameters, buffers and optimizer state.
//!
//! A module's state dict holds its params (from the graph) and its buffers under their dotted
//! names. A checkpoint file is that state dict plus, optionally, the optimizer's state under
//! the prefix `optimizer.`, in one safetensors file written atomically (see
//! [`param_file`](crate::param_file)). Loading checks every name and shape first and changes
//! nothing unless all of them match.

use std::collections::HashMap;
use std::path::Path;

use ndarray::NdFloat;

use contrast_autodiff::Graph;

use crate::error::Result;
use crate::module::Module;
use crate::optim::Optimizer;
use crate::param_file::{load_safetensors, save_safetensors_with_metadata};
use crate::state::{StateDict, check_names_and_shapes, strip_prefix, with_prefix};

/// Prefix of optimizer entries in a checkpoint file.
pub const OPTIMIZER_PREFIX: &str = "optimizer";

/// The module's params (values from `g`) and buffers, by dotted name.
pub fn state_dict<A: NdFloat, M: Module<A> + ?Sized>(g: &Graph<A>, m: &M) -> StateDict<A> {
    let mut out = StateDict::new();
    for p in m.named_params() {
        out.insert(p.name, g.value(p.var).clone());
    }
    for (name, view) in m.named_buffers() {
        out.insert(name, view.to_owned());
    }
    out
}

/// Copy `state` into the module's params and buffers. Every name the module has must be
/// present with the same shape and nothing else may be; otherwise an
/// [`Error::StateMismatch`](crate::Error::StateMismatch) lists all differences and nothing is changed.
pub fn load_state_dict<A: NdFloat, M: Module<A> + ?Sized>(
    g: &mut Graph<A>,
    m: &mut M,
    state: &StateDict<A>,
) -> Result<()> {
    check_names_and_shapes(&expected_shapes(g, m), state)?;
    let params = m.named_params();
    for p in &params {
        g.value_mut(p.var).assign(&state[&p.name]);
    }
    m.visit_buffers_mut("", &mut |name, mut view| view.assign(&state[&name]));
    Ok(())
}

/// Names and shapes of the module's params and buffers, in state-dict order.
pub fn expected_shapes<A: NdFloat, M: Module<A> + ?Sized>(
    g: &Graph<A>,
    m: &M,
) -> Vec<(String, Vec<usize>)> {
    let mut expected: Vec<(String, Vec<usize>)> = m
        .named_params()
        .iter()
        .map(|p| (p.name.clone(), g.value(p.var).shape().to_vec()))
        .collect();
    expected.extend(
        m.named_buffers()
            .into_iter()
            .map(|(n, v)| (n, v.shape().to_vec())),
    );
    expected
}

/// Write the module's state (and the optimizer's, if given) to a safetensors file, atomically.
/// `metadata` strings (e.g. the model config as JSON) go into the file header.
pub fn save_checkpoint<A: NdFloat, M: Module<A> + ?Sized>(
    path: impl AsRef<Path>,
    g: &Graph<A>,
    m: &M,
    opt: Option<&dyn Optimizer<A>>,
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let mut state = state_dict(g, m);
    if let Some(opt) = opt {
        state.extend(with_prefix(OPTIMIZER_PREFIX, opt.state_dict()));
    }
    save_safetensors_with_metadata(path, &state, metadata)
}

/// Load a file written by [`save_checkpoint`] into the module (and the optimizer, if given).
/// The names and shapes of the module part must match exactly; optimizer entries are only
/// read when `opt` is given (and ignored otherwise).
pub fn load_checkpoint<A: NdFloat, M: Module<A> + ?Sized>(
    path: impl AsRef<Path>,
    g: &mut Graph<A>,
    m: &mut M,
    opt: Option<&mut dyn Optimizer<A>>,
) -> Result<()> {
    let mut state = load_safetensors::<A>(path)?;
    let opt_state = strip_prefix(OPTIMIZER_PREFIX, &state);
    let prefix = format!("{OPTIMIZER_PREFIX}.");
    state.retain(|k, _| !k.starts_with(&prefix));
    // Check the model part before touching the optimizer, so that either both load or
    // neither changes (each load on its own is all-or-nothing).
    check_names_and_shapes(&expected_shapes(g, m), &state)?;
    if let Some(opt) = opt {
        opt.load_state_dict(&opt_state)?;
    }
    load_state_dict(g, m, &state)
}
