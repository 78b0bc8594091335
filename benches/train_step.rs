//! Criterion benchmark `train_step`: one SimCLR step (two views of 256 28x28 images, NT-Xent
//! T = 0.5 as one graph node, backward, SGD momentum 0.9) of the MLP and the CNN, the step of
//! `contrast bench step` (whose harness this file includes). Its reference is PyTorch:
//! `scripts/peer_step.py` times the same steps; compare the ratio on one machine in one
//! sitting (`RAYON_NUM_THREADS` = the script's `--threads`).

// The CLI's harness: this benchmark needs only the step, not the timing helpers or the
// harness's unit tests (which run with the CLI's).
#[allow(dead_code, unused_imports)]
#[path = "../src/cli/simclr_step.rs"]
mod simclr_step;

use criterion::{Criterion, criterion_group, criterion_main};
use simclr_step::{SimclrStep, StepModel};

fn simclr_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("simclr_step_b256");
    group.sample_size(10);
    for (name, model) in [("mlp", StepModel::Mlp), ("cnn", StepModel::Cnn)] {
        let mut step = SimclrStep::new(model, 256, 0).expect("benchmark model builds");
        group.bench_function(name, |b| b.iter(|| step.step().expect("step runs")));
    }
    group.finish();
}

criterion_group!(benches, simclr_step);
criterion_main!(benches);
