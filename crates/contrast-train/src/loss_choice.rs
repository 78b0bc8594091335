//! Which loss a two-view recipe minimises, with that loss's own parameters.
//!
//! In a config file the loss is a `[loss]` table: `name` and the parameters of that loss,
//! nothing else (a parameter of another loss is an error naming the loss it belongs to):
//!
//! ```toml
//! [loss]
//! name = "hcl"
//! beta = 1.0
//! tau_plus = 0.1
//! ```
//!
//! The softmax losses take the run's `temperature`. With blocks `a` (view 1) and `b`
//! (view 2) of `N` rows, `s_ij = cos(z_i, z_j) / T` over the stacked `(2N, D)` rows:
//!
//! | name | loss | parameters (default) |
//! |---|---|---|
//! | `nt_xent` | `lse_{k != i} s_ik - s_i,p(i)`, mean over 2N anchors (SimCLR) | |
//! | `info_nce` | queries `a` against keys `b`, cross-entropy to the own key; negatives: the other keys and/or a queue (MoCo; in SimCLR both views are queries in turn, the mean of both directions) | |
//! | `dcl` | NT-Xent with the positive left out of the denominator (Yeh et al. 2022) | |
//! | `dcl_w` | DCL with the positive weighted by `2 - N softmax(cos / sigma)` (weight detached, as lightly) | `sigma` (0.5) |
//! | `debiased` | `-log(pos / (pos + Ng))`, `Ng` corrected for same-class "negatives" of prior `tau_plus` (Chuang et al. 2020) | `tau_plus` (0.1) |
//! | `hcl` | debiased with negatives reweighted by `exp(beta s)` towards the hard ones (Robinson et al. 2021) | `beta` (1.0), `tau_plus` (0.1) |
//! | `align_uniform` | `align_weight * E|f(a)-f(b)|^alpha + uniform_weight * (U(a) + U(b)) / 2`, `U(x) = log E exp(-t |f(x_i)-f(x_j)|^2)` (Wang and Isola 2020) | `align_weight` (1), `uniform_weight` (1), `alpha` (2), `t` (2) |
//! | `nt_xent_pairs` | every view of a sample is a positive of the others; one softmax per positive pair (pytorch-metric-learning `NTXentLoss`) | |
//! | `positives_in_log` | every view of a sample is a positive; all positives inside one log (solo-learn multi-crop) | |
//! | `supcon` | every view of a sample is a positive; SupCon `L_out` over view-instance labels | |
//! | `siglip` | `(1/N) sum_ij softplus(-z_ij (e^t cos(a_i, b_j) + b))`, `z_ij = +1` on the diagonal, `-1` off it (Zhai et al. 2023); `t` and `b` are learned with the model (`loss.log_scale`, `loss.bias`) | `log_scale` (ln 10), `bias` (-10): the initial values |
//! | `vicreg` | `lambda MSE(a, b) + mu (var(a) + var(b)) / 2 + nu (cov(a) + cov(b))` (Bardes et al. 2022; no negatives) | `lambda` (25), `mu` (25), `nu` (1) |
//! | `barlow_twins` | `sum_j (1 - c_jj)^2 + lambda sum_{j != k} c_jk^2`, `c` the cross-correlation of the batch-normalised views (Zbontar et al. 2021; no negatives) | `lambda` (0.005) |
//!
//! `nt_xent_pairs`, `positives_in_log` and `supcon` take any number of views (multi-crop)
//! and reduce to NT-Xent for two. `siglip`, `vicreg` and `barlow_twins` ignore
//! `temperature` (SigLIP learns its own).
//! Which recipe takes which loss, and with which negatives, is the recipe table of
//! [`crate::recipes`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A loss and its parameters (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossChoice {
    /// NT-Xent over the `2N` rows.
    NtXent {},
    /// InfoNCE of queries against keys and a bank of negatives.
    InfoNce {},
    /// Decoupled contrastive loss.
    Dcl {},
    /// Decoupled contrastive loss with the von Mises-Fisher positive weight.
    DclW {
        /// Scale of the weighting softmax.
        #[serde(default = "half")]
        sigma: f64,
    },
    /// Debiased contrastive loss.
    Debiased {
        /// Class prior `tau+` in `[0, 1)`.
        #[serde(default = "tenth")]
        tau_plus: f64,
    },
    /// Hard-negative (HCL) weighted debiased loss.
    Hcl {
        /// Concentration on hard negatives, `>= 0` (0: the debiased loss).
        #[serde(default = "one")]
        beta: f64,
        /// Class prior `tau+` in `[0, 1)`.
        #[serde(default = "tenth")]
        tau_plus: f64,
    },
    /// Alignment plus uniformity.
    AlignUniform {
        /// Weight of the alignment term.
        #[serde(default = "one")]
        align_weight: f64,
        /// Weight of the uniformity term.
        #[serde(default = "one")]
        uniform_weight: f64,
        /// Exponent of the alignment distance.
        #[serde(default = "two")]
        alpha: f64,
        /// Scale `t` of the uniformity kernel `exp(-t d^2)`.
        #[serde(default = "two")]
        t: f64,
    },
    /// One softmax per positive pair, over view-instance labels.
    NtXentPairs {},
    /// All positives inside one log, over view-instance labels.
    PositivesInLog {},
    /// SupCon `L_out` over view-instance labels.
    Supcon {},
    /// SigLIP's sigmoid pairwise loss, with learned log-scale and bias.
    Siglip {
        /// Initial log-scale `t` (the logits are scaled by `exp(t)`).
        #[serde(default = "siglip_log_scale")]
        log_scale: f64,
        /// Initial bias `b` of the logits.
        #[serde(default = "siglip_bias")]
        bias: f64,
    },
    /// VICReg: invariance, variance and covariance terms (no negatives).
    Vicreg {
        /// Weight of the invariance (MSE) term.
        #[serde(default = "twenty_five")]
        lambda: f64,
        /// Weight of the variance term.
        #[serde(default = "twenty_five")]
        mu: f64,
        /// Weight of the covariance term.
        #[serde(default = "one")]
        nu: f64,
    },
    /// Barlow Twins: cross-correlation towards the identity (no negatives).
    BarlowTwins {
        /// Weight of the off-diagonal (redundancy) term.
        #[serde(default = "barlow_lambda")]
        lambda: f64,
    },
}

