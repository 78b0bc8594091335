//! The differentiable ops, one module per family. Each op's backward rule is written right
//! beside its forward computation, as a closure recorded on the tape.

pub(crate) mod broadcast;
mod elementwise;
mod embedding;
mod matmul;
mod norm;
mod reduce;
mod shape;
pub use embedding::{BagMode, Bags};
pub use norm::{BatchNormMode, BatchStats};
pub(crate) mod conv;
mod conv_block;
pub use conv_block::{BlockNorm, ConvBlockSpec};
mod dropout;
mod pool;
mod relu_pool;
