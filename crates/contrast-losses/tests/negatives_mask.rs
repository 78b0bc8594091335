//! The negatives mask of NT-Xent and DCL: duplicates in a batch (false negatives), the
//! k hardest negatives (top-k lists), the equivalence of its three forms, and the dense
//! fallback of a tiled evaluation.

use contrast_losses::*;
use ndarray::{Array2, Axis, concatenate, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.5..1.5))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// What is compared. `base` is a two-view batch of N = 4 samples (views `base[..4]` and
/// `base[4..]`). `dup` appends an exact copy of sample 0 as sample 4 (both views), so
/// `dup` has N = 5 and rows `0, 4, 5, 9` are views of one image; the instance ids are
/// `[10, 11, 12, 13, 10]`. With `NegativeMask::SameInstance`:
///
/// 1. the four anchors of the duplicated image (rows 0, 5 of sample 0 and rows 4, 9 of
///    its copy) have exactly the per-anchor losses of sample 0's anchors (rows 0 and 4)
///    in `base` without any mask: the copy does not enter their denominators;
/// 2. every other anchor sees the copy as a genuine negative: its loss is its `base`
///    loss with the two copy rows added to the log-sum-exp,
///    `l = logaddexp(l_base + s_pos, s_copy1, s_copy2) - s_pos` (logits `s = zn.zn / T`);
/// 3. without the mask, the duplicated image's anchors pay for the copy: their losses
///    are larger than in `base` (the copy has the positive's own logit).
#[test]
fn duplicates_are_not_each_others_negatives() {
    let (n, t) = (4, 0.3);
    let base = random(2 * n, 5, 1);
    let (v1, v2) = (base.slice(s![..n, ..]), base.slice(s![n.., ..]));
    let dup = concatenate![
        Axis(0),
        v1,
        base.slice(s![0..1, ..]),
        v2,
        base.slice(s![n..n + 1, ..])
    ];
    let cfg = NtXentConfig::new(t);
    let reference = nt_xent_masked(base.view(), &NegativeMask::All, &cfg).unwrap();
    let ids = [10u64, 11, 12, 13, 10];
    let masked = nt_xent_masked(dup.view(), &NegativeMask::SameInstance(&ids), &cfg).unwrap();
    let plain = nt_xent_masked(dup.view(), &NegativeMask::All, &cfg).unwrap();
    // Rows of `dup` and the `base` row each corresponds to.
    let m = n + 1;
    let base_row = |r: usize| {
        let (sample, view) = (r % m, r / m);
        let sample = if sample == n { 0 } else { sample };
        sample + view * n
    };
    let zn = |z: &Array2<f64>, r: usize| {
        let row = z.row(r);
        &row / row.dot(&row).sqrt()
    };
    let logit = |r: usize, c: usize| zn(&dup, r).dot(&zn(&dup, c)) / t;
    for r in 0..2 * m {
        let want = reference.losses[base_row(r)];
        let got = masked.losses[r];
        if [0, n, m, m + n].contains(&r) {
            assert!(
                close(got, want, 1e-12),
                "duplicated anchor {r}: {got} vs {want}"
            );
            assert!(
                plain.losses[r] > want + 1e-3,
                "without the mask, anchor {r} pays"
            );
        } else {
            let pos = logit(r, (r + m) % (2 * m));
            let lse = log_add_exp(log_add_exp(want + pos, logit(r, n)), logit(r, m + n));
            assert!(
                close(got, lse - pos, 1e-12),
                "anchor {r}: {got} vs {}",
                lse - pos
            );
            assert!(
                close(plain.losses[r], got, 1e-12),
                "the mask leaves anchor {r} alone"
            );
        }
    }
    let mean = masked.losses.sum() / (2 * m) as f64;
    assert!(close(masked.loss, mean, 1e-12));
}

