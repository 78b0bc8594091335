//! The crate's one error type: every variant names the file (or the dataset) and the problem.

use std::path::PathBuf;

/// Result alias used throughout `contrast-data`.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while loading or batching a dataset.
///
/// Variants that come from a file carry its path, so the message alone says where to look.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress (truncated or corrupt stream).
    #[error("{path}: corrupt gzip stream: {source}")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// An IDX file whose magic number is not `0x0000 TT NN`.
    #[error("{path}: bad IDX magic number {found:#010x}: {problem}")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first four bytes, big-endian.
        found: u32,
        /// What was expected instead.
        problem: String,
    },
    /// The file is shorter than its header (or record layout) says it must be.
    #[error("{path}: truncated: expected {expected} bytes, found {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header or layout implies.
        expected: u64,
        /// Bytes actually present (after decompression).
        found: u64,
    },
    /// The file is longer than its header says: probably not the file it claims to be.
    #[error("{path}: {found} bytes but the header describes {expected}: trailing data")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },
    /// A CIFAR binary file whose length is not a whole number of records.
    #[error("{path}: length {len} is not a multiple of the {record}-byte record")]
    RecordLength {
        /// The file.
        path: PathBuf,
        /// File length in bytes.
        len: u64,
        /// Expected record size in bytes.
        record: u64,
    },
    /// An images file and a labels file that disagree on the number of samples.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// The labels file.
        labels: PathBuf,
        /// Number of images.
        image_count: usize,
        /// Number of labels.
        label_count: usize,
    },
    /// A label that is not below the number of classes.
    #[error("{source_name}: sample {index} has label {label}, but there are {num_classes} classes")]
    LabelOutOfRange {
        /// File or dataset the label came from.
        source_name: String,
        /// Sample position.
        index: usize,
        /// The offending label.
        label: usize,
        /// Number of classes.
        num_classes: usize,
    },
    /// Pixel buffer and image shape disagree.
    #[error("{source_name}: {pixels} pixel bytes do not fill {count} images of {shape}")]
    PixelCount {
        /// File or dataset the pixels came from.
        source_name: String,
        /// Bytes given.
        pixels: usize,
        /// Number of labels (samples).
        count: usize,
        /// The per-image shape, `CxHxW`.
        shape: String,
    },
    /// A dataset (or a requested subset) with no samples, or an image shape with a zero side.
    #[error("{source_name}: empty dataset: {problem}")]
    Empty {
        /// File, folder or dataset name.
        source_name: String,
        /// What is empty.
        problem: String,
    },
    /// An image in a folder that cannot be decoded.
    #[error("{path}: unreadable image: {reason}")]
    UnreadableImage {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// Images of different sizes in a folder loaded without a resize target.
    #[error(
        "{path} is {found_w}x{found_h} but {first} is {first_w}x{first_h}; \
         give a resize target to load images of mixed sizes"
    )]
    MixedSizes {
        /// The first image read (it fixes the size).
        first: PathBuf,
        /// Its width.
        first_w: u32,
        /// Its height.
        first_h: u32,
        /// The image that differs.
        path: PathBuf,
        /// Its width.
        found_w: u32,
        /// Its height.
        found_h: u32,
    },
    /// The class sub-folders of an image folder are missing, or differ between its
    /// `train/` and `test/` parts.
    #[error("{path}: {problem}")]
    ClassFolders {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An expected file of a dataset directory is missing.
    #[error("{dataset}: no {what} in {dir} (tried {tried})")]
    MissingFile {
        /// Dataset kind, e.g. `mnist`.
        dataset: String,
        /// The directory searched.
        dir: PathBuf,
        /// Which file was looked for.
        what: String,
        /// The names tried, comma separated.
        tried: String,
    },
    /// A system dataset that is not installed.
    #[error("{dataset} not found at {path}: {hint}")]
    NotInstalled {
        /// Dataset name.
        dataset: String,
        /// Where it was looked for.
        path: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// A dataset name the resolver does not know.
    #[error("unknown dataset {spec:?}; known: {known}")]
    UnknownDataset {
        /// What was asked for.
        spec: String,
        /// The accepted forms.
        known: String,
    },
    /// Batch size zero.
    #[error("batch size must be at least 1")]
    ZeroBatchSize,
    /// A batch larger than the dataset.
    #[error("batch size {batch_size} is larger than the dataset ({len} samples)")]
    BatchTooLarge {
        /// Requested batch size.
        batch_size: usize,
        /// Samples available.
        len: usize,
    },
    /// A fraction outside `(0, 1]` (label fractions) or `[0, 1)` (hold-out).
    #[error("fraction {fraction} is outside {range}")]
    InvalidFraction {
        /// The value given.
        fraction: f64,
        /// The accepted range.
        range: &'static str,
    },
    /// A class with too few samples for a class-balanced subset.
    #[error("class {class} has {available} samples but the subset needs {requested} per class")]
    ClassTooSmall {
        /// The class index.
        class: usize,
        /// Samples of that class.
        available: usize,
        /// Samples needed.
        requested: usize,
    },
    /// A sample index past the end of the dataset.
    #[error("index {index} out of range for a dataset of {len} samples")]
    IndexOutOfRange {
        /// The index.
        index: usize,
        /// Dataset length.
        len: usize,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
