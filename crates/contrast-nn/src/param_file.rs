//! Parameter files in the safetensors format (readable by `safetensors.torch.load_file`).
//!
//! Layout (from the format): an 8-byte little-endian header length, a JSON header mapping each
//! name to `{dtype, shape, data_offsets}`, then the raw little-endian tensor bytes. We write
//! `F32` for `f32` models and `F64` for `f64`, and `{"format": "pt"}` metadata as PyTorch does.
//!
//! Writes are atomic: the bytes go to a temporary file in the destination folder, which is
//! flushed to disk and then renamed over the destination, so a crash leaves either the old
//! file or the new one, never half of one. Reads accept `F32` or `F64` tensors for either
//! float type (f32 -> f64 -> f32 is exact); anything else, and any truncated or corrupt file,
//! is a typed [`Error`].

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{ArrayD, IxDyn, NdFloat};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::scalar;
use crate::state::StateDict;

/// Write `state` to `path` as safetensors, atomically, with `{"format": "pt"}` metadata.
pub fn save_safetensors<A: NdFloat>(path: impl AsRef<Path>, state: &StateDict<A>) -> Result<()> {
    save_safetensors_with_metadata(path, state, &HashMap::new())
}

/// As [`save_safetensors`], adding string `metadata` (e.g. a model config) to the header.
pub fn save_safetensors_with_metadata<A: NdFloat>(
    path: impl AsRef<Path>,
    state: &StateDict<A>,
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let path = path.as_ref();
    let dtype = dtype_of::<A>();
    let bytes: Vec<(&String, Vec<usize>, Vec<u8>)> = state
        .iter()
        .map(|(name, a)| (name, a.shape().to_vec(), encode(a, dtype)))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            let view = TensorView::new(dtype, shape.clone(), data).map_err(|e| corrupt(path, e))?;
            Ok((name.as_str(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut meta = metadata.clone();
    meta.entry("format".into()).or_insert_with(|| "pt".into());
    let buffer = safetensors::serialize(views, Some(meta)).map_err(|e| corrupt(path, e))?;
    write_atomically(path, &buffer)
}

/// Read every tensor of the safetensors file at `path`.
pub fn load_safetensors<A: NdFloat>(path: impl AsRef<Path>) -> Result<StateDict<A>> {
    let path = path.as_ref();
    let buffer = fs::read(path).map_err(|source| io_err(path, source))?;
    let file = SafeTensors::deserialize(&buffer).map_err(|e| corrupt(path, e))?;
    let mut out = StateDict::new();
    for (name, view) in file.iter() {
        let values = decode(name, view.dtype(), view.data())?;
        let a =
            ArrayD::from_shape_vec(IxDyn(view.shape()), values).map_err(|e| corrupt(path, e))?;
        out.insert(name.to_string(), a);
    }
    Ok(out)
}

/// The string metadata of the safetensors file at `path` (empty when it has none).
pub fn load_metadata(path: impl AsRef<Path>) -> Result<HashMap<String, String>> {
    let path = path.as_ref();
    let buffer = fs::read(path).map_err(|source| io_err(path, source))?;
    let (_, meta) = SafeTensors::read_metadata(&buffer).map_err(|e| corrupt(path, e))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Write `bytes` to `path` through a synced temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_err(path, std::io::Error::other("path has no file name")))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a folder, so best effort.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&tmp);
        io_err(path, source)
    })
}

/// Removes the temporary files that [`write_atomically`] left in `dir` when its process was
/// killed between creating and renaming them (`.NAME.tmp-PID-N`, any `PID` but this
/// process's). Call it where one process owns the folder, e.g. when a run starts or resumes.
/// Returns how many were removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let own = format!(".tmp-{}-", std::process::id());
    let entries = fs::read_dir(dir).map_err(|source| io_err(dir, source))?;
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|source| io_err(dir, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && is_temporary_name(&name) && !name.contains(&own) {
            fs::remove_file(entry.path()).map_err(|source| io_err(&entry.path(), source))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// `.NAME.tmp-PID-N` with decimal `PID` and `N`.
fn is_temporary_name(name: &str) -> bool {
    let Some((_, tail)) = name.rsplit_once(".tmp-") else {
        return false;
    };
    let mut parts = tail.split('-');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

fn dtype_of<A: NdFloat>() -> Dtype {
    // NdFloat is implemented by f32 and f64 only.
    if std::mem::size_of::<A>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn encode<A: NdFloat>(a: &ArrayD<A>, dtype: Dtype) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len() * (dtype.bitsize() / 8));
    for &v in a.iter() {
        let v = v.to_f64().expect("floats convert to f64");
        match dtype {
            Dtype::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

fn decode<A: NdFloat>(name: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<A>> {
    match dtype {
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|c| scalar(f32::from_le_bytes(c.try_into().expect("chunk of 4")) as f64))
            .collect()),
        Dtype::F64 => Ok(data
            .chunks_exact(8)
            .map(|c| scalar(f64::from_le_bytes(c.try_into().expect("chunk of 8"))))
            .collect()),
        other => Err(Error::Dtype {
            name: name.to_string(),
            dtype: format!("{other:?}"),
        }),
    }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_go_and_everything_else_stays() {
        let dir = tempfile::tempdir().unwrap();
        let own = format!(".ckpt.safetensors.tmp-{}-0", std::process::id());
        let names = [
            ".ckpt.safetensors.tmp-999999-3", // a killed writer's: removed
            ".metrics.jsonl.tmp-12-0",        // removed
            own.as_str(),                     // this process's own, maybe in flight: kept
            "ckpt.safetensors",               // kept
            ".hidden",                        // kept
            ".notes.tmp-12",                  // not the pattern: kept
            ".notes.tmp-12-x",                // kept
        ];
        for name in names {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(remove_stale_temporaries(dir.path()).unwrap(), 2);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = names[2..].iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn write_atomically_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
