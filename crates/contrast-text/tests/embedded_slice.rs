//! The compiled-in Bible slice: its bytes are the checked-in file, it decodes, and its
//! datasets split Old Testament / New Testament.

use contrast_text::slice::{BIBLE_SLICE_GZ, slice_pairs, slice_verses};
use contrast_text::{Error, PairOrigin, Testament, load_dataset};
use sha2::{Digest, Sha256};

#[test]
fn bytes_match_the_recorded_checksum() {
    let sums = include_str!("../data/SHA256SUMS");
    let line = sums
        .lines()
        .find(|l| l.ends_with("bible-slice.tsv.gz"))
        .expect("listed");
    let want = line.split_whitespace().next().unwrap();
    let got: String = Sha256::digest(BIBLE_SLICE_GZ)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, want);
    assert!(
        BIBLE_SLICE_GZ.len() < 1 << 20,
        "the slice must stay well under 1 MB"
    );
}

#[test]
fn slice_holds_both_testaments() {
    let v = slice_verses().unwrap();
    let old = v.iter().filter(|x| x.testament == Testament::Old).count();
    assert_eq!((old, v.len() - old), (1_665, 1_557));
    assert!(v.iter().all(|x| x.texts.iter().all(|t| !t.is_empty())));
    let first = &v[0];
    assert_eq!(first.reference.to_string(), "Gen 1:1");
    assert_eq!(
        first.texts[0],
        "In the beginning God created the heaven and the earth."
    );
    assert_eq!(
        first.texts[1],
        "In the beginning, God created the heavens and the earth."
    );
    assert!(first.texts[2].starts_with("EN el principio crió Dios"));
}

#[test]
fn slice_datasets() {
    let d = load_dataset("bible-slice:web-es").unwrap();
    assert_eq!((d.train.len(), d.test.len()), (1_665, 1_557));
    assert_eq!(
        (d.left_label.as_str(), d.right_label.as_str()),
        ("engWEB2015eb", "spaRV1909eb")
    );
    let PairOrigin::Verse(r) = d.test[0].origin else {
        panic!("verse origin")
    };
    assert_eq!(r.to_string(), "Mark 1:1");
    let p = slice_pairs("kjv", "web").unwrap();
    assert_eq!(
        p.train[0].left,
        "In the beginning God created the heaven and the earth."
    );
    for bad in [
        "bible-slice:web-web",
        "bible-slice:web-fr",
        "bible-slice:web",
    ] {
        assert!(
            matches!(load_dataset(bad), Err(Error::BadDatasetSpec { .. })),
            "{bad}"
        );
    }
}
