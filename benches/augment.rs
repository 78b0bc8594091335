//! Criterion benchmark `augment`: views per second for batches of 512 samples (two views
//! each) with the SimCLR CIFAR preset on 32x32 RGB and the digits preset on 28x28 gray.
//!
//! Each group puts side by side:
//! - `per_image`: one `Pipeline::apply` per view on one thread, allocating each view (the
//!   way a PyTorch `Dataset` runs torchvision transforms; the reference);
//! - `batch`: `Views::batch`, all views in parallel on the global rayon pool, fresh output
//!   arrays each call;
//! - `batch_into`: `Views::batch_into` with the output arrays kept between calls, as a
//!   training loop would (no allocation, no page faults on fresh memory).
//!
//! `RAYON_NUM_THREADS=1` gives the one-core rates of the batch paths.
//!
//! The peer number is `scripts/peer_augment.py` (torchvision v2, one
//! image at a time, one thread); its `cifar` pipeline is exactly `simclr_cifar` and its
//! `digits` pipeline is the `digits_peer_ops` group (the digits preset minus its noise step).
//! Throughput is reported in views (elements) per second.

use std::hint::black_box;

use contrast::augment::{
    Pipeline, RandomAffine, RandomErasing, RandomResizedCrop, Views, presets, stream_rng,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array4, Axis};
use rand::Rng;

const BATCH: usize = 512;

fn images(c: usize, side: usize) -> Array4<f32> {
    let mut rng = stream_rng(0, 0, 0, 0);
    Array4::from_shape_fn((BATCH, c, side, side), |_| rng.random::<f32>())
}

/// scripts/peer_augment.py's digits pipeline: crop, affine, erasing (no noise).
fn digits_peer_ops() -> Views {
    let pipe = Pipeline::new(1)
        .and_then(|p| p.always(RandomResizedCrop::new((28, 28), (0.5, 1.0), (0.9, 1.1))?))
        .and_then(|p| p.always(RandomAffine::new(10.0, (0.1, 0.1), (1.0, 1.0))?))
        .and_then(|p| p.then(RandomErasing::new((0.02, 0.1), (0.3, 3.3), 0.0)?, 0.25))
        .expect("valid pipeline");
    Views::symmetric(pipe, 2).expect("two views")
}

fn bench_views(c: &mut Criterion, name: &str, views: &Views, batch: &Array4<f32>) {
    let indices: Vec<u64> = (0..BATCH as u64).collect();
    let mut group = c.benchmark_group(format!("augment/{name}"));
    group.throughput(Throughput::Elements((BATCH * views.len()) as u64));
    group.sample_size(20);
    group.bench_function("per_image", |b| {
        b.iter(|| {
            for (i, image) in batch.axis_iter(Axis(0)).enumerate() {
                for (v, pipe) in views.pipelines().iter().enumerate() {
                    let mut rng = stream_rng(1, 0, i as u64, v as u64);
                    black_box(pipe.apply(image, &mut rng).expect("valid image"));
                }
            }
        })
    });
    group.bench_function("batch", |b| {
        b.iter(|| {
            black_box(
                views
                    .batch(batch.view(), &indices, 1, 0)
                    .expect("valid batch"),
            )
        })
    });
    let mut outputs = Vec::new();
    group.bench_function("batch_into", |b| {
        b.iter(|| {
            views
                .batch_into(batch.view(), &indices, 1, 0, &mut outputs)
                .expect("valid batch");
            black_box(&outputs);
        })
    });
    group.finish();
}

fn augment(c: &mut Criterion) {
    let rgb = images(3, 32);
    let gray = images(1, 28);
    bench_views(
        c,
        "simclr_cifar_32x32_rgb",
        &presets::simclr_cifar().expect("preset"),
        &rgb,
    );
    bench_views(
        c,
        "digits_28x28_gray",
        &presets::digits().expect("preset"),
        &gray,
    );
    bench_views(c, "digits_peer_ops_28x28_gray", &digits_peer_ops(), &gray);
}

criterion_group!(benches, augment);
criterion_main!(benches);
