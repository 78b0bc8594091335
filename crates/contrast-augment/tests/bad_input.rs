//! Invalid parameters and inputs are typed errors at build (or call) time, never panics.

use contrast_augment::{
    CenterCrop, ColorJitter, Error, GaussianBlur, GaussianNoise, Grayscale, Pipeline, RandomAffine,
    RandomErasing, RandomResizedCrop, Resize, SeriesOp, Solarize, Standardize, TokenOp, Views,
    Window, adjust_hue, adjust_saturation, presets, resized_crop, stream_rng,
};
use ndarray::{Array2, Array3, Array4};

#[test]
fn reversed_ranges_are_rejected() {
    assert!(matches!(
        RandomResizedCrop::new((8, 8), (0.9, 0.1), (0.75, 1.33)),
        Err(Error::ReversedRange { param: "scale", .. })
    ));
    assert!(matches!(
        RandomResizedCrop::new((8, 8), (0.1, 0.9), (2.0, 1.0)),
        Err(Error::ReversedRange { .. })
    ));
    assert!(matches!(
        GaussianBlur::new(3, (2.0, 0.1)),
        Err(Error::ReversedRange { .. })
    ));
    assert!(matches!(
        RandomAffine::new(5.0, (0.0, 0.0), (1.2, 0.8)),
        Err(Error::ReversedRange { .. })
    ));
    assert!(matches!(
        RandomErasing::new((0.3, 0.1), (0.3, 3.3), 0.0),
        Err(Error::ReversedRange { .. })
    ));
    assert!(matches!(
        ColorJitter::with_ranges(Some((1.5, 0.5)), None, None, None),
        Err(Error::ReversedRange { .. })
    ));
}

#[test]
fn probabilities_outside_unit_interval_are_rejected() {
    for p in [-0.1, 1.5, f32::NAN] {
        assert!(matches!(
            Pipeline::new(3).unwrap().then(Grayscale, p),
            Err(Error::Probability { .. })
        ));
        assert!(matches!(
            TokenOp::deletion(p),
            Err(Error::Probability { .. })
        ));
    }
}

#[test]
fn zero_sizes_are_rejected() {
    assert!(matches!(
        RandomResizedCrop::square(0, (0.1, 1.0)),
        Err(Error::ZeroSize { .. })
    ));
    assert!(matches!(Resize::new((0, 4)), Err(Error::ZeroSize { .. })));
    assert!(matches!(
        CenterCrop::new((4, 0)),
        Err(Error::ZeroSize { .. })
    ));
    assert!(matches!(Pipeline::new(0), Err(Error::ZeroSize { .. })));
    assert!(matches!(
        TokenOp::window_crop(0),
        Err(Error::ZeroSize { .. })
    ));
    assert!(matches!(
        SeriesOp::shift_crop(0),
        Err(Error::ZeroSize { .. })
    ));
    let img = Array3::<f32>::zeros((3, 4, 4));
    assert!(matches!(
        resized_crop(
            img.view(),
            Window {
                top: 0,
                left: 0,
                height: 0,
                width: 2
            },
            (2, 2)
        ),
        Err(Error::ZeroSize { .. })
    ));
    assert!(matches!(
        resized_crop(
            img.view(),
            Window {
                top: 2,
                left: 0,
                height: 3,
                width: 2
            },
            (2, 2)
        ),
        Err(Error::CropOutside { .. })
    ));
}

#[test]
fn colour_ops_on_one_channel_are_rejected_when_built() {
    let gray = Pipeline::new(1).unwrap();
    assert!(matches!(
        gray.clone().then(Grayscale, 0.2),
        Err(Error::Channels {
            expected: 3,
            found: 1,
            ..
        })
    ));
    let jitter = ColorJitter::new(0.4, 0.4, 0.4, 0.1).unwrap();
    assert!(matches!(
        gray.clone().then(jitter, 0.8),
        Err(Error::Channels { .. })
    ));
    // Brightness and contrast alone are fine on one channel.
    assert!(
        gray.clone()
            .then(ColorJitter::new(0.4, 0.4, 0.0, 0.0).unwrap(), 0.8)
            .is_ok()
    );
    assert!(matches!(
        gray.then(Standardize::imagenet(), 1.0),
        Err(Error::Channels { .. })
    ));
    let img = Array3::<f32>::zeros((1, 4, 4));
    assert!(matches!(
        adjust_hue(img.view(), 0.1),
        Err(Error::Channels { .. })
    ));
    assert!(matches!(
        adjust_saturation(img.view(), 0.5),
        Err(Error::Channels { .. })
    ));
}

