//! `contrast-losses`: see the workspace DESIGN for its place in the data path.

#[cfg(feature = "gpu")]
pub mod gpu;
