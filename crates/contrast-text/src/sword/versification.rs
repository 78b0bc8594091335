//! Versification tables (which books, chapters and verses a Bible has) and SWORD's
//! verse-index arithmetic.
//!
//! The tables are data files, `data/versification/{kjv,nrsva}.txt`: one line per book in
//! SWORD's order, `OT|NT OSIS-id verses-of-chapter-1 verses-of-chapter-2 ...`. They are the
//! verse counts of SWORD's "KJV" and "NRSVA" systems (NRSVA = NRSV with the deuterocanon,
//! which SWORD files with the Old Testament after Malachi).
//!
//! A zText module stores each testament in its own files, with one index slot per
//! *position*, headings included. Within a testament, in order:
//!
//! ```text
//! slot 0                 module heading (Old Testament file) / unused (New Testament file)
//! slot 1                 testament heading
//! then for each book:    1 slot book heading,
//!   for each chapter:    1 slot chapter heading, then one slot per verse
//! ```
//!
//! so `index(book, chapter, verse) = heading(book, chapter) + verse`, where
//! `heading(b, c) = 2 + Σ_{books b' < b} (1 + chapters(b') + verses(b'))
//!                    + 1 + Σ_{chapters c' < c} (1 + verses(b, c'))`
//! counting only books of the same testament; verse 0 is the chapter heading. A testament
//! index file holds exactly `2 + books + chapters + verses` slots (KJV: 24,115 Old and 8,246
//! New Testament slots; NRSVA: 31,027 and 8,248), which the reader checks.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// Old or New Testament (SWORD's two files per module).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Testament {
    /// Old Testament (and, in NRSVA, the deuterocanon): the training split.
    Old,
    /// New Testament: the test split.
    New,
}

impl Testament {
    /// SWORD's file prefix: `ot` or `nt`.
    pub fn file_prefix(self) -> &'static str {
        match self {
            Testament::Old => "ot",
            Testament::New => "nt",
        }
    }
}

/// A verse reference: OSIS book id, chapter and verse (both 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// OSIS book id, e.g. `Gen`, `Ps`, `Matt`, `1John`.
    pub book: &'static str,
    /// Chapter, from 1.
    pub chapter: u16,
    /// Verse, from 1.
    pub verse: u16,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:{}", self.book, self.chapter, self.verse)
    }
}

/// One book of a versification.
#[derive(Clone, Debug)]
pub struct Book {
    /// OSIS id.
    pub osis: &'static str,
    /// The testament file it is stored in.
    pub testament: Testament,
    /// Verses in each chapter (`verses[c - 1]` for chapter `c`).
    pub verses: Vec<u16>,
    /// Index slot of each chapter's heading within the testament (`verse 0`).
    chapter_heading: Vec<usize>,
}

impl Book {
    /// Number of chapters.
    pub fn chapters(&self) -> usize {
        self.verses.len()
    }
}

/// A versification system: books in order with their chapter and verse counts.
#[derive(Debug)]
pub struct Versification {
    name: &'static str,
    books: Vec<Book>,
    by_osis: HashMap<&'static str, usize>,
    slots: [usize; 2],
}

fn testament_slot(t: Testament) -> usize {
    match t {
        Testament::Old => 0,
        Testament::New => 1,
    }
}

