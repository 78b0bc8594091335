//! A group of one: every operation returns its input (and still checks and counts it).

use crate::collective::transport::Transport;
use crate::collective::{HEADER_LEN, Op};
use crate::element::Element;
use crate::error::Result;
use crate::stats::Counters;

/// The collective of a single process (world 1): what the trainer uses when it is not
/// distributed, so that one code path serves both.
///
/// ```
/// use contrast_collective::{Collective, Group, Single};
///
/// let single = Single::new();
/// let mut grads = vec![0.5f32, -1.0];
/// single.all_reduce_sum(&mut grads)?;
/// assert_eq!(grads, [0.5, -1.0]);
/// assert_eq!(single.all_gather(&[1.0f64, 2.0])?, [1.0, 2.0]);
/// assert_eq!((single.rank(), single.world()), (0, 1));
/// # Ok::<(), contrast_collective::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Single {
    counters: Counters,
}

impl Single {
    /// A group of one.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Transport for Single {
    fn rank(&self) -> usize {
        0
    }

    fn world(&self) -> usize {
        1
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn exchange_headers(&self, header: [u64; HEADER_LEN], _op: Op) -> Result<Vec<u64>> {
        Ok(header.to_vec())
    }

    fn gather<T: Element>(&self, send: &[T], _counts: &[usize], _op: Op) -> Result<Vec<T>> {
        Ok(send.to_vec())
    }

    fn broadcast<T: Element>(&self, _buf: &mut [T], _root: usize) -> Result<()> {
        Ok(())
    }
}
