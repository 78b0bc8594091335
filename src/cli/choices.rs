//! The flags of the loss, the negatives, the views and the sampling (shared by `contrast
//! train` and `contrast compare`). Loss parameters belong to one loss each: a flag for
//! another loss than the chosen one is an error that names the loss it belongs to.

use clap::Args;
use clap::builder::PossibleValuesParser;
use contrast::train::augmentation::ViewSpec;
use contrast::train::config::TrainConfig;
use contrast::train::loss_choice::LossChoice;
use contrast::train::negatives::{Duplicates, Negatives, Sampling};
use contrast::train::recipes::loss_of;

/// Loss, negatives, views and sampling flags; they override the `--config` file.
#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Loss, negatives, views")]
pub struct ChoiceArgs {
    /// Loss of simclr and moco (default: the recipe's own, nt_xent / info_nce).
    #[arg(long, value_parser = PossibleValuesParser::new(LossChoice::NAMES))]
    pub loss: Option<String>,
    /// dcl_w: scale of the softmax that weights the positive (0.5).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// debiased, hcl: class prior tau+ in [0, 1) (0.1).
    #[arg(long)]
    pub tau_plus: Option<f64>,
    /// hcl: concentration on hard negatives (1.0).
    #[arg(long)]
    pub beta: Option<f64>,
    /// align_uniform: weight of the alignment term (1).
    #[arg(long)]
    pub align_weight: Option<f64>,
    /// align_uniform: weight of the uniformity term (1).
    #[arg(long)]
    pub uniform_weight: Option<f64>,
    /// align_uniform: exponent of the alignment distance (2).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// align_uniform: scale t of the uniformity kernel exp(-t d^2) (2).
    #[arg(long)]
    pub t: Option<f64>,
    /// siglip: initial log-scale of the logits, learned with the model (ln 10).
    #[arg(long, allow_hyphen_values = true)]
    pub log_scale: Option<f64>,
    /// siglip: initial bias of the logits, learned with the model (-10).
    #[arg(long, allow_hyphen_values = true)]
    pub bias: Option<f64>,
    /// vicreg: weight of the invariance term (25); barlow_twins: weight of the
    /// off-diagonal term (0.005).
    #[arg(long)]
    pub lambda: Option<f64>,
    /// vicreg: weight of the variance term (25).
    #[arg(long)]
    pub mu: Option<f64>,
    /// vicreg: weight of the covariance term (1).
    #[arg(long)]
    pub nu: Option<f64>,
    /// Where negatives come from (default: the recipe's own; batch for simclr and supcon,
    /// queue for moco). `contrast compare` takes a comma-separated list.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub negatives: Vec<Negatives>,
    /// Rows of the queue or cross-batch memory (at least one batch).
    #[arg(long)]
    pub queue_size: Option<usize>,
    /// negatives hardest: negatives kept per anchor.
    #[arg(long)]
    pub hardest_k: Option<usize>,
    /// How batches are drawn.
    #[arg(long, value_enum)]
    pub sampling: Option<Sampling>,
    /// Two copies of one sample in a batch: keep, avoid (sampler) or mask (loss).
    #[arg(long, value_enum)]
    pub duplicates: Option<Duplicates>,
    /// Views per sample: 2, or 2+k for k small crops (multi-crop; simclr, supcon).
    #[arg(long, value_parser = parse_views)]
    pub views: Option<ViewSpec>,
    /// Side of the small crops (default: 3/7 of the image side for resnet18, the full
    /// side for the cnn and the mlp).
    #[arg(long)]
    pub small_crop_size: Option<usize>,
}

fn parse_views(text: &str) -> Result<ViewSpec, String> {
    text.parse()
        .map_err(|e: contrast::train::Error| e.to_string())
}

