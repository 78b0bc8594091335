//! Running the `contrast` binary from the command-line tests.

use std::process::{Command, Output};

/// `contrast ARGS...`, waited for (on Vulkan where a subcommand looks for a GPU adapter, as
/// CI's software driver provides).
pub fn contrast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contrast"))
        .args(args)
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .expect("the binary runs")
}

/// What the run printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