fn half() -> f64 {
    0.5
}
fn tenth() -> f64 {
    0.1
}
fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn twenty_five() -> f64 {
    25.0
}
fn siglip_log_scale() -> f64 {
    contrast_losses::SIGLIP_INIT_LOG_SCALE
}
fn siglip_bias() -> f64 {
    contrast_losses::SIGLIP_INIT_BIAS
}
fn barlow_lambda() -> f64 {
    contrast_losses::BarlowTwinsConfig::default().lambda
}

impl LossChoice {
    /// The name of every loss, as `--loss` and the `[loss]` table's `name` take it.
    pub const NAMES: &'static [&'static str] = &[
        "nt_xent",
        "info_nce",
        "dcl",
        "dcl_w",
        "debiased",
        "hcl",
        "align_uniform",
        "nt_xent_pairs",
        "positives_in_log",
        "supcon",
        "siglip",
        "vicreg",
        "barlow_twins",
    ];

    /// The loss's name.
    pub fn name(&self) -> &'static str {
        match self {
            LossChoice::NtXent {} => "nt_xent",
            LossChoice::InfoNce {} => "info_nce",
            LossChoice::Dcl {} => "dcl",
            LossChoice::DclW { .. } => "dcl_w",
            LossChoice::Debiased { .. } => "debiased",
            LossChoice::Hcl { .. } => "hcl",
            LossChoice::AlignUniform { .. } => "align_uniform",
            LossChoice::NtXentPairs {} => "nt_xent_pairs",
            LossChoice::PositivesInLog {} => "positives_in_log",
            LossChoice::Supcon {} => "supcon",
            LossChoice::Siglip { .. } => "siglip",
            LossChoice::Vicreg { .. } => "vicreg",
            LossChoice::BarlowTwins { .. } => "barlow_twins",
        }
    }

    /// Whether the loss pairs every view of a sample with every other (any number of views).
    pub fn multi_positive(&self) -> bool {
        matches!(
            self,
            LossChoice::NtXentPairs {} | LossChoice::PositivesInLog {} | LossChoice::Supcon {}
        )
    }

    /// The loss `name` with its default parameters.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name, listing the known ones.
    pub fn named(name: &str) -> Result<Self> {
        Self::with_params(name, &[])
    }

    /// The loss `name` with `params` set and the others at their defaults.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name, a parameter the loss does not take (saying
    /// which losses take it), or a bad value.
    pub fn with_params(name: &str, params: &[(String, f64)]) -> Result<Self> {
        let mut table = toml::Table::new();
        table.insert("name".into(), toml::Value::String(name.into()));
        for (key, value) in params {
            table.insert(key.clone(), toml::Value::Float(*value));
        }
        Self::from_table(table)
    }

    /// A `[loss]` table: `name` and that loss's parameters.
    ///
    /// # Errors
    /// As [`LossChoice::with_params`]; also a missing `name` or a value that is not a number.
    pub fn from_table(mut table: toml::Table) -> Result<Self> {
        let name = match table.get("name") {
            Some(toml::Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(Error::Config(format!(
                    "loss.name must be a string such as \"nt_xent\", got {other}"
                )));
            }
            None => {
                return Err(Error::Config(format!(
                    "the [loss] table needs a `name` (one of {})",
                    Self::NAMES.join(", ")
                )));
            }
        };
        if !Self::NAMES.contains(&name.as_str()) {
            return Err(Error::Config(format!(
                "unknown loss `{name}`; the losses are {}",
                Self::NAMES.join(", ")
            )));
        }
        let takes = parameter_names(&name);
        for (key, value) in &mut table {
            if key == "name" {
                continue;
            }
            if !takes.contains(key) {
                let owners: Vec<&str> = Self::NAMES
                    .iter()
                    .copied()
                    .filter(|other| parameter_names(other).contains(key))
                    .collect();
                let belongs = if owners.is_empty() {
                    "no loss takes it".to_string()
                } else {
                    format!("it belongs to {}", owners.join(", "))
                };
                let own = if takes.is_empty() {
                    "none".to_string()
                } else {
                    takes.join(", ")
                };
                return Err(Error::Config(format!(
                    "loss `{name}` has no parameter `{key}` ({belongs}); the parameters of \
                     `{name}`: {own}"
                )));
            }
            // Integers are numbers too (`beta = 1`).
            if let toml::Value::Integer(i) = value {
                *value = toml::Value::Float(*i as f64);
            }
            if !matches!(value, toml::Value::Float(_)) {
                return Err(Error::Config(format!(
                    "loss `{name}`: `{key}` must be a number, got {value}"
                )));
            }
        }
        let choice: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(format!("[loss]: {e}")))?;
        choice.validate()?;
        Ok(choice)
    }

    /// The parameters with their values, sorted by name.
    pub fn params(&self) -> Vec<(String, f64)> {
        let toml::Value::Table(table) = toml::Value::try_from(self).expect("losses serialise")
        else {
            unreachable!("a loss serialises to a table")
        };
        table
            .into_iter()
            .filter(|(k, _)| k != "name")
            .map(|(k, v)| (k, v.as_float().expect("loss parameters are numbers")))
            .collect()
    }

    /// The name with every parameter, e.g. `hcl(beta=1,tau_plus=0.1)`.
    pub fn describe(&self) -> String {
        with_params(self.name(), &self.params())
    }

    /// The name with the parameters that differ from the defaults, e.g. `dcl_w(sigma=0.2)`
    /// or `hcl`: short labels for run folders and tables.
    pub fn label(&self) -> String {
        let defaults = Self::named(self.name())
            .map(|d| d.params())
            .unwrap_or_default();
        let changed: Vec<(String, f64)> = self
            .params()
            .into_iter()
            .filter(|p| !defaults.contains(p))
            .collect();
        with_params(self.name(), &changed)
    }

    /// Checks the parameter values, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let name = self.name();
        let check = |key: &str, value: f64, ok: bool, want: &str| {
            if ok && value.is_finite() {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "loss `{name}`: {key} must be {want}, got {value}"
                )))
            }
        };
        match *self {
            LossChoice::DclW { sigma } => check("sigma", sigma, sigma > 0.0, "> 0"),
            LossChoice::Debiased { tau_plus } => check(
                "tau_plus",
                tau_plus,
                (0.0..1.0).contains(&tau_plus),
                "in [0, 1)",
            ),
            LossChoice::Hcl { beta, tau_plus } => {
                check("beta", beta, beta >= 0.0, ">= 0")?;
                check(
                    "tau_plus",
                    tau_plus,
                    (0.0..1.0).contains(&tau_plus),
                    "in [0, 1)",
                )
            }
            LossChoice::AlignUniform {
                align_weight,
                uniform_weight,
                alpha,
                t,
            } => {
                check("align_weight", align_weight, align_weight >= 0.0, ">= 0")?;
                check(
                    "uniform_weight",
                    uniform_weight,
                    uniform_weight >= 0.0,
                    ">= 0",
                )?;
                if align_weight + uniform_weight <= 0.0 {
                    return Err(Error::Config(format!(
                        "loss `{name}`: align_weight and uniform_weight are both 0: nothing to \
                         minimise"
                    )));
                }
                check("alpha", alpha, alpha > 0.0, "> 0")?;
                check("t", t, t > 0.0, "> 0")
            }
            LossChoice::Siglip { log_scale, bias } => {
                // exp(t) must stay a finite, normal f32.
                check(
                    "log_scale",
                    log_scale,
                    (-80.0..=80.0).contains(&log_scale),
                    "in [-80, 80]",
                )?;
                check("bias", bias, true, "finite")
            }
            LossChoice::Vicreg { lambda, mu, nu } => {
                check("lambda", lambda, lambda >= 0.0, ">= 0")?;
                check("mu", mu, mu >= 0.0, ">= 0")?;
                check("nu", nu, nu >= 0.0, ">= 0")?;
                if lambda + mu + nu <= 0.0 {
                    return Err(Error::Config(format!(
                        "loss `{name}`: lambda, mu and nu are all 0: nothing to minimise"
                    )));
                }
                Ok(())
            }
            LossChoice::BarlowTwins { lambda } => check("lambda", lambda, lambda >= 0.0, ">= 0"),
            _ => Ok(()),
        }
    }
}

