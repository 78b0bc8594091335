//! Reads the installed Bible modules, aligns the standard pairs and featurises them,
//! printing counts, skipped verses and wall times (the figures in the crate's report).
//!
//! `cargo run --release -p contrast-text --example bible_report`

use contrast_text::{FeatureConfig, Featurizer, SwordLibrary, TextDataset, align};
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
