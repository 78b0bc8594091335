//! Sums over a batch that give the same bits however the batch is split among threads.

use ndarray::NdFloat;

/// `Σ f(v)` over eight interleaved partial sums, added in a fixed order: the same bits on
/// every run, and a loop the compiler vectorises (a single running sum cannot be reordered).
pub(super) fn lane_sum<A: NdFloat>(values: &[A], f: impl Fn(A) -> A) -> A {
    let mut lanes = [A::zero(); 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l += f(v);
        }
    }
    let pairs = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    let head = (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]);
    tail.iter().fold(head, |a, &v| a + f(v))
}

/// `a += b`, elementwise.
pub(super) fn add_into<A: NdFloat>(a: &mut [A], b: &[A]) {
    for (a, &b) in a.iter_mut().zip(b) {
        *a += b;
    }
}

/// Count, mean and sum of squared deviations `m2 = Σ (v - mean)²` of one channel's values.
/// Two sets merge exactly (Chan, Golub and LeVeque), so chunks are reduced in a fixed order
/// in one pass, without the cancellation of `Σ v² - n mean²`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Moments<A> {
    pub count: usize,
    pub mean: A,
    pub m2: A,
}

impl<A: NdFloat> Moments<A> {
    /// No values.
    pub fn empty() -> Self {
        Self {
            count: 0,
            mean: A::zero(),
            m2: A::zero(),
        }
    }

    /// The moments of `values` (two passes over a chunk that sits in cache).
    pub fn of(values: &[A]) -> Self {
        if values.is_empty() {
            return Self::empty();
        }
        let n = A::from(values.len()).expect("float");
        let mean = lane_sum(values, |v| v) / n;
        Self {
            count: values.len(),
            mean,
            m2: lane_sum(values, |v| (v - mean) * (v - mean)),
        }
    }

    /// The moments of both sets together:
    /// `mean = mean_a + δ n_b / n`, `m2 = m2_a + m2_b + δ² n_a n_b / n`, `δ = mean_b - mean_a`.
    pub fn merge(self, other: Self) -> Self {
        if self.count == 0 {
            return other;
        }
        if other.count == 0 {
            return self;
        }
        let count = self.count + other.count;
        let float = |n: usize| A::from(n).expect("float");
        let (na, nb, n) = (float(self.count), float(other.count), float(count));
        let delta = other.mean - self.mean;
        Self {
            count,
            mean: self.mean + delta * nb / n,
            m2: self.m2 + other.m2 + delta * delta * na * nb / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sum_and_merged_moments_match_plain_formulas() {
        let v: Vec<f64> = (0..37)
            .map(|i| ((i * 17) % 11) as f64 * 0.3 - 1.1)
            .collect();
        assert!((lane_sum(&v, |x| x) - v.iter().sum::<f64>()).abs() < 1e-12);
        assert!((lane_sum(&v, |x| x * x) - v.iter().map(|x| x * x).sum::<f64>()).abs() < 1e-12);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let m2: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
        for split in [0, 1, 8, 20, 36, 37] {
            let (a, b) = v.split_at(split);
            let merged = Moments::of(a).merge(Moments::of(b)).merge(Moments::empty());
            assert_eq!(merged.count, v.len());
            assert!((merged.mean - mean).abs() < 1e-12, "split {split}");
            assert!((merged.m2 - m2).abs() < 1e-10, "split {split}");
        }
    }
}
