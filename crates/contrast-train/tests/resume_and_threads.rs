//! A resumed run reaches the same parameters as an uninterrupted one, and the number of
//! threads does not change the result.

use contrast_data::resolve;
use contrast_nn::checkpoint::state_dict;
use contrast_nn::state::StateDict;
use contrast_train::checkpoint;
use contrast_train::config::{Method, TrainConfig};
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

fn params_after(
    config: &TrainConfig,
    epochs: std::ops::Range<usize>,
    trainer: &mut Trainer,
) -> StateDict<f32> {
    let data = resolve(&config.dataset).unwrap();
    for epoch in epochs {
        trainer.epoch(&data.train, epoch, |_| {}).unwrap();
    }
    state_dict(&trainer.g, &trainer.model)
}

fn assert_bit_equal(a: &StateDict<f32>, b: &StateDict<f32>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, x) in a {
        let y = &b[name];
        let same = x
            .iter()
            .zip(y.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same, "{name} differs");
    }
}

fn resume_matches(method: Method) {
    let config = config(method);
    let data = resolve(&config.dataset).unwrap();
    let mut straight = Trainer::new(&config, &data.train).unwrap();
    let expected = params_after(&config, 0..3, &mut straight);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    let mut first = Trainer::new(&config, &data.train).unwrap();
    params_after(&config, 0..2, &mut first);
    checkpoint::save(&path, &first, 2).unwrap();
    drop(first);

    let mut resumed = Trainer::new(&config, &data.train).unwrap();
    let progress = checkpoint::load(&path, &mut resumed).unwrap();
    assert_eq!(progress.epochs, 2);
    let got = params_after(&config, progress.epochs..3, &mut resumed);
    assert_bit_equal(&expected, &got);
}

#[test]
fn simclr_resume_equals_uninterrupted() {
    resume_matches(Method::Simclr);
}

#[test]
fn moco_resume_equals_uninterrupted() {
    resume_matches(Method::Moco);
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
        pool.install(|| {
            let data = resolve(&config.dataset).unwrap();
            let mut trainer = Trainer::new(&config, &data.train).unwrap();
            params_after(&config, 0..1, &mut trainer)
        })
    };
    assert_bit_equal(&run(1), &run(2));
}

#[test]
fn a_diverging_loss_stops_with_a_message_naming_step_and_causes() {
    let config = TrainConfig {
        lr: 1e30,
        ..config(Method::Simclr)
    };
    let data = resolve(&config.dataset).unwrap();
    let mut trainer = Trainer::new(&config, &data.train).unwrap();
    let before = state_dict(&trainer.g, &trainer.model);
    let mut result = Ok(0.0);
    for epoch in 0..3 {
        result = trainer.epoch(&data.train, epoch, |_| {});
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
