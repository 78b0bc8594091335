//! `contrast compare` on a tiny budget: two losses x two seeds give the four run folders and
//! the summary files; killed with SIGKILL in the middle and run again, it reads the runs
//! that had finished (their reports are not rewritten), resumes the interrupted one, and
//! writes the same results as an uninterrupted comparison.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const RUNS: [&str; 4] = [
    "nt_xent-batch-seed0",
    "nt_xent-batch-seed1",
    "dcl-batch-seed0",
    "dcl-batch-seed1",
];

fn compare(base: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_contrast"));
    c.args([
        "compare",
        "--quiet",
        "--losses",
        "nt_xent,dcl",
        "--seeds",
        "0,1",
    ])
    .args(["--negatives", "batch", "--config", base.to_str().unwrap()])
    .args(["--out", out.to_str().unwrap()]);
    c
}

fn finish(mut c: Command) -> String {
    let out: Output = c.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// `compare.json` without the times (they differ between any two invocations).
fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("compare.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for row in v["rows"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("train_seconds");
    }
    v
}

fn modified(path: PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[test]
fn compare_writes_its_files_and_resumes_after_a_kill_without_redoing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    std::fs::write(
        &base,
        "dataset = \"digits\"\nepochs = 2\nbatch_size = 128\nprobe_epochs = 1\neval_every = 100\n",
    )
    .unwrap();

    let reference = dir.path().join("reference");
    let text = finish(compare(&base, &reference));
    assert!(text.contains("trained 4, resumed 0, reused 0"), "{text}");
    for run in RUNS {
        assert!(reference.join(run).join("report.json").is_file(), "{run}");
    }
    for file in ["compare.md", "compare.json", "compare.csv", "compare.png"] {
        assert!(reference.join(file).is_file(), "{file} missing");
    }
    let summary = results(&reference);
    assert_eq!(summary["rows"].as_array().unwrap().len(), 2);
    assert_eq!(summary["rows"][1]["loss"], "dcl");
    assert_eq!(summary["rows"][0]["values"].as_array().unwrap().len(), 2);
    let md = std::fs::read_to_string(reference.join("compare.md")).unwrap();
    assert!(
        md.contains("sample standard deviation") && md.contains("| dcl-batch |"),
        "{md}"
    );

    // Killed while the second run trains: its checkpoint exists, its report does not.
    let killed = dir.path().join("killed");
    let mut child = compare(&base, &killed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let second = killed.join(RUNS[1]);
    let started = Instant::now();
    while !second.join("checkpoint.safetensors").exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let first_report = killed.join(RUNS[0]).join("report.json");
    let before = modified(first_report.clone()).expect("the first run had finished");

    let text = finish(compare(&base, &killed));
    assert_eq!(
        modified(first_report),
        Some(before),
        "the finished run was redone"
    );
    let reused: usize = text
        .split("reused ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(reused >= 1, "{text}");
    assert!(
        text.contains("resumed 1") || second.join("report.json").is_file(),
        "{text}"
    );
    for file in ["compare.md", "compare.csv", "compare.png"] {
        assert!(killed.join(file).is_file(), "{file} missing");
    }
    assert_eq!(results(&killed), results(&reference));

    // A third time: nothing left to train.
    let text = finish(compare(&base, &killed));
    assert!(text.contains("trained 0, resumed 0, reused 4"), "{text}");
}
