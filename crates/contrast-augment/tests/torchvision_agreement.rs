//! Agreement with torchvision's v2 functional ops on fixed float images, to 1e-3.
//! Fixtures: `tests/fixtures/torchvision.json`, produced by `tests/fixtures/make_fixtures.py`.

use contrast_augment::{
    Window, adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation, affine, center_crop,
    gaussian_blur, resized_crop, rgb_to_grayscale, solarize_image,
};
use ndarray::Array3;
use serde_json::Value;

const TOL: f32 = 1e-3;

fn array(v: &Value) -> Array3<f32> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f32> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Array3::from_shape_vec((shape[0], shape[1], shape[2]), data).unwrap()
}

fn fixtures() -> Value {
    let text = include_str!("fixtures/torchvision.json");
    serde_json::from_str(text).unwrap()
}

#[test]
fn every_fixture_case_agrees_with_torchvision() {
    let doc = fixtures();
    let cases = doc["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 40,
        "fixture file lost cases: {}",
        cases.len()
    );
    let mut kinds = std::collections::BTreeMap::new();
    for case in cases {
        let kind = case["kind"].as_str().unwrap();
        let image = array(&doc["images"][case["image"].as_str().unwrap()]);
        let p: Vec<f64> = case["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let expected = array(&case["expected"]);
        let got = match kind {
            "resized_crop" => {
                let u: Vec<usize> = p.iter().map(|&x| x as usize).collect();
                let window = Window {
                    top: u[0],
                    left: u[1],
                    height: u[2],
                    width: u[3],
                };
                resized_crop(image.view(), window, (u[4], u[5]))
            }
            "affine" => affine(
                image.view(),
                p[0] as f32,
                (p[1] as f32, p[2] as f32),
                p[3] as f32,
            ),
            "center_crop" => center_crop(image.view(), (p[0] as usize, p[1] as usize)),
            "brightness" => adjust_brightness(image.view(), p[0] as f32),
            "contrast" => adjust_contrast(image.view(), p[0] as f32),
            "saturation" => adjust_saturation(image.view(), p[0] as f32),
            "hue" => adjust_hue(image.view(), p[0] as f32),
            "gaussian_blur" => gaussian_blur(image.view(), p[0] as usize, p[1] as f32),
            "grayscale" => rgb_to_grayscale(image.view()),
            "solarize" => solarize_image(image.view(), p[0] as f32),
            other => panic!("unknown fixture kind {other}"),
        }
        .unwrap();
        assert_eq!(got.dim(), expected.dim(), "{kind} {p:?}: shape");
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= TOL,
            "{kind} {p:?} on {}: max |diff| = {worst}",
            case["image"]
        );
        let entry = kinds.entry(kind).or_insert(0.0f32);
        *entry = entry.max(worst);
    }
    eprintln!("worst |diff| per op: {kinds:?}");
    for kind in [
        "affine",
        "center_crop",
        "resized_crop",
        "brightness",
        "contrast",
        "saturation",
        "hue",
        "gaussian_blur",
        "grayscale",
    ] {
        assert!(kinds.contains_key(kind), "no fixture for {kind}");
    }
}
