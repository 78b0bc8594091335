//! The collective's semantics under a real MPI launch: run with
//! `mpirun -np 2 target/debug/examples/mpi_selfcheck` (build with `--features mpi`).
//! Every rank checks what it received against what it can compute alone and exits
//! non-zero on any difference; rank 0 prints the byte counters.

use std::process::ExitCode;

use contrast_collective::{Collective, Error, Group, Mpi, shard_range};

fn check(what: &str, ok: bool, failures: &mut Vec<String>) {
    if !ok {
        failures.push(what.to_string());
    }
}

/// Rank `r`'s contribution: values whose sum depends on the order of addition.
fn contribution(rank: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| if (rank + i).is_multiple_of(2) { 1e16 } else { 1.0 } * (i as f64 + 1.0))
        .collect()
}

fn main() -> ExitCode {
    let mpi = match Mpi::init() {
        Ok(mpi) => mpi,
        Err(e) => {
            eprintln!("mpi_selfcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (rank, world) = (mpi.rank(), mpi.world());
    let mut failures = Vec::new();

    // Uneven shards of a batch of 2 * world + 1 rows, gathered back in order.
    let len = 2 * world + 1;
    let shard = shard_range(len, world, rank).expect("rank < world");
    let mine: Vec<f32> = shard.map(|i| i as f32).collect();
    match mpi.all_gather_varcount(&mine) {
        Ok(g) => check(
            "all_gather_varcount returns the batch in order",
            g.data == (0..len).map(|i| i as f32).collect::<Vec<_>>(),
            &mut failures,
        ),
        Err(e) => failures.push(format!("all_gather_varcount: {e}")),
    }

    // The all-reduce is the rank-order fold, to the bit.
    let mut buf = contribution(rank, 5);
    let mut expected = contribution(0, 5);
    for r in 1..world {
        for (e, v) in expected.iter_mut().zip(contribution(r, 5)) {
            *e += v;
        }
    }
    match mpi.all_reduce_sum(&mut buf) {
        Ok(()) => check(
            "all_reduce_sum equals the rank-order fold bit for bit",
            buf.iter()
                .map(|v| v.to_bits())
                .eq(expected.iter().map(|v| v.to_bits())),
            &mut failures,
        ),
        Err(e) => failures.push(format!("all_reduce_sum: {e}")),
    }

    // Broadcast from the last rank.
    let root = world - 1;
    let mut labels = vec![rank as u64; 3];
    match mpi.broadcast(&mut labels, root) {
        Ok(()) => check(
            "broadcast copies the root",
            labels == [root as u64; 3],
            &mut failures,
        ),
        Err(e) => failures.push(format!("broadcast: {e}")),
    }

    // Unequal lengths: the same typed error on every rank, and the group goes on.
    let mut uneven = vec![1.0f64; 1 + rank];
    let mismatch = mpi.all_reduce_sum(&mut uneven);
    check(
        "unequal all-reduce lengths give Mismatch",
        world == 1
            || matches!(
                mismatch,
                Err(Error::Mismatch {
                    what: "element count",
                    ..
                })
            ),
        &mut failures,
    );
    if let Err(e) = mpi.barrier() {
        failures.push(format!("barrier after a mismatch: {e}"));
    }

    let stats = mpi.stats();
    check(
        "counters: one all-reduce of 5 f64",
        stats.all_reduce.sent == 40 && stats.all_reduce.received == 40 * (world as u64 - 1),
        &mut failures,
    );
    if rank == 0 {
        println!("mpi_selfcheck: {world} ranks, rank 0 counters {stats:?}");
    }
    if failures.is_empty() {
        println!("mpi_selfcheck: rank {rank} of {world}: all checks passed");
        ExitCode::SUCCESS
    } else {
        eprintln!("mpi_selfcheck: rank {rank} of {world} FAILED: {failures:?}");
        ExitCode::FAILURE
    }
}
