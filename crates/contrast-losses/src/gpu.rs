//! The fused NT-Xent kernel of `contrast-gpu` behind the `gpu` feature (filled in by the GPU work).
