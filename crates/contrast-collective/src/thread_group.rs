//! An in-process group: `world` threads that meet at a shared mailbox.
//!
//! Each operation is a rendezvous: every member drops its buffer into its slot; the last to
//! arrive takes all slots as one shared result, advances the generation and wakes the
//! others, who read that result. A member cannot overwrite a result before everyone read
//! it, because the next result needs every member to arrive again.
//!
//! A member that drops its handle (its closure returned or panicked) marks the group as
//! left; every member waiting now, or calling later, gets [`Error::RankLeft`] instead of
//! waiting forever. An optional timeout turns a member that never arrives into
//! [`Error::Timeout`] (and breaks the group the same way).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::collective::transport::Transport;
use crate::collective::{HEADER_LEN, Op};
use crate::element::{Element, Payload};
use crate::error::{Error, Result};
use crate::stats::Counters;

/// The mailbox the members of one group share.
struct Mailbox {
    /// Completed rendezvous so far.
    generation: u64,
    /// Members that have dropped their buffer into the current rendezvous.
    arrived: usize,
    slots: Vec<Option<Payload>>,
    /// The latest completed rendezvous, every member's buffer in rank order.
    result: Option<Arc<Vec<Payload>>>,
    /// The first member that left (dropped its handle or timed out).
    left: Option<usize>,
}

struct Shared {
    world: usize,
    timeout: Option<Duration>,
    mailbox: Mutex<Mailbox>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Mailbox> {
        // Nothing panics while holding the lock, so a poisoned mailbox is still consistent.
        self.mailbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A group of `world` ranks that are threads of this process; the ordinary test suite runs
/// the distributed code paths with it, without MPI.
///
/// ```
/// use contrast_collective::{Collective, Group, ThreadGroup};
///
/// // Each rank holds one value; after the all-reduce every rank holds the sum.
/// let sums = ThreadGroup::new(3)?.run(|member| {
///     let mut x = [member.rank() as f64 + 1.0];
///     member.all_reduce_sum(&mut x)?;
///     Ok::<_, contrast_collective::Error>(x[0])
/// })?;
/// assert_eq!(sums.into_iter().collect::<Result<Vec<_>, _>>()?, [6.0, 6.0, 6.0]);
/// # Ok::<(), contrast_collective::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ThreadGroup {
    world: usize,
    timeout: Option<Duration>,
}

impl ThreadGroup {
    /// A group of `world >= 1` ranks, without a timeout.
    pub fn new(world: usize) -> Result<Self> {
        if world == 0 {
            return Err(Error::InvalidRank {
                what: "world size",
                value: 0,
                world: 0,
            });
        }
        Ok(Self {
            world,
            timeout: None,
        })
    }

    /// Fails an operation with [`Error::Timeout`] when the other ranks have not all
    /// arrived within `timeout` (and breaks the group for the others).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The members, rank 0 first, for threads the caller spawns itself.
    pub fn members(&self) -> Vec<ThreadMember> {
        let shared = Arc::new(Shared {
            world: self.world,
            timeout: self.timeout,
            mailbox: Mutex::new(Mailbox {
                generation: 0,
                arrived: 0,
                slots: vec![None; self.world],
                result: None,
                left: None,
            }),
            wake: Condvar::new(),
        });
        (0..self.world)
            .map(|rank| ThreadMember {
                rank,
                shared: Arc::clone(&shared),
                counters: Counters::default(),
            })
            .collect()
    }

    /// Runs `f` on one scoped thread per rank and returns the results in rank order, or
    /// [`Error::RankPanicked`] for the first rank (in rank order) whose closure panicked.
    pub fn run<R, F>(&self, f: F) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(ThreadMember) -> R + Sync,
    {
        let f = &f;
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .members()
                .into_iter()
                .map(|member| scope.spawn(move || f(member)))
                .collect();
            let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
            joined
                .into_iter()
                .enumerate()
                .map(|(rank, r)| {
                    r.map_err(|panic| Error::RankPanicked {
                        rank,
                        message: panic_message(panic.as_ref()),
                    })
                })
                .collect()
        })
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(not a string)".to_string()
    }
}

