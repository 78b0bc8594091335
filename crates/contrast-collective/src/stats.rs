//! Byte counters: how much each kind of operation moved, per rank (see [`CommStats`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of operation the counters distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// [`crate::Collective::all_gather`] and [`crate::Collective::all_gather_varcount`].
    AllGather,
    /// [`crate::Collective::all_reduce_sum`].
    AllReduce,
    /// [`crate::Collective::broadcast`].
    Broadcast,
    /// The header exchange that opens every operation (all that a barrier or
    /// [`crate::Group::all_gather_count`] moves).
    Header,
}

impl OpKind {
    const ALL: [OpKind; 4] = [
        OpKind::AllGather,
        OpKind::AllReduce,
        OpKind::Broadcast,
        OpKind::Header,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Calls and bytes of one kind of operation on one rank.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpBytes {
    /// Completed calls.
    pub calls: u64,
    /// Payload bytes this rank contributed.
    pub sent: u64,
    /// Payload bytes this rank received from the others.
    pub received: u64,
}

/// A snapshot of one rank's counters: calls and payload bytes per kind of operation.
///
/// The counters measure *payload*, the same way for every implementation, so that a trainer
/// can report communication volume and compare it with the formulas below:
///
/// | operation (this rank holds `n` elements of `b` bytes, rank `r` holds `n_r`) | sent | received |
/// |---|---|---|
/// | all-gather | `n b` | `(Σ_r n_r - n) b` |
/// | all-reduce (an all-gather, then a local sum) | `n b` | `(R - 1) n b` |
/// | broadcast | root: `n b`, others: 0 | root: 0, others: `n b` |
/// | header of every operation (all a barrier or a count exchange moves) | `32` | `32 (R - 1)` |
///
/// "Sent" is what this rank contributes once, "received" what it obtains from the others.
/// The bytes that cross a network are a property of the MPI library's algorithm (a ring
/// all-gather forwards every block `R - 1` times, a tree broadcast relays through inner
/// nodes), not of the operation; these counters give the algorithm-free volume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommStats {
    /// All-gathers (equal and uneven counts).
    pub all_gather: OpBytes,
    /// All-reduces.
    pub all_reduce: OpBytes,
    /// Broadcasts.
    pub broadcast: OpBytes,
    /// Operation headers and barriers.
    pub header: OpBytes,
    /// Wall time this rank spent inside collective operations, in nanoseconds: moving data
    /// and waiting for the other ranks to arrive (what a step pays for communicating).
    pub busy_ns: u64,
}

impl CommStats {
    /// The counters of one kind of operation.
    pub fn get(&self, kind: OpKind) -> OpBytes {
        match kind {
            OpKind::AllGather => self.all_gather,
            OpKind::AllReduce => self.all_reduce,
            OpKind::Broadcast => self.broadcast,
            OpKind::Header => self.header,
        }
    }

    /// Bytes sent plus received over every kind.
    pub fn total_bytes(&self) -> u64 {
        OpKind::ALL
            .iter()
            .map(|&k| self.get(k).sent + self.get(k).received)
            .sum()
    }

    /// The counters accumulated since an earlier snapshot (`self - earlier`), e.g. one
    /// training step's traffic.
    pub fn since(&self, earlier: &CommStats) -> CommStats {
        let diff = |a: OpBytes, b: OpBytes| OpBytes {
            calls: a.calls - b.calls,
            sent: a.sent - b.sent,
            received: a.received - b.received,
        };
        CommStats {
            all_gather: diff(self.all_gather, earlier.all_gather),
            all_reduce: diff(self.all_reduce, earlier.all_reduce),
            broadcast: diff(self.broadcast, earlier.broadcast),
            header: diff(self.header, earlier.header),
            busy_ns: self.busy_ns - earlier.busy_ns,
        }
    }
}

/// Live counters of one rank (atomics, so a `&self` collective can count).
#[derive(Debug, Default)]
pub struct Counters {
    calls: [AtomicU64; 4],
    sent: [AtomicU64; 4],
    received: [AtomicU64; 4],
    busy_ns: AtomicU64,
}

impl Counters {
    /// Records one completed call.
    pub fn add(&self, kind: OpKind, sent: usize, received: usize) {
        let i = kind.index();
        self.calls[i].fetch_add(1, Ordering::Relaxed);
        self.sent[i].fetch_add(sent as u64, Ordering::Relaxed);
        self.received[i].fetch_add(received as u64, Ordering::Relaxed);
    }

    /// Adds the wall time of one operation (from its start to its return).
    pub fn add_busy(&self, since: std::time::Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> CommStats {
        let get = |kind: OpKind| {
            let i = kind.index();
            OpBytes {
                calls: self.calls[i].load(Ordering::Relaxed),
                sent: self.sent[i].load(Ordering::Relaxed),
                received: self.received[i].load(Ordering::Relaxed),
            }
        };
        CommStats {
            all_gather: get(OpKind::AllGather),
            all_reduce: get(OpKind::AllReduce),
            broadcast: get(OpKind::Broadcast),
            header: get(OpKind::Header),
            busy_ns: self.busy_ns.load(Ordering::Relaxed),
        }
    }
}
