//! The on-disk cache of generated data sets: [`load_or_generate`].
//!
//! # Where and under which name
//!
//! The directory is `$XDG_CACHE_HOME/contrast`, or `$HOME/.cache/contrast` when
//! `XDG_CACHE_HOME` is unset ([`Cache::default_dir`]); [`Cache::Disabled`] turns caching off.
//! A data set is keyed by [`cache_key`]: the data version [`DATA_VERSION`] and every
//! generation setting except the frame stack (which only changes how frames are read).
//! The file is `<system>-<H>x<W>-<hash>.ctraj`, `hash` the 64-bit FNV-1a of the key in hex;
//! the key itself is stored inside and compared on reading, so a hash collision cannot
//! hand back the wrong data. [`DATA_VERSION`] is raised whenever the dynamics, the
//! rasteriser, the policies, the streams or this format change, so stale files are never
//! read (they stay on disk under their old names).
//!
//! # Format (version 1)
//!
//! 8 bytes `b"CTRAJ\0"` + the version as `u16` LE, then one gzip stream (fast level) of:
//!
//! ```text
//! key_len u32, key (UTF-8)
//! for train, then test:
//!     n_episodes u64
//!     per episode: len u64, terminated u8, truncated u8, policy u8 (0 uniform, 1 heuristic), stream u64
//!     actions  u8 x transitions
//!     rewards  f64 x transitions
//!     states   f64 x steps x state_dim
//!     frames   u8  x steps x H x W
//! crc32 u32 of every byte above in the stream
//! ```
//!
//! all integers and floats little-endian. Files are written to a temporary name in the same
//! directory, synced, and renamed into place, so a reader never sees half a file. A file
//! that fails any check (magic, gzip, checksum, key, lengths, trailing bytes) is never
//! trusted: [`load_or_generate`] regenerates the data and replaces it.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;

use crate::error::{Error, Result};
use crate::generate::{GenerationSettings, Split, TrajectorySplits, generate};
use crate::policy::PolicyKind;
use crate::transitions::{EpisodeInfo, Parts, TransitionSet};

/// Version of the generated data and of the file format; part of every cache key.
pub const DATA_VERSION: u16 = 1;

const MAGIC: &[u8; 6] = b"CTRAJ\0";

/// Where generated data sets are kept, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cache {
    /// Always generate; read and write nothing.
    Disabled,
    /// Keep data sets in this directory (created when needed).
    Dir(PathBuf),
}

impl Cache {
    /// `$XDG_CACHE_HOME/contrast`, else `$HOME/.cache/contrast`; `None` when neither
    /// variable is set.
    pub fn default_dir() -> Option<PathBuf> {
        let nonempty = |var| std::env::var_os(var).filter(|v| !v.is_empty());
        nonempty("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| nonempty("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .map(|base| base.join("contrast"))
    }

    /// The default directory, or [`Cache::Disabled`] when there is none.
    pub fn from_env() -> Self {
        Self::default_dir().map_or(Cache::Disabled, Cache::Dir)
    }
}

/// What [`load_or_generate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Caching is off: the data was generated.
    Disabled,
    /// Read from this file.
    Hit(PathBuf),
    /// Generated and stored in this new file.
    Written(PathBuf),
    /// The file was unusable (the reason says why): generated again and replaced.
    Replaced {
        /// The file.
        path: PathBuf,
        /// Why the old file was not used.
        reason: String,
    },
    /// Generated, but storing failed; the data returned is still complete.
    WriteFailed {
        /// The file.
        path: PathBuf,
        /// The error.
        reason: String,
    },
}

/// The cache key of `settings`: the data version and every setting that changes the
/// stored bytes.
pub fn cache_key(settings: &GenerationSettings) -> String {
    let s = settings;
    format!(
        "contrast-env/v{DATA_VERSION};system={};height={};width={};antialias={};\
         distractors={};train={};test={};heuristic_fraction={:?};epsilon={:?};seed={}",
        s.system,
        s.height,
        s.width,
        s.antialias,
        s.distractors,
        s.train_transitions,
        s.test_transitions,
        s.heuristic_fraction,
        s.epsilon,
        s.seed
    )
}

