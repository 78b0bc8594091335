//! Sentence pairs (two texts that mean the same: a translation or a paraphrase), split into
//! train and test, and the tab-separated pair files of Tatoeba, OPUS and
//! sentence-transformers.
//!
//! **File format**: UTF-8 text, one pair per line, `left<TAB>right`, exactly one tab, both
//! sides non-empty after trimming surrounding whitespace (which is removed). Line endings
//! `\n` or `\r\n`; a UTF-8 byte-order mark at the start is skipped; the file may end with or
//! without a newline. Anything else (invalid UTF-8, a line without a tab or with two, a
//! blank line, an empty side) is an error naming the file and the 1-based line.
//!
//! **Split**: `pairs:FOLDER` reads `FOLDER/train.tsv` and `FOLDER/test.tsv`. `pairs:FILE`
//! holds out a fixed ~10% for testing: a line goes to **test when
//! `bucket(FNV-1a-64(line bytes), 10) = 0`** (xor-folded FNV-1a 64, then mod 10: see
//! [`crate::hash`]), where the bytes are the line as stored, without its `\n` or `\r\n`. The rule depends on the line alone, so it does not
//! change when lines are added, removed or reordered, and repeated lines land on the same
//! side (no copy of a test pair in training).

use crate::error::{Error, PairLineProblem, Result};
use crate::hash::{bucket, fnv1a64};
use crate::sword::Reference;
use std::path::Path;

/// Where a pair came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairOrigin {
    /// Line of a pair file (1-based).
    Line(usize),
    /// A Bible verse aligned across two modules.
    Verse(Reference),
}

/// Two texts that mean the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPair {
    /// The first text (e.g. English).
    pub left: String,
    /// The second text (e.g. its Spanish translation, or a paraphrase).
    pub right: String,
    /// Where it came from.
    pub origin: PairOrigin,
}

/// Pairs split into train and test.
#[derive(Clone, Debug)]
pub struct PairDataset {
    /// The dataset name it was loaded from (e.g. `bible:web-es`).
    pub name: String,
    /// What the left side holds (a module name, a language, or `left`).
    pub left_label: String,
    /// What the right side holds.
    pub right_label: String,
    /// Training pairs.
    pub train: Vec<TextPair>,
    /// Held-out pairs.
    pub test: Vec<TextPair>,
    /// For Bible datasets: what alignment skipped.
    pub alignment: Option<crate::align::AlignReport>,
}

/// True when a pair-file line belongs to the test split (the fixed 10% hold-out).
pub fn is_held_out(line: &[u8]) -> bool {
    bucket(fnv1a64(line), 10) == 0
}

/// Parses a pair file's bytes; `path` names it in errors. Returns `(line bytes, pair)` so a
/// caller can apply the hold-out to the stored bytes.
fn parse(bytes: &[u8], path: &Path) -> Result<Vec<(Vec<u8>, TextPair)>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(out);
    }
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let bad = |problem| Error::BadPairLine {
            path: path.to_path_buf(),
            line: i + 1,
            problem,
        };
        let text = std::str::from_utf8(line).map_err(|_| bad(PairLineProblem::InvalidUtf8))?;
        let tabs = text.matches('\t').count();
        let (left, right) = match tabs {
            0 => return Err(bad(PairLineProblem::NoTab)),
            1 => text.split_once('\t').expect("one tab"),
            n => return Err(bad(PairLineProblem::ExtraTabs(n))),
        };
        let (left, right) = (left.trim(), right.trim());
        if left.is_empty() {
            return Err(bad(PairLineProblem::EmptyLeft));
        }
        if right.is_empty() {
            return Err(bad(PairLineProblem::EmptyRight));
        }
        out.push((
            line.to_vec(),
            TextPair {
                left: left.to_string(),
                right: right.to_string(),
                origin: PairOrigin::Line(i + 1),
            },
        ));
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<(Vec<u8>, TextPair)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes, path)
}

