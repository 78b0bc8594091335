//! Generating the default data set (60,000 transitions, 40 x 64 frames) beside reading it
//! back from the cache, so the ratio says what the cache saves.
//!
//! `cargo bench -p contrast-env --bench generate`

use criterion::{Criterion, criterion_group, criterion_main};

use contrast_env::{
    Cache, CacheStatus, GenerationSettings, System, generate, load_or_generate, read_splits,
};

fn data_set(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    for system in System::ALL {
        let mut group = c.benchmark_group(format!("{system}_60k"));
        group.sample_size(10);
        for distractors in [false, true] {
            let mut settings = GenerationSettings::new(system);
            settings.distractors = distractors;
            let tag = if distractors { "distractors" } else { "clean" };
            group.bench_function(format!("generate_{tag}"), |b| {
                b.iter(|| generate(&settings).expect("generate"))
            });
            let (_, status) =
                load_or_generate(&settings, &Cache::Dir(dir.path().to_path_buf())).expect("cache");
            let CacheStatus::Written(path) = status else {
                panic!("cache not written: {status:?}");
            };
            group.bench_function(format!("read_cache_{tag}"), |b| {
                b.iter(|| read_splits(&path, &settings).expect("read"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, data_set);
criterion_main!(benches);
