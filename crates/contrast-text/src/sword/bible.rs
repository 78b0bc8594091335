//! A Bible module read into plain-text verses.

use super::conf::ModuleConf;
use super::osis::{normalize_whitespace, osis_to_text};
use super::versification::{Reference, Testament, Versification};
use super::ztext::ZText;
use crate::error::{Error, Result};

/// One verse: its reference, its testament file and its plain text (empty when the module
/// has nothing there, e.g. WEB's Acts 8:37, which holds only a footnote).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verse {
    /// Book, chapter, verse.
    pub reference: Reference,
    /// Old or New Testament.
    pub testament: Testament,
    /// The text, markup removed (see [`crate::sword::osis`]).
    pub text: String,
}

/// The markup a module's `SourceType=` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Markup {
    Osis,
    Plain,
}

/// A module's verses in versification order.
#[derive(Clone, Debug)]
pub struct Bible {
    /// Module name.
    pub module: String,
    /// `Lang=` of the module.
    pub language: String,
    /// Its versification.
    pub versification: &'static Versification,
    /// Every verse of the testaments present, empty ones included.
    pub verses: Vec<Verse>,
}

impl Bible {
    /// Reads every verse of the module a `.conf` describes. OSIS and plain-text modules in
    /// UTF-8 or Latin-1 are read; ThML and GBF markup is reported as unsupported (none of
    /// the Debian-packaged KJV, WEB and RV1909 modules uses them).
    pub fn read(conf: &ModuleConf) -> Result<Self> {
        let unsupported = |what: String| Error::Unsupported {
            module: conf.name.clone(),
            what,
        };
        let markup = match conf.source_type().to_ascii_lowercase().as_str() {
            "osis" => Markup::Osis,
            "plaintext" | "plain" => Markup::Plain,
            other => {
                return Err(unsupported(format!(
                    "SourceType={other} (OSIS and plain text are read)"
                )));
            }
        };
        let latin1 = match conf
            .encoding()
            .to_ascii_lowercase()
            .replace('_', "-")
            .as_str()
        {
            "utf-8" | "utf8" => false,
            "latin-1" | "latin1" | "iso-8859-1" => true,
            other => return Err(unsupported(format!("Encoding={other}"))),
        };
        let z = ZText::from_conf(conf)?;
        let v11n = z.versification();
        let mut verses = Vec::new();
        for t in [Testament::Old, Testament::New] {
            let Some(entries) = z.entries(t)? else {
                continue;
            };
            let path = z.blocks_path(t).expect("present testament has a path");
            for (reference, vt, slot) in v11n.verses() {
                if vt != t {
                    continue;
                }
                let bytes = &entries[slot];
                let raw = if latin1 {
                    bytes.iter().map(|&b| char::from(b)).collect()
                } else {
                    String::from_utf8(bytes.clone()).map_err(|e| Error::CorruptModule {
                        path: path.to_path_buf(),
                        detail: format!("{reference} (slot {slot}) is not valid UTF-8: {e}"),
                    })?
                };
                let text = match markup {
                    Markup::Osis => osis_to_text(&raw),
                    Markup::Plain => normalize_whitespace(&raw),
                };
                verses.push(Verse {
                    reference,
                    testament: t,
                    text,
                });
            }
        }
        Ok(Self {
            module: conf.name.clone(),
            language: conf.language().to_string(),
            versification: v11n,
            verses,
        })
    }

    /// The verse at a reference, if the module has it.
    pub fn verse(&self, r: &Reference) -> Option<&Verse> {
        // Verses are in versification order: find by the index arithmetic, then confirm.
        let (t, _) = self.versification.index(r)?;
        self.verses
            .iter()
            .filter(|v| v.testament == t)
            .find(|v| v.reference == *r)
    }
}
