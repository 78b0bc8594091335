//! Deterministic epoch orders: the permutation depends only on `(seed, epoch)`.
//!
//! A ChaCha8 generator seeded with `seed` and set to stream `epoch` drives a Fisher-Yates
//! shuffle of `0..n`. Different epochs use independent streams of the same key, so epoch 7
//! can be reproduced without replaying epochs 0..6 (a resumed run sees the same orders).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// The generator for `(seed, stream)`; used for epoch orders and label-fraction draws.
pub(crate) fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A permutation of `0..n` determined by `(seed, epoch)`.
pub fn shuffled_indices(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stream_rng(seed, epoch));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_epoch_same_order_otherwise_different() {
        let a = shuffled_indices(500, 7, 3);
        assert_eq!(a, shuffled_indices(500, 7, 3));
        assert_ne!(a, shuffled_indices(500, 7, 4));
        assert_ne!(a, shuffled_indices(500, 8, 3));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..500).collect::<Vec<_>>());
        assert_ne!(a, sorted, "a 500-element shuffle left the identity");
        assert!(shuffled_indices(0, 1, 1).is_empty());
    }
}
