//! `contrast-data`: labelled image datasets and the batches that feed contrastive training.
//!
//! # What it holds
//!
//! One type, [`Dataset`]: the images, labels and class names of one [`Split`]. Loaders for
//! every source produce it:
//!
//! * two **embedded** sets compiled into the binary ([`Embedded`]): `mnist5k` (5,000 MNIST
//!   digits, 28x28) and `digits` (1,797 UCI digits, 8x8), so training needs no download;
//! * **IDX** files ([`load_idx_pair`]) as used by MNIST, Fashion-MNIST and KMNIST, raw or gzip;
//! * **CIFAR-10 / CIFAR-100** binary batches ([`load_cifar_dir`], [`load_cifar_files`]);
//! * an **image folder**, one sub-folder per class ([`load_image_folder`]);
//! * a **name resolver** ([`resolve()`]): `digits`, `mnist5k`, `fashion-mnist[:PATH]`,
//!   `mnist:PATH`, `kmnist:PATH`, `cifar10:PATH`, `cifar100:PATH`, `folder:PATH`.
//!
//! # Conventions
//!
//! * **Storage**: one byte per pixel, CHW per image (`n * C * H * W` bytes); cloning shares
//!   the buffers. **Floats** on demand: `x = byte / 255` in `[0, 1]`; an image is a CHW
//!   `Array3<f32>` ([`Dataset::image`]), a batch an NCHW `Array4<f32>` ([`Dataset::images`]).
//! * **Labels** are `usize` in `0..num_classes`; `class_names()[label]` names them.
//! * **Fixed hold-out** for sources without a test split (embedded sets, folders):
//!   for class `c` with `n_c` samples, the last `round(0.2 n_c)` in source order are test
//!   ([`Dataset::holdout_per_class`]). `mnist5k`: 4,000 / 1,000; `digits`: 1,438 / 359.
//! * **Epoch order**: a Fisher-Yates shuffle driven by ChaCha8 with key `seed` and stream
//!   `epoch` ([`shuffled_indices`]); an epoch has `ceil(N / B)` batches, or `floor(N / B)`
//!   with `drop_last`.
//! * **Label fractions** (semi-supervised evaluation): `k = max(1, round(f N / C))` samples
//!   from every class, the first `k` of a per-class shuffle keyed by `(seed, class)`; so for
//!   one seed the 1% subset is inside the 10% subset ([`Dataset::label_fraction`]).
//! * **Background preparation**: [`Batches::prefetch`] builds the next batch and applies a
//!   caller's closure (the augmentations, from `contrast-augment`, plugged in by the trainer)
//!   on a worker thread, one batch ahead; the sequence equals the plain iterator's.
//! * **Errors**: one [`Error`] enum; every file problem names the file.
//!
//! # Example
//!
//! ```
//! use contrast_data::{BatchConfig, resolve};
//!
//! let data = resolve("digits")?;
//! assert_eq!((data.train.len(), data.test.len()), (1438, 359));
//! assert_eq!(data.train.shape().pixels(), 64);
//!
//! // One epoch of shuffled full batches; views prepared one batch ahead.
//! let batches = data.train.batches(&BatchConfig::new(256, 42), 0)?;
//! let mut steps = 0;
//! for (batch, flipped) in batches.prefetch(|b| b.images.slice(ndarray::s![.., .., .., ..;-1]).to_owned()) {
//!     assert_eq!(batch.images.shape(), &[256, 1, 8, 8]);
//!     assert_eq!(flipped[[0, 0, 0, 0]], batch.images[[0, 0, 0, 7]]);
//!     steps += 1;
//! }
//! assert_eq!(steps, 1438 / 256);
//!
//! // 10% of the labels, class-balanced, for a semi-supervised probe.
//! let labelled = data.train.label_fraction(0.1, 7)?;
//! assert_eq!(labelled.class_counts(), vec![14; 10]);
//! # Ok::<(), contrast_data::Error>(())
//! ```

pub mod batches;
pub mod cifar;
pub mod cifar_names;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod file_bytes;
pub mod float_view;
pub mod folder;
pub mod holdout;
pub mod idx;
pub mod label_fraction;
pub mod prefetch;
pub mod resolve;
pub mod shuffle;

pub use batches::{Batch, BatchConfig, Batches};
pub use cifar::{CifarKind, load_cifar_dir, load_cifar_files};
pub use dataset::{Dataset, ImageShape, Split};
pub use embedded::Embedded;
pub use error::{Error, Result};
pub use folder::{ColorMode, FolderLoad, FolderOptions, Resize, SkippedFile, load_image_folder};
pub use holdout::DEFAULT_TEST_FRACTION;
pub use idx::{encode_idx, load_idx_pair, read_idx};
pub use label_fraction::label_fraction_indices;
pub use prefetch::{Prefetch, prefetch};
pub use resolve::{FASHION_MNIST_DIR, ResolveOptions, Resolved, resolve, resolve_with};
pub use shuffle::shuffled_indices;
