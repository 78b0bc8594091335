//! Data-parallel training equals one process on the global batch: 2 and 3 thread ranks,
//! SimCLR on the small CNN with (synchronised) batch norm, SupCon with gathered labels, and
//! MoCo with its key queue; within 1e-5 relative in f32 (the trainer's type: the ranks add
//! the same numbers in another order). The negative control, a gather that does not sum the
//! gradient back to its owner, must fail.

#[path = "support/data_parallel.rs"]
mod data_parallel;

use std::sync::Arc;

use contrast_collective::ThreadGroup;
use contrast_nn::distributed::SumBack;
use contrast_train::config::{Method, TrainConfig};
use contrast_train::distributed::Ranks;
use data_parallel::{
    STEPS, config, first_gradients, gradient_difference, loss_difference, parameter_difference, run,
};

const TOLERANCE: f32 = 1e-5;

fn equivalence(method: Method, world: usize) {
    let config = config(method);
    let single = run(&config, None).unwrap();
    let outcomes = ThreadGroup::new(world)
        .unwrap()
        .run(|member| run(&config, Some(Ranks::new(Arc::new(member)))))
        .unwrap();
    for (rank, outcome) in outcomes.into_iter().enumerate() {
        let outcome = outcome.unwrap();
        assert_eq!(outcome.losses.len(), STEPS);
        let dl = loss_difference(&single.losses, &outcome.losses);
        let dp = parameter_difference(&single.state, &outcome.state);
        eprintln!("{method:?} world {world} rank {rank}: losses {dl:.2e}, parameters {dp:.2e}");
        assert!(
            dl < TOLERANCE,
            "{method:?} rank {rank}: losses differ by {dl}"
        );
        assert!(
            dp < TOLERANCE,
            "{method:?} rank {rank}: parameters differ by {dp}"
        );
    }
}

#[test]
fn simclr_with_batch_norm_on_2_and_3_ranks_equals_one_process() {
    equivalence(Method::Simclr, 2);
    equivalence(Method::Simclr, 3);
}

#[test]
fn supcon_on_2_and_3_ranks_equals_one_process() {
    equivalence(Method::Supcon, 2);
    equivalence(Method::Supcon, 3);
}

#[test]
fn moco_and_its_queue_on_2_and_3_ranks_equal_one_process() {
    equivalence(Method::Moco, 2);
    equivalence(Method::Moco, 3);
}

/// The default optimizer, AdamW, on 2 ranks: the same losses step after step (its
/// parameters are compared through them: see `config` for why not element by element).
#[test]
fn adamw_on_2_ranks_gives_the_losses_of_one_process() {
    use contrast_train::config::OptimizerKind;
    let config = contrast_train::config::TrainConfig {
        optimizer: OptimizerKind::Adamw,
        lr: 3e-3,
        ..config(Method::Simclr)
    };
    let single = run(&config, None).unwrap();
    for outcome in ThreadGroup::new(2)
        .unwrap()
        .run(|member| run(&config, Some(Ranks::new(Arc::new(member)))))
        .unwrap()
    {
        let dl = loss_difference(&single.losses, &outcome.unwrap().losses);
        assert!(dl < TOLERANCE, "losses differ by {dl}");
    }
}

/// Adam hides a gradient scaled by 1/R in the parameters, so the control compares the
/// gradients themselves: without the sum-back they are R times too small.
#[test]
fn gradients_match_and_a_gather_without_sum_back_does_not() {
    let config = config(Method::Simclr);
    let single = first_gradients(&config, None).unwrap();
    for (sum_back, must_match) in [(SumBack::AllReduce, true), (SumBack::Skip, false)] {
        let per_rank = ThreadGroup::new(2)
            .unwrap()
            .run(|member| {
                let ranks = Ranks::new(Arc::new(member)).with_sum_back(sum_back);
                first_gradients(&config, Some(ranks))
            })
            .unwrap();
        for grads in per_rank {
            let d = gradient_difference(&single, &grads.unwrap());
            eprintln!("{sum_back:?}: gradients differ by {d:.2e}");
            if must_match {
                assert!(d < TOLERANCE, "gradients differ by {d}");
            } else {
                assert!(
                    d > 0.4,
                    "without the sum-back the gradients must be off (by 1/2): {d}"
                );
            }
        }
    }
}

