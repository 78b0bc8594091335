//! Generated trajectory sets: counts, determinism, frame stacks, time pairs, disjoint
//! splits, consistency with the simulator, distractors, and the errors for bad settings.

use contrast_env::{
    Error, GenerationSettings, PolicyKind, Split, System, TransitionSet, generate, generate_split,
};

fn small(system: System) -> GenerationSettings {
    let mut s = GenerationSettings::new(system);
    s.train_transitions = 3000;
    s.test_transitions = 700;
    s.seed = 11;
    s
}

#[test]
fn splits_hold_the_requested_transitions_half_from_each_policy() {
    for system in System::ALL {
        let s = small(system);
        let data = generate(&s).unwrap();
        for (set, want) in [(&data.train, 3000), (&data.test, 700)] {
            assert_eq!(set.num_transitions(), want);
            assert_eq!(set.num_steps(), want + set.num_episodes());
            let heuristic: usize = set
                .episodes()
                .iter()
                .filter(|e| e.policy == PolicyKind::Heuristic)
                .map(|e| e.len)
                .sum();
            assert_eq!(heuristic, want / 2);
            assert_eq!(set.states().dim(), (set.num_steps(), system.state_dim()));
            // Only the last episode of each policy may be cut short.
            let cut = set
                .episodes()
                .iter()
                .filter(|e| !e.terminated && !e.truncated)
                .count();
            assert!(cut <= 2, "{cut} cut episodes");
        }
    }
}

#[test]
fn the_heuristic_keeps_episodes_longer_than_random_actions() {
    let data = generate(&small(System::CartPole)).unwrap();
    let mean = |p| {
        let lens: Vec<usize> = data
            .train
            .episodes()
            .iter()
            .filter(|e| e.policy == p && (e.terminated || e.truncated))
            .map(|e| e.len)
            .collect();
        lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64
    };
    assert!(mean(PolicyKind::Heuristic) > 5.0 * mean(PolicyKind::Uniform));
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let s = small(System::CartPole);
    let a = generate(&s).unwrap();
    let b = generate(&s).unwrap();
    assert_eq!(a, b);
    let mut other = s.clone();
    other.seed = 12;
    let c = generate(&other).unwrap();
    assert_ne!(a.train.states(), c.train.states());
    assert_ne!(a.train.frame(0, 0).unwrap(), c.train.frame(0, 0).unwrap());
}

#[test]
fn generation_does_not_depend_on_the_thread_count() {
    let mut s = small(System::MountainCar);
    s.distractors = true;
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| generate_split(&s, Split::Train).unwrap())
    };
    assert_eq!(run(1), run(4));
}

#[test]
fn frame_stacks_repeat_the_first_frame_at_the_start() {
    let mut s = small(System::CartPole);
    s.frame_stack = 3;
    let set = generate_split(&s, Split::Test).unwrap();
    let frame = |t| set.frame(0, t).unwrap().mapv(|b| f32::from(b) / 255.0);
    let channels = |t| {
        let obs = set.observation(0, t).unwrap();
        assert_eq!(obs.dim(), (3, 40, 64));
        assert!(obs.iter().all(|&v| (0.0..=1.0).contains(&v)));
        obs
    };
    let at0 = channels(0);
    for c in 0..3 {
        assert_eq!(at0.index_axis(ndarray::Axis(0), c), frame(0));
    }
    let at1 = channels(1);
    assert_eq!(at1.index_axis(ndarray::Axis(0), 0), frame(0));
    assert_eq!(at1.index_axis(ndarray::Axis(0), 1), frame(0));
    assert_eq!(at1.index_axis(ndarray::Axis(0), 2), frame(1));
    let at5 = channels(5);
    for c in 0..3 {
        assert_eq!(at5.index_axis(ndarray::Axis(0), c), frame(3 + c));
    }
    // Motion makes consecutive frames differ, so the stack really shows two times.
    assert_ne!(frame(4), frame(5));
    // The batch form agrees with the single form, also across an episode boundary.
    let at = [(0, 5), (1, 0), (set.num_episodes() - 1, 2)];
    let batch = set.observations(&at).unwrap();
    for (n, &(e, t)) in at.iter().enumerate() {
        assert_eq!(
            batch.index_axis(ndarray::Axis(0), n),
            set.observation(e, t).unwrap()
        );
    }
}

