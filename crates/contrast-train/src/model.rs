//! The trained network: an encoder whose features we evaluate, and a projection head whose
//! output the loss sees (SimCLR's finding: the loss is better applied after a head, the
//! representation better taken before it). BYOL's online network adds a predictor after the
//! head; its target network is the same encoder + head without one.
//!
//! The temporal recipe has no head (its loss compares encoder features, as CURL's and ATC's
//! small encoders do) and its predictor reads the features and the actions:
//! `concat(z_t, actions) -> Linear(f + c, 256) -> ReLU -> Linear(256, f)`.

use contrast_autodiff::{Graph, Var};
use contrast_nn::Module;
use contrast_nn::encoders::{
    Mlp, MlpConfig, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig, StridedCnn, StridedCnnConfig,
};
use contrast_nn::heads::ProjectionHead;
use contrast_nn::layers::Activation;
use rand::Rng;

use crate::batch::Input;
use crate::config::{EncoderKind, Method, TrainConfig};
use crate::error::{Error, Result};
use crate::tasks::InputSpec;

/// Width of the encoder features for the MLP and CNN encoders.
const FEATURES: usize = 128;
/// ResNet-18 width multiplier: a quarter-width network keeps CPU training practical.
const RESNET_WIDTH: f64 = 0.25;
/// Hidden width of the temporal predictor.
const TEMPORAL_PREDICTOR_HIDDEN: usize = 256;

/// Encoder + projection head (+ a predictor: BYOL's, or the temporal recipe's); parameter
/// names `encoder.*`, `head.*` and `predictor.*`.
pub struct ContrastModel {
    encoder: Box<dyn Module<f32>>,
    head: Option<ProjectionHead<f32>>,
    predictor: Option<Box<dyn Module<f32>>>,
    feature_dim: usize,
}

impl ContrastModel {
    /// Builds the encoder named in `config` for `input`, and a SimCLR head
    /// `Linear(f, f) - BN - ReLU - Linear(f, projection_dim)`, drawing weights from `rng`.
    /// For BYOL, also the predictor `Linear(p, f) - BN - ReLU - Linear(f, p)` (`p` the
    /// projection width: the paper's predictor has the projector's shape). The temporal
    /// recipe has no head, and (unless `predictor = false`) the predictor
    /// `Linear(f + c, 256) - ReLU - Linear(256, f)` on the features and the `c` context values.
    pub fn new(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        input: &InputSpec,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let mut model = Self::without_predictor(g, config, input, rng)?;
        let f = model.feature_dim;
        match config.method {
            Method::Byol => {
                let p = config.projection_dim;
                model.predictor = Some(Box::new(ProjectionHead::simclr(g, p, f, p, rng)?));
            }
            Method::Temporal if config.temporal().predictor => {
                let mlp = MlpConfig {
                    dims: vec![f + input.context(), TEMPORAL_PREDICTOR_HIDDEN, f],
                    activation: Activation::Relu,
                    batch_norm: false,
                    activate_last: false,
                };
                model.predictor = Some(Box::new(Mlp::new(g, &mlp, rng)?));
            }
            _ => {}
        }
        Ok(model)
    }

