//! SWORD's compressed verse-keyed format, "zText".
//!
//! Each testament has three files, named `ot.*`/`nt.*` with a letter for the block size
//! (`BlockType=BOOK` → `b`, `CHAPTER` → `c`, `VERSE` → `v`), e.g. `ot.bzs ot.bzv ot.bzz`.
//! All integers are little-endian.
//!
//! ```text
//! .bzv  verse index, 10 bytes per slot:  u32 block, u32 start, u16 size
//!       (slot layout: see `versification`; size 0 = empty slot)
//! .bzs  block index, 12 bytes per block: u32 offset in .bzz, u32 compressed size,
//!                                        u32 uncompressed size
//! .bzz  the blocks, each a zlib stream (CompressType=ZIP) of the concatenated entries
//! ```
//!
//! Entry `k` is bytes `start .. start + size` of block `block`, cut at the first NUL as
//! SWORD cuts it. This reader loads the three files into memory, checks that the verse index
//! has exactly the slots the versification implies, and checks every block it inflates
//! (offsets inside the file, a valid zlib stream, the stated uncompressed size, entries
//! inside the block), so a truncated or corrupt file is an error naming the file and block,
//! never a silently shifted text.

use super::conf::ModuleConf;
use super::versification::{Testament, Versification};
use crate::error::{Error, Result};
use flate2::read::ZlibDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The three files of one testament, read into memory.
#[derive(Debug)]
struct TestamentFiles {
    verse_index_path: PathBuf,
    block_index_path: PathBuf,
    blocks_path: PathBuf,
    verse_index: Vec<u8>,
    block_index: Vec<u8>,
    blocks: Vec<u8>,
}

/// A zText module's raw entries (markup still in place), by testament and slot.
#[derive(Debug)]
pub struct ZText {
    module: String,
    versification: &'static Versification,
    testaments: [Option<TestamentFiles>; 2],
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingModuleFile {
                path: path.to_path_buf(),
            }
        } else {
            Error::io(path, e)
        }
    })
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The file-name letter of a `BlockType`.
fn block_letter(block_type: &str) -> Option<char> {
    match block_type.to_ascii_uppercase().as_str() {
        "BOOK" => Some('b'),
        "CHAPTER" => Some('c'),
        "VERSE" => Some('v'),
        _ => None,
    }
}

impl ZText {
    /// Opens the zText files in `dir` (`BlockType` names the file letter). A testament whose
    /// three files are all absent is treated as not present (SWORD allows Old- or
    /// New-Testament-only modules); one with only some of them is an error.
    pub fn open(
        dir: &Path,
        module: &str,
        block_type: &str,
        versification: &'static Versification,
    ) -> Result<Self> {
        let letter = block_letter(block_type).ok_or_else(|| Error::Unsupported {
            module: module.to_string(),
            what: format!("BlockType={block_type}"),
        })?;
        let mut testaments = [None, None];
        for (slot, t) in [Testament::Old, Testament::New].into_iter().enumerate() {
            let p = t.file_prefix();
            let paths = [
                dir.join(format!("{p}.{letter}zv")),
                dir.join(format!("{p}.{letter}zs")),
                dir.join(format!("{p}.{letter}zz")),
            ];
            if paths.iter().all(|p| !p.exists()) {
                continue;
            }
            let [verse_index_path, block_index_path, blocks_path] = paths;
            let files = TestamentFiles {
                verse_index: read_file(&verse_index_path)?,
                block_index: read_file(&block_index_path)?,
                blocks: read_file(&blocks_path)?,
                verse_index_path,
                block_index_path,
                blocks_path,
            };
            let expected = versification.slots(t) * 10;
            if files.verse_index.len() != expected {
                return Err(Error::CorruptModule {
                    path: files.verse_index_path,
                    detail: format!(
                        "{} bytes, but the {} versification needs {} slots of 10 bytes = {expected} \
                         (truncated, or the .conf names the wrong Versification)",
                        files.verse_index.len(),
                        versification.name(),
                        versification.slots(t)
                    ),
                });
            }
            if !files.block_index.len().is_multiple_of(12) {
                return Err(Error::CorruptModule {
                    path: files.block_index_path,
                    detail: format!(
                        "{} bytes is not a whole number of 12-byte block records",
                        files.block_index.len()
                    ),
                });
            }
            testaments[slot] = Some(files);
        }
        if testaments.iter().all(Option::is_none) {
            return Err(Error::MissingModuleFile {
                path: dir.join(format!("ot.{letter}zv")),
            });
        }
        Ok(Self {
            module: module.to_string(),
            versification,
            testaments,
        })
    }

