//! NaN and infinite embeddings to every loss of `contrast-losses`: each must refuse them
//! with `Error::NonFinite` naming the input, the value and its position, never return a NaN.

use std::fmt::Debug;

use contrast_losses::{
    AlignmentConfig, ContrastiveMarginConfig, DclConfig, DclWeight, DebiasedConfig, Error,
    HclConfig, InfoNceConfig, LabelTripletConfig, NtXentConfig, SoftmaxConfig, SupConConfig,
    TripletConfig, UniformityConfig, alignment, contrastive_margin, dcl, debiased, hcl, info_nce,
    nt_xent, nt_xent_pairs, positives_in_log, supcon, triplet_margin, triplet_margin_labels,
    uniformity,
};
use ndarray::{Array2, array};

use super::assert_names;

/// Two views of two samples, `(4, 3)`: rows 0/2 and 1/3 are pairs, labels `[0, 1, 0, 1]`.
fn views() -> Array2<f32> {
    array![
        [1.0, 0.2, -0.1],
        [-0.3, 1.0, 0.4],
        [0.9, 0.1, 0.0],
        [-0.2, 0.8, 0.5]
    ]
}

const LABELS: [usize; 4] = [0, 1, 0, 1];

/// `z` with `value` at `(row, col)`.
fn spoiled(z: &Array2<f32>, (row, col): (usize, usize), value: f32) -> Array2<f32> {
    let mut z = z.clone();
    z[[row, col]] = value;
    z
}

/// The result is `NonFinite` at `index` for an input whose name contains `what` (the loss,
/// and the input where there are several), and its message says so.
fn assert_non_finite<T: Debug>(result: contrast_losses::Result<T>, what: &str, index: [usize; 2]) {
    let err = result.unwrap_err();
    match &err {
        Error::NonFinite {
            what: w,
            index: i,
            value,
        } => {
            assert!(w.contains(what), "{err}");
            assert_eq!(*i, index, "{err}");
            assert!(!value.is_finite(), "{err}");
        }
        other => panic!("expected NonFinite for {what}, got {other:?}"),
    }
    let at = format!("[{}, {}]", index[0], index[1]);
    assert_names(&err.to_string(), &[what, "non-finite", &at]);
}

/// The clean input gives a finite loss (so the spoiled case fails for the NaN alone).
fn assert_finite(loss: f32) {
    assert!(loss.is_finite(), "baseline loss {loss}");
}

#[test]
fn nt_xent_with_nan_or_infinite_embeddings() {
    let config = NtXentConfig::new(0.5);
    assert_finite(nt_xent(views().view(), &config).unwrap().loss);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let z = spoiled(&views(), (2, 1), bad);
        assert_non_finite(nt_xent(z.view(), &config), "nt_xent z", [2, 1]);
    }
    let z = spoiled(&views(), (0, 0), f32::NAN);
    assert_names(
        &nt_xent(z.view(), &config).unwrap_err().to_string(),
        &["NaN"],
    );
}

#[test]
fn info_nce_with_nan_embeddings() {
    let z = views();
    let (q, k) = (z.slice(ndarray::s![..2, ..]), z.slice(ndarray::s![2.., ..]));
    let negatives = array![[0.0f32, 0.0, 1.0], [0.5, -0.5, 0.0], [0.1, 0.1, 0.1]];
    let config = InfoNceConfig::new(0.07);
    assert_finite(
        info_nce(q, k, Some(negatives.view()), &config)
            .unwrap()
            .loss,
    );
    let bad_q = spoiled(&q.to_owned(), (1, 0), f32::NAN);
    assert_non_finite(
        info_nce(bad_q.view(), k, Some(negatives.view()), &config),
        "info_nce query",
        [1, 0],
    );
    let bad_k = spoiled(&k.to_owned(), (0, 2), f32::NAN);
    assert_non_finite(
        info_nce(q, bad_k.view(), Some(negatives.view()), &config),
        "info_nce key",
        [0, 2],
    );
    let bad_n = spoiled(&negatives, (2, 1), f32::NAN);
    assert_non_finite(
        info_nce(q, k, Some(bad_n.view()), &config),
        "info_nce negatives",
        [2, 1],
    );
}

#[test]
fn supcon_with_nan_embeddings() {
    let config = SupConConfig::new(0.1);
    assert_finite(supcon(views().view(), &LABELS, &config).unwrap().loss);
    let z = spoiled(&views(), (3, 2), f32::NAN);
    assert_non_finite(supcon(z.view(), &LABELS, &config), "supcon", [3, 2]);
}

