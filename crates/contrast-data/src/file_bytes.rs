//! Reading a data file whole, decompressing it when it is gzip (detected by its magic bytes,
//! not its name, so `train-images-idx3-ubyte` may be either).

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The file's bytes, gunzipped if the file is gzip.
///
/// # Errors
/// [`Error::Io`] when it cannot be read; [`Error::Gzip`] for a corrupt or truncated stream.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decompress(path, raw)
}

/// `raw` itself, or its decompression when it starts with the gzip magic. `path` names it
/// in errors (for embedded data it is a label, not a real file).
pub(crate) fn decompress(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| Error::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_and_gzip_files_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
        std::fs::write(dir.path().join("plain"), &data).unwrap();
        std::fs::write(dir.path().join("packed"), gzip(&data)).unwrap();
        assert_eq!(read_file(&dir.path().join("plain")).unwrap(), data);
        assert_eq!(read_file(&dir.path().join("packed")).unwrap(), data);
    }

    #[test]
    fn truncated_gzip_and_missing_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let packed = gzip(&[7u8; 10_000]);
        let path = dir.path().join("cut.gz");
        std::fs::write(&path, &packed[..packed.len() / 2]).unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(matches!(err, Error::Gzip { .. }), "{err}");
        assert!(err.to_string().contains("cut.gz"));
        let err = read_file(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("absent"));
    }
}
