//! The loss of the two-view recipes (SimCLR, MoCo) as a choice: blocks `a` (view 1) and `b`
//! (view 2, or more views for the multi-positive losses), each one row per sample, in,
//! one loss node out. In SimCLR every block carries gradient; in MoCo `b` is the momentum
//! encoder's keys, a constant. The losses and their parameters are listed in
//! [`crate::loss_choice`]; this file wires each to its `contrast-losses` graph op:
//!
//! - the two-view losses (`nt_xent`, `dcl`, `dcl_w`, `debiased`, `hcl`) see the stacked
//!   `[a; b]` (rows `i` and `i + N` pair, the SimCLR layout);
//! - `info_nce` takes `a` as queries and `b` as keys, with the batch's other keys and/or
//!   the queue as negatives; when `b` carries gradient (SimCLR) both views are queries in
//!   turn and the loss is the mean of the two directions (symmetric, as CLIP);
//! - `align_uniform` is `w_a align(a, b) + w_u (unif(a) + unif(b)) / 2`;
//! - `siglip` takes `a` against `b` with the model's learned log-scale and bias
//!   ([`crate::loss_params`]); `vicreg` and `barlow_twins` take the two blocks as the two
//!   views (no negatives);
//! - the multi-positive losses see every block stacked, with the sample's instance label
//!   (from [`crate::batch::Batch::ids`]) repeated in each block, so every view of a sample
//!   (and every copy of it) is a positive of the others.
//!
//! **Negatives.** `batch`: the rows of this batch. `queue`: `info_nce` only; the queue
//! holds the keys `b` of past batches, detached. MoCo reads the queue alone (the batch's
//! other keys only while the queue is empty, the first step); SimCLR reads the batch's
//! other keys and the queue. A batch's keys enter the queue after its loss. `hardest`
//! (`nt_xent`, `dcl`, `dcl_w`): each anchor keeps only its `hardest_k` most similar
//! negatives, found by `contrast-sampling`'s blocked top-k miner on the stacked rows.
//! `duplicates = "mask"` (the same losses): rows of the anchor's own sample (same id) leave
//! its negatives; with `hardest` the miner skips them instead.

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use contrast_losses::autodiff::{
    alignment_op, barlow_twins_op, dcl_masked_op, debiased_op, hcl_op, info_nce_op,
    nt_xent_masked_op, nt_xent_pairs_op, positives_in_log_op, siglip_op, supcon_op, uniformity_op,
    vicreg_op,
};
use contrast_losses::{
    AlignmentConfig, BarlowTwinsConfig, DclConfig, DclWeight, DebiasedConfig, HclConfig,
    InfoNceConfig, NegativeMask, NtXentConfig, SigLipConfig, SoftmaxConfig, SupConConfig,
    UniformityConfig, VicRegConfig,
};
use contrast_sampling::hard_negatives::{TopKConfig, hardest_negatives};
use contrast_sampling::layout::TwoViews;
use ndarray::Array2;

use super::simclr;
use crate::batch::Meta;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::loss_choice::LossChoice;
use crate::loss_params::LossParams;
use crate::negatives::{Duplicates, Memory, Negatives, as_matrix, instance_labels, per_view};

/// A two-view recipe's loss and the negatives it keeps between steps.
pub struct PairObjective {
    loss: LossChoice,
    /// Whether `b` carries gradient (SimCLR) or is a constant (MoCo's keys).
    keys_learn: bool,
    memory: Option<Memory>,
    temperature: f64,
    /// `negatives = "hardest"`: negatives kept per anchor.
    hardest_k: Option<usize>,
    /// `duplicates = "mask"`: copies of a sample leave each other's negatives.
    mask_copies: bool,
    /// SigLIP's learned log-scale and bias (parameters of the model).
    learned: Option<[Var; 2]>,
}

/// The negatives each anchor keeps, owned (a [`NegativeMask`] borrows from it).
enum Kept {
    All,
    SameInstance(Vec<u64>),
    Only(Array2<usize>),
}

impl Kept {
    fn mask(&self) -> NegativeMask<'_> {
        match self {
            Kept::All => NegativeMask::All,
            Kept::SameInstance(ids) => NegativeMask::SameInstance(ids),
            Kept::Only(lists) => NegativeMask::Only(lists.view()),
        }
    }
}