/// The three forms of one mask agree, `All` equals every-negative-kept, and a masked call
/// with a tiled evaluation is evaluated densely (the tiled path has no mask): it equals
/// the dense result bit for bit; unmasked, the tiled path agrees to 1e-12.
#[test]
fn mask_forms_agree_and_masks_fall_back_to_dense() {
    let (n, t) = (5, 0.4);
    let n2 = 2 * n;
    let z = random(n2, 6, 2);
    let ids = [1u64, 2, 1, 3, 2];
    let keep = Array2::from_shape_fn((n2, n2), |(i, j)| ids[i % n] != ids[j % n]);
    // Per anchor, the rows of other instances, padded by repeating the first (and the
    // positive, which is ignored) to a common width.
    let width = (0..n2)
        .map(|i| (0..n2).filter(|&j| keep[[i, j]]).count())
        .max()
        .unwrap()
        + 1;
    let lists = Array2::from_shape_fn((n2, width), |(i, c)| {
        let kept: Vec<usize> = (0..n2).filter(|&j| keep[[i, j]]).collect();
        match c {
            0 => (i + n) % n2,
            c => kept[(c - 1).min(kept.len() - 1)],
        }
    });
    let dense = NtXentConfig::new(t).evaluation(Evaluation::Dense);
    let tiled = dense.evaluation(Evaluation::Tiled(TileSize { rows: 3, cols: 4 }));
    let by_ids = nt_xent_masked(z.view(), &NegativeMask::SameInstance(&ids), &dense).unwrap();
    let by_keep = nt_xent_masked(z.view(), &NegativeMask::Keep(keep.view()), &dense).unwrap();
    let by_list = nt_xent_masked(z.view(), &NegativeMask::Only(lists.view()), &dense).unwrap();
    let fallback = nt_xent_masked(z.view(), &NegativeMask::Keep(keep.view()), &tiled).unwrap();
    assert_eq!(by_keep, by_ids);
    assert_eq!(by_list, by_ids);
    assert_eq!(fallback, by_ids);
    let all = Array2::from_elem((n2, n2), true);
    let kept_all = nt_xent_masked(z.view(), &NegativeMask::Keep(all.view()), &dense).unwrap();
    let plain = nt_xent(z.view(), &dense).unwrap();
    assert_eq!((kept_all.loss, &kept_all.grad), (plain.loss, &plain.grad));
    let plain_tiled = nt_xent_masked(z.view(), &NegativeMask::All, &tiled).unwrap();
    assert!(close(plain_tiled.loss, plain.loss, 1e-12));
    assert!(close(
        plain_tiled.grad_temperature,
        kept_all.grad_temperature,
        1e-12
    ));
    for (a, b) in plain_tiled.losses.iter().zip(&kept_all.losses) {
        assert!(close(*a, *b, 1e-12));
    }
    // DCL: the same mask through its own rule.
    let dcl_ids = dcl_masked(
        z.view(),
        &NegativeMask::SameInstance(&ids),
        &DclConfig::default(),
    );
    let dcl_keep = dcl_masked(
        z.view(),
        &NegativeMask::Keep(keep.view()),
        &DclConfig::default(),
    );
    assert_eq!(dcl_ids.unwrap(), dcl_keep.unwrap());
    let dcl_all = dcl_masked(z.view(), &NegativeMask::All, &DclConfig::default()).unwrap();
    assert_eq!(dcl_all, dcl(z.view(), &DclConfig::default()).unwrap());
}

/// Keeping only each anchor's k most similar negatives (the lists a top-k miner returns):
/// the loss is the one with exactly those negatives in each denominator, so it falls as
/// k shrinks, and with k = 2N - 2 it is the plain loss.
#[test]
fn hardest_negatives_only() {
    let (n, t) = (6, 0.2);
    let n2 = 2 * n;
    let z = random(n2, 4, 3);
    let zn: Array2<f64> = Array2::from_shape_fn(z.raw_dim(), |(i, j)| {
        z[[i, j]] / z.row(i).dot(&z.row(i)).sqrt()
    });
    let sim = zn.dot(&zn.t());
    let top = |k: usize| {
        Array2::from_shape_fn((n2, k), |(i, c)| {
            let mut negs: Vec<usize> = (0..n2).filter(|&j| j != i && j != (i + n) % n2).collect();
            negs.sort_by(|&a, &b| sim[[i, b]].total_cmp(&sim[[i, a]]).then(a.cmp(&b)));
            negs[c]
        })
    };
    let cfg = NtXentConfig::new(t);
    let mut last = f64::INFINITY;
    for k in [n2 - 2, 6, 3, 1] {
        let lists = top(k);
        let out = nt_xent_masked(z.view(), &NegativeMask::Only(lists.view()), &cfg).unwrap();
        for i in 0..n2 {
            let p = (i + n) % n2;
            let row = lists.row(i);
            let terms = std::iter::once(p).chain(row.iter().copied());
            let lse = terms.map(|j| (sim[[i, j]] / t).exp()).sum::<f64>().ln();
            assert!(
                close(out.losses[i], lse - sim[[i, p]] / t, 1e-12),
                "k = {k}, anchor {i}"
            );
        }
        assert!(out.loss < last, "k = {k}: {} not below {last}", out.loss);
        last = out.loss;
        if k == n2 - 2 {
            assert!(close(
                out.loss,
                nt_xent(z.view(), &cfg).unwrap().loss,
                1e-12
            ));
        }
    }
}

#[test]
fn bad_masks_are_typed_errors() {
    let z = random(8, 3, 4);
    let cfg = NtXentConfig::new(0.5);
    // Samples 1 and 3 are one instance, and so are 0 and 2: every anchor keeps 4 rows.
    assert!(nt_xent_masked(z.view(), &NegativeMask::SameInstance(&[0, 1, 0, 1]), &cfg).is_ok());
    assert_eq!(
        nt_xent_masked(z.view(), &NegativeMask::SameInstance(&[4, 4, 4, 4]), &cfg),
        Err(Error::AnchorWithoutNegative {
            what: "nt_xent",
            anchor: 0
        })
    );
    assert!(matches!(
        dcl_masked(
            z.view(),
            &NegativeMask::SameInstance(&[4, 4, 4, 4]),
            &DclConfig::default()
        ),
        Err(Error::AnchorWithoutNegative { what: "dcl", .. })
    ));
    assert!(matches!(
        nt_xent_masked(z.view(), &NegativeMask::SameInstance(&[1, 2]), &cfg),
        Err(Error::Shape { .. })
    ));
    let lists = Array2::from_elem((8, 2), 8usize);
    assert!(matches!(
        nt_xent_masked(z.view(), &NegativeMask::Only(lists.view()), &cfg),
        Err(Error::MaskIndex {
            anchor: 0,
            index: 8,
            rows: 8,
            ..
        })
    ));
    let keep = Array2::from_elem((8, 7), true);
    assert!(matches!(
        nt_xent_masked(z.view(), &NegativeMask::Keep(keep.view()), &cfg),
        Err(Error::Shape { .. })
    ));
}
