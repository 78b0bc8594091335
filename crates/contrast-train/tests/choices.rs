//! Every loss, negatives and views choice trains on the embedded 8x8 digits: the loss of the
//! last epoch is below the first's. Three short epochs (batch 128) each; the final
//! evaluation is left out (the trainer alone), so the whole file stays quick.

use contrast_nn::checkpoint::state_dict;
use contrast_nn::state::StateDict;
use contrast_train::augmentation::ViewSpec;
use contrast_train::checkpoint;
use contrast_train::config::{EncoderKind, Method, TrainConfig};
use contrast_train::loss_choice::LossChoice;
use contrast_train::negatives::{Duplicates, Negatives, Sampling};
use contrast_train::tasks;
use contrast_train::trainer::Trainer;

const EPOCHS: usize = 3;

fn digits(method: Method) -> TrainConfig {
    TrainConfig {
        dataset: "digits".into(),
        method,
        encoder: EncoderKind::Cnn,
        epochs: EPOCHS,
        batch_size: 128,
        lr: 3e-3,
        warmup_epochs: 1,
        queue_size: 256,
        ..TrainConfig::default()
    }
}

fn with_loss(method: Method, name: &str) -> TrainConfig {
    TrainConfig {
        loss: Some(LossChoice::named(name).unwrap()),
        ..digits(method)
    }
}

fn trainer(config: &TrainConfig) -> Trainer {
    let task = tasks::load(config).unwrap();
    Trainer::new(config, task.as_ref()).unwrap()
}

fn loss_falls(config: TrainConfig) {
    let mut trainer = trainer(&config);
    let losses: Vec<f64> = (0..EPOCHS)
        .map(|e| trainer.epoch(e, |_| {}).unwrap())
        .collect();
    assert!(
        losses.iter().all(|l| l.is_finite()) && losses[EPOCHS - 1] < losses[0],
        "{:?} {:?} {:?}: {losses:?}",
        config.method,
        config.loss,
        config.negatives
    );
}

#[test]
fn simclr_with_each_two_view_loss() {
    for name in [
        "dcl",
        "dcl_w",
        "debiased",
        "hcl",
        "align_uniform",
        "info_nce",
    ] {
        loss_falls(with_loss(Method::Simclr, name));
    }
}

/// The losses of `contrast-losses` added last: SigLIP (learned scale and bias) and the
/// non-contrastive VICReg and Barlow Twins, in both two-view recipes.
#[test]
fn simclr_and_moco_with_siglip_vicreg_and_barlow_twins() {
    for name in ["siglip", "vicreg", "barlow_twins"] {
        loss_falls(with_loss(Method::Simclr, name));
    }
    loss_falls(with_loss(Method::Moco, "siglip"));
}

/// SigLIP's log-scale and bias are parameters of the model: the optimizer moves them,
/// checkpoints carry them, and the momentum key encoder has none.
#[test]
fn siglip_learns_its_scale_and_bias() {
    let config = TrainConfig {
        epochs: 1,
        ..with_loss(Method::Moco, "siglip")
    };
    let mut trainer = trainer(&config);
    let scalars = trainer
        .model
        .loss_params()
        .map(|p| [p.log_scale(), p.bias()]);
    let [t, b] = scalars.expect("siglip has learned scalars");
    let before = [trainer.g.value(t)[[]], trainer.g.value(b)[[]]];
    assert_eq!(before, [10f32.ln(), -10.0]);
    trainer.epoch(0, |_| {}).unwrap();
    let after = [trainer.g.value(t)[[]], trainer.g.value(b)[[]]];
    assert!(after[0] != before[0] && after[1] != before[1], "{after:?}");
    let state = state_dict(&trainer.g, &trainer.model);
    assert_eq!(state["loss.bias"][[]], after[1]);
    let (_, key) = trainer.recipe.momentum_model().unwrap();
    assert!(
        state_dict(&trainer.g, key)
            .keys()
            .all(|k| !k.starts_with("loss."))
    );
    // Without siglip the model has no loss scalars (default runs are unchanged).
    assert!(
        self::trainer(&digits(Method::Simclr))
            .model
            .loss_params()
            .is_none()
    );
}

/// Only the k hardest negatives of each anchor (the blocked top-k miner's mask), with
/// NT-Xent and DCL, in SimCLR and in MoCo.
#[test]
fn the_hardest_negatives_with_nt_xent_and_dcl() {
    let hardest = |config: TrainConfig| TrainConfig {
        negatives: Some(Negatives::Hardest),
        hardest_k: Some(32),
        ..config
    };
    loss_falls(hardest(digits(Method::Simclr)));
    loss_falls(hardest(with_loss(Method::Simclr, "dcl")));
    loss_falls(hardest(with_loss(Method::Moco, "nt_xent")));
}

#[test]
fn simclr_with_each_multi_positive_loss() {
    for name in ["nt_xent_pairs", "positives_in_log", "supcon"] {
        loss_falls(with_loss(Method::Simclr, name));
    }
}

#[test]
fn simclr_with_a_queue_of_past_view_2_rows() {
    loss_falls(TrainConfig {
        negatives: Some(Negatives::Queue),
        ..with_loss(Method::Simclr, "info_nce")
    });
}

