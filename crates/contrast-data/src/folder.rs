//! A folder of images, one sub-folder per class (the torchvision `ImageFolder` layout):
//!
//! ```text
//! root/cat/001.png   root/cat/002.jpg   root/dog/a.jpeg ...
//! ```
//!
//! Classes are the sub-folders sorted by name (label = position). In each, the files whose
//! extension is `png`, `jpg` or `jpeg` (any case) are images, taken in name order; other
//! files are ignored and sub-sub-folders are not searched. Images are decoded through the
//! `image` crate in parallel, resized to the target size with a bilinear (triangle) filter
//! when one is given, and converted to RGB (3 channels) or gray (1 channel, ITU-R 601 luma
//! `0.299 R + 0.587 G + 0.114 B` as PIL computes it). Without a resize target, every image
//! must have the first image's size.

use std::path::{Path, PathBuf};

use image::ImageReader;
use image::imageops::FilterType;
use rayon::prelude::*;

use crate::dataset::{Dataset, ImageShape, Split};
use crate::error::{Error, Result};

/// Colour handling for decoded images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorMode {
    /// Three channels (gray images are replicated).
    #[default]
    Rgb,
    /// One luma channel.
    Gray,
}

/// A target image size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resize {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// How to load an image folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FolderOptions {
    /// Resize every image to this size; `None` requires all images to share one size.
    pub resize: Option<Resize>,
    /// RGB or gray.
    pub color: ColorMode,
    /// Skip images that fail to decode (listed in [`FolderLoad::skipped`]) instead of failing.
    pub skip_unreadable: bool,
}

/// An image left out because it could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// The decoder's message.
    pub reason: String,
}

/// A loaded folder and the images skipped on the way.
#[derive(Clone, Debug)]
pub struct FolderLoad {
    /// The images that loaded.
    pub dataset: Dataset,
    /// Files skipped under [`FolderOptions::skip_unreadable`] (always empty otherwise).
    pub skipped: Vec<SkippedFile>,
}

/// Loads `root` as one split, its class sub-folders defining the classes.
///
/// # Errors
/// [`Error::Io`]; [`Error::ClassFolders`] for no class folders; [`Error::Empty`] for a class
/// folder with no image files; [`Error::UnreadableImage`] naming the file (unless skipping);
/// [`Error::MixedSizes`] naming both files (without a resize target).
pub fn load_image_folder(root: &Path, options: &FolderOptions, split: Split) -> Result<FolderLoad> {
    let classes = class_folders(root)?;
    load_with_classes(root, &classes, options, split)
}

/// Loads `root` with a given class list (every name must be a sub-folder; extra sub-folders
/// are errors), so that a `test/` folder gets the same labels as its `train/` sibling.
pub(crate) fn load_with_classes(
    root: &Path,
    classes: &[String],
    options: &FolderOptions,
    split: Split,
) -> Result<FolderLoad> {
    let found = class_folders(root)?;
    if found != classes {
        return Err(Error::ClassFolders {
            path: root.to_path_buf(),
            problem: format!("class folders {found:?} differ from the expected {classes:?}"),
        });
    }
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = root.join(class);
        let images = image_files(&dir)?;
        if images.is_empty() {
            return Err(Error::Empty {
                source_name: dir.display().to_string(),
                problem: "class folder has no PNG or JPEG files".into(),
            });
        }
        files.extend(images.into_iter().map(|p| (p, label)));
    }
    let decoded: Vec<_> = files
        .par_iter()
        .map(|(path, _)| decode(path, options))
        .collect();

    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut skipped = Vec::new();
    let mut first: Option<(&Path, u32, u32)> = None;
    for ((path, label), result) in files.iter().zip(decoded) {
        let (bytes, w, h) = match result {
            Ok(image) => image,
            Err(Error::UnreadableImage { path, reason }) if options.skip_unreadable => {
                skipped.push(SkippedFile { path, reason });
                continue;
            }
            Err(e) => return Err(e),
        };
        match first {
            None => first = Some((path, w, h)),
            Some((first_path, fw, fh)) if (fw, fh) != (w, h) => {
                return Err(Error::MixedSizes {
                    first: first_path.to_path_buf(),
                    first_w: fw,
                    first_h: fh,
                    path: path.clone(),
                    found_w: w,
                    found_h: h,
                });
            }
            Some(_) => {}
        }
        pixels.extend_from_slice(&bytes);
        labels.push(*label);
    }
    let Some((_, w, h)) = first else {
        return Err(Error::Empty {
            source_name: root.display().to_string(),
            problem: format!("all {} images were unreadable", skipped.len()),
        });
    };
    let channels = match options.color {
        ColorMode::Rgb => 3,
        ColorMode::Gray => 1,
    };
    let dataset = Dataset::new(
        root.display().to_string(),
        split,
        ImageShape::new(channels, h as usize, w as usize),
        pixels,
        labels,
        classes.to_vec(),
    )?;
    Ok(FolderLoad { dataset, skipped })
}

/// The sub-folder names of `root`, sorted.
pub(crate) fn class_folders(root: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| Error::io(root, e))? {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(Error::ClassFolders {
            path: root.to_path_buf(),
            problem: "no class sub-folders (expected one folder of images per class)".into(),
        });
    }
    Ok(names)
}

/// The PNG/JPEG files directly in `dir`, sorted by name.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"));
        if is_image && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Decodes one file to CHW bytes; returns them with the size *before* resizing (width,
/// height) when there is no target, after it otherwise.
fn decode(path: &Path, options: &FolderOptions) -> Result<(Vec<u8>, u32, u32)> {
    let unreadable = |reason: String| Error::UnreadableImage {
        path: path.to_path_buf(),
        reason,
    };
    let image = ImageReader::open(path)
        .map_err(|e| unreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| unreadable(e.to_string()))?
        .decode()
        .map_err(|e| unreadable(e.to_string()))?;
    let image = match options.resize {
        Some(Resize { width, height }) if (image.width(), image.height()) != (width, height) => {
            image.resize_exact(width, height, FilterType::Triangle)
        }
        _ => image,
    };
    let (w, h) = (image.width(), image.height());
    let rgb = image.to_rgb8().into_raw();
    let bytes = match options.color {
        ColorMode::Gray => rgb
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
        ColorMode::Rgb => interleaved_to_planar(&rgb, 3),
    };
    Ok((bytes, w, h))
}

/// ITU-R 601 luma `0.299 R + 0.587 G + 0.114 B`, rounded, in the fixed-point form of PIL's
/// `convert("L")` (so gray folders match torchvision's loading); gray inputs are unchanged.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * u32::from(r) + 38470 * u32::from(g) + 7471 * u32::from(b) + 0x8000) >> 16) as u8
}

/// HWC (interleaved, as decoders give) to CHW (planar, as the dataset stores).
fn interleaved_to_planar(hwc: &[u8], channels: usize) -> Vec<u8> {
    let plane = hwc.len() / channels;
    let mut chw = vec![0; hwc.len()];
    for (i, pixel) in hwc.chunks_exact(channels).enumerate() {
        for (c, &v) in pixel.iter().enumerate() {
            chw[c * plane + i] = v;
        }
    }
    chw
}
