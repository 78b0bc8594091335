//! Which views a dataset gets: the augmentations define what the encoder learns to ignore.
//!
//! - `digits` (grayscale digits, any size): crop 0.5-1, small affine, noise, erasing; no flip,
//!   since a mirrored digit is another symbol (or none).
//! - `objects` (grayscale photographs of objects, Fashion-MNIST): crop 0.2-1, horizontal flip,
//!   brightness and contrast, erasing. Stronger views than `digits`: with the digits recipe
//!   on Fashion-MNIST the two views are so alike (alignment 0.03) that the learned features
//!   end at or below the random encoder's (SimCLR, 12 epochs: linear probe 0.852 vs 0.853;
//!   with `objects`: 0.874).
//! - `color` (RGB): the SimCLR CIFAR preset at 32x32 (crop 0.08-1, flip, colour jitter at
//!   strength 0.5, grayscale 0.2), SimCLR's ImageNet recipe at other sizes.
//! - `auto`: `objects` for Fashion-MNIST, `digits` for other grayscale data, `color` for RGB.
//!
//! **Multi-crop** (`views = "2+k"`, Caron et al. 2020): views 0 and 1 are the recipe's two
//! global views; views 2.. are `k` small crops, the same recipe with a smaller crop (area
//! scale `digits` 0.2-0.5, `objects` 0.05-0.2, `color` 0.05-0.14, SwAV's) resampled to
//! `small_crop_size` (default: 3/7 of the side, SwAV's 96/224, for encoders that take any
//! size; the full side for the CNN and the MLP, whose flatten + linear fixes the input size).

use std::fmt;
use std::str::FromStr;

use contrast_augment::{Op, Pipeline, RandomResizedCrop, Views, presets};
use contrast_data::ImageShape;
use serde::{Deserialize, Serialize};

use crate::config::Augmentation;
use crate::error::{Error, Result};

/// How many views each sample gives: two global views and `small` small crops; written
/// `"2"` or `"2+4"` (config key `views`, flag `--views`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ViewSpec {
    /// Small crops per sample.
    pub small: usize,
}

impl ViewSpec {
    /// Global views: the two the two-view losses pair.
    pub const GLOBAL: usize = 2;

    /// Views per sample in all.
    pub fn total(self) -> usize {
        Self::GLOBAL + self.small
    }
}

impl FromStr for ViewSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "views must be \"2\" or \"2+k\" (two global views and k small crops), got \"{text}\""
            ))
        };
        let (global, small) = match text.trim().split_once('+') {
            Some((g, s)) => (g.trim(), s.trim().parse::<usize>().map_err(|_| bad())?),
            None => (text.trim(), 0),
        };
        if global.parse::<usize>().ok() != Some(Self::GLOBAL) {
            return Err(bad());
        }
        Ok(Self { small })
    }
}

impl fmt::Display for ViewSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.small {
            0 => write!(f, "{}", Self::GLOBAL),
            k => write!(f, "{}+{k}", Self::GLOBAL),
        }
    }
}

