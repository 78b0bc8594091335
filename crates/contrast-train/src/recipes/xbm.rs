//! SupCon with a cross-batch memory (XBM, Wang et al. 2020): the rows of past batches,
//! detached, with their labels, join the candidates of every anchor of the batch.
//!
//! ```text
//! z: (n, D) batch rows (anchors, with gradient), labels y; m: (M, D) memory rows, labels y^m
//! candidates c = [z; m], s_ij = zn_i . cn_j / T          (n, n + M)
//! P(i) = {j != i : y_j = y_i} over the candidates (batch and memory)
//! l_i  = lse_{j != i} s_ij - (1 / |P(i)|) sum_{p in P(i)} s_ip
//! loss = mean of l_i over the anchors with |P(i)| > 0
//! ```
//! Only the batch rows are anchors, as in XBM (pairs batch x (batch + memory)); with an empty
//! memory this is SupCon `L_out` exactly (pytorch-metric-learning `SupConLoss`). The loss is
//! composed from graph ops (normalise, matmul, log-sum-exp), each gradient-checked in
//! `contrast-autodiff`; the tests below check it against SupCon, a direct evaluation and
//! finite differences.

use contrast_autodiff::{Graph, Var};
use ndarray::{Array1, Array2, ArrayView2, NdFloat};

use crate::error::{Error, Result};

/// Row norms below this are treated as this (torch's `F.normalize` epsilon, as SupCon).
const EPS: f64 = 1e-12;

/// The XBM SupCon loss of the rows `z` (a graph node, `(n, D)`) with `labels`, against the
/// memory rows `memory` (`(M, D)`, constants) with `memory_labels`, at temperature `t`.
///
/// # Errors
/// Label counts that do not match the rows, memory rows of another width, or a graph op's
/// error.
pub fn supcon_with_memory<A: NdFloat>(
    g: &mut Graph<A>,
    z: Var,
    labels: &[usize],
    memory: ArrayView2<'_, A>,
    memory_labels: &[usize],
    t: f64,
) -> Result<Var> {
    let shape = g.try_value(z)?.shape().to_vec();
    let n = labels.len();
    if shape.len() != 2 || shape[0] != n || memory_labels.len() != memory.nrows() {
        return Err(Error::LabelCount {
            what: "supcon with memory (rows, memory rows)",
            expected: shape.first().copied().unwrap_or(0) + memory.nrows(),
            got: n + memory_labels.len(),
        });
    }
    if memory.nrows() > 0 && memory.ncols() != shape[1] {
        return Err(Error::Shape {
            what: "memory rows",
            expected: vec![memory.nrows(), shape[1]],
            got: memory.shape().to_vec(),
        });
    }
    let zn = g.l2_normalize_rows(z, A::from(EPS).expect("float"))?;
    let candidates = if memory.nrows() > 0 {
        let m = g.input(normalized(memory).into_dyn());
        g.concat(&[zn, m], 0)?
    } else {
        zn
    };
    let ct = g.transpose(candidates)?;
    let dots = g.matmul(zn, ct)?;
    let s = g.mul_scalar(dots, A::from(1.0 / t).expect("float"))?;

    let all: Vec<usize> = labels.iter().chain(memory_labels).copied().collect();
    let cols = all.len();
    // An anchor is not its own candidate: -inf on the batch block's diagonal.
    let self_out = Array2::from_shape_fn((n, cols), |(i, j)| {
        if i == j { A::neg_infinity() } else { A::zero() }
    });
    let self_out = g.input(self_out.into_dyn());
    let denominators = g.add(s, self_out)?;
    let lse = g.logsumexp(denominators, 1, false)?;

    let all = &all;
    let positives = |i: usize| (0..cols).filter(move |&j| j != i && all[j] == labels[i]);
    let counts: Vec<usize> = (0..n).map(|i| positives(i).count()).collect();
    let mut weights = Array2::<A>::zeros((n, cols));
    for (i, &count) in counts.iter().enumerate() {
        for j in positives(i) {
            weights[[i, j]] = A::one() / A::from(count).expect("float");
        }
    }
    let weights = g.input(weights.into_dyn());
    let weighted = g.mul(s, weights)?;
    let positive_mean = g.sum(weighted, &[1], false)?;
    let per_anchor = g.sub(lse, positive_mean)?;

    let anchors = counts.iter().filter(|&&c| c > 0).count().max(1);
    let mean = Array1::from_shape_fn(n, |i| {
        if counts[i] > 0 {
            A::one() / A::from(anchors).expect("float")
        } else {
            A::zero()
        }
    });
    let mean = g.input(mean.into_dyn());
    let terms = g.mul(per_anchor, mean)?;
    Ok(g.sum_all(terms)?)
}

