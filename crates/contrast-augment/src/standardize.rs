//! Per-channel standardisation `(x - mean_c) / std_c`: torchvision's `Normalize`, named here
//! for what it does (row L2 normalisation, `normalize` elsewhere in the workspace, is
//! another thing). The output is no longer in `[0, 1]`, so it belongs at the end of a
//! pipeline.

use crate::buffer::ImageBuf;
use crate::error::{Error, Result};
use crate::validate;

/// torchvision's `Normalize(mean, std)`: `(x - mean_c) / std_c` per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardize {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Standardize {
    /// One finite `mean` and one positive finite `std` per channel.
    pub fn new(mean: &[f32], std: &[f32]) -> Result<Self> {
        const OP: &str = "Standardize";
        if mean.is_empty() || mean.len() != std.len() {
            return Err(Error::Shape {
                what: "Standardize mean/std",
                shape: vec![mean.len(), std.len()],
                why: "need one mean and one std per channel",
            });
        }
        for &m in mean {
            validate::finite(OP, "mean", m)?;
        }
        for &s in std {
            validate::positive(OP, "std", s)?;
        }
        Ok(Self {
            mean: mean.to_vec(),
            std: std.to_vec(),
        })
    }

    /// ImageNet statistics (mean `(0.485, 0.456, 0.406)`, std `(0.229, 0.224, 0.225)`).
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// Channels this standardisation expects.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    pub(crate) fn apply(&self, img: &mut ImageBuf) {
        let n = img.plane_len();
        for ((plane, m), s) in img.data.chunks_exact_mut(n).zip(&self.mean).zip(&self.std) {
            plane.iter_mut().for_each(|x| *x = (*x - m) / s);
        }
    }
}
