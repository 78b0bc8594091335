//! From a dataset name, as typed on the command line, to its train and test splits.
//!
//! | spec                    | what                                                            |
//! |-------------------------|-----------------------------------------------------------------|
//! | `digits`, `mnist5k`     | embedded ([`crate::embedded`]); last 20% of each class is test  |
//! | `fashion-mnist`         | IDX files at `/usr/share/datasets/fashion-mnist/` (Debian's `dataset-fashion-mnist`) |
//! | `fashion-mnist:PATH`    | the same files in `PATH`                                        |
//! | `mnist:PATH`, `kmnist:PATH` | IDX files in `PATH` (`train-images-idx3-ubyte[.gz]`, `t10k-...`) |
//! | `cifar10:PATH`          | CIFAR-10 binary batches ([`crate::cifar`])                      |
//! | `cifar100:PATH`, `cifar100-coarse:PATH` | CIFAR-100 binary, fine or coarse labels         |
//! | `folder:PATH`           | image folder ([`crate::folder`]); `PATH/train` + `PATH/test` if both exist, else a per-class hold-out |

use std::path::{Path, PathBuf};

use crate::cifar::{CifarKind, load_cifar_dir};
use crate::dataset::{Dataset, Split};
use crate::embedded::Embedded;
use crate::error::{Error, Result};
use crate::folder::{FolderOptions, SkippedFile, class_folders, load_with_classes};
use crate::holdout::DEFAULT_TEST_FRACTION;
use crate::idx::load_idx_pair;

/// Where Debian's `dataset-fashion-mnist` package installs the files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The accepted spec forms, for error messages and `--help`.
pub const KNOWN_SPECS: &str = "digits, mnist5k, fashion-mnist[:PATH], mnist:PATH, kmnist:PATH, \
     cifar10:PATH, cifar100:PATH, cifar100-coarse:PATH, folder:PATH";

const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// KMNIST's ten hiragana, romanised as in the dataset's class map.
const KMNIST_CLASSES: [&str; 10] = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"];

/// Options that only some sources use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResolveOptions {
    /// How to read `folder:` images.
    pub folder: FolderOptions,
    /// Test share for a `folder:` without `train/` and `test/` parts.
    pub folder_test_fraction: f64,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            folder: FolderOptions::default(),
            folder_test_fraction: DEFAULT_TEST_FRACTION,
        }
    }
}

/// A resolved dataset: both splits, and any images skipped while loading a folder.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The training split.
    pub train: Dataset,
    /// The test split.
    pub test: Dataset,
    /// Unreadable folder images left out (only with `skip_unreadable`).
    pub skipped: Vec<SkippedFile>,
}

/// [`resolve_with`] with default options.
///
/// # Errors
/// As [`resolve_with`].
pub fn resolve(spec: &str) -> Result<Resolved> {
    resolve_with(spec, &ResolveOptions::default())
}

/// Loads the dataset named by `spec` (see the module table).
///
/// # Errors
/// [`Error::UnknownDataset`]; [`Error::NotInstalled`] when Fashion-MNIST's directory is
/// absent (the message says `apt-get install dataset-fashion-mnist`); [`Error::MissingFile`];
/// every loader error.
pub fn resolve_with(spec: &str, options: &ResolveOptions) -> Result<Resolved> {
    let (kind, path) = match spec.split_once(':') {
        Some((kind, path)) => (kind, Some(Path::new(path))),
        None => (spec, None),
    };
    let unknown = || Error::UnknownDataset {
        spec: spec.into(),
        known: KNOWN_SPECS.into(),
    };
    let pair = |(train, test): (Dataset, Dataset)| Resolved {
        train,
        test,
        skipped: Vec::new(),
    };
    match (kind, path) {
        ("digits", None) => Embedded::Digits.load().map(pair),
        ("mnist5k", None) => Embedded::Mnist5k.load().map(pair),
        ("fashion-mnist", path) => {
            let dir = path.unwrap_or(Path::new(FASHION_MNIST_DIR));
            if !dir.is_dir() {
                return Err(Error::NotInstalled {
                    dataset: "fashion-mnist".into(),
                    path: dir.to_path_buf(),
                    hint: "install it with `apt-get install dataset-fashion-mnist`, or give \
                           `fashion-mnist:PATH` for a folder holding its four IDX files"
                        .into(),
                });
            }
            load_idx_dir("fashion-mnist", dir, &FASHION_CLASSES).map(pair)
        }
        ("mnist", Some(dir)) => {
            let digits: Vec<String> = (0..10).map(|c| c.to_string()).collect();
            let names: Vec<&str> = digits.iter().map(String::as_str).collect();
            load_idx_dir("mnist", dir, &names).map(pair)
        }
        ("kmnist", Some(dir)) => load_idx_dir("kmnist", dir, &KMNIST_CLASSES).map(pair),
        ("cifar10", Some(dir)) => load_cifar_dir(dir, CifarKind::Cifar10).map(pair),
        ("cifar100", Some(dir)) => load_cifar_dir(dir, CifarKind::Cifar100Fine).map(pair),
        ("cifar100-coarse", Some(dir)) => load_cifar_dir(dir, CifarKind::Cifar100Coarse).map(pair),
        ("folder", Some(dir)) => load_folder(dir, options),
        _ => Err(unknown()),
    }
}

/// The four MNIST-layout files of `dir`, trying the usual spellings.
fn load_idx_dir(dataset: &str, dir: &Path, classes: &[&str]) -> Result<(Dataset, Dataset)> {
    let find = |stem: &str, kind: &str| -> Result<PathBuf> {
        // `train-images-idx3-ubyte` (LeCun, Zalando, Debian) or `train-images.idx3-ubyte`
        // (some mirrors), each raw or gzip.
        let names: Vec<String> = [format!("{stem}-{kind}"), format!("{stem}.{kind}")]
            .into_iter()
            .flat_map(|n| [format!("{n}.gz"), n])
            .collect();
        names
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::MissingFile {
                dataset: dataset.into(),
                dir: dir.to_path_buf(),
                what: format!("{stem} file"),
                tried: names.join(", "),
            })
    };
    let names: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    let load = |prefix: &str, split| {
        let images = find(&format!("{prefix}-images"), "idx3-ubyte")?;
        let labels = find(&format!("{prefix}-labels"), "idx1-ubyte")?;
        load_idx_pair(dataset, &images, &labels, names.clone(), split)
    };
    Ok((load("train", Split::Train)?, load("t10k", Split::Test)?))
}

/// `PATH/train` and `PATH/test` when both are folders, else `PATH` with a per-class hold-out.
fn load_folder(dir: &Path, options: &ResolveOptions) -> Result<Resolved> {
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    if train_dir.is_dir() && test_dir.is_dir() {
        let classes = class_folders(&train_dir)?;
        let train = load_with_classes(&train_dir, &classes, &options.folder, Split::Train)?;
        let test = load_with_classes(&test_dir, &classes, &options.folder, Split::Test)?;
        let mut skipped = train.skipped;
        skipped.extend(test.skipped);
        return Ok(Resolved {
            train: train.dataset,
            test: test.dataset,
            skipped,
        });
    }
    let classes = class_folders(dir)?;
    let all = load_with_classes(dir, &classes, &options.folder, Split::Train)?;
    let (train, test) = all
        .dataset
        .holdout_per_class(options.folder_test_fraction)?;
    Ok(Resolved {
        train,
        test,
        skipped: all.skipped,
    })
}
