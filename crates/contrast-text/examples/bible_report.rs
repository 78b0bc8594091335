//! Reads the installed Bible modules, aligns the standard pairs and featurises them,
//! printing counts, skipped verses and wall times (the figures in the crate's report).
//!
//! `cargo run --release -p contrast-text --example bible_report`

use contrast_text::{
    FeatureConfig, Featurizer, SwordLibrary, TextDataset, Tfidf, align, cosine_matrix,
};
use std::time::Instant;

fn main() -> Result<(), contrast_text::Error> {
    let lib = SwordLibrary::system()?;
    for b in lib.bibles() {
        println!(
            "module {} ({}, {}, {}, {})",
            b.name, b.description, b.versification, b.language, b.license
        );
    }
    for spec in ["bible:web-es", "bible:kjv-web", "bible:kjv-es"] {
        let t = Instant::now();
        let d = TextDataset::parse(spec)
            .expect("text dataset")?
            .load_with(&lib)?;
        let read = t.elapsed();
        let rep = d
            .alignment
            .as_ref()
            .expect("bible datasets report alignment");
        println!("{spec}: read + aligned in {:.2} s", read.as_secs_f64());
        println!("  {rep}");
        for (what, v) in [
            ("empty left", &rep.empty_left),
            ("empty right", &rep.empty_right),
            ("empty both", &rep.empty_both),
        ] {
            let shown: Vec<String> = v.iter().take(12).map(|r| r.to_string()).collect();
            println!(
                "  {what}: {}{}",
                shown.join(", "),
                if v.len() > 12 { ", ..." } else { "" }
            );
        }
        let f = Featurizer::new(FeatureConfig::default())?;
        let texts: Vec<&str> = d
            .train
            .iter()
            .chain(&d.test)
            .flat_map(|p| [p.left.as_str(), p.right.as_str()])
            .collect();
        let t = Instant::now();
        let bags = f.bags(&texts);
        println!(
            "  featurised {} sentences ({} ids, {:.1} per sentence) in {:.2} s",
            texts.len(),
            bags.ids.len(),
            bags.ids.len() as f64 / texts.len() as f64,
            t.elapsed().as_secs_f64()
        );
        let mut used = bags.ids.clone();
        used.sort_unstable();
        used.dedup();
        println!(
            "  distinct ids used: {} of {}",
            used.len(),
            f.config().buckets
        );
        // The TF-IDF baseline: idf on both training sides; top-1 retrieval in consecutive
        // pools of 1,000 test pairs (the remainder dropped), both directions.
        let train: Vec<&str> = d
            .train
            .iter()
            .flat_map(|p| [p.left.as_str(), p.right.as_str()])
            .collect();
        let tfidf = Tfidf::fit(&f.bags(&train), f.config().buckets)?;
        let (mut hits_lr, mut hits_rl, mut n) = (0usize, 0usize, 0usize);
        for pool in d.test.chunks_exact(1000) {
            let l: Vec<&str> = pool.iter().map(|p| p.left.as_str()).collect();
            let r: Vec<&str> = pool.iter().map(|p| p.right.as_str()).collect();
            let sim = cosine_matrix(
                &tfidf.transform(&f.bags(&l))?,
                &tfidf.transform(&f.bags(&r))?,
            );
            for i in 0..pool.len() {
                let best_r = (0..pool.len())
                    .max_by(|&a, &b| sim[[i, a]].total_cmp(&sim[[i, b]]))
                    .unwrap();
                let best_l = (0..pool.len())
                    .max_by(|&a, &b| sim[[a, i]].total_cmp(&sim[[b, i]]))
                    .unwrap();
                hits_lr += usize::from(best_r == i);
                hits_rl += usize::from(best_l == i);
            }
            n += pool.len();
        }
        println!(
            "  TF-IDF top-1 in pools of 1,000 ({n} test pairs): left->right {:.3}, right->left {:.3}",
            hits_lr as f64 / n as f64,
            hits_rl as f64 / n as f64
        );
    }
    // One module alone.
    let t = Instant::now();
    let web = lib.read_bible("web")?;
    println!(
        "read {} ({} verses) in {:.2} s",
        web.module,
        web.verses.len(),
        t.elapsed().as_secs_f64()
    );
    let _ = align("x", &web, &web);
    Ok(())
}
