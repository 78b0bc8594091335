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
