//! The trained network: an encoder whose features we evaluate, and a projection head whose
//! output the loss sees (SimCLR's finding: the loss is better applied after a head, the
//! representation better taken before it). BYOL's online network adds a predictor after the
//! head; its target network is the same encoder + head without one.

use contrast_autodiff::{Graph, Var};
use contrast_nn::Module;
use contrast_nn::encoders::{Mlp, MlpConfig, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig};
use contrast_nn::heads::ProjectionHead;
use rand::Rng;

use crate::batch::Input;
use crate::config::{EncoderKind, Method, TrainConfig};
use crate::error::Result;
use crate::loss_params::LossParams;
use crate::recipes::loss_of;
use crate::tasks::InputSpec;

/// Width of the encoder features for the MLP and CNN encoders.
const FEATURES: usize = 128;
/// ResNet-18 width multiplier: a quarter-width network keeps CPU training practical.
const RESNET_WIDTH: f64 = 0.25;

/// Encoder + projection head (+ BYOL's predictor, + a loss's learned scalars); parameter
/// names `encoder.*`, `head.*`, `predictor.*` and `loss.*`.
pub struct ContrastModel {
    encoder: Box<dyn Module<f32>>,
    head: ProjectionHead<f32>,
    predictor: Option<ProjectionHead<f32>>,
    loss: Option<LossParams>,
    feature_dim: usize,
}

impl ContrastModel {
    /// Builds the encoder named in `config` for `input`, and a SimCLR head
    /// `Linear(f, f) - BN - ReLU - Linear(f, projection_dim)`, drawing weights from `rng`.
    /// For BYOL, also the predictor `Linear(p, f) - BN - ReLU - Linear(f, p)` (`p` the
    /// projection width: the paper's predictor has the projector's shape).
    pub fn new(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        input: &InputSpec,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let mut model = Self::without_predictor(g, config, input, rng)?;
        if config.method == Method::Byol {
            let (f, p) = (model.feature_dim, config.projection_dim);
            model.predictor = Some(ProjectionHead::simclr(g, p, f, p, rng)?);
        }
        model.loss = loss_of(config).and_then(|loss| LossParams::new(g, &loss));
        Ok(model)
    }

    /// Encoder + head only, whatever the method: the momentum (MoCo key, BYOL target) copy.
    pub fn without_predictor(
        g: &mut Graph<f32>,
        config: &TrainConfig,
        input: &InputSpec,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let InputSpec::Images(shape) = input;
        let (channels, height, width) = shape.dims();
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
        };
        let head = ProjectionHead::simclr(g, feature_dim, feature_dim, config.projection_dim, rng)?;
        Ok(Self {
            encoder,
            head,
            predictor: None,
            loss: None,
            feature_dim,
        })
    }

    /// The predictor applied to projections `z` (BYOL).
    ///
    /// # Errors
    /// The model has no predictor (built for another method).
    pub fn predict(&mut self, g: &mut Graph<f32>, z: Var) -> Result<Var> {
        let predictor = self.predictor.as_mut().ok_or_else(|| {
            crate::error::Error::Config("this model has no predictor (BYOL only)".into())
        })?;
        Ok(predictor.forward(g, z)?)
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

    /// The encoder alone: `N` samples -> `(N, feature_dim)` (what evaluation sees).
    pub fn features(&mut self, g: &mut Graph<f32>, x: &Input) -> Result<Var> {
        match x {
            Input::Images(images) => {
                let x = g.input(images.clone().into_dyn());
                Ok(self.encoder.forward(g, x)?)
            }
        }
    }

    /// Encoder then head: `N` samples -> `(N, projection_dim)` (what the losses see).
    pub fn project(&mut self, g: &mut Graph<f32>, x: &Input) -> Result<Var> {
        let h = self.features(g, x)?;
        Ok(self.head.forward(g, h)?)
    }
}

impl Module<f32> for ContrastModel {
    fn forward(&mut self, g: &mut Graph<f32>, x: Var) -> contrast_nn::Result<Var> {
        let h = self.encoder.forward(g, x)?;
        self.head.forward(g, h)
    }

    fn children(&self) -> Vec<(String, &dyn Module<f32>)> {
        let mut children: Vec<(String, &dyn Module<f32>)> = vec![
            ("encoder".into(), self.encoder.as_ref()),
            ("head".into(), &self.head),
        ];
        if let Some(p) = &self.predictor {
            children.push(("predictor".into(), p));
        }
        if let Some(l) = &self.loss {
            children.push(("loss".into(), l));
        }
        children
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<f32>)> {
        let mut children: Vec<(String, &mut dyn Module<f32>)> = vec![
            ("encoder".into(), self.encoder.as_mut()),
            ("head".into(), &mut self.head),
        ];
        if let Some(p) = &mut self.predictor {
            children.push(("predictor".into(), p));
        }
        if let Some(l) = &mut self.loss {
            children.push(("loss".into(), l));
        }
        children
    }
}
