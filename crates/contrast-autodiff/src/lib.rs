//! `contrast-autodiff`: a minimal reverse-mode automatic differentiation engine.

pub mod gradcheck;
