//! The trained network: an encoder whose features we evaluate, and a projection head whose
//! output the loss sees (SimCLR's finding: the loss is better applied after a head, the
//! representation better taken before it). BYOL's online network adds a predictor after the
//! head; its target network is the same encoder + head without one.
//!
//! Text (bags of hashed n-gram ids) goes through a [`BagEncoder`] (embedding bag -> MLP,
//! `config.text_dims`) whose table gets row-sparse gradients: the optimizer updates only the
//! rows a step used. The pairs recipe with a learnable temperature adds CLIP's log-scale
//! parameter `logit_scale` (`t`, `T = exp(-t)`).
//!
//! The temporal recipe's predictor reads the features and the actions,
//! `concat(z_t, actions) -> Linear(f + c, 256) -> ReLU -> Linear(256, f)`, and predicts the
//! future's head output; its head `Linear(f, 256) - ReLU - Linear(256, f)` (no batch norm)
//! thus sits on the keys' side only. With `projection_head = false` there is no head and
//! the loss compares features, as CURL's and ATC's small encoders do.

use contrast_autodiff::{BagMode, Bags, Graph, Var};
use contrast_nn::Module;
use contrast_nn::encoders::{
    BagEncoder, BagEncoderConfig, Mlp, MlpConfig, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig,
    StridedCnn, StridedCnnConfig,
};
use contrast_nn::heads::ProjectionHead;
use contrast_nn::layers::Activation;
use contrast_nn::optim::ParamKind;
use rand::Rng;

use crate::batch::Input;
use crate::config::{EncoderKind, Method, TrainConfig};
use crate::error::{Error, Result};
use crate::loss_params::LossParams;
use crate::recipes::loss_of;
use crate::tasks::InputSpec;

/// Width of the encoder features for the MLP, CNN and strided (frame-stack) encoders.
const FEATURES: usize = 128;
/// ResNet-18 width multiplier: a quarter-width network keeps CPU training practical.
const RESNET_WIDTH: f64 = 0.25;
/// Hidden width of the temporal predictor.
const TEMPORAL_PREDICTOR_HIDDEN: usize = 256;

/// Encoder + projection head (+ a predictor: BYOL's, or the temporal recipe's; + a loss's
/// learned scalars); parameter names `encoder.*`, `head.*`, `predictor.*` and `loss.*` (and `logit_scale` for a
/// learnable temperature).
pub struct ContrastModel {
    encoder: Encoder,
    head: Option<ProjectionHead<f32>>,
    predictor: Option<Box<dyn Module<f32>>>,
    loss: Option<LossParams>,
    logit_scale: Option<Var>,
    feature_dim: usize,
}

/// An encoder of tensors (images, frame stacks) or of bags of ids (text).
enum Encoder {
    Tensor(Box<dyn Module<f32>>),
    Bags(BagEncoder<f32>),
}

impl Encoder {
    fn module(&self) -> &dyn Module<f32> {
        match self {
            Encoder::Tensor(m) => m.as_ref(),
            Encoder::Bags(m) => m,
        }
    }

    fn module_mut(&mut self) -> &mut dyn Module<f32> {
        match self {
            Encoder::Tensor(m) => m.as_mut(),
            Encoder::Bags(m) => m,
        }
    }
}