#[test]
fn nt_xent_pairs_with_nan_embeddings() {
    let config = SoftmaxConfig::new(0.5);
    assert_finite(
        nt_xent_pairs(views().view(), &LABELS, &config)
            .unwrap()
            .loss,
    );
    let z = spoiled(&views(), (1, 1), f32::NAN);
    assert_non_finite(
        nt_xent_pairs(z.view(), &LABELS, &config),
        "nt_xent_pairs",
        [1, 1],
    );
}

#[test]
fn positives_in_log_with_nan_embeddings() {
    let config = SoftmaxConfig::new(0.5);
    assert_finite(
        positives_in_log(views().view(), &LABELS, &config)
            .unwrap()
            .loss,
    );
    let z = spoiled(&views(), (0, 2), f32::NAN);
    assert_non_finite(
        positives_in_log(z.view(), &LABELS, &config),
        "positives_in_log",
        [0, 2],
    );
}

#[test]
fn triplet_margin_with_nan_embeddings() {
    let z = views();
    let (a, p, n) = (
        z.slice(ndarray::s![0..1, ..]),
        z.slice(ndarray::s![2..3, ..]),
        z.slice(ndarray::s![1..2, ..]),
    );
    let config = TripletConfig::default();
    assert_finite(triplet_margin(a, p, n, &config).unwrap().loss);
    let bad = spoiled(&n.to_owned(), (0, 1), f32::NAN);
    assert_non_finite(
        triplet_margin(a, p, bad.view(), &config),
        "triplet negative",
        [0, 1],
    );
    let bad = spoiled(&a.to_owned(), (0, 0), f32::INFINITY);
    assert_non_finite(
        triplet_margin(bad.view(), p, n, &config),
        "triplet anchor",
        [0, 0],
    );
}

#[test]
fn triplet_margin_labels_with_nan_embeddings() {
    let config = LabelTripletConfig::default();
    assert_finite(
        triplet_margin_labels(views().view(), &LABELS, &config)
            .unwrap()
            .loss,
    );
    let z = spoiled(&views(), (2, 0), f32::NAN);
    assert_non_finite(
        triplet_margin_labels(z.view(), &LABELS, &config),
        "triplet z",
        [2, 0],
    );
}

#[test]
fn contrastive_margin_with_nan_embeddings() {
    let config = ContrastiveMarginConfig::default();
    assert_finite(
        contrastive_margin(views().view(), &LABELS, &config)
            .unwrap()
            .loss,
    );
    let z = spoiled(&views(), (1, 2), f32::NAN);
    assert_non_finite(
        contrastive_margin(z.view(), &LABELS, &config),
        "contrastive z",
        [1, 2],
    );
}

#[test]
fn dcl_with_nan_embeddings() {
    let config = DclConfig::default();
    assert_finite(dcl(views().view(), &config).unwrap().loss);
    let z = spoiled(&views(), (3, 0), f32::NAN);
    assert_non_finite(dcl(z.view(), &config), "dcl z", [3, 0]);
}

#[test]
fn debiased_with_nan_embeddings() {
    let config = DebiasedConfig::default();
    assert_finite(debiased(views().view(), &config).unwrap().loss);
    let z = spoiled(&views(), (0, 1), f32::NAN);
    assert_non_finite(debiased(z.view(), &config), "debiased z", [0, 1]);
}

#[test]
fn hard_negative_with_nan_embeddings() {
    let config = HclConfig::default();
    assert_finite(hcl(views().view(), &config).unwrap().loss);
    let z = spoiled(&views(), (2, 2), f32::NAN);
    assert_non_finite(hcl(z.view(), &config), "hcl", [2, 2]);
}

#[test]
fn alignment_with_nan_embeddings() {
    let z = views();
    let (x, y) = (z.slice(ndarray::s![..2, ..]), z.slice(ndarray::s![2.., ..]));
    let config = AlignmentConfig::default();
    assert_finite(alignment(x, y, &config).unwrap().loss);
    let bad = spoiled(&y.to_owned(), (1, 1), f32::NAN);
    assert_non_finite(alignment(x, bad.view(), &config), "alignment y", [1, 1]);
}

