//! The GPU matmul backend for the autodiff graph, behind the `gpu` feature (filled in by the GPU work).