/// `name(k=v,...)`, or `name` alone without parameters.
fn with_params(name: &str, params: &[(String, f64)]) -> String {
    if params.is_empty() {
        return name.to_string();
    }
    let inner: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{name}({})", inner.join(","))
}

/// The parameter names of the loss `name` (known to be one of [`LossChoice::NAMES`]).
fn parameter_names(name: &str) -> Vec<String> {
    let mut table = toml::Table::new();
    table.insert("name".into(), toml::Value::String(name.into()));
    let choice: LossChoice = toml::Value::Table(table)
        .try_into()
        .expect("every listed loss has defaults for all its parameters");
    choice.params().into_iter().map(|(k, _)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_with_defaults_and_round_trips() {
        for &name in LossChoice::NAMES {
            let loss = LossChoice::named(name).unwrap();
            assert_eq!(loss.name(), name);
            let text = toml::to_string(&loss).unwrap();
            let back: LossChoice = toml::from_str(&text).unwrap();
            assert_eq!(back, loss, "{text}");
        }
        assert_eq!(
            LossChoice::named("hcl").unwrap(),
            LossChoice::Hcl {
                beta: 1.0,
                tau_plus: 0.1
            }
        );
    }

    #[test]
    fn parameters_are_set_by_name_and_labelled() {
        let loss = LossChoice::with_params("dcl_w", &[("sigma".into(), 0.25)]).unwrap();
        assert_eq!(loss, LossChoice::DclW { sigma: 0.25 });
        assert_eq!(loss.label(), "dcl_w(sigma=0.25)");
        assert_eq!(LossChoice::named("dcl").unwrap().label(), "dcl");
        let hcl = LossChoice::with_params("hcl", &[("beta".into(), 2.0)]).unwrap();
        assert_eq!(hcl.label(), "hcl(beta=2)");
        assert_eq!(hcl.describe(), "hcl(beta=2,tau_plus=0.1)");
        let table: toml::Table = toml::from_str("name = \"hcl\"\nbeta = 2").unwrap();
        assert_eq!(
            LossChoice::from_table(table).unwrap(),
            LossChoice::Hcl {
                beta: 2.0,
                tau_plus: 0.1
            }
        );
    }

    #[test]
    fn a_parameter_of_another_loss_names_its_owner() {
        let e = LossChoice::with_params("dcl", &[("beta".into(), 1.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`dcl` has no parameter `beta`"), "{e}");
        assert!(e.contains("belongs to hcl"), "{e}");
        let e = LossChoice::with_params("debiased", &[("sigma".into(), 1.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("dcl_w") && e.contains("tau_plus"), "{e}");
        let e = LossChoice::with_params("nt_xent", &[("gamma".into(), 1.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no loss takes it"), "{e}");
    }

    #[test]
    fn unknown_names_and_bad_values_are_errors() {
        let e = LossChoice::named("ntxent").unwrap_err().to_string();
        assert!(
            e.contains("unknown loss `ntxent`") && e.contains("nt_xent"),
            "{e}"
        );
        for (name, key, value) in [
            ("dcl_w", "sigma", 0.0),
            ("debiased", "tau_plus", 1.0),
            ("hcl", "beta", -1.0),
            ("align_uniform", "t", f64::NAN),
            ("siglip", "log_scale", 100.0),
            ("vicreg", "mu", -1.0),
            ("barlow_twins", "lambda", f64::INFINITY),
        ] {
            let e = LossChoice::with_params(name, &[(key.into(), value)])
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{name}: {e}");
        }
        let both_zero = [("align_weight".into(), 0.0), ("uniform_weight".into(), 0.0)];
        assert!(LossChoice::with_params("align_uniform", &both_zero).is_err());
        let table: toml::Table = toml::from_str("name = \"hcl\"\nbeta = \"big\"").unwrap();
        let e = LossChoice::from_table(table).unwrap_err().to_string();
        assert!(e.contains("beta") && e.contains("number"), "{e}");
    }

    /// serde alone (without the checks of `from_table`) also refuses a foreign key, so
    /// a `[loss]` table can never carry a silently ignored parameter.
    #[test]
    fn serde_itself_denies_unknown_fields_on_every_variant() {
        for &name in LossChoice::NAMES {
            let text = format!("name = \"{name}\"\nbogus = 1.0\n");
            assert!(toml::from_str::<LossChoice>(&text).is_err(), "{name}");
        }
    }
}
