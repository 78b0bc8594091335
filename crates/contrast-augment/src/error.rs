//! The crate's error type: every invalid parameter or input shape is reported as a value.

/// Everything that can go wrong when building or applying an augmentation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A `(low, high)` range with `low > high`.
    #[error("{op}: range for `{param}` is reversed: ({low}, {high})")]
    ReversedRange {
        /// Operation being built.
        op: &'static str,
        /// Parameter name.
        param: &'static str,
        /// Lower end given.
        low: f64,
        /// Upper end given.
        high: f64,
    },
    /// A parameter outside the interval the operation accepts (NaN included).
    #[error("{op}: `{param}` = {value} is outside {allowed}")]
    OutOfRange {
        /// Operation being built.
        op: &'static str,
        /// Parameter name.
        param: &'static str,
        /// Value given.
        value: f64,
        /// Human-readable description of the accepted values.
        allowed: &'static str,
    },
    /// A probability outside `[0, 1]` (NaN included).
    #[error("{op}: probability {p} is outside [0, 1]")]
    Probability {
        /// Operation the probability belongs to.
        op: &'static str,
        /// Value given.
        p: f64,
    },
    /// An output size or length of zero.
    #[error("{op}: size must be positive, got {size:?}")]
    ZeroSize {
        /// Operation being built.
        op: &'static str,
        /// Size given.
        size: Vec<usize>,
    },
    /// A gaussian kernel size that is even or zero.
    #[error("{op}: kernel size must be odd and positive, got {size}")]
    KernelSize {
        /// Operation being built.
        op: &'static str,
        /// Size given.
        size: usize,
    },
    /// An operation that needs a given number of channels received another.
    #[error("{op}: needs {expected} channel(s), the image has {found}")]
    Channels {
        /// Operation that rejected the channel count.
        op: &'static str,
        /// Channel count required.
        expected: usize,
        /// Channel count found.
        found: usize,
    },
    /// An image or batch with a shape the call cannot use.
    #[error("{what}: bad shape {shape:?} ({why})")]
    Shape {
        /// Which input.
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A crop window that does not lie inside the image.
    #[error(
        "crop (top {top}, left {left}, {height}x{width}) exceeds the {image_h}x{image_w} image"
    )]
    CropOutside {
        /// Top row of the window.
        top: usize,
        /// Left column of the window.
        left: usize,
        /// Window height.
        height: usize,
        /// Window width.
        width: usize,
        /// Image height.
        image_h: usize,
        /// Image width.
        image_w: usize,
    },
    /// An input image holding NaN or infinity.
    #[error("{what}: non-finite pixel value {value}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// The first offending value.
        value: f32,
    },
    /// The number of sample indices differs from the number of images.
    #[error("{images} images but {indices} sample indices")]
    IndexCount {
        /// Images given.
        images: usize,
        /// Indices given.
        indices: usize,
    },
    /// A multi-view generator or pipeline list with no views.
    #[error("a view generator needs at least one view")]
    NoViews,
    /// A preset name that is not known.
    #[error(
        "unknown preset `{0}` (known: simclr-imagenet, simclr-cifar, moco-v2, byol, digits, gray-objects)"
    )]
    UnknownPreset(String),
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
