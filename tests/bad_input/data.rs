//! Dataset files and batching: `contrast-data`.

use std::path::{Path, PathBuf};

use contrast_data::{
    BatchConfig, CifarKind, Dataset, Error, FolderOptions, ImageShape, Split, encode_idx,
    load_cifar_files, load_idx_pair, load_image_folder,
};

use super::assert_names;
use super::png::gray_png;

fn ten_classes() -> Vec<String> {
    (0..10).map(|c| c.to_string()).collect()
}

/// Writes `images` and `labels` as `images.idx` / `labels.idx` in `dir`; returns the paths.
fn write_pair(dir: &Path, images: &[u8], labels: &[u8]) -> (PathBuf, PathBuf) {
    let (ip, lp) = (dir.join("images.idx"), dir.join("labels.idx"));
    std::fs::write(&ip, images).unwrap();
    std::fs::write(&lp, labels).unwrap();
    (ip, lp)
}

fn load_pair(images: &[u8], labels: &[u8]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = write_pair(dir.path(), images, labels);
    load_idx_pair("mnist", &ip, &lp, ten_classes(), Split::Train).unwrap_err()
}

/// Three 2x2 images labelled 0, 1, 2.
fn good_images() -> Vec<u8> {
    encode_idx(&[3, 2, 2], &[7; 12])
}

fn good_labels() -> Vec<u8> {
    encode_idx(&[3], &[0, 1, 2])
}

#[test]
fn idx_pair_that_is_valid_loads() {
    // The baseline the other IDX cases spoil one thing of.
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = write_pair(dir.path(), &good_images(), &good_labels());
    let d = load_idx_pair("mnist", &ip, &lp, ten_classes(), Split::Train).unwrap();
    assert_eq!((d.len(), d.shape()), (3, ImageShape::new(1, 2, 2)));
}

#[test]
fn idx_truncated_file() {
    let images = good_images();
    let err = load_pair(&images[..images.len() - 5], &good_labels());
    assert!(
        matches!(
            err,
            Error::Truncated {
                expected: 28,
                found: 23,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["images.idx", "truncated", "28", "23"]);
}

#[test]
fn idx_empty_file() {
    let err = load_pair(&good_images(), &[]);
    assert!(matches!(err, Error::Truncated { found: 0, .. }), "{err:?}");
    assert_names(&err.to_string(), &["labels.idx", "truncated", "found 0"]);
}

#[test]
fn idx_with_zero_images() {
    let err = load_pair(&encode_idx(&[0, 2, 2], &[]), &encode_idx(&[0], &[]));
    assert!(matches!(err, Error::Empty { .. }), "{err:?}");
    assert_names(&err.to_string(), &["images.idx", "empty"]);
}

#[test]
fn idx_wrong_magic() {
    // A PNG signature where the IDX magic should be.
    let mut images = good_images();
    images[..4].copy_from_slice(b"\x89PNG");
    let err = load_pair(&images, &good_labels());
    assert!(
        matches!(
            err,
            Error::BadMagic {
                found: 0x8950_4e47,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["images.idx", "bad IDX magic", "0x89504e47"],
    );
}

#[test]
fn idx_labels_file_given_as_images() {
    // Right format, wrong rank: the files were swapped.
    let err = load_pair(&good_labels(), &good_images());
    assert!(matches!(err, Error::BadMagic { .. }), "{err:?}");
    assert_names(
        &err.to_string(),
        &["images.idx", "1 dimensions, expected 3"],
    );
}

#[test]
fn idx_label_count_mismatch() {
    let err = load_pair(&good_images(), &encode_idx(&[2], &[0, 1]));
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                image_count: 3,
                label_count: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["images.idx", "labels.idx", "3 images", "2 labels"],
    );
}

#[test]
fn idx_out_of_range_label() {
    let err = load_pair(&good_images(), &encode_idx(&[3], &[0, 1, 10]));
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                index: 2,
                label: 10,
                num_classes: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["labels.idx", "sample 2", "label 10", "10 classes"],
    );
}

#[test]
fn cifar_out_of_range_label() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data_batch_1.bin");
    let mut bytes = Vec::new();
    for label in [3u8, 10] {
        bytes.push(label);
        bytes.extend(std::iter::repeat_n(128u8, 3072));
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = load_cifar_files(&[path], CifarKind::Cifar10, Split::Train).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                index: 1,
                label: 10,
                num_classes: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["data_batch_1.bin", "record 1", "label 10"],
    );
}

#[test]
fn cifar_partial_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_batch.bin");
    std::fs::write(&path, vec![1u8; 3073 + 100]).unwrap();
    let err = load_cifar_files(&[path], CifarKind::Cifar10, Split::Test).unwrap_err();
    assert!(
        matches!(
            err,
            Error::RecordLength {
                len: 3173,
                record: 3073,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["test_batch.bin", "3173", "3073-byte record"],
    );
}

/// A class folder `root/<class>/<name>.png` holding a 4x3 gray image.
fn write_png(root: &Path, class: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = root.join(class);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn image_folder_with_a_corrupt_png() {
    let root = tempfile::tempdir().unwrap();
    let png = gray_png(4, 3, &[90; 12]);
    write_png(root.path(), "cat", "a.png", &png);
    write_png(root.path(), "dog", "b.png", &png);
    // The folder loads while every image is whole...
    let options = FolderOptions::default();
    let ok = load_image_folder(root.path(), &options, Split::Train).unwrap();
    assert_eq!(
        (ok.dataset.len(), ok.dataset.shape()),
        (2, ImageShape::new(3, 3, 4))
    );
    // ...and names the one image that is cut short.
    let cut = write_png(root.path(), "dog", "c.png", &png[..png.len() / 2]);
    let err = load_image_folder(root.path(), &options, Split::Train).unwrap_err();
    match &err {
        Error::UnreadableImage { path, .. } => assert_eq!(path, &cut),
        other => panic!("expected UnreadableImage, got {other:?}"),
    }
    assert_names(&err.to_string(), &["c.png", "unreadable image"]);
}

#[test]
fn dataset_smaller_than_the_batch() {
    let classes = vec!["a".to_string(), "b".to_string()];
    let d = Dataset::new(
        "tiny",
        Split::Train,
        ImageShape::new(1, 2, 2),
        vec![0; 12],
        vec![0, 1, 0],
        classes,
    )
    .unwrap();
    let err = d.batches(&BatchConfig::new(4, 0), 0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BatchTooLarge {
                batch_size: 4,
                len: 3
            }
        ),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["batch size 4", "3 samples"]);
}
