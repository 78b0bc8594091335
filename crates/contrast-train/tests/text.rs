//! Sentence embeddings from pairs on the embedded Bible slice (`bible-slice:web-es`, no
//! install needed): the loss falls, retrieval beats the random encoder, a resumed run is
//! exact, the learnable temperature is clamped, the table's update is row-sparse, the
//! unsupervised mode trains, and bad inputs are typed errors that write nothing.

#[path = "support/bits.rs"]
mod bits;
use bits::assert_bit_equal;

use contrast_autodiff::Grad;
use contrast_nn::checkpoint::state_dict;
use contrast_nn::optim::Optimizer;
use contrast_train::batch::Input;
use contrast_train::checkpoint;
use contrast_train::config::{Method, TrainConfig};
use contrast_train::run::{Silent, train};
use contrast_train::tasks::{self, text};
use contrast_train::trainer::Trainer;
use contrast_train::{Error, eval::report::RANDOM, eval::report::TRAINED};

/// A small text model, so each test takes seconds: 2^14 buckets, 32-wide bags.
fn config() -> TrainConfig {
    TrainConfig {
        buckets: 1 << 14,
        text_dims: vec![32, 32],
        projection_dim: 32,
        batch_size: 128,
        epochs: 3,
        lr: 2e-2,
        // The first step at the peak rate: a step at rate 0 would change nothing.
        warmup_epochs: 0,
        checkpoint_every: 1,
        ..TrainConfig::for_dataset(text::DEFAULT_TEXT_DATASET)
    }
}

fn trainer(config: &TrainConfig) -> Trainer {
    let task = tasks::load(config).unwrap();
    Trainer::new(config, task.as_ref()).unwrap()
}

#[test]
fn the_defaults_of_text_are_the_pairs_recipe() {
    let c = TrainConfig::for_dataset("bible:web-es");
    assert_eq!(c.method, Method::Pairs);
    assert_eq!(c.dataset, "bible:web-es");
    assert_eq!(TrainConfig::for_dataset("digits").method, Method::Simclr);
}

#[test]
fn loss_falls_and_retrieval_beats_the_random_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        out: dir.path().join("run"),
        epochs: 8,
        augment_pairs: true,
        ..config()
    };
    let summary = train(&config, false, &mut Silent).unwrap();
    let losses: Vec<f64> = summary.epochs.iter().map(|m| m.loss).collect();
    assert!(losses[7] < 0.8 * losses[0], "{losses:?}");
    let report = &summary.report;
    for column in [
        "web->es top-1@1000",
        "es->web top-1@1000",
        "web->es MRR@1000",
        "es->web MRR@1000",
    ] {
        let trained = report.get(TRAINED, column).unwrap();
        let random = report.get(RANDOM, column).unwrap();
        // Chance is 0.001 top-1 in a pool of 1,000 (the slice's 1,665 training pairs and a
        // tiny model teach little in 8 epochs; the full Bible is the README's measurement).
        assert!(
            trained > 0.004 && trained > 2.0 * random,
            "{column}: {trained} vs {random}"
        );
    }
    assert!(
        report
            .get("TF-IDF (same hashed features)", "web->es top-1 all")
            .unwrap()
            > 0.05
    );
    for file in [
        "report.json",
        "metrics.jsonl",
        "retrieval.png",
        "embeddings.npy",
    ] {
        assert!(dir.path().join("run").join(file).is_file(), "{file}");
    }
    let monitored = &summary.epochs[0].monitor;
    assert!(
        monitored.contains_key("web->es top-1@1000"),
        "{monitored:?}"
    );
}