impl ChoiceArgs {
    /// The loss-parameter flags that were given, as `(key, value)`.
    fn loss_params(&self) -> Vec<(String, f64)> {
        [
            ("sigma", self.sigma),
            ("tau_plus", self.tau_plus),
            ("beta", self.beta),
            ("align_weight", self.align_weight),
            ("uniform_weight", self.uniform_weight),
            ("alpha", self.alpha),
            ("t", self.t),
            ("log_scale", self.log_scale),
            ("bias", self.bias),
            ("lambda", self.lambda),
            ("mu", self.mu),
            ("nu", self.nu),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }

    /// Applies the flags to `c`. The loss parameters go to the loss named by `--loss`, else
    /// to the loss of the file, else to the recipe's own; a file's parameters are kept when
    /// `--loss` names the same loss.
    ///
    /// # Errors
    /// A parameter of another loss, a bad value, or (unless `many_negatives`, as `contrast
    /// compare` allows) more than one `--negatives`.
    pub fn apply(&self, c: &mut TrainConfig, many_negatives: bool) -> anyhow::Result<()> {
        anyhow::ensure!(
            many_negatives || self.negatives.len() <= 1,
            "--negatives takes one value here (a list is for contrast compare)"
        );
        self.apply_except_loss(c);
        self.apply_loss(c)
    }

    /// Every flag but the loss's (the first `--negatives`, when given).
    pub fn apply_except_loss(&self, c: &mut TrainConfig) {
        if let Some(&negatives) = self.negatives.first() {
            c.negatives = Some(negatives);
        }
        c.queue_size = self.queue_size.unwrap_or(c.queue_size);
        c.hardest_k = self.hardest_k.or(c.hardest_k);
        c.sampling = self.sampling.unwrap_or(c.sampling);
        c.duplicates = self.duplicates.unwrap_or(c.duplicates);
        c.views = self.views.unwrap_or(c.views);
        c.small_crop_size = self.small_crop_size.or(c.small_crop_size);
    }

    /// The losses `names` (as `contrast compare --losses` lists them), each with the
    /// parameter flags it takes.
    ///
    /// # Errors
    /// An unknown name, `--loss` beside the list, or a parameter flag no listed loss takes.
    pub fn losses(&self, names: &[String]) -> anyhow::Result<Vec<LossChoice>> {
        anyhow::ensure!(
            self.loss.is_none(),
            "--loss names one loss, --losses a list: give one of them"
        );
        let flags = self.loss_params();
        let mut used = vec![false; flags.len()];
        let mut losses = Vec::new();
        for name in names {
            let takes: Vec<String> = LossChoice::named(name)?
                .params()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            let mut params = Vec::new();
            for (i, (key, value)) in flags.iter().enumerate() {
                if takes.contains(key) {
                    used[i] = true;
                    params.push((key.clone(), *value));
                }
            }
            losses.push(LossChoice::with_params(name, &params)?);
        }
        if let Some(i) = used.iter().position(|u| !u) {
            anyhow::bail!(
                "--{} belongs to none of the listed losses ({})",
                flags[i].0.replace('_', "-"),
                names.join(", ")
            );
        }
        Ok(losses)
    }

    /// The loss flags applied to `c`'s loss (see [`ChoiceArgs::apply`]).
    fn apply_loss(&self, c: &mut TrainConfig) -> anyhow::Result<()> {
        let flags = self.loss_params();
        if self.loss.is_none() && flags.is_empty() {
            return Ok(());
        }
        let (name, mut params) = match (&self.loss, &c.loss) {
            (Some(name), Some(file)) if file.name() == name => (name.clone(), file.params()),
            (Some(name), _) => (name.clone(), Vec::new()),
            (None, Some(file)) => (file.name().to_string(), file.params()),
            (None, None) => {
                let own = loss_of(c).ok_or_else(|| {
                    anyhow::anyhow!("method {:?} has its own loss and no loss flags", c.method)
                })?;
                (own.name().to_string(), Vec::new())
            }
        };
        for (key, value) in flags {
            params.retain(|(k, _)| *k != key);
            params.push((key, value));
        }
        let loss = LossChoice::with_params(&name, &params).map_err(|e| {
            let hint = if self.loss.is_none() {
                " (choose the loss with --loss)"
            } else {
                ""
            };
            anyhow::anyhow!("{e}{hint}")
        })?;
        c.loss = Some(loss);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter of every loss has its flag.
    #[test]
    fn every_loss_parameter_has_a_flag() {
        let args = ChoiceArgs {
            sigma: Some(0.0),
            tau_plus: Some(0.0),
            beta: Some(0.0),
            align_weight: Some(0.0),
            uniform_weight: Some(0.0),
            alpha: Some(0.0),
            t: Some(0.0),
            log_scale: Some(0.0),
            bias: Some(0.0),
            lambda: Some(0.0),
            mu: Some(0.0),
            nu: Some(0.0),
            ..ChoiceArgs::default()
        };
        let flags: Vec<String> = args.loss_params().into_iter().map(|(k, _)| k).collect();
        for name in LossChoice::NAMES {
            for (key, _) in LossChoice::named(name).unwrap().params() {
                assert!(flags.contains(&key), "{name}: no flag for {key}");
            }
        }
    }

    #[test]
    fn flags_join_the_file_s_loss_or_name_their_own() {
        let mut c = TrainConfig {
            loss: Some(LossChoice::Hcl {
                beta: 2.0,
                tau_plus: 0.1,
            }),
            ..TrainConfig::default()
        };
        let tau = ChoiceArgs {
            tau_plus: Some(0.2),
            ..ChoiceArgs::default()
        };
        tau.apply(&mut c, false).unwrap();
        assert_eq!(
            c.loss,
            Some(LossChoice::Hcl {
                beta: 2.0,
                tau_plus: 0.2
            })
        );
        let sigma = ChoiceArgs {
            sigma: Some(0.3),
            ..ChoiceArgs::default()
        };
        let e = sigma.apply(&mut c, false).unwrap_err().to_string();
        assert!(
            e.contains("`hcl` has no parameter `sigma`") && e.contains("dcl_w"),
            "{e}"
        );
        let mut plain = TrainConfig::default();
        let e = sigma.apply(&mut plain, false).unwrap_err().to_string();
        assert!(e.contains("`nt_xent`") && e.contains("--loss"), "{e}");
        let dcl_w = ChoiceArgs {
            loss: Some("dcl_w".into()),
            sigma: Some(0.3),
            ..ChoiceArgs::default()
        };
        dcl_w.apply(&mut c, false).unwrap();
        assert_eq!(c.loss, Some(LossChoice::DclW { sigma: 0.3 }));
    }
}
