//! The IDX reader of contrast-data on arbitrary bytes.
//!
//! Input: a mode byte, then the payload. Even modes parse the payload as one IDX array of
//! rank `mode / 2 % 4` and, when it parses, check that re-encoding gives the same bytes.
//! Odd modes split the payload at a two-byte offset into an images file and a labels file
//! (either may be gzip) and load them as a dataset with `1 + mode / 2 % 12` classes; a
//! loaded dataset must be consistent with the files.
#![no_main]

use std::path::Path;

use contrast_data::idx::parse_idx;
use contrast_data::{Split, encode_idx, load_idx_pair};
use contrast_fuzz::scratch::write_scratch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let ndims = usize::from(mode / 2 % 4);
        if let Ok(array) = parse_idx(Path::new("fuzz.idx"), payload, ndims) {
            assert_eq!(array.dims.len(), ndims);
            assert_eq!(array.data.len(), array.dims.iter().product::<usize>());
            assert_eq!(encode_idx(&array.dims, &array.data), payload);
        }
        return;
    }
    let Some((split_at, files)) = payload.split_first_chunk::<2>() else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes(*split_at)).min(files.len());
    let images = write_scratch("images.idx", &files[..cut]);
    let labels = write_scratch("labels.idx", &files[cut..]);
    let classes: Vec<String> = (0..1 + usize::from(mode / 2 % 12))
        .map(|c| c.to_string())
        .collect();
    if let Ok(d) = load_idx_pair("fuzz", &images, &labels, classes.clone(), Split::Train) {
        let (c, h, w) = d.shape().dims();
        assert_eq!(c, 1);
        assert!(!d.is_empty() && h > 0 && w > 0);
        assert_eq!(d.labels().len(), d.len());
        assert_eq!(d.pixels().len(), d.len() * h * w);
        assert!(d.labels().iter().all(|&l| l < classes.len()));
        let first = d.image(0).expect("sample 0 of a non-empty dataset");
        assert_eq!(first.shape(), &[1, h, w]);
        assert!(first.iter().all(|v| (0.0..=1.0).contains(v)));
    }
});
