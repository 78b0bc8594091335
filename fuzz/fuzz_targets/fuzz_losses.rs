//! Every loss of contrast-losses on arbitrary matrices, labels and hyper-parameters, finite
//! and not, in f32 and f64.
//!
//! Input (decoded by `contrast_fuzz::loss_input::Decoder`, so every input is valid): a loss
//! selector, shapes (up to 8 x 4), option flags, five hyper-parameters, three matrices and
//! the labels. A loss may refuse its input with an error, never panic; when it accepts an
//! input whose every number is moderate (entries 0 or between 1e-6 and 1e4 in magnitude, the temperature in
//! [0.01, 100], other parameters 0 or between 1e-6 and 100 in magnitude) the loss and every
//! gradient must be finite. (Parameters below 1e-6: finding F5b of fuzz/README.md, DCL-W's
//! `sigma` near `f64::MIN_POSITIVE` divides the logits to infinity.)
#![no_main]

use contrast_fuzz::loss_input::Decoder;
use contrast_losses::{
    AlignmentConfig, ContrastiveMarginConfig, DclConfig, DclWeight, DebiasedConfig, Evaluation,
    HclConfig, InfoNceConfig, LabelTripletConfig, NoPositive, NtXentConfig, Reduction,
    SoftmaxConfig, SupConConfig, TileSize, TripletConfig, TripletMean, UniformityConfig, alignment,
    contrastive_margin, dcl, debiased, hcl, info_nce, nt_xent, nt_xent_pairs, positives_in_log,
    supcon, triplet_margin, triplet_margin_labels, uniformity,
};
use libfuzzer_sys::fuzz_target;
use ndarray::{Array2, NdFloat};

/// Number of losses the selector chooses from.
const LOSSES: u8 = 13;

/// One decoded fuzz case.
struct Case {
    loss: u8,
    flags: u8,
    /// Temperature (or the loss's first parameter), then the others.
    params: [f64; 5],
    z: Array2<f64>,
    other: Array2<f64>,
    third: Array2<f64>,
    labels: Vec<usize>,
    tile: TileSize,
}

impl Case {
    fn decode(data: &[u8]) -> (Self, bool) {
        let mut d = Decoder::new(data);
        let selector = d.byte();
        let (rows, cols) = (usize::from(d.byte() % 9), usize::from(d.byte() % 5));
        let (other_rows, third_rows) = (usize::from(d.byte() % 9), usize::from(d.byte() % 9));
        let flags = d.byte();
        // Hyper-parameters: usually positive and ordinary, sometimes one of the specials.
        let params = std::array::from_fn(|_| match d.byte() {
            b @ 0..=11 => Decoder::new(&[b]).value(),
            b => f64::from(b - 11) / 64.0,
        });
        let tile = TileSize {
            rows: usize::from(d.byte() % 5),
            cols: usize::from(d.byte() % 5),
        };
        // Flag bit 6 gives the second matrix other columns than the first.
        let other_cols = if flags & 0x40 != 0 { cols + 1 } else { cols };
        let z = d.matrix(rows, cols);
        let other = d.matrix(other_rows, other_cols);
        let third = d.matrix(third_rows, cols);
        // Flag bit 7 gives one label too many.
        let labels = d.labels(rows + usize::from(flags >> 7));
        let case = Case {
            loss: selector % LOSSES,
            flags,
            params,
            z,
            other,
            third,
            labels,
            tile,
        };
        (case, selector & 0x80 != 0)
    }

    fn flag(&self, bit: u8) -> bool {
        self.flags & (1 << bit) != 0
    }

    /// What the labelled losses do with an anchor that has no positive (flag bit 5).
    fn no_positive(&self) -> NoPositive {
        if self.flag(5) {
            NoPositive::Error
        } else {
            NoPositive::Skip
        }
    }

    /// Every number moderate, so a finite loss and finite gradients are owed.
    fn moderate(&self) -> bool {
        // Entries of 0 or at least 1e-6: far below that, a row's norm is under the
        // normalisation floor (1e-12) whose gradient is scaled by 1 / 1e-12 by design, and
        // `alignment` with alpha < 1 has a gradient that grows as d^(alpha - 1) when d -> 0.
        let mut entries = self.z.iter().chain(&self.other).chain(&self.third);
        entries.all(|&x| x == 0.0 || (1e-6..=1e4).contains(&x.abs()))
            && (0.01..=100.0).contains(&self.params[0])
            && self.params[1..]
                .iter()
                .all(|&p| p == 0.0 || (1e-6..=100.0).contains(&p.abs()))
    }

    fn evaluation(&self) -> Evaluation {
        match self.flags >> 1 & 3 {
            0 => Evaluation::Auto,
            1 => Evaluation::Dense,
            _ => Evaluation::Tiled(self.tile),
        }
    }
}

/// `v` in `A`, overflowing to infinity as an `as` cast does.
fn cast<A: NdFloat>(v: f64) -> A {
    A::from(v).unwrap_or_else(|| {
        if v > 0.0 {
            A::infinity()
        } else {
            A::neg_infinity()
        }
    })
}

