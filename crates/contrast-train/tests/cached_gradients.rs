//! The cached-gradient step computes the gradient of the whole batch's loss, in f64:
//!
//! - without batch norm or dropout, it equals the plain full-batch step (to 1e-10; bit for bit
//!   when one chunk covers the batch), for any batch and chunk size;
//! - with batch norm and dropout, it equals one graph that runs the chunks one after the other
//!   (the same per-chunk statistics and masks) and updates the running statistics as that
//!   graph does, once per chunk of the first pass;
//! - negative controls: skipping one chunk's cached gradient, a dropout layer that hides its
//!   stream, and whole-batch statistics as the reference with batch norm all fail.

use std::ops::Range;

use contrast_autodiff::{Graph, Var};
use contrast_losses::NtXentConfig;
use contrast_losses::autodiff::nt_xent_op;
use contrast_nn::encoders::{Mlp, MlpConfig};
use contrast_nn::layers::{Dropout, Linear, Sequential};
use contrast_nn::{Module, NamedParam};
use contrast_train::Error;
use contrast_train::cached::{Pass, SplitLoss, cached_backward};
use contrast_train::recipes::Encoded;
use ndarray::{Array2, ArrayD, Axis, s};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const IN: usize = 5;

/// SimCLR on two views: both views of a chunk through the model as one batch (batch norm sees
/// both), NT-Xent over `[z1; z2]`.
struct TwoViews {
    x1: Array2<f64>,
    x2: Array2<f64>,
    /// Negative control: the replay of the chunk starting here gives rows without gradient.
    skip_replay_of: Option<usize>,
}

impl TwoViews {
    fn new(n: usize, rng: &mut impl Rng) -> Self {
        let mut draw = || Array2::from_shape_fn((n, IN), |_| rng.random_range(-1.0..1.0));
        Self {
            x1: draw(),
            x2: draw(),
            skip_replay_of: None,
        }
    }
}

impl SplitLoss<f64, Sequential<f64>> for TwoViews {
    fn samples(&self) -> usize {
        self.x1.nrows()
    }

    fn encode(
        &mut self,
        g: &mut Graph<f64>,
        model: &mut Sequential<f64>,
        r: Range<usize>,
        pass: Pass,
    ) -> contrast_train::Result<Encoded<f64>> {
        let n = r.len();
        let skip = pass == Pass::Replay && self.skip_replay_of == Some(r.start);
        let x = ndarray::concatenate(
            Axis(0),
            &[self.x1.slice(s![r.clone(), ..]), self.x2.slice(s![r, ..])],
        )
        .unwrap();
        let x = g.input(x.into_dyn());
        let mut z = model.forward(g, x)?;
        if skip {
            z = g.detach(z);
        }
        Ok(Encoded {
            rows: vec![g.narrow(z, 0, 0, n)?, g.narrow(z, 0, n, n)?],
            frozen: Vec::new(),
        })
    }

    fn loss(&mut self, g: &mut Graph<f64>, whole: &Encoded<f64>) -> contrast_train::Result<Var> {
        let z = g.concat(&whole.rows, 0)?;
        Ok(nt_xent_op(g, z, &NtXentConfig::new(0.5))?)
    }
}

/// Dropout written without exposing its stream: its replay draws other masks.
struct HiddenDropout(ChaCha8Rng);

impl Module<f64> for HiddenDropout {
    fn forward(&mut self, g: &mut Graph<f64>, x: Var) -> contrast_nn::Result<Var> {
        Ok(g.dropout(x, 0.3, &mut self.0, true)?)
    }
}

/// `Mlp(IN -> 12 -> 8, [BN]) -> [Dropout 0.3] -> Linear(8 -> 4)`.
fn model(g: &mut Graph<f64>, seed: u64, batch_norm: bool, dropout: bool) -> Sequential<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mlp = Mlp::new(
        g,
        &MlpConfig {
            batch_norm,
            ..MlpConfig::relu(&[IN, 12, 8])
        },
        &mut rng,
    )
    .unwrap();
    let mut model = Sequential::new().with(mlp);
    if dropout {
        model.push(Dropout::new(0.3, &mut rng).unwrap());
    }
    model.with(Linear::new(g, 8, 4, true, &mut rng).unwrap())
}

fn gradients(g: &Graph<f64>, params: &[NamedParam]) -> Vec<ArrayD<f64>> {
    params
        .iter()
        .map(|p| {
            g.grad(p.var)
                .expect("every parameter gets a gradient")
                .clone()
        })
        .collect()
}

fn buffers(model: &Sequential<f64>) -> Vec<ArrayD<f64>> {
    model
        .named_buffers()
        .into_iter()
        .map(|(_, b)| b.to_owned())
        .collect()
}

fn set_buffers(model: &mut Sequential<f64>, values: &[ArrayD<f64>]) {
    let mut next = values.iter();
    model.visit_buffers_mut("", &mut |_, mut b| b.assign(next.next().unwrap()));
}

