//! The crate's one error type: every variant names the file (and line, block or verse)
//! that was wrong, so a message says what to fix.

use std::path::PathBuf;

/// The `apt-get` line that installs the three Bible modules this crate's datasets use,
/// and `diatheke` (SWORD's command-line reader, used only to make test fixtures).
pub const SWORD_INSTALL_HINT: &str =
    "apt-get install sword-text-kjv sword-text-web sword-text-sparv diatheke";

/// What is wrong with one line of a pair file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairLineProblem {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line has no tab (a blank line counts).
    NoTab,
    /// The line has more than one tab (this many).
    ExtraTabs(usize),
    /// The text before the tab is empty or only whitespace.
    EmptyLeft,
    /// The text after the tab is empty or only whitespace.
    EmptyRight,
}

impl std::fmt::Display for PairLineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUtf8 => write!(f, "invalid UTF-8"),
            Self::NoTab => write!(f, "no tab (expected `left<TAB>right`)"),
            Self::ExtraTabs(n) => write!(f, "{n} tabs (expected exactly one)"),
            Self::EmptyLeft => write!(f, "the left side is empty"),
            Self::EmptyRight => write!(f, "the right side is empty"),
        }
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a pair file is malformed.
    #[error("{path}, line {line}: {problem}")]
    BadPairLine {
        /// The pair file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: PairLineProblem,
    },
    /// A pair folder lacks `train.tsv` or `test.tsv`.
    #[error("{dir}: no {name} (a pair folder holds train.tsv and test.tsv)")]
    MissingSplitFile {
        /// The folder.
        dir: PathBuf,
        /// The missing file name.
        name: &'static str,
    },
    /// A split came out empty, so there is nothing to train or to evaluate on.
    #[error("{source_name}: the {split} split is empty")]
    EmptySplit {
        /// The file, folder or dataset name.
        source_name: String,
        /// "train" or "test".
        split: &'static str,
    },
    /// No SWORD module configuration was found in any searched folder.
    #[error(
        "no SWORD Bible modules found (searched {searched:?}); install some with `{hint}`",
        hint = SWORD_INSTALL_HINT
    )]
    NoSwordModules {
        /// The library folders searched (each should hold `mods.d/`).
        searched: Vec<PathBuf>,
    },
    /// A SWORD library folder has no `mods.d/`, or a module's `.conf` file is missing.
    #[error("{path}: missing SWORD configuration (a library folder holds mods.d/*.conf)")]
    MissingConf {
        /// The path that should exist.
        path: PathBuf,
    },
    /// A `.conf` file cannot be parsed.
    #[error("{path}, line {line}: {reason}")]
    BadConf {
        /// The `.conf` file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A `.conf` file lacks a key the reader needs.
    #[error("{path}: no {key}= entry")]
    MissingConfKey {
        /// The `.conf` file.
        path: PathBuf,
        /// The key.
        key: &'static str,
    },
    /// No installed module has this name.
    #[error(
        "no SWORD module named {name:?} (installed: {available:?}; more with `{hint}`)",
        hint = SWORD_INSTALL_HINT
    )]
    UnknownModule {
        /// The name asked for.
        name: String,
        /// The installed module names.
        available: Vec<String>,
    },
    /// A short name matches more than one installed module.
    #[error("{name:?} matches several SWORD modules: {candidates:?}; use the full name")]
    AmbiguousModule {
        /// The name asked for.
        name: String,
        /// The modules it matches.
        candidates: Vec<String>,
    },
    /// The module uses a feature this reader does not implement.
    #[error("module {module}: unsupported {what}")]
    Unsupported {
        /// The module name.
        module: String,
        /// What is unsupported, with its value.
        what: String,
    },
    /// The module names a versification this crate has no table for.
    #[error("module {module}: unknown versification {name:?} (known: KJV, NRSVA)")]
    UnknownVersification {
        /// The module name.
        module: String,
        /// The versification named in its `.conf`.
        name: String,
    },
    /// A module data file is missing.
    #[error("{path}: missing module file")]
    MissingModuleFile {
        /// The file.
        path: PathBuf,
    },
    /// A module data file is truncated or corrupt.
    #[error("{path}: corrupt module file: {detail}")]
    CorruptModule {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the offending numbers.
        detail: String,
    },
    /// A dataset name (`pairs:PATH`, `bible:A-B`, `bible-slice:A-B`) cannot be understood.
    #[error("dataset {spec:?}: {reason}")]
    BadDatasetSpec {
        /// The name given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// The embedded slice failed to decode (a broken build).
    #[error("embedded Bible slice, line {line}: {reason}")]
    BadEmbeddedSlice {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A featurisation setting is out of range.
    #[error("feature configuration: {0}")]
    BadFeatureConfig(String),
    /// A feature id is not below the bucket count it should index.
    #[error("feature id {id} in bag {bag} is not below the bucket count {buckets}")]
    FeatureIdOutOfRange {
        /// The id.
        id: u32,
        /// The bag (row) holding it.
        bag: usize,
        /// The bucket count.
        buckets: u32,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
