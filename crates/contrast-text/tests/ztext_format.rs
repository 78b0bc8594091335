//! The zText reader on synthetic modules written by `common::write_module`: round trips,
//! alignment, and every kind of bad module (each a typed error naming the file; nothing is
//! written).

mod common;

use common::{conf_text, r, snapshot, write_module};
use contrast_text::sword::ZText;
use contrast_text::{
    Error, SWORD_INSTALL_HINT, SwordLibrary, Testament, TextDataset, Versification, align,
};
use std::path::Path;

const GEN_1_1: &[u8] = br#"<w lemma="strong:H7225">In</w> <w>the</w> beginning,<note placement="foot">a note</note> <w>God</w><note>n</note><w>created</w>."#;

fn standard(lib: &Path, name: &str) -> std::path::PathBuf {
    write_module(
        lib,
        name,
        &conf_text(name, &[]),
        Versification::kjv(),
        &[
            (r("Gen", 1, 1), GEN_1_1),
            (r("Gen", 50, 26), b"So Joseph died."),
            (
                r("Exod", 1, 1),
                b"<title>Heading</title>Now these are the names",
            ),
            (
                r("Ps", 3, 1),
                br#"<title canonical="true">A Psalm.</title><l/>LORD, how"#,
            ),
            (r("Mal", 4, 6), b"last of the Old Testament"),
            (r("Matt", 1, 1), "The book of the generation — ñ".as_bytes()),
            (r("Rev", 22, 21), b"The grace"),
        ],
    )
}

#[test]
fn round_trip_through_the_format() {
    let tmp = tempfile::tempdir().unwrap();
    standard(tmp.path(), "Synth");
    let lib = SwordLibrary::open(tmp.path()).unwrap();
    let bible = lib.read_bible("synth").unwrap();
    assert_eq!(bible.verses.len(), 31_102);
    let text = |b, c, v| bible.verse(&r(b, c, v)).unwrap().text.clone();
    assert_eq!(text("Gen", 1, 1), "In the beginning, God created.");
    assert_eq!(text("Gen", 50, 26), "So Joseph died.");
    assert_eq!(text("Exod", 1, 1), "Now these are the names");
    assert_eq!(text("Ps", 3, 1), "A Psalm. LORD, how");
    assert_eq!(text("Mal", 4, 6), "last of the Old Testament");
    assert_eq!(text("Matt", 1, 1), "The book of the generation — ñ");
    assert_eq!(text("Rev", 22, 21), "The grace");
    assert_eq!(text("Gen", 1, 2), "");
    assert_eq!(
        bible.verse(&r("Matt", 1, 1)).unwrap().testament,
        Testament::New
    );
    // Raw entries by slot: Gen 1:1 is slot 4 of the Old Testament (slots 0-3 are headings).
    let z = ZText::from_conf(lib.find("Synth").unwrap()).unwrap();
    assert_eq!(z.entry(Testament::Old, 4).unwrap(), GEN_1_1);
    assert_eq!(
        z.entry(Testament::New, 4).unwrap(),
        "The book of the generation — ñ".as_bytes()
    );
    assert!(z.entry(Testament::Old, 3).unwrap().is_empty());
}

#[test]
fn alignment_across_versifications() {
    let tmp = tempfile::tempdir().unwrap();
    standard(tmp.path(), "Left");
    write_module(
        tmp.path(),
        "Right",
        &conf_text("Right", &[("Versification", "NRSVA"), ("Lang", "es")]),
        Versification::nrsva(),
        &[
            (r("Gen", 1, 1), b"EN el principio"),
            (r("Matt", 1, 1), b"LIBRO"),
            (r("Tob", 1, 1), b"only in NRSVA"),
            (r("Rev", 22, 21), b""),
        ],
    );
    let lib = SwordLibrary::open(tmp.path()).unwrap();
    // "es" resolves through Lang=, "left" through the module name, any case.
    let d = TextDataset::parse("bible:left-es")
        .unwrap()
        .unwrap()
        .load_with(&lib)
        .unwrap();
    assert_eq!(d.train.len(), 1);
    assert_eq!(d.train[0].left, "In the beginning, God created.");
    assert_eq!(d.train[0].right, "EN el principio");
    assert_eq!(d.test.len(), 1);
    let rep = d.alignment.unwrap();
    assert_eq!(rep.only_right, 29_832 - 23_145 + 2);
    assert!(rep.empty_right.contains(&r("Rev", 22, 21)));
    let left = lib.read_bible("Left").unwrap();
    assert_eq!(align("self", &left, &left).train.len(), 5);
}

