//! Saving and loading a module's parameters, buffers and optimizer state.
//!
//! A module's state dict holds its params (from the graph) and its buffers under their dotted
//! names. A checkpoint file is that state dict plus, optionally, the optimizer's state under
//! the prefix `optimizer.`, in one safetensors file written atomically (see
//! [`param_file`](crate::param_file)). Loading checks every name and shape first (the
//! optimizer's buffers against the params they belong to) and changes nothing unless all of
//! them match.

use std::collections::HashMap;
use std::path::Path;

use ndarray::NdFloat;

use contrast_autodiff::Graph;

use crate::error::{Error, Result, ShapeMismatch};
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
/// [`Error::StateMismatch`] lists all differences and nothing is changed.
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

/// Names and shapes of the module's params (values from `g`): what optimizer state is
/// checked against ([`check_optimizer_state`]).
pub fn param_shapes<A: NdFloat, M: Module<A> + ?Sized>(
    g: &Graph<A>,
    m: &M,
) -> Vec<(String, Vec<usize>)> {
    m.named_params()
        .iter()
        .map(|p| (p.name.clone(), g.value(p.var).shape().to_vec()))
        .collect()
}

/// Names and shapes of the module's params and buffers, in state-dict order.
pub fn expected_shapes<A: NdFloat, M: Module<A> + ?Sized>(
    g: &Graph<A>,
    m: &M,
) -> Vec<(String, Vec<usize>)> {
    let mut expected = param_shapes(g, m);
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

/// Check optimizer state (names without the `optimizer.` prefix, as
/// [`Optimizer::load_state_dict`] takes them) against the model's params (`params`: name and
/// shape, e.g. from [`param_shapes`]), before it is loaded.
///
/// An entry `<param>.<buffer>` must name a param of `params` and have its shape; entries
/// without a dot (scalars such as Adam's `step`) are left to the optimizer, which also checks
/// the buffer names and values. An optimizer makes its buffers on a param's first step, so no
/// buffer is required. All problems are reported at once as an
/// [`Error::StateMismatch`] whose names carry the `optimizer.`
/// prefix, as in a checkpoint file.
pub fn check_optimizer_state<A>(
    params: &[(String, Vec<usize>)],
    state: &StateDict<A>,
) -> Result<()> {
    let shapes: HashMap<&str, &[usize]> = params
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    let mut unexpected = Vec::new();
    let mut mismatched = Vec::new();
    for (name, value) in state {
        // Buffer names have no dots, param names may: the param is all before the last dot.
        let Some((param, _buffer)) = name.rsplit_once('.') else {
            continue;
        };
        let full = with_optimizer_prefix(name);
        match shapes.get(param) {
            None => unexpected.push(full),
            Some(&shape) if value.shape() != shape => mismatched.push(ShapeMismatch {
                name: full,
                expected: shape.to_vec(),
                found: value.shape().to_vec(),
            }),
            Some(_) => {}
        }
    }
    if unexpected.is_empty() && mismatched.is_empty() {
        Ok(())
    } else {
        Err(Error::StateMismatch {
            missing: vec![],
            unexpected,
            mismatched,
        })
    }
}

/// `name` as it is stored in a checkpoint file.
fn with_optimizer_prefix(name: &str) -> String {
    format!("{OPTIMIZER_PREFIX}.{name}")
}

/// Load a file written by [`save_checkpoint`] into the module (and the optimizer, if given).
///
/// The names and shapes of the module part must match exactly; optimizer entries are only
/// read when `opt` is given (and ignored otherwise), and must then fit the module's params
/// ([`check_optimizer_state`]). The problems of both parts are reported together in one
/// [`Error::StateMismatch`], and nothing changes unless
/// everything loads.
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
    // Check the model part and the optimizer's buffers before touching either, so that
    // either both load or neither changes (each load on its own is all-or-nothing).
    let model_check = check_names_and_shapes(&expected_shapes(g, m), &state);
    let opt_check = match opt {
        Some(_) => check_optimizer_state(&param_shapes(g, m), &opt_state),
        None => Ok(()),
    };
    both(model_check, opt_check)?;
    if let Some(opt) = opt {
        opt.load_state_dict(&opt_state)?;
    }
    load_state_dict(g, m, &state)
}

/// Ok when both are; two state mismatches become one listing everything; otherwise the
/// first error.
fn both(a: Result<()>, b: Result<()>) -> Result<()> {
    match (a, b) {
        (
            Err(Error::StateMismatch {
                mut missing,
                mut unexpected,
                mut mismatched,
            }),
            Err(Error::StateMismatch {
                missing: m2,
                unexpected: u2,
                mismatched: s2,
            }),
        ) => {
            missing.extend(m2);
            unexpected.extend(u2);
            mismatched.extend(s2);
            Err(Error::StateMismatch {
                missing,
                unexpected,
                mismatched,
            })
        }
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(()),
    }
}
