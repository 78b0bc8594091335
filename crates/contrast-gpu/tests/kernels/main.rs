//! Every kernel against its CPU reference on the adapter the environment selects (CI:
//! Mesa lavapipe with `WGPU_BACKEND=vulkan CONTRAST_REQUIRE_GPU=1`). Sizes stay
//! <= 256 because a software adapter runs at a few GFLOP/s.

mod errors;
mod matmul;
mod normalize;
mod nt_xent;
mod reference_gradients;
mod support;
mod top_k;
