//! The `contrast` command line: every subcommand, `--help`, bad flags and bad configs.

use std::path::Path;

mod binary;
use binary::{contrast, text};

#[test]
fn help_lists_every_subcommand() {
    let o = contrast(&["--help"]);
    assert!(o.status.success());
    let t = text(&o);
    for sub in ["train", "eval", "embed", "info", "bench", "compare"] {
        assert!(t.contains(sub), "--help misses {sub}: {t}");
    }
    let o = contrast(&["train", "--help"]);
    assert!(o.status.success() && text(&o).contains("--temperature"));
}

#[test]
fn info_lists_the_embedded_datasets() {
    let o = contrast(&["info"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("digits") && t.contains("1438") && t.contains("mnist5k") && t.contains("4000"),
        "{t}"
    );
}

/// The trainer's step on a batch larger than the data, plain and in chunks, with its memory.
#[test]
fn bench_train_step_runs_plain_and_chunked() {
    for (chunk, says) in [(None, "whole batch"), (Some("24"), "chunks of 24")] {
        let mut args = vec![
            "bench",
            "train-step",
            "--dataset",
            "digits",
            "--encoder",
            "mlp",
            "--batch",
            "1500",
        ];
        if let Some(c) = chunk {
            args.extend(["--chunk-size", c]);
        }
        let o = contrast(&args);
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        assert!(
            t.contains(says) && t.contains("peak_rss=") && t.contains("loss="),
            "{t}"
        );
    }
}

#[test]
fn bad_flags_fail_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    for (args, expect) in [
        (vec!["train", "--method", "bogus", "--out", out_s], "bogus"),
        (
            vec!["train", "--temperature", "0", "--out", out_s],
            "temperature",
        ),
        (
            vec!["train", "--batch-size=-3", "--out", out_s],
            "batch-size",
        ),
        (
            vec!["train", "--dataset", "nosuchset", "--out", out_s],
            "nosuchset",
        ),
        (vec!["train", "--epochz", "3"], "epochz"),
        (
            vec!["train", "--chunk-size", "0", "--out", out_s],
            "chunk_size",
        ),
    ] {
        let o = contrast(&args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(text(&o).contains(expect), "{args:?}: {}", text(&o));
        assert!(!out.exists(), "{args:?} wrote {out_s}");
    }
}

#[test]
fn bad_config_files_fail_naming_the_key_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    for (body, expect) in [
        ("epochz = 3\n", "epochz"),
        ("epochs = \"many\"\n", "epochs"),
        ("batch_size = -1\n", "batch_size"),
        ("temperature = 0.0\n", "temperature"),
    ] {
        let config = dir.path().join("c.toml");
        std::fs::write(
            &config,
            format!("{body}out = {:?}\n", out.to_str().unwrap()),
        )
        .unwrap();
        let o = contrast(&["train", "--config", config.to_str().unwrap()]);
        assert!(!o.status.success(), "{body} accepted");
        assert!(text(&o).contains(expect), "{body}: {}", text(&o));
        assert!(!out.exists(), "{body} wrote the run folder");
    }
}

fn train_digits(out: &Path) {
    let o = contrast(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--batch-size",
        "128",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("linear probe"), "{}", text(&o));
}

#[test]
fn train_then_eval_and_embed_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_digits(&run);
    let checkpoint = run.join("checkpoint.safetensors");
    let o = contrast(&[
        "eval",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["columns"][0], "kNN k=200", "{v}");
    assert_eq!(v["rows"][0]["features"], "trained encoder", "{v}");
    let acc = v["rows"][0]["values"][0].as_f64().unwrap();
    assert!((0.1..=1.0).contains(&acc), "{v}");

    let npy = dir.path().join("test.npy");
    let o = contrast(&[
        "embed",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&npy).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(header.contains("'shape': (359, 128)"), "{header}");

    let o = contrast(&[
        "eval",
        "--checkpoint",
        dir.path().join("missing").to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && text(&o).contains("missing"),
        "{}",
        text(&o)
    );
}

#[test]
fn resume_refuses_changed_settings() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_digits(&run);
    let o = contrast(&["train", "--resume", run.to_str().unwrap(), "--lr", "0.5"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--resume"), "{}", text(&o));
}

#[test]
fn pairs_train_on_the_embedded_slice_and_embed_lines_of_text() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = dir.path().join("tiny.toml");
    std::fs::write(
        &config,
        "buckets = 4096\ntext_dims = [16, 16]\nprojection_dim = 16\nbatch_size = 128\nepochs = 1\n",
    )
    .unwrap();
    let (run_s, config_s) = (run.to_str().unwrap(), config.to_str().unwrap());
    // No --dataset: the pairs recipe takes the embedded slice.
    let o = contrast(&[
        "train", "--method", "pairs", "--config", config_s, "--out", run_s, "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("web->es top-1@1000"), "{}", text(&o));
    let saved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        saved.contains("bible-slice:web-es") && saved.contains("augment_pairs = true"),
        "{saved}"
    );

    let lines = dir.path().join("lines.txt");
    std::fs::write(&lines, "In the beginning\nEn el principio\n\n").unwrap();
    let npy = dir.path().join("lines.npy");
    let checkpoint = run.join("checkpoint.safetensors");
    let embed = |input: &Path| {
        contrast(&[
            "embed",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--text",
            input.to_str().unwrap(),
            "--out",
            npy.to_str().unwrap(),
        ])
    };
    let o = embed(&lines);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 rows x 16 features"), "{}", text(&o));
    std::fs::remove_file(&npy).unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"fine\n\xff\xfe\n").unwrap();
    let o = embed(&bad);
    assert!(
        !o.status.success() && text(&o).contains("line 2"),
        "{}",
        text(&o)
    );
    assert!(!npy.exists(), "nothing may be written");
}