#[test]
fn latin1_and_testament_only_modules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_module(
        tmp.path(),
        "Lat",
        &conf_text("Lat", &[("Encoding", ""), ("SourceType", "")]),
        Versification::kjv(),
        &[(r("Matt", 1, 1), b"Ni\xf1o  de\tDios")],
    );
    for f in ["ot.bzv", "ot.bzs", "ot.bzz"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let bible = SwordLibrary::open(tmp.path())
        .unwrap()
        .read_bible("Lat")
        .unwrap();
    assert_eq!(bible.verses.len(), 7_957);
    assert_eq!(bible.verses[0].text, "Niño de Dios");
}

/// Runs `f` and checks that the library folder is unchanged afterwards.
fn writes_nothing<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    let before = snapshot(dir);
    let out = f();
    assert_eq!(
        snapshot(dir),
        before,
        "the reader wrote to {}",
        dir.display()
    );
    out
}

fn corrupt(edit: impl FnOnce(&Path)) -> (tempfile::TempDir, Error) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = standard(tmp.path(), "Synth");
    edit(&dir);
    let lib = SwordLibrary::open(tmp.path()).unwrap();
    let err = writes_nothing(tmp.path(), || lib.read_bible("Synth")).unwrap_err();
    (tmp, err)
}

fn expect_corrupt(err: &Error, file: &str, detail_has: &str) {
    match err {
        Error::CorruptModule { path, detail } => {
            assert!(path.ends_with(file), "{path:?} is not {file}");
            assert!(
                detail.contains(detail_has),
                "{detail:?} lacks {detail_has:?}"
            );
        }
        other => panic!("expected CorruptModule of {file}, got {other:?}"),
    }
}

#[test]
fn truncated_verse_index() {
    let (_t, e) = corrupt(|d| {
        let p = d.join("ot.bzv");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 10]).unwrap();
    });
    expect_corrupt(&e, "ot.bzv", "needs 24115 slots");
    assert!(e.to_string().contains("ot.bzv"));
}

#[test]
fn truncated_block_file() {
    let (_t, e) = corrupt(|d| {
        let p = d.join("nt.bzz");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() / 2]).unwrap();
    });
    expect_corrupt(&e, "nt.bzz", "truncated");
}

#[test]
fn corrupt_zlib_stream() {
    let (_t, e) = corrupt(|d| {
        let p = d.join("ot.bzz");
        let mut b = std::fs::read(&p).unwrap();
        for x in &mut b[2..12] {
            *x ^= 0x5a;
        }
        std::fs::write(&p, b).unwrap();
    });
    expect_corrupt(&e, "ot.bzz", "block 0");
}

#[test]
fn block_index_lies_about_sizes() {
    let (_t, e) = corrupt(|d| {
        let p = d.join("ot.bzs");
        let mut b = std::fs::read(&p).unwrap();
        b[8] = b[8].wrapping_add(1); // uncompressed size of block 0
        std::fs::write(&p, b).unwrap();
    });
    expect_corrupt(&e, "ot.bzz", "the block index says");
    let (_t, e) = corrupt(|d| {
        let p = d.join("ot.bzs");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 5]).unwrap();
    });
    expect_corrupt(&e, "ot.bzs", "12-byte");
}

#[test]
fn verse_index_points_outside_its_block() {
    let (_t, e) = corrupt(|d| {
        let p = d.join("ot.bzv");
        let mut b = std::fs::read(&p).unwrap();
        b[4 * 10 + 4..4 * 10 + 8].copy_from_slice(&60_000u32.to_le_bytes()); // Gen 1:1 start
        std::fs::write(&p, b).unwrap();
    });
    expect_corrupt(&e, "ot.bzv", "slot 4");
    let (_t, e) = corrupt(|d| {
        let p = d.join("ot.bzv");
        let mut b = std::fs::read(&p).unwrap();
        b[4 * 10..4 * 10 + 4].copy_from_slice(&9_999u32.to_le_bytes()); // Gen 1:1 block
        std::fs::write(&p, b).unwrap();
    });
    expect_corrupt(&e, "ot.bzv", "block 9999");
}

