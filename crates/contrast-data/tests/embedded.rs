//! The embedded sets: checksums against `data/SHA256SUMS`, counts, class balance, the split.

use contrast_data::{Embedded, ImageShape, Split, resolve};
use sha2::{Digest, Sha256};

#[test]
fn embedded_files_match_the_committed_checksums() {
    let sums = include_str!("../data/SHA256SUMS");
    let mut checked = 0;
    for set in Embedded::ALL {
        for file in set.files() {
            let line = sums
                .lines()
                .find(|l| l.ends_with(&format!("  {}", file.name)))
                .unwrap_or_else(|| panic!("{} missing from SHA256SUMS", file.name));
            let digest: String = Sha256::digest(file.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(&line[..64], digest, "{}", file.name);
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
    assert_eq!(sums.lines().count(), 4);
}

#[test]
fn mnist5k_counts_balance_and_split() {
    let all = Embedded::Mnist5k.load_all().unwrap();
    assert_eq!(all.len(), 5000);
    assert_eq!(all.shape(), ImageShape::new(1, 28, 28));
    assert_eq!(all.class_counts(), vec![500; 10]);
    // Real digits: mostly dark background, some full-intensity strokes.
    let pixels = all.pixels();
    let zeros = pixels.iter().filter(|&&p| p == 0).count() as f64 / pixels.len() as f64;
    assert!((0.7..0.9).contains(&zeros), "background share {zeros}");
    assert_eq!(pixels.iter().max(), Some(&255));

    let (train, test) = Embedded::Mnist5k.load().unwrap();
    assert_eq!((train.len(), test.len()), (4000, 1000));
    assert_eq!(train.class_counts(), vec![400; 10]);
    assert_eq!(test.class_counts(), vec![100; 10]);
    assert_eq!((train.split(), test.split()), (Split::Train, Split::Test));
    // The file is sorted by class, so the test set is samples 400..500 of each class.
    assert_eq!(test.image_bytes(0).unwrap(), all.image_bytes(400).unwrap());
    assert_eq!(
        train.image_bytes(400).unwrap(),
        all.image_bytes(500).unwrap()
    );
}

#[test]
fn digits_counts_balance_and_split() {
    let all = Embedded::Digits.load_all().unwrap();
    assert_eq!(all.len(), 1797);
    assert_eq!(all.shape(), ImageShape::new(1, 8, 8));
    assert_eq!(
        all.class_counts(),
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    // Rescaled from 0..16 by (v * 255 + 8) / 16: only those 17 byte values occur.
    let allowed: Vec<u8> = (0..=16u32).map(|v| ((v * 255 + 8) / 16) as u8).collect();
    assert!(all.pixels().iter().all(|p| allowed.contains(p)));
    assert_eq!(all.pixels().iter().max(), Some(&255));

    let data = resolve("digits").unwrap();
    let train = data.train.class_counts();
    let test = data.test.class_counts();
    assert_eq!(test, vec![36, 36, 35, 37, 36, 36, 36, 36, 35, 36]);
    for c in 0..10 {
        assert_eq!(train[c] + test[c], all.class_counts()[c]);
    }
    assert_eq!((data.train.len(), data.test.len()), (1438, 359));
    assert_eq!(data.train.name(), "digits");
}
