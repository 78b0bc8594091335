//! Writes the embedded Bible slice `data/bible-slice.tsv.gz` from the installed modules
//! (see `data/README.md`; run by `data/make_slice.sh`).
//!
//! `cargo run --release -p contrast-text --example make_bible_slice -- OUT.tsv.gz`

use contrast_text::slice::{SLICE_HEADER, SLICE_MODULES};
use contrast_text::{SwordLibrary, Testament};
use flate2::{Compression, GzBuilder};
use std::collections::HashMap;
use std::io::Write;

/// The books in the slice: Old Testament (train) then New Testament (test).
const BOOKS: [&str; 5] = ["Gen", "Ruth", "Jonah", "Mark", "John"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: make_bible_slice OUT.tsv.gz")?;
    let lib = SwordLibrary::system()?;
    let bibles = SLICE_MODULES
        .iter()
        .map(|m| lib.read_bible(m))
        .collect::<Result<Vec<_>, _>>()?;
    let by_ref: Vec<HashMap<_, _>> = bibles
        .iter()
        .map(|b| b.verses.iter().map(|v| (v.reference, v)).collect())
        .collect();
    let mut tsv = format!("{SLICE_HEADER}\n");
    let (mut kept, mut skipped, mut train) = (0, 0, 0);
    for v in bibles[0]
        .verses
        .iter()
        .filter(|v| BOOKS.contains(&v.reference.book))
    {
        let texts: Vec<&str> = by_ref
            .iter()
            .map(|m| m.get(&v.reference).map_or("", |x| x.text.as_str()))
            .collect();
        if texts
            .iter()
            .any(|t| t.is_empty() || t.contains(['\t', '\n']))
        {
            skipped += 1;
            continue;
        }
        tsv.push_str(&format!("{}\t{}\n", v.reference, texts.join("\t")));
        kept += 1;
        train += usize::from(v.testament == Testament::Old);
    }
    // mtime 0 and no file name: the same input gives the same bytes.
    let tmp = format!("{out}.tmp");
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(std::fs::File::create(&tmp)?, Compression::best());
    gz.write_all(tsv.as_bytes())?;
    gz.finish()?.sync_all()?;
    std::fs::rename(&tmp, &out)?;
    println!(
        "{out}: {kept} verses ({train} Old Testament, {} New Testament), {skipped} skipped; {} bytes of text",
        kept - train,
        tsv.len()
    );
    Ok(())
}
