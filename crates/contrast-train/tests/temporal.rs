//! The temporal recipe on small generated CartPole sets (a few thousand transitions, no
//! cache): the loss falls and the run folder is complete, a resumed run equals an
//! uninterrupted one bit for bit, and bad settings are typed errors that write nothing.

#[path = "support/bits.rs"]
mod bits;
use bits::assert_bit_equal;

use contrast_env::{GenerationSettings, generate};
use contrast_nn::checkpoint::state_dict;
use contrast_nn::state::StateDict;
use contrast_train::Error;
use contrast_train::checkpoint;
use contrast_train::config::{Augmentation, EncoderKind, Method, TrainConfig};
use contrast_train::negatives::Sampling;
use contrast_train::run::{Silent, train, train_task};
use contrast_train::tasks::temporal::Temporal;
use contrast_train::trainer::Trainer;

/// The default temporal configuration with a tiny budget.
fn config(out: &std::path::Path) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 64,
        out: out.to_path_buf(),
        ..TrainConfig::for_dataset("cartpole")
    }
}

/// 2,000 training and 600 test transitions of CartPole in 20 x 32 frames (a quarter of the
/// default pixels, so that the pixel baselines stay cheap), generated in memory.
fn small_data() -> contrast_env::TrajectorySplits {
    let mut settings = GenerationSettings::from_spec("cartpole").unwrap();
    settings.train_transitions = 2_000;
    settings.test_transitions = 600;
    (settings.height, settings.width) = (20, 32);
    generate(&settings).unwrap()
}

fn task(config: &TrainConfig) -> Temporal {
    let data = small_data();
    Temporal::new(data.train, data.test, config.temporal()).unwrap()
}

#[test]
fn a_short_run_lowers_the_loss_and_writes_the_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    // Small batches for more steps: the loss leaves its starting plateau (ln 32) after a few
    // dozen steps.
    let config = TrainConfig {
        lr: 3e-3,
        batch_size: 32,
        epochs: 4,
        ..config(dir.path())
    };
    let summary = train_task(&task(&config), &config, false, &mut Silent, None).unwrap();
    let losses: Vec<f64> = summary.epochs.iter().map(|m| m.loss).collect();
    eprintln!("losses {losses:?}\n{}", summary.report.table());
    assert!(losses[3] < losses[0] - 0.3, "loss {losses:?}");
    let r = &summary.report;
    assert_eq!(
        r.columns,
        [
            "next-state top-1",
            "kNN R2 x",
            "kNN R2 x_dot",
            "kNN R2 theta",
            "kNN R2 theta_dot",
            "ridge R2 x",
            "ridge R2 x_dot",
            "ridge R2 theta",
            "ridge R2 theta_dot"
        ]
    );
    let rows: Vec<&str> = r.rows.iter().map(|row| row.features.as_str()).collect();
    assert_eq!(rows, ["trained encoder", "random encoder", "raw pixels"]);
    // Even this short run finds the next observation more often than the untrained encoder.
    let top1 = |row| r.get(row, "next-state top-1").unwrap();
    assert!(
        top1("trained encoder") > 2.0 * top1("random encoder"),
        "{}",
        r.table()
    );
    for row in &r.rows {
        assert!(
            row.values.iter().all(|v| v.is_finite() && *v <= 1.0),
            "{}",
            r.table()
        );
    }
    assert!(r.extras.contains_key("next-state top-1 without predictor"));
    for m in &summary.epochs {
        assert!(m.monitor.contains_key("next-state top-1"), "{m:?}");
        assert!(m.monitor.contains_key("kNN R2 theta_dot"), "{m:?}");
    }
    for f in [
        "config.toml",
        "metrics.jsonl",
        "checkpoint.safetensors",
        "report.json",
        "embeddings.npy",
        "loss.png",
        "r2.png",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
}

fn params_after(epochs: std::ops::Range<usize>, trainer: &mut Trainer) -> StateDict<f32> {
    for epoch in epochs {
        trainer.epoch(epoch, |_| {}).unwrap();
    }
    let mut state = state_dict(&trainer.g, &trainer.model);
    if let Some((prefix, target)) = trainer.recipe.momentum_model() {
        for (name, value) in state_dict(&trainer.g, target) {
            state.insert(format!("{prefix}.{name}"), value);
        }
    }
    state
}

