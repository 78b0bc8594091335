//! Linear probe: multinomial logistic regression on frozen features, trained with this
//! workspace's own autodiff and AdamW.
//!
//! Features are standardised with the training split's per-dimension mean and standard
//! deviation (the same transform is applied to the test split). The model is
//! `p(y | x) = softmax(x W + b)`, trained to minimise the mean cross-entropy
//! `-(1/B) sum_i log p(y_i | x_i)` over shuffled mini-batches of 256, with AdamW
//! (lr 1e-2 cosine-decayed to 0, weight decay 5e-4 on `W`). Reported: top-1 accuracy on the
//! test split.

use contrast_autodiff::{Graph, Var};
use contrast_data::shuffled_indices;
use contrast_nn::NamedParam;
use contrast_nn::optim::{Adam, Optimizer, ParamKind, graph_step};
use contrast_nn::schedule::Schedule;
use ndarray::{Array1, Array2, ArrayView2, Axis, Ix2};

use crate::error::{Error, Result};
use crate::eval::knn::accuracy;

const BATCH: usize = 256;
const LR: f64 = 1e-2;
const WEIGHT_DECAY: f64 = 5e-4;

/// Trains the probe for `epochs` on `(train, train_labels)`, returns the top-1 accuracy on
/// `(test, test_labels)`.
pub fn linear_probe(
    train: ArrayView2<f32>,
    train_labels: &[usize],
    test: ArrayView2<f32>,
    test_labels: &[usize],
    num_classes: usize,
    epochs: usize,
    seed: u64,
) -> Result<f64> {
    if train.nrows() == 0 || test.nrows() == 0 || epochs == 0 {
        return Err(Error::Empty(
            "the linear probe needs training rows, test rows and epochs",
        ));
    }
    if train_labels.len() != train.nrows() || test_labels.len() != test.nrows() {
        return Err(Error::LabelCount {
            what: "linear probe labels",
            expected: train.nrows() + test.nrows(),
            got: train_labels.len() + test_labels.len(),
        });
    }
    if let Some(&label) = train_labels
        .iter()
        .chain(test_labels)
        .find(|&&l| l >= num_classes)
    {
        return Err(Error::LabelRange { label, num_classes });
    }
    if train.ncols() != test.ncols() {
        return Err(Error::Shape {
            what: "linear probe test features",
            expected: vec![test.nrows(), train.ncols()],
            got: test.shape().to_vec(),
        });
    }
    let (mean, std) = standardisation(train);
    let train = (&train - &mean) / &std;
    let test = (&test - &mean) / &std;
    let d = train.ncols();

    let mut g = Graph::<f32>::new();
    let w = g.param(Array2::<f32>::zeros((d, num_classes)).into_dyn());
    let b = g.param(Array1::<f32>::zeros(num_classes).into_dyn());
    let params = vec![
        NamedParam {
            name: "weight".into(),
            var: w,
            kind: ParamKind::Weight,
        },
        NamedParam {
            name: "bias".into(),
            var: b,
            kind: ParamKind::Bias,
        },
    ];
    let steps_per_epoch = train.nrows().div_ceil(BATCH);
    let schedule = Schedule::warmup_cosine(LR, 0, epochs * steps_per_epoch, 0.0)?;
    let mut opt = Adam::adamw(LR, WEIGHT_DECAY)?.weight_decay(WEIGHT_DECAY, true)?;
    let mut step = 0;
    for epoch in 0..epochs {
        for chunk in shuffled_indices(train.nrows(), seed, epoch as u64).chunks(BATCH) {
            opt.set_lr(schedule.lr(step) as f32);
            let x = g.input(train.select(Axis(0), chunk).into_dyn());
            let labels: Vec<usize> = chunk.iter().map(|&i| train_labels[i]).collect();
            let loss = cross_entropy(&mut g, x, w, b, &labels, num_classes)?;
            g.backward(loss)?;
            graph_step(&mut opt, &mut g, &params)?;
            g.zero_grad();
            step += 1;
        }
    }
    let logits = test.dot(
        &g.value(w)
            .clone()
            .into_dimensionality::<Ix2>()
            .expect("W is a matrix"),
    ) + g.value(b);
    let predictions: Vec<usize> = logits
        .axis_iter(Axis(0))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
        })
        .collect();
    Ok(accuracy(&predictions, test_labels))
}

/// `-(1/B) sum_i log softmax(x W + b)_{i, y_i}`, through one-hot targets.
fn cross_entropy(
    g: &mut Graph<f32>,
    x: Var,
    w: Var,
    b: Var,
    labels: &[usize],
    num_classes: usize,
) -> Result<Var> {
    let logits = g.matmul(x, w)?;
    let logits = g.add(logits, b)?;
    let log_p = g.log_softmax(logits, 1)?;
    let mut one_hot = Array2::<f32>::zeros((labels.len(), num_classes));
    for (i, &y) in labels.iter().enumerate() {
        one_hot[[i, y]] = 1.0;
    }
    let targets = g.input(one_hot.into_dyn());
    let picked = g.mul(log_p, targets)?;
    let total = g.sum_all(picked)?;
    Ok(g.mul_scalar(total, -1.0 / labels.len() as f32)?)
}

/// Per-column mean and standard deviation (1 where a column is constant).
fn standardisation(x: ArrayView2<f32>) -> (Array1<f32>, Array1<f32>) {
    let mean = x.mean_axis(Axis(0)).expect("rows exist");
    let std = x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 1e-6 { s } else { 1.0 });
    (mean, std)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn blobs(n: usize, seed: u64) -> (Array2<f32>, Vec<usize>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let x = Array2::from_shape_fn((n, 4), |(i, j)| {
            let centre = if j == labels[i] { 3.0 } else { 0.0 };
            centre + rng.random_range(-1.0f32..1.0)
        });
        (x, labels)
    }

    #[test]
    fn separates_gaussian_blobs() {
        let (train, ytr) = blobs(300, 1);
        let (test, yte) = blobs(90, 2);
        let acc = linear_probe(train.view(), &ytr, test.view(), &yte, 3, 30, 0).unwrap();
        assert!(acc > 0.95, "probe accuracy {acc}");
    }

    #[test]
    fn cannot_beat_chance_on_shuffled_labels_by_much() {
        let (train, mut ytr) = blobs(300, 3);
        let (test, yte) = blobs(300, 4);
        ytr.rotate_left(1); // labels no longer follow the features
        let acc = linear_probe(train.view(), &ytr, test.view(), &yte, 3, 30, 0).unwrap();
        assert!(acc < 0.6, "probe accuracy {acc} on unrelated labels");
    }

    #[test]
    fn bad_labels_are_errors() {
        let (x, y) = blobs(10, 5);
        assert!(matches!(
            linear_probe(x.view(), &y[..5], x.view(), &y, 3, 1, 0),
            Err(Error::LabelCount { .. })
        ));
        assert!(matches!(
            linear_probe(x.view(), &y, x.view(), &y, 2, 1, 0),
            Err(Error::LabelRange { .. })
        ));
    }
}
