//! The traits ([`Group`], [`Collective`], [`Communicator`]) and the one implementation of
//! their semantics, shared by every transport.
//!
//! A transport (single process, thread group, MPI) only knows how to exchange an
//! operation header, all-gather buffers whose counts every rank knows, and broadcast. On top
//! of that, this module runs every operation the same way:
//!
//! 1. **Header.** Every rank all-gathers `[operation, element type, count, root]` (4
//!    `u64`). Every rank then checks the same table, so a disagreement (a rank that called
//!    another operation, another element type, another count where counts must agree, or
//!    another root) becomes the same [`Error::Mismatch`] on every rank, and none of them
//!    waits for a partner that gave up.
//! 2. **Data.** All-gather moves each rank's buffer to every rank with the counts learnt
//!    from the headers; all-reduce is that all-gather followed by a local sum in rank order
//!    (see [`Collective::all_reduce_sum`] for why); broadcast copies the root's buffer.
//! 3. **Counting.** Payload bytes are added to the rank's counters ([`crate::CommStats`]).

use std::fmt::Debug;

use crate::element::{Element, sum_in_rank_order};
use crate::error::{Error, Result};
use crate::stats::{CommStats, OpKind};

/// What every member of a group of `world` ranks offers, whatever it moves.
pub trait Group: Send + Sync + Debug {
    /// This process's (or thread's) index in `0..world`.
    fn rank(&self) -> usize;
    /// Number of ranks in the group.
    fn world(&self) -> usize;
    /// Returns once every rank has called it (a header exchange, 32 bytes per rank).
    fn barrier(&self) -> Result<()>;
    /// Every rank's `count`, in rank order: the sizes that must be known before data moves
    /// (rows per rank, row lengths to compare). Carried by the header exchange alone (32
    /// bytes per rank), exact for any `usize`, whatever element type the data has.
    fn all_gather_count(&self, count: usize) -> Result<Vec<usize>>;
    /// Calls and payload bytes so far, per kind of operation.
    fn stats(&self) -> CommStats;
}

/// Collective operations on buffers of `T` (`f32`, `f64` or `u64`, see [`Element`]).
///
/// Every rank must call the same operations in the same order (as with MPI). Results are
/// identical, bit for bit, on every rank, and do not depend on timing.
pub trait Collective<T>: Group {
    /// Every rank's `send`, concatenated in rank order; ranks may send different counts
    /// (the last shard of a batch may be smaller).
    fn all_gather_varcount(&self, send: &[T]) -> Result<Gathered<T>>;

    /// Every rank's `send`, concatenated in rank order; all ranks must send the same count
    /// (else [`Error::Mismatch`] on every rank).
    fn all_gather(&self, send: &[T]) -> Result<Vec<T>>;

    /// Replaces `buf` with the element-wise sum of every rank's `buf` (same count on every
    /// rank, else [`Error::Mismatch`]).
    ///
    /// **Determinism.** The sum is an all-gather followed by a local sum in rank order,
    /// `((b_0 + b_1) + b_2) + ...`, identical on every rank. `MPI_Allreduce` does not
    /// promise that: the standard leaves the order of a reduction to the library, which
    /// picks an algorithm by message size and process count (tree, ring, recursive
    /// halving), and it only *advises* that a reduction give the same result on every
    /// rank. With floating-point addition not associative, ranks that round differently
    /// hold different parameters after their optimizer steps and drift apart. The price is
    /// bandwidth: each rank receives `(R - 1) n` elements instead of about `2 n`; for the
    /// gradients and batch statistics of the models here that is small.
    fn all_reduce_sum(&self, buf: &mut [T]) -> Result<()>;

    /// Copies `root`'s `buf` into every rank's `buf` (same count on every rank).
    fn broadcast(&self, buf: &mut [T], root: usize) -> Result<()>;
}

/// A collective over every element type: what a trainer holds (`Arc<dyn Communicator>`),
/// and upcasts to `Arc<dyn Collective<f32>>` where a layer wants one type.
pub trait Communicator: Collective<f32> + Collective<f64> + Collective<u64> {}

