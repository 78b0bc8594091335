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
//! - the multi-positive losses see every block stacked, with the sample's instance label
//!   (from [`crate::batch::Batch::ids`]) repeated in each block, so every view of a sample
//!   (and every copy of it) is a positive of the others.
//!
//! **Negatives.** `batch`: the rows of this batch. `queue`: `info_nce` only; the queue
//! holds the keys `b` of past batches, detached. MoCo reads the queue alone (the batch's
//! other keys only while the queue is empty, the first step); SimCLR reads the batch's
//! other keys and the queue. A batch's keys enter the queue after its loss.

use contrast_autodiff::{Graph, Var};
use contrast_gpu::GpuContext;
use contrast_losses::autodiff::{
    alignment_op, dcl_op, debiased_op, hard_negative_op, info_nce_op, nt_xent_pairs_op,
    positives_in_log_op, supcon_op, uniformity_op,
};
use contrast_losses::{
    AlignmentConfig, DclConfig, DclWeight, DebiasedConfig, HardNegativeConfig, InfoNceConfig,
    SoftmaxConfig, SupConConfig, UniformityConfig,
};

use super::simclr;
use crate::batch::Meta;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::loss_choice::LossChoice;
use crate::negatives::{Memory, Negatives, as_matrix, instance_labels, per_view};

/// A two-view recipe's loss and the negatives it keeps between steps.
pub struct PairObjective {
    loss: LossChoice,
    /// Whether `b` carries gradient (SimCLR) or is a constant (MoCo's keys).
    keys_learn: bool,
    memory: Option<Memory>,
    temperature: f64,
}

impl PairObjective {
    /// The loss and negatives `config` resolves to for a recipe whose key block does
    /// (`keys_learn`) or does not carry gradient; a queue starts empty.
    pub fn new(config: &TrainConfig, keys_learn: bool) -> Result<Self> {
        let loss = super::loss_of(config)
            .ok_or_else(|| Error::Config(format!("{:?} has no choice of loss", config.method)))?;
        let memory = match super::negatives_of(config) {
            Some(Negatives::Queue) => {
                Some(Memory::queue(config.queue_size, config.projection_dim)?)
            }
            _ => None,
        };
        Ok(Self {
            loss,
            keys_learn,
            memory,
            temperature: f64::from(config.temperature),
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
                simclr::nt_xent(g, z, t, gpu)?
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
                dcl_op(g, z, &config)?
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
                let config = HardNegativeConfig {
                    temperature: t,
                    tau_plus,
                    beta,
                    normalize: true,
                };
                let z = stacked(g)?;
                hard_negative_op(g, z, &config)?
            }
            LossChoice::AlignUniform {
                align_weight,
                uniform_weight,
                alpha,
                t: scale,
            } => align_uniform(g, [a, b], [align_weight, uniform_weight], alpha, scale)?,
            LossChoice::InfoNce {} => self.info_nce(g, a, b)?,
            LossChoice::NtXentPairs {} | LossChoice::PositivesInLog {} | LossChoice::Supcon {} => {
                unreachable!("handled above")
            }
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
        PairObjective::new(&config, true).unwrap()
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
