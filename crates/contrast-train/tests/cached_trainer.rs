//! Cached-gradient steps in the trainer (f32, the small CNN on the embedded 8x8 digits):
//!
//! - a chunk that covers the batch is the plain step (bit for bit, which is within 1e-5);
//! - a chunked run trains, and resumes bit for bit;
//! - running statistics (the model's and MoCo's key encoder's) move as in the first pass
//!   alone, and MoCo's queue takes each key once.

#[path = "support/bits.rs"]
mod bits;
use bits::assert_bit_equal;

use contrast_autodiff::Graph;
use contrast_nn::Module;
use contrast_nn::checkpoint::state_dict;
use contrast_nn::state::StateDict;
use contrast_train::batch::{Batch, chunks};
use contrast_train::checkpoint;
use contrast_train::config::{Method, TrainConfig};
use contrast_train::recipes::{Recipe, views_per_sample};
use contrast_train::source::Plan;
use contrast_train::tasks;
use contrast_train::trainer::Trainer;

const BATCH: usize = 96;

fn config(method: Method, chunk_size: Option<usize>) -> TrainConfig {
    TrainConfig {
        dataset: "digits".into(),
        method,
        epochs: 3,
        batch_size: BATCH,
        lr: 3e-3,
        queue_size: 256,
        samples_per_class: 16,
        chunk_size,
        ..TrainConfig::default()
    }
}

fn trainer(config: &TrainConfig) -> Trainer {
    let task = tasks::load(config).unwrap();
    Trainer::new(config, task.as_ref()).unwrap()
}

/// The first `count` batches of epoch 0, as the trainer's epoch would make them.
fn batches(config: &TrainConfig, count: usize) -> Vec<Batch> {
    let task = tasks::load(config).unwrap();
    let source = task.source(config, views_per_sample(config)).unwrap();
    let plan = Plan::for_config(config)
        .batches(source.as_ref(), config.batch_size, config.seed, 0)
        .unwrap();
    plan.iter()
        .take(count)
        .map(|indices| source.batch(indices, 0).unwrap())
        .collect()
}

fn snapshot(trainer: &Trainer) -> StateDict<f32> {
    let mut all = state_dict(&trainer.g, &trainer.model);
    if let Some((prefix, momentum)) = trainer.recipe.momentum_model() {
        for (name, value) in state_dict(&trainer.g, momentum) {
            all.insert(format!("{prefix}.{name}"), value);
        }
    }
    all
}

/// Three steps with the batch in one chunk (exactly the batch, and more than it) leave the
/// same losses, parameters, running statistics and momentum network as three plain steps.
fn one_chunk_is_the_plain_step(method: Method) {
    let plain_config = config(method, None);
    let steps = batches(&plain_config, 3);
    let run = |chunk_size| {
        let mut t = trainer(&config(method, chunk_size));
        let losses: Vec<f32> = steps.iter().map(|b| t.step(b, 0).unwrap()).collect();
        (losses, snapshot(&t))
    };
    let (plain_losses, plain) = run(None);
    for chunk in [BATCH, 1000] {
        let (losses, got) = run(Some(chunk));
        for (a, b) in plain_losses.iter().zip(&losses) {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs(),
                "{method:?}: loss {a} vs {b}"
            );
        }
        assert_eq!(plain_losses, losses, "{method:?} chunk {chunk}");
        assert_bit_equal(&plain, &got, &format!("{method:?} chunk {chunk}"));
    }
}

#[test]
fn simclr_one_chunk_is_the_plain_step() {
    one_chunk_is_the_plain_step(Method::Simclr);
}

#[test]
fn supcon_one_chunk_is_the_plain_step() {
    one_chunk_is_the_plain_step(Method::Supcon);
}

#[test]
fn moco_one_chunk_is_the_plain_step() {
    one_chunk_is_the_plain_step(Method::Moco);
}

#[test]
fn triplet_and_byol_one_chunk_is_the_plain_step() {
    one_chunk_is_the_plain_step(Method::Triplet);
    one_chunk_is_the_plain_step(Method::Byol);
}

