//! Encoders: an MLP, a small CNN for 28x28 / 32x32 images, a CIFAR-style ResNet-18, a
//! strided CNN for frame stacks of any size (pixel-based reinforcement learning), and a
//! bag-of-n-grams encoder for text.
//!
//! Each is a [`Module`](crate::Module) mapping a batch to one feature row per sample; the
//! projection heads of [`heads`](crate::heads) go on top. The text encoder's batch is bags
//! of ids rather than a tensor, so it is called through [`BagEncoder::forward_bags`].

mod bag;
mod mlp;
mod resnet;
mod small_cnn;
mod strided_cnn;

pub use bag::{BagEncoder, BagEncoderConfig};
pub use mlp::{Mlp, MlpConfig};
pub use resnet::{BasicBlock, ResNet, ResNetConfig};
pub use small_cnn::{SmallCnn, SmallCnnConfig};
pub use strided_cnn::{ConvStage, StridedCnn, StridedCnnConfig};