/// One rank of a [`ThreadGroup`]: implements [`crate::Collective`] for `f32`, `f64`, `u64`.
/// Dropping it tells the other members that this rank left.
pub struct ThreadMember {
    rank: usize,
    shared: Arc<Shared>,
    counters: Counters,
}

impl ThreadMember {
    /// Drops `payload` into this rank's slot and returns every rank's payload once all
    /// have arrived.
    fn rendezvous(&self, payload: Payload, op: Op) -> Result<Arc<Vec<Payload>>> {
        let shared = &*self.shared;
        let mut mailbox = shared.lock();
        if let Some(rank) = mailbox.left {
            return Err(Error::RankLeft {
                op: op.name(),
                rank,
            });
        }
        mailbox.slots[self.rank] = Some(payload);
        mailbox.arrived += 1;
        if mailbox.arrived == shared.world {
            let all: Vec<Payload> = mailbox
                .slots
                .iter_mut()
                .map(|s| s.take().expect("every rank arrived"))
                .collect();
            let all = Arc::new(all);
            mailbox.result = Some(Arc::clone(&all));
            mailbox.arrived = 0;
            mailbox.generation += 1;
            shared.wake.notify_all();
            return Ok(all);
        }
        let generation = mailbox.generation;
        let start = Instant::now();
        loop {
            // Completion first: a member that left after this rendezvous completed does
            // not spoil it.
            if mailbox.generation != generation {
                return Ok(Arc::clone(
                    mailbox.result.as_ref().expect("set on completion"),
                ));
            }
            if let Some(rank) = mailbox.left {
                return Err(Error::RankLeft {
                    op: op.name(),
                    rank,
                });
            }
            mailbox = match shared.timeout {
                None => shared
                    .wake
                    .wait(mailbox)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(timeout) => {
                    let waited = start.elapsed();
                    if waited >= timeout {
                        // This rank gives up; the rendezvous can never complete now.
                        mailbox.left.get_or_insert(self.rank);
                        shared.wake.notify_all();
                        return Err(Error::Timeout {
                            op: op.name(),
                            waited,
                        });
                    }
                    shared
                        .wake
                        .wait_timeout(mailbox, timeout - waited)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

impl std::fmt::Debug for ThreadMember {
    // Not the mailbox: it may hold every rank's buffers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadMember")
            .field("rank", &self.rank)
            .field("world", &self.shared.world)
            .finish_non_exhaustive()
    }
}

impl Drop for ThreadMember {
    fn drop(&mut self) {
        let mut mailbox = self.shared.lock();
        mailbox.left.get_or_insert(self.rank);
        self.shared.wake.notify_all();
    }
}

/// A payload of the type the caller asked for (every member sent `T`: the headers agreed).
fn typed<T: Element>(payload: &Payload) -> &[T] {
    T::unwrap(payload).expect("the headers agreed on the element type")
}

impl Transport for ThreadMember {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world(&self) -> usize {
        self.shared.world
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn exchange_headers(&self, header: [u64; HEADER_LEN], op: Op) -> Result<Vec<u64>> {
        let all = self.rendezvous(Payload::U64(header.to_vec()), op)?;
        Ok(all.iter().flat_map(typed::<u64>).copied().collect())
    }

    fn gather<T: Element>(&self, send: &[T], _counts: &[usize], op: Op) -> Result<Vec<T>> {
        let all = self.rendezvous(T::wrap(send.to_vec()), op)?;
        Ok(all.iter().flat_map(typed::<T>).copied().collect())
    }

    fn broadcast<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()> {
        // Only the root's buffer travels; the others drop an empty one.
        let mine = if self.rank == root {
            buf.to_vec()
        } else {
            Vec::new()
        };
        let all = self.rendezvous(T::wrap(mine), Op::Broadcast)?;
        buf.copy_from_slice(typed::<T>(&all[root]));
        Ok(())
    }
}
