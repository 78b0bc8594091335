//! Reading, aligning and featurising Bible pairs, and the TF-IDF baseline, each beside a
//! reference in the same run: the reader on the installed modules vs the compiled-in slice
//! (the cost of the full Bible), featurising with n-grams vs words only, the sparse cosine
//! matrix vs dot products pair by pair.
//!
//! `cargo bench -p contrast-text` (the installed-module group needs the sword-text-*
//! packages and is left out, with a note, when they are absent).

use contrast_text::{
    FeatureConfig, Featurizer, SwordLibrary, TextDataset, Tfidf, cosine_matrix, load_dataset,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    g.bench_function("bible-slice:web-es (3,222 verses)", |b| {
        b.iter(|| black_box(load_dataset("bible-slice:web-es").unwrap()))
    });
    match SwordLibrary::system() {
        Ok(lib) if lib.find("engWEB2015eb").is_ok() && lib.find("spaRV1909eb").is_ok() => {
            let spec = TextDataset::parse("bible:web-es").unwrap().unwrap();
            g.bench_function("bible:web-es (31,077 pairs, two modules)", |b| {
                b.iter(|| black_box(spec.load_with(&lib).unwrap()))
            });
        }
        _ => eprintln!("note: SWORD modules not installed; bible:web-es not measured"),
    }
    g.finish();
}

fn featurise(c: &mut Criterion) {
    let d = load_dataset("bible-slice:web-es").unwrap();
    let texts: Vec<&str> = d
        .train
        .iter()
        .flat_map(|p| [p.left.as_str(), p.right.as_str()])
        .collect();
    let mut g = c.benchmark_group("featurise 3,330 sentences");
    g.sample_size(10);
    let full = Featurizer::new(FeatureConfig::default()).unwrap();
    let words = Featurizer::new(FeatureConfig {
        max_n: 0,
        ..FeatureConfig::default()
    })
    .unwrap();
    g.bench_function("words + 3..5-grams", |b| {
        b.iter(|| black_box(full.bags(&texts)))
    });
    g.bench_function("words only", |b| b.iter(|| black_box(words.bags(&texts))));
    g.finish();
}

fn tfidf(c: &mut Criterion) {
    let d = load_dataset("bible-slice:web-es").unwrap();
    let f = Featurizer::new(FeatureConfig::default()).unwrap();
    let train: Vec<&str> = d
        .train
        .iter()
        .flat_map(|p| [p.left.as_str(), p.right.as_str()])
        .collect();
    let t = Tfidf::fit(&f.bags(&train), f.config().buckets).unwrap();
    let left: Vec<&str> = d.test.iter().map(|p| p.left.as_str()).collect();
    let right: Vec<&str> = d.test.iter().map(|p| p.right.as_str()).collect();
    let (a, b) = (
        t.transform(&f.bags(&left)).unwrap(),
        t.transform(&f.bags(&right)).unwrap(),
    );
    let mut g = c.benchmark_group("cosine 1,557 x 1,557");
    g.sample_size(10);
    g.bench_function("inverted index", |bn| {
        bn.iter(|| black_box(cosine_matrix(&a, &b)))
    });
    g.bench_function("pairwise sparse dots", |bn| {
        bn.iter(|| {
            let s: f32 = a
                .iter()
                .map(|x| b.iter().map(|y| x.dot(y)).sum::<f32>())
                .sum();
            black_box(s)
        })
    });
    g.finish();
}

criterion_group!(benches, read, featurise, tfidf);
criterion_main!(benches);