impl ContrastModel {
    /// Builds the encoder named in `config` for `input`, and a SimCLR head
    /// `Linear(f, f) - BN - ReLU - Linear(f, projection_dim)`, drawing weights from `rng`.
    /// For BYOL, also the predictor `Linear(p, f) - BN - ReLU - Linear(f, p)` (`p` the
    /// projection width: the paper's predictor has the projector's shape). The temporal
    /// recipe's head is `Linear(f, 256) - ReLU - Linear(256, f)` (none with
    /// `projection_head = false`), and (unless `predictor = false`) its predictor
    /// `Linear(f + c, 256) - ReLU - Linear(256, f)` reads the features and the `c` context
    /// values.
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
        model.loss = loss_of(config).and_then(|loss| LossParams::new(g, &loss));
        if config.learnable_temperature {
            let t = (1.0 / config.temperature).ln();
            model.logit_scale = Some(g.param(ndarray::arr1(&[t]).into_dyn()));
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
        let (encoder, feature_dim) = match input {
            InputSpec::Images(shape) | InputSpec::FrameStacks { shape, .. } => {
                let (encoder, dim) = image_encoder(g, config, shape.dims(), rng)?;
                (Encoder::Tensor(encoder), dim)
            }
            InputSpec::Bags { buckets } => {
                let bag_config = BagEncoderConfig {
                    buckets: *buckets,
                    dims: config.text_dims.clone(),
                    mode: BagMode::Mean,
                };
                let encoder = BagEncoder::new(g, &bag_config, rng)?;
                let dim = encoder.out_features();
                (Encoder::Bags(encoder), dim)
            }
        };
        let head = match config.method {
            Method::Temporal if config.temporal().projection_head => Some(ProjectionHead::new(
                g,
                &[feature_dim, TEMPORAL_PREDICTOR_HIDDEN, feature_dim],
                false,
                rng,
            )?),
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
            loss: None,
            logit_scale: None,
            feature_dim,
        })
    }

    /// The log-scale parameter `t` of a learnable temperature (`T = exp(-t)`), shape `[1]`.
    pub fn logit_scale(&self) -> Option<Var> {
        self.logit_scale
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

    /// The parameters of encoder and head, without the predictor's or the loss's: the ones
    /// a momentum copy follows.
    pub fn backbone_params(&self) -> Vec<contrast_nn::NamedParam> {
        let mut params = self.named_params();
        params.retain(|p| !p.name.starts_with("predictor.") && !p.name.starts_with("loss."));
        params
    }

    /// The loss's learned scalars (SigLIP's log-scale and bias), if the loss has any.
    pub fn loss_params(&self) -> Option<&LossParams> {
        self.loss.as_ref()
    }

    /// Width of the encoder features (what kNN and the linear probe see).
    pub fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    /// Width of the projection head's output (what the losses see); the feature width for a
    /// model without a head.
    pub fn projection_dim(&self) -> usize {
        self.head
            .as_ref()
            .map_or(self.feature_dim, |head| head.out_features())
    }

    /// The encoder alone: `N` samples -> `(N, feature_dim)` (what evaluation sees).
    pub fn features(&mut self, g: &mut Graph<f32>, x: &Input) -> Result<Var> {
        match (x, &mut self.encoder) {
            (Input::Images(images), Encoder::Tensor(encoder)) => {
                let x = g.input(images.clone().into_dyn());
                Ok(encoder.forward(g, x)?)
            }
            (Input::Bags(bags), Encoder::Bags(encoder)) => {
                let bags = Bags::from_csr(bags.ids.clone(), bags.offsets.clone())?;
                Ok(encoder.forward_bags(g, &bags)?)
            }
            _ => Err(Error::Config(
                "the input's kind (images or token bags) differs from the encoder's".into(),
            )),
        }
    }

    /// Encoder then head: `N` samples -> `(N, projection_dim)` (what the losses see); the
    /// features themselves for a model without a head.
    pub fn project(&mut self, g: &mut Graph<f32>, x: &Input) -> Result<Var> {
        let h = self.features(g, x)?;
        self.head(g, h)
    }

    /// The head applied to features `h`; `h` itself for a model without a head.
    pub fn head(&mut self, g: &mut Graph<f32>, h: Var) -> Result<Var> {
        match &mut self.head {
            Some(head) => Ok(head.forward(g, h)?),
            None => Ok(h),
        }
    }

    /// Whether the model has a projection head.
    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }
}

/// The image encoder named in `config` for `(channels, height, width)` inputs, with its
/// feature width.
fn image_encoder(
    g: &mut Graph<f32>,
    config: &TrainConfig,
    (channels, height, width): (usize, usize, usize),
    rng: &mut impl Rng,
) -> Result<(Box<dyn Module<f32>>, usize)> {
    Ok(match config.encoder {
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
            let cnn_config = StridedCnnConfig {
                out_dim: FEATURES,
                ..StridedCnnConfig::frame_stack(channels, height, width)
            };
            let cnn = StridedCnn::new(g, &cnn_config, rng)?;
            let out = cnn.out_features();
            (Box::new(cnn), out)
        }
    })
}

impl Module<f32> for ContrastModel {
    fn forward(&mut self, g: &mut Graph<f32>, x: Var) -> contrast_nn::Result<Var> {
        let h = self.encoder.module_mut().forward(g, x)?;
        match &mut self.head {
            Some(head) => head.forward(g, h),
            None => Ok(h),
        }
    }

    fn own_params(&self) -> Vec<(&'static str, Var, ParamKind)> {
        // A scale, not a weight: no weight decay.
        self.logit_scale
            .map(|t| ("logit_scale", t, ParamKind::Norm))
            .into_iter()
            .collect()
    }

    fn children(&self) -> Vec<(String, &dyn Module<f32>)> {
        let mut children: Vec<(String, &dyn Module<f32>)> =
            vec![("encoder".into(), self.encoder.module())];
        if let Some(head) = &self.head {
            children.push(("head".into(), head));
        }
        if let Some(p) = &self.predictor {
            children.push(("predictor".into(), p.as_ref()));
        }
        if let Some(l) = &self.loss {
            children.push(("loss".into(), l));
        }
        children
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<f32>)> {
        let mut children: Vec<(String, &mut dyn Module<f32>)> =
            vec![("encoder".into(), self.encoder.module_mut())];
        if let Some(head) = &mut self.head {
            children.push(("head".into(), head));
        }
        if let Some(p) = &mut self.predictor {
            children.push(("predictor".into(), p.as_mut()));
        }
        if let Some(l) = &mut self.loss {
            children.push(("loss".into(), l));
        }
        children
    }
}
