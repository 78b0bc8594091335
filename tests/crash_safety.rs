//! Crash safety: a training process killed with SIGKILL at random moments (a checkpoint is
//! written after every epoch, so many kills land while one is being written) always leaves a
//! checkpoint that loads, and `--resume` then finishes with exactly the parameters of an
//! uninterrupted run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use contrast::nn::param_file::load_safetensors;
use contrast::nn::state::StateDict;

const KILLS: usize = 20;

fn contrast(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_contrast"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn config_file(dir: &Path, out: &Path) -> std::path::PathBuf {
    let path = dir.join(format!(
        "{}.toml",
        out.file_name().unwrap().to_string_lossy()
    ));
    let body = format!(
        "dataset = \"digits\"\nepochs = 6\nbatch_size = 128\nprobe_epochs = 1\neval_every = 100\n\
         out = {:?}\n",
        out.to_str().unwrap()
    );
    std::fs::write(&path, body).unwrap();
    path
}

fn finish(mut c: Command) {
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn checkpoint(dir: &Path) -> StateDict<f32> {
    load_safetensors::<f32>(dir.join("checkpoint.safetensors")).expect("the checkpoint loads")
}

/// A small deterministic generator for the kill times (no dependency needed).
struct Lcg(u64);
impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn kill_after(mut child: Child, delay: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false; // finished before the kill
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    true
}

#[test]
fn sigkill_never_corrupts_the_checkpoint_and_resume_matches() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    let started = Instant::now();
    finish(contrast(&[
        "train",
        "--quiet",
        "--config",
        config_file(dir.path(), &reference).to_str().unwrap(),
    ]));
    let full_run = started.elapsed();
    let expected = checkpoint(&reference);

    let run = dir.path().join("killed");
    let config = config_file(dir.path(), &run);
    let mut rng = Lcg(7);
    let mut kills = 0;
    let mut loads = 0;
    while kills < KILLS {
        let checkpoint_path = run.join("checkpoint.safetensors");
        let mut command = if checkpoint_path.exists() {
            contrast(&["train", "--quiet", "--resume", run.to_str().unwrap()])
        } else {
            contrast(&["train", "--quiet", "--config", config.to_str().unwrap()])
        };
        let child = command.spawn().unwrap();
        let delay = full_run.mul_f64(0.05 + 0.6 * rng.unit());
        if kill_after(child, delay) {
            kills += 1;
        } else {
            // The run finished: start over so that every kill interrupts real work.
            std::fs::remove_dir_all(&run).unwrap();
            continue;
        }
        if checkpoint_path.exists() {
            checkpoint(&run); // must always load after a kill
            loads += 1;
        }
    }
    assert!(
        loads > 0,
        "no kill happened after the first checkpoint: lengthen the delays"
    );
    let finish_cmd = if run.join("checkpoint.safetensors").exists() {
        contrast(&["train", "--quiet", "--resume", run.to_str().unwrap()])
    } else {
        contrast(&["train", "--quiet", "--config", config.to_str().unwrap()])
    };
    finish(finish_cmd);
    let stale: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(stale.is_empty(), "temporaries left after resume: {stale:?}");
    let got = checkpoint(&run);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (name, a) in &expected {
        let same = a
            .iter()
            .zip(got[name].iter())
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs after {KILLS} kills and resumes");
    }
}
