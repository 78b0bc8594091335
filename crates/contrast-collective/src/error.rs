//! The crate's one error type. Every check that compares ranks runs on data that all ranks
//! received alike (the headers of [`crate::Collective`]'s first exchange), so every rank
//! reaches the same verdict and returns the same error: none is left waiting for a partner
//! that gave up.

use std::time::Duration;

/// What went wrong in a collective operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The ranks called different operations, or agree on the operation but not on one of
    /// its arguments (element count of an all-reduce or equal-count all-gather, the root of a
    /// broadcast, or the element type).
    #[error("{op}: ranks disagree on the {what}: {per_rank:?} (one value per rank)")]
    Mismatch {
        /// The operation this rank called.
        op: &'static str,
        /// What differs: `"operation"`, `"element type"`, `"element count"` or `"root"`.
        what: &'static str,
        /// The value each rank sent, in rank order.
        per_rank: Vec<u64>,
    },
    /// A group of zero ranks, or a rank outside `0..world`.
    #[error("invalid {what} {value} for a group of {world} ranks")]
    InvalidRank {
        /// `"world size"`, `"rank"` or `"root"`.
        what: &'static str,
        /// The offending value.
        value: usize,
        /// Size of the group.
        world: usize,
    },
    /// A rank of a thread group dropped its handle (it returned or panicked) while others
    /// still needed it: the group is broken and every later operation fails with this error.
    #[error("{op}: rank {rank} left the group")]
    RankLeft {
        /// The operation that could not complete.
        op: &'static str,
        /// The rank that left first.
        rank: usize,
    },
    /// The closure of a rank panicked ([`crate::ThreadGroup::run`]).
    #[error("rank {rank} panicked: {message}")]
    RankPanicked {
        /// The rank whose closure panicked.
        rank: usize,
        /// The panic message, if it was a string.
        message: String,
    },
    /// A thread-group operation waited longer than the group's timeout for the other ranks.
    #[error("{op}: timed out after {waited:?} waiting for the other ranks")]
    Timeout {
        /// The operation that waited.
        op: &'static str,
        /// How long it waited.
        waited: Duration,
    },
    /// An integer all-reduce overflowed `u64`, or an element count exceeds what the
    /// transport can address (MPI counts are `i32`).
    #[error("{op}: {what} overflows")]
    Overflow {
        /// The operation.
        op: &'static str,
        /// What overflowed.
        what: String,
    },
    /// MPI could not be initialised as needed (already initialised, or the library lacks
    /// the thread support the collective needs).
    #[error("MPI: {0}")]
    Mpi(String),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