#[test]
fn uniformity_with_nan_embeddings() {
    let config = UniformityConfig::default();
    assert_finite(uniformity(views().view(), &config).unwrap().loss);
    let z = spoiled(&views(), (1, 0), f32::NAN);
    assert_non_finite(uniformity(z.view(), &config), "uniformity x", [1, 0]);
}

// Found by fuzz_losses (finding F5 of fuzz/README.md): a hyper-parameter is checked as an
// f64 (`> 0`) but used in the loss's float type, where a tiny positive value is 0 in f32.

/// The result is finite, or a typed refusal of the parameter `name`.
fn assert_finite_or_refused<T: Debug>(
    result: contrast_losses::Result<T>,
    loss: impl Fn(&T) -> f32,
    name: &str,
) {
    match result {
        Ok(out) => assert!(
            loss(&out).is_finite(),
            "{name} accepted but the loss is {out:?}"
        ),
        Err(err @ (Error::Temperature(_) | Error::Parameter { .. })) => {
            assert_names(&err.to_string(), &[name]);
        }
        Err(other) => panic!("{name}: expected a parameter error, got {other:?}"),
    }
}

#[test]
fn temperature_that_vanishes_in_f32() {
    // 1e-300 > 0 as an f64 but is 0.0 as an f32: the logits would be z.z / 0.
    let config = NtXentConfig::new(1e-300);
    assert_finite_or_refused(nt_xent(views().view(), &config), |o| o.loss, "temperature");
    let config = SupConConfig::new(1e-300);
    assert_finite_or_refused(
        supcon(views().view(), &LABELS, &config),
        |o| o.loss,
        "temperature",
    );
}

#[test]
fn dcl_weight_scale_that_vanishes_in_f32() {
    // DCL-W's softmax(u / sigma) with sigma = 1e-300, 0.0 in f32.
    let config = DclConfig {
        weight: DclWeight::VonMisesFisher {
            sigma: 1e-300,
            detach: false,
        },
        ..DclConfig::default()
    };
    assert_finite_or_refused(dcl(views().view(), &config), |o| o.loss, "sigma");
}

#[test]
fn debiased_without_normalisation_and_far_negatives() {
    // F6 (fuzz/README.md): unnormalised rows 8 and -6 at T = 0.2 give anchor 1 only logits
    // of -240; the floor M exp(-1/T - m) was evaluated as exp(235), infinite in f32, and the
    // loss with it. The true loss is large (about 240) but finite.
    let z = array![[8.0f32], [-6.0], [8.0], [8.0]];
    let config = DebiasedConfig {
        temperature: 0.2,
        tau_plus: 0.1,
        normalize: false,
    };
    let out = debiased(z.view(), &config).unwrap();
    assert!(out.loss.is_finite() && out.loss > 10.0, "loss {}", out.loss);
    assert!(out.grad.iter().all(|g| g.is_finite()), "grad {}", out.grad);
    let config = HclConfig {
        temperature: 0.2,
        tau_plus: 0.1,
        beta: 1.0,
        normalize: false,
    };
    let out = hcl(z.view(), &config).unwrap();
    assert!(out.loss.is_finite() && out.loss > 10.0, "loss {}", out.loss);
    assert!(out.grad.iter().all(|g| g.is_finite()), "grad {}", out.grad);
}

#[test]
fn dcl_weight_scale_near_the_smallest_f64() {
    // F5b (fuzz/README.md): sigma = f64::MIN_POSITIVE passes `1 / sigma` finite, but
    // `u / sigma` is infinite and softmax(u / sigma) NaN; subtracting max(u) before dividing
    // (softmax is shift-invariant), and taking 0 for the weight gradient where pi = 0, keeps
    // it finite.
    // Unnormalised equal rows: u = 7.625^2 for both pairs, u / sigma = inf for both.
    let z = array![[7.625f64], [7.625], [7.625], [7.625]];
    let config = DclConfig {
        temperature: 0.5,
        normalize: false,
        weight: DclWeight::VonMisesFisher {
            sigma: f64::MIN_POSITIVE,
            detach: true,
        },
    };
    match dcl(z.view(), &config) {
        Ok(out) => {
            assert!(out.loss.is_finite(), "loss {}", out.loss);
            assert!(out.grad.iter().all(|g| g.is_finite()), "grad {}", out.grad);
        }
        Err(err @ Error::Parameter { .. }) => assert_names(&err.to_string(), &["sigma"]),
        Err(other) => panic!("expected a finite loss or a sigma error, got {other:?}"),
    }
}
