//! Safetensors parameter files and checkpoints of contrast-nn on arbitrary bytes.
//!
//! Input: a mode byte, then the file. The file is read as f32 and as f64 tensors and its
//! metadata is read; none of these may panic. A file that loads must save and load back to
//! the same bits. Then it is loaded as a checkpoint of `Linear(2 -> 2)` with an optimizer
//! (`mode % 3`: SGD with momentum, Adam, LARS) in f32 or f64 (`mode / 3 % 2`): a load that
//! fails must leave the model as it was; one that succeeds must allow a training step, and
//! when every loaded number is moderate (finite, at most 1e6, the step count aside) the
//! step must leave the parameters finite.
#![no_main]

use std::path::Path;

use contrast_autodiff::Graph;
use contrast_fuzz::loss_input::moderate;
use contrast_fuzz::scratch::write_scratch;
use contrast_nn::Module;
use contrast_nn::checkpoint::{load_checkpoint, state_dict};
use contrast_nn::layers::Linear;
use contrast_nn::optim::{Adam, Lars, Optimizer, Sgd, graph_step};
use contrast_nn::param_file::{load_metadata, load_safetensors, save_safetensors};
use contrast_nn::state::StateDict;
use libfuzzer_sys::fuzz_target;
use ndarray::{ArrayD, IxDyn, NdFloat};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let path = write_scratch("params.safetensors", file);
    let _ = load_metadata(&path);
    if mode / 3 % 2 == 0 {
        check::<f32>(&path, mode % 3);
    } else {
        check::<f64>(&path, mode % 3);
    }
});

/// Same values, NaN payloads and signed zeros included.
fn same_bits<A: NdFloat>(a: &ArrayD<A>, b: &ArrayD<A>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_f64().unwrap().to_bits() == y.to_f64().unwrap().to_bits())
}

/// Every number moderate (finite, at most 1e6; the step count aside).
fn could_come_from_training<A: NdFloat>(state: &StateDict<A>) -> bool {
    let numbers = state
        .iter()
        .filter(|(name, _)| name.as_str() != "optimizer.step")
        .flat_map(|(_, a)| a.iter().map(|v| v.to_f64().unwrap()));
    moderate(numbers, 1e6)
}

fn check<A: NdFloat>(path: &Path, optimizer: u8) {
    let Ok(state) = load_safetensors::<A>(path) else {
        return;
    };
    let copy = path.with_file_name("copy.safetensors");
    save_safetensors(&copy, &state).expect("a loaded state saves");
    let again = load_safetensors::<A>(&copy).expect("a saved state loads");
    assert_eq!(again.len(), state.len());
    for (name, a) in &state {
        assert!(
            same_bits(a, &again[name]),
            "{name} changed in a save/load round trip"
        );
    }

    let mut g = Graph::<A>::new();
    let mut layer = Linear::new(&mut g, 2, 2, true, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let mut opt: Box<dyn Optimizer<A>> = match optimizer {
        0 => Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
        1 => Box::new(Adam::new(0.01).unwrap()),
        _ => Box::new(Lars::new(0.1, 1e-6).unwrap().momentum(0.9).unwrap()),
    };
    let before = state_dict(&g, &layer);
    if load_checkpoint(path, &mut g, &mut layer, Some(opt.as_mut())).is_err() {
        let after = state_dict(&g, &layer);
        for (name, a) in &before {
            assert!(same_bits(a, &after[name]), "a failed load changed {name}");
        }
        return;
    }
    for (name, a) in state_dict(&g, &layer) {
        assert!(
            same_bits(&a, &state[&name]),
            "{name} was not loaded as stored"
        );
    }
    let x = g.input(ArrayD::from_elem(IxDyn(&[3, 2]), A::from(0.5).unwrap()));
    // Huge loaded weights may overflow to a non-finite loss, which backward refuses.
    let Ok(loss) = layer
        .forward(&mut g, x)
        .and_then(|y| Ok(g.mul(y, y)?))
        .and_then(|sq| Ok(g.mean_all(sq)?))
    else {
        return;
    };
    if g.backward(loss).is_err() {
        return;
    }
    let params = layer.named_params();
    let stepped = graph_step(opt.as_mut(), &mut g, &params);
    if stepped.is_ok() && could_come_from_training(&state) {
        for p in &params {
            assert!(
                g.value(p.var).iter().all(|v| v.is_finite()),
                "{} is not finite after one step from a moderate checkpoint",
                p.name
            );
        }
    }
}