/// The cache file for `settings` in `dir`.
pub fn cache_file(dir: &Path, settings: &GenerationSettings) -> PathBuf {
    let hash = cache_key(settings)
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    dir.join(format!(
        "{}-{}x{}-{hash:016x}.ctraj",
        settings.system, settings.height, settings.width
    ))
}

/// The data set for `settings`: read from the cache when an intact file exists, otherwise
/// generated (and stored, when caching is on). Bad settings are an error before anything
/// is read or written.
pub fn load_or_generate(
    settings: &GenerationSettings,
    cache: &Cache,
) -> Result<(TrajectorySplits, CacheStatus)> {
    settings.validate()?;
    let dir = match cache {
        Cache::Disabled => return Ok((generate(settings)?, CacheStatus::Disabled)),
        Cache::Dir(dir) => dir,
    };
    let path = cache_file(dir, settings);
    let stale = match read_splits(&path, settings) {
        Ok(splits) => return Ok((splits, CacheStatus::Hit(path))),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => None,
        Err(e) => Some(e.to_string()),
    };
    let splits = generate(settings)?;
    let status = match (write_splits(&path, settings, &splits), stale) {
        (Err(e), _) => CacheStatus::WriteFailed {
            path,
            reason: e.to_string(),
        },
        (Ok(()), None) => CacheStatus::Written(path),
        (Ok(()), Some(reason)) => CacheStatus::Replaced { path, reason },
    };
    Ok((splits, status))
}

