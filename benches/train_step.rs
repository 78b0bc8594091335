//! Criterion benchmark `train_step`: one SimCLR step (two views of 256 28x28 images, NT-Xent
//! T = 0.5, backward, SGD momentum 0.9) of the MLP and the CNN of issue 7, each with the
//! fused NT-Xent node of `contrast-losses` beside the same loss composed from autodiff
//! primitives. `shared/peers/torch_step.py` times the same steps in PyTorch; compare the
//! ratio on one machine in one sitting (`RAYON_NUM_THREADS` = torch's `--threads`).

use contrast::losses::NtXentConfig;
use contrast::losses::autodiff::nt_xent_op;
use contrast::nn::simclr_step::{SimclrStep, StepModel};
use criterion::{Criterion, criterion_group, criterion_main};

fn simclr_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("simclr_step_b256");
    group.sample_size(10);
    for (name, model) in [("mlp", StepModel::Mlp), ("cnn", StepModel::Cnn)] {
        let mut step = SimclrStep::new(model, 256, 0).expect("benchmark model builds");
        let config = NtXentConfig::new(step.temperature());
        group.bench_function(format!("{name}/fused_loss"), |b| {
            b.iter(|| {
                step.step_with(|g, z| anyhow::Ok(nt_xent_op(g, z, &config)?))
                    .expect("step runs")
            })
        });
        group.bench_function(format!("{name}/composed_loss"), |b| {
            b.iter(|| step.step().expect("step runs"))
        });
    }
    group.finish();
}

criterion_group!(benches, simclr_step);
criterion_main!(benches);