#[test]
fn nan_and_out_of_range_parameters_are_rejected() {
    assert!(matches!(
        ColorJitter::new(f32::NAN, 0.0, 0.0, 0.0),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        ColorJitter::new(0.4, 0.4, 0.4, 0.6),
        Err(Error::OutOfRange { param: "hue", .. })
    ));
    assert!(matches!(
        ColorJitter::new(-0.1, 0.4, 0.4, 0.1),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        GaussianBlur::new(3, (0.0, 1.0)),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        GaussianBlur::new(4, (0.1, 1.0)),
        Err(Error::KernelSize { size: 4, .. })
    ));
    assert!(matches!(
        GaussianBlur::new(0, (0.1, 1.0)),
        Err(Error::KernelSize { .. })
    ));
    assert!(matches!(
        RandomResizedCrop::square(8, (f32::NAN, 1.0)),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        RandomResizedCrop::square(8, (0.0, 1.0)),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(Solarize::new(1.5), Err(Error::OutOfRange { .. })));
    assert!(matches!(
        GaussianNoise::new(f32::INFINITY),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        Standardize::new(&[0.5], &[0.0]),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        Standardize::new(&[0.5, 0.5], &[0.2]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        TokenOp::span_mask(1.5, 3, 0),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        SeriesOp::jitter(f32::NAN),
        Err(Error::OutOfRange { .. })
    ));
}

#[test]
fn bad_images_and_batches_are_rejected() {
    let pipe = presets::simclr_cifar().unwrap();
    let mut rng = stream_rng(0, 0, 0, 0);
    let one_channel = Array3::<f32>::zeros((1, 32, 32));
    assert!(matches!(
        pipe.pipelines()[0].apply(one_channel.view(), &mut rng),
        Err(Error::Channels { .. })
    ));
    let empty = Array3::<f32>::zeros((3, 0, 5));
    assert!(matches!(
        pipe.pipelines()[0].apply(empty.view(), &mut rng),
        Err(Error::Shape { .. })
    ));
    let mut nan = Array3::<f32>::zeros((3, 8, 8));
    nan[[1, 2, 3]] = f32::NAN;
    assert!(matches!(
        pipe.pipelines()[0].apply(nan.view(), &mut rng),
        Err(Error::NonFinite { .. })
    ));

    let images = Array4::<f32>::zeros((4, 3, 32, 32));
    assert!(matches!(
        pipe.batch(images.view(), &[0, 1, 2], 0, 0),
        Err(Error::IndexCount { .. })
    ));
    let none = Array4::<f32>::zeros((0, 3, 32, 32));
    assert!(matches!(
        pipe.batch(none.view(), &[], 0, 0),
        Err(Error::Shape { .. })
    ));
    // Different sizes and no crop: the views cannot be stacked.
    let flip_only = Views::symmetric(Pipeline::new(3).unwrap(), 2).unwrap();
    let (a, b) = (
        Array3::<f32>::zeros((3, 4, 4)),
        Array3::<f32>::zeros((3, 5, 4)),
    );
    assert!(matches!(
        flip_only.batch_of(&[a.view(), b.view()], &[0, 1], 0, 0),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(Views::asymmetric(vec![]), Err(Error::NoViews)));
    let mixed = vec![Pipeline::new(3).unwrap(), Pipeline::new(1).unwrap()];
    assert!(matches!(
        Views::asymmetric(mixed),
        Err(Error::Channels { .. })
    ));
    assert!(matches!(
        presets::by_name("simclr-mnist"),
        Err(Error::UnknownPreset(_))
    ));

    let short = Array2::<f32>::zeros((3, 2));
    assert!(matches!(
        SeriesOp::shift_crop(5)
            .unwrap()
            .apply(short.view(), &mut rng),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        SeriesOp::segment_permutation(4)
            .unwrap()
            .apply(short.view(), &mut rng),
        Err(Error::Shape { .. })
    ));
}