/// Chunks that do not divide the batch (40, 40, 16): the loss falls over three epochs.
fn chunked_run_trains(method: Method) {
    let mut t = trainer(&config(method, Some(40)));
    let losses: Vec<f64> = (0..3).map(|e| t.epoch(e, |_| {}).unwrap()).collect();
    assert!(losses[2] < losses[0], "{method:?}: {losses:?}");
}

#[test]
fn chunked_simclr_trains() {
    chunked_run_trains(Method::Simclr);
}

#[test]
fn chunked_moco_trains() {
    chunked_run_trains(Method::Moco);
}

#[test]
fn chunked_supcon_trains() {
    chunked_run_trains(Method::Supcon);
}

/// Two epochs, a checkpoint, a third epoch in a fresh trainer: the same as three in a row.
#[test]
fn a_chunked_run_resumes_bit_for_bit() {
    let config = config(Method::Simclr, Some(40));
    let mut straight = trainer(&config);
    for e in 0..3 {
        straight.epoch(e, |_| {}).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    let mut first = trainer(&config);
    for e in 0..2 {
        first.epoch(e, |_| {}).unwrap();
    }
    checkpoint::save(&path, &first, 2).unwrap();
    drop(first);
    let mut resumed = trainer(&config);
    assert_eq!(checkpoint::load(&path, &mut resumed).unwrap().epochs, 2);
    resumed.epoch(2, |_| {}).unwrap();
    assert_bit_equal(&snapshot(&straight), &snapshot(&resumed), "resumed");
}

/// The buffers of `trainer`'s model and momentum network after running only the first pass
/// of a chunked step on `batch` (every chunk encoded once, without a graph).
fn after_first_pass_alone(trainer: &mut Trainer, batch: &Batch, chunk: usize) -> StateDict<f32> {
    trainer.model.set_training(true);
    for range in chunks(batch.len(), chunk) {
        let part = batch.samples(range);
        let (g, model, recipe): (&mut Graph<f32>, _, &mut Recipe) =
            (&mut trainer.g, &mut trainer.model, &mut trainer.recipe);
        g.no_grad(|g| recipe.encode(g, model, &part).map(|_| ()))
            .unwrap();
        g.reset();
    }
    buffers(trainer)
}

fn buffers(trainer: &Trainer) -> StateDict<f32> {
    let mut all = snapshot(trainer);
    let params: Vec<String> = trainer
        .model
        .named_params()
        .into_iter()
        .map(|p| p.name)
        .chain(
            trainer
                .recipe
                .momentum_model()
                .into_iter()
                .flat_map(|(prefix, m)| {
                    m.named_params()
                        .into_iter()
                        .map(move |p| format!("{prefix}.{}", p.name))
                }),
        )
        .collect();
    all.retain(|name, _| !params.contains(name));
    all
}

/// Running statistics move once per step (in the first pass), not again in the replay; MoCo's
/// key encoder runs once, and its queue takes the batch's keys once.
#[test]
fn running_statistics_and_the_queue_move_once_per_chunked_step() {
    for method in [Method::Simclr, Method::Moco] {
        let config = config(method, Some(40));
        let batch = batches(&config, 1).remove(0);
        let expected = after_first_pass_alone(&mut trainer(&config), &batch, 40);
        let mut chunked = trainer(&config);
        let before = buffers(&chunked);
        chunked.step(&batch, 0).unwrap();
        let after = buffers(&chunked);
        assert!(
            !after.is_empty() && after != before,
            "{method:?}: no running statistics moved"
        );
        assert_bit_equal(&expected, &after, &format!("{method:?} running statistics"));
        if let Recipe::Moco(moco) = &chunked.recipe {
            let queue = moco.objective().memory().expect("moco's default queue");
            assert_eq!(queue.len(), BATCH, "each key enqueued once");
        }
    }
}

/// A chunk of 0 is refused by name.
#[test]
fn chunk_size_zero_is_refused() {
    let config = config(Method::Simclr, Some(0));
    let task = tasks::load(&config).unwrap();
    let e = Trainer::new(&config, task.as_ref()).err().expect("refused");
    assert!(e.to_string().contains("chunk_size"), "{e}");
}
