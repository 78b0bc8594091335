//! Support for the fuzz targets of `contrast` (the targets are in `fuzz_targets/`).
//!
//! The loaders under test read paths, not byte slices, so each fuzz input is written to a
//! scratch file first ([`scratch`]); the loss target decodes its input into matrices and
//! hyper-parameters ([`loss_input`]).

pub mod loss_input;
pub mod scratch;
