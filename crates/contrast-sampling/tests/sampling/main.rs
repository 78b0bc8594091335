//! Property and unit tests of contrast-sampling, one module per source module, each
//! checking the fast code against a brute-force reference on small random inputs.

mod distance_weighted;
mod hard_negatives;
mod layout;
mod queue;
mod sampler;
mod strategies;
mod temporal;
mod triplets;