impl Versification {
    /// Parses a table in the format described in the module docs.
    fn parse(name: &'static str, text: &'static str) -> Self {
        let mut books = Vec::new();
        let mut by_osis = HashMap::new();
        // Next free slot per testament: slots 0 and 1 are the module and testament headings.
        let mut next = [2usize, 2usize];
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let testament = match fields.next() {
                Some("OT") => Testament::Old,
                Some("NT") => Testament::New,
                other => panic!("versification {name}: bad testament {other:?}"),
            };
            let osis = fields.next().expect("versification line has a book id");
            let verses: Vec<u16> = fields
                .map(|v| v.parse().expect("versification verse count is a number"))
                .collect();
            let slot = &mut next[testament_slot(testament)];
            *slot += 1; // book heading
            let mut chapter_heading = Vec::with_capacity(verses.len());
            for &v in &verses {
                chapter_heading.push(*slot);
                *slot += 1 + v as usize;
            }
            by_osis.insert(osis, books.len());
            books.push(Book {
                osis,
                testament,
                verses,
                chapter_heading,
            });
        }
        Self {
            name,
            books,
            by_osis,
            slots: next,
        }
    }

    /// SWORD's KJV system: 66 books, 31,102 verses.
    pub fn kjv() -> &'static Versification {
        static V: OnceLock<Versification> = OnceLock::new();
        V.get_or_init(|| Self::parse("KJV", include_str!("../../data/versification/kjv.txt")))
    }

    /// SWORD's NRSVA system: the 66 books plus 17 deuterocanonical ones.
    pub fn nrsva() -> &'static Versification {
        static V: OnceLock<Versification> = OnceLock::new();
        V.get_or_init(|| Self::parse("NRSVA", include_str!("../../data/versification/nrsva.txt")))
    }

    /// The system a `.conf` names (`Versification=`; SWORD's default is KJV), matched
    /// case-insensitively; `None` when this crate has no table for it.
    pub fn by_name(name: &str) -> Option<&'static Versification> {
        match name.to_ascii_uppercase().as_str() {
            "KJV" => Some(Self::kjv()),
            "NRSVA" => Some(Self::nrsva()),
            _ => None,
        }
    }

    /// Its name (`KJV`, `NRSVA`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The books in order.
    pub fn books(&self) -> &[Book] {
        &self.books
    }

    /// The book with this OSIS id.
    pub fn book(&self, osis: &str) -> Option<&Book> {
        self.by_osis.get(osis).map(|&i| &self.books[i])
    }

    /// Number of index slots in a testament's `.bzv` (headings included).
    pub fn slots(&self, testament: Testament) -> usize {
        self.slots[testament_slot(testament)]
    }

    /// The testament and index slot of a verse; `None` when the reference is outside this
    /// versification (unknown book, chapter or verse number; verse 0 is not a verse).
    pub fn index(&self, r: &Reference) -> Option<(Testament, usize)> {
        let book = self.book(r.book)?;
        let c = usize::from(r.chapter).checked_sub(1)?;
        let max = *book.verses.get(c)?;
        if r.verse == 0 || r.verse > max {
            return None;
        }
        Some((
            book.testament,
            book.chapter_heading[c] + usize::from(r.verse),
        ))
    }

    /// The index slot of a chapter heading (verse 0).
    pub fn chapter_heading(&self, book: &str, chapter: u16) -> Option<(Testament, usize)> {
        let b = self.book(book)?;
        let c = usize::from(chapter).checked_sub(1)?;
        Some((b.testament, *b.chapter_heading.get(c)?))
    }

    /// Every verse in order, with its testament and index slot.
    pub fn verses(&self) -> impl Iterator<Item = (Reference, Testament, usize)> + '_ {
        self.books.iter().flat_map(|b| {
            b.verses.iter().enumerate().flat_map(move |(c, &n)| {
                (1..=n).map(move |v| {
                    (
                        Reference {
                            book: b.osis,
                            chapter: c as u16 + 1,
                            verse: v,
                        },
                        b.testament,
                        b.chapter_heading[c] + usize::from(v),
                    )
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(v: &Versification, t: Testament) -> (usize, usize, usize) {
        let books: Vec<_> = v.books().iter().filter(|b| b.testament == t).collect();
        let chapters = books.iter().map(|b| b.chapters()).sum();
        let verses = books
            .iter()
            .flat_map(|b| b.verses.iter())
            .map(|&n| n as usize)
            .sum();
        (books.len(), chapters, verses)
    }

    #[test]
    fn kjv_totals() {
        let v = Versification::kjv();
        assert_eq!(count(v, Testament::Old), (39, 929, 23_145));
        assert_eq!(count(v, Testament::New), (27, 260, 7_957));
        // Slots = 2 headings + books + chapters + verses: the .bzv sizes / 10.
        assert_eq!(v.slots(Testament::Old), 24_115);
        assert_eq!(v.slots(Testament::New), 8_246);
    }

    #[test]
    fn nrsva_totals() {
        let v = Versification::nrsva();
        assert_eq!(count(v, Testament::Old), (56, 1_137, 29_832));
        assert_eq!(count(v, Testament::New), (27, 260, 7_959));
        assert_eq!(v.slots(Testament::Old), 31_027);
        assert_eq!(v.slots(Testament::New), 8_248);
        // NRSV differs from KJV in the New Testament only at 3 John 1:15 and Rev 12:18.
        assert_eq!(v.book("3John").unwrap().verses, [15]);
        assert_eq!(Versification::kjv().book("3John").unwrap().verses, [14]);
    }

    #[test]
    fn index_arithmetic() {
        let v = Versification::kjv();
        let r = |book, chapter, verse| Reference {
            book,
            chapter,
            verse,
        };
        // Slot 0 module heading, 1 testament heading, 2 Genesis heading, 3 Genesis 1 heading.
        assert_eq!(v.index(&r("Gen", 1, 1)), Some((Testament::Old, 4)));
        assert_eq!(v.index(&r("Gen", 1, 31)), Some((Testament::Old, 34)));
        assert_eq!(v.chapter_heading("Gen", 2), Some((Testament::Old, 35)));
        assert_eq!(v.index(&r("Gen", 2, 1)), Some((Testament::Old, 36)));
        // Exodus: Genesis uses 1 + 50 + 1533 slots from slot 2.
        assert_eq!(
            v.index(&r("Exod", 1, 1)),
            Some((Testament::Old, 2 + 1584 + 2))
        );
        assert_eq!(v.index(&r("Matt", 1, 1)), Some((Testament::New, 4)));
        assert_eq!(v.index(&r("Rev", 22, 21)), Some((Testament::New, 8_245)));
        assert_eq!(v.index(&r("Mal", 4, 6)), Some((Testament::Old, 24_114)));
        assert_eq!(v.index(&r("Gen", 1, 32)), None);
        assert_eq!(v.index(&r("Gen", 51, 1)), None);
        assert_eq!(v.index(&r("Gen", 1, 0)), None);
        assert_eq!(v.index(&r("Tob", 1, 1)), None);
        assert!(Versification::nrsva().index(&r("Tob", 1, 1)).is_some());
    }

    #[test]
    fn verses_iterate_in_slot_order() {
        for v in [Versification::kjv(), Versification::nrsva()] {
            let mut last = [0usize; 2];
            let mut n = 0;
            for (r, t, slot) in v.verses() {
                assert!(slot > last[testament_slot(t)], "{r}");
                assert_eq!(v.index(&r), Some((t, slot)));
                last[testament_slot(t)] = slot;
                n += 1;
            }
            assert_eq!(last[0] + 1, v.slots(Testament::Old));
            assert_eq!(last[1] + 1, v.slots(Testament::New));
            assert!(n > 31_000);
        }
        assert_eq!(Versification::by_name("nrsva").unwrap().name(), "NRSVA");
        assert!(Versification::by_name("Vulg").is_none());
    }
}
