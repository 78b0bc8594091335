//! Text for contrastive sentence embeddings: pairs of sentences that mean the same (a
//! translation, a paraphrase), and the hashed features an encoder reads.
//!
//! This is a leaf crate: it knows nothing of models or training. It gives
//!
//! - **pair data** ([`pairs`], [`spec`]): tab-separated pair files (`pairs:PATH`), Bible
//!   verses aligned across two installed SWORD modules (`bible:web-es`, `bible:kjv-web`,
//!   `bible:A-B`), and a compiled-in slice of them (`bible-slice:web-es`), each split into
//!   train and test as a [`PairDataset`];
//! - **a SWORD module reader** ([`sword`]): `.conf` files, the KJV and NRSVA
//!   versifications with SWORD's verse-index arithmetic, the zText format, OSIS markup
//!   removal, module discovery for `contrast info`;
//! - **features** ([`features`]): Unicode word segmentation and lower-casing, then hashed
//!   word unigrams and character 3- to 5-grams of `<word>` as fastText, as bags of `u32` ids;
//! - **a TF-IDF baseline** ([`tfidf`]) on the same ids, with the cosine matrix between two
//!   sets of sentences.
//!
//! # Formats
//!
//! - Pair file: UTF-8, `left<TAB>right` per line ([`pairs`]).
//! - SWORD zText: `.bzs` block index, `.bzv` verse index, `.bzz` zlib blocks, one set per
//!   testament ([`sword::ztext`]); slots laid out by the versification
//!   ([`sword::versification`]).
//! - Embedded slice: gzip TSV `reference kjv web es` ([`mod@slice`]).
//!
//! # The hash
//!
//! Feature ids and the pair-file hold-out use FNV-1a 64 over UTF-8 bytes ([`hash`]):
//! seedless, byte-defined, the same on every platform and release, reproducible in a few
//! lines of any language, reduced to `n` values by xor-folding to 32 bits then `mod n`
//! ([`hash::bucket`]). Word unigram: `bucket(FNV(0xFF ‖ word), buckets)`; n-gram:
//! `bucket(FNV(ngram), buckets)` (default 2^18 buckets, shared, see [`features`]).
//!
//! # Splits
//!
//! - `pairs:FILE`: a line is test when `bucket(FNV-1a-64(line), 10) = 0` (~10%), else train;
//!   `pairs:FOLDER`: `train.tsv` / `test.tsv`.
//! - `bible:` and `bible-slice:`: Old Testament verses train, New Testament verses test.
//!
//! # Example
//!
//! ```
//! use contrast_text::{load_dataset, FeatureConfig, Featurizer, Tfidf, cosine_matrix};
//!
//! // English-Spanish verse pairs from the compiled-in slice (no install needed).
//! let data = load_dataset("bible-slice:web-es")?;
//! assert!(data.train.len() > 1000 && data.test.len() > 1000);
//!
//! let f = Featurizer::new(FeatureConfig::default())?;      // 2^18 buckets, 3..5-grams
//! let left: Vec<&str> = data.test.iter().take(100).map(|p| p.left.as_str()).collect();
//! let right: Vec<&str> = data.test.iter().take(100).map(|p| p.right.as_str()).collect();
//! let (l, r) = (f.bags(&left), f.bags(&right));
//!
//! // The TF-IDF baseline: idf from the training side, cosine between the two languages.
//! let train: Vec<&str> = data.train.iter().flat_map(|p| [p.left.as_str(), p.right.as_str()]).collect();
//! let tfidf = Tfidf::fit(&f.bags(&train), f.config().buckets)?;
//! let sim = cosine_matrix(&tfidf.transform(&l)?, &tfidf.transform(&r)?);
//! assert_eq!(sim.dim(), (100, 100));
//! # Ok::<(), contrast_text::Error>(())
//! ```

pub mod align;
pub mod error;
pub mod features;
pub mod hash;
pub mod pairs;
pub mod slice;
pub mod spec;
pub mod sword;
pub mod tfidf;

pub use align::{AlignReport, align};
pub use error::{Error, PairLineProblem, Result, SWORD_INSTALL_HINT};
pub use features::{DEFAULT_BUCKETS, FeatureConfig, Featurizer, TokenBags, words};
pub use hash::{Fnv1a64, bucket, fnv1a64};
pub use pairs::{PairDataset, PairOrigin, TextPair, is_held_out, read_pair_file, read_pairs};
pub use slice::{slice_pairs, slice_verses};
pub use spec::{TextDataset, load_dataset};
pub use sword::{Bible, BibleSummary, Reference, SwordLibrary, Testament, Verse, Versification};
pub use tfidf::{SparseVec, Tfidf, cosine_matrix};
