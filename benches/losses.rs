//! Criterion benchmark `losses`: NT-Xent forward + backward, dense beside tiled.
//!
//! - `nt_xent_512x128`: 2N = 512, D = 128, f32 (the PyTorch CPU reference is about 2 ms
//!   on a 2-core machine; time it in the same sitting with
//!   `python scripts/peer_ntxent.py --threads 2`, which runs the same forward + backward).
//! - `nt_xent_large_d128`: 2N = 4,096 and 16,384 (and 65,536 with `CONTRAST_BENCH_HUGE=1`),
//!   D = 128, f32. Dense is skipped at 65,536: its logit matrix alone is 16 GiB.
//!
//! Before the groups, `peak extra memory` lines report, per size and path, the peak heap
//! growth during one forward + backward, measured by the counting global allocator below,
//! beside the bytes the dense logit matrix needs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use contrast::losses::{Evaluation, NtXentConfig, TileSize, nt_xent};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn batch(rows: usize, dim: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    Array2::from_shape_fn((rows, dim), |_| rng.random_range(-1.0f32..1.0))
}

fn paths(rows: usize) -> Vec<(&'static str, Evaluation)> {
    let mut p = vec![("tiled", Evaluation::Tiled(TileSize::default()))];
    // The dense logits of 65,536 rows would take 16 GiB (f32): not run.
    if rows <= 16_384 {
        p.insert(0, ("dense", Evaluation::Dense));
    }
    p
}

fn sizes() -> Vec<usize> {
    let mut s = vec![4_096, 16_384];
    if std::env::var_os("CONTRAST_BENCH_HUGE").is_some() {
        s.push(65_536);
    }
    s
}

fn report_peak_memory() {
    for rows in sizes() {
        let z = batch(rows, 128);
        for (name, evaluation) in paths(rows) {
            let cfg = NtXentConfig::new(0.5).evaluation(evaluation);
            let base = LIVE.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let start = Instant::now();
            let out = nt_xent(z.view(), &cfg).expect("valid batch");
            let secs = start.elapsed().as_secs_f64();
            let peak = PEAK.load(Ordering::Relaxed) - base;
            println!(
                "peak extra memory: 2N = {rows:>6}, D = 128, {name:>5}: {:>9.1} MiB \
                 (dense logits would be {:>8.1} MiB), one fwd+bwd {secs:.3} s, loss {}",
                peak as f64 / (1 << 20) as f64,
                (rows * rows * 4) as f64 / (1 << 20) as f64,
                out.loss
            );
        }
    }
}

fn nt_xent_512(c: &mut Criterion) {
    let z = batch(512, 128);
    let mut group = c.benchmark_group("nt_xent_512x128");
    for (name, evaluation) in paths(512) {
        let cfg = NtXentConfig::new(0.5).evaluation(evaluation);
        group.bench_function(name, |b| {
            b.iter(|| nt_xent(z.view(), &cfg).expect("valid batch"))
        });
    }
    group.finish();
}

fn nt_xent_large(c: &mut Criterion) {
    report_peak_memory();
    let mut group = c.benchmark_group("nt_xent_large_d128");
    group.sample_size(10);
    for rows in sizes() {
        let z = batch(rows, 128);
        for (name, evaluation) in paths(rows) {
            let cfg = NtXentConfig::new(0.5).evaluation(evaluation);
            group.bench_with_input(BenchmarkId::new(name, rows), &z, |b, z| {
                b.iter(|| nt_xent(z.view(), &cfg).expect("valid batch"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, nt_xent_512, nt_xent_large);
criterion_main!(benches);