/// Writes `splits` (generated with `settings`) to `path` atomically, creating the
/// directory if needed.
pub fn write_splits(
    path: &Path,
    settings: &GenerationSettings,
    splits: &TrajectorySplits,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = write_file(&tmp, settings, splits).and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        // Best effort: the temporary file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

fn write_file(
    path: &Path,
    settings: &GenerationSettings,
    splits: &TrajectorySplits,
) -> io::Result<()> {
    let mut file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    file.write_all(MAGIC)?;
    file.write_all(&DATA_VERSION.to_le_bytes())?;
    let mut out = Checksummed::new(GzEncoder::new(file, Compression::fast()));
    let key = cache_key(settings);
    out.write_all(&(key.len() as u32).to_le_bytes())?;
    out.write_all(key.as_bytes())?;
    for set in [&splits.train, &splits.test] {
        let episodes = set.episodes();
        out.write_all(&(episodes.len() as u64).to_le_bytes())?;
        for ep in episodes {
            out.write_all(&(ep.len as u64).to_le_bytes())?;
            let policy = match ep.policy {
                PolicyKind::Uniform => 0u8,
                PolicyKind::Heuristic => 1,
            };
            out.write_all(&[u8::from(ep.terminated), u8::from(ep.truncated), policy])?;
            out.write_all(&ep.stream.to_le_bytes())?;
        }
        let buffers = set.buffers();
        out.write_all(buffers.actions)?;
        write_f64s(&mut out, buffers.rewards)?;
        write_f64s(&mut out, buffers.states)?;
        out.write_all(buffers.frames)?;
    }
    let crc = out.crc.sum();
    let mut gz = out.inner;
    gz.write_all(&crc.to_le_bytes())?;
    let file = gz.finish()?;
    file.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()
}

/// Reads the data set stored at `path` for `settings`; any defect is
/// [`Error::CorruptCache`] (a missing file is [`Error::Io`] with kind `NotFound`).
pub fn read_splits(path: &Path, settings: &GenerationSettings) -> Result<TrajectorySplits> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let corrupt = |reason: String| Error::CorruptCache {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic)
        .map_err(|e| corrupt(format!("no header: {e}")))?;
    if &magic[..6] != MAGIC {
        return Err(corrupt("not a contrast-env cache file".into()));
    }
    let version = u16::from_le_bytes([magic[6], magic[7]]);
    if version != DATA_VERSION {
        return Err(corrupt(format!(
            "version {version}, expected {DATA_VERSION}"
        )));
    }
    let mut input = Checksummed::new(GzDecoder::new(file));
    let splits = read_payload(&mut input, settings).map_err(|e| corrupt(e.to_string()))?;
    let computed = input.crc.sum();
    let mut rest = input.inner;
    let mut stored = [0u8; 4];
    rest.read_exact(&mut stored)
        .map_err(|e| corrupt(format!("no checksum: {e}")))?;
    if u32::from_le_bytes(stored) != computed {
        return Err(corrupt("checksum mismatch".into()));
    }
    // The gzip stream must end here (reading to its end also checks gzip's own CRC), and
    // so must the file.
    let mut probe = [0u8; 1];
    if rest.read(&mut probe).map_err(|e| corrupt(e.to_string()))? != 0 {
        return Err(corrupt("data after the checksum".into()));
    }
    let mut file = rest.into_inner();
    if file.read(&mut probe).map_err(|e| corrupt(e.to_string()))? != 0 {
        return Err(corrupt("trailing bytes after the gzip stream".into()));
    }
    Ok(splits)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn read_payload(
    input: &mut impl Read,
    settings: &GenerationSettings,
) -> io::Result<TrajectorySplits> {
    let key_len = read_u32(input)? as usize;
    let expected = cache_key(settings);
    if key_len != expected.len() {
        return Err(invalid("stored for other settings".into()));
    }
    let mut key = vec![0u8; key_len];
    input.read_exact(&mut key)?;
    if key != expected.as_bytes() {
        return Err(invalid(format!(
            "stored for other settings: {}",
            String::from_utf8_lossy(&key)
        )));
    }
    let mut sets = Vec::with_capacity(2);
    for split in [Split::Train, Split::Test] {
        sets.push(read_set(input, settings, split)?);
    }
    let test = sets.pop().expect("two splits");
    let train = sets.pop().expect("two splits");
    Ok(TrajectorySplits { train, test })
}

fn read_set(
    input: &mut impl Read,
    settings: &GenerationSettings,
    split: Split,
) -> io::Result<TransitionSet> {
    let want = settings.transitions(split);
    let n = read_u64(input)? as usize;
    // Bound every length by the settings before allocating from it.
    if n == 0 || n > want {
        return Err(invalid(format!(
            "{}: {n} episodes for {want} transitions",
            split.name()
        )));
    }
    let mut episodes = Vec::with_capacity(n);
    for _ in 0..n {
        let len = read_u64(input)? as usize;
        let mut flags = [0u8; 3];
        input.read_exact(&mut flags)?;
        let policy = match flags[2] {
            0 => PolicyKind::Uniform,
            1 => PolicyKind::Heuristic,
            p => return Err(invalid(format!("policy code {p}"))),
        };
        if len > want || flags[0] > 1 || flags[1] > 1 {
            return Err(invalid(format!(
                "bad episode record (len {len}, flags {flags:?})"
            )));
        }
        let stream = read_u64(input)?;
        episodes.push(EpisodeInfo {
            len,
            terminated: flags[0] == 1,
            truncated: flags[1] == 1,
            policy,
            stream,
        });
    }
    let transitions: usize = episodes.iter().map(|e| e.len).sum();
    if transitions != want {
        return Err(invalid(format!(
            "{}: {transitions} transitions, expected {want}",
            split.name()
        )));
    }
    let steps = transitions + n;
    let mut actions = vec![0u8; transitions];
    input.read_exact(&mut actions)?;
    let rewards = read_f64s(input, transitions)?;
    let states = read_f64s(input, steps * settings.system.state_dim())?;
    let mut frames = vec![0u8; steps * settings.height * settings.width];
    input.read_exact(&mut frames)?;
    let parts = Parts {
        system: settings.system,
        height: settings.height,
        width: settings.width,
        episodes,
        frames,
        states,
        actions,
        rewards,
    };
    TransitionSet::assemble(parts, settings.frame_stack).map_err(invalid)
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    input.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(input: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn write_f64s(out: &mut impl Write, values: &[f64]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(8 * 4096);
    for chunk in values.chunks(4096) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        out.write_all(&buf)?;
    }
    Ok(())
}

fn read_f64s(input: &mut impl Read, n: usize) -> io::Result<Vec<f64>> {
    let mut bytes = vec![0u8; 8 * n];
    input.read_exact(&mut bytes)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

/// A reader or writer that keeps the CRC-32 of the bytes passing through.
struct Checksummed<T> {
    inner: T,
    crc: flate2::Crc,
}

impl<T> Checksummed<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            crc: flate2::Crc::new(),
        }
    }
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Checksummed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}
