//! A name filter that matches no adapter gives a typed error, not a panic. Alone in
//! its test binary because it sets an environment variable.

#[test]
fn unmatched_adapter_name_is_an_error() {
    // SAFETY: the only test in this process; no other thread reads the environment.
    unsafe { std::env::set_var("WGPU_ADAPTER_NAME", "no-such-adapter-3f9a") };
    match contrast_gpu::GpuContext::new() {
        Err(contrast_gpu::Error::NoAdapter { name_filter, .. }) => {
            assert_eq!(name_filter.as_deref(), Some("no-such-adapter-3f9a"));
        }
        Err(e) => panic!("expected NoAdapter, got {e}"),
        Ok(ctx) => panic!("expected NoAdapter, got {}", ctx.adapter()),
    }
}
