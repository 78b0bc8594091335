//! Images: labelled image datasets, augmented views, and classification probes on frozen
//! features.
//!
//! - **Views**: the augmentation recipe of [`crate::augmentation`], `(seed, epoch, index, view)`
//!   streams, so a batch's views are the same on any thread, chunk or rank.
//! - **Probes**: weighted kNN (`k = 200, T = 0.1` and `k = 20, T = 0.07`) with the training
//!   split as the labelled bank, and a linear probe; alignment and uniformity of two fresh
//!   views of the test images.
//! - **Baseline**: the raw pixels under the same probes.

use std::path::Path;
use std::sync::Arc;

use contrast_augment::Views;
use contrast_data::{Dataset, ImageShape};
use contrast_losses::{AlignmentConfig, UniformityConfig, alignment, uniformity};
use ndarray::{Array2, s};

use super::{InputSpec, Split, Task};
use crate::augmentation::{ViewSpec, multi_crop, views_for};
use crate::batch::{Batch, Input};
use crate::config::{EncoderKind, TrainConfig};
use crate::error::{Error, Result};
use crate::eval::features::{encode_images, pixels};
use crate::eval::knn::{KnnConfig, knn_accuracy};
use crate::eval::pca::pca;
use crate::eval::probe::linear_probe;
use crate::eval::report::Row;
use crate::metrics::EpochMetrics;
use crate::plot::{Series, line_chart_png, scatter_png};
use crate::run::write;
use crate::source::Source;
use crate::trainer::Trainer;

/// Rows of the test split used for alignment and uniformity (all pairs): bounds their cost.
const GEOMETRY_ROWS: usize = 2000;
/// Name of the per-epoch kNN figure.
const MONITOR: &str = "kNN k=200";

/// An image dataset's two splits.
pub struct Images {
    train: Dataset,
    test: Dataset,
}

impl Images {
    /// Loads `config.dataset`.
    pub fn load(config: &TrainConfig) -> Result<Self> {
        let data = contrast_data::resolve(&config.dataset)?;
        Ok(Self {
            train: data.train,
            test: data.test,
        })
    }

    /// The training split.
    pub fn train(&self) -> &Dataset {
        &self.train
    }

    /// The held-out split.
    pub fn test(&self) -> &Dataset {
        &self.test
    }

    fn split(&self, split: Split) -> &Dataset {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }

    /// kNN (both protocols) and the linear probe of features of the two splits.
    fn probes(
        &self,
        train: &Array2<f32>,
        test: &Array2<f32>,
        config: &TrainConfig,
    ) -> Result<Vec<f64>> {
        let classes = self.train.num_classes().max(self.test.num_classes());
        let (ytr, yte) = (self.train.labels(), self.test.labels());
        let (train, test) = (train.view(), test.view());
        Ok(vec![
            knn_accuracy(train, ytr, test, yte, classes, KnnConfig::INSTDISC)?,
            knn_accuracy(train, ytr, test, yte, classes, KnnConfig::SOLO_LEARN)?,
            linear_probe(
                train,
                ytr,
                test,
                yte,
                classes,
                config.probe_epochs,
                config.seed,
            )?,
        ])
    }
}

impl Task for Images {
    fn input(&self) -> InputSpec {
        InputSpec::Images(self.train.shape())
    }

    /// Views 0 and 1 from the augmentation recipe; views 2.. are small crops.
    fn source(&self, config: &TrainConfig, views: usize) -> Result<Arc<dyn Source>> {
        let shape = self.train.shape();
        let views = match views.checked_sub(ViewSpec::GLOBAL).filter(|&k| k > 0) {
            None => views_for(config.augmentation, &config.dataset, shape, views)?,
            Some(small) => multi_crop(
                config.augmentation,
                &config.dataset,
                shape,
                small,
                small_crop_side(config, shape)?,
            )?,
        };
        Ok(Arc::new(ImageViews {
            data: self.train.clone(),
            views,
            seed: config.seed,
        }))
    }

    fn columns(&self) -> Vec<String> {
        ["kNN k=200", "kNN k=20", "linear probe"]
            .map(String::from)
            .to_vec()
    }

    fn score(&self, trainer: &mut Trainer) -> Result<Vec<f64>> {
        let train = self.embed(trainer, Split::Train)?;
        let test = self.embed(trainer, Split::Test)?;
        self.probes(&train, &test, &trainer.config)
    }

    fn baselines(&self, config: &TrainConfig) -> Result<Vec<Row>> {
        Ok(vec![Row {
            features: "raw pixels".into(),
            values: self.probes(&pixels(&self.train), &pixels(&self.test), config)?,
        }])
    }

