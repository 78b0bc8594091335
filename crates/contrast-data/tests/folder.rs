//! Image folders written by the test: PNG and JPEG, RGB and gray, resizing, bad files.

use std::path::Path;

use contrast_data::{ColorMode, Error, FolderOptions, Resize, Split, load_image_folder};
use image::{Rgb, RgbImage};

/// A `w x h` image whose pixel (x, y) is `(seed + x, seed + y, seed + x + y)` times 10.
fn pattern(w: u32, h: u32, seed: u8) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as u8, y as u8);
        Rgb([(seed + x) * 10, (seed + y) * 10, (seed + x + y) * 10])
    })
}

fn save(root: &Path, rel: &str, image: &RgbImage) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save(&path).unwrap();
}

/// cat: two PNGs and a text file; dog: a JPEG and an upper-case `.PNG`. All 4x3.
fn two_classes(root: &Path) {
    save(root, "cat/a.png", &pattern(4, 3, 1));
    save(root, "cat/b.png", &pattern(4, 3, 2));
    std::fs::write(root.join("cat/notes.txt"), "not an image").unwrap();
    save(root, "dog/c.jpg", &pattern(4, 3, 3));
    save(root, "dog/d.PNG", &pattern(4, 3, 4));
}

#[test]
fn png_and_jpeg_load_in_class_and_name_order() {
    let dir = tempfile::tempdir().unwrap();
    two_classes(dir.path());
    let load = load_image_folder(dir.path(), &FolderOptions::default(), Split::Train).unwrap();
    let d = load.dataset;
    assert!(load.skipped.is_empty());
    assert_eq!(d.class_names(), &["cat".to_string(), "dog".to_string()]);
    assert_eq!(d.labels(), &[0, 0, 1, 1]);
    assert_eq!(
        (d.shape().channels, d.shape().height, d.shape().width),
        (3, 3, 4)
    );
    // PNG is lossless: CHW planes of the pattern, exactly.
    let b = d.image_bytes(1).unwrap();
    let (x, y) = (3usize, 2usize);
    let at = |c: usize| b[c * 12 + y * 4 + x];
    assert_eq!(
        (at(0), at(1), at(2)),
        ((2 + 3) * 10, (2 + 2) * 10, (2 + 5) * 10)
    );
    // JPEG is lossy: close to the pattern.
    let jpeg = d.image(2).unwrap();
    let want = 40.0 / 255.0; // red of (x = 1, seed 3)
    assert!((jpeg[[0, 0, 1]] - want).abs() < 0.1, "{}", jpeg[[0, 0, 1]]);
}

#[test]
fn gray_mode_uses_601_luma() {
    let dir = tempfile::tempdir().unwrap();
    save(
        dir.path(),
        "red/r.png",
        &RgbImage::from_pixel(2, 2, Rgb([255, 0, 0])),
    );
    save(
        dir.path(),
        "white/w.png",
        &RgbImage::from_pixel(2, 2, Rgb([255, 255, 255])),
    );
    let options = FolderOptions {
        color: ColorMode::Gray,
        ..Default::default()
    };
    let d = load_image_folder(dir.path(), &options, Split::Test)
        .unwrap()
        .dataset;
    assert_eq!(d.shape().channels, 1);
    assert_eq!(d.split(), Split::Test);
    assert_eq!(d.image_bytes(0).unwrap(), &[76; 4]); // round(0.299 * 255)
    assert_eq!(d.image_bytes(1).unwrap(), &[255; 4]);
}

#[test]
fn mixed_sizes_need_a_resize_target() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), "a/big.png", &pattern(6, 4, 0));
    save(dir.path(), "a/small.png", &pattern(3, 2, 0));
    let err = load_image_folder(dir.path(), &FolderOptions::default(), Split::Train).unwrap_err();
    assert!(matches!(
        err,
        Error::MixedSizes {
            first_w: 6,
            first_h: 4,
            found_w: 3,
            found_h: 2,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("small.png") && msg.contains("big.png") && msg.contains("resize"),
        "{msg}"
    );

    let options = FolderOptions {
        resize: Some(Resize {
            width: 5,
            height: 2,
        }),
        ..Default::default()
    };
    let d = load_image_folder(dir.path(), &options, Split::Train)
        .unwrap()
        .dataset;
    assert_eq!(d.len(), 2);
    assert_eq!((d.shape().height, d.shape().width), (2, 5));
}

#[test]
fn unreadable_images_fail_by_name_or_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    two_classes(dir.path());
    std::fs::write(
        dir.path().join("dog/broken.png"),
        b"\x89PNG\r\n\x1a\n garbage",
    )
    .unwrap();
    let err = load_image_folder(dir.path(), &FolderOptions::default(), Split::Train).unwrap_err();
    assert!(matches!(err, Error::UnreadableImage { .. }), "{err}");
    assert!(err.to_string().contains("broken.png"), "{err}");

    let options = FolderOptions {
        skip_unreadable: true,
        ..Default::default()
    };
    let load = load_image_folder(dir.path(), &options, Split::Train).unwrap();
    assert_eq!(load.dataset.len(), 4);
    assert_eq!(load.skipped.len(), 1);
    assert!(load.skipped[0].path.ends_with("dog/broken.png"));
    assert!(!load.skipped[0].reason.is_empty());
}

#[test]
fn empty_folders_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_image_folder(dir.path(), &FolderOptions::default(), Split::Train).unwrap_err();
    assert!(matches!(err, Error::ClassFolders { .. }), "{err}");

    two_classes(dir.path());
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let err = load_image_folder(dir.path(), &FolderOptions::default(), Split::Train).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");
    assert!(err.to_string().contains("empty"), "{err}");

    let only_bad = tempfile::tempdir().unwrap();
    std::fs::create_dir(only_bad.path().join("x")).unwrap();
    std::fs::write(only_bad.path().join("x/bad.jpg"), b"nope").unwrap();
    let options = FolderOptions {
        skip_unreadable: true,
        ..Default::default()
    };
    let err = load_image_folder(only_bad.path(), &options, Split::Train).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");

    let err = load_image_folder(&dir.path().join("absent"), &options, Split::Train).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("absent"),
        "{err}"
    );
}
