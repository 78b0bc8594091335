//! CIFAR-10 and CIFAR-100 in their binary versions (`cifar-10-binary.tar.gz`,
//! `cifar-100-binary.tar.gz`, unpacked).
//!
//! A batch file is a sequence of records. CIFAR-10: 1 label byte (0..9) then 3072 pixel
//! bytes; CIFAR-100: 1 coarse label byte (0..19), 1 fine label byte (0..99), then 3072 pixel
//! bytes. The pixels are the 32x32 red plane, then green, then blue, each row-major: already
//! our CHW order, so they are copied as they are. A file whose length is not a whole number
//! of records is an error, never a partial read.
//!
//! Directory layout (as unpacked; the directory itself or its `cifar-10-batches-bin` /
//! `cifar-100-binary` child is accepted): CIFAR-10 `data_batch_1.bin` .. `data_batch_5.bin`
//! and `test_batch.bin`; CIFAR-100 `train.bin` and `test.bin`.

use std::path::{Path, PathBuf};

use crate::cifar_names::{CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES};
use crate::dataset::{Dataset, ImageShape, Split};
use crate::error::{Error, Result};
use crate::file_bytes::read_file;

/// Pixel bytes per CIFAR image (3 x 32 x 32).
pub const CIFAR_IMAGE_BYTES: usize = 3 * 32 * 32;

/// Which CIFAR variant, and for CIFAR-100 which labels to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CifarKind {
    /// CIFAR-10: 10 classes, one label byte per record.
    Cifar10,
    /// CIFAR-100 with its 100 fine labels (the usual benchmark).
    Cifar100Fine,
    /// CIFAR-100 with its 20 coarse superclass labels.
    Cifar100Coarse,
}

impl CifarKind {
    /// Label bytes before the pixels of each record.
    fn label_bytes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 1,
            CifarKind::Cifar100Fine | CifarKind::Cifar100Coarse => 2,
        }
    }

    /// Position of the kept label within the record's label bytes.
    fn label_offset(self) -> usize {
        match self {
            CifarKind::Cifar10 | CifarKind::Cifar100Coarse => 0,
            CifarKind::Cifar100Fine => 1,
        }
    }

    /// Bytes per record.
    pub fn record_bytes(self) -> usize {
        self.label_bytes() + CIFAR_IMAGE_BYTES
    }

    /// The class names, in label order.
    pub fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            CifarKind::Cifar10 => &CIFAR10_CLASSES,
            CifarKind::Cifar100Fine => &CIFAR100_FINE_CLASSES,
            CifarKind::Cifar100Coarse => &CIFAR100_COARSE_CLASSES,
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    fn name(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "cifar10",
            CifarKind::Cifar100Fine => "cifar100",
            CifarKind::Cifar100Coarse => "cifar100-coarse",
        }
    }
}

/// Loads one or more batch files, in order, as one split.
///
/// # Errors
/// File errors naming the file; [`Error::RecordLength`]; [`Error::LabelOutOfRange`] naming
/// the file and record; [`Error::Empty`] when the files hold no records.
pub fn load_cifar_files(paths: &[PathBuf], kind: CifarKind, split: Split) -> Result<Dataset> {
    let record = kind.record_bytes();
    let num_classes = kind.class_names().len();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes = read_file(path)?;
        if bytes.len() % record != 0 {
            return Err(Error::RecordLength {
                path: path.clone(),
                len: bytes.len() as u64,
                record: record as u64,
            });
        }
        pixels.reserve(bytes.len() / record * CIFAR_IMAGE_BYTES);
        for (index, rec) in bytes.chunks_exact(record).enumerate() {
            let label = usize::from(rec[kind.label_offset()]);
            if label >= num_classes {
                return Err(Error::LabelOutOfRange {
                    source_name: format!("{} (record {index})", path.display()),
                    index,
                    label,
                    num_classes,
                });
            }
            labels.push(label);
            pixels.extend_from_slice(&rec[kind.label_bytes()..]);
        }
    }
    if labels.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::Empty {
            source_name: names.join(", "),
            problem: "no CIFAR records".into(),
        });
    }
    Dataset::new(
        kind.name(),
        split,
        ImageShape::new(3, 32, 32),
        pixels,
        labels,
        kind.class_names(),
    )
}