impl<C: Collective<f32> + Collective<f64> + Collective<u64> + ?Sized> Communicator for C {}

/// The result of [`Collective::all_gather_varcount`]: the concatenation and each rank's count.
#[derive(Clone, Debug, PartialEq)]
pub struct Gathered<T> {
    /// Every rank's elements, rank 0 first.
    pub data: Vec<T>,
    /// Element count of each rank.
    pub counts: Vec<usize>,
}

impl<T> Gathered<T> {
    /// Index in [`Gathered::data`] where `rank`'s elements start.
    ///
    /// # Panics
    /// When `rank >= counts.len()`.
    pub fn offset(&self, rank: usize) -> usize {
        self.counts[..rank].iter().sum()
    }

    /// The elements `rank` sent.
    ///
    /// # Panics
    /// When `rank >= counts.len()`.
    pub fn part(&self, rank: usize) -> &[T] {
        let start = self.offset(rank);
        &self.data[start..start + self.counts[rank]]
    }
}

/// Values (`u64`) in one operation header: `[operation, element type, count, root]`.
pub(crate) const HEADER_LEN: usize = 4;

/// The operations, as they appear in headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Barrier = 1,
    AllGatherVarcount = 2,
    AllGather = 3,
    AllReduceSum = 4,
    Broadcast = 5,
    AllGatherCount = 6,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Barrier => "barrier",
            Op::AllGatherVarcount => "all_gather_varcount",
            Op::AllGather => "all_gather",
            Op::AllReduceSum => "all_reduce_sum",
            Op::Broadcast => "broadcast",
            Op::AllGatherCount => "all_gather_count",
        }
    }
}

pub(crate) mod transport {
    use super::{HEADER_LEN, Op};
    use crate::element::Element;
    use crate::error::Result;
    use crate::stats::Counters;

    /// What a backend provides; [`super::Collective`] is built on it once, for all backends.
    /// Public only so that the blanket implementations can name it (the module is private).
    pub trait Transport: Send + Sync + std::fmt::Debug {
        /// This member's rank.
        fn rank(&self) -> usize;
        /// Number of ranks.
        fn world(&self) -> usize;
        /// This member's byte counters.
        fn counters(&self) -> &Counters;
        /// All-gathers one header per rank: `HEADER_LEN * world` values, rank 0 first.
        fn exchange_headers(&self, header: [u64; HEADER_LEN], op: Op) -> Result<Vec<u64>>;
        /// All-gathers `send` (`counts[rank]` elements) from every rank, rank 0 first.
        fn gather<T: Element>(&self, send: &[T], counts: &[usize], op: Op) -> Result<Vec<T>>;
        /// Copies `root`'s `buf` into every rank's `buf` (all of one length, checked).
        fn broadcast<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()>;
    }
}

use transport::Transport;

/// Field positions in a header.
const OPERATION: usize = 0;
const ELEMENT: usize = 1;
const COUNT: usize = 2;
const ROOT: usize = 3;

/// Exchanges this rank's header and checks that all ranks agree. Returns each rank's count.
fn agree<X: Transport + ?Sized>(
    x: &X,
    op: Op,
    element: u64,
    count: usize,
    root: usize,
    equal_counts: bool,
) -> Result<Vec<usize>> {
    let world = x.world();
    let header = [op as u64, element, count as u64, root as u64];
    let all = x.exchange_headers(header, op)?;
    let bytes = HEADER_LEN * 8;
    x.counters().add(OpKind::Header, bytes, bytes * (world - 1));
    let field = |i: usize| -> Vec<u64> { all.chunks(HEADER_LEN).map(|h| h[i]).collect() };
    let mut checks = vec![
        (OPERATION, "operation"),
        (ELEMENT, "element type"),
        (ROOT, "root"),
    ];
    if equal_counts {
        checks.push((COUNT, "element count"));
    }
    for (i, what) in checks {
        let values = field(i);
        if values.iter().any(|&v| v != values[0]) {
            return Err(Error::Mismatch {
                op: op.name(),
                what,
                per_rank: values,
            });
        }
    }
    field(COUNT)
        .into_iter()
        .map(|c| {
            usize::try_from(c).map_err(|_| Error::Overflow {
                op: op.name(),
                what: format!("an element count of {c}"),
            })
        })
        .collect()
}