/// Predictor, EMA target encoder, k = 2, shifted views and windowed batches: every piece of
/// state a checkpoint must carry, and every random stream a resumed epoch must redraw.
#[test]
fn resume_equals_uninterrupted() {
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        horizon: Some(2),
        target_momentum: Some(0.9),
        augmentation: Augmentation::Shift,
        window: Some(4),
        ..config(dir.path())
    };
    let task = task(&config);
    let fresh = || Trainer::new(&config, &task).unwrap();
    let expected = params_after(0..3, &mut fresh());
    assert!(expected.keys().any(|k| k.starts_with("target.")));
    assert!(expected.keys().any(|k| k.starts_with("predictor.")));

    let path = dir.path().join(checkpoint::FILE);
    let mut first = fresh();
    params_after(0..2, &mut first);
    checkpoint::save(&path, &first, 2).unwrap();
    drop(first);
    let mut resumed = fresh();
    assert_eq!(checkpoint::load(&path, &mut resumed).unwrap().epochs, 2);
    assert_bit_equal(&expected, &params_after(2..3, &mut resumed), "resumed");
}

#[test]
fn one_and_two_threads_train_the_same_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        epochs: 1,
        augmentation: Augmentation::Shift,
        ..config(dir.path())
    };
    let task = task(&config);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| params_after(0..1, &mut Trainer::new(&config, &task).unwrap()))
    };
    assert_bit_equal(&run(1), &run(2), "1 vs 2 threads");
}

/// Each bad setting is refused before any file is written, with a typed error that says
/// what is wrong.
#[test]
fn bad_settings_are_typed_errors_that_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let temporal = config(&out);
    let digits = TrainConfig {
        dataset: "digits".into(),
        out: out.clone(),
        ..TrainConfig::default()
    };
    type Check = fn(&Error) -> bool;
    let cases: Vec<(&str, TrainConfig, Check)> = vec![
        (
            "frame stack of 0",
            TrainConfig {
                frame_stack: Some(0),
                ..temporal.clone()
            },
            |e| matches!(e, Error::Env(contrast_env::Error::ZeroFrameStack)),
        ),
        (
            "horizon of 0",
            TrainConfig {
                horizon: Some(0),
                ..temporal.clone()
            },
            |e| matches!(e, Error::Env(contrast_env::Error::ZeroOffset)),
        ),
        (
            "temporal on images",
            TrainConfig {
                method: Method::Temporal,
                ..digits.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "method = temporal"),
        ),
        (
            "an image method on trajectories",
            TrainConfig {
                method: Method::Simclr,
                ..temporal.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "method = simclr"),
        ),
        (
            "temporal batches drawn with replacement",
            TrainConfig {
                sampling: Sampling::Replacement,
                ..temporal.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting.starts_with("sampling")),
        ),
        (
            "a horizon for SimCLR",
            TrainConfig {
                horizon: Some(3),
                ..digits.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "horizon = 3"),
        ),
        (
            "no predictor for BYOL",
            TrainConfig {
                method: Method::Byol,
                predictor: Some(false),
                ..digits.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "predictor = false"),
        ),
        (
            "a window of 0",
            TrainConfig {
                window: Some(0),
                ..temporal.clone()
            },
            |e| matches!(e, Error::Config(m) if m.contains("window")),
        ),
        (
            "a target momentum of 1",
            TrainConfig {
                target_momentum: Some(1.0),
                ..temporal.clone()
            },
            |e| matches!(e, Error::Config(m) if m.contains("target_momentum")),
        ),
        (
            "a key gradient above 1",
            TrainConfig {
                key_gradient: Some(1.5),
                ..temporal.clone()
            },
            |e| matches!(e, Error::Config(m) if m.contains("key_gradient")),
        ),
        (
            "a key gradient with an EMA target",
            TrainConfig {
                key_gradient: Some(0.5),
                target_momentum: Some(0.99),
                ..temporal.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "key_gradient = 0.5"),
        ),
        (
            "frame differences for SimCLR",
            TrainConfig {
                frame_differences: Some(false),
                ..digits.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "frame_differences = false"),
        ),
        (
            "a temporal projection head for SimCLR",
            TrainConfig {
                projection_head: Some(true),
                ..digits.clone()
            },
            |e| matches!(e, Error::NotApplicable { setting, .. } if setting == "projection_head = true"),
        ),
    ];
    for (what, config, check) in cases {
        let err = train(&config, false, &mut Silent).unwrap_err();
        assert!(check(&err), "{what}: {err}");
        assert!(!out.exists(), "{what}: wrote {}", out.display());
    }

    // Settings that need the data: refused by the task or the trainer, still before the
    // run folder exists.
    let small = task(&temporal);
    let longest = small
        .train()
        .episodes()
        .iter()
        .map(|e| e.len)
        .max()
        .unwrap();
    let data = small_data();
    let too_far = TrainConfig {
        horizon: Some(longest + 1),
        ..temporal.clone()
    };
    let err = Temporal::new(data.train, data.test, too_far.temporal())
        .err()
        .unwrap();
    assert!(
        matches!(err, Error::Env(contrast_env::Error::NoValidPairs { offset, longest: l }) if offset == longest + 1 && l == longest),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("at most {longest}")),
        "{err}"
    );
    let cases: Vec<(&str, TrainConfig)> = vec![
        (
            "image views on frame stacks",
            TrainConfig {
                augmentation: Augmentation::Digits,
                ..temporal.clone()
            },
        ),
        (
            "a square-image CNN on 40 x 64 frames",
            TrainConfig {
                encoder: EncoderKind::Cnn,
                ..temporal.clone()
            },
        ),
    ];
    for (what, config) in cases {
        let err = train_task(&small, &config, false, &mut Silent, None).unwrap_err();
        assert!(matches!(err, Error::NotApplicable { .. }), "{what}: {err}");
        assert!(!out.exists(), "{what}: wrote {}", out.display());
    }

    // Data loaded for one horizon / frame stack / distractor setting cannot serve a run that
    // asks for another; the recipe's own settings may differ from those of the loading.
    let other_data = [
        TrainConfig {
            horizon: Some(2),
            ..temporal.clone()
        },
        TrainConfig {
            frame_stack: Some(3),
            ..temporal.clone()
        },
        TrainConfig {
            distractors: Some(true),
            ..temporal.clone()
        },
        TrainConfig {
            frame_differences: Some(!temporal.temporal().frame_differences),
            ..temporal.clone()
        },
    ];
    for config in other_data {
        let err = train_task(&small, &config, false, &mut Silent, None).unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("loaded for")),
            "{:?}: {err}",
            config.temporal()
        );
        assert!(!out.exists(), "wrote {}", out.display());
    }
    let same_data = TrainConfig {
        predictor: Some(false),
        target_momentum: Some(0.99),
        window: Some(8),
        ..temporal.clone()
    };
    assert!(Trainer::new(&same_data, &small).is_ok());
}

