//! The collective of `MPI_COMM_WORLD` (feature `mpi`), through rsmpi over the system's MPI
//! library (OpenMPI on Debian: `libopenmpi-dev openmpi-bin`, plus `libclang-dev` for the
//! bindings).
//!
//! | operation | MPI calls |
//! |---|---|
//! | header (every operation, barrier) | `MPI_Allgather` of 5 `u64` |
//! | all-gather, all-reduce | `MPI_Allgatherv` with the counts from the headers |
//! | broadcast | `MPI_Bcast` |
//!
//! `MPI_Allreduce` is deliberately not used: see [`crate::Collective::all_reduce_sum`].
//!
//! MPI is initialised at [`Threading::Serialized`]: the handle may move between threads
//! (a backward pass may run anywhere), and a mutex makes sure that no two MPI calls of this
//! process overlap. A rank that dies under `mpirun` makes the launcher end the job (MPI's
//! default error handler aborts), so the others do not hang either.

use std::sync::{Mutex, PoisonError};

use mpi::Count;
use mpi::datatype::PartitionMut;
use mpi::environment::{Threading, Universe};
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};

use crate::collective::transport::Transport;
use crate::collective::{HEADER_LEN, Op};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::stats::Counters;

/// A rank of `MPI_COMM_WORLD`. Create it once per process ([`Mpi::init`]); dropping it
/// finalises MPI.
pub struct Mpi {
    /// Owns the MPI environment (`MPI_Finalize` on drop). `MPI_COMM_WORLD` is taken from it
    /// for every call (a handle to the built-in communicator, nothing to free).
    universe: Universe,
    rank: usize,
    world: usize,
    /// Serialises this process's MPI calls (the `Serialized` thread level's contract).
    calls: Mutex<()>,
    counters: Counters,
}

impl Mpi {
    /// Initialises MPI (`MPI_Init_thread` at `Serialized`) and joins `MPI_COMM_WORLD`.
    ///
    /// # Errors
    /// [`Error::Mpi`] when MPI was already initialised in this process, or when the
    /// library does not provide the `Serialized` thread level.
    pub fn init() -> Result<Self> {
        let (universe, provided) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::Mpi("already initialised in this process".into()))?;
        if provided < Threading::Serialized {
            return Err(Error::Mpi(format!(
                "the library provides thread level {provided:?}, the collective needs Serialized"
            )));
        }
        let comm = universe.world();
        let (rank, world) = (comm.rank(), comm.size());
        Ok(Self {
            universe,
            rank: usize::try_from(rank).expect("MPI ranks are non-negative"),
            world: usize::try_from(world).expect("MPI sizes are positive"),
            calls: Mutex::new(()),
            counters: Counters::default(),
        })
    }

    /// Runs `f` on `MPI_COMM_WORLD` with this process's MPI lock held.
    fn with_world<R>(&self, f: impl FnOnce(&mpi::topology::SimpleCommunicator) -> R) -> R {
        let _guard = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        f(&self.universe.world())
    }
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.rank)
            .field("world", &self.world)
            .finish_non_exhaustive()
    }
}

/// `n` as an MPI count, or [`Error::Overflow`].
fn count(n: usize, op: Op) -> Result<Count> {
    Count::try_from(n).map_err(|_| Error::Overflow {
        op: op.name(),
        what: format!("an MPI count of {n} elements"),
    })
}

impl Transport for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world(&self) -> usize {
        self.world
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn exchange_headers(&self, header: [u64; HEADER_LEN], _op: Op) -> Result<Vec<u64>> {
        let mut all = vec![0u64; HEADER_LEN * self.world];
        self.with_world(|comm| comm.all_gather_into(&header[..], &mut all[..]));
        Ok(all)
    }

    fn gather<T: Element>(&self, send: &[T], counts: &[usize], op: Op) -> Result<Vec<T>> {
        let total: usize = counts.iter().sum();
        let mpi_counts: Vec<Count> = counts
            .iter()
            .map(|&c| count(c, op))
            .collect::<Result<_>>()?;
        let mut displs = Vec::with_capacity(counts.len());
        let mut offset = 0usize;
        for &c in counts {
            displs.push(count(offset, op)?);
            offset += c;
        }
        let mut recv = vec![T::ZERO; total];
        self.with_world(|comm| {
            let mut partition = PartitionMut::new(&mut recv[..], &mpi_counts[..], &displs[..]);
            comm.all_gather_varcount_into(send, &mut partition);
        });
        Ok(recv)
    }

    fn broadcast<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()> {
        let root = count(root, Op::Broadcast)?;
        self.with_world(|comm| comm.process_at_rank(root).broadcast_into(buf));
        Ok(())
    }
}
