//! FNV-1a, 64-bit: the one hash behind feature ids and the pair-file hold-out.
//!
//! ```text
//! h = 0xcbf29ce484222325                       (offset basis)
//! for each byte b:  h = (h XOR b) * 0x100000001b3   (mod 2^64, FNV prime)
//! ```
//!
//! It is defined on bytes (UTF-8 for text), uses only wrapping integer arithmetic, and has
//! no seed, so it gives the same value on every platform, in every release, and in any
//! other language (the test vectors below are the published FNV-1a 64 values).
//!
//! **Reducing to `n` values** (buckets, the 10% hold-out) uses the FNV authors' xor-fold:
//!
//! ```text
//! bucket(h, n) = ((h >> 32) XOR (h mod 2^32)) mod n
//! ```
//!
//! not `h mod n` directly: the low bits of FNV-1a mix poorly (bit 0 of `h` is the parity of
//! the bytes' low bits, so `"a 1\tb 1"`-like lines would all fall on even values and a
//! "10%" hold-out would take 0% or 20%); the high half is well mixed and folding it in fixes
//! that.

/// FNV-1a 64 offset basis.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV 64-bit prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An FNV-1a 64 hasher that can be fed in parts (`update` twice equals `update` once on
/// the concatenation).
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a64 {
    /// A hasher in its initial state.
    pub const fn new() -> Self {
        Self(OFFSET_BASIS)
    }

    /// Feeds `bytes`.
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self.0 = h;
        self
    }

    /// The hash of everything fed so far.
    #[inline]
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a 64 of `bytes`.
#[inline]
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    Fnv1a64::new().update(bytes).finish()
}

/// Xor-folds a 64-bit FNV hash to 32 bits and reduces it to `[0, n)` (`n > 0`).
#[inline]
pub fn bucket(h: u64, n: u32) -> u32 {
    (((h >> 32) ^ h) as u32) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        // From the FNV reference test suite (Fowler, Noll, Vo).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn non_ascii_vectors() {
        // UTF-8 bytes of non-ASCII text; values computed once with an independent
        // implementation (Python: h = ((h ^ b) * 0x100000001b3) % 2**64) and frozen here.
        assert_eq!(fnv1a64("á".as_bytes()), 0x0ac2_0f07_b718_1069);
        assert_eq!(fnv1a64("<niño>".as_bytes()), 0x18fe_f32a_fe9d_a2ff);
        assert_eq!(fnv1a64("אֱלֹהִ֑ים".as_bytes()), 0x6098_170c_78fd_9719);
    }

    #[test]
    fn bucket_folds_the_high_half() {
        let h = 0x0000_0003_0000_0005u64;
        assert_eq!(bucket(h, 1 << 18), 6);
        assert_eq!(bucket(u64::MAX, 10), 0);
        // Lines whose bytes' low bits have even parity: plain `h % 10` puts ~20% of them at 0.
        let held = (0..10_000)
            .filter(|i| bucket(fnv1a64(format!("s {i}\tf {i}").as_bytes()), 10) == 0)
            .count();
        assert!((900..1100).contains(&held), "{held}");
    }

    #[test]
    fn parts_equal_whole() {
        let mut h = Fnv1a64::new();
        h.update("<ni".as_bytes()).update("ño>".as_bytes());
        assert_eq!(h.finish(), fnv1a64("<niño>".as_bytes()));
        assert_ne!(fnv1a64(b"ab"), fnv1a64(b"ba"));
    }
}
