//! `contrast-collective`: the collective operations data-parallel training needs
//! (all-gather, all-reduce, broadcast), behind one trait with three implementations, and
//! deterministic to the bit. It knows nothing of training: it moves `f32`, `f64` and `u64`
//! buffers between the ranks of a group.
//!
//! | implementation | ranks are | needs |
//! |---|---|---|
//! | [`Single`] | this process alone (world 1) | nothing |
//! | [`ThreadGroup`] / [`ThreadMember`] | threads of this process | nothing (the test suite's way to run the distributed path) |
//! | `Mpi` | the processes of `MPI_COMM_WORLD` | feature `mpi` and an MPI library (OpenMPI) |
//!
//! # The operations
//!
//! With `R` ranks, rank `r` holding a buffer `b_r` of `n_r` elements:
//!
//! | operation | result on every rank | this rank sends / receives (payload) |
//! |---|---|---|
//! | [`Collective::all_gather_varcount`] | `[b_0; b_1; ...; b_{R-1}]` and the counts `n_r` | `n_r` / `Σ n - n_r` elements |
//! | [`Collective::all_gather`] | the same, all `n_r` equal | `n` / `(R - 1) n` |
//! | [`Collective::all_reduce_sum`] | `((b_0 + b_1) + ...) + b_{R-1}`, element-wise | `n` / `(R - 1) n` |
//! | [`Collective::broadcast`] | `b_root` | root `n` / others `n` |
//! | [`Group::all_gather_count`] | every rank's `usize` (rows, lengths) | header only |
//! | [`Group::barrier`] | nothing (returns when all arrived) | header only |
//!
//! Every operation opens with a header exchange of 32 bytes per rank (operation, element
//! type, count, root) that lets every rank check, on the same data, that all ranks called
//! the same operation with compatible arguments; a disagreement is the same
//! [`Error::Mismatch`] on every rank instead of a hang or garbage. [`Group::stats`] counts
//! calls and payload bytes per kind of operation ([`CommStats`] has the formulas).
//!
//! # Determinism
//!
//! All-reduce is an all-gather followed by a sum **in rank order**, in every
//! implementation: the result is the same bits on every rank, in every run, whatever the
//! timing. `MPI_Allreduce` leaves the order of its additions to the library (it changes
//! algorithm with message size and process count), and floating-point addition is not
//! associative, so ranks could round differently and their parameters drift apart. See
//! [`Collective::all_reduce_sum`].
//!
//! # Example
//!
//! Two ranks gather uneven shards and agree on a sum:
//!
//! ```
//! use contrast_collective::{Collective, Group, ThreadGroup, shard_range};
//!
//! let batch: Vec<f64> = (0..7).map(f64::from).collect();
//! let results = ThreadGroup::new(2)?.run(|member| -> contrast_collective::Result<_> {
//!     let shard = &batch[shard_range(batch.len(), member.world(), member.rank())?];
//!     let gathered = member.all_gather_varcount(shard)?;
//!     let mut local_sum = [shard.iter().sum::<f64>()];
//!     member.all_reduce_sum(&mut local_sum)?;
//!     Ok((gathered, local_sum[0], member.stats()))
//! })?;
//! for result in results {
//!     let (gathered, sum, stats) = result?;
//!     assert_eq!(gathered.data, batch);          // the global batch, in order
//!     assert_eq!(gathered.counts, [4, 3]);        // 7 rows on 2 ranks
//!     assert_eq!(sum, 21.0);
//!     assert_eq!(stats.all_reduce.received, 8);   // one f64 from the other rank
//! }
//! # Ok::<(), contrast_collective::Error>(())
//! ```
//!
//! # Features
//!
//! * `mpi`: the `Mpi` collective (rsmpi 0.8 without default features, over the system's
//!   MPI). Building it needs an MPI library and libclang (`libopenmpi-dev openmpi-bin
//!   libclang-dev` on Debian); without the feature nothing of MPI is compiled.

mod collective;
mod element;
pub mod error;
mod launch;
#[cfg(feature = "mpi")]
mod mpi;
mod shard;
mod single;
mod stats;
mod thread_group;

pub use collective::{Collective, Communicator, Gathered, Group};
pub use element::Element;
pub use error::{Error, Result};
pub use launch::{LAUNCHER_VARIABLES, launched_by_mpi};
#[cfg(feature = "mpi")]
pub use mpi::Mpi;
pub use shard::shard_range;
pub use single::Single;
pub use stats::{CommStats, OpBytes, OpKind};
pub use thread_group::{ThreadGroup, ThreadMember};
