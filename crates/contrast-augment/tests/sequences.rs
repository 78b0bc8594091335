//! Invariants of the token-sequence and time-series views.

use contrast_augment::{SeriesOp, TokenOp, stream_rng};
use ndarray::Array2;
use proptest::prelude::*;

fn tokens() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(0u32..1000, 0..60)
}

/// True when `sub` is a subsequence of `seq`.
fn is_subsequence(sub: &[u32], seq: &[u32]) -> bool {
    let mut it = seq.iter();
    sub.iter().all(|t| it.any(|s| s == t))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deletion_keeps_a_nonempty_subsequence(seq in tokens(), p in 0.0f32..=1.0, seed in any::<u64>()) {
        let out = TokenOp::deletion(p).unwrap().apply(&seq, &mut stream_rng(seed, 0, 0, 0));
        prop_assert!(is_subsequence(&out, &seq));
        prop_assert_eq!(out.is_empty(), seq.is_empty());
        if p == 0.0 { prop_assert_eq!(&out, &seq); }
    }

    #[test]
    fn span_mask_masks_at_least_the_ratio(seq in tokens(), ratio in 0.0f32..=1.0, span in 1usize..6, seed in any::<u64>()) {
        let mask = u32::MAX;
        let out = TokenOp::span_mask(ratio, span, mask).unwrap().apply(&seq, &mut stream_rng(seed, 0, 0, 0));
        prop_assert_eq!(out.len(), seq.len());
        let masked = out.iter().filter(|&&t| t == mask).count();
        let target = (ratio * seq.len() as f32).round() as usize;
        prop_assert!(masked >= target && masked < target + span);
        for (o, s) in out.iter().zip(&seq) {
            prop_assert!(*o == mask || o == s);
        }
    }

    #[test]
    fn local_shuffle_is_a_permutation_moving_tokens_at_most_the_window(len in 0usize..60, window in 0.0f32..5.0, seed in any::<u64>()) {
        let seq: Vec<u32> = (0..len as u32).collect(); // distinct tokens: values are positions
        let out = TokenOp::local_shuffle(window).unwrap().apply(&seq, &mut stream_rng(seed, 0, 0, 0));
        let mut sorted = out.clone();
        sorted.sort();
        prop_assert_eq!(&sorted, &seq);
        for (i, &t) in out.iter().enumerate() {
            prop_assert!((i as f32 - t as f32).abs() <= window.ceil());
        }
    }

    #[test]
    fn window_crop_is_a_contiguous_window(seq in tokens(), len in 1usize..80, seed in any::<u64>()) {
        let out = TokenOp::window_crop(len).unwrap().apply(&seq, &mut stream_rng(seed, 0, 0, 0));
        prop_assert_eq!(out.len(), len.min(seq.len()));
        prop_assert!(out.is_empty() || seq.windows(out.len()).any(|w| w == out.as_slice()));
    }

    #[test]
    fn series_ops_keep_shape_and_content(t in 1usize..40, c in 1usize..4, k in 1usize..6, seed in any::<u64>()) {
        let series = Array2::from_shape_fn((t, c), |(i, j)| (i * 10 + j) as f32);
        let mut rng = stream_rng(seed, 0, 0, 0);
        // Zero-strength jitter and scaling are identities.
        prop_assert_eq!(SeriesOp::jitter(0.0).unwrap().apply(series.view(), &mut rng).unwrap(), series.clone());
        prop_assert_eq!(SeriesOp::scaling(0.0).unwrap().apply(series.view(), &mut rng).unwrap(), series.clone());
        let jittered = SeriesOp::jitter(0.5).unwrap().apply(series.view(), &mut rng).unwrap();
        prop_assert_eq!(jittered.dim(), (t, c));
        // Scaling multiplies each channel by one factor.
        let scaled = SeriesOp::scaling(0.3).unwrap().apply(series.view(), &mut rng).unwrap();
        for j in 0..c {
            let f = scaled[[t - 1, j]] / series[[t - 1, j]].max(1e-9);
            for i in 1..t { prop_assert!((scaled[[i, j]] - f * series[[i, j]]).abs() <= 1e-3 * (1.0 + series[[i, j]].abs())); }
        }
        // A crop is a window of consecutive rows.
        let len = (t / 2).max(1);
        let crop = SeriesOp::shift_crop(len).unwrap().apply(series.view(), &mut rng).unwrap();
        let start = (crop[[0, 0]] / 10.0) as usize;
        prop_assert_eq!(crop, series.slice(ndarray::s![start..start + len, ..]).to_owned());
        // Segment permutation keeps every row once.
        if k <= t {
            let perm = SeriesOp::segment_permutation(k).unwrap().apply(series.view(), &mut rng).unwrap();
            let mut rows: Vec<u32> = perm.column(0).iter().map(|&x| x as u32).collect();
            rows.sort();
            prop_assert_eq!(rows, (0..t as u32).map(|i| i * 10).collect::<Vec<_>>());
        }
    }
}
