//! SWORD module `.conf` files: an INI-like text in `mods.d/`.
//!
//! ```text
//! [engKJV2006eb]                      the module name (section header)
//! DataPath=./modules/texts/ztext/engKJV2006eb/   relative to the library folder
//! ModDrv=zText   SourceType=OSIS   Encoding=UTF-8   CompressType=ZIP   BlockType=BOOK
//! Versification=KJV   Lang=en   Description=...   DistributionLicense=...
//! ```
//!
//! One `Key=Value` per line; `#` starts a comment line; a value ending in `\` continues on
//! the next line; a key may repeat (`GlobalOptionFilter`), and every value is kept. SWORD's
//! defaults apply to absent keys: `SourceType` plain text, `Encoding` Latin-1,
//! `CompressType` LZSS, `BlockType` CHAPTER, `Versification` KJV.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One module's configuration.
#[derive(Clone, Debug)]
pub struct ModuleConf {
    /// The module name (section header), e.g. `engKJV2006eb`.
    pub name: String,
    /// The `.conf` file it was read from.
    pub conf_path: PathBuf,
    /// The library folder (parent of `mods.d/`) that `DataPath` is relative to.
    pub library: PathBuf,
    entries: BTreeMap<String, Vec<String>>,
}

impl ModuleConf {
    /// Parses the text of a `.conf` file (one module section; a file with more sections is
    /// an error, as SWORD ships one module per file).
    pub fn parse(text: &str, conf_path: &Path, library: &Path) -> Result<Self> {
        let bad = |line: usize, reason: String| Error::BadConf {
            path: conf_path.to_path_buf(),
            line,
            reason,
        };
        let mut name: Option<String> = None;
        let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut lines = text.lines().enumerate().peekable();
        while let Some((i, raw)) = lines.next() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(section) = rest.strip_suffix(']') else {
                    return Err(bad(i + 1, format!("unclosed section header {line:?}")));
                };
                if name.is_some() {
                    return Err(bad(
                        i + 1,
                        "a second [section]: one module per .conf".into(),
                    ));
                }
                if section.trim().is_empty() {
                    return Err(bad(i + 1, "empty module name".into()));
                }
                name = Some(section.trim().to_string());
                continue;
            }
            if name.is_none() {
                return Err(bad(i + 1, "an entry before the [ModuleName] header".into()));
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(bad(i + 1, format!("expected Key=Value, found {line:?}")));
            };
            let mut value = value.trim().to_string();
            while value.ends_with('\\') {
                value.pop();
                match lines.next() {
                    Some((_, next)) => value.push_str(next.trim()),
                    None => break,
                }
            }
            entries
                .entry(key.trim().to_string())
                .or_default()
                .push(value);
        }
        let name = name.ok_or_else(|| bad(1, "no [ModuleName] header".into()))?;
        Ok(Self {
            name,
            conf_path: conf_path.to_path_buf(),
            library: library.to_path_buf(),
            entries,
        })
    }

    /// Reads and parses a `.conf` file; `library` is the folder `DataPath` is relative to.
    pub fn read(conf_path: &Path, library: &Path) -> Result<Self> {
        let bytes = std::fs::read(conf_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::MissingConf {
                    path: conf_path.to_path_buf(),
                }
            } else {
                Error::io(conf_path, e)
            }
        })?;
        // Encoding=Latin-1 modules may have Latin-1 .conf files: map bytes to chars then.
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
        };
        Self::parse(&text, conf_path, library)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of a repeated `key`.
    pub fn get_all(&self, key: &str) -> &[String] {
        self.entries.get(key).map_or(&[], Vec::as_slice)
    }

    /// `Description=`, or the empty string.
    pub fn description(&self) -> &str {
        self.get("Description").unwrap_or("")
    }

    /// `Lang=` (e.g. `en`, `es`), or the empty string.
    pub fn language(&self) -> &str {
        self.get("Lang").unwrap_or("")
    }

    /// `Abbreviation=`, or the module name.
    pub fn abbreviation(&self) -> &str {
        self.get("Abbreviation").unwrap_or(&self.name)
    }

    /// `Versification=` (SWORD's default: KJV).
    pub fn versification(&self) -> &str {
        self.get("Versification").unwrap_or("KJV")
    }

    /// `ModDrv=` (the storage driver, e.g. `zText`).
    pub fn driver(&self) -> &str {
        self.get("ModDrv").unwrap_or("")
    }

    /// `SourceType=` (markup: OSIS, ThML, GBF; SWORD's default: plain text).
    pub fn source_type(&self) -> &str {
        self.get("SourceType").unwrap_or("Plaintext")
    }

    /// `Encoding=` (SWORD's default: Latin-1).
    pub fn encoding(&self) -> &str {
        self.get("Encoding").unwrap_or("Latin-1")
    }

    /// `CompressType=` (SWORD's default for zText: LZSS).
    pub fn compress_type(&self) -> &str {
        self.get("CompressType").unwrap_or("LZSS")
    }

    /// `BlockType=` (SWORD's default: CHAPTER).
    pub fn block_type(&self) -> &str {
        self.get("BlockType").unwrap_or("CHAPTER")
    }

    /// `DistributionLicense=`, or the empty string.
    pub fn license(&self) -> &str {
        self.get("DistributionLicense").unwrap_or("")
    }

    /// True for a Bible text module (`Category=Biblical Texts`, or a Bible driver when
    /// `Category` is absent).
    pub fn is_bible(&self) -> bool {
        match self.get("Category") {
            Some(c) => c.eq_ignore_ascii_case("Biblical Texts"),
            None => matches!(
                self.driver().to_ascii_lowercase().as_str(),
                "ztext" | "ztext4" | "rawtext" | "rawtext4"
            ),
        }
    }

    /// The folder of the module's data files: `library / DataPath`.
    pub fn data_dir(&self) -> Result<PathBuf> {
        let rel = self.get("DataPath").ok_or_else(|| Error::MissingConfKey {
            path: self.conf_path.clone(),
            key: "DataPath",
        })?;
        let rel = rel.trim_start_matches("./");
        Ok(self.library.join(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KJV: &str = "## comment\n[engKJV2006eb]\nAbbreviation=KJV\nDescription=King James Version\n\
DataPath=./modules/texts/ztext/engKJV2006eb/\nModDrv=zText\nSourceType=OSIS\nEncoding=UTF-8\n\
GlobalOptionFilter=OSISStrongs\nGlobalOptionFilter=OSISFootnotes\nAbout=line one\\\n line two\n\
Lang=en\nCategory=Biblical Texts\n";

    #[test]
    fn parses_keys_repeats_and_continuations() {
        let c =
            ModuleConf::parse(KJV, Path::new("/lib/mods.d/kjv.conf"), Path::new("/lib")).unwrap();
        assert_eq!(c.name, "engKJV2006eb");
        assert_eq!(c.abbreviation(), "KJV");
        assert_eq!(
            c.get_all("GlobalOptionFilter"),
            ["OSISStrongs", "OSISFootnotes"]
        );
        assert_eq!(c.get("About"), Some("line oneline two"));
        assert_eq!(
            c.data_dir().unwrap(),
            Path::new("/lib/modules/texts/ztext/engKJV2006eb/")
        );
        assert_eq!(c.versification(), "KJV");
        assert_eq!(c.compress_type(), "LZSS");
        assert!(c.is_bible());
    }

    #[test]
    fn malformed_confs_name_file_and_line() {
        let p = Path::new("/lib/mods.d/x.conf");
        for (text, line) in [
            ("[a]\nno equals sign\n", 2),
            ("Key=before header\n", 1),
            ("[a\n", 1),
            ("[a]\n[b]\n", 2),
            ("# nothing\n", 1),
        ] {
            match ModuleConf::parse(text, p, Path::new("/lib")) {
                Err(Error::BadConf { path, line: l, .. }) => {
                    assert_eq!(path, p);
                    assert_eq!(l, line, "{text:?}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let c = ModuleConf::parse("[a]\nLang=en\n", p, Path::new("/lib")).unwrap();
        assert!(matches!(
            c.data_dir(),
            Err(Error::MissingConfKey {
                key: "DataPath",
                ..
            })
        ));
    }
}