/// The reference: one graph that encodes the chunks of `chunk` samples one after the other
/// (so batch norm and dropout see each chunk alone, as in the cached step), the loss of all
/// rows, one backward. With one chunk covering the batch it is the plain full-batch step.
fn one_graph(
    g: &mut Graph<f64>,
    model: &mut Sequential<f64>,
    split: &mut TwoViews,
    chunk: usize,
) -> (f64, Vec<ArrayD<f64>>) {
    g.zero_grad();
    let mut blocks: [Vec<Var>; 2] = [Vec::new(), Vec::new()];
    for r in &contrast_train::batch::chunks(split.x1.nrows(), chunk) {
        let e = split.encode(g, model, r.clone(), Pass::Cache).unwrap();
        blocks[0].push(e.rows[0]);
        blocks[1].push(e.rows[1]);
    }
    let rows = vec![
        g.concat(&blocks[0], 0).unwrap(),
        g.concat(&blocks[1], 0).unwrap(),
    ];
    let whole = Encoded {
        rows,
        frozen: Vec::new(),
    };
    let loss = split.loss(g, &whole).unwrap();
    let loss = g.backward(loss).unwrap();
    (loss, gradients(g, &model.named_params()))
}

fn chunked(
    g: &mut Graph<f64>,
    model: &mut Sequential<f64>,
    split: &mut TwoViews,
    chunk: usize,
) -> contrast_train::Result<(f64, Vec<ArrayD<f64>>)> {
    g.zero_grad();
    let loss = cached_backward(g, model, split, chunk)?;
    Ok((loss, gradients(g, &model.named_params())))
}

/// Largest `|a - b| / (1 + |a|)` over every gradient entry.
fn worst(a: &[ArrayD<f64>], b: &[ArrayD<f64>]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            x.iter()
                .zip(y.iter())
                .map(|(p, q)| (p - q).abs() / (1.0 + p.abs()))
        })
        .fold(0.0, f64::max)
}

fn bit_equal(a: &[ArrayD<f64>], b: &[ArrayD<f64>]) -> bool {
    a.iter().zip(b).all(|(x, y)| {
        x.iter()
            .zip(y.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Without batch norm the rows of a sample do not depend on the other samples: the chunked
    /// gradient is the full batch's.
    #[test]
    fn chunked_equals_the_full_batch_without_batch_norm(
        n in 2usize..12, chunk in 1usize..14, seed in 0u64..1000,
    ) {
        let mut g = Graph::new();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut split = TwoViews::new(n, &mut rng);
        let mut model = model(&mut g, seed, false, false);
        let (plain_loss, plain) = one_graph(&mut g, &mut model, &mut split, n);
        let (loss, grads) = chunked(&mut g, &mut model, &mut split, chunk).unwrap();
        prop_assert!((loss - plain_loss).abs() <= 1e-12, "{loss} vs {plain_loss}");
        let w = worst(&plain, &grads);
        prop_assert!(w <= 1e-10, "n {n} chunk {chunk}: {w:e}");
        if chunk >= n {
            prop_assert!(bit_equal(&plain, &grads), "one chunk is the plain step");
        }
        // Nothing is left behind: the graph holds the model's parameters only.
        prop_assert_eq!(g.live_nodes(), model.named_params().len());
    }

    /// With batch norm (statistics per chunk) and dropout (masks replayed), the chunked
    /// gradient is that of one graph that runs the same chunks, and the running statistics
    /// move as in that graph: once per chunk, not again in the replay.
    #[test]
    fn chunked_equals_one_graph_of_the_same_chunks_with_batch_norm_and_dropout(
        n in 2usize..12, chunk in 1usize..14, seed in 0u64..1000, dropout in any::<bool>(),
    ) {
        let mut g = Graph::new();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut split = TwoViews::new(n, &mut rng);
        let mut model = model(&mut g, seed, true, dropout);
        let (streams, start) = (model.save_streams(), buffers(&model));
        let (ref_loss, reference) = one_graph(&mut g, &mut model, &mut split, chunk);
        let (ref_streams, ref_buffers) = (model.save_streams(), buffers(&model));
        model.restore_streams(&streams).unwrap();
        set_buffers(&mut model, &start);
        let (loss, grads) = chunked(&mut g, &mut model, &mut split, chunk).unwrap();
        prop_assert!((loss - ref_loss).abs() <= 1e-12, "{loss} vs {ref_loss}");
        let w = worst(&reference, &grads);
        prop_assert!(w <= 1e-10, "n {n} chunk {chunk}: {w:e}");
        prop_assert!(bit_equal(&ref_buffers, &buffers(&model)), "running statistics");
        prop_assert_eq!(ref_streams, model.save_streams());
    }
}

/// The comparison can fail: a replay that drops one chunk's cached gradient is caught.
#[test]
fn skipping_one_chunks_cached_gradient_is_caught() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut split = TwoViews::new(7, &mut rng);
    let mut model = model(&mut g, 1, false, false);
    let (_, plain) = one_graph(&mut g, &mut model, &mut split, 7);
    split.skip_replay_of = Some(3);
    let (_, grads) = chunked(&mut g, &mut model, &mut split, 3).unwrap();
    let w = worst(&plain, &grads);
    assert!(w > 1e-4, "a missing chunk must show: {w:e}");
}

/// With batch norm, the whole-batch statistics are another network: the reference must use
/// the chunks' statistics (and does, above).
#[test]
fn with_batch_norm_whole_batch_statistics_are_not_the_reference() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut split = TwoViews::new(8, &mut rng);
    let mut model = model(&mut g, 2, true, false);
    let (_, whole) = one_graph(&mut g, &mut model, &mut split, 8);
    let (_, grads) = chunked(&mut g, &mut model, &mut split, 3).unwrap();
    let w = worst(&whole, &grads);
    assert!(
        w > 1e-4,
        "per-chunk statistics must change the gradient: {w:e}"
    );
}

/// A dropout layer that does not expose its stream draws new masks in the replay: the step
/// stops instead of applying a gradient that belongs to other rows, and leaves no node behind.
#[test]
fn a_replay_with_other_dropout_masks_is_refused() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut split = TwoViews::new(6, &mut rng);
    let mut model = model(&mut g, 3, false, false).with(HiddenDropout(rng.clone()));
    let params = g.params().len();
    let e = chunked(&mut g, &mut model, &mut split, 4).unwrap_err();
    assert!(matches!(e, Error::ReplayMismatch { chunk: 0, .. }), "{e}");
    assert!(e.to_string().contains("replay of chunk 0"), "{e}");
    assert_eq!(g.params().len(), params);
    assert_eq!(g.live_nodes(), params);
}

