//! Dataset names: what `--dataset` accepts for text.
//!
//! | name | pairs |
//! |---|---|
//! | `pairs:PATH` | a pair file (fixed ~10% hold-out) or a folder with `train.tsv`, `test.tsv` ([`crate::pairs`]) |
//! | `bible:A-B` | verses of installed SWORD modules `A` and `B` aligned by reference; Old Testament train, New Testament test ([`mod@crate::align`]). `A`, `B`: a module name, `Abbreviation=` or unique `Lang=`, case-insensitive: `bible:web-es` (WEB - RV1909, English-Spanish), `bible:kjv-web` (paraphrases), `bible:engKJV2006eb-spaRV1909eb` |
//! | `bible-slice:A-B` | the same from the compiled-in slice, `A`, `B` in `kjv`, `web`, `es` ([`crate::slice`]) |

use crate::align::align;
use crate::error::{Error, Result};
use crate::pairs::{PairDataset, read_pairs};
use crate::slice::slice_pairs;
use crate::sword::SwordLibrary;
use std::path::PathBuf;

/// A parsed dataset name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextDataset {
    /// `pairs:PATH`.
    Pairs(PathBuf),
    /// `bible:A-B`.
    Bible {
        /// Left module name.
        left: String,
        /// Right module name.
        right: String,
    },
    /// `bible-slice:A-B`.
    Slice {
        /// Left slice text.
        left: String,
        /// Right slice text.
        right: String,
    },
}

fn two_sides(spec: &str, rest: &str) -> Result<(String, String)> {
    let parts: Vec<&str> = rest.split('-').collect();
    match parts.as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(Error::BadDatasetSpec {
            spec: spec.to_string(),
            reason: "expected two names joined by one '-', e.g. bible:web-es".into(),
        }),
    }
}

impl TextDataset {
    /// Parses a dataset name; `None` when it is not a text dataset (no `pairs:`, `bible:` or
    /// `bible-slice:` prefix), so a caller can try image datasets next.
    pub fn parse(spec: &str) -> Option<Result<Self>> {
        let (kind, rest) = spec.split_once(':')?;
        Some(match kind {
            "pairs" if rest.is_empty() => Err(Error::BadDatasetSpec {
                spec: spec.into(),
                reason: "no path after pairs:".into(),
            }),
            "pairs" => Ok(Self::Pairs(PathBuf::from(rest))),
            "bible" => two_sides(spec, rest).map(|(left, right)| Self::Bible { left, right }),
            "bible-slice" => two_sides(spec, rest).map(|(left, right)| Self::Slice { left, right }),
            _ => return None,
        })
    }

    /// Loads it; `bible:` reads from `library`.
    pub fn load_with(&self, library: &SwordLibrary) -> Result<PairDataset> {
        match self {
            Self::Pairs(p) => read_pairs(p),
            Self::Slice { left, right } => slice_pairs(left, right),
            Self::Bible { left, right } => {
                let l = library.read_bible(left)?;
                let r = library.read_bible(right)?;
                let d = align(&format!("bible:{left}-{right}"), &l, &r);
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
        }
    }

    /// Loads it; `bible:` reads from the system SWORD library.
    pub fn load(&self) -> Result<PairDataset> {
        match self {
            Self::Bible { .. } => self.load_with(&SwordLibrary::system()?),
            _ => self.load_with(&SwordLibrary::default()),
        }
    }
}

/// Parses and loads a text dataset name; an error when the name is not a text dataset.
pub fn load_dataset(spec: &str) -> Result<PairDataset> {
    TextDataset::parse(spec)
        .unwrap_or_else(|| {
            Err(Error::BadDatasetSpec {
                spec: spec.into(),
                reason: "not a text dataset (pairs:PATH, bible:A-B, bible-slice:A-B)".into(),
            })
        })?
        .load()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert!(TextDataset::parse("mnist5k").is_none());
        assert_eq!(
            TextDataset::parse("pairs:/tmp/x.tsv").unwrap().unwrap(),
            TextDataset::Pairs("/tmp/x.tsv".into())
        );
        assert_eq!(
            TextDataset::parse("bible:web-es").unwrap().unwrap(),
            TextDataset::Bible {
                left: "web".into(),
                right: "es".into()
            }
        );
        for bad in [
            "bible:web",
            "bible:a-b-c",
            "bible:-es",
            "bible-slice:web-",
            "pairs:",
        ] {
            assert!(
                matches!(
                    TextDataset::parse(bad),
                    Some(Err(Error::BadDatasetSpec { .. }))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            load_dataset("cifar10:/x"),
            Err(Error::BadDatasetSpec { .. })
        ));
    }
}