/// The loss and its gradients are finite when the input is moderate.
///
/// Extreme finite input (entries near `f64::MAX`, a temperature near 0 or `f64::MAX`)
/// overflows and the losses return `Ok` with a NaN or infinite loss: observation F4 of
/// fuzz/README.md, left to the trainer's NaN guard; so it is not asserted here.
fn check<A: NdFloat>(name: &str, loss: A, grads: &[&Array2<A>], moderate: bool) {
    if moderate {
        let mut values = std::iter::once(&loss).chain(grads.iter().flat_map(|g| g.iter()));
        assert!(
            values.all(|v| v.is_finite()),
            "{name}: non-finite result of a moderate input: {loss:?} {grads:?}"
        );
    }
}

fn run<A: NdFloat>(c: &Case) {
    let (z, other, third) = (
        c.z.mapv(cast::<A>),
        c.other.mapv(cast::<A>),
        c.third.mapv(cast::<A>),
    );
    let (z, other, third) = (z.view(), other.view(), third.view());
    let [t, p1, p2, p3, _] = c.params;
    let normalize = c.flag(0);
    let m = c.moderate();
    let y = &c.labels;
    match c.loss {
        0 => {
            let config = NtXentConfig {
                temperature: t,
                normalize,
                evaluation: c.evaluation(),
            };
            if let Ok(o) = nt_xent(z, &config) {
                check("nt_xent", o.loss, &[&o.grad], m);
            }
        }
        1 => {
            let config = InfoNceConfig {
                temperature: t,
                normalize,
                in_batch: c.flag(3),
                evaluation: c.evaluation(),
            };
            let negatives = c.flag(4).then_some(third);
            if let Ok(o) = info_nce(z, other, negatives, &config) {
                let mut grads = vec![&o.grad_query, &o.grad_key];
                grads.extend(o.grad_negatives.as_ref());
                check("info_nce", o.loss, &grads, m);
            }
        }
        2 => {
            let config = SupConConfig {
                temperature: t,
                normalize,
                average_all_anchors: c.flag(3),
                no_positive: c.no_positive(),
            };
            if let Ok(o) = supcon(z, y, &config) {
                check("supcon", o.loss, &[&o.grad], m);
            }
        }
        3 | 4 => {
            let config = SoftmaxConfig {
                temperature: t,
                normalize,
                no_positive: c.no_positive(),
            };
            let out = if c.loss == 3 {
                nt_xent_pairs(z, y, &config)
            } else {
                positives_in_log(z, y, &config)
            };
            if let Ok(o) = out {
                check("nt_xent_pairs / positives_in_log", o.loss, &[&o.grad], m);
            }
        }
        5 => {
            let reduction = [Reduction::Mean, Reduction::Sum, Reduction::None]
                [usize::from(c.flags >> 1 & 3) % 3];
            let config = TripletConfig {
                margin: t,
                eps: p1 - 1.0 / 64.0,
                reduction,
            };
            if let Ok(o) = triplet_margin(z, other, third, &config) {
                check(
                    "triplet_margin",
                    o.loss,
                    &[&o.grad_anchor, &o.grad_positive, &o.grad_negative],
                    m,
                );
            }
        }
        6 => {
            let mean = if c.flag(3) {
                TripletMean::All
            } else {
                TripletMean::NonZero
            };
            let config = LabelTripletConfig {
                margin: t,
                normalize,
                mean,
                no_positive: c.no_positive(),
            };
            if let Ok(o) = triplet_margin_labels(z, y, &config) {
                check("triplet_margin_labels", o.loss, &[&o.grad], m);
            }
        }
        7 => {
            let config = ContrastiveMarginConfig {
                pos_margin: p1,
                neg_margin: t,
                normalize,
                no_positive: c.no_positive(),
            };
            if let Ok(o) = contrastive_margin(z, y, &config) {
                check("contrastive_margin", o.loss, &[&o.grad], m);
            }
        }
        8 => {
            let weight = if c.flag(3) {
                DclWeight::VonMisesFisher {
                    sigma: p1,
                    detach: c.flag(4),
                }
            } else {
                DclWeight::None
            };
            let config = DclConfig {
                temperature: t,
                normalize,
                weight,
            };
            if let Ok(o) = dcl(z, &config) {
                check("dcl", o.loss, &[&o.grad], m);
            }
        }
        9 => {
            let config = DebiasedConfig {
                temperature: t,
                tau_plus: p1 / 4.0,
                normalize,
            };
            if let Ok(o) = debiased(z, &config) {
                check("debiased", o.loss, &[&o.grad], m);
            }
        }
        10 => {
            let config = HclConfig {
                temperature: t,
                tau_plus: p1 / 4.0,
                beta: p2,
                normalize,
            };
            if let Ok(o) = hcl(z, &config) {
                check("hcl", o.loss, &[&o.grad], m);
            }
        }
        11 => {
            let config = AlignmentConfig {
                alpha: p3,
                normalize,
            };
            if let Ok(o) = alignment(z, other, &config) {
                check("alignment", o.loss, &[&o.grad_x, &o.grad_y], m);
            }
        }
        _ => {
            let config = UniformityConfig { t: p2, normalize };
            if let Ok(o) = uniformity(z, &config) {
                check("uniformity", o.loss, &[&o.grad], m);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (case, single) = Case::decode(data);
    if single {
        run::<f32>(&case);
    } else {
        run::<f64>(&case);
    }
});
