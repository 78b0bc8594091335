//! The crate's one error type: every variant carries the offending value.

use std::path::PathBuf;

/// Result alias used throughout `contrast-env`.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while stepping an environment, drawing a frame, generating
/// trajectories or reading the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An action outside `0..num_actions`.
    #[error("{env}: action {action} is not one of the {num_actions} actions")]
    InvalidAction {
        /// The environment.
        env: &'static str,
        /// The action given.
        action: usize,
        /// Number of actions the environment has.
        num_actions: usize,
    },
    /// An environment with more actions than a byte can store.
    #[error("{env} has {num_actions} actions; trajectories store actions as bytes (at most 256)")]
    TooManyActions {
        /// The environment.
        env: &'static str,
        /// Its number of actions.
        num_actions: usize,
    },
    /// `step` before the first `reset` (or `set_state`).
    #[error("{env}: step called before reset")]
    NotReset {
        /// The environment.
        env: &'static str,
    },
    /// `step` after the episode terminated or was truncated.
    #[error("{env}: step called after the episode ended at step {steps}; call reset")]
    EpisodeOver {
        /// The environment.
        env: &'static str,
        /// Steps the episode lasted.
        steps: usize,
    },
    /// A state vector of the wrong length.
    #[error("{env}: a state has {expected} variables, got {got}")]
    StateLength {
        /// The environment.
        env: &'static str,
        /// Number of state variables.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A state with a NaN or infinite variable.
    #[error("{env}: state variable {name} is {value}, not finite")]
    NonFiniteState {
        /// The environment.
        env: &'static str,
        /// The variable's name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A frame stack of zero frames.
    #[error("the frame stack must hold at least one frame, got 0")]
    ZeroFrameStack,
    /// A time offset of zero between an observation and its future.
    #[error("the time offset k between an observation and its future must be at least 1")]
    ZeroOffset,
    /// No episode is long enough for the requested time offset.
    #[error(
        "no valid (t, t + {offset}) pair: the longest episode has {longest} transitions; \
         choose an offset of at most {longest}"
    )]
    NoValidPairs {
        /// The requested offset k.
        offset: usize,
        /// Transitions in the longest episode.
        longest: usize,
    },
    /// A split asked to hold no transitions.
    #[error("the {split} split must hold at least one transition, got 0")]
    ZeroTransitions {
        /// `train` or `test`.
        split: &'static str,
    },
    /// An image too small to draw the system at the stated scale.
    #[error(
        "a {height}x{width} image is too small to draw {system}: it needs a width of at least \
         {min_width} and, at width {width}, a height of at least {min_height}"
    )]
    ImageTooSmall {
        /// The system.
        system: &'static str,
        /// Height asked for.
        height: usize,
        /// Width asked for.
        width: usize,
        /// Smallest height that holds the system at this width.
        min_height: usize,
        /// Smallest width.
        min_width: usize,
    },
    /// A probability or fraction outside `[0, 1]`.
    #[error("{what} must lie in [0, 1], got {value}")]
    InvalidProbability {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// An episode or time index past the end.
    #[error("{what} {index} out of range (there are {len})")]
    IndexOutOfRange {
        /// `episode` or `time step`.
        what: &'static str,
        /// The index given.
        index: usize,
        /// Number of valid indices.
        len: usize,
    },
    /// A dataset or system name this crate does not know.
    #[error("unknown system {spec:?}; known: {known}")]
    UnknownSystem {
        /// What was asked for.
        spec: String,
        /// The accepted names.
        known: &'static str,
    },
    /// A cache file that is not a complete, intact set for the settings asked for.
    #[error("{path}: unusable cache file: {reason}")]
    CorruptCache {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
