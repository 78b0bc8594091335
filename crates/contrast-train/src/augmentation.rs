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

use contrast_augment::{Views, presets};
use contrast_data::ImageShape;

use crate::config::Augmentation;
use crate::error::{Error, Result};

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
