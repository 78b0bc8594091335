//! IDX files, the format of MNIST, Fashion-MNIST, KMNIST and the embedded sets.
//!
//! Layout (all integers big-endian): a magic number `0x00 0x00 TT NN` where `TT = 0x08` means
//! unsigned bytes and `NN` is the number of dimensions; then `NN` dimensions as `u32`; then
//! `d_0 * d_1 * ... ` data bytes in row-major order. Images are `(n, rows, cols)`
//! (magic `0x00000803`), labels `(n,)` (magic `0x00000801`). Only unsigned-byte data is
//! accepted, which covers every image dataset in this format. The file may be gzip.
//!
//! The header is checked against the file length: a short file is [`Error::Truncated`],
//! a long one [`Error::TrailingBytes`] (it is probably some other file).

use std::path::Path;

use crate::dataset::{Dataset, ImageShape, Split};
use crate::error::{Error, Result};
use crate::file_bytes::{decompress, read_file};

/// IDX type code for unsigned bytes.
const UBYTE: u8 = 0x08;

/// A decoded IDX array of bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Row-major data, `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

/// Encodes `data` with dimensions `dims` as an (uncompressed) unsigned-byte IDX file.
///
/// # Panics
/// If `data.len()` is not the product of `dims`, or there are more than 255 dimensions or a
/// dimension above `u32::MAX` (caller bugs, not input errors).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert_eq!(
        dims.iter().product::<usize>(),
        data.len(),
        "IDX dims do not match data"
    );
    let ndims = u8::try_from(dims.len()).expect("at most 255 IDX dimensions");
    let mut out = vec![0, 0, UBYTE, ndims];
    for &d in dims {
        out.extend_from_slice(
            &u32::try_from(d)
                .expect("IDX dimension fits u32")
                .to_be_bytes(),
        );
    }
    out.extend_from_slice(data);
    out
}

/// Parses IDX bytes (already decompressed) that must have `ndims` dimensions.
///
/// # Errors
/// [`Error::BadMagic`], [`Error::Truncated`], [`Error::TrailingBytes`], all naming `path`.
pub fn parse_idx(path: &Path, bytes: &[u8], ndims: usize) -> Result<IdxArray> {
    let found_len = bytes.len() as u64;
    let truncated = |expected: u64| Error::Truncated {
        path: path.to_path_buf(),
        expected,
        found: found_len,
    };
    let header_len = 4 + 4 * ndims;
    if bytes.len() < 4 {
        return Err(truncated(header_len as u64));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let bad_magic = |problem: String| Error::BadMagic {
        path: path.to_path_buf(),
        found: magic,
        problem,
    };
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad_magic(
            "not an IDX file (first two bytes must be zero)".into(),
        ));
    }
    if bytes[2] != UBYTE {
        return Err(bad_magic(format!(
            "data type {:#04x} is not unsigned byte (0x08)",
            bytes[2]
        )));
    }
    if usize::from(bytes[3]) != ndims {
        return Err(bad_magic(format!(
            "{} dimensions, expected {ndims} (magic {:#010x})",
            bytes[3],
            0x0800 | ndims
        )));
    }
    if bytes.len() < header_len {
        return Err(truncated(header_len as u64));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // u64 arithmetic with overflow check: a corrupt header can claim 2^128 bytes.
    let expected = expected_len(header_len, &dims).unwrap_or(u64::MAX);
    if found_len < expected {
        return Err(truncated(expected));
    }
    if found_len > expected {
        return Err(Error::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            found: found_len,
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Header plus the product of the dimensions, or `None` on overflow.
fn expected_len(header_len: usize, dims: &[usize]) -> Option<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))?
        .checked_add(header_len as u64)
}

/// Reads an IDX file (raw or gzip) with `ndims` dimensions.
///
/// # Errors
/// As [`read_file`] and [`parse_idx`].
pub fn read_idx(path: &Path, ndims: usize) -> Result<IdxArray> {
    parse_idx(path, &read_file(path)?, ndims)
}

/// Builds a gray dataset from an `(n, rows, cols)` images array and an `(n,)` labels array.
fn dataset_from_idx(
    name: &str,
    (images_path, images): (&Path, IdxArray),
    (labels_path, labels): (&Path, IdxArray),
    class_names: Vec<String>,
    split: Split,
) -> Result<Dataset> {
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if n != labels.dims[0] {
        return Err(Error::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            image_count: n,
            label_count: labels.dims[0],
        });
    }
    if let Some((index, &label)) = labels
        .data
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= class_names.len())
    {
        // Reported here rather than by Dataset::new so the message names the labels file.
        return Err(Error::LabelOutOfRange {
            source_name: labels_path.display().to_string(),
            index,
            label: usize::from(label),
            num_classes: class_names.len(),
        });
    }
    let labels = labels.data.iter().map(|&l| usize::from(l)).collect();
    Dataset::new(
        name,
        split,
        ImageShape::new(1, rows, cols),
        images.data,
        labels,
        class_names,
    )
    .map_err(|e| match e {
        Error::Empty { problem, .. } => Error::Empty {
            source_name: images_path.display().to_string(),
            problem,
        },
        other => other,
    })
}

/// Loads an images file and a labels file (each raw or gzip) as one split of a dataset
/// named `name`; labels must be `< class_names.len()`.
///
/// # Errors
/// File errors naming the file; [`Error::CountMismatch`]; [`Error::LabelOutOfRange`]
/// naming the labels file; [`Error::Empty`] for zero images.
pub fn load_idx_pair(
    name: &str,
    images: &Path,
    labels: &Path,
    class_names: Vec<String>,
    split: Split,
) -> Result<Dataset> {
    let image_array = read_idx(images, 3)?;
    let label_array = read_idx(labels, 1)?;
    dataset_from_idx(
        name,
        (images, image_array),
        (labels, label_array),
        class_names,
        split,
    )
}

