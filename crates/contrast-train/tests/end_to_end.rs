//! End-to-end runs on the embedded 8x8 digits: short, but real training.

use contrast_train::config::{EncoderKind, Method, TrainConfig};
use contrast_train::run::{Silent, train};

fn digits_config(out: &std::path::Path, method: Method) -> TrainConfig {
    TrainConfig {
        dataset: "digits".into(),
        method,
        encoder: EncoderKind::Cnn,
        epochs: 6,
        batch_size: 128,
        lr: 3e-3,
        warmup_epochs: 1,
        eval_every: 1,
        probe_epochs: 20,
        out: out.to_path_buf(),
        ..TrainConfig::default()
    }
}

#[test]
fn simclr_lowers_the_loss_and_beats_the_random_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let summary = train(
        &digits_config(dir.path(), Method::Simclr),
        false,
        &mut Silent,
    )
    .unwrap();
    let first = summary.epochs.first().unwrap();
    let last = summary.epochs.last().unwrap();
    eprintln!("{:#?}", summary.report);
    eprintln!("{:?}", summary.epochs);
    assert!(
        last.loss < first.loss,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
    let r = summary.report;
    let knn = |row: &str| r.get(row, "kNN k=200").unwrap();
    assert!(knn("trained encoder") > knn("random encoder"), "{r:?}");
    for f in [
        "config.toml",
        "metrics.jsonl",
        "checkpoint.safetensors",
        "report.json",
        "embeddings.npy",
        "loss.png",
        "knn.png",
        "pca.png",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
}

fn loss_falls(method: Method) {
    use contrast_train::tasks;
    use contrast_train::trainer::Trainer;
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        epochs: 4,
        queue_size: 256,
        ..digits_config(dir.path(), method)
    };
    let task = tasks::load(&config).unwrap();
    let mut trainer = Trainer::new(&config, task.as_ref()).unwrap();
    let losses: Vec<f64> = (0..4).map(|e| trainer.epoch(e, |_| {}).unwrap()).collect();
    assert!(losses[3] < losses[0], "{method:?}: {losses:?}");
}

#[test]
fn supcon_loss_falls() {
    loss_falls(Method::Supcon);
}

#[test]
fn triplet_loss_falls() {
    loss_falls(Method::Triplet);
}

#[test]
fn moco_loss_falls() {
    loss_falls(Method::Moco);
}

#[test]
fn byol_loss_falls() {
    loss_falls(Method::Byol);
}

/// `--device gpu` trains through the WGSL matmul (lavapipe in CI). Without an adapter this
/// fails when `CONTRAST_REQUIRE_GPU=1` (as in CI) and is reported loudly otherwise.
#[test]
fn gpu_device_trains_or_reports_no_adapter() {
    use contrast_train::config::Device;
    use contrast_train::tasks;
    use contrast_train::trainer::Trainer;
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        device: Device::Gpu,
        encoder: EncoderKind::Mlp,
        epochs: 1,
        ..digits_config(dir.path(), Method::Simclr)
    };
    let task = tasks::load(&config).unwrap();
    match Trainer::new(&config, task.as_ref()) {
        Ok(mut trainer) => {
            assert!(
                trainer.placement.gpu.is_some(),
                "{}",
                trainer.placement.description
            );
            let loss = trainer.epoch(0, |_| {}).unwrap();
            assert!(loss.is_finite());
        }
        Err(e) => {
            let required = std::env::var("CONTRAST_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(!required, "CONTRAST_REQUIRE_GPU=1 but no GPU: {e}");
            assert!(e.to_string().to_lowercase().contains("adapter"), "{e}");
            eprintln!("NO GPU ADAPTER: the GPU training path was NOT exercised ({e})");
        }
    }
}

#[test]
#[ignore = "writes plots to /tmp/contrast-plots for a manual look"]
fn plots_for_a_look() {
    let out = std::path::Path::new("/tmp/contrast-plots");
    train(&digits_config(out, Method::Simclr), false, &mut Silent).unwrap();
}