#[test]
fn time_pairs_stay_inside_episodes() {
    let set = generate_split(&small(System::CartPole), Split::Train).unwrap();
    for k in [1, 3, 10] {
        let pairs = set.pairs(k).unwrap();
        assert_eq!(pairs.len(), set.count_pairs(k).unwrap());
        let expected: usize = set
            .episodes()
            .iter()
            .map(|e| (e.len + 1).saturating_sub(k))
            .sum();
        assert_eq!(pairs.len(), expected);
        for p in &pairs {
            assert_eq!(p.future, p.t + k);
            assert!(p.future <= set.episodes()[p.episode].len);
            let g = set.global_index(p.episode, p.future).unwrap();
            assert_eq!(set.locate(g).unwrap(), (p.episode, p.future));
        }
    }
    // Pairs span at most the longest episode.
    let longest = set.episodes().iter().map(|e| e.len).max().unwrap();
    assert!(set.pairs(longest).is_ok());
    match set.pairs(longest + 1) {
        Err(Error::NoValidPairs { offset, longest: l }) => {
            assert_eq!((offset, l), (longest + 1, longest))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(set.pairs(0), Err(Error::ZeroOffset)));
}

#[test]
fn train_and_test_episodes_are_disjoint() {
    for system in System::ALL {
        let data = generate(&small(system)).unwrap();
        let starts = |set: &TransitionSet| -> Vec<Vec<u64>> {
            (0..set.num_episodes())
                .map(|e| {
                    set.state(e, 0)
                        .unwrap()
                        .iter()
                        .map(|v| v.to_bits())
                        .collect()
                })
                .collect()
        };
        let train = starts(&data.train);
        for s in starts(&data.test) {
            assert!(
                !train.contains(&s),
                "{system}: a test episode starts like a training one"
            );
        }
    }
}

#[test]
fn stored_states_replay_from_the_stored_actions() {
    for system in System::ALL {
        let set = generate_split(&small(system), Split::Test).unwrap();
        let mut env = system.make();
        for e in 0..set.num_episodes() {
            let info = set.episodes()[e];
            env.set_state(set.state(e, 0).unwrap()).unwrap();
            for t in 0..info.len {
                let step = env.step(set.action(e, t).unwrap()).unwrap();
                assert_eq!(step.state, set.state(e, t + 1).unwrap());
                assert_eq!(step.reward, set.reward(e, t).unwrap());
                let last = t + 1 == info.len;
                assert_eq!(step.terminated, last && info.terminated);
                assert_eq!(step.truncated, last && info.truncated);
            }
        }
    }
}

#[test]
fn distractors_change_pixels_but_not_states() {
    for system in System::ALL {
        let clean = small(system);
        let mut noisy = clean.clone();
        noisy.distractors = true;
        let a = generate_split(&clean, Split::Train).unwrap();
        let b = generate_split(&noisy, Split::Train).unwrap();
        assert_eq!(a.episodes(), b.episodes());
        assert_eq!(a.states(), b.states());
        for e in [0, a.num_episodes() - 1] {
            for t in 0..a.episodes()[e].len {
                assert_eq!(a.action(e, t).unwrap(), b.action(e, t).unwrap());
            }
        }
        // Most background pixels are black without distractors and textured with them.
        let dark =
            |set: &TransitionSet| set.frame(0, 0).unwrap().iter().filter(|&&p| p == 0).count();
        assert!(
            dark(&a) > 40 * 64 / 3 && dark(&b) < 40 * 64 / 20,
            "{} {}",
            dark(&a),
            dark(&b)
        );
        // The background differs between episodes, and the disc moves within one.
        assert_ne!(b.frame(0, 0).unwrap(), b.frame(1, 0).unwrap());
        let (f0, f1) = (b.frame(0, 0).unwrap(), b.frame(0, 1).unwrap());
        assert_ne!(f0, f1);
    }
}

#[test]
fn bad_settings_are_typed_errors() {
    let base = small(System::CartPole);
    let with = |f: &dyn Fn(&mut GenerationSettings)| {
        let mut s = base.clone();
        f(&mut s);
        generate(&s).unwrap_err()
    };
    assert!(matches!(
        with(&|s| s.frame_stack = 0),
        Error::ZeroFrameStack
    ));
    assert!(matches!(
        with(&|s| s.train_transitions = 0),
        Error::ZeroTransitions { split: "train" }
    ));
    assert!(matches!(
        with(&|s| s.test_transitions = 0),
        Error::ZeroTransitions { split: "test" }
    ));
    assert!(matches!(
        with(&|s| s.epsilon = 1.5),
        Error::InvalidProbability {
            what: "epsilon",
            ..
        }
    ));
    assert!(matches!(
        with(&|s| s.heuristic_fraction = f64::NAN),
        Error::InvalidProbability {
            what: "heuristic_fraction",
            ..
        }
    ));
    assert!(matches!(
        with(&|s| s.height = 10),
        Error::ImageTooSmall { .. }
    ));
    let err = with(&|s| s.frame_stack = 0);
    assert!(err.to_string().contains("at least one frame"), "{err}");
    assert!(matches!(
        GenerationSettings::from_spec("pendulum"),
        Err(Error::UnknownSystem { .. })
    ));
    assert_eq!(
        GenerationSettings::from_spec("mountaincar").unwrap().system,
        System::MountainCar
    );
}

#[test]
fn out_of_range_indices_are_errors() {
    let mut set = generate_split(&small(System::MountainCar), Split::Test).unwrap();
    let (e, len) = (set.num_episodes(), set.episodes()[0].len);
    assert!(matches!(
        set.observation(e, 0),
        Err(Error::IndexOutOfRange {
            what: "episode",
            ..
        })
    ));
    assert!(set.frame(0, len).is_ok());
    assert!(matches!(
        set.frame(0, len + 1),
        Err(Error::IndexOutOfRange {
            what: "time step",
            ..
        })
    ));
    assert!(matches!(
        set.action(0, len),
        Err(Error::IndexOutOfRange {
            what: "transition",
            ..
        })
    ));
    assert!(set.observations(&[(0, 0), (0, len + 1)]).is_err());
    assert!(set.locate(set.num_steps()).is_err());
    assert!(matches!(set.set_frame_stack(0), Err(Error::ZeroFrameStack)));
    assert_eq!(set.frame_stack(), 2);
}

#[test]
fn stepping_errors_are_typed() {
    let mut env = System::CartPole.make();
    assert!(matches!(env.step(0), Err(Error::NotReset { .. })));
    assert!(matches!(
        env.step(2),
        Err(Error::InvalidAction {
            action: 2,
            num_actions: 2,
            ..
        })
    ));
    assert!(matches!(
        env.set_state(&[0.0; 3]),
        Err(Error::StateLength {
            expected: 4,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        env.set_state(&[0.0, f64::NAN, 0.0, 0.0]),
        Err(Error::NonFiniteState { name: "x_dot", .. })
    ));
    env.set_state(&[0.0, 0.0, 0.3, 0.0]).unwrap();
    assert!(env.step(0).unwrap().terminated);
    assert!(matches!(
        env.step(0),
        Err(Error::EpisodeOver { steps: 1, .. })
    ));
}