#[test]
fn the_table_update_touches_only_the_rows_of_the_batch() {
    let config = config();
    let mut t = trainer(&config);
    let batch = t.batch(&t.plan(0).unwrap()[0], 0).unwrap();
    let table = t
        .params
        .iter()
        .find(|p| p.name == "encoder.embedding.weight")
        .unwrap()
        .var;
    let before = t.g.value(table).clone();
    t.loss_and_gradients(&batch).unwrap();
    let Some(Grad::Rows(grad)) = t.g.gradient(table) else {
        panic!("the table's gradient must be row-sparse")
    };
    let used = grad.rows().to_vec();
    t.g.zero_grad();
    t.step(&batch, 0).unwrap();
    let after = t.g.value(table);
    let mut ids: Vec<u32> = batch
        .views
        .iter()
        .flat_map(|v| match v {
            Input::Bags(b) => b.ids.clone(),
            Input::Images(_) => unreachable!(),
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(used, ids.iter().map(|&i| i as usize).collect::<Vec<_>>());
    for row in 0..config.buckets as usize {
        let changed =
            before.index_axis(ndarray::Axis(0), row) != after.index_axis(ndarray::Axis(0), row);
        assert_eq!(
            changed,
            ids.binary_search(&(row as u32)).is_ok(),
            "row {row}"
        );
    }
}

#[test]
fn a_resumed_run_is_exact_with_lazy_adam_state_and_a_learned_temperature() {
    let config = TrainConfig {
        learnable_temperature: true,
        ..config()
    };
    let mut straight = trainer(&config);
    for epoch in 0..3 {
        straight.epoch(epoch, |_| {}).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    let mut first = trainer(&config);
    for epoch in 0..2 {
        first.epoch(epoch, |_| {}).unwrap();
    }
    checkpoint::save(&path, &first, 2).unwrap();
    drop(first);
    let mut resumed = trainer(&config);
    assert_eq!(checkpoint::load(&path, &mut resumed).unwrap().epochs, 2);
    resumed.epoch(2, |_| {}).unwrap();
    let state = state_dict(&straight.g, &straight.model);
    assert!(state.contains_key("logit_scale"));
    assert_bit_equal(&state, &state_dict(&resumed.g, &resumed.model), "resumed");
    assert_bit_equal(
        &straight.optimizer.state_dict(),
        &resumed.optimizer.state_dict(),
        "optimizer state",
    );
}

#[test]
fn the_learnable_temperature_moves_and_is_clamped_as_clip_clamps_it() {
    let config = TrainConfig {
        learnable_temperature: true,
        temperature: 0.05,
        ..config()
    };
    let mut t = trainer(&config);
    let scale = t.model.logit_scale().unwrap();
    let start = t.g.value(scale)[[0]];
    assert!((start - 20f32.ln()).abs() < 1e-6);
    let plan = t.plan(0).unwrap();
    let batch = t.batch(&plan[0], 0).unwrap();
    t.step(&batch, 0).unwrap();
    assert_ne!(
        t.g.value(scale)[[0]],
        start,
        "the log-scale gets a gradient"
    );
    // Past the bound (T < 0.01): the step's clamp brings it back to ln 100.
    t.g.value_mut(scale)[[0]] = 7.0;
    t.step(&batch, 0).unwrap();
    assert!((t.g.value(scale)[[0]] - 100f32.ln()).abs() < 1e-6);
    t.g.value_mut(scale)[[0]] = -1.0;
    t.step(&batch, 0).unwrap();
    assert_eq!(t.g.value(scale)[[0]], 0.0, "T <= 1");
}

#[test]
fn the_unsupervised_mode_trains_on_word_dropping_views() {
    let config = TrainConfig {
        unsupervised: true,
        epochs: 3,
        ..config()
    };
    let mut t = trainer(&config);
    let losses: Vec<f64> = (0..3).map(|e| t.epoch(e, |_| {}).unwrap()).collect();
    assert!(losses[2] < 0.9 * losses[0], "{losses:?}");
}

#[test]
fn bad_inputs_are_typed_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.tsv");
    std::fs::write(&pairs, "hello\thola\nno tab here\n").unwrap();
    let out = dir.path().join("run");
    let run = |c: TrainConfig| {
        train(
            &TrainConfig {
                out: out.clone(),
                ..c
            },
            false,
            &mut Silent,
        )
    };
    let e = run(TrainConfig {
        dataset: format!("pairs:{}", pairs.display()),
        ..config()
    })
    .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Text(contrast_text::Error::BadPairLine { line: 2, .. })
        ),
        "{e}"
    );
    let e = run(TrainConfig {
        dataset: "bible-slice:web-xx".into(),
        ..config()
    })
    .unwrap_err();
    assert!(
        matches!(&e, Error::Text(contrast_text::Error::BadDatasetSpec { .. })),
        "{e}"
    );
    for bad in [
        TrainConfig {
            text_dims: vec![32, 0],
            ..config()
        },
        TrainConfig {
            buckets: 0,
            ..config()
        },
        TrainConfig {
            learnable_temperature: true,
            method: Method::Simclr,
            ..config()
        },
        TrainConfig {
            learnable_temperature: true,
            temperature: 2.0,
            ..config()
        },
    ] {
        assert!(matches!(run(bad), Err(Error::Config(_))));
    }
    assert!(!out.exists(), "nothing may be written");
}

#[test]
fn texts_embed_into_the_retrieval_space() {
    let mut t = trainer(&config());
    let rows = text::embed_texts(&mut t, &["In the beginning", "En el principio", "x"]).unwrap();
    assert_eq!(rows.dim(), (3, 32));
    assert!(rows.iter().all(|v| v.is_finite()));
}

#[test]
fn a_cached_gradient_step_of_one_chunk_is_the_plain_step_learned_temperature_included() {
    let plain = TrainConfig {
        learnable_temperature: true,
        ..config()
    };
    let chunked = TrainConfig {
        chunk_size: Some(plain.batch_size),
        ..plain.clone()
    };
    let mut states = Vec::new();
    for config in [plain, chunked] {
        let mut t = trainer(&config);
        let batch = t.batch(&t.plan(0).unwrap()[0], 0).unwrap();
        t.step(&batch, 0).unwrap();
        t.step(&batch, 0).unwrap();
        states.push(state_dict(&t.g, &t.model));
    }
    assert_bit_equal(&states[0], &states[1], "chunked vs plain");
}