impl TryFrom<String> for ViewSpec {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<ViewSpec> for String {
    fn from(spec: ViewSpec) -> String {
        spec.to_string()
    }
}

/// `n_views` views per sample of `dataset` (a `contrast_data` spec) with images of `shape`.
pub fn views_for(
    augmentation: Augmentation,
    dataset: &str,
    shape: ImageShape,
    n_views: usize,
) -> Result<Views> {
    let (channels, height, width) = shape.dims();
    let two = match resolve(augmentation, dataset, channels) {
        Augmentation::Digits if channels == 1 => presets::digits_sized(height, width)?,
        Augmentation::Objects if channels == 1 => presets::gray_objects_sized(height, width)?,
        Augmentation::Color if channels == 3 && (height, width) == (32, 32) => {
            presets::simclr_cifar()?
        }
        Augmentation::Color if channels == 3 => presets::simclr_imagenet(height.min(width), 1.0)?,
        other => {
            return Err(Error::Config(format!(
                "augmentation `{}` does not fit {channels}-channel images of {dataset}",
                other.name()
            )));
        }
    };
    Ok(Views::symmetric(two.pipelines()[0].clone(), n_views)?)
}

/// Two global views of the recipe of [`views_for`] and `small` small crops of
/// `small_side` (`(height, width)`) per sample (see the module docs).
pub fn multi_crop(
    augmentation: Augmentation,
    dataset: &str,
    shape: ImageShape,
    small: usize,
    small_side: (usize, usize),
) -> Result<Views> {
    let global = views_for(augmentation, dataset, shape, 1)?.pipelines()[0].clone();
    let scale = match resolve(augmentation, dataset, shape.dims().0) {
        Augmentation::Digits => (0.2, 0.5),
        Augmentation::Objects => (0.05, 0.2),
        _ => (0.05, 0.14),
    };
    let crop = RandomResizedCrop::new(small_side, scale, (3.0 / 4.0, 4.0 / 3.0))?;
    let local = with_crop(&global, crop)?;
    Ok(Views::multi_crop(global, ViewSpec::GLOBAL, local, small)?)
}

/// `pipeline` with its random resized crop replaced by `crop`, every other step kept.
fn with_crop(pipeline: &Pipeline, crop: RandomResizedCrop) -> Result<Pipeline> {
    let mut out = Pipeline::new(pipeline.channels())?;
    let mut replaced = false;
    for step in pipeline.steps() {
        out = match &step.op {
            Op::RandomResizedCrop(_) if !replaced => {
                replaced = true;
                out.then(crop.clone(), step.p)?
            }
            op => out.then(op.clone(), step.p)?,
        };
    }
    if !replaced {
        return Err(Error::Config(
            "multi-crop needs an augmentation recipe that starts with a random resized crop".into(),
        ));
    }
    Ok(out)
}

/// The recipe `auto` stands for.
pub fn resolve(augmentation: Augmentation, dataset: &str, channels: usize) -> Augmentation {
    match augmentation {
        Augmentation::Auto if channels != 1 => Augmentation::Color,
        Augmentation::Auto if dataset.starts_with("fashion-mnist") => Augmentation::Objects,
        Augmentation::Auto => Augmentation::Digits,
        chosen => chosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_by_dataset_and_channels() {
        let auto = Augmentation::Auto;
        assert_eq!(resolve(auto, "fashion-mnist", 1), Augmentation::Objects);
        assert_eq!(
            resolve(auto, "fashion-mnist:/data", 1),
            Augmentation::Objects
        );
        assert_eq!(resolve(auto, "mnist5k", 1), Augmentation::Digits);
        assert_eq!(resolve(auto, "cifar10:/data", 3), Augmentation::Color);
        assert_eq!(
            resolve(Augmentation::Digits, "fashion-mnist", 1),
            Augmentation::Digits
        );
    }

    #[test]
    fn view_specs_parse_print_and_refuse_other_global_counts() {
        assert_eq!("2".parse::<ViewSpec>().unwrap(), ViewSpec::default());
        let spec: ViewSpec = "2+4".parse().unwrap();
        assert_eq!(
            (spec.small, spec.total(), spec.to_string()),
            (4, 6, "2+4".into())
        );
        for bad in ["3", "2+", "2+x", "1+4", ""] {
            let e = bad.parse::<ViewSpec>().unwrap_err().to_string();
            assert!(e.contains("views must be"), "{bad}: {e}");
        }
    }

    #[test]
    fn small_crops_have_their_own_size_and_the_recipe_s_other_steps() {
        let shape = ImageShape::new(1, 28, 28);
        let views = multi_crop(Augmentation::Auto, "mnist5k", shape, 3, (12, 12)).unwrap();
        assert_eq!(views.len(), 5);
        let images = ndarray::Array4::from_elem((2, 1, 28, 28), 0.5f32);
        let out = views.batch(images.view(), &[0, 1], 0, 0).unwrap();
        let sides: Vec<usize> = out.iter().map(|v| v.shape()[2]).collect();
        assert_eq!(sides, vec![28, 28, 12, 12, 12]);
        let (global, local) = (&views.pipelines()[0], &views.pipelines()[4]);
        assert_eq!(global.steps().len(), local.steps().len());
        assert_eq!(global.steps()[1..], local.steps()[1..]);
        assert_ne!(global.steps()[0], local.steps()[0]);
    }

    #[test]
    fn a_recipe_for_the_wrong_channels_is_a_config_error() {
        let gray = ImageShape::new(1, 28, 28);
        let rgb = ImageShape::new(3, 32, 32);
        assert!(views_for(Augmentation::Objects, "mnist5k", gray, 2).is_ok());
        assert!(views_for(Augmentation::Color, "cifar10:x", rgb, 2).is_ok());
        let e = views_for(Augmentation::Color, "mnist5k", gray, 2).unwrap_err();
        assert!(e.to_string().contains("color"), "{e}");
        let e = views_for(Augmentation::Digits, "cifar10:x", rgb, 2).unwrap_err();
        assert!(e.to_string().contains("digits"), "{e}");
    }
}
