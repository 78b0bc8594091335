//! An augmentation pipeline and two samplers used on their own, without a model or a trainer
//! (for users who lift one crate into their own system).
//!
//! 1. Four hand-made 32x32 RGB images (two reddish shapes, two bluish ones) go through the
//!    SimCLR CIFAR preset of `contrast-augment`: two random views each, stacked in the
//!    SimCLR layout `(2n, C, H, W)` (rows `i` and `i + n` are views of one image). Every
//!    random draw comes from `(seed, epoch, index, view)`, so the same call gives the same
//!    views, bit for bit, on any number of threads.
//! 2. Each view becomes a 12-d feature (mean colour of each image quadrant), standing in
//!    for an encoder's output.
//! 3. `contrast-sampling` mines, for every view, its two most similar views of *other*
//!    images (hard negatives), and a MoCo memory queue hands each batch the keys of earlier
//!    batches as negatives before it enqueues its own.
//!
//! Run: `cargo run --example augment_and_sample`. Exits with status 1 if a check fails.

use std::process::ExitCode;

use contrast::augment::presets;
use contrast::sampling::hard_negatives::{TopKConfig, hardest_negatives};
use contrast::sampling::layout::{PairRule, TwoViews};
use contrast::sampling::queue::MemoryQueue;
use ndarray::{Array2, Array4, ArrayView3, Axis, s};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("ok: every check passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ensure(condition: bool, what: &str) -> Result<()> {
    if condition { Ok(()) } else { Err(what.into()) }
}

/// A square, a disc, horizontal stripes and a cross, in RGB on a dark background.
fn images() -> Array4<f32> {
    let colours = [
        [0.9, 0.2, 0.1],
        [0.8, 0.3, 0.2],
        [0.1, 0.3, 0.9],
        [0.2, 0.2, 0.8],
    ];
    Array4::from_shape_fn((4, 3, 32, 32), |(n, c, y, x)| {
        let (dy, dx) = (y as f32 - 15.5, x as f32 - 15.5);
        let inside = match n {
            0 => dy.abs() < 9.0 && dx.abs() < 9.0,
            1 => dy * dy + dx * dx < 100.0,
            2 => (y / 4) % 2 == 0,
            _ => dy.abs() < 3.0 || dx.abs() < 3.0,
        };
        if inside { colours[n][c] } else { 0.05 }
    })
}

/// Mean colour of each quadrant: `(3 channels x 4 quadrants)`.
fn features(view: ArrayView3<f32>) -> Vec<f64> {
    let (h, w) = (view.shape()[1] / 2, view.shape()[2] / 2);
    let mut out = Vec::with_capacity(12);
    for channel in view.axis_iter(Axis(0)) {
        for (y, x) in [(0, 0), (0, w), (h, 0), (h, w)] {
            let quadrant = channel.slice(s![y..y + h, x..x + w]);
            out.push(f64::from(quadrant.mean().unwrap_or(0.0)));
        }
    }
    out
}

fn run() -> Result<()> {
    let images = images();
    let n = images.shape()[0];
    let views = presets::simclr_cifar()?;
    let indices: Vec<u64> = (0..n as u64).collect();
    let (seed, epoch) = (7, 0);
    let stacked = views.batch_stacked(images.view(), &indices, seed, epoch)?;
    println!(
        "views: {:?} (rows i and i + {n} are one image)",
        stacked.dim()
    );
    ensure(
        stacked.dim() == (2 * n, 3, 32, 32),
        "two 3x32x32 views per image",
    )?;
    ensure(
        stacked.iter().all(|v| (0.0..=1.0).contains(v)),
        "the SimCLR preset keeps pixels in [0, 1]",
    )?;
    let again = views.batch_stacked(images.view(), &indices, seed, epoch)?;
    ensure(
        again == stacked,
        "the same (seed, epoch, index, view) gives the same views",
    )?;
    let next_epoch = views.batch_stacked(images.view(), &indices, seed, epoch + 1)?;
    ensure(next_epoch != stacked, "another epoch draws other views")?;

    let rows: Vec<f64> = stacked.axis_iter(Axis(0)).flat_map(features).collect();
    let z = Array2::from_shape_vec((2 * n, 12), rows)?;

    // Hard negatives: the 2 most similar rows (cosine) that are views of other images.
    let layout = TwoViews::new(n)?;
    let top = hardest_negatives(z.view(), z.view(), &layout, &TopKConfig::new(2))?;
    for (anchor, (idx, scores)) in top
        .indices
        .rows()
        .into_iter()
        .zip(top.scores.rows())
        .enumerate()
    {
        println!(
            "view {anchor} (image {}): hardest negatives {:?} (images {:?}), cosine {:.3?}",
            anchor % n,
            idx.to_vec(),
            idx.iter().map(|j| j % n).collect::<Vec<_>>(),
            scores.to_vec()
        );
        ensure(
            idx.iter().all(|&j| layout.is_negative(anchor, j)),
            "a mined negative is never the anchor or its other view",
        )?;
        ensure(scores[0] >= scores[1], "negatives come hardest first")?;
    }

    // MoCo queue of 6 keys: two batches of two images, the second view's features as keys.
    let mut queue = MemoryQueue::<f64>::new(6, 12)?;
    for (step, batch) in [0..2, 2..4].into_iter().enumerate() {
        let keys = z.slice(s![n + batch.start..n + batch.end, ..]);
        let seen = queue.step(keys, None, |negatives, _| negatives.to_owned())?;
        println!(
            "queue step {step}: {} negatives from earlier batches, then {} keys enqueued",
            seen.nrows(),
            keys.nrows()
        );
        ensure(
            seen.nrows() == 2 * step,
            "the loss sees only earlier batches' keys, never its own",
        )?;
    }
    ensure(
        queue.len() == 4,
        "four keys are held after two batches of two",
    )?;
    Ok(())
}
