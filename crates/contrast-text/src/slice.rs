//! The embedded Bible slice: a few thousand public-domain verses aligned across KJV, WEB
//! and RV1909, compiled in so that text runs and tests work on a machine without the SWORD
//! modules.
//!
//! `data/bible-slice.tsv.gz` (provenance, licence and checksum in `data/README.md`) is a
//! gzip TSV: a header `reference kjv web es`, then one verse per line, `Book C:V`, then the
//! three texts exactly as this crate's reader gives them from the installed modules. It
//! holds Genesis, Ruth and Jonah (Old Testament: train) and Mark and John (New Testament:
//! test), every verse that is non-empty in all three modules.
//!
//! Datasets `bible-slice:A-B` with `A`, `B` two of `kjv`, `web`, `es`; e.g.
//! `bible-slice:web-es` (English-Spanish) and `bible-slice:kjv-web` (paraphrases).

use crate::align::AlignReport;
use crate::error::{Error, Result};
use crate::pairs::{PairDataset, PairOrigin, TextPair};
use crate::sword::{Reference, Testament, Versification};
use flate2::read::GzDecoder;
use std::io::Read;

/// The compressed slice as compiled in.
pub const BIBLE_SLICE_GZ: &[u8] = include_bytes!("../data/bible-slice.tsv.gz");

/// The slice's texts, in column order.
pub const SLICE_TEXTS: [&str; 3] = ["kjv", "web", "es"];
/// The module each column was read from.
pub const SLICE_MODULES: [&str; 3] = ["engKJV2006eb", "engWEB2015eb", "spaRV1909eb"];
/// The header line.
pub const SLICE_HEADER: &str = "reference\tkjv\tweb\tes";

/// One verse of the slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceVerse {
    /// The reference.
    pub reference: Reference,
    /// Its testament (Old = train, New = test).
    pub testament: Testament,
    /// KJV, WEB, RV1909 texts (the order of [`SLICE_TEXTS`]).
    pub texts: [String; 3],
}

/// Parses `Book C:V` against the KJV table (which every slice reference is in).
pub fn parse_reference(s: &str) -> Option<(Reference, Testament)> {
    let (book, cv) = s.split_once(' ')?;
    let (c, v) = cv.split_once(':')?;
    let b = Versification::kjv().book(book)?;
    let r = Reference {
        book: b.osis,
        chapter: c.parse().ok()?,
        verse: v.parse().ok()?,
    };
    Versification::kjv().index(&r).map(|(t, _)| (r, t))
}

/// Decodes the embedded slice.
pub fn slice_verses() -> Result<Vec<SliceVerse>> {
    let mut text = String::new();
    GzDecoder::new(BIBLE_SLICE_GZ)
        .read_to_string(&mut text)
        .map_err(|e| Error::BadEmbeddedSlice {
            line: 0,
            reason: e.to_string(),
        })?;
    let mut lines = text.lines().enumerate();
    let bad = |line: usize, reason: String| Error::BadEmbeddedSlice {
        line: line + 1,
        reason,
    };
    match lines.next() {
        Some((_, SLICE_HEADER)) => {}
        other => {
            return Err(bad(
                0,
                format!("header {other:?}, expected {SLICE_HEADER:?}"),
            ));
        }
    }
    lines
        .map(|(i, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            let [r, a, b, c] = f.as_slice() else {
                return Err(bad(i, format!("{} fields, expected 4", f.len())));
            };
            let (reference, testament) =
                parse_reference(r).ok_or_else(|| bad(i, format!("bad reference {r:?}")))?;
            Ok(SliceVerse {
                reference,
                testament,
                texts: [a.to_string(), b.to_string(), c.to_string()],
            })
        })
        .collect()
}

fn column(name: &str, spec: &str) -> Result<usize> {
    SLICE_TEXTS
        .iter()
        .position(|t| t.eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::BadDatasetSpec {
            spec: spec.to_string(),
            reason: format!("{name:?} is not in the embedded slice (kjv, web, es)"),
        })
}

/// The pairs of `bible-slice:LEFT-RIGHT` (`LEFT`, `RIGHT` two different slice texts).
pub fn slice_pairs(left: &str, right: &str) -> Result<PairDataset> {
    let name = format!("bible-slice:{left}-{right}");
    let (l, r) = (column(left, &name)?, column(right, &name)?);
    if l == r {
        return Err(Error::BadDatasetSpec {
            spec: name,
            reason: "the two sides are the same text".into(),
        });
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for v in slice_verses()? {
        let pair = TextPair {
            left: v.texts[l].clone(),
            right: v.texts[r].clone(),
            origin: PairOrigin::Verse(v.reference),
        };
        match v.testament {
            Testament::Old => train.push(pair),
            Testament::New => test.push(pair),
        }
    }
    let report = AlignReport {
        left: SLICE_MODULES[l].into(),
        right: SLICE_MODULES[r].into(),
        train_pairs: train.len(),
        test_pairs: test.len(),
        ..AlignReport::default()
    };
    Ok(PairDataset {
        name,
        left_label: SLICE_MODULES[l].into(),
        right_label: SLICE_MODULES[r].into(),
        train,
        test,
        alignment: Some(report),
    })
}
