//! The name resolver: every spec form, Fashion-MNIST present or absent, and its errors.

use std::path::Path;

use contrast_data::{
    Error, FASHION_MNIST_DIR, FolderOptions, ResolveOptions, Split, encode_idx, resolve,
    resolve_with,
};
use flate2::{Compression, write::GzEncoder};
use image::{GrayImage, Luma};
use std::io::Write;

/// Writes an MNIST-layout directory: `n_train` / `n_test` images of `side x side`.
fn write_mnist_dir(dir: &Path, n_train: usize, n_test: usize, side: usize, gz: bool) {
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n * side * side).map(|i| (i % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        for (kind, bytes) in [
            ("images-idx3-ubyte", encode_idx(&[n, side, side], &pixels)),
            ("labels-idx1-ubyte", encode_idx(&[n], &labels)),
        ] {
            let name = format!("{prefix}-{kind}{}", if gz { ".gz" } else { "" });
            let bytes = if gz {
                let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
                enc.write_all(&bytes).unwrap();
                enc.finish().unwrap()
            } else {
                bytes
            };
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn fashion_mnist_loads_when_installed_and_says_how_to_install_when_absent() {
    if Path::new(FASHION_MNIST_DIR).is_dir() {
        let data = resolve("fashion-mnist").unwrap();
        assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
        assert_eq!(data.train.class_counts(), vec![6000; 10]);
        assert_eq!(data.test.class_counts(), vec![1000; 10]);
        assert_eq!(data.train.shape().pixels(), 784);
        assert_eq!(data.train.class_names()[9], "Ankle boot");
    } else {
        let err = resolve("fashion-mnist").unwrap_err();
        assert!(matches!(err, Error::NotInstalled { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("apt-get install dataset-fashion-mnist"),
            "{err}"
        );
    }
    // An explicit path that does not exist gives the same advice, whatever this machine has.
    let err = resolve("fashion-mnist:/nonexistent/fmnist").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/fmnist"), "{err}");
    assert!(
        err.to_string()
            .contains("apt-get install dataset-fashion-mnist"),
        "{err}"
    );
}

#[test]
fn idx_directories_raw_or_gzip() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 30, 20, 5, gz);
        let spec = format!("mnist:{}", dir.path().display());
        let data = resolve(&spec).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (30, 20));
        assert_eq!(
            (data.train.split(), data.test.split()),
            (Split::Train, Split::Test)
        );
        assert_eq!(data.test.labels()[..3], [0, 1, 2]);
        assert_eq!(data.train.image_bytes(1).unwrap()[0], 25);
        let kmnist = resolve(&format!("kmnist:{}", dir.path().display())).unwrap();
        assert_eq!(kmnist.train.class_names()[9], "wo");
        let fashion = resolve(&format!("fashion-mnist:{}", dir.path().display())).unwrap();
        assert_eq!(fashion.train.class_names()[0], "T-shirt/top");
    }
}

#[test]
fn missing_idx_file_names_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist_dir(dir.path(), 3, 2, 2, false);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    let err = resolve(&format!("mnist:{}", dir.path().display())).unwrap_err();
    assert!(matches!(err, Error::MissingFile { .. }), "{err}");
    assert!(
        err.to_string().contains("t10k-labels-idx1-ubyte.gz"),
        "{err}"
    );
}

#[test]
fn cifar_specs_find_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let record = |label: u8| {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(label * 20, 3072));
        r
    };
    for b in 1..=5 {
        std::fs::write(
            dir.path().join(format!("data_batch_{b}.bin")),
            [record(b), record(0)].concat(),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("test_batch.bin"), record(7)).unwrap();
    let data = resolve(&format!("cifar10:{}", dir.path().display())).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (10, 1));
    assert_eq!(data.test.class_names()[data.test.labels()[0]], "horse");
    let err = resolve(&format!("cifar100:{}", dir.path().display())).unwrap_err();
    assert!(err.to_string().contains("train.bin"), "{err}");
}

#[test]
fn folders_with_and_without_train_test_parts() {
    let dir = tempfile::tempdir().unwrap();
    let save = |rel: &str, v: u8| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        GrayImage::from_pixel(3, 3, Luma([v])).save(path).unwrap();
    };
    for k in 0..5u8 {
        save(&format!("flat/a/{k}.png"), k);
        save(&format!("flat/b/{k}.png"), 100 + k);
    }
    let data = resolve(&format!("folder:{}", dir.path().join("flat").display())).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (8, 2));
    assert_eq!(data.test.labels(), &[0, 1]);
    assert_eq!(data.test.image_bytes(1).unwrap()[0], 104); // last of class b held out
    assert_eq!(data.train.shape().channels, 3);

    save("split/train/a/0.png", 1);
    save("split/train/b/0.png", 2);
    save("split/test/a/0.png", 3);
    save("split/test/b/0.png", 4);
    let gray = ResolveOptions {
        folder: FolderOptions {
            color: contrast_data::ColorMode::Gray,
            ..Default::default()
        },
        ..Default::default()
    };
    let data = resolve_with(
        &format!("folder:{}", dir.path().join("split").display()),
        &gray,
    )
    .unwrap();
    assert_eq!((data.train.len(), data.test.len()), (2, 2));
    assert_eq!(data.test.pixels(), &[[3; 9], [4; 9]].concat()[..]);
    assert_eq!(data.train.shape().channels, 1);

    save("split/test/c/0.png", 5);
    let err = resolve(&format!("folder:{}", dir.path().join("split").display())).unwrap_err();
    assert!(matches!(err, Error::ClassFolders { .. }), "{err}");
}

#[test]
fn unknown_specs_list_the_known_ones() {
    for spec in ["imagenet", "mnist", "cifar10", "digits:/tmp", ""] {
        let err = resolve(spec).unwrap_err();
        assert!(matches!(err, Error::UnknownDataset { .. }), "{spec}: {err}");
        assert!(err.to_string().contains("mnist5k") && err.to_string().contains("folder:PATH"));
    }
}
