//! Hyper-parameters are checked in the loss's float type, not only as the f64 given
//! (finding F5 of fuzz/README.md): a temperature or DCL-W `sigma` that is 0 or subnormal
//! there, or has an infinite reciprocal, is refused; so is any parameter that rounds onto
//! a bound (`tau+ = 1 - 1e-12` is 1 in f32) or overflows (a margin of 1e300 in f32).
//! The same values are accepted in f64, where they are representable.

mod batches;

use batches::extreme_batch;
use contrast_losses::*;
use ndarray::{Array2, NdFloat};

/// A small two-view batch `(6, 4)` in `A`, labels `[0, 0, 1, 1, 2, 2]`.
fn batch<A: NdFloat>() -> Array2<A> {
    extreme_batch(3, 4).mapv(|x| A::from(x / 100.0).unwrap())
}

const LABELS: [usize; 6] = [0, 0, 1, 1, 2, 2];

/// Every loss taking a temperature, at temperature `t`, with its name.
fn with_temperature<A: NdFloat>(t: f64) -> Vec<(&'static str, Result<A>)> {
    let z = batch::<A>();
    let (q, k) = (z.slice(ndarray::s![..3, ..]), z.slice(ndarray::s![3.., ..]));
    let tiled = Evaluation::Tiled(TileSize { rows: 2, cols: 3 });
    vec![
        (
            "nt_xent",
            nt_xent(z.view(), &NtXentConfig::new(t)).map(|o| o.loss),
        ),
        (
            "nt_xent tiled",
            nt_xent(z.view(), &NtXentConfig::new(t).evaluation(tiled)).map(|o| o.loss),
        ),
        (
            "info_nce",
            info_nce(q, k, None, &InfoNceConfig::new(t).in_batch(true)).map(|o| o.loss),
        ),
        (
            "supcon",
            supcon(z.view(), &LABELS, &SupConConfig::new(t)).map(|o| o.loss),
        ),
        (
            "nt_xent_pairs",
            nt_xent_pairs(z.view(), &LABELS, &SoftmaxConfig::new(t)).map(|o| o.loss),
        ),
        (
            "positives_in_log",
            positives_in_log(z.view(), &LABELS, &SoftmaxConfig::new(t)).map(|o| o.loss),
        ),
        (
            "dcl",
            dcl(
                z.view(),
                &DclConfig {
                    temperature: t,
                    ..DclConfig::default()
                },
            )
            .map(|o| o.loss),
        ),
        (
            "debiased",
            debiased(
                z.view(),
                &DebiasedConfig {
                    temperature: t,
                    ..DebiasedConfig::default()
                },
            )
            .map(|o| o.loss),
        ),
        (
            "hcl",
            hcl(
                z.view(),
                &HclConfig {
                    temperature: t,
                    ..HclConfig::default()
                },
            )
            .map(|o| o.loss),
        ),
    ]
}

#[test]
fn temperatures_not_usable_as_divisors_in_f32_are_refused() {
    // 0 in f32, subnormal in f32 (twice), infinite in f32.
    for t in [1e-300, 1e-40, 1e-39, 1e39] {
        for (name, result) in with_temperature::<f32>(t) {
            assert_eq!(result, Err(Error::Temperature(t)), "{name}, T = {t}");
        }
        for (name, result) in with_temperature::<f64>(t) {
            let loss = result.unwrap_or_else(|e| panic!("{name} f64, T = {t}: {e}"));
            assert!(!loss.is_nan(), "{name} f64, T = {t}: {loss}");
        }
    }
    // The smallest normal f32 temperature is accepted, and the loss is finite.
    let t = f64::from(f32::MIN_POSITIVE) * 2.0;
    for (name, result) in with_temperature::<f32>(t) {
        let loss = result.unwrap_or_else(|e| panic!("{name} f32, T = {t}: {e}"));
        assert!(loss.is_finite(), "{name} f32, T = {t}: {loss}");
    }
}

/// DCL-W with `sigma` on the batch in `A`.
fn dclw<A: NdFloat>(sigma: f64) -> Result<A> {
    let config = DclConfig {
        weight: DclWeight::VonMisesFisher {
            sigma,
            detach: false,
        },
        ..DclConfig::default()
    };
    dcl(batch::<A>().view(), &config).map(|o| o.loss)
}

