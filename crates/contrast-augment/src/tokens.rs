//! Views of token sequences (`&[u32]`) for text and other discrete sequences.
//!
//! - deletion `p`: each token is dropped with probability `p` (at least one token is kept);
//! - span mask `(ratio, span, mask)`: spans of `span` tokens starting at uniform positions are
//!   replaced by `mask` until `round(ratio n)` tokens are masked (length unchanged);
//! - local shuffle `k`: token `i` gets the key `i + U(0, k)` and the tokens are sorted by
//!   key, so no token moves more than `k` places (the noise of Lample et al. 2018);
//! - window crop `len`: a uniformly placed contiguous window of `min(len, n)` tokens.

use rand::Rng;

use crate::error::Result;
use crate::validate;

/// A token-sequence augmentation.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenOp {
    /// Drop each token with this probability.
    Deletion(f32),
    /// Mask spans with a mask token.
    SpanMask {
        /// Fraction of tokens to mask, in `[0, 1]`.
        ratio: f32,
        /// Span length (> 0).
        span: usize,
        /// Token written over masked positions.
        mask: u32,
    },
    /// Shuffle within a window of this many places.
    LocalShuffle(f32),
    /// Keep a random contiguous window of at most this many tokens.
    WindowCrop(usize),
}

impl TokenOp {
    /// Random deletion with probability `p` in `[0, 1]`.
    pub fn deletion(p: f32) -> Result<Self> {
        Ok(Self::Deletion(validate::probability("TokenDeletion", p)?))
    }

    /// Span masking of a fraction `ratio` of the tokens, spans of `span` tokens.
    pub fn span_mask(ratio: f32, span: usize, mask: u32) -> Result<Self> {
        let ratio = validate::value("SpanMask", "ratio", ratio, (0.0, 1.0), "[0, 1]")?;
        validate::sizes("SpanMask", &[span])?;
        Ok(Self::SpanMask { ratio, span, mask })
    }

    /// Local shuffle with maximum displacement `window >= 0`.
    pub fn local_shuffle(window: f32) -> Result<Self> {
        Ok(Self::LocalShuffle(validate::value(
            "LocalShuffle",
            "window",
            window,
            (0.0, f32::MAX),
            "[0, inf)",
        )?))
    }

    /// Random window crop to `len > 0` tokens.
    pub fn window_crop(len: usize) -> Result<Self> {
        validate::sizes("WindowCrop", &[len])?;
        Ok(Self::WindowCrop(len))
    }

    /// Applies the op to `tokens`.
    pub fn apply<R: Rng + ?Sized>(&self, tokens: &[u32], rng: &mut R) -> Vec<u32> {
        let n = tokens.len();
        if n == 0 {
            return Vec::new();
        }
        match *self {
            TokenOp::Deletion(p) => {
                let kept: Vec<u32> = tokens
                    .iter()
                    .copied()
                    .filter(|_| rng.random::<f32>() >= p)
                    .collect();
                if kept.is_empty() {
                    vec![tokens[rng.random_range(0..n)]]
                } else {
                    kept
                }
            }
            TokenOp::SpanMask { ratio, span, mask } => {
                let target = (ratio * n as f32).round() as usize;
                let mut masked = vec![false; n];
                let mut count = 0;
                while count < target {
                    let start = rng.random_range(0..n);
                    for m in &mut masked[start..(start + span).min(n)] {
                        count += usize::from(!*m);
                        *m = true;
                    }
                }
                tokens
                    .iter()
                    .zip(&masked)
                    .map(|(&t, &m)| if m { mask } else { t })
                    .collect()
            }
            TokenOp::LocalShuffle(window) => {
                let mut keyed: Vec<(f32, u32)> = tokens
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (i as f32 + window * rng.random::<f32>(), t))
                    .collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
                keyed.into_iter().map(|(_, t)| t).collect()
            }
            TokenOp::WindowCrop(len) => {
                let len = len.min(n);
                let start = rng.random_range(0..=n - len);
                tokens[start..start + len].to_vec()
            }
        }
    }
}
