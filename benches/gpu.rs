//! GPU kernels beside their CPU counterparts, in one run so the ratio reads directly.
//!
//! - `matmul`: `C = A B`, square n x n, WGSL tiled kernel (`gpu_wgsl`, resident
//!   operands, timed to completion) vs ndarray's `dot` (`cpu_ndarray`). Throughput is
//!   counted as 2 n^3 "elements", so criterion's elem/s is FLOP/s.
//! - `nt_xent`: loss and gradient of a (2N, 128) batch, the fused WGSL kernels
//!   (`gpu_fused`: normalise, streaming forward, recomputing backward, normalise
//!   backward) vs contrast-losses' CPU `nt_xent` (`cpu`, tiled above its threshold).
//!
//! Sizes: a software adapter (lavapipe, 1-5 GFLOP/s) gets only the small sizes; set
//! `CONTRAST_BENCH_MATMUL_MAX` (default 4096, software 256),
//! `CONTRAST_BENCH_NTXENT_MAX_ROWS` (default 65536, software 512) and
//! `CONTRAST_BENCH_CPU_MAX_ROWS` (CPU loss, default 8192) to change them. Without an
//! adapter the GPU entries are skipped loudly, or fail under `CONTRAST_REQUIRE_GPU=1`.
//! `scripts/gpu-bench.sh` runs this on a real GPU and adds cuBLAS for reference.

use std::hint::black_box;

use contrast_gpu::{GpuContext, GpuMatrix};
use contrast_losses::{NtXentConfig, nt_xent};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn context() -> Option<GpuContext> {
    match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("gpu bench on {}", ctx.adapter());
            Some(ctx)
        }
        Err(e) if std::env::var("CONTRAST_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("CONTRAST_REQUIRE_GPU=1 but no GPU: {e}")
        }
        Err(e) => {
            eprintln!("!!!!!!!! NO GPU ({e}): benchmarking the CPU side only !!!!!!!!");
            None
        }
    }
}

/// `name` from the environment, else `hardware` or `software` by adapter type.
fn limit(name: &str, ctx: Option<&GpuContext>, hardware: usize, software: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if ctx.is_some_and(|c| c.adapter().is_software()) {
            software
        } else {
            hardware
        })
}

fn random(rng: &mut impl Rng, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
}

fn bench_matmul(c: &mut Criterion) {
    let ctx = context();
    let max = limit("CONTRAST_BENCH_MATMUL_MAX", ctx.as_ref(), 4096, 256);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut group = c.benchmark_group("matmul");
    group.sample_size(10);
    for n in [256usize, 512, 1024, 2048, 4096]
        .into_iter()
        .filter(|&n| n <= max)
    {
        let a = random(&mut rng, n, n);
        let b = random(&mut rng, n, n);
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        if let Some(ctx) = &ctx {
            let ga = GpuMatrix::upload(ctx, a.view()).expect("upload");
            let gb = GpuMatrix::upload(ctx, b.view()).expect("upload");
            group.bench_with_input(BenchmarkId::new("gpu_wgsl", n), &n, |bench, _| {
                bench.iter(|| {
                    let c = contrast_gpu::matmul(ctx, &ga, &gb).expect("matmul");
                    ctx.synchronize().expect("sync");
                    black_box(c)
                })
            });
        }
        group.bench_with_input(BenchmarkId::new("cpu_ndarray", n), &n, |bench, _| {
            bench.iter(|| black_box(a.dot(&b)))
        });
    }
    group.finish();
}

fn bench_nt_xent(c: &mut Criterion) {
    const DIM: usize = 128;
    const T: f32 = 0.1;
    let ctx = context();
    let gpu_max = limit("CONTRAST_BENCH_NTXENT_MAX_ROWS", ctx.as_ref(), 65_536, 512);
    let cpu_max = limit("CONTRAST_BENCH_CPU_MAX_ROWS", None, 8192, 8192);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("nt_xent");
    group.sample_size(10);
    for rows in [256usize, 512, 1024, 4096, 16_384, 65_536] {
        if rows > gpu_max && rows > cpu_max {
            continue;
        }
        let z = random(&mut rng, rows, DIM);
        group.throughput(Throughput::Elements(rows as u64));
        if let Some(ctx) = ctx.as_ref().filter(|_| rows <= gpu_max) {
            let gz = GpuMatrix::upload(ctx, z.view()).expect("upload");
            group.bench_with_input(BenchmarkId::new("gpu_fused", rows), &rows, |bench, _| {
                bench.iter(|| black_box(contrast_gpu::nt_xent(ctx, &gz, T).expect("nt_xent")))
            });
        }
        if rows <= cpu_max {
            let config = NtXentConfig::new(f64::from(T));
            group.bench_with_input(BenchmarkId::new("cpu", rows), &rows, |bench, _| {
                bench.iter(|| black_box(nt_xent(z.view(), &config).expect("nt_xent")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_matmul, bench_nt_xent);
criterion_main!(benches);
