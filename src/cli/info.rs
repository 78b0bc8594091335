//! `contrast info`: which datasets this machine can load and which GPU adapter wgpu finds.

use clap::Args;
use contrast::data::resolve;
use contrast::gpu::GpuContext;

/// Arguments of `contrast info` (none).
#[derive(Args, Debug)]
pub struct InfoArgs {}

/// Runs `contrast info`.
pub fn run(_args: InfoArgs) -> anyhow::Result<()> {
    println!("datasets:");
    for spec in ["digits", "mnist5k", "fashion-mnist"] {
        match resolve(spec) {
            Ok(d) => {
                let (c, h, w) = d.train.shape().dims();
                println!(
                    "  {spec:<14} train {:>6}  test {:>6}  {c}x{h}x{w}  {} classes",
                    d.train.len(),
                    d.test.len(),
                    d.train.num_classes()
                );
            }
            Err(e) => println!("  {spec:<14} not available: {e}"),
        }
    }
    println!("  also: mnist:PATH, kmnist:PATH, cifar10:PATH, cifar100:PATH, folder:PATH");
    match GpuContext::new() {
        Ok(ctx) => println!("gpu: {}", ctx.adapter()),
        Err(e) => println!("gpu: none ({e}); --device auto falls back to the CPU"),
    }
    Ok(())
}
