//! Writes small synthetic SWORD zText modules, so the format code is tested without the
//! Debian packages.

#![allow(dead_code)]

use contrast_text::{Reference, Testament, Versification};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `.conf` text of a module, with `overrides` replacing (or, with an empty value,
/// removing) default entries.
pub fn conf_text(name: &str, overrides: &[(&str, &str)]) -> String {
    let mut entries = vec![
        ("DataPath", format!("./modules/texts/ztext/{name}/")),
        ("ModDrv", "zText".into()),
        ("SourceType", "OSIS".into()),
        ("Encoding", "UTF-8".into()),
        ("CompressType", "ZIP".into()),
        ("BlockType", "BOOK".into()),
        ("Versification", "KJV".into()),
        ("Lang", "xx".into()),
        ("Abbreviation", name.to_uppercase()),
        ("Description", format!("Synthetic {name}")),
        ("Category", "Biblical Texts".into()),
    ];
    for (k, v) in overrides {
        entries.retain(|(key, _)| key != k);
        if !v.is_empty() {
            entries.push((k, v.to_string()));
        }
    }
    let mut s = format!("[{name}]\n");
    for (k, v) in entries {
        s.push_str(&format!("{k}={v}\n"));
    }
    s
}

/// A reference in the KJV table.
pub fn r(book: &str, chapter: u16, verse: u16) -> Reference {
    Reference {
        book: Versification::nrsva().book(book).expect("known book").osis,
        chapter,
        verse,
    }
}

/// Writes a module under `library` (its `.conf` in `mods.d/`, its files at the DataPath),
/// with the given verse entries (raw bytes) and everything else empty; blocks of 64 slots.
/// Returns the data folder.
pub fn write_module(
    library: &Path,
    name: &str,
    conf: &str,
    v11n: &'static Versification,
    verses: &[(Reference, &[u8])],
) -> PathBuf {
    std::fs::create_dir_all(library.join("mods.d")).unwrap();
    std::fs::write(
        library
            .join("mods.d")
            .join(format!("{}.conf", name.to_lowercase())),
        conf,
    )
    .unwrap();
    let dir = library.join("modules/texts/ztext").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for t in [Testament::Old, Testament::New] {
        let mut slots: Vec<Vec<u8>> = vec![Vec::new(); v11n.slots(t)];
        for (reference, bytes) in verses {
            if let Some((vt, slot)) = v11n.index(reference)
                && vt == t
            {
                slots[slot] = bytes.to_vec();
            }
        }
        let (mut bzv, mut bzs, mut bzz) = (Vec::new(), Vec::new(), Vec::new());
        for (b, chunk) in slots.chunks(64).enumerate() {
            let mut block = Vec::new();
            for entry in chunk {
                let (blk, start) = if entry.is_empty() {
                    (0u32, 0u32)
                } else {
                    (b as u32, block.len() as u32)
                };
                bzv.extend_from_slice(&blk.to_le_bytes());
                bzv.extend_from_slice(&start.to_le_bytes());
                bzv.extend_from_slice(&(entry.len() as u16).to_le_bytes());
                block.extend_from_slice(entry);
            }
            let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
            z.write_all(&block).unwrap();
            let packed = z.finish().unwrap();
            bzs.extend_from_slice(&(bzz.len() as u32).to_le_bytes());
            bzs.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            bzs.extend_from_slice(&(block.len() as u32).to_le_bytes());
            bzz.extend_from_slice(&packed);
        }
        let p = t.file_prefix();
        std::fs::write(dir.join(format!("{p}.bzv")), bzv).unwrap();
        std::fs::write(dir.join(format!("{p}.bzs")), bzs).unwrap();
        std::fs::write(dir.join(format!("{p}.bzz")), bzz).unwrap();
    }
    dir
}

/// Every file under `dir`, with its size, sorted: a snapshot to show nothing was written.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len()));
            }
        }
    }
    out.sort();
    out
}
