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
    assert!(r.trained.knn_200 > r.random_encoder.knn_200, "{r:?}");
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

#[test]
#[ignore = "writes plots to /tmp/contrast-plots for a manual look"]
fn plots_for_a_look() {
    let out = std::path::Path::new("/tmp/contrast-plots");
    train(&digits_config(out, Method::Simclr), false, &mut Silent).unwrap();
}
