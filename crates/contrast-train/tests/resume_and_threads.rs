//! A resumed run reaches the same parameters as an uninterrupted one, and the number of
//! threads does not change the result.

#[path = "support/bits.rs"]
mod bits;
use bits::assert_bit_equal;

use contrast_nn::checkpoint::state_dict;
use contrast_nn::state::StateDict;
use contrast_train::checkpoint;
use contrast_train::config::{Method, TrainConfig};
use contrast_train::tasks;
use contrast_train::trainer::Trainer;

fn config(method: Method) -> TrainConfig {
    TrainConfig {
        dataset: "digits".into(),
        method,
        epochs: 3,
        batch_size: 256,
        lr: 2e-3,
        queue_size: 512,
        ..TrainConfig::default()
    }
}

fn params_after(epochs: std::ops::Range<usize>, trainer: &mut Trainer) -> StateDict<f32> {
    for epoch in epochs {
        trainer.epoch(epoch, |_| {}).unwrap();
    }
    state_dict(&trainer.g, &trainer.model)
}

fn trainer(config: &TrainConfig) -> Trainer {
    let task = tasks::load(config).unwrap();
    Trainer::new(config, task.as_ref()).unwrap()
}

fn resume_matches(method: Method) {
    let config = config(method);
    let mut straight = trainer(&config);
    let expected = params_after(0..3, &mut straight);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    let mut first = trainer(&config);
    params_after(0..2, &mut first);
    checkpoint::save(&path, &first, 2).unwrap();
    drop(first);

    let mut resumed = trainer(&config);
    let progress = checkpoint::load(&path, &mut resumed).unwrap();
    assert_eq!(progress.epochs, 2);
    let got = params_after(progress.epochs..3, &mut resumed);
    assert_bit_equal(&expected, &got, "resumed");
}

#[test]
fn simclr_resume_equals_uninterrupted() {
    resume_matches(Method::Simclr);
}

#[test]
fn moco_resume_equals_uninterrupted() {
    resume_matches(Method::Moco);
}

/// BYOL's target network and its step-indexed momentum schedule survive the checkpoint.
#[test]
fn byol_resume_equals_uninterrupted() {
    resume_matches(Method::Byol);
}

/// A checkpoint whose model tensors are fine but whose optimizer or queue is spoiled is
/// refused, and the trainer it was loaded into is left exactly as it was.
#[test]
fn a_rejected_checkpoint_changes_nothing() {
    use contrast_nn::param_file::{
        load_metadata, load_safetensors, save_safetensors_with_metadata,
    };
    type Spoil = fn(&mut StateDict<f32>);
    let spoils: [(&str, Spoil); 3] = [
        ("negative Adam second moment", |s| {
            let (_, v) = s
                .iter_mut()
                .find(|(k, _)| k.starts_with("optimizer.") && k.ends_with("exp_avg_sq"))
                .expect("Adam state saved");
            v.fill(-1.0);
        }),
        ("queue of the wrong width", |s| {
            s.insert("queue.keys".into(), ndarray::ArrayD::zeros(vec![4, 3]));
        }),
        ("key encoder tensor missing", |s| {
            let name = s.keys().find(|k| k.starts_with("key.")).unwrap().clone();
            s.remove(&name);
        }),
    ];
    let config = TrainConfig {
        epochs: 2,
        ..config(Method::Moco)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    let mut trained = trainer(&config);
    params_after(0..1, &mut trained);
    checkpoint::save(&path, &trained, 1).unwrap();
    let metadata = load_metadata(&path).unwrap();
    let saved = load_safetensors::<f32>(&path).unwrap();

    for (what, spoil) in spoils {
        let mut state = saved.clone();
        spoil(&mut state);
        save_safetensors_with_metadata(&path, &state, &metadata).unwrap();
        let mut fresh = trainer(&config);
        let before = state_dict(&fresh.g, &fresh.model);
        let optimizer_before = contrast_nn::optim::Optimizer::state_dict(&fresh.optimizer);
        let err = checkpoint::load(&path, &mut fresh);
        assert!(err.is_err(), "{what}: loaded");
        assert_bit_equal(&before, &state_dict(&fresh.g, &fresh.model), "reloaded");
        assert_eq!(
            optimizer_before.len(),
            contrast_nn::optim::Optimizer::state_dict(&fresh.optimizer).len(),
            "{what}: optimizer state changed"
        );
        assert_eq!(fresh.steps_done, 0, "{what}");
        let queue = fresh.recipe.memory().expect("MoCo keeps a queue");
        assert_eq!(queue.len(), 0, "{what}: queue changed");
        // Training from the untouched trainer still works.
        fresh.epoch(0, |_| {}).unwrap();
    }
}

#[test]
fn one_and_two_threads_train_the_same_parameters() {
    let config = TrainConfig {
        epochs: 1,
        ..config(Method::Simclr)
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| params_after(0..1, &mut trainer(&config)))
    };
    assert_bit_equal(&run(1), &run(2), "1 vs 2 threads");
}

#[test]
fn a_diverging_loss_stops_with_a_message_naming_step_and_causes() {
    let config = TrainConfig {
        lr: 1e30,
        ..config(Method::Simclr)
    };
    let mut trainer = trainer(&config);
    let before = state_dict(&trainer.g, &trainer.model);
    let mut result = Ok(0.0);
    for epoch in 0..3 {
        result = trainer.epoch(epoch, |_| {});
        if result.is_err() {
            break;
        }
    }
    let err = result.expect_err("a learning rate of 1e30 must diverge");
    let message = err.to_string();
    assert!(
        matches!(err, contrast_train::Error::Diverged { .. }),
        "{message}"
    );
    assert!(
        message.contains("step")
            && message.contains("learning rate")
            && message.contains("temperature"),
        "{message}"
    );
    // The failing step changed nothing: parameters are finite (they were before it).
    let after = state_dict(&trainer.g, &trainer.model);
    let bad: Vec<&String> = after
        .iter()
        .filter(|(_, a)| a.iter().any(|v| !v.is_finite()))
        .map(|(n, _)| n)
        .collect();
    assert!(
        bad.is_empty(),
        "non-finite after divergence: {bad:?} ({message})"
    );
    assert_eq!(before.len(), after.len());
}