impl PairObjective {
    /// The loss and negatives `config` resolves to for a recipe whose key block does
    /// (`keys_learn`) or does not carry gradient; a queue starts empty. `learned`: the
    /// model's loss scalars, which `siglip` needs.
    ///
    /// # Errors
    /// A recipe without a choice of loss, a bad queue size, or `siglip` without `learned`.
    pub fn new(
        config: &TrainConfig,
        keys_learn: bool,
        learned: Option<&LossParams>,
    ) -> Result<Self> {
        let loss = super::loss_of(config)
            .ok_or_else(|| Error::Config(format!("{:?} has no choice of loss", config.method)))?;
        let negatives = super::negatives_of(config);
        let memory = match negatives {
            Some(Negatives::Queue) => {
                Some(Memory::queue(config.queue_size, config.projection_dim)?)
            }
            _ => None,
        };
        let learned = learned.map(|p| [p.log_scale(), p.bias()]);
        if matches!(loss, LossChoice::Siglip { .. }) && learned.is_none() {
            return Err(Error::Config(
                "siglip learns its log-scale and bias with the model; the model has none".into(),
            ));
        }
        Ok(Self {
            loss,
            keys_learn,
            memory,
            temperature: f64::from(config.temperature),
            hardest_k: match negatives {
                Some(Negatives::Hardest) => config.hardest_k,
                _ => None,
            },
            mask_copies: config.duplicates == Duplicates::Mask,
            learned,
        })
    }

    /// The queue, when the negatives include one.
    pub fn memory(&self) -> Option<&Memory> {
        self.memory.as_ref()
    }

    /// [`PairObjective::memory`], mutable (to load a checkpoint).
    pub fn memory_mut(&mut self) -> Option<&mut Memory> {
        self.memory.as_mut()
    }

    /// The loss of `blocks` (one per view, each one row per sample, all samples of the
    /// batch) with the samples' facts `meta`. With `gpu`, NT-Xent runs as the fused kernel.
    pub fn loss(
        &mut self,
        g: &mut Graph<f32>,
        blocks: &[Var],
        meta: &Meta,
        gpu: Option<&GpuContext>,
    ) -> Result<Var> {
        let t = self.temperature;
        let softmax = SoftmaxConfig::new(t);
        if self.loss.multi_positive() {
            let z = g.concat(blocks, 0)?;
            let labels = per_view(&instance_labels(&meta.ids), blocks.len());
            return Ok(match self.loss {
                LossChoice::NtXentPairs {} => nt_xent_pairs_op(g, z, &labels, &softmax)?,
                LossChoice::PositivesInLog {} => positives_in_log_op(g, z, &labels, &softmax)?,
                _ => supcon_op(g, z, &labels, &SupConConfig::new(t))?,
            });
        }
        let &[a, b] = blocks else {
            return Err(Error::Config(format!(
                "loss {} pairs two views, the recipe gave {} (with more views choose \
                 nt_xent_pairs, positives_in_log or supcon)",
                self.loss.name(),
                blocks.len()
            )));
        };
        let stacked = |g: &mut Graph<f32>| g.concat(&[a, b], 0);
        Ok(match self.loss {
            LossChoice::NtXent {} => {
                let z = stacked(g)?;
                match self.kept(g, z, meta)? {
                    Kept::All => simclr::nt_xent(g, z, t, gpu)?,
                    kept => nt_xent_masked_op(g, z, &kept.mask(), &NtXentConfig::new(t))?,
                }
            }
            LossChoice::Dcl {} | LossChoice::DclW { .. } => {
                let weight = match self.loss {
                    LossChoice::DclW { sigma } => DclWeight::VonMisesFisher {
                        sigma,
                        detach: true,
                    },
                    _ => DclWeight::None,
                };
                let config = DclConfig {
                    temperature: t,
                    normalize: true,
                    weight,
                };
                let z = stacked(g)?;
                let kept = self.kept(g, z, meta)?;
                dcl_masked_op(g, z, &kept.mask(), &config)?
            }
            LossChoice::Debiased { tau_plus } => {
                let config = DebiasedConfig {
                    temperature: t,
                    tau_plus,
                    normalize: true,
                };
                let z = stacked(g)?;
                debiased_op(g, z, &config)?
            }
            LossChoice::Hcl { beta, tau_plus } => {
                let config = HclConfig {
                    temperature: t,
                    tau_plus,
                    beta,
                    normalize: true,
                };
                let z = stacked(g)?;
                hcl_op(g, z, &config)?
            }
            LossChoice::AlignUniform {
                align_weight,
                uniform_weight,
                alpha,
                t: scale,
            } => align_uniform(g, [a, b], [align_weight, uniform_weight], alpha, scale)?,
            LossChoice::InfoNce {} => self.info_nce(g, a, b)?,
            LossChoice::Siglip { .. } => {
                let [log_scale, bias] = self.learned.expect("checked in new");
                siglip_op(g, a, b, log_scale, bias, &SigLipConfig::default())?
            }
            LossChoice::Vicreg { lambda, mu, nu } => {
                let config = VicRegConfig {
                    lambda,
                    mu,
                    nu,
                    ..VicRegConfig::default()
                };
                vicreg_op(g, a, b, &config)?
            }
            LossChoice::BarlowTwins { lambda } => {
                let config = BarlowTwinsConfig {
                    lambda,
                    ..BarlowTwinsConfig::default()
                };
                barlow_twins_op(g, a, b, &config)?
            }
            LossChoice::NtXentPairs {} | LossChoice::PositivesInLog {} | LossChoice::Supcon {} => {
                unreachable!("handled above")
            }
        })
    }

