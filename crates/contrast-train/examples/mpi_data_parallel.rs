//! The data-parallel equivalence check under MPI: every rank trains its shard for a few
//! steps through the `Mpi` collective, then compares its losses and parameters with one
//! process trained on the global batch (computed on every rank). Exits non-zero on a
//! mismatch.
//!
//! ```sh
//! cargo build -p contrast-train --features mpi --example mpi_data_parallel
//! mpirun -np 2 target/debug/examples/mpi_data_parallel
//! ```

#[path = "../tests/support/data_parallel.rs"]
mod data_parallel;

use contrast_train::config::Method;
use contrast_train::distributed::mpi_ranks;
use data_parallel::{config, loss_difference, parameter_difference, run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ranks = mpi_ranks()?;
    let (rank, world) = (ranks.rank(), ranks.world());
    let mut failed = false;
    for method in [Method::Simclr, Method::Supcon, Method::Moco] {
        let config = config(method);
        let parallel = run(&config, Some(ranks.clone()))?;
        let single = run(&config, None)?;
        let dl = loss_difference(&single.losses, &parallel.losses);
        let dp = parameter_difference(&single.state, &parallel.state);
        let ok = dl < 1e-5 && dp < 1e-5;
        failed |= !ok;
        println!(
            "rank {rank}/{world} {method:?}: losses {dl:.2e}, parameters {dp:.2e} {}",
            if ok { "ok" } else { "MISMATCH" }
        );
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
