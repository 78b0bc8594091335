//! Rasteriser properties: the drawing follows the state, stays in range, and refuses
//! images too small to hold the system.

use contrast_env::{Canvas, CartPoleView, Error, MountainCar, MountainCarView, Renderer, System};

fn draw(system: System, state: &[f64], antialias: bool) -> Canvas {
    let renderer = Renderer::new(system, 40, 64).unwrap();
    let mut canvas = Canvas::new(40, 64, antialias);
    renderer.draw(state, &mut canvas);
    canvas
}

/// Intensity-weighted centroid `(u, v)` of the pixels for which `keep(row, value)` holds.
fn centroid(c: &Canvas, keep: impl Fn(usize, f32) -> bool) -> (f64, f64) {
    let (mut su, mut sv, mut sw) = (0.0, 0.0, 0.0);
    for i in 0..c.height() {
        for j in 0..c.width() {
            let p = c.get(i, j);
            if keep(i, p) {
                let w = f64::from(p);
                su += w * (j as f64 + 0.5);
                sv += w * (i as f64 + 0.5);
                sw += w;
            }
        }
    }
    assert!(sw > 0.0, "nothing drawn");
    (su / sw, sv / sw)
}

#[test]
fn the_carts_column_follows_x() {
    let view = CartPoleView::new(40, 64).unwrap();
    let (_, top) = view.pivot(0.0);
    let ground = view.row(0.0);
    for i in 0..=40 {
        let x = -2.0 + 0.1 * i as f64;
        // Upright pole; the cart's rows below the pivot hold only the cart (the pole's
        // round end reaches less than a pixel into it).
        let c = draw(System::CartPole, &[x, 0.0, 0.0, 0.0], true);
        let rows = ((top + 2.0).ceil() as usize)..(ground.floor() as usize);
        let (u, _) = centroid(&c, |r, p| rows.contains(&r) && p > 0.0);
        // Pixel-centre weighting places a partly covered edge pixel's mass at its centre,
        // not at the covered part's, which moves the centroid by up to ~0.03 px.
        assert!(
            (u - view.column(x)).abs() < 0.05,
            "x {x}: centroid {u}, mapping {}",
            view.column(x)
        );
    }
}

#[test]
fn the_poles_pixel_angle_follows_theta() {
    let view = CartPoleView::new(40, 64).unwrap();
    let (pu, pv) = view.pivot(0.3);
    let mut previous = f64::NEG_INFINITY;
    for i in 0..=20 {
        let theta = -0.4 + 0.04 * i as f64;
        for antialias in [true, false] {
            let c = draw(System::CartPole, &[0.3, 0.0, theta, 0.0], antialias);
            // Pixels above the cart's top are the pole's.
            let (u, v) = centroid(&c, |r, p| (r as f64) < pv - 1.0 && p > 0.0);
            let angle = (u - pu).atan2(pv - v);
            let tolerance = if antialias { 0.02 } else { 0.06 };
            assert!(
                (angle - theta).abs() < tolerance,
                "theta {theta}: pixel angle {angle}"
            );
            if antialias {
                assert!(angle > previous);
                previous = angle;
            }
        }
    }
}

#[test]
fn frames_lie_in_the_unit_interval_and_show_every_part() {
    for (system, state) in [
        (System::CartPole, vec![2.5, 0.0, -0.3, 0.0]),
        (System::CartPole, vec![0.0, 0.0, 0.0, 0.0]),
        (System::MountainCar, vec![-1.2, 0.0]),
        (System::MountainCar, vec![0.6, 0.0]),
    ] {
        let c = draw(system, &state, true);
        assert!(c.pixels().iter().all(|&p| (0.0..=1.0).contains(&p)));
        // The fully covered pixels of the ground and of the cart / car.
        let level = |v: f32| c.pixels().iter().any(|&p| (p - v).abs() < 1e-6);
        let ground = match system {
            System::CartPole => CartPoleView::TRACK,
            System::MountainCar => MountainCarView::HILL,
        };
        assert!(level(ground) && level(1.0), "{system} {state:?}");
    }
}

#[test]
fn the_car_rides_on_the_hill() {
    let view = MountainCarView::new(40, 64).unwrap();
    let mut previous = f64::NEG_INFINITY;
    for i in 0..=17 {
        let p = -1.15 + 0.1 * i as f64;
        let c = draw(System::MountainCar, &[p, 0.0], true);
        let (u, v) = centroid(&c, |_, px| px > MountainCarView::FLAG + 0.01);
        let (cu, cv) = view.car_centre(p);
        assert!(
            (u - cu).abs() < 0.5 && (v - cv).abs() < 0.5,
            "p {p}: ({u}, {v}) vs ({cu}, {cv})"
        );
        // The car sits above the surface point, by about its radius.
        let (_, sv) = view.surface(p);
        assert!(
            v < sv && sv - v < 2.5,
            "p {p}: car row {v}, surface row {sv}"
        );
        assert!(u > previous);
        previous = u;
    }
    // Highest on screen at the hill's top, p = pi / 6.
    let top = view.surface(std::f64::consts::FRAC_PI_6).1;
    assert!(top < view.surface(-0.5).1 && top < view.surface(MountainCar::MAX_POSITION).1);
}

#[test]
fn images_too_small_to_draw_the_system_are_errors() {
    for system in System::ALL {
        assert!(Renderer::new(system, 40, 64).is_ok());
        let Err(Error::ImageTooSmall {
            min_height,
            min_width,
            ..
        }) = Renderer::new(system, 8, 64)
        else {
            panic!("8x64 accepted for {system}");
        };
        assert_eq!(min_width, 24);
        assert!(Renderer::new(system, min_height, 64).is_ok());
        assert!(Renderer::new(system, min_height - 1, 64).is_err());
        let err = Renderer::new(system, 100, 20).unwrap_err();
        assert!(err.to_string().contains("width of at least 24"), "{err}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Inside the image, an anti-aliased rectangle's total intensity is its area.
        #[test]
        fn rect_intensity_is_its_area(l in 0.0f64..30.0, t in 0.0f64..20.0, w in 0.0f64..30.0, h in 0.0f64..15.0) {
            let mut c = Canvas::new(40, 64, true);
            c.rect(l, t, l + w, t + h, 1.0);
            let total: f64 = c.pixels().iter().map(|&p| f64::from(p)).sum();
            prop_assert!((total - w * h).abs() < 1e-4 * (1.0 + w * h));
        }

        /// Any CartPole state inside the termination bounds draws a frame in [0, 1] whose
        /// brightest pixel is the cart.
        #[test]
        fn cartpole_frames_are_in_range(x in -2.4f64..2.4, theta in -0.21f64..0.21, aa in any::<bool>()) {
            let c = draw(System::CartPole, &[x, 0.0, theta, 0.0], aa);
            prop_assert!(c.pixels().iter().all(|&p| (0.0..=1.0).contains(&p)));
            prop_assert!(c.pixels().contains(&CartPoleView::CART));
        }
    }
}
