//! The crate's one error type: every failure a caller can act on (fall back to the
//! CPU, fix a shape, pick a smaller batch) is a value, never a panic.

/// What went wrong on the GPU path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No adapter matched: no driver, `WGPU_BACKEND` excluded every one, or none is
    /// named like `WGPU_ADAPTER_NAME`. Callers fall back to the CPU on this.
    #[error("no GPU adapter found (backends {backends}, adapter name filter {name_filter:?})")]
    NoAdapter {
        /// The backends that were searched, as wgpu prints them.
        backends: String,
        /// The `WGPU_ADAPTER_NAME` substring, if one was set.
        name_filter: Option<String>,
    },
    /// The adapter refused to open a device.
    #[error("requesting a device from adapter {adapter:?} failed: {reason}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's message.
        reason: String,
    },
    /// Operand shapes do not fit the operation.
    #[error("{op}: shape mismatch, left {left:?} and right {right:?} ({msg})")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// Shape of the first operand (rows, cols).
        left: (usize, usize),
        /// Shape of the second operand (rows, cols).
        right: (usize, usize),
        /// What was expected.
        msg: &'static str,
    },
    /// A matrix with no elements where the operation needs some.
    #[error("{op}: empty input of shape {shape:?}")]
    Empty {
        /// The operation.
        op: &'static str,
        /// The offending shape.
        shape: (usize, usize),
    },
    /// NaN or infinity in uploaded data.
    #[error("{op}: non-finite value {value} at flat index {index}")]
    NonFinite {
        /// The operation.
        op: &'static str,
        /// Flat (row-major) index of the first bad element.
        index: usize,
        /// The value found there.
        value: f32,
    },
    /// A temperature that is not a positive finite number.
    #[error("{op}: temperature must be positive and finite, got {temperature}")]
    InvalidTemperature {
        /// The operation.
        op: &'static str,
        /// The value given.
        temperature: f32,
    },
    /// NT-Xent needs an even number (2N >= 2) of rows in the SimCLR layout.
    #[error("nt_xent: the SimCLR layout needs an even number of rows >= 2, got {rows}")]
    OddBatch {
        /// Rows given.
        rows: usize,
    },
    /// `k` outside `1..=min(candidates, MAX_K)`.
    #[error("top_k: k = {k} must be in 1..={max} (candidate columns and the kernel's limit)")]
    InvalidK {
        /// The k asked for.
        k: usize,
        /// The largest k possible here.
        max: usize,
    },
    /// A buffer larger than the device allows, or an index space over u32.
    #[error("{op}: {bytes} bytes exceed the device limit of {limit} bytes")]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// The size asked for.
        bytes: u64,
        /// The device's limit.
        limit: u64,
    },
    /// The device lacks a capability a kernel needs.
    #[error("{what}: the kernel needs {needed}, the device offers {available}")]
    Unsupported {
        /// Which limit.
        what: &'static str,
        /// What the kernel needs.
        needed: u64,
        /// What the device has.
        available: u64,
    },
    /// Mapping a buffer for reading failed.
    #[error("mapping a buffer for reading failed: {0}")]
    BufferMap(String),
    /// Waiting for the device failed (device lost, timeout).
    #[error("waiting for the GPU failed: {0}")]
    Poll(String),
    /// A shader or pipeline failed validation: a bug in this crate, reported rather
    /// than panicking so a caller can still fall back.
    #[error("pipeline {label}: {reason}")]
    Pipeline {
        /// The kernel.
        label: String,
        /// wgpu's message.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