/// Bad chunk sizes and batches are errors that leave the graph as it was.
#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut model = model(&mut g, 4, true, false);
    let params = g.params().len();
    let mut split = TwoViews::new(5, &mut rng);
    let e = chunked(&mut g, &mut model, &mut split, 0).unwrap_err();
    assert!(e.to_string().contains("chunk_size"), "{e}");
    let mut empty = TwoViews::new(0, &mut rng);
    assert!(matches!(
        chunked(&mut g, &mut model, &mut empty, 2),
        Err(Error::Empty(_))
    ));
    // A chunk of one sample and one view cannot be batch-normalised: the error comes back,
    // and the temporary leaves and the tape are gone.
    struct OneView(TwoViews);
    impl SplitLoss<f64, Sequential<f64>> for OneView {
        fn samples(&self) -> usize {
            self.0.x1.nrows()
        }
        fn encode(
            &mut self,
            g: &mut Graph<f64>,
            model: &mut Sequential<f64>,
            r: Range<usize>,
            _: Pass,
        ) -> contrast_train::Result<Encoded<f64>> {
            let x = g.input(self.0.x1.slice(s![r, ..]).to_owned().into_dyn());
            Ok(Encoded {
                rows: vec![model.forward(g, x)?],
                frozen: Vec::new(),
            })
        }
        fn loss(&mut self, g: &mut Graph<f64>, w: &Encoded<f64>) -> contrast_train::Result<Var> {
            self.0.loss(
                g,
                &Encoded {
                    rows: vec![w.rows[0], w.rows[0]],
                    frozen: Vec::new(),
                },
            )
        }
    }
    let mut one = OneView(split);
    let before = buffers(&model);
    let e = cached_backward(&mut g, &mut model, &mut one, 2).unwrap_err();
    assert!(e.to_string().contains("N >= 2"), "{e}");
    assert_eq!(g.live_nodes(), params);
    // The chunks before the failing one moved the running statistics: put back.
    assert!(bit_equal(&before, &buffers(&model)));
    // A loss that fails after the leaves exist removes them too.
    let e = cached_backward(&mut g, &mut model, &mut FailingLoss(one), 5).unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    assert_eq!(g.live_nodes(), params);
    assert!(bit_equal(&before, &buffers(&model)));
}

struct FailingLoss<S>(S);

impl<S: SplitLoss<f64, Sequential<f64>>> SplitLoss<f64, Sequential<f64>> for FailingLoss<S> {
    fn samples(&self) -> usize {
        self.0.samples()
    }
    fn encode(
        &mut self,
        g: &mut Graph<f64>,
        model: &mut Sequential<f64>,
        r: Range<usize>,
        pass: Pass,
    ) -> contrast_train::Result<Encoded<f64>> {
        self.0.encode(g, model, r, pass)
    }
    fn loss(&mut self, g: &mut Graph<f64>, w: &Encoded<f64>) -> contrast_train::Result<Var> {
        let z = g.concat(&w.rows, 0)?;
        let _ = g.sum_all(z)?;
        Err(Error::Config("loss refused".into()))
    }
}