/// Rows divided by `max(|row|, EPS)`.
fn normalized<A: NdFloat>(rows: ArrayView2<'_, A>) -> Array2<A> {
    let eps = A::from(EPS).expect("float");
    let mut out = rows.to_owned();
    for mut row in out.rows_mut() {
        let norm = row.dot(&row).sqrt().max(eps);
        row.mapv_inplace(|x| x / norm);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use contrast_autodiff::gradcheck::{GradCheckConfig, check_graph};
    use contrast_losses::SupConConfig;
    use contrast_losses::autodiff::supcon_op;
    use ndarray::{ArrayD, IxDyn};

    fn rows(n: usize, d: usize, seed: f64) -> Array2<f64> {
        Array2::from_shape_fn((n, d), |(i, j)| {
            ((i * 7 + j * 3) as f64 * 0.37 + seed).sin() + 0.1
        })
    }

    #[test]
    fn with_an_empty_memory_it_is_supcon() {
        let z = rows(6, 3, 0.2);
        let labels = [0, 1, 2, 0, 1, 1];
        let empty = Array2::<f64>::zeros((0, 3));
        let mut g = Graph::<f64>::new();
        let v = g.param(z.clone().into_dyn());
        let ours = supcon_with_memory(&mut g, v, &labels, empty.view(), &[], 0.3).unwrap();
        let loss = g.value(ours).sum();
        g.backward(ours).unwrap();
        let grad = g.grad(v).unwrap().clone();

        let mut h = Graph::<f64>::new();
        let w = h.param(z.into_dyn());
        let theirs = supcon_op(&mut h, w, &labels, &SupConConfig::new(0.3)).unwrap();
        let want = h.value(theirs).sum();
        h.backward(theirs).unwrap();
        assert!((loss - want).abs() < 1e-12, "{loss} {want}");
        let diff = (&grad - h.grad(w).unwrap()).mapv(f64::abs).sum();
        assert!(diff < 1e-12, "{diff}");
    }

    /// The formula of the module docs, anchor by anchor.
    fn direct(z: &Array2<f64>, y: &[usize], m: &Array2<f64>, ym: &[usize], t: f64) -> f64 {
        let c = ndarray::concatenate(ndarray::Axis(0), &[z.view(), m.view()]).unwrap();
        let (zn, cn) = (normalized(z.view()), normalized(c.view()));
        let all: Vec<usize> = y.iter().chain(ym).copied().collect();
        let (mut total, mut anchors) = (0.0, 0);
        for (i, anchor) in zn.rows().into_iter().enumerate() {
            let s: Vec<f64> = (0..c.nrows()).map(|j| anchor.dot(&cn.row(j)) / t).collect();
            let lse = (0..c.nrows())
                .filter(|&j| j != i)
                .map(|j| s[j].exp())
                .sum::<f64>()
                .ln();
            let pos: Vec<usize> = (0..c.nrows())
                .filter(|&j| j != i && all[j] == y[i])
                .collect();
            if !pos.is_empty() {
                total += lse - pos.iter().map(|&p| s[p]).sum::<f64>() / pos.len() as f64;
                anchors += 1;
            }
        }
        total / anchors as f64
    }

    #[test]
    fn the_memory_adds_positives_and_negatives_and_the_gradient_is_exact() {
        let z = rows(4, 3, 0.9);
        let (labels, memory, memory_labels) = ([0, 1, 2, 3], rows(5, 3, 2.0), [3, 0, 0, 4, 1]);
        let mut g = Graph::<f64>::new();
        let v = g.param(z.clone().into_dyn());
        let loss =
            supcon_with_memory(&mut g, v, &labels, memory.view(), &memory_labels, 0.5).unwrap();
        // Anchor 2 (label 2) has no positive anywhere: out of the mean.
        let want = direct(&z, &labels, &memory, &memory_labels, 0.5);
        assert!((g.value(loss).sum() - want).abs() < 1e-12, "{want}");

        let input = ArrayD::from_shape_vec(IxDyn(&[4, 3]), z.iter().copied().collect()).unwrap();
        let reports = check_graph(
            &[input],
            |g, v| {
                Ok(
                    supcon_with_memory(g, v[0], &labels, memory.view(), &memory_labels, 0.5)
                        .expect("valid inputs"),
                )
            },
            &GradCheckConfig::default(),
        )
        .unwrap();
        assert!(reports[0].passes(1e-7), "{}", reports[0]);
    }

    #[test]
    fn mismatched_labels_or_widths_are_errors() {
        let mut g = Graph::<f64>::new();
        let v = g.param(rows(3, 2, 0.0).into_dyn());
        let m = rows(2, 2, 1.0);
        assert!(supcon_with_memory(&mut g, v, &[0, 1], m.view(), &[0, 1], 0.5).is_err());
        assert!(supcon_with_memory(&mut g, v, &[0, 1, 1], m.view(), &[0], 0.5).is_err());
        let wide = rows(2, 3, 1.0);
        assert!(supcon_with_memory(&mut g, v, &[0, 1, 1], wide.view(), &[0, 1], 0.5).is_err());
    }
}