    /// The negatives each anchor of the stacked `(2N, d)` rows `z` keeps: the `hardest_k`
    /// most similar (skipping copies of its own sample when they are masked), or all but
    /// the copies, or all.
    fn kept(&self, g: &Graph<f32>, z: Var, meta: &Meta) -> Result<Kept> {
        let ids = &meta.ids;
        Ok(match (self.hardest_k, self.mask_copies) {
            (Some(k), copies) => {
                let layout = if copies {
                    TwoViews::with_labels(instance_labels(ids))?
                } else {
                    TwoViews::new(ids.len())?
                };
                let z = as_matrix(g.value(z), "stacked rows")?;
                let top = hardest_negatives(z.view(), z.view(), &layout, &TopKConfig::new(k))?;
                Kept::Only(top.indices)
            }
            (None, true) => Kept::SameInstance(ids.clone()),
            (None, false) => Kept::All,
        })
    }

    /// InfoNCE of `a` against `b` (and back, when `b` learns), with the queue's rows as
    /// further negatives; then `b` joins the queue.
    fn info_nce(&mut self, g: &mut Graph<f32>, a: Var, b: Var) -> Result<Var> {
        let queued = self
            .memory
            .as_ref()
            .filter(|m| !m.is_empty())
            .map(|m| g.input(m.rows().to_owned().into_dyn()));
        // MoCo's negatives are the queue; the batch's other keys stand in while it is
        // empty. SimCLR always has the batch's other keys.
        let in_batch = self.keys_learn || queued.is_none();
        let config = InfoNceConfig::new(self.temperature).in_batch(in_batch);
        let loss = if self.keys_learn {
            let forward = info_nce_op(g, a, b, queued, &config)?;
            let backward = info_nce_op(g, b, a, queued, &config)?;
            let both = g.add(forward, backward)?;
            g.mul_scalar(both, 0.5)?
        } else {
            info_nce_op(g, a, b, queued, &config)?
        };
        if let Some(memory) = self.memory.as_mut() {
            memory.push(as_matrix(g.value(b), "queue keys")?.view(), None)?;
        }
        Ok(loss)
    }
}