/// All-gather with a header (`equal` demands one count on every rank), counted as `kind`.
fn gather_checked<T: Element, X: Transport + ?Sized>(
    x: &X,
    send: &[T],
    op: Op,
    equal: bool,
    kind: OpKind,
) -> Result<Gathered<T>> {
    let counts = agree(x, op, T::CODE, send.len(), 0, equal)?;
    let data = x.gather(send, &counts, op)?;
    let received = data.len() - send.len();
    x.counters()
        .add(kind, send.len() * T::BYTES, received * T::BYTES);
    Ok(Gathered { data, counts })
}

impl<X: Transport> Group for X {
    fn rank(&self) -> usize {
        Transport::rank(self)
    }

    fn world(&self) -> usize {
        Transport::world(self)
    }

    fn barrier(&self) -> Result<()> {
        timed(self, || agree(self, Op::Barrier, 0, 0, 0, true).map(|_| ()))
    }

    fn all_gather_count(&self, count: usize) -> Result<Vec<usize>> {
        timed(self, || agree(self, Op::AllGatherCount, 0, count, 0, false))
    }

    fn stats(&self) -> CommStats {
        self.counters().snapshot()
    }
}

impl<T: Element, X: Transport> Collective<T> for X {
    fn all_gather_varcount(&self, send: &[T]) -> Result<Gathered<T>> {
        timed(self, || {
            gather_checked(self, send, Op::AllGatherVarcount, false, OpKind::AllGather)
        })
    }

    fn all_gather(&self, send: &[T]) -> Result<Vec<T>> {
        timed(self, || {
            gather_checked(self, send, Op::AllGather, true, OpKind::AllGather).map(|g| g.data)
        })
    }

    fn all_reduce_sum(&self, buf: &mut [T]) -> Result<()> {
        timed(self, || all_reduce_sum(self, buf))
    }

    fn broadcast(&self, buf: &mut [T], root: usize) -> Result<()> {
        timed(self, || broadcast(self, buf, root))
    }
}

/// `op`, its wall time added to the rank's busy counter.
fn timed<X: Transport + ?Sized, R>(x: &X, op: impl FnOnce() -> Result<R>) -> Result<R> {
    let start = std::time::Instant::now();
    let out = op();
    x.counters().add_busy(start);
    out
}

/// All-reduce as an all-gather followed by a sum in rank order.
fn all_reduce_sum<T: Element, X: Transport + ?Sized>(x: &X, buf: &mut [T]) -> Result<()> {
    let gathered = gather_checked(x, buf, Op::AllReduceSum, true, OpKind::AllReduce)?;
    let n = buf.len();
    let parts = (0..Transport::world(x)).map(|r| &gathered.data[r * n..(r + 1) * n]);
    sum_in_rank_order(parts, buf, Op::AllReduceSum.name())
}

/// Broadcast after the header check (the same root on every rank).
fn broadcast<T: Element, X: Transport + ?Sized>(x: &X, buf: &mut [T], root: usize) -> Result<()> {
    let world = Transport::world(x);
    agree(x, Op::Broadcast, T::CODE, buf.len(), root, true)?;
    // Every rank passed the same root (checked above), so all refuse a bad one alike.
    if root >= world {
        return Err(Error::InvalidRank {
            what: "root",
            value: root,
            world,
        });
    }
    Transport::broadcast(x, buf, root)?;
    let bytes = buf.len() * T::BYTES;
    if Transport::rank(x) == root {
        x.counters().add(OpKind::Broadcast, bytes, 0);
    } else {
        x.counters().add(OpKind::Broadcast, 0, bytes);
    }
    Ok(())
}