/// A checkpoint written by a run on 2 ranks is refused by a run on 1, with the command.
#[test]
fn resume_needs_the_same_number_of_ranks() {
    use contrast_train::{checkpoint, tasks, trainer::Trainer};
    let config = config(Method::Simclr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(checkpoint::FILE);
    ThreadGroup::new(2)
        .unwrap()
        .run(|member| {
            let task = tasks::load(&config).unwrap();
            let mut trainer = Trainer::new(&config, task.as_ref()).unwrap();
            let ranks = Ranks::new(Arc::new(member));
            let root = ranks.is_root();
            trainer.distribute(ranks).unwrap();
            let indices = trainer.plan(0).unwrap().swap_remove(0);
            let batch = trainer.batch(&indices, 0).unwrap();
            trainer.step(&batch, 0).unwrap();
            if root {
                checkpoint::save(&path, &trainer, 1).unwrap();
            }
        })
        .unwrap();
    let task = tasks::load(&config).unwrap();
    let mut alone = Trainer::new(&config, task.as_ref()).unwrap();
    let e = checkpoint::load(&path, &mut alone).unwrap_err().to_string();
    assert!(e.contains("2 rank") && e.contains("mpirun -np 2"), "{e}");
    assert_eq!(alone.steps_done, 0);
}

/// Ranks and cached-gradient chunks together: each rank encodes its shard in chunks and the
/// loss sees every rank's rows. With one chunk per shard the step is the plain one, so it
/// equals one process on the whole batch; with several, batch norm normalises each chunk
/// (synchronised over the ranks' chunks of the same index), so the ranks must agree with each
/// other bit for bit and train.
#[test]
fn chunked_steps_on_2_ranks() {
    for method in [Method::Simclr, Method::Moco] {
        let whole = config(method);
        let single = run(&whole, None).unwrap();
        let shard = whole.batch_size / 2;
        for chunk_size in [shard, 5] {
            let chunked = TrainConfig {
                chunk_size: Some(chunk_size),
                ..whole.clone()
            };
            let outcomes: Vec<_> = ThreadGroup::new(2)
                .unwrap()
                .run(|member| run(&chunked, Some(Ranks::new(Arc::new(member)))))
                .unwrap()
                .into_iter()
                .map(Result::unwrap)
                .collect();
            for outcome in &outcomes {
                assert!(outcome.losses.iter().all(|l| l.is_finite()));
                if chunk_size == shard {
                    let dl = loss_difference(&single.losses, &outcome.losses);
                    let dp = parameter_difference(&single.state, &outcome.state);
                    assert!(dl < TOLERANCE, "{method:?}: losses differ by {dl}");
                    assert!(dp < TOLERANCE, "{method:?}: parameters differ by {dp}");
                }
            }
            assert_eq!(outcomes[0].losses, outcomes[1].losses);
            assert_eq!(
                parameter_difference(&outcomes[0].state, &outcomes[1].state),
                0.0
            );
        }
    }
}

/// Shards cut into different numbers of chunks would leave a rank waiting: every rank
/// refuses the step with the same typed error instead.
#[test]
fn unequal_chunk_counts_are_refused_on_every_rank() {
    let config = TrainConfig {
        batch_size: 25,
        chunk_size: Some(4),
        ..config(Method::Simclr)
    };
    let outcomes = ThreadGroup::new(2)
        .unwrap()
        .run(|member| run(&config, Some(Ranks::new(Arc::new(member)))))
        .unwrap();
    for outcome in outcomes {
        match outcome {
            Err(contrast_train::Error::Config(message)) => {
                assert!(message.contains("[4, 3]"), "{message}")
            }
            Err(other) => panic!("expected a chunk-count error, got {other}"),
            Ok(_) => panic!("unequal chunk counts were accepted"),
        }
    }
}
