//! Splitting a global batch into one contiguous shard per rank.

use std::ops::Range;

use crate::error::{Error, Result};

/// The items of a global batch of `len` that `rank` of `world` holds: contiguous, in rank
/// order, sizes differing by at most one (the first `len % world` ranks hold one more).
///
/// Because shards are contiguous and in rank order, gathering every rank's rows in rank
/// order ([`crate::Collective::all_gather_varcount`]) gives the global batch in its
/// original order.
///
/// ```
/// use contrast_collective::shard_range;
///
/// assert_eq!(shard_range(7, 2, 0)?, 0..4);
/// assert_eq!(shard_range(7, 2, 1)?, 4..7);
/// assert_eq!(shard_range(2, 3, 2)?, 2..2); // more ranks than items: an empty shard
/// # Ok::<(), contrast_collective::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidRank`] when `world == 0` or `rank >= world`.
pub fn shard_range(len: usize, world: usize, rank: usize) -> Result<Range<usize>> {
    if world == 0 {
        return Err(Error::InvalidRank {
            what: "world size",
            value: 0,
            world,
        });
    }
    if rank >= world {
        return Err(Error::InvalidRank {
            what: "rank",
            value: rank,
            world,
        });
    }
    let (base, extra) = (len / world, len % world);
    let start = rank * base + rank.min(extra);
    let size = base + usize::from(rank < extra);
    Ok(start..start + size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_batch_in_order() {
        for len in 0..20 {
            for world in 1..7 {
                let shards: Vec<Range<usize>> = (0..world)
                    .map(|r| shard_range(len, world, r).unwrap())
                    .collect();
                assert_eq!(shards[0].start, 0);
                assert_eq!(shards[world - 1].end, len);
                for w in shards.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len() && w[0].len() - w[1].len() <= 1);
                }
            }
        }
    }

    #[test]
    fn bad_rank_or_world_is_an_error() {
        assert!(matches!(
            shard_range(4, 0, 0),
            Err(Error::InvalidRank {
                what: "world size",
                ..
            })
        ));
        assert!(matches!(
            shard_range(4, 2, 2),
            Err(Error::InvalidRank {
                what: "rank",
                value: 2,
                world: 2
            })
        ));
    }
}
