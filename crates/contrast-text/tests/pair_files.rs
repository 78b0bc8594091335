//! `pairs:PATH` on real files: both layouts, the fixed hold-out, and bad files (a typed
//! error naming the file and line; nothing written).

mod common;

use common::snapshot;
use contrast_text::{Error, PairLineProblem, PairOrigin, is_held_out, load_dataset, read_pairs};
use std::path::Path;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn file_with_fixed_hold_out() {
    let tmp = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..500)
        .map(|i| format!("sentence number {i}\tfrase número {i}"))
        .collect();
    let p = write(
        tmp.path(),
        "pairs.tsv",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let d = load_dataset(&format!("pairs:{}", p.display())).unwrap();
    assert_eq!(d.train.len() + d.test.len(), 500);
    assert!((30..80).contains(&d.test.len()), "{}", d.test.len());
    for pair in &d.test {
        let PairOrigin::Line(n) = pair.origin else {
            panic!()
        };
        assert!(is_held_out(lines[n - 1].as_bytes()));
        assert_eq!(pair.left, format!("sentence number {}", n - 1));
    }
    // Reordering the file does not move a pair across the split.
    let mut rev = lines.clone();
    rev.reverse();
    let q = write(tmp.path(), "rev.tsv", rev.join("\n").as_bytes());
    let d2 = read_pairs(&q).unwrap();
    let mut a: Vec<_> = d.test.iter().map(|p| p.left.clone()).collect();
    let mut b: Vec<_> = d2.test.iter().map(|p| p.left.clone()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn folder_with_train_and_test() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "train.tsv", "a\tb\nc\td\n".as_bytes());
    write(tmp.path(), "test.tsv", "e\tf\n".as_bytes());
    let d = read_pairs(tmp.path()).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (2, 1));
    assert_eq!(d.test[0].right, "f");
    std::fs::remove_file(tmp.path().join("test.tsv")).unwrap();
    assert!(matches!(
        read_pairs(tmp.path()),
        Err(Error::MissingSplitFile {
            name: "test.tsv",
            ..
        })
    ));
}

#[test]
fn bad_files_name_file_and_line_and_write_nothing() {
    let cases: [(&[u8], usize, PairLineProblem); 5] = [
        (
            b"a\tb\nbad \xff\xfe line\tx\n",
            2,
            PairLineProblem::InvalidUtf8,
        ),
        (b"a\tb\nc\td\nno tab\n", 3, PairLineProblem::NoTab),
        (b"a\tb\n\tonly right\n", 2, PairLineProblem::EmptyLeft),
        (b"only left\t \n", 1, PairLineProblem::EmptyRight),
        (b"a\tb\tc\n", 1, PairLineProblem::ExtraTabs(2)),
    ];
    for (bytes, line, problem) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "bad.tsv", bytes);
        let before = snapshot(tmp.path());
        let e = read_pairs(&p).unwrap_err();
        assert_eq!(snapshot(tmp.path()), before);
        let msg = e.to_string();
        match e {
            Error::BadPairLine {
                path,
                line: l,
                problem: pr,
            } => {
                assert_eq!((path, l, pr), (p.clone(), line, problem));
                assert!(
                    msg.contains("bad.tsv") && msg.contains(&format!("line {line}")),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        read_pairs(tmp.path().join("absent.tsv")),
        Err(Error::Io { .. })
    ));
    // One pair cannot fill both splits.
    let p = write(tmp.path(), "one.tsv", b"hello\thola\n");
    assert!(matches!(read_pairs(&p), Err(Error::EmptySplit { .. })));
}
