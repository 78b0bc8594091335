//! Scratch files: one folder per fuzzing process, files overwritten on every input.
//!
//! The folder is `$TMPDIR/contrast-fuzz-<pid>`. libFuzzer ends the process with `exit`, so
//! nothing removes it; it holds a few input-sized files (`rm -r /tmp/contrast-fuzz-*`).

use std::path::PathBuf;
use std::sync::OnceLock;

/// The scratch folder of this process, created on first use.
pub fn scratch_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("contrast-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz scratch folder");
        dir
    })
}

/// Writes `bytes` to the scratch file `name` and returns its path.
pub fn write_scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, bytes).expect("write a fuzz scratch file");
    path
}
