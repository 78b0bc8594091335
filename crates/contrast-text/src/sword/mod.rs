//! Reading SWORD Bible modules: `.conf` files, versification tables, the zText format and
//! OSIS markup, from the files the Debian `sword-text-*` packages install.
//!
//! ```no_run
//! use contrast_text::sword::SwordLibrary;
//! let lib = SwordLibrary::system()?;
//! let web = lib.read_bible("web")?;            // engWEB2015eb, by Abbreviation=
//! println!("{} verses, first: {}", web.verses.len(), web.verses[0].text);
//! # Ok::<(), contrast_text::Error>(())
//! ```

pub mod bible;
pub mod conf;
pub mod library;
pub mod osis;
pub mod versification;
pub mod ztext;

pub use bible::{Bible, Verse};
pub use conf::ModuleConf;
pub use library::{BibleSummary, SwordLibrary};
pub use versification::{Reference, Testament, Versification};
pub use ztext::ZText;