/// Reads every pair of one file, in order (no split).
pub fn read_pair_file(path: impl AsRef<Path>) -> Result<Vec<TextPair>> {
    Ok(read(path.as_ref())?.into_iter().map(|(_, p)| p).collect())
}

fn non_empty(d: PairDataset) -> Result<PairDataset> {
    for (split, v) in [("train", &d.train), ("test", &d.test)] {
        if v.is_empty() {
            return Err(Error::EmptySplit {
                source_name: d.name.clone(),
                split,
            });
        }
    }
    Ok(d)
}

/// Reads `pairs:PATH`: a folder with `train.tsv` and `test.tsv`, or one file split by the
/// fixed hold-out. Errors when either split is empty.
pub fn read_pairs(path: impl AsRef<Path>) -> Result<PairDataset> {
    let path = path.as_ref();
    let name = format!("pairs:{}", path.display());
    let (train, test) = if path.is_dir() {
        let file = |n: &'static str| {
            let p = path.join(n);
            if p.is_file() {
                read_pair_file(&p)
            } else {
                Err(Error::MissingSplitFile {
                    dir: path.to_path_buf(),
                    name: n,
                })
            }
        };
        (file("train.tsv")?, file("test.tsv")?)
    } else {
        let (test, train): (Vec<_>, Vec<_>) = read(path)?
            .into_iter()
            .partition(|(line, _)| is_held_out(line));
        (
            train.into_iter().map(|(_, p)| p).collect(),
            test.into_iter().map(|(_, p)| p).collect(),
        )
    };
    non_empty(PairDataset {
        name,
        left_label: "left".into(),
        right_label: "right".into(),
        train,
        test,
        alignment: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("pairs.tsv")
    }

    #[test]
    fn parses_lines_crlf_bom_and_trims() {
        let v = parse(b"\xEF\xBB\xBFHello\tHola\r\n  a b \t c\n", p()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].1.left.as_str(), v[0].1.right.as_str()),
            ("Hello", "Hola")
        );
        assert_eq!(v[0].0, b"Hello\tHola");
        assert_eq!((v[1].1.left.as_str(), v[1].1.right.as_str()), ("a b", "c"));
        assert_eq!(v[1].1.origin, PairOrigin::Line(2));
        assert!(parse(b"", p()).unwrap().is_empty());
        assert_eq!(parse(b"x\ty", p()).unwrap().len(), 1);
    }

    #[test]
    fn bad_lines_name_the_line() {
        for (bytes, line, problem) in [
            (&b"a\tb\nno tab here\n"[..], 2, PairLineProblem::NoTab),
            (b"a\tb\n\nc\td\n", 2, PairLineProblem::NoTab),
            (b"a\tb\tc\n", 1, PairLineProblem::ExtraTabs(2)),
            (b"a\tb\n \tb\n", 2, PairLineProblem::EmptyLeft),
            (b"a\t  \n", 1, PairLineProblem::EmptyRight),
            (b"ok\tfine\n\xff\xfe\tx\n", 2, PairLineProblem::InvalidUtf8),
        ] {
            match parse(bytes, p()) {
                Err(Error::BadPairLine {
                    path,
                    line: l,
                    problem: pr,
                }) => {
                    assert_eq!((path.as_path(), l, &pr), (p(), line, &problem));
                }
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn hold_out_is_about_ten_percent_and_by_content() {
        let lines: Vec<String> = (0..10_000)
            .map(|i| format!("sentence {i}\tfrase {i}"))
            .collect();
        let held = lines.iter().filter(|l| is_held_out(l.as_bytes())).count();
        assert!((900..1100).contains(&held), "{held}");
        // Frozen (computed independently in Python): the rule must not change between
        // releases, or a model's test pairs would leak into a later run's training.
        let first: Vec<usize> = (0..20)
            .filter(|&i| is_held_out(lines[i].as_bytes()))
            .collect();
        assert_eq!(first, [17]);
    }
}
