//! Our CartPole and MountainCar replay gymnasium's episodes (tests/fixtures/*.json, made by
//! tests/fixtures/make_fixtures.py) step for step: same states to 1e-9 over whole episodes,
//! same rewards, same terminated / truncated flags.

use contrast_env::{CartPole, Dynamics, Env, MountainCar, System, TimeLimit};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    env: String,
    episodes: Vec<Episode>,
}

#[derive(Deserialize)]
struct Episode {
    policy: String,
    initial_state_bits: Vec<String>,
    initial_state: Vec<f64>,
    actions: Vec<usize>,
    states: Vec<Vec<f64>>,
    rewards: Vec<f64>,
    terminated: Vec<u8>,
    truncated: Vec<u8>,
}

const TOLERANCE: f64 = 1e-9;

fn load(name: &str) -> Fixture {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn from_bits(hex: &str) -> f64 {
    f64::from_bits(u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap())
}

/// Replays every episode open loop from its recorded initial state; returns the largest
/// state difference seen.
fn replay(fixture: &Fixture, env: &mut dyn Env) -> f64 {
    assert_eq!(fixture.env, env.name());
    let mut worst: f64 = 0.0;
    for (e, ep) in fixture.episodes.iter().enumerate() {
        let initial: Vec<f64> = ep.initial_state_bits.iter().map(|h| from_bits(h)).collect();
        for (a, b) in initial.iter().zip(&ep.initial_state) {
            assert!(
                (a - b).abs() <= 1e-15 * b.abs().max(1.0),
                "bits and decimals differ"
            );
        }
        env.set_state(&initial).unwrap();
        for (t, &action) in ep.actions.iter().enumerate() {
            let step = env.step(action).unwrap();
            let want = &ep.states[t];
            let diff = step
                .state
                .iter()
                .zip(want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            worst = worst.max(diff);
            assert!(
                diff <= TOLERANCE,
                "{} episode {e} ({}) step {t}: ours {:?}, gymnasium {want:?} (every single \
                 step agrees, so this is an open-loop divergence: this platform's sin/cos \
                 differ from numpy's by an ulp somewhere, which CartPole amplifies)",
                fixture.env,
                ep.policy,
                step.state
            );
            assert_eq!(step.reward, ep.rewards[t], "episode {e} step {t}");
            assert_eq!(
                step.terminated,
                ep.terminated[t] == 1,
                "episode {e} step {t}"
            );
            assert_eq!(step.truncated, ep.truncated[t] == 1, "episode {e} step {t}");
        }
        // The episode ended where gymnasium's did, so one more step is refused.
        assert!(env.step(0).is_err(), "episode {e} did not end");
    }
    worst
}

/// Every recorded step, started from gymnasium's previous state: isolates a one-step
/// discrepancy from its amplification by an open-loop replay.
fn one_step_agreement<D: Dynamics>(fixture: &Fixture, dynamics: &D) {
    for ep in &fixture.episodes {
        let initial: Vec<f64> = ep.initial_state_bits.iter().map(|h| from_bits(h)).collect();
        let mut previous = initial;
        for (t, &action) in ep.actions.iter().enumerate() {
            let mut state = previous.clone();
            dynamics.advance(&mut state, action);
            for (a, b) in state.iter().zip(&ep.states[t]) {
                assert!(
                    (a - b).abs() <= 1e-12,
                    "step {t}: {state:?} vs {:?}",
                    ep.states[t]
                );
            }
            previous = ep.states[t].clone();
        }
    }
}

fn check_coverage(fixture: &Fixture, min_episodes: usize) {
    assert!(fixture.episodes.len() >= min_episodes);
    assert!(
        fixture
            .episodes
            .iter()
            .any(|e| e.truncated.last() == Some(&1))
    );
    assert!(
        fixture
            .episodes
            .iter()
            .any(|e| e.terminated.last() == Some(&1))
    );
}

#[test]
fn cartpole_matches_gymnasium_over_whole_episodes() {
    let fixture = load("cartpole.json");
    check_coverage(&fixture, 4);
    one_step_agreement(&fixture, &CartPole);
    let worst = replay(&fixture, &mut TimeLimit::new(CartPole));
    assert!(worst <= TOLERANCE);
    // Both ways to terminate are covered: the pole (|theta| > 12 deg) and the track (|x| > 2.4).
    let last = |e: &Episode| e.states.last().unwrap().clone();
    assert!(
        fixture
            .episodes
            .iter()
            .any(|e| last(e)[0].abs() > CartPole::X_THRESHOLD)
    );
    assert!(
        fixture
            .episodes
            .iter()
            .any(|e| last(e)[2].abs() > CartPole::THETA_THRESHOLD)
    );
}

#[test]
fn mountaincar_matches_gymnasium_over_whole_episodes() {
    let fixture = load("mountaincar.json");
    check_coverage(&fixture, 3);
    one_step_agreement(&fixture, &MountainCar);
    let worst = replay(&fixture, System::MountainCar.make().as_mut());
    assert!(worst <= TOLERANCE);
    // The inelastic left wall is exercised.
    let wall = |e: &Episode| e.states.iter().any(|s| s[0] == MountainCar::MIN_POSITION);
    assert!(fixture.episodes.iter().any(wall));
}