#[test]
fn standardised_training_frames_have_zero_mean_and_unit_spread_where_pixels_move() {
    use contrast_train::tasks::temporal::{PixelStats, STD_FLOOR};
    let data = small_data();
    let stats = PixelStats::of(&data.train).unwrap();
    let steps: Vec<(usize, usize)> = data
        .train
        .episodes()
        .iter()
        .enumerate()
        .flat_map(|(e, info)| (0..=info.len).map(move |t| (e, t)))
        .collect();
    let raw = data.train.observations(&steps).unwrap();
    let mut x = raw.clone();
    stats.apply(&mut x).unwrap();
    // Frame 1 of each stack is the step's own frame: every training frame once.
    let frames = x.index_axis(ndarray::Axis(1), 1);
    let raw_frames = raw.index_axis(ndarray::Axis(1), 1);
    let n = frames.shape()[0] as f64;
    let (mut moving, mut still) = (0, 0);
    for i in 0..frames.shape()[1] {
        for j in 0..frames.shape()[2] {
            let column = frames.slice(ndarray::s![.., i, j]);
            let mean = column.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = column
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n;
            assert!(mean.abs() < 1e-3, "pixel ({i}, {j}) mean {mean}");
            let raw_column = raw_frames.slice(ndarray::s![.., i, j]);
            let raw_mean = raw_column.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let raw_std = (raw_column
                .iter()
                .map(|&v| (f64::from(v) - raw_mean).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            if raw_std >= STD_FLOOR {
                assert!((var - 1.0).abs() < 1e-3, "pixel ({i}, {j}) variance {var}");
                moving += 1;
            } else {
                // Below the floor the spread shrinks by std / floor, never grows past 1.
                assert!(var <= 1.0 + 1e-6, "pixel ({i}, {j}) variance {var}");
                still += 1;
            }
        }
    }
    assert!(moving > 0 && still > 0, "moving {moving}, still {still}");
    // Frames of another size are an error, not a silent mismatch.
    let mut wrong = ndarray::Array4::<f32>::zeros((1, 2, 10, 10));
    assert!(stats.apply(&mut wrong).is_err());
}

#[test]
fn frame_differences_are_each_pixels_change_scaled_by_its_rms_change() {
    use contrast_train::tasks::temporal::{DIFFERENCE_FLOOR, PixelStats};
    let data = small_data();
    let set = &data.train;
    let plain = PixelStats::of(set).unwrap();
    let stats = PixelStats::with_differences(set).unwrap();
    assert!(stats.differences() && !plain.differences());
    // Root mean square change of every pixel between consecutive frames of an episode.
    let (h, w) = (set.height(), set.width());
    let mut squares = ndarray::Array2::<f64>::zeros((h, w));
    let mut changes = 0.0;
    for e in 0..set.episodes().len() {
        let frames = set.episode_frames(e).unwrap();
        for t in 1..frames.shape()[0] {
            let before = frames.index_axis(ndarray::Axis(0), t - 1);
            let after = frames.index_axis(ndarray::Axis(0), t);
            ndarray::Zip::from(&mut squares)
                .and(&before)
                .and(&after)
                .for_each(|q, &a, &b| *q += ((f64::from(b) - f64::from(a)) / 255.0).powi(2));
            changes += 1.0;
        }
    }
    let scale = squares.mapv(|q| 1.0 / (q / changes).sqrt().max(DIFFERENCE_FLOOR));
    let steps: Vec<(usize, usize)> = set
        .episodes()
        .iter()
        .enumerate()
        .map(|(e, info)| (e, info.len.min(5)))
        .collect();
    let raw = set.observations(&steps).unwrap();
    let (mut read, mut standardised) = (raw.clone(), raw.clone());
    stats.apply(&mut read).unwrap();
    plain.apply(&mut standardised).unwrap();
    let mut moved = 0;
    for n in 0..raw.shape()[0] {
        for i in 0..h {
            for j in 0..w {
                // Frame 0 is standardised as without differences.
                let (x0, s0) = (read[[n, 0, i, j]], standardised[[n, 0, i, j]]);
                assert!(
                    (x0 - s0).abs() < 1e-5,
                    "frame 0 at ({i}, {j}): {x0} vs {s0}"
                );
                // Frame 1 is its change since frame 0, scaled by the pixel's rms change.
                let change = f64::from(raw[[n, 1, i, j]] - raw[[n, 0, i, j]]);
                let want = change * scale[[i, j]];
                let got = f64::from(read[[n, 1, i, j]]);
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "frame 1 at ({i}, {j}): {got} vs {want}"
                );
                moved += usize::from(change != 0.0);
            }
        }
    }
    assert!(moved > 0, "no pixel changed between the frames of a stack");
}

/// The keys reach the loss through the projection head and the predictions come from the
/// features before it; without the head, the keys are the features themselves.
#[test]
fn the_keys_reach_the_loss_through_the_head_and_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    for head in [true, false] {
        let config = TrainConfig {
            projection_head: Some(head),
            ..config(dir.path())
        };
        let task = task(&config);
        let mut trainer = Trainer::new(&config, &task).unwrap();
        let plan = trainer.plan(0).unwrap();
        let batch = trainer.batch(&plan[0], 0).unwrap();
        let Trainer {
            g, model, recipe, ..
        } = &mut trainer;
        assert_eq!(model.has_head(), head);
        let encoded = recipe.encode(g, model, &batch).unwrap();
        let keys = g.value(encoded.rows[1]).clone();
        let features = model.features(g, &batch.views[1]).unwrap();
        let through_head = model.head(g, features).unwrap();
        let (features, through_head) = (g.value(features), g.value(through_head));
        assert_eq!(keys.shape(), [batch.len(), model.projection_dim()]);
        let largest_gap = |a: &ndarray::ArrayD<f32>, b: &ndarray::ArrayD<f32>| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(largest_gap(&keys, through_head) < 1e-5, "head {head}");
        let from_features = largest_gap(&keys, features);
        if head {
            assert!(from_features > 1e-2, "the head changed nothing");
        } else {
            assert!(
                from_features < 1e-5,
                "keys {from_features} from the features"
            );
        }
    }
}
