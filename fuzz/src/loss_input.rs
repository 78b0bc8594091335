//! Decoding fuzz bytes into loss inputs: a selector, matrices, labels and hyper-parameters.
//!
//! Values come from a one-byte tag so that the fuzzer reaches both ordinary numbers and
//! every troublesome one quickly: tags `0..=11` are NaN, +-inf, +-0, +-1e30, 1e-30,
//! `f64::MAX`, `f64::MIN_POSITIVE`, or raw f64 / f32 bits from the next bytes; any other tag
//! `t` is `(t - 133) / 16`, a small number in `[-7.6, 7.6]` (0 included). Missing bytes read
//! as zero, so every input decodes.

use ndarray::Array2;

/// Reads values from fuzz bytes, front to back.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }

    /// A float from a tag byte (see the module doc).
    pub fn value(&mut self) -> f64 {
        match self.byte() {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => 0.0,
            4 => -0.0,
            5 => 1e30,
            6 => -1e30,
            7 => 1e-30,
            8 => f64::MAX,
            9 => f64::MIN_POSITIVE,
            10 => f64::from_le_bytes(self.array()),
            11 => f64::from(f32::from_le_bytes(self.array())),
            t => (f64::from(t) - 133.0) / 16.0,
        }
    }

    /// A `(rows, cols)` matrix of [`value`](Self::value)s, row-major.
    pub fn matrix(&mut self, rows: usize, cols: usize) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |_| self.value())
    }

    /// `n` labels, mostly in `0..4` (so classes repeat); a byte of 255 gives `usize::MAX`.
    pub fn labels(&mut self, n: usize) -> Vec<usize> {
        (0..n)
            .map(|_| match self.byte() {
                255 => usize::MAX,
                b => usize::from(b % 4),
            })
            .collect()
    }
}

/// True when every entry is finite and at most `bound` in magnitude.
pub fn moderate(values: impl IntoIterator<Item = f64>, bound: f64) -> bool {
    values
        .into_iter()
        .all(|v| v.is_finite() && v.abs() <= bound)
}