#[test]
fn dclw_sigma_not_usable_as_a_divisor_in_f32_is_refused() {
    for sigma in [1e-300, 1e-40, 1e39] {
        let err = dclw::<f32>(sigma).unwrap_err();
        assert!(
            matches!(err, Error::Parameter { name: "sigma", value, .. } if value == sigma),
            "sigma = {sigma}: {err:?}"
        );
        assert!(err.to_string().contains("sigma"), "{err}");
        assert!(dclw::<f64>(sigma).is_ok(), "f64, sigma = {sigma}");
    }
}

#[test]
fn parameters_that_round_onto_a_bound_or_overflow_in_f32_are_refused() {
    let tau_plus = 1.0 - 1e-12;
    let config = DebiasedConfig {
        tau_plus,
        ..DebiasedConfig::default()
    };
    assert!(matches!(
        debiased(batch::<f32>().view(), &config),
        Err(Error::Parameter {
            name: "tau_plus",
            ..
        })
    ));
    let loss = debiased(batch::<f64>().view(), &config).unwrap().loss;
    assert!(loss.is_finite(), "f64 tau+ = {tau_plus}: {loss}");

    let config = HclConfig {
        beta: 1e300,
        ..HclConfig::default()
    };
    assert!(matches!(
        hcl(batch::<f32>().view(), &config),
        Err(Error::Parameter { name: "beta", .. })
    ));

    let config = ContrastiveMarginConfig {
        neg_margin: 1e300,
        ..ContrastiveMarginConfig::default()
    };
    assert!(matches!(
        contrastive_margin(batch::<f32>().view(), &LABELS, &config),
        Err(Error::Parameter {
            name: "neg_margin",
            ..
        })
    ));
    assert!(contrastive_margin(batch::<f64>().view(), &LABELS, &config).is_ok());

    let config = TripletConfig {
        margin: -1e300,
        ..TripletConfig::default()
    };
    let z = batch::<f32>();
    assert!(matches!(
        triplet_margin(z.view(), z.view(), z.view(), &config),
        Err(Error::Parameter { name: "margin", .. })
    ));

    let config = AlignmentConfig {
        alpha: 1e-300,
        normalize: true,
    };
    assert!(matches!(
        alignment(z.view(), z.view(), &config),
        Err(Error::Parameter { name: "alpha", .. })
    ));
}

/// DCL-W, unnormalised, with `sigma` in `A`: loss and gradient.
fn dclw_unnormalised<A: NdFloat>(sigma: f64) -> LossGrad<A> {
    let config = DclConfig {
        temperature: 0.5,
        normalize: false,
        weight: DclWeight::VonMisesFisher {
            sigma,
            detach: false,
        },
    };
    dcl(
        batch::<A>().mapv(|x| x * A::from(10.0).unwrap()).view(),
        &config,
    )
    .unwrap()
}

#[test]
fn dclw_sigma_near_the_smallest_normal_number_stays_finite() {
    // F5b: u / sigma overflows for |u| > 1 at the smallest normal sigma; the softmax of the
    // shifted (u - max u) / sigma does not, and is one-hot on the largest u.
    let out = dclw_unnormalised::<f64>(f64::MIN_POSITIVE);
    assert!(out.loss.is_finite(), "f64 loss {}", out.loss);
    assert!(
        out.grad.iter().all(|g| g.is_finite()),
        "f64 grad {}",
        out.grad
    );
    let out32 = dclw_unnormalised::<f32>(f64::from(f32::MIN_POSITIVE));
    assert!(out32.loss.is_finite(), "f32 loss {}", out32.loss);
    assert!(
        out32.grad.iter().all(|g| g.is_finite()),
        "f32 grad {}",
        out32.grad
    );
    // A tiny sigma is the limit of a small one: the one-hot weight.
    let limit = dclw_unnormalised::<f64>(1e-9);
    assert!((out.loss - limit.loss).abs() <= 1e-9 * limit.loss.abs().max(1.0));
}
