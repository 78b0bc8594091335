//! The CIFAR binary reader of contrast-data on arbitrary bytes.
//!
//! Input: a mode byte (`mode % 3` picks CIFAR-10, CIFAR-100 fine or coarse), then the file
//! (which may be gzip). A loaded dataset must hold exactly the file's records: every label
//! in range and equal to the record's label byte, every pixel copied as it is.
#![no_main]

use contrast_data::cifar::CIFAR_IMAGE_BYTES;
use contrast_data::{CifarKind, Split, load_cifar_files};
use contrast_fuzz::scratch::write_scratch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let (kind, label_at) = match mode % 3 {
        0 => (CifarKind::Cifar10, 0),
        1 => (CifarKind::Cifar100Fine, 1),
        _ => (CifarKind::Cifar100Coarse, 0),
    };
    let path = write_scratch("batch.bin", file);
    let Ok(d) = load_cifar_files(std::slice::from_ref(&path), kind, Split::Train) else {
        return;
    };
    assert_eq!(d.shape().dims(), (3, 32, 32));
    assert!(!d.is_empty());
    assert_eq!(d.labels().len(), d.len());
    assert_eq!(d.pixels().len(), d.len() * CIFAR_IMAGE_BYTES);
    assert!(d.labels().iter().all(|&l| l < d.num_classes()));
    // Gzip input decompresses to other bytes; the record check applies to plain files.
    if !file.starts_with(&[0x1f, 0x8b]) {
        let record = kind.record_bytes();
        assert_eq!(file.len(), d.len() * record);
        for (i, rec) in file.chunks_exact(record).enumerate() {
            assert_eq!(d.labels()[i], usize::from(rec[label_at]));
            assert_eq!(
                d.image_bytes(i).unwrap(),
                &rec[record - CIFAR_IMAGE_BYTES..]
            );
        }
    }
});