    /// Opens the module a `.conf` describes, after checking that it is something this reader
    /// implements: `ModDrv=zText`, `CompressType=ZIP`, no `CipherKey`, a known versification.
    pub fn from_conf(conf: &ModuleConf) -> Result<Self> {
        let unsupported = |what: String| Error::Unsupported {
            module: conf.name.clone(),
            what,
        };
        if !conf.driver().eq_ignore_ascii_case("zText") {
            return Err(unsupported(format!(
                "ModDrv={} (this reader reads zText)",
                conf.driver()
            )));
        }
        if !conf.compress_type().eq_ignore_ascii_case("ZIP") {
            return Err(unsupported(format!(
                "CompressType={} (this reader inflates ZIP/zlib)",
                conf.compress_type()
            )));
        }
        if conf.get("CipherKey").is_some_and(|k| !k.is_empty()) {
            return Err(unsupported("CipherKey (the module is enciphered)".into()));
        }
        let v11n = Versification::by_name(conf.versification()).ok_or_else(|| {
            Error::UnknownVersification {
                module: conf.name.clone(),
                name: conf.versification().to_string(),
            }
        })?;
        Self::open(&conf.data_dir()?, &conf.name, conf.block_type(), v11n)
    }

    /// The module name.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The versification its index follows.
    pub fn versification(&self) -> &'static Versification {
        self.versification
    }

    fn files(&self, t: Testament) -> Option<&TestamentFiles> {
        self.testaments[match t {
            Testament::Old => 0,
            Testament::New => 1,
        }]
        .as_ref()
    }

    /// The compressed-text file (`.?zz`) of a testament, for error messages; `None` when
    /// the testament is absent.
    pub fn blocks_path(&self, t: Testament) -> Option<&Path> {
        self.files(t).map(|f| f.blocks_path.as_path())
    }

    /// True when the module has this testament's files.
    pub fn has(&self, t: Testament) -> bool {
        self.files(t).is_some()
    }

    /// The raw bytes of one slot (empty for an empty slot or an absent testament).
    pub fn entry(&self, t: Testament, slot: usize) -> Result<Vec<u8>> {
        let Some(files) = self.files(t) else {
            return Ok(Vec::new());
        };
        let mut cache = None;
        files.entry(slot, &mut cache)
    }

    /// The raw bytes of every slot of a testament, in slot order, each block inflated once;
    /// `None` for an absent testament.
    pub fn entries(&self, t: Testament) -> Result<Option<Vec<Vec<u8>>>> {
        let Some(files) = self.files(t) else {
            return Ok(None);
        };
        let mut cache = None;
        (0..files.verse_index.len() / 10)
            .map(|slot| files.entry(slot, &mut cache))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

impl TestamentFiles {
    fn corrupt(&self, path: &Path, detail: String) -> Error {
        Error::CorruptModule {
            path: path.to_path_buf(),
            detail,
        }
    }

    /// Inflates block `block` (checking every size the index states).
    fn inflate(&self, block: usize) -> Result<Vec<u8>> {
        let blocks = self.block_index.len() / 12;
        if block >= blocks {
            return Err(self.corrupt(
                &self.verse_index_path,
                format!("refers to block {block}, but the block index has {blocks} blocks"),
            ));
        }
        let rec = block * 12;
        let offset = u32_at(&self.block_index, rec) as usize;
        let size = u32_at(&self.block_index, rec + 4) as usize;
        let unpacked = u32_at(&self.block_index, rec + 8) as usize;
        let end = offset.checked_add(size).filter(|&e| e <= self.blocks.len());
        let Some(end) = end else {
            return Err(self.corrupt(
                &self.blocks_path,
                format!(
                    "block {block} spans bytes {offset}..{} but the file has {} (truncated?)",
                    offset as u64 + size as u64,
                    self.blocks.len()
                ),
            ));
        };
        let mut out = Vec::with_capacity(unpacked);
        // Read one byte past the stated size so an overlong stream is caught, not trusted.
        ZlibDecoder::new(&self.blocks[offset..end])
            .take(unpacked as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| self.corrupt(&self.blocks_path, format!("block {block}: {e}")))?;
        if out.len() != unpacked {
            return Err(self.corrupt(
                &self.blocks_path,
                format!(
                    "block {block} inflates to {} bytes, the block index says {unpacked}",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }

    /// Slot `slot`, reusing `cache` (the last inflated block) when it is the same block.
    fn entry(&self, slot: usize, cache: &mut Option<(usize, Vec<u8>)>) -> Result<Vec<u8>> {
        let rec = slot * 10;
        if rec + 10 > self.verse_index.len() {
            return Err(self.corrupt(
                &self.verse_index_path,
                format!("slot {slot} is past the end of the index"),
            ));
        }
        let block = u32_at(&self.verse_index, rec) as usize;
        let start = u32_at(&self.verse_index, rec + 4) as usize;
        let size = u16::from_le_bytes([self.verse_index[rec + 8], self.verse_index[rec + 9]]);
        if size == 0 {
            return Ok(Vec::new());
        }
        if cache.as_ref().is_none_or(|(b, _)| *b != block) {
            *cache = Some((block, self.inflate(block)?));
        }
        let data = &cache.as_ref().expect("filled above").1;
        let end = start + usize::from(size);
        if end > data.len() {
            return Err(self.corrupt(
                &self.verse_index_path,
                format!(
                    "slot {slot} asks for bytes {start}..{end} of block {block}, which has {}",
                    data.len()
                ),
            ));
        }
        let bytes = &data[start..end];
        let cut = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(bytes[..cut].to_vec())
    }
}