/// Loads the `(train, test)` splits from an unpacked CIFAR directory.
///
/// # Errors
/// [`Error::MissingFile`] listing the names tried; then as [`load_cifar_files`].
pub fn load_cifar_dir(dir: &Path, kind: CifarKind) -> Result<(Dataset, Dataset)> {
    let (child, train_names, test_name): (&str, Vec<String>, &str) = match kind {
        CifarKind::Cifar10 => (
            "cifar-10-batches-bin",
            (1..=5).map(|k| format!("data_batch_{k}.bin")).collect(),
            "test_batch.bin",
        ),
        _ => ("cifar-100-binary", vec!["train.bin".into()], "test.bin"),
    };
    // Accept the unpacked archive's top directory as well as the folder holding the files.
    let nested = dir.join(child);
    let root = if nested.join(test_name).is_file() {
        nested
    } else {
        dir.to_path_buf()
    };
    let find = |name: &str| {
        let path = root.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(Error::MissingFile {
                dataset: kind.name().into(),
                dir: dir.to_path_buf(),
                what: name.into(),
                tried: format!(
                    "{}, {}",
                    dir.join(name).display(),
                    dir.join(child).join(name).display()
                ),
            })
        }
    };
    let train: Vec<PathBuf> = train_names.iter().map(|n| find(n)).collect::<Result<_>>()?;
    let test = vec![find(test_name)?];
    Ok((
        load_cifar_files(&train, kind, Split::Train)?,
        load_cifar_files(&test, kind, Split::Test)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record per `(coarse, fine)` label; pixels derived from the record number.
    fn records(kind: CifarKind, labels: &[(u8, u8)], first: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, &(coarse, fine)) in labels.iter().enumerate() {
            match kind {
                CifarKind::Cifar10 => out.push(coarse),
                _ => out.extend_from_slice(&[coarse, fine]),
            }
            out.extend((0..CIFAR_IMAGE_BYTES).map(|p| ((first + k) * 7 + p) as u8));
        }
        out
    }

    #[test]
    fn cifar10_directory_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&nested).unwrap();
        for b in 1..=5u8 {
            let labels = [(b, 0), (9, 0)];
            let bytes = records(CifarKind::Cifar10, &labels, 2 * usize::from(b - 1));
            std::fs::write(nested.join(format!("data_batch_{b}.bin")), bytes).unwrap();
        }
        let test = records(CifarKind::Cifar10, &[(3, 0)], 100);
        std::fs::write(nested.join("test_batch.bin"), test).unwrap();
        let (train, test) = load_cifar_dir(dir.path(), CifarKind::Cifar10).unwrap();
        assert_eq!((train.len(), test.len()), (10, 1));
        assert_eq!(train.labels(), &[1, 9, 2, 9, 3, 9, 4, 9, 5, 9]);
        assert_eq!(train.shape(), ImageShape::new(3, 32, 32));
        assert_eq!(train.num_classes(), 10);
        assert_eq!(train.class_names()[0], "airplane");
        // Record 3's blue plane starts at byte 2048 of its pixels.
        assert_eq!(
            train.image_bytes(3).unwrap()[2048],
            ((3 * 7 + 2048) % 256) as u8
        );
        assert_eq!(test.image_bytes(0).unwrap()[1], (100 * 7 + 1) as u8);
        assert_eq!(test.split(), Split::Test);
    }

    #[test]
    fn cifar100_keeps_fine_or_coarse_labels() {
        let dir = tempfile::tempdir().unwrap();
        let labels = [(19, 99), (0, 5), (4, 42)];
        std::fs::write(
            dir.path().join("train.bin"),
            records(CifarKind::Cifar100Fine, &labels, 0),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("test.bin"),
            records(CifarKind::Cifar100Fine, &labels[..1], 0),
        )
        .unwrap();
        let (fine, _) = load_cifar_dir(dir.path(), CifarKind::Cifar100Fine).unwrap();
        let (coarse, test) = load_cifar_dir(dir.path(), CifarKind::Cifar100Coarse).unwrap();
        assert_eq!(fine.labels(), &[99, 5, 42]);
        assert_eq!(coarse.labels(), &[19, 0, 4]);
        assert_eq!((fine.num_classes(), coarse.num_classes()), (100, 20));
        assert_eq!(fine.image_bytes(1).unwrap(), coarse.image_bytes(1).unwrap());
        assert_eq!(test.labels(), &[19]);
    }

    #[test]
    fn bad_cifar_files_are_typed_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.bin");
        let load =
            |kind| load_cifar_files(std::slice::from_ref(&path), kind, Split::Train).unwrap_err();
        let mut bytes = records(CifarKind::Cifar10, &[(1, 0), (2, 0)], 0);
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        let err = load(CifarKind::Cifar10);
        assert!(matches!(
            err,
            Error::RecordLength {
                len: 6145,
                record: 3073,
                ..
            }
        ));
        assert!(err.to_string().contains("batch.bin"));

        std::fs::write(&path, records(CifarKind::Cifar10, &[(1, 0), (10, 0)], 0)).unwrap();
        let err = load(CifarKind::Cifar10);
        assert!(matches!(
            err,
            Error::LabelOutOfRange {
                index: 1,
                label: 10,
                num_classes: 10,
                ..
            }
        ));
        assert!(err.to_string().contains("batch.bin (record 1)"), "{err}");

        std::fs::write(&path, records(CifarKind::Cifar100Fine, &[(20, 3)], 0)).unwrap();
        let err = load(CifarKind::Cifar100Coarse);
        assert!(matches!(
            err,
            Error::LabelOutOfRange {
                label: 20,
                num_classes: 20,
                ..
            }
        ));

        std::fs::write(&path, []).unwrap();
        let err = load(CifarKind::Cifar10);
        assert!(matches!(err, Error::Empty { .. }));
        assert!(err.to_string().contains("batch.bin"));

        let err = load_cifar_dir(dir.path(), CifarKind::Cifar10).unwrap_err();
        assert!(matches!(err, Error::MissingFile { .. }));
        assert!(err.to_string().contains("data_batch_1.bin"), "{err}");
    }
}
