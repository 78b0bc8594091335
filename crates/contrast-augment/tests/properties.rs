//! Invariants of the image ops under random images and parameters.

use contrast_augment::{
    CenterCrop, ColorJitter, Flip, GaussianBlur, GaussianNoise, Grayscale, Op, Pipeline,
    RandomAffine, RandomErasing, RandomResizedCrop, Resize, Solarize, adjust_hue, presets,
    stream_rng,
};
use ndarray::{Array3, Axis};
use proptest::prelude::*;

/// A CHW image with `channels` channels, side lengths in `1..max`, values in [0, 1).
fn image(channels: usize, max: usize) -> impl Strategy<Value = Array3<f32>> {
    (1..max, 1..max).prop_flat_map(move |(h, w)| {
        proptest::collection::vec(0.0f32..1.0, channels * h * w)
            .prop_map(move |v| Array3::from_shape_vec((channels, h, w), v).unwrap())
    })
}

fn rgb_or_gray(max: usize) -> impl Strategy<Value = Array3<f32>> {
    prop_oneof![image(1, max), image(3, max)]
}

fn max_abs_diff(a: &Array3<f32>, b: &Array3<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn run(op: impl Into<Op>, img: &Array3<f32>, seed: u64) -> Array3<f32> {
    let pipe = Pipeline::new(img.dim().0).unwrap().always(op).unwrap();
    pipe.apply(img.view(), &mut stream_rng(seed, 0, 0, 0))
        .unwrap()
}

fn in_unit_range(img: &Array3<f32>) -> bool {
    img.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_ops_stay_finite_and_in_unit_range(
        img in image(3, 20),
        seed in any::<u64>(),
        scale_lo in 0.05f32..1.0,
        strength in 0.0f32..1.0,
        hue in 0.0f32..0.5,
        sigma in 0.05f32..3.0,
        degrees in 0.0f32..45.0,
        out in 1usize..24,
    ) {
        let pipe = Pipeline::new(3).unwrap()
            .always(RandomResizedCrop::square(out, (scale_lo, 1.0)).unwrap()).unwrap()
            .then(Flip::Horizontal, 0.5).unwrap()
            .always(ColorJitter::new(strength, strength, strength, hue).unwrap()).unwrap()
            .then(Grayscale, 0.3).unwrap()
            .always(GaussianBlur::new(5, (sigma, sigma)).unwrap()).unwrap()
            .always(RandomAffine::new(degrees, (0.2, 0.2), (0.8, 1.2)).unwrap()).unwrap()
            .always(GaussianNoise::new(0.1).unwrap()).unwrap()
            .always(RandomErasing::new((0.02, 0.3), (0.3, 3.3), 0.5).unwrap()).unwrap()
            .then(Solarize::new(0.5).unwrap(), 0.5).unwrap();
        let view = pipe.apply(img.view(), &mut stream_rng(seed, 1, 2, 3)).unwrap();
        prop_assert_eq!(view.dim(), (3, out, out));
        prop_assert!(in_unit_range(&view));
    }

    #[test]
    fn presets_give_unit_range_views_of_the_right_size(img in image(3, 40), gray in image(1, 40), seed in any::<u64>()) {
        for views in [presets::simclr_cifar().unwrap(), presets::simclr_imagenet(24, 1.0).unwrap(),
                      presets::moco_v2(24).unwrap(), presets::byol(24).unwrap()] {
            for v in views.sample(img.view(), seed, 0, 5).unwrap() {
                prop_assert!(in_unit_range(&v));
                prop_assert_eq!(v.dim().0, 3);
            }
        }
        for views in [presets::digits().unwrap(), presets::gray_objects_sized(28, 28).unwrap()] {
            for v in views.sample(gray.view(), seed, 0, 5).unwrap() {
                prop_assert_eq!(v.dim(), (1, 28, 28));
                prop_assert!(in_unit_range(&v));
            }
        }
    }

    #[test]
    fn flipping_twice_is_identity(img in rgb_or_gray(12)) {
        for flip in [Flip::Horizontal, Flip::Vertical] {
            let once = contrast_augment::flip(img.view(), flip);
            let twice = contrast_augment::flip(once.view(), flip);
            prop_assert_eq!(&twice, &img);
        }
        // And a single flip mirrors: pixel (y, x) moves to (y, W-1-x).
        let (_, h, w) = img.dim();
        let h_flip = contrast_augment::flip(img.view(), Flip::Horizontal);
        let v_flip = contrast_augment::flip(img.view(), Flip::Vertical);
        prop_assert_eq!(h_flip[[0, 0, 0]], img[[0, 0, w - 1]]);
        prop_assert_eq!(v_flip[[0, 0, 0]], img[[0, h - 1, 0]]);
    }

    #[test]
    fn full_size_crop_with_unit_scale_and_ratio_is_identity(side in 1usize..16, seed in any::<u64>(), c in prop_oneof![Just(1usize), Just(3)]) {
        let img = Array3::from_shape_fn((c, side, side), |(c, y, x)| ((c * 31 + y * 7 + x * 3) % 11) as f32 / 10.0);
        let op = RandomResizedCrop::new((side, side), (1.0, 1.0), (1.0, 1.0)).unwrap();
        prop_assert_eq!(run(op, &img, seed), img.clone());
        prop_assert_eq!(run(Resize::new((side, side)).unwrap(), &img, seed), img.clone());
        prop_assert_eq!(run(CenterCrop::new((side, side)).unwrap(), &img, seed), img);
    }

    #[test]
    fn neutral_jitter_is_identity(img in image(3, 12), seed in any::<u64>()) {
        let neutral = ColorJitter::with_ranges(Some((1.0, 1.0)), Some((1.0, 1.0)), Some((1.0, 1.0)), Some((0.0, 0.0))).unwrap();
        let out = run(neutral, &img, seed);
        prop_assert!(max_abs_diff(&out, &img) <= 1e-6, "diff {}", max_abs_diff(&out, &img));
    }

    #[test]
    fn hue_shift_and_back_is_identity(img in image(3, 10), h in -0.5f32..0.5) {
        let there = adjust_hue(img.view(), h).unwrap();
        let back = adjust_hue(there.view(), -h).unwrap();
        prop_assert!(max_abs_diff(&back, &img) <= 1e-5, "diff {}", max_abs_diff(&back, &img));
    }

    #[test]
    fn grayscale_gives_equal_channels(img in image(3, 12), seed in any::<u64>()) {
        let out = run(Grayscale, &img, seed);
        let r = out.index_axis(Axis(0), 0);
        prop_assert_eq!(r, out.index_axis(Axis(0), 1));
        prop_assert_eq!(r, out.index_axis(Axis(0), 2));
    }

    #[test]
    fn blur_keeps_a_constant_image_constant(
        c in prop_oneof![Just(1usize), Just(3)], h in 1usize..12, w in 1usize..12,
        value in 0.0f32..1.0, k in (0usize..8).prop_map(|k| 2 * k + 1), seed in any::<u64>(),
    ) {
        let img = Array3::from_elem((c, h, w), value);
        let out = run(GaussianBlur::new(k, (0.1, 3.0)).unwrap(), &img, seed);
        prop_assert!(max_abs_diff(&out, &img) <= 1e-6);
    }

    #[test]
    fn solarize_at_one_is_identity(img in rgb_or_gray(12), seed in any::<u64>()) {
        prop_assert_eq!(run(Solarize::new(1.0).unwrap(), &img, seed), img);
    }

    #[test]
    fn affine_without_motion_is_identity(img in rgb_or_gray(12), seed in any::<u64>()) {
        let out = run(RandomAffine::new(0.0, (0.0, 0.0), (1.0, 1.0)).unwrap(), &img, seed);
        prop_assert!(max_abs_diff(&out, &img) <= 1e-6);
    }

    #[test]
    fn erasing_fills_one_rectangle_with_the_value(img in image(1, 16), seed in any::<u64>()) {
        let out = run(RandomErasing::new((0.1, 0.3), (0.5, 2.0), 0.25).unwrap(), &img, seed);
        let changed: Vec<(usize, usize)> = out.indexed_iter()
            .filter(|(idx, v)| **v != img[*idx]).map(|((_, y, x), _)| (y, x)).collect();
        prop_assert!(changed.iter().all(|&(y, x)| out[[0, y, x]] == 0.25));
        if let (Some(y0), Some(y1)) = (changed.iter().map(|p| p.0).min(), changed.iter().map(|p| p.0).max()) {
            let (x0, x1) = (changed.iter().map(|p| p.1).min().unwrap(), changed.iter().map(|p| p.1).max().unwrap());
            // Everything inside the bounding box equals the fill value.
            for y in y0..=y1 { for x in x0..=x1 { prop_assert_eq!(out[[0, y, x]], 0.25); } }
        }
    }

    #[test]
    fn crop_windows_lie_inside_the_image(
        h in 1usize..60, w in 1usize..60, lo in 0.01f32..1.0, hi in 0.01f32..1.0,
        r0 in 0.2f32..2.0, r1 in 0.2f32..2.0, seed in any::<u64>(),
    ) {
        let op = RandomResizedCrop::new((8, 8), (lo.min(hi), lo.max(hi)), (r0.min(r1), r0.max(r1))).unwrap();
        let win = op.window(h, w, &mut stream_rng(seed, 0, 0, 0));
        prop_assert!(win.height > 0 && win.width > 0);
        prop_assert!(win.top + win.height <= h && win.left + win.width <= w);
    }

    #[test]
    fn same_stream_same_view(img in image(3, 20), seed in any::<u64>(), index in any::<u64>()) {
        let views = presets::simclr_cifar().unwrap();
        let a = views.sample(img.view(), seed, 3, index).unwrap();
        let b = views.sample(img.view(), seed, 3, index).unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn contrast_zero_gives_the_mean_gray_everywhere() {
    let img = Array3::from_shape_fn((3, 4, 5), |(c, y, x)| {
        ((c + 2 * y + 3 * x) % 5) as f32 / 4.0
    });
    let out = contrast_augment::adjust_contrast(img.view(), 0.0).unwrap();
    let gray = contrast_augment::rgb_to_grayscale(img.view()).unwrap();
    let mean = gray.index_axis(Axis(0), 0).mean().unwrap();
    assert!(out.iter().all(|&x| (x - mean).abs() < 1e-6));
}

#[test]
fn random_resized_crop_falls_back_to_a_centre_crop() {
    // A 4x40 strip cannot hold an aspect-1 window of half its area... all ten draws fail,
    // and the fallback clamps the ratio to 1: a centred 4x4 window.
    let op = RandomResizedCrop::new((4, 4), (1.0, 1.0), (1.0, 1.0)).unwrap();
    let w = op.window(4, 40, &mut stream_rng(0, 0, 0, 0));
    assert_eq!((w.top, w.left, w.height, w.width), (0, 18, 4, 4));
}
