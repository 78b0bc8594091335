#!/usr/bin/env bash
# Benchmark the WGSL kernels of contrast-gpu on a real NVIDIA GPU, end to end:
#   1. make a Vulkan loader and the NVIDIA ICD visible (wgpu runs on Vulkan);
#   2. run the contrast-gpu tests on that GPU (correctness first);
#   3. run benches/gpu.rs (matmul 256..4096 beside ndarray; fused NT-Xent beside the
#      CPU loss, up to 2N = 65,536, D = 128) while sampling GPU memory with nvidia-smi;
#   4. time cuBLAS fp32 (TF32 off) at 4096 through PyTorch in the same run;
#   5. print a table: our GFLOP/s, cuBLAS GFLOP/s, the ratio (target >= 25%), the
#      NT-Xent times and the peak GPU memory during the NT-Xent run (target < 1 GiB).
#
# Usage, from anywhere:  scripts/gpu-bench.sh
# Needs cargo, or prebuilt binaries: set CONTRAST_GPU_BENCH_BIN (benches/gpu.rs built
# with `cargo bench -p contrast --bench gpu --no-run`) and optionally
# CONTRAST_GPU_TEST_BIN (`cargo test --release -p contrast-gpu --test kernels --no-run`).
# Vulkan loader: if libvulkan.so.1 is missing and .gl/*.deb exist (libvulkan1 etc.,
# fetched beforehand with `apt-get download libvulkan1 libegl1 libglvnd0`), they are
# unpacked into / first. Results also land in $OUT (if set) or target/gpu-bench/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="${OUT:-$ROOT/target/gpu-bench}"
mkdir -p "$RESULTS"
log() { printf '\n== %s\n' "$*"; }

log "Vulkan loader and NVIDIA driver"
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    if compgen -G ".gl/*.deb" >/dev/null; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
fi
ldconfig -p | grep -q 'libvulkan.so.1' || {
    echo "no libvulkan.so.1: install libvulkan1 or put its .deb (and libegl1 libglvnd0 ...) in .gl/" >&2
    exit 1
}
if [ -z "${VK_DRIVER_FILES:-}" ]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
               /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
        if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
    done
fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

export WGPU_BACKEND=vulkan CONTRAST_REQUIRE_GPU=1
# Prefer the NVIDIA adapter over any software one the loader also lists.
export WGPU_ADAPTER_NAME="${WGPU_ADAPTER_NAME:-NVIDIA}"

log "correctness: contrast-gpu tests on the GPU"
if command -v cargo >/dev/null; then
    cargo test --release -p contrast-gpu 2>&1 | tee "$RESULTS/tests.log" | grep -E '^test result|FAILED|panicked' || true
    grep -q 'FAILED\|panicked' "$RESULTS/tests.log" && { echo "tests failed" >&2; exit 1; }
elif [ -n "${CONTRAST_GPU_TEST_BIN:-}" ]; then
    "$CONTRAST_GPU_TEST_BIN" 2>&1 | tee "$RESULTS/tests.log" | tail -3
else
    echo "no cargo and no CONTRAST_GPU_TEST_BIN: skipping the tests"
fi

log "benches/gpu.rs (criterion), GPU memory sampled every 50 ms"
# Old estimates of sizes this run skips would otherwise show up in the table.
rm -rf target/criterion/matmul target/criterion/nt_xent
BASE_MIB=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1 || echo 0)
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 50 >"$RESULTS/memory.log" 2>/dev/null &
SMI=$!
trap 'kill $SMI 2>/dev/null || true' EXIT
export CONTRAST_BENCH_MATMUL_MAX="${CONTRAST_BENCH_MATMUL_MAX:-4096}"
export CONTRAST_BENCH_NTXENT_MAX_ROWS="${CONTRAST_BENCH_NTXENT_MAX_ROWS:-65536}"
if command -v cargo >/dev/null; then
    cargo bench -p contrast --bench gpu 2>&1 | tee "$RESULTS/bench.log" | grep -E 'time:|thrpt:|gpu bench on' || true
else
    : "${CONTRAST_GPU_BENCH_BIN:?no cargo: set CONTRAST_GPU_BENCH_BIN to the built benches/gpu.rs binary}"
    "$CONTRAST_GPU_BENCH_BIN" --bench 2>&1 | tee "$RESULTS/bench.log" | grep -E 'time:|thrpt:|gpu bench on' || true
fi
kill $SMI 2>/dev/null || true
PEAK_MIB=$(sort -n "$RESULTS/memory.log" | tail -1)

log "cuBLAS fp32 (TF32 off) through PyTorch, n = 4096"
python3 - <<'PY' | tee "$RESULTS/cublas.txt"
import torch
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
n = 4096
a = torch.rand(n, n, device="cuda") * 2 - 1
b = torch.rand(n, n, device="cuda") * 2 - 1
for _ in range(3):
    a @ b
torch.cuda.synchronize()
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
iters = 20
start.record()
for _ in range(iters):
    a @ b
end.record()
torch.cuda.synchronize()
ms = start.elapsed_time(end) / iters
print(f"cublas_fp32_4096_ms {ms:.4f}")
print(f"cublas_fp32_4096_gflops {2 * n**3 / ms / 1e6:.1f}")
PY

log "table"
python3 - "$RESULTS" "$BASE_MIB" "$PEAK_MIB" <<'PY' | tee "$RESULTS/table.md"
import json, pathlib, sys
results, base, peak = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
crit = pathlib.Path("target/criterion")
def mean_ns(group, fn, size):
    p = crit / group / fn / str(size) / "new" / "estimates.json"
    return json.loads(p.read_text())["mean"]["point_estimate"] if p.exists() else None
cublas = dict(l.split() for l in (results / "cublas.txt").read_text().splitlines())
cublas_gflops = float(cublas["cublas_fp32_4096_gflops"])
print("| matmul n | WGSL GFLOP/s | ndarray CPU GFLOP/s |")
print("|---|---|---|")
ours_4096 = None
for n in (256, 512, 1024, 2048, 4096):
    g, c = mean_ns("matmul", "gpu_wgsl", n), mean_ns("matmul", "cpu_ndarray", n)
    fl = 2 * n**3
    gs = f"{fl / g:.1f}" if g else "-"
    cs = f"{fl / c:.1f}" if c else "-"
    if n == 4096 and g:
        ours_4096 = fl / g
    print(f"| {n} | {gs} | {cs} |")
print()
print(f"cuBLAS fp32 (TF32 off) at 4096: {cublas_gflops:.1f} GFLOP/s")
if ours_4096:
    r = ours_4096 / cublas_gflops
    print(f"WGSL / cuBLAS at 4096: {100 * r:.1f}% (target >= 25%: {'met' if r >= 0.25 else 'NOT met'})")
print()
print("| NT-Xent 2N (D = 128) | fused WGSL ms | CPU ms |")
print("|---|---|---|")
for rows in (256, 512, 1024, 4096, 16384, 65536):
    g, c = mean_ns("nt_xent", "gpu_fused", rows), mean_ns("nt_xent", "cpu", rows)
    if g or c:
        print(f"| {rows} | {g / 1e6 if g else float('nan'):.2f} | {c / 1e6 if c else float('nan'):.2f} |")
print()
extra = peak - base
print(f"GPU memory above the idle baseline during the benches: {extra:.0f} MiB "
      f"(NT-Xent at 2N = 65,536, D = 128 target < 1024 MiB: {'met' if extra < 1024 else 'check: includes the 4096 matmul run'})")
PY
