//! The test that matters: 2 and 3 ranks (threads of one process, the same code path as
//! MPI) train exactly as one process on the global batch. Three SGD or Adam steps on a
//! batch of 7 two-view samples (uneven shards: 4 + 3, and 3 + 2 + 2), for an MLP with batch
//! norm + NT-Xent, the same MLP + SupCon with gathered labels, and a small CNN with batch
//! norm + NT-Xent: losses, parameters and running statistics within 1e-10 (f64), and the
//! ranks' states identical to the bit.
//!
//! Negative controls: without the gradient sum-back, or with local instead of synchronised
//! batch norm, the same comparison must fail by a wide margin, so the tolerance above is
//! not loose enough to hide either bug.

#[path = "support/equivalence.rs"]
mod equivalence;

use std::sync::Arc;

use contrast_collective::{Communicator, ThreadGroup};
use contrast_nn::distributed::SumBack;
use equivalence::{Loss, Model, Optim, Scenario, Trace, run};

/// Every rank's trace of `scenario` on a thread group of `world`.
fn on_threads(scenario: &Scenario, world: usize) -> Vec<Trace> {
    ThreadGroup::new(world)
        .unwrap()
        .run(|member| {
            let comm: Arc<dyn Communicator> = Arc::new(member);
            run(scenario, Some(comm)).map_err(|e| e.to_string())
        })
        .unwrap()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The largest difference between the single-process trace and any rank's, after
/// checking that all ranks hold the same bits (except with local batch norm, whose running
/// statistics are each rank's own).
fn difference(scenario: &Scenario, world: usize) -> f64 {
    let single = run(scenario, None).unwrap();
    let ranks = on_threads(scenario, world);
    for (rank, trace) in ranks.iter().enumerate() {
        assert_eq!(trace.losses, ranks[0].losses);
        assert!(
            !scenario.sync_bn || trace.state_hash() == ranks[0].state_hash(),
            "{scenario:?}: rank {rank} drifted from rank 0"
        );
    }
    let diff = ranks
        .iter()
        .map(|t| t.max_diff(&single))
        .fold(0.0, f64::max);
    eprintln!("{scenario:?} on {world} ranks: max difference {diff:.3e}");
    diff
}

fn assert_equivalent(scenario: Scenario) {
    for world in [2, 3] {
        let diff = difference(&scenario, world);
        assert!(
            diff <= 1e-10,
            "{scenario:?} on {world} ranks differs from one process by {diff:e}"
        );
    }
}

#[test]
fn mlp_batch_norm_nt_xent_sgd() {
    assert_equivalent(Scenario::new(Model::Mlp, Loss::NtXent, Optim::Sgd));
}

#[test]
fn mlp_batch_norm_nt_xent_adam() {
    assert_equivalent(Scenario::new(Model::Mlp, Loss::NtXent, Optim::Adam));
}

#[test]
fn mlp_batch_norm_supcon_with_gathered_labels() {
    assert_equivalent(Scenario::new(Model::Mlp, Loss::SupCon, Optim::Sgd));
}

#[test]
fn small_cnn_batch_norm_nt_xent() {
    assert_equivalent(Scenario::new(Model::Cnn, Loss::NtXent, Optim::Sgd));
}

#[test]
fn one_rank_through_the_collective_is_one_process() {
    let scenario = Scenario::new(Model::Cnn, Loss::SupCon, Optim::Adam);
    let diff = difference(&scenario, 1);
    assert!(diff <= 1e-12, "{diff:e}");
}

#[test]
fn negative_control_without_the_gradient_sum_back() {
    for world in [2, 3] {
        let scenario = Scenario {
            sum_back: SumBack::Skip,
            ..Scenario::new(Model::Mlp, Loss::NtXent, Optim::Sgd)
        };
        let diff = difference(&scenario, world);
        assert!(
            diff > 1e-3,
            "skipping the sum-back should break the equivalence on {world} ranks, diff {diff:e}"
        );
    }
}

#[test]
fn negative_control_with_local_batch_norm() {
    for (model, world) in [(Model::Mlp, 2), (Model::Cnn, 3)] {
        let scenario = Scenario {
            sync_bn: false,
            ..Scenario::new(model, Loss::NtXent, Optim::Sgd)
        };
        let diff = difference(&scenario, world);
        assert!(
            diff > 1e-3,
            "local batch norm should break the equivalence ({model:?}, {world} ranks), diff {diff:e}"
        );
    }
}
