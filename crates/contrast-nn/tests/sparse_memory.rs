//! A training step of the bag encoder allocates nothing the size of its table: the table's
//! gradient holds the used rows only and the lazy update touches only them. Measured with a
//! counting global allocator (this binary holds one test, so nothing else allocates while
//! it measures); the dense reference of the same step is measured too, to show that the
//! measurement sees a table-sized array when there is one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use contrast_autodiff::{BagMode, Bags, Graph};
use contrast_nn::Module;
use contrast_nn::encoders::{BagEncoder, BagEncoderConfig};
use contrast_nn::optim::{Adam, graph_step};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes and their peak.
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
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

/// Runs `f` and returns the peak of live heap bytes above the level at the start.
fn peak_extra_bytes(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

#[test]
fn a_lazy_step_allocates_nothing_table_sized() {
    let cfg = BagEncoderConfig {
        buckets: 1 << 16,
        dims: vec![64, 32, 16],
        mode: BagMode::Mean,
    };
    let table_bytes = cfg.buckets * cfg.dims[0] * size_of::<f32>(); // 16 MiB
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut g = Graph::<f32>::new();
    let mut enc = BagEncoder::new(&mut g, &cfg, &mut rng).unwrap();
    let params = enc.named_params();
    let mut opt = Adam::new(1e-3).unwrap();
    let batch = |rng: &mut ChaCha8Rng| {
        let lists: Vec<Vec<u32>> = (0..64)
            .map(|_| (0..20).map(|_| rng.random_range(0..1u32 << 16)).collect())
            .collect();
        Bags::from_lists(&lists)
    };
    let mut step = |g: &mut Graph<f32>, bags: &Bags<f32>, dense: bool| {
        let y = enc.forward_bags(g, bags).unwrap();
        let sq = g.mul(y, y).unwrap();
        let loss = g.mean_all(sq).unwrap();
        g.backward(loss).unwrap();
        if dense {
            // What a dense-gradient engine holds: the table's gradient as a full array.
            let full = g.gradient(params[0].var).unwrap().to_dense();
            std::hint::black_box(&full);
        }
        graph_step(&mut opt, g, &params).unwrap();
        g.zero_grad();
    };
    // The first step creates Adam's moments (two table-sized arrays, once).
    let first = batch(&mut rng);
    step(&mut g, &first, false);
    let bags = batch(&mut rng);
    let lazy = peak_extra_bytes(|| step(&mut g, &bags, false));
    let dense = peak_extra_bytes(|| step(&mut g, &bags, true));
    eprintln!(
        "peak extra heap: lazy step {lazy} B, dense reference {dense} B, table {table_bytes} B"
    );
    // 1280 ids: at most 1280 gradient rows of 256 bytes, plus the MLP's small arrays.
    assert!(
        lazy < table_bytes / 16,
        "a lazy step allocated {lazy} bytes (table {table_bytes})"
    );
    assert!(dense >= table_bytes, "dense reference: {dense} bytes");
}
