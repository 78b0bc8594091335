//! Top-10 hard negatives for N = 16,384 rows of D = 128 (f32, two views of 8,192 samples):
//! blocked (row x column tiles, never the full similarity matrix) beside the dense
//! reference (the full 16,384 x 16,384 matrix, 1 GiB of f32), time and peak memory.
//!
//! Peak memory is measured with a counting global allocator: the largest number of live
//! heap bytes above the level before the call, printed once per variant before timing.
//! `cargo bench -p contrast --bench sampling -- --test` runs each variant once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use contrast::sampling::hard_negatives::{TopKConfig, hardest_negatives, hardest_negatives_dense};
use contrast::sampling::layout::TwoViews;
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Live heap bytes and their high-water mark, kept by [`Counting`].
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes so that a run's peak can be read back.
struct Counting;

impl Counting {
    fn grew(bytes: usize) {
        let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call forwards to `System` with the caller's layout; the counters are
// bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            Self::grew(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the peak of live heap bytes above the start level.
fn peak_extra_bytes<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

const N: usize = 16_384;
const D: usize = 128;
const K: usize = 10;

fn hard_negatives(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let z = Array2::from_shape_simple_fn((N, D), || rng.random::<f32>() - 0.5);
    let layout = TwoViews::new(N / 2).expect("N > 0");
    let config = TopKConfig::new(K);
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);

    let (blocked, blocked_bytes) = peak_extra_bytes(|| {
        hardest_negatives(z.view(), z.view(), &layout, &config).expect("valid input")
    });
    let (dense, dense_bytes) = peak_extra_bytes(|| {
        hardest_negatives_dense(z.view(), z.view(), &layout, &config).expect("valid input")
    });
    assert_eq!(blocked, dense, "blocked and dense top-k must agree");
    println!(
        "hard_negatives top-{K}, N = {N}, D = {D}: peak extra memory blocked {:.1} MiB \
         (tile {}x{}), dense {:.1} MiB, dense/blocked = {:.1}x",
        mib(blocked_bytes),
        config.block_rows,
        config.block_cols,
        mib(dense_bytes),
        dense_bytes as f64 / blocked_bytes.max(1) as f64,
    );

    let mut group = c.benchmark_group(format!("hard_negatives_top{K}_n{N}_d{D}"));
    group.sample_size(10);
    group.bench_function("blocked", |b| {
        b.iter(|| {
            hardest_negatives(black_box(z.view()), z.view(), &layout, &config).expect("valid input")
        })
    });
    group.bench_function("dense", |b| {
        b.iter(|| {
            hardest_negatives_dense(black_box(z.view()), z.view(), &layout, &config)
                .expect("valid input")
        })
    });
    group.finish();
}

criterion_group!(benches, hard_negatives);
criterion_main!(benches);