#[test]
fn invalid_utf8_names_the_verse() {
    let tmp = tempfile::tempdir().unwrap();
    write_module(
        tmp.path(),
        "Bad",
        &conf_text("Bad", &[]),
        Versification::kjv(),
        &[(r("John", 3, 16), b"caf\xe9")],
    );
    let lib = SwordLibrary::open(tmp.path()).unwrap();
    let e = writes_nothing(tmp.path(), || lib.read_bible("Bad")).unwrap_err();
    expect_corrupt(&e, "nt.bzz", "John 3:16");
}

#[test]
fn missing_files_and_confs() {
    let (_t, e) = corrupt(|d| std::fs::remove_file(d.join("nt.bzs")).unwrap());
    assert!(
        matches!(&e, Error::MissingModuleFile { path } if path.ends_with("nt.bzs")),
        "{e:?}"
    );

    let tmp = tempfile::tempdir().unwrap();
    assert!(
        matches!(SwordLibrary::open(tmp.path()), Err(Error::MissingConf { path }) if path.ends_with("mods.d"))
    );
    let e = SwordLibrary::default().find("kjv").unwrap_err();
    assert!(matches!(e, Error::NoSwordModules { .. }));
    assert!(e.to_string().contains(SWORD_INSTALL_HINT));

    let tmp = tempfile::tempdir().unwrap();
    standard(tmp.path(), "Synth");
    let lib = SwordLibrary::open(tmp.path()).unwrap();
    match lib.find("kjv") {
        Err(Error::UnknownModule { name, available }) => {
            assert_eq!(
                (name.as_str(), available),
                ("kjv", vec!["Synth".to_string()])
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        lib.find("kjv")
            .unwrap_err()
            .to_string()
            .contains("apt-get install")
    );
    // A conf whose data folder was deleted.
    std::fs::remove_dir_all(tmp.path().join("modules")).unwrap();
    assert!(matches!(
        lib.read_bible("Synth"),
        Err(Error::MissingModuleFile { .. })
    ));
}

#[test]
fn ambiguous_short_names() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["One", "Two"] {
        write_module(
            tmp.path(),
            name,
            &conf_text(name, &[("Abbreviation", "X")]),
            Versification::kjv(),
            &[],
        );
    }
    let lib = SwordLibrary::open(tmp.path()).unwrap();
    assert!(
        matches!(lib.find("x"), Err(Error::AmbiguousModule { candidates, .. }) if candidates.len() == 2)
    );
    assert!(
        matches!(lib.find("xx"), Err(Error::AmbiguousModule { .. })),
        "Lang=xx twice"
    );
    assert_eq!(lib.find("two").unwrap().name, "Two");
    assert_eq!(lib.bibles().len(), 2);
}

#[test]
fn unsupported_modules_are_named() {
    for (key, value, expect) in [
        ("CompressType", "LZSS", "CompressType=LZSS"),
        ("ModDrv", "RawText", "ModDrv=RawText"),
        ("SourceType", "ThML", "SourceType=thml"),
        ("Encoding", "UTF-16", "Encoding=utf-16"),
        ("BlockType", "TESTAMENT", "BlockType=TESTAMENT"),
        ("CipherKey", "secret", "CipherKey"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        write_module(
            tmp.path(),
            "M",
            &conf_text("M", &[(key, value)]),
            Versification::kjv(),
            &[],
        );
        match SwordLibrary::open(tmp.path()).unwrap().read_bible("M") {
            Err(Error::Unsupported { module, what }) => {
                assert_eq!(module, "M");
                assert!(what.contains(expect), "{what:?} lacks {expect:?}");
            }
            other => panic!("{key}={value}: {other:?}"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    write_module(
        tmp.path(),
        "V",
        &conf_text("V", &[("Versification", "Vulg")]),
        Versification::kjv(),
        &[],
    );
    assert!(matches!(
        SwordLibrary::open(tmp.path()).unwrap().read_bible("V"),
        Err(Error::UnknownVersification { name, .. }) if name == "Vulg"
    ));
    // A module whose .conf names the wrong versification: the index size does not fit.
    let tmp = tempfile::tempdir().unwrap();
    write_module(
        tmp.path(),
        "W",
        &conf_text("W", &[("Versification", "NRSVA")]),
        Versification::kjv(),
        &[],
    );
    let e = SwordLibrary::open(tmp.path())
        .unwrap()
        .read_bible("W")
        .unwrap_err();
    expect_corrupt(&e, "ot.bzv", "wrong Versification");
}