/// `w_a align(a, b) + w_u (unif(a) + unif(b)) / 2` (Wang and Isola 2020, normalised rows);
/// a term of weight 0 is left out.
fn align_uniform(
    g: &mut Graph<f32>,
    [a, b]: [Var; 2],
    [align_weight, uniform_weight]: [f64; 2],
    alpha: f64,
    t: f64,
) -> Result<Var> {
    let mut terms = Vec::new();
    if align_weight > 0.0 {
        let config = AlignmentConfig {
            alpha,
            normalize: true,
        };
        let align = alignment_op(g, a, b, &config)?;
        terms.push(g.mul_scalar(align, align_weight as f32)?);
    }
    if uniform_weight > 0.0 {
        let config = UniformityConfig { t, normalize: true };
        let (ua, ub) = (uniformity_op(g, a, &config)?, uniformity_op(g, b, &config)?);
        let both = g.add(ua, ub)?;
        terms.push(g.mul_scalar(both, (uniform_weight / 2.0) as f32)?);
    }
    let mut total = terms[0];
    for &term in &terms[1..] {
        total = g.add(total, term)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contrast_losses::SoftmaxConfig;
    use contrast_losses::autodiff::positives_in_log_op;
    use ndarray::Array2;

    fn blocks(g: &mut Graph<f32>) -> [Var; 2] {
        let v = |seed: f32| {
            Array2::from_shape_fn((3, 4), |(i, j)| ((i * 4 + j) as f32 * 0.7 + seed).sin())
        };
        [g.param(v(0.0).into_dyn()), g.param(v(0.3).into_dyn())]
    }

    fn objective(loss: &str) -> PairObjective {
        let config = TrainConfig {
            loss: Some(LossChoice::named(loss).unwrap()),
            temperature: 0.5,
            ..TrainConfig::default()
        };
        PairObjective::new(&config, true, None).unwrap()
    }

    /// The multi-positive losses label rows by instance id: two copies of one sample in a
    /// batch are positives of each other, never negatives.
    #[test]
    fn copies_of_one_sample_are_positives_of_the_multi_positive_losses() {
        let mut g = Graph::<f32>::new();
        let [a, b] = blocks(&mut g);
        let meta = Meta {
            labels: vec![0; 3],
            ids: vec![41, 7, 41],
        };
        let ours = objective("positives_in_log")
            .loss(&mut g, &[a, b], &meta, None)
            .unwrap();
        let z = g.concat(&[a, b], 0).unwrap();
        let softmax = SoftmaxConfig::new(0.5);
        let copies = positives_in_log_op(&mut g, z, &[0, 1, 0, 0, 1, 0], &softmax).unwrap();
        let distinct = positives_in_log_op(&mut g, z, &[0, 1, 2, 0, 1, 2], &softmax).unwrap();
        let value = |v: Var| g.value(v).sum();
        assert_eq!(value(ours), value(copies));
        assert_ne!(value(ours), value(distinct));
    }

    /// `duplicates = "mask"` with NT-Xent: the rows of a copy of the anchor's sample leave
    /// its denominator (the loss is the masked one, not the plain one), and with distinct
    /// samples nothing changes.
    #[test]
    fn masked_copies_are_not_negatives_of_nt_xent() {
        let config = TrainConfig {
            temperature: 0.5,
            duplicates: Duplicates::Mask,
            sampling: crate::negatives::Sampling::Replacement,
            ..TrainConfig::default()
        };
        let mut objective = PairObjective::new(&config, true, None).unwrap();
        let mut g = Graph::<f32>::new();
        let [a, b] = blocks(&mut g);
        let copies = Meta {
            labels: vec![0; 3],
            ids: vec![41, 7, 41],
        };
        let distinct = Meta {
            labels: vec![0; 3],
            ids: vec![0, 1, 2],
        };
        let ours = objective.loss(&mut g, &[a, b], &copies, None).unwrap();
        let ours_distinct = objective.loss(&mut g, &[a, b], &distinct, None).unwrap();
        let z = g.concat(&[a, b], 0).unwrap();
        let nt = NtXentConfig::new(0.5);
        let ids = [41, 7, 41];
        let masked = nt_xent_masked_op(&mut g, z, &NegativeMask::SameInstance(&ids), &nt).unwrap();
        let plain = simclr::nt_xent(&mut g, z, 0.5, None).unwrap();
        let value = |v: Var| g.value(v).sum();
        assert_eq!(value(ours), value(masked));
        assert_ne!(value(ours), value(plain));
        assert_eq!(value(ours_distinct), value(plain));
    }

    /// `negatives = "hardest"`: each anchor keeps exactly the miner's k most similar
    /// negatives; with k = 2N - 2 (all of them) the loss is plain NT-Xent.
    #[test]
    fn the_hardest_negatives_are_the_miner_s() {
        let meta = Meta {
            labels: vec![0; 3],
            ids: vec![0, 1, 2],
        };
        let value_with = |k: usize| {
            let config = TrainConfig {
                temperature: 0.5,
                negatives: Some(Negatives::Hardest),
                hardest_k: Some(k),
                ..TrainConfig::default()
            };
            let mut g = Graph::<f32>::new();
            let [a, b] = blocks(&mut g);
            let mut objective = PairObjective::new(&config, true, None).unwrap();
            let loss = objective.loss(&mut g, &[a, b], &meta, None).unwrap();
            let z = g.concat(&[a, b], 0).unwrap();
            let zv = as_matrix(g.value(z), "z").unwrap();
            let top = hardest_negatives(
                zv.view(),
                zv.view(),
                &TwoViews::new(3).unwrap(),
                &TopKConfig::new(k),
            )
            .unwrap();
            let nt = NtXentConfig::new(0.5);
            let mask = NegativeMask::Only(top.indices.view());
            let reference = nt_xent_masked_op(&mut g, z, &mask, &nt).unwrap();
            let plain = simclr::nt_xent(&mut g, z, 0.5, None).unwrap();
            let v = |x: Var| g.value(x).sum();
            (v(loss), v(reference), v(plain))
        };
        let (ours, reference, plain) = value_with(1);
        assert_eq!(ours, reference);
        assert!(ours < plain, "fewer negatives, smaller denominator");
        let (all, _, plain) = value_with(4);
        assert!((all - plain).abs() < 1e-6, "{all} {plain}");
    }

    #[test]
    fn the_two_view_losses_refuse_more_views() {
        let mut g = Graph::<f32>::new();
        let [a, b] = blocks(&mut g);
        let meta = Meta {
            labels: vec![0; 3],
            ids: vec![0, 1, 2],
        };
        let e = objective("dcl")
            .loss(&mut g, &[a, b, a], &meta, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("positives_in_log"), "{e}");
    }
}