/// As [`load_idx_pair`] for in-memory (possibly gzip) file contents; the paths only label
/// errors. Used for the embedded sets.
pub(crate) fn load_idx_pair_bytes(
    name: &str,
    (images_path, images): (&Path, &[u8]),
    (labels_path, labels): (&Path, &[u8]),
    class_names: Vec<String>,
    split: Split,
) -> Result<Dataset> {
    let image_array = parse_idx(images_path, &decompress(images_path, images.to_vec())?, 3)?;
    let label_array = parse_idx(labels_path, &decompress(labels_path, labels.to_vec())?, 1)?;
    dataset_from_idx(
        name,
        (images_path, image_array),
        (labels_path, label_array),
        class_names,
        split,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use proptest::prelude::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn ten() -> Vec<String> {
        (0..10).map(|c| c.to_string()).collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Writes an images and a labels file, gzip or not, and returns their paths.
    fn write_pair(dir: &Path, images: &[u8], labels: &[u8], packed: bool) -> (PathBuf, PathBuf) {
        let (ip, lp) = (dir.join("images.idx"), dir.join("labels.idx"));
        let pack = |b: &[u8]| if packed { gzip(b) } else { b.to_vec() };
        std::fs::write(&ip, pack(images)).unwrap();
        std::fs::write(&lp, pack(labels)).unwrap();
        (ip, lp)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn round_trip_raw_and_gzip(
            n in 1usize..6, h in 1usize..5, w in 1usize..5, packed: bool, seed: u64,
        ) {
            let pixels: Vec<u8> = (0..n * h * w).map(|i| (i as u64 * 31 + seed) as u8).collect();
            let labels: Vec<u8> = (0..n).map(|i| ((i as u64 + seed) % 10) as u8).collect();
            let dir = tempfile::tempdir().unwrap();
            let (ip, lp) = write_pair(
                dir.path(), &encode_idx(&[n, h, w], &pixels), &encode_idx(&[n], &labels), packed,
            );
            let d = load_idx_pair("t", &ip, &lp, ten(), Split::Test).unwrap();
            prop_assert_eq!(d.shape(), ImageShape::new(1, h, w));
            prop_assert_eq!(d.pixels(), pixels.as_slice());
            let want: Vec<usize> = labels.iter().map(|&l| usize::from(l)).collect();
            prop_assert_eq!(d.labels(), want.as_slice());
            prop_assert_eq!(d.split(), Split::Test);
        }
    }

    #[test]
    fn magic_numbers_are_checked() {
        let p = Path::new("f.idx");
        let good = encode_idx(&[2, 2, 2], &[0; 8]);
        let mut not_idx = good.clone();
        not_idx[0] = 0x50;
        let mut floats = good.clone();
        floats[2] = 0x0D;
        for (bytes, needle) in [
            (not_idx, "first two bytes"),
            (floats, "data type 0x0d"),
            (encode_idx(&[8], &[0; 8]), "1 dimensions, expected 3"),
        ] {
            let err = parse_idx(p, &bytes, 3).unwrap_err();
            assert!(matches!(err, Error::BadMagic { .. }), "{err}");
            let msg = err.to_string();
            assert!(
                msg.starts_with("f.idx: bad IDX magic") && msg.contains(needle),
                "{msg}"
            );
        }
    }

    #[test]
    fn length_is_checked_against_the_header() {
        let p = Path::new("f.idx");
        let good = encode_idx(&[3, 2, 2], &[1; 12]);
        assert!(parse_idx(p, &good, 3).is_ok());
        let cases = [
            (&good[..2], 16u64),
            (&good[..10], 16),
            (&good[..good.len() - 1], 28),
        ];
        for (bytes, expected) in cases {
            match parse_idx(p, bytes, 3) {
                Err(Error::Truncated {
                    expected: e, found, ..
                }) => {
                    assert_eq!((e, found), (expected, bytes.len() as u64));
                }
                other => panic!("expected Truncated, got {other:?}"),
            }
        }
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            parse_idx(p, &long, 3),
            Err(Error::TrailingBytes {
                expected: 28,
                found: 29,
                ..
            })
        ));
        // A header claiming an absurd size is truncated, not an overflow.
        let huge = [
            0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        assert!(matches!(
            parse_idx(p, &huge, 3),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn pair_errors_name_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let images = encode_idx(&[3, 2, 2], &[0; 12]);
        let (ip, lp) = write_pair(dir.path(), &images, &encode_idx(&[2], &[0, 1]), true);
        let err = load_idx_pair("t", &ip, &lp, ten(), Split::Train).unwrap_err();
        assert!(matches!(
            err,
            Error::CountMismatch {
                image_count: 3,
                label_count: 2,
                ..
            }
        ));
        assert!(err.to_string().contains("images.idx") && err.to_string().contains("labels.idx"));

        let (ip, lp) = write_pair(dir.path(), &images, &encode_idx(&[3], &[0, 10, 1]), false);
        let err = load_idx_pair("t", &ip, &lp, ten(), Split::Train).unwrap_err();
        assert!(matches!(
            err,
            Error::LabelOutOfRange {
                index: 1,
                label: 10,
                ..
            }
        ));
        assert!(err.to_string().contains("labels.idx"), "{err}");

        let (ip, lp) = write_pair(
            dir.path(),
            &encode_idx(&[0, 2, 2], &[]),
            &encode_idx(&[0], &[]),
            false,
        );
        let err = load_idx_pair("t", &ip, &lp, ten(), Split::Train).unwrap_err();
        assert!(matches!(err, Error::Empty { .. }));
        assert!(err.to_string().contains("images.idx"), "{err}");
    }
}
