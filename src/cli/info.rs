//! `contrast info`: which datasets this machine can load (images, and the Bible modules for
//! text, or the line that installs them) and which GPU adapter wgpu finds.

use clap::Args;
use contrast::data::resolve;
use contrast::gpu::GpuContext;
use contrast::text::{SWORD_INSTALL_HINT, SwordLibrary};

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
    println!("text (--method pairs):");
    println!("  bible-slice:web-es (embedded), also bible-slice:kjv-web; pairs:PATH");
    match SwordLibrary::system() {
        Ok(library) if !library.bibles().is_empty() => {
            for b in library.bibles() {
                println!(
                    "  bible module {:<14} {:<3} {:<7} {}",
                    b.name, b.language, b.versification, b.description
                );
            }
            println!("  datasets: bible:A-B of two modules, e.g. bible:web-es, bible:kjv-web");
        }
        Ok(_) => println!("  no Bible modules found; install: {SWORD_INSTALL_HINT}"),
        Err(e) => println!("  no Bible modules ({e}); install: {SWORD_INSTALL_HINT}"),
    }
    match GpuContext::new() {
        Ok(ctx) => println!("gpu: {}", ctx.adapter()),
        Err(e) => println!("gpu: none ({e}); --device auto falls back to the CPU"),
    }
    Ok(())
}