    /// Encoder + head only, whatever the method: the momentum (MoCo key, BYOL and temporal
    /// target) copy.
    pub fn without_predictor(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        input: &InputSpec,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let (channels, height, width) = input.shape().dims();
        let (encoder, feature_dim): (Box<dyn Module<f32>>, usize) = match config.encoder {
            EncoderKind::Mlp => {
                let mlp = Mlp::new(
                    g,
                    &MlpConfig::relu(&[channels * height * width, 512, FEATURES]),
                    rng,
                )?;
                let out = mlp.out_features();
                (Box::new(mlp), out)
            }
            EncoderKind::Cnn if height != width => {
                return Err(Error::NotApplicable {
                    setting: "encoder = cnn".into(),
                    reason: format!(
                        "the small CNN takes square images and these are {height} x {width}; \
                         use --encoder strided (or mlp)"
                    ),
                });
            }
            EncoderKind::Cnn => {
                let cnn_config = SmallCnnConfig {
                    in_channels: channels,
                    image_side: height.min(width),
                    channels: vec![32, 64],
                    out_dim: Some(FEATURES),
                    batch_norm: true,
                };
                let cnn = SmallCnn::new(g, &cnn_config, rng)?;
                let out = cnn.out_features();
                (Box::new(cnn), out)
            }
            EncoderKind::Resnet18 => {
                let resnet_config = ResNetConfig {
                    in_channels: channels,
                    ..ResNetConfig::resnet18(RESNET_WIDTH)
                };
                let resnet = ResNet::new(g, &resnet_config, rng)?;
                let out = resnet.out_features();
                (Box::new(resnet), out)
            }
            EncoderKind::Strided => {
                let cnn = StridedCnn::new(
                    g,
                    &StridedCnnConfig::frame_stack(channels, height, width),
                    rng,
                )?;
                let out = cnn.out_features();
                (Box::new(cnn), out)
            }
        };
        let head = match config.method {
            Method::Temporal => None,
            _ => Some(ProjectionHead::simclr(
                g,
                feature_dim,
                feature_dim,
                config.projection_dim,
                rng,
            )?),
        };
        Ok(Self {
            encoder,
            head,
            predictor: None,
            feature_dim,
        })
    }

    /// The predictor applied to `z` (BYOL: projections; temporal: features and actions).
    ///
    /// # Errors
    /// The model has no predictor (built for another method, or with `predictor = false`).
    pub fn predict(&mut self, g: &mut Graph<f32>, z: Var) -> Result<Var> {
        let predictor = self.predictor.as_mut().ok_or_else(|| {
            Error::Config("this model has no predictor (BYOL and temporal only)".into())
        })?;
        Ok(predictor.forward(g, z)?)
    }

    /// Whether the model has a predictor.
    pub fn has_predictor(&self) -> bool {
        self.predictor.is_some()
    }

    /// The parameters of encoder and head, without the predictor's: the ones a momentum copy
    /// follows.
    pub fn backbone_params(&self) -> Vec<contrast_nn::NamedParam> {
        let mut params = self.named_params();
        params.retain(|p| !p.name.starts_with("predictor."));
        params
    }

    /// Width of the encoder features (what kNN and the linear probe see).
    pub fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    /// The encoder alone: `N` samples -> `(N, feature_dim)` (what evaluation sees).
    pub fn features(&mut self, g: &mut Graph<f32>, x: &Input) -> Result<Var> {
        match x {
            Input::Images(images) => {
                let x = g.input(images.clone().into_dyn());
                Ok(self.encoder.forward(g, x)?)
            }
        }
    }

    /// Encoder then head: `N` samples -> `(N, projection_dim)` (what the losses see); the
    /// features themselves for a model without a head.
    pub fn project(&mut self, g: &mut Graph<f32>, x: &Input) -> Result<Var> {
        let h = self.features(g, x)?;
        match &mut self.head {
            Some(head) => Ok(head.forward(g, h)?),
            None => Ok(h),
        }
    }
}

impl Module<f32> for ContrastModel {
    fn forward(&mut self, g: &mut Graph<f32>, x: Var) -> contrast_nn::Result<Var> {
        let h = self.encoder.forward(g, x)?;
        match &mut self.head {
            Some(head) => head.forward(g, h),
            None => Ok(h),
        }
    }

    fn children(&self) -> Vec<(String, &dyn Module<f32>)> {
        let mut children: Vec<(String, &dyn Module<f32>)> =
            vec![("encoder".into(), self.encoder.as_ref())];
        if let Some(head) = &self.head {
            children.push(("head".into(), head));
        }
        if let Some(p) = &self.predictor {
            children.push(("predictor".into(), p.as_ref()));
        }
        children
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<f32>)> {
        let mut children: Vec<(String, &mut dyn Module<f32>)> =
            vec![("encoder".into(), self.encoder.as_mut())];
        if let Some(head) = &mut self.head {
            children.push(("head".into(), head));
        }
        if let Some(p) = &mut self.predictor {
            children.push(("predictor".into(), p.as_mut()));
        }
        children
    }
}