    fn monitor(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>> {
        let train = self.embed(trainer, Split::Train)?;
        let test = self.embed(trainer, Split::Test)?;
        let classes = self.train.num_classes().max(self.test.num_classes());
        let accuracy = knn_accuracy(
            train.view(),
            self.train.labels(),
            test.view(),
            self.test.labels(),
            classes,
            KnnConfig::INSTDISC,
        )?;
        Ok(vec![(MONITOR.into(), accuracy)])
    }

    /// Alignment of two fresh augmented views of the test images and uniformity of their
    /// features (Wang and Isola 2020, normalised features).
    fn extras(&self, trainer: &mut Trainer) -> Result<Vec<(String, f64)>> {
        let config = trainer.config.clone();
        let views = views_for(config.augmentation, &config.dataset, self.test.shape(), 2)?;
        let n = self.test.len().min(GEOMETRY_ROWS);
        let images = self.test.to_array();
        let indices: Vec<u64> = (0..n as u64).collect();
        // A stream no training epoch uses, so the views are fresh.
        let pair = views.batch(
            images.slice(s![..n, .., .., ..]),
            &indices,
            config.seed,
            u64::MAX,
        )?;
        let x = encode_images(&mut trainer.g, &mut trainer.model, pair[0].view())?;
        let y = encode_images(
            &mut trainer.g,
            &mut trainer.model,
            pair[1 % pair.len()].view(),
        )?;
        let align = alignment(x.view(), y.view(), &AlignmentConfig::default())?.loss;
        let unif = uniformity(x.view(), &UniformityConfig::default())?.loss;
        Ok(vec![
            ("alignment".into(), f64::from(align)),
            ("uniformity".into(), f64::from(unif)),
        ])
    }

    fn embed(&self, trainer: &mut Trainer, split: Split) -> Result<Array2<f32>> {
        let images = self.split(split).to_array();
        encode_images(&mut trainer.g, &mut trainer.model, images.view())
    }

    fn plots(
        &self,
        out: &Path,
        _trainer: &mut Trainer,
        history: &[EpochMetrics],
        test_features: &Array2<f32>,
    ) -> Result<()> {
        let knn = Series::from_monitor("kNN top-1 (k=200, T=0.1)", MONITOR, history);
        let chart = line_chart_png(
            "kNN accuracy on the test split",
            "epoch",
            "accuracy",
            &[knn],
            (800, 500),
        )?;
        write(&out.join("knn.png"), &chart)?;
        let (projection, _) = pca(test_features.view(), 2)?;
        let points: Vec<(f64, f64)> = projection
            .rows()
            .into_iter()
            .map(|r| (f64::from(r[0]), f64::from(r[1])))
            .collect();
        let png = scatter_png(
            "Test embeddings, PCA",
            &points,
            self.test.labels(),
            self.test.class_names(),
            (800, 800),
        )?;
        write(&out.join("pca.png"), &png)
    }
}

/// The `(height, width)` of the small crops: `small_crop_size`, or 3/7 of each side (SwAV's
/// 96 / 224, at least 4) for the ResNet, whose global pooling takes any size. The CNN and the
/// MLP flatten into a linear layer sized for the dataset's images, so their small crops keep
/// the full size.
fn small_crop_side(config: &TrainConfig, shape: ImageShape) -> Result<(usize, usize)> {
    let (_, height, width) = shape.dims();
    let any_size = config.encoder == EncoderKind::Resnet18;
    match config.small_crop_size {
        Some(0) => Err(Error::Config("small_crop_size must be at least 1".into())),
        Some(side) if any_size => Ok((side, side)),
        Some(side) if (side, side) == (height, width) => Ok((side, side)),
        Some(side) => Err(Error::Config(format!(
            "small_crop_size {side}: the {:?} encoder takes {height}x{width} images only \
             (flatten + linear); small crops of another size need --encoder resnet18",
            config.encoder
        ))),
        None if any_size => {
            let small = |side: usize| ((side * 3 + 3) / 7).max(4).min(side);
            Ok((small(height), small(width)))
        }
        None => Ok((height, width)),
    }
}

/// The training images with their augmentation: a batch is `views.len()` augmented views of
/// each sample.
struct ImageViews {
    data: Dataset,
    views: Views,
    seed: u64,
}

impl Source for ImageViews {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn labels(&self) -> &[usize] {
        self.data.labels()
    }

    fn batch(&self, indices: &[usize], epoch: u64) -> Result<Batch> {
        let images = self.data.images(indices)?;
        let ids: Vec<u64> = indices.iter().map(|&i| i as u64).collect();
        let views = self.views.batch(images.view(), &ids, self.seed, epoch)?;
        Ok(Batch {
            views: views.into_iter().map(Input::Images).collect(),
            labels: indices.iter().map(|&i| self.data.labels()[i]).collect(),
            ids,
            context: None,
        })
    }
}
