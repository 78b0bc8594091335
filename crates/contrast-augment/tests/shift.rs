//! The random shift of frame stacks: equal to "pad with the edge, then crop" (its definition
//! in DrQ), one offset for every channel, and views keyed by (seed, epoch, index, view).

use contrast_augment::{Error, RandomShift, shift, stream_rng};
use ndarray::{Array3, Array4, Axis, s};
use proptest::prelude::*;
use rand::Rng;

/// DrQ's two steps, literally: replicate-pad by `pad`, then take the `H x W` window whose
/// top-left corner is `(pad + dy, pad + dx)` in the padded image.
fn pad_then_crop(image: &Array3<f32>, pad: usize, dy: isize, dx: isize) -> Array3<f32> {
    let (c, h, w) = image.dim();
    let padded = Array3::from_shape_fn((c, h + 2 * pad, w + 2 * pad), |(k, y, x)| {
        let y = (y as isize - pad as isize).clamp(0, h as isize - 1) as usize;
        let x = (x as isize - pad as isize).clamp(0, w as isize - 1) as usize;
        image[[k, y, x]]
    });
    let (top, left) = ((pad as isize + dy) as usize, (pad as isize + dx) as usize);
    padded
        .slice(s![.., top..top + h, left..left + w])
        .to_owned()
}

fn stack(c: usize, h: usize, w: usize, seed: u64) -> Array3<f32> {
    let mut rng = stream_rng(seed, 1, 2, 3);
    Array3::from_shape_fn((c, h, w), |_| rng.random::<f32>())
}

proptest! {
    #[test]
    fn a_shift_is_pad_then_crop_for_every_channel(
        c in 1usize..5, h in 1usize..12, w in 1usize..12, pad in 0usize..6, seed in any::<u64>(),
    ) {
        let image = stack(c, h, w, seed);
        let op = RandomShift::new(pad);
        let mut rng = stream_rng(seed, 0, 0, 0);
        let (dy, dx) = op.sample(&mut rng.clone());
        prop_assert!(dy.unsigned_abs() <= pad && dx.unsigned_abs() <= pad);
        let got = op.apply(image.view(), &mut rng);
        prop_assert_eq!(&got, &pad_then_crop(&image, pad, dy, dx));
        prop_assert_eq!(&shift(image.view(), dy, dx), &got);
    }
}

#[test]
fn no_shift_is_the_identity_and_offsets_cover_the_range() {
    let image = stack(2, 5, 7, 1);
    assert_eq!(shift(image.view(), 0, 0), image);
    assert_eq!(
        RandomShift::new(0).apply(image.view(), &mut stream_rng(0, 0, 0, 0)),
        image
    );
    // A one-pixel shift right reads the left neighbour; the first column repeats.
    let moved = shift(image.view(), 0, -1);
    assert_eq!(moved[[1, 3, 4]], image[[1, 3, 3]]);
    assert_eq!(moved[[1, 3, 0]], image[[1, 3, 0]]);
    let mut rng = stream_rng(9, 0, 0, 0);
    let offsets: Vec<(isize, isize)> = (0..2000)
        .map(|_| RandomShift::new(3).sample(&mut rng))
        .collect();
    for axis in [|o: &(isize, isize)| o.0, |o: &(isize, isize)| o.1] {
        let values: Vec<isize> = offsets.iter().map(axis).collect();
        assert_eq!(values.iter().min(), Some(&-3));
        assert_eq!(values.iter().max(), Some(&3));
    }
}

#[test]
fn batch_views_depend_only_on_seed_epoch_index_and_view() {
    let mut rng = stream_rng(5, 5, 5, 5);
    let images = Array4::from_shape_fn((9, 2, 10, 16), |_| rng.random::<f32>());
    let indices: Vec<u64> = (0..9).map(|i| 100 + 7 * i).collect();
    let op = RandomShift::new(4);
    let in_pool = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| op.batch(images.view(), &indices, 3, 2, 1).unwrap())
    };
    let one = in_pool(1);
    assert_eq!(one, in_pool(2));
    for (i, &index) in indices.iter().enumerate() {
        let alone = op.apply(
            images.index_axis(Axis(0), i),
            &mut stream_rng(3, 2, index, 1),
        );
        assert_eq!(one.index_axis(Axis(0), i), alone);
    }
    assert_ne!(one, op.batch(images.view(), &indices, 3, 2, 0).unwrap());
    assert_ne!(one, op.batch(images.view(), &indices, 3, 3, 1).unwrap());
}

#[test]
fn a_batch_needs_one_index_per_image() {
    let images = Array4::<f32>::zeros((3, 2, 4, 4));
    let e = RandomShift::new(1)
        .batch(images.view(), &[1, 2], 0, 0, 0)
        .unwrap_err();
    assert_eq!(
        e,
        Error::IndexCount {
            images: 3,
            indices: 2
        }
    );
}
