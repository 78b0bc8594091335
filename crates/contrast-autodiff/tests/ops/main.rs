//! Every op: a proptest gradient check in f64 against central finite differences, and a
//! forward check against a plain reference loop.

mod conv;
mod conv_block;
mod elementwise;
mod embedding;
mod matmul;
mod norm;
mod reduce;
mod shape;
mod support;