#[test]
fn moco_with_batch_negatives_and_a_two_view_loss() {
    loss_falls(TrainConfig {
        negatives: Some(Negatives::Batch),
        ..digits(Method::Moco)
    });
    loss_falls(with_loss(Method::Moco, "dcl"));
}

#[test]
fn supcon_with_a_cross_batch_memory() {
    loss_falls(TrainConfig {
        negatives: Some(Negatives::Xbm),
        queue_size: 512,
        ..digits(Method::Supcon)
    });
}

#[test]
fn multi_crop_with_small_crops() {
    let views: ViewSpec = "2+2".parse().unwrap();
    // The CNN keeps the image size; the multi-positive loss is the default with small crops.
    loss_falls(TrainConfig {
        views,
        ..digits(Method::Simclr)
    });
    loss_falls(TrainConfig {
        views,
        ..digits(Method::Supcon)
    });
}

#[test]
fn sampling_with_replacement_avoiding_or_masking_duplicates() {
    loss_falls(TrainConfig {
        sampling: Sampling::Replacement,
        duplicates: Duplicates::Avoid,
        ..digits(Method::Simclr)
    });
    loss_falls(TrainConfig {
        sampling: Sampling::Replacement,
        duplicates: Duplicates::Mask,
        ..with_loss(Method::Simclr, "positives_in_log")
    });
    // NT-Xent masks copies out of the negatives; with the hardest negatives the miner
    // skips them.
    loss_falls(TrainConfig {
        sampling: Sampling::Replacement,
        duplicates: Duplicates::Mask,
        ..digits(Method::Simclr)
    });
    loss_falls(TrainConfig {
        sampling: Sampling::Replacement,
        duplicates: Duplicates::Mask,
        negatives: Some(Negatives::Hardest),
        hardest_k: Some(16),
        ..with_loss(Method::Simclr, "dcl")
    });
}

/// Small crops of another size go through the encoder as their own batch; every view
/// keeps one block of one row per sample.
#[test]
fn small_crops_of_another_size_give_one_block_per_view() {
    let config = TrainConfig {
        encoder: EncoderKind::Resnet18,
        views: "2+3".parse().unwrap(),
        ..digits(Method::Simclr)
    };
    let task = tasks::load(&config).unwrap();
    let mut trainer = Trainer::new(&config, task.as_ref()).unwrap();
    let source = task.source(&config, 5).unwrap();
    let batch = source.batch(&[0, 1, 2, 3, 4, 5], 0).unwrap();
    let sides: Vec<usize> = batch
        .views
        .iter()
        .map(|v| match v {
            contrast_train::batch::Input::Images(x) => x.shape()[2],
            other => panic!("image views expected, got {other:?}"),
        })
        .collect();
    assert_eq!(sides, vec![8, 8, 4, 4, 4], "3/7 of 8, at least 4");
    let encoded = trainer
        .recipe
        .encode(&mut trainer.g, &mut trainer.model, &batch)
        .unwrap();
    assert_eq!(encoded.rows.len(), 5);
    for &block in &encoded.rows {
        assert_eq!(trainer.g.value(block).shape(), &[6, 64]);
    }
    let loss = trainer
        .recipe
        .loss(&mut trainer.g, &encoded, &batch.meta(), &config, None)
        .unwrap();
    assert!(trainer.g.value(loss).sum().is_finite());
    // The CNN's flatten + linear takes one size only.
    let cnn = TrainConfig {
        small_crop_size: Some(4),
        encoder: EncoderKind::Cnn,
        ..config
    };
    let e = Trainer::new(&cnn, task.as_ref()).err().unwrap().to_string();
    assert!(
        e.contains("small_crop_size 4") && e.contains("resnet18"),
        "{e}"
    );
}

fn params_after(epochs: std::ops::Range<usize>, trainer: &mut Trainer) -> StateDict<f32> {
    for epoch in epochs {
        trainer.epoch(epoch, |_| {}).unwrap();
    }
    state_dict(&trainer.g, &trainer.model)
}

/// A queue or memory that wrapped at a row other than 0 comes back row for row: the
/// resumed run ends with the uninterrupted run's parameters, bit for bit.
fn resume_matches(config: TrainConfig) {
    let mut straight = trainer(&config);
    let expected = params_after(0..3, &mut straight);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    let mut first = trainer(&config);
    params_after(0..2, &mut first);
    let saved_memory = first.recipe.memory().unwrap().state();
    checkpoint::save(&path, &first, 2).unwrap();
    drop(first);
    let mut resumed = trainer(&config);
    let progress = checkpoint::load(&path, &mut resumed).unwrap();
    assert_eq!(resumed.recipe.memory().unwrap().state(), saved_memory);
    let got = params_after(progress.epochs..3, &mut resumed);
    for (name, x) in &expected {
        let same = x
            .iter()
            .zip(got[name].iter())
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same, "{name} differs after resume");
    }
}

#[test]
fn a_simclr_queue_resumes_exactly() {
    // 22 steps of 128 keys in a queue of 300: the next row is 116, not 0.
    resume_matches(TrainConfig {
        negatives: Some(Negatives::Queue),
        queue_size: 300,
        ..with_loss(Method::Simclr, "info_nce")
    });
}

#[test]
fn a_cross_batch_memory_resumes_exactly() {
    resume_matches(TrainConfig {
        negatives: Some(Negatives::Xbm),
        queue_size: 300,
        ..digits(Method::Supcon)
    });
}
