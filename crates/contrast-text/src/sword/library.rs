//! Finding installed SWORD modules by name.
//!
//! A library folder holds `mods.d/*.conf` and the data files the confs point to. The
//! system search order is: `$SWORD_PATH` (SWORD's own variable), `~/.sword`,
//! `/usr/share/sword` (where Debian's `sword-text-*` packages install),
//! `/usr/local/share/sword`; folders without `mods.d/` are skipped.
//!
//! A module is named, case-insensitively, by (in this order) its section name
//! (`engWEB2015eb`), its `Abbreviation=` (`WEB`), or its `Lang=` code when exactly one
//! installed Bible has that language (`es`); a name matching several modules at the same
//! step is an error listing them.

use super::bible::Bible;
use super::conf::ModuleConf;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The modules of one or more library folders.
#[derive(Clone, Debug, Default)]
pub struct SwordLibrary {
    modules: Vec<ModuleConf>,
    searched: Vec<PathBuf>,
}

/// What `contrast info` prints about one Bible module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BibleSummary {
    /// Module name.
    pub name: String,
    /// `Description=`.
    pub description: String,
    /// `Versification=`.
    pub versification: String,
    /// `Lang=`.
    pub language: String,
    /// `DistributionLicense=`.
    pub license: String,
}

impl SwordLibrary {
    /// The modules of one library folder; errors when it has no `mods.d/` or a `.conf`
    /// cannot be parsed.
    pub fn open(folder: impl AsRef<Path>) -> Result<Self> {
        let folder = folder.as_ref();
        let mods = folder.join("mods.d");
        if !mods.is_dir() {
            return Err(Error::MissingConf { path: mods });
        }
        let mut lib = Self::default();
        lib.add_folder(folder)?;
        Ok(lib)
    }

    fn add_folder(&mut self, folder: &Path) -> Result<()> {
        let mods = folder.join("mods.d");
        self.searched.push(folder.to_path_buf());
        let mut confs: Vec<PathBuf> = std::fs::read_dir(&mods)
            .map_err(|e| Error::io(&mods, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("conf"))
            })
            .collect();
        confs.sort();
        for conf in confs {
            let m = ModuleConf::read(&conf, folder)?;
            // `globals.conf` and friends hold no module data.
            if m.get("DataPath").is_none() {
                continue;
            }
            if !self
                .modules
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&m.name))
            {
                self.modules.push(m);
            }
        }
        Ok(())
    }

    /// The system library folders, in search order.
    pub fn system_folders() -> Vec<PathBuf> {
        let mut v = Vec::new();
        if let Some(p) = std::env::var_os("SWORD_PATH") {
            v.push(PathBuf::from(p));
        }
        if let Some(home) = std::env::var_os("HOME") {
            v.push(PathBuf::from(home).join(".sword"));
        }
        v.push(PathBuf::from("/usr/share/sword"));
        v.push(PathBuf::from("/usr/local/share/sword"));
        v
    }

    /// The modules of every system folder that exists (an earlier folder wins a name
    /// clash). An empty library is not an error here: see [`Self::bibles`] and
    /// [`crate::SWORD_INSTALL_HINT`].
    pub fn system() -> Result<Self> {
        let mut lib = Self::default();
        for folder in Self::system_folders() {
            if folder.join("mods.d").is_dir() {
                lib.add_folder(&folder)?;
            } else {
                lib.searched.push(folder);
            }
        }
        Ok(lib)
    }

    /// Every module found.
    pub fn modules(&self) -> &[ModuleConf] {
        &self.modules
    }

    /// The folders searched.
    pub fn searched(&self) -> &[PathBuf] {
        &self.searched
    }

    /// The Bible modules found, for `contrast info`; empty when none is installed (then
    /// print [`crate::SWORD_INSTALL_HINT`]).
    pub fn bibles(&self) -> Vec<BibleSummary> {
        self.modules
            .iter()
            .filter(|m| m.is_bible())
            .map(|m| BibleSummary {
                name: m.name.clone(),
                description: m.description().to_string(),
                versification: m.versification().to_string(),
                language: m.language().to_string(),
                license: m.license().to_string(),
            })
            .collect()
    }

    /// The module a name refers to (see the module docs for the lookup order).
    pub fn find(&self, name: &str) -> Result<&ModuleConf> {
        if self.modules.is_empty() {
            return Err(Error::NoSwordModules {
                searched: self.searched.clone(),
            });
        }
        let steps: [&dyn Fn(&ModuleConf) -> bool; 3] = [
            &|m| m.name.eq_ignore_ascii_case(name),
            &|m| m.abbreviation().eq_ignore_ascii_case(name),
            &|m| m.is_bible() && m.language().eq_ignore_ascii_case(name),
        ];
        for step in steps {
            let hits: Vec<&ModuleConf> = self.modules.iter().filter(|m| step(m)).collect();
            match hits.as_slice() {
                [one] => return Ok(one),
                [] => {}
                many => {
                    return Err(Error::AmbiguousModule {
                        name: name.to_string(),
                        candidates: many.iter().map(|m| m.name.clone()).collect(),
                    });
                }
            }
        }
        Err(Error::UnknownModule {
            name: name.to_string(),
            available: self.modules.iter().map(|m| m.name.clone()).collect(),
        })
    }

    /// Reads a Bible module's verses as plain text.
    pub fn read_bible(&self, name: &str) -> Result<Bible> {
        Bible::read(self.find(name)?)
    }
}
