//! A GPU requested where none exists: `contrast-gpu` must return `Error::NoAdapter`, never
//! panic; the trainer's `--device gpu` must fail with it, and `--device auto` must fall back
//! to the CPU and say so.
//!
//! The adapter is chosen from the environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`), and
//! changing the environment of this multi-threaded test process is unsound, so the test runs
//! itself again in child processes whose environment leaves no adapter on any machine: an
//! adapter name no driver reports, and a backend this operating system does not have.

use std::process::Command;

use contrast_gpu::{Error, GpuContext};
use contrast_train::config::Device;
use contrast_train::device::Placement;

use super::assert_names;

/// Set in a child process: the text its error message must contain.
const CHILD_EXPECTS: &str = "CONTRAST_BAD_INPUT_GPU_EXPECTS";
/// An adapter name no driver reports.
const NO_SUCH_ADAPTER: &str = "no-such-adapter-contrast-bad-input";
/// A backend wgpu does not build for this operating system, and how wgpu prints it.
#[cfg(not(target_os = "macos"))]
const ABSENT_BACKEND: (&str, &str) = ("metal", "METAL");
#[cfg(target_os = "macos")]
const ABSENT_BACKEND: (&str, &str) = ("dx12", "DX12");

/// In a child: `GpuContext::new` fails with `NoAdapter` naming `expected`; the trainer's
/// `--device gpu` fails with that error, and `--device auto` falls back to the CPU and says why.
fn check_no_adapter(expected: &str) {
    let err = GpuContext::new().unwrap_err();
    assert!(
        matches!(err, Error::NoAdapter { .. }),
        "expected NoAdapter, got {err:?}"
    );
    assert_names(&err.to_string(), &["no GPU adapter found", expected]);

    let gpu = Placement::new(Device::Gpu)
        .err()
        .expect("--device gpu without an adapter succeeded");
    assert!(
        matches!(gpu, contrast_train::Error::Gpu(Error::NoAdapter { .. })),
        "expected Error::Gpu(NoAdapter), got {gpu:?}"
    );
    assert_names(&gpu.to_string(), &["no GPU adapter found", expected]);

    let auto = Placement::new(Device::Auto).unwrap();
    assert!(
        auto.gpu.is_none(),
        "--device auto chose a GPU: {}",
        auto.description
    );
    assert!(auto.matmul_backend().is_none());
    assert_names(
        &auto.description,
        &["device: cpu", "no usable GPU", expected],
    );
    println!("child checked: {err}");
}

/// Runs this test in a child process with the environment `env` and checks it passed.
fn run_child(env: (&str, &str), expected: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "gpu::gpu_requested_where_none_exists",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("WGPU_BACKEND")
        .env_remove("WGPU_ADAPTER_NAME")
        .env(env.0, env.1)
        .env(CHILD_EXPECTS, expected)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child with {env:?} failed:\n{stdout}\n{stderr}"
    );
    // The child ran this very test (not zero tests) and saw the error.
    assert!(
        stdout.contains("child checked: no GPU adapter found"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn gpu_requested_where_none_exists() {
    if let Ok(expected) = std::env::var(CHILD_EXPECTS) {
        check_no_adapter(&expected);
        return;
    }
    // An adapter filter that matches nothing (the adapter list is searched by name)...
    run_child(("WGPU_ADAPTER_NAME", NO_SUCH_ADAPTER), NO_SUCH_ADAPTER);
    // ...and only a backend that is not there (the default adapter request finds none).
    run_child(("WGPU_BACKEND", ABSENT_BACKEND.0), ABSENT_BACKEND.1);
}
