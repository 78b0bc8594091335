//! `contrast bench train-step --batch N [--chunk-size C]`: time the trainer's own step (the
//! model, recipe and optimizer of `contrast train`) on one batch of `N` samples, whole or as a
//! cached-gradient step in chunks of `C`, and report the process's peak resident memory.
//!
//! The batch cycles over the training split (the `r`-th pass over it draws the views of
//! epoch `r`), so `N` may exceed the number of training samples. Measure the memory with the
//! operating system's accounting, one process per setting:
//!
//! ```text
//! /usr/bin/time -v contrast bench train-step --batch 16384 --chunk-size 256 --steps 1
//! ```
//!
//! Under `mpirun` (with `--distributed`, a build with the feature `mpi`), `--batch` is the
//! global batch: every rank steps on its shard, and rank 0 also reports the bytes each step
//! moved and the share of the step spent inside collective operations (moving data and
//! waiting for the other ranks).

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use contrast::collective::shard_range;
use contrast::train::batch::{Batch, Input};
use contrast::train::config::{EncoderKind, Method, TrainConfig};
use contrast::train::distributed::mpi_ranks;
use contrast::train::recipes::views_per_sample;
use contrast::train::tasks;
use contrast::train::trainer::Trainer;

/// Arguments of `contrast bench train-step`.
#[derive(Args, Debug)]
pub struct TrainStepArgs {
    /// Samples per batch (two views each for SimCLR).
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// Samples encoded at a time (a cached-gradient step); unset: the plain step.
    #[arg(long)]
    pub chunk_size: Option<usize>,
    /// Contrastive recipe.
    #[arg(long, value_enum, default_value_t = Method::Simclr)]
    pub method: Method,
    /// Encoder architecture.
    #[arg(long, value_enum, default_value_t = EncoderKind::Cnn)]
    pub encoder: EncoderKind,
    /// Dataset whose training split the batch cycles over.
    #[arg(long, default_value = "mnist5k")]
    pub dataset: String,
    /// Timed steps (each on the same batch).
    #[arg(long, default_value_t = 1)]
    pub steps: usize,
    /// Seed of the weights and the views.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Data-parallel over the MPI ranks of `mpirun` (implied when mpirun started this
    /// process): `--batch` is the global batch, sharded over the ranks.
    #[arg(long)]
    pub distributed: bool,
}

/// Runs `contrast bench train-step`.
pub fn run(a: TrainStepArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.batch >= 2, "--batch must be at least 2");
    anyhow::ensure!(a.steps >= 1, "--steps must be at least 1");
    let mut config = TrainConfig {
        dataset: a.dataset.clone(),
        method: a.method,
        encoder: a.encoder,
        chunk_size: a.chunk_size,
        seed: a.seed,
        epochs: 1,
        warmup_epochs: 0,
        ..TrainConfig::default()
    };
    let task = tasks::load(&config).context("loading the dataset")?;
    let source = task.source(&config, views_per_sample(&config))?;
    // The trainer's schedule needs a batch size its data can fill; the step takes any batch.
    config.batch_size = a.batch.min(source.len());
    let mut trainer = Trainer::new(&config, task.as_ref()).context("building the trainer")?;
    let mut batch = cycled_batch(source.as_ref(), a.batch)?;
    if a.distributed || contrast::collective::launched_by_mpi() {
        let ranks = mpi_ranks()?;
        let shard = shard_range(batch.len(), ranks.world(), ranks.rank())?;
        batch = batch.samples(shard);
        trainer.distribute(ranks)?;
    }
    let mut times = Vec::with_capacity(a.steps);
    let mut cpu = Vec::with_capacity(a.steps);
    let mut comm = Vec::with_capacity(a.steps);
    let mut loss = f32::NAN;
    for _ in 0..a.steps {
        let stats = trainer.ranks.as_ref().map(|r| r.communicator().stats());
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        loss = trainer.step(&batch, 0)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        cpu.push(cpu_seconds().zip(cpu_start).map(|(b, a)| (b - a) * 1e3));
        if let (Some(ranks), Some(before)) = (&trainer.ranks, stats) {
            comm.push(ranks.communicator().stats().since(&before));
        }
    }
    if trainer.ranks.as_ref().is_some_and(|r| !r.is_root()) {
        // Only rank 0 prints; the others have stepped in lock-step with it.
        return Ok(());
    }
    let ranks_note = match (&trainer.ranks, comm.first()) {
        (Some(ranks), Some(first)) => {
            let busy_ms: f64 = comm.iter().map(|c| c.busy_ns as f64 / 1e6).sum();
            let total_ms: f64 = times.iter().sum();
            format!(
                " ranks={} shard={} comm_bytes_per_step={} comm_share={:.1}%",
                ranks.world(),
                batch.len(),
                first.total_bytes(),
                100.0 * busy_ms / total_ms
            )
        }
        _ => String::new(),
    };
    times.sort_by(f64::total_cmp);
    // CPU time of all threads: on a loaded machine it moves less than the wall clock.
    let mut cpu: Vec<f64> = cpu.into_iter().flatten().collect();
    cpu.sort_by(f64::total_cmp);
    let chunk = a
        .chunk_size
        .map_or("whole batch".to_string(), |c| format!("chunks of {c}"));
    println!(
        "{:?} {:?} batch={} ({chunk}) threads={} median_step={:.1} ms (min {:.1}, max {:.1}) cpu_step={} loss={loss:.4} peak_rss={}{ranks_note}",
        a.method,
        a.encoder,
        a.batch,
        threads(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        cpu.get(cpu.len() / 2)
            .map_or("unknown".into(), |ms| format!("{ms:.0} ms")),
        peak_rss().map_or("unknown".into(), |kib| format!(
            "{:.2} GiB",
            kib as f64 / (1 << 20) as f64
        )),
    );
    Ok(())
}

/// `n` samples cycling over the source: pass `r` over it uses the views of epoch `r`.
fn cycled_batch(source: &dyn contrast::train::source::Source, n: usize) -> anyhow::Result<Batch> {
    let len = source.len();
    let parts: Vec<Batch> = (0..n.div_ceil(len))
        .map(|round| {
            let indices: Vec<usize> = (0..len.min(n - round * len)).collect();
            source.batch(&indices, round as u64)
        })
        .collect::<Result<_, _>>()?;
    let views = (0..parts[0].views.len())
        .map(|v| Input::concat(&parts.iter().map(|p| &p.views[v]).collect::<Vec<_>>()))
        .collect::<Result<_, _>>()?;
    Ok(Batch {
        views,
        labels: parts.iter().flat_map(|p| p.labels.clone()).collect(),
        ids: parts.iter().flat_map(|p| p.ids.clone()).collect(),
        context: None,
    })
}

/// Worker threads rayon uses: `RAYON_NUM_THREADS`, else every core.
fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// User + system CPU time of the whole process so far, in seconds (from `/proc`, which counts
/// in ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The process's peak resident set (`VmHWM`, KiB), where `/proc` has it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
