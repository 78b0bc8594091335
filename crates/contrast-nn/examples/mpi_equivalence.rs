//! The distributed-equivalence check under a real MPI launch:
//!
//! ```text
//! cargo build -p contrast-nn --features mpi --example mpi_equivalence
//! mpirun --allow-run-as-root --oversubscribe -np 2 target/debug/examples/mpi_equivalence
//! ```
//!
//! Every rank trains each scenario of `tests/support/equivalence.rs` (an MLP with batch norm
//! under NT-Xent with SGD or Adam and under SupCon with gathered labels; a small CNN with
//! batch norm under NT-Xent) on its shard through the `Mpi` collective, and the same
//! scenario on the whole batch in one process by itself. It exits non-zero when the two
//! differ by more than 1e-10, when the ranks' states are not the same bits, or when a
//! negative control (no gradient sum-back, local batch norm) fails to differ. Rank 0 prints
//! the bytes each run communicated.

#[path = "../tests/support/equivalence.rs"]
mod equivalence;

use std::process::ExitCode;
use std::sync::Arc;

use contrast_collective::{Collective, Communicator, Group, Mpi};
use contrast_nn::distributed::SumBack;
use equivalence::{BoxError, Loss, Model, Optim, Scenario, run};

/// Runs one scenario both ways; `Ok(difference)` or an error. Checks that all ranks hold
/// the same state bits (not for local batch norm, whose running statistics are per rank).
fn difference(scenario: &Scenario, comm: &Arc<dyn Communicator>) -> Result<f64, BoxError> {
    let single = run(scenario, None)?;
    let mine = run(scenario, Some(Arc::clone(comm)))?;
    let hashes = Collective::<u64>::all_gather(&**comm, &[mine.state_hash()])?;
    if scenario.sync_bn && hashes.iter().any(|&h| h != hashes[0]) {
        return Err(format!("ranks hold different states: hashes {hashes:x?}").into());
    }
    Ok(mine.max_diff(&single))
}

fn main() -> ExitCode {
    let mpi = match Mpi::init() {
        Ok(mpi) => mpi,
        Err(e) => {
            eprintln!("mpi_equivalence: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (rank, world) = (mpi.rank(), mpi.world());
    let comm: Arc<dyn Communicator> = Arc::new(mpi);
    let positive = [
        Scenario::new(Model::Mlp, Loss::NtXent, Optim::Sgd),
        Scenario::new(Model::Mlp, Loss::NtXent, Optim::Adam),
        Scenario::new(Model::Mlp, Loss::SupCon, Optim::Sgd),
        Scenario::new(Model::Cnn, Loss::NtXent, Optim::Sgd),
    ];
    let negative = [
        Scenario {
            sum_back: SumBack::Skip,
            ..positive[0]
        },
        Scenario {
            sync_bn: false,
            ..positive[3]
        },
    ];
    let mut failures = Vec::new();
    let cases = positive
        .iter()
        .map(|s| (s, true))
        .chain(negative.iter().map(|s| (s, false)));
    for (scenario, should_match) in cases {
        let before = comm.stats();
        match difference(scenario, &comm) {
            Ok(diff) => {
                let ok = if should_match {
                    diff <= 1e-10
                } else {
                    diff > 1e-3
                };
                if rank == 0 {
                    let per_step = comm.stats().since(&before);
                    println!(
                        "{} {scenario:?}: max difference {diff:.3e} (expected {}); \
                         rank 0 communicated {} bytes (initial broadcast, {} steps, state check)",
                        if ok { "ok  " } else { "FAIL" },
                        if should_match { "<= 1e-10" } else { "> 1e-3" },
                        per_step.total_bytes(),
                        scenario.steps,
                    );
                }
                if !ok {
                    failures.push(format!("{scenario:?}: difference {diff:e}"));
                }
            }
            Err(e) => failures.push(format!("{scenario:?}: {e}")),
        }
    }
    if failures.is_empty() {
        println!("mpi_equivalence: rank {rank} of {world}: all scenarios passed");
        ExitCode::SUCCESS
    } else {
        eprintln!("mpi_equivalence: rank {rank} of {world} FAILED: {failures:#?}");
        ExitCode::FAILURE
    }
}
