//! Per-(seed, epoch, sample, view) random streams.
//!
//! Every view of every sample draws from its own ChaCha8 stream whose 256-bit key is the
//! four words `(seed, epoch, index, view)` in little-endian order. ChaCha is a keyed
//! pseudo-random function, so distinct keys give independent-looking streams, and the
//! output of a batch does not depend on which thread computes which view, or how many
//! threads there are.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream for view `view` of sample `index` in epoch `epoch` of a run seeded
/// with `seed`.
///
/// The trainer and the data loader call this so that a sample's views are reproducible
/// from those four numbers alone.
///
/// ```
/// use contrast_augment::stream_rng;
/// use rand::Rng;
/// let a: u64 = stream_rng(7, 0, 12, 1).random();
/// let b: u64 = stream_rng(7, 0, 12, 1).random();
/// let c: u64 = stream_rng(7, 0, 12, 0).random();
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// ```
pub fn stream_rng(seed: u64, epoch: u64, index: u64, view: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    for (chunk, word) in key.chunks_exact_mut(8).zip([seed, epoch, index, view]) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// `U(low, high)`; unlike `random_range` it accepts `low == high` (a fixed value).
pub(crate) fn uniform<R: rand::Rng + ?Sized>(rng: &mut R, low: f32, high: f32) -> f32 {
    low + (high - low) * rng.random::<f32>()
}
