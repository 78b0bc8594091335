//! Hashed word and character n-gram features, as fastText builds its subword input.
//!
//! A sentence becomes a bag of feature ids in `[0, buckets)`:
//!
//! 1. **Words**: Unicode word segmentation (UAX #29 word boundaries, `unicode-segmentation`'s
//!    `unicode_words`: words, numbers and words with inner apostrophes such as `God’s`;
//!    punctuation and spaces dropped), each word lower-cased with Rust's Unicode
//!    `str::to_lowercase` (full case mapping, final sigma included). Text is not
//!    Unicode-normalised: feed NFC text (the SWORD modules are) so `á` is one code point.
//! 2. **Word unigram** (if enabled): `id = bucket(FNV-1a-64(0xFF ‖ utf8(word)), buckets)`,
//!    with [`crate::hash::bucket`] the xor-fold to 32 bits then `mod buckets`. The
//!    leading byte `0xFF` never occurs in UTF-8, so a word never hashes like an n-gram of
//!    the same spelling: words and n-grams share the buckets but are separate features
//!    (they still collide by chance, as any two hashed features do).
//! 3. **Character n-grams** of `<word>` (boundary markers `<` and `>` added, as fastText),
//!    for every n in `min_n..=max_n` counted in Unicode scalar values (characters, not
//!    bytes): `id = bucket(FNV-1a-64(utf8(ngram)), buckets)`. A 1-gram that is only a marker
//!    is skipped (fastText's rule; only matters when `min_n = 1`).
//!
//! Ids are emitted word by word in text order: the word's unigram, then its n-grams by
//! start position and, at each start, by increasing length. **Duplicates are kept**, so a
//! feature's count in the bag is its term frequency: a mean or sum embedding bag weights it
//! by that count, and [`crate::tfidf`] counts it as `tf`.
//!
//! For `"Niño"` with the defaults (n = 3..5): word `niño`, n-grams `<ni <niñ <niño niñ niño
//! niño> iño iño> ño>` (9 n-grams, 10 ids).
//!
//! A batch is stored as [`TokenBags`]: all ids concatenated plus `offsets` (CSR layout,
//! `offsets.len() = n + 1`), the layout an embedding bag reads.

use crate::error::{Error, Result};
use crate::hash::{Fnv1a64, bucket};
use rayon::prelude::*;
use unicode_segmentation::UnicodeSegmentation;

/// The default bucket count, 2^18 = 262,144 (rows of the embedding table).
pub const DEFAULT_BUCKETS: u32 = 1 << 18;

/// The byte that prefixes a word unigram before hashing (never valid in UTF-8).
const WORD_PREFIX: u8 = 0xFF;

/// How sentences become feature ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureConfig {
    /// Number of hash buckets: ids lie in `[0, buckets)`. Default 2^18.
    pub buckets: u32,
    /// Shortest character n-gram (in characters, markers included). Default 3.
    pub min_n: usize,
    /// Longest character n-gram. Default 5. `max_n = 0` turns n-grams off.
    pub max_n: usize,
    /// Emit a hashed unigram per word. Default true.
    pub word_unigrams: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            buckets: DEFAULT_BUCKETS,
            min_n: 3,
            max_n: 5,
            word_unigrams: true,
        }
    }
}

/// The lower-cased words of `text` (UAX #29 word segmentation, then Unicode lower-casing).
pub fn words(text: &str) -> Vec<String> {
    text.unicode_words().map(str::to_lowercase).collect()
}

/// Turns sentences into bags of hashed feature ids (see the module docs for the formulas).
#[derive(Clone, Debug)]
pub struct Featurizer {
    config: FeatureConfig,
}

impl Featurizer {
    /// A featuriser; errors when `buckets = 0`, `min_n = 0` with n-grams on, `min_n > max_n`
    /// with n-grams on, or both words and n-grams are off.
    pub fn new(config: FeatureConfig) -> Result<Self> {
        if config.buckets == 0 {
            return Err(Error::BadFeatureConfig("buckets must be at least 1".into()));
        }
        let ngrams = config.max_n > 0;
        if ngrams && (config.min_n == 0 || config.min_n > config.max_n) {
            return Err(Error::BadFeatureConfig(format!(
                "n-gram range {}..={} is empty or starts at 0",
                config.min_n, config.max_n
            )));
        }
        if !ngrams && !config.word_unigrams {
            return Err(Error::BadFeatureConfig(
                "both word unigrams and n-grams are off: every bag would be empty".into(),
            ));
        }
        Ok(Self { config })
    }

    /// The configuration.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    #[inline]
    fn bucket(&self, h: u64) -> u32 {
        bucket(h, self.config.buckets)
    }

    /// The feature ids of `text`, duplicates kept.
    pub fn bag(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.extend_bag(text, &mut out);
        out
    }

    /// Appends the feature ids of `text` to `out`.
    pub fn extend_bag(&self, text: &str, out: &mut Vec<u32>) {
        let mut marked = String::new();
        let mut starts: Vec<usize> = Vec::new();
        for word in text.unicode_words() {
            let word = word.to_lowercase();
            if self.config.word_unigrams {
                let h = Fnv1a64::new()
                    .update(&[WORD_PREFIX])
                    .update(word.as_bytes())
                    .finish();
                out.push(self.bucket(h));
            }
            if self.config.max_n == 0 {
                continue;
            }
            marked.clear();
            marked.push('<');
            marked.push_str(&word);
            marked.push('>');
            // Byte offsets of every character, plus the end, so n-grams are char-based.
            starts.clear();
            starts.extend(marked.char_indices().map(|(i, _)| i));
            starts.push(marked.len());
            let chars = starts.len() - 1;
            for i in 0..chars {
                for n in self.config.min_n..=self.config.max_n {
                    if i + n > chars {
                        break;
                    }
                    if n == 1 && (i == 0 || i + 1 == chars) {
                        continue; // a lone boundary marker
                    }
                    let gram = &marked.as_bytes()[starts[i]..starts[i + n]];
                    out.push(self.bucket(Fnv1a64::new().update(gram).finish()));
                }
            }
        }
    }

    /// The bags of many sentences (in parallel; the result does not depend on the number of
    /// threads).
    pub fn bags<S: AsRef<str> + Sync>(&self, texts: &[S]) -> TokenBags {
        let per: Vec<Vec<u32>> = texts.par_iter().map(|t| self.bag(t.as_ref())).collect();
        TokenBags::from_bags(per)
    }
}

/// Many bags of ids in CSR layout: bag `i` is `ids[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenBags {
    /// All ids, bag after bag.
    pub ids: Vec<u32>,
    /// `n + 1` offsets into `ids`, starting at 0 and non-decreasing.
    pub offsets: Vec<usize>,
}

impl TokenBags {
    /// Packs separate bags.
    pub fn from_bags<B: AsRef<[u32]>>(bags: impl IntoIterator<Item = B>) -> Self {
        let mut ids = Vec::new();
        let mut offsets = vec![0];
        for bag in bags {
            ids.extend_from_slice(bag.as_ref());
            offsets.push(ids.len());
        }
        Self { ids, offsets }
    }

    /// Number of bags.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are no bags.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bag `i`.
    pub fn bag(&self, i: usize) -> &[u32] {
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Iterates over the bags.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.offsets.windows(2).map(|w| &self.ids[w[0]..w[1]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::fnv1a64;

    fn ngram_id(s: &str, buckets: u32) -> u32 {
        bucket(fnv1a64(s.as_bytes()), buckets)
    }

    fn word_id(s: &str, buckets: u32) -> u32 {
        let mut bytes = vec![0xFF];
        bytes.extend_from_slice(s.as_bytes());
        bucket(fnv1a64(&bytes), buckets)
    }

    #[test]
    fn words_are_unicode_segmented_and_lowercased() {
        assert_eq!(
            words("¡OH Jehová, cuánto se han multiplicado!"),
            ["oh", "jehová", "cuánto", "se", "han", "multiplicado"]
        );
        assert_eq!(
            words("God’s Spirit, 127 provinces."),
            ["god’s", "spirit", "127", "provinces"]
        );
        // Final sigma: Unicode lower-casing, not byte-wise ASCII.
        assert_eq!(words("ΟΔΟΣ"), ["οδος"]);
        assert_eq!(words("  ...  "), Vec::<String>::new());
    }

    #[test]
    fn nino_bag_is_the_documented_list() {
        let f = Featurizer::new(FeatureConfig::default()).unwrap();
        let b = DEFAULT_BUCKETS;
        let mut expected = vec![word_id("niño", b)];
        for g in [
            "<ni", "<niñ", "<niño", "niñ", "niño", "niño>", "iño", "iño>", "ño>",
        ] {
            expected.push(ngram_id(g, b));
        }
        assert_eq!(f.bag("Niño"), expected);
    }

    #[test]
    fn fixed_ids_do_not_change_between_releases() {
        // Frozen values (computed independently in Python: FNV-1a 64, xor-fold, mod 2^18): if these change,
        // every trained embedding table is silently invalidated.
        let f = Featurizer::new(FeatureConfig::default()).unwrap();
        let bag = f.bag("In");
        assert_eq!(
            bag,
            [
                word_id("in", 1 << 18),
                ngram_id("<in", 1 << 18),
                ngram_id("<in>", 1 << 18),
                ngram_id("in>", 1 << 18)
            ]
        );
        assert_eq!(bag, [189_738, 155_760, 150_843, 262_041]);
    }

    #[test]
    fn duplicates_are_kept_as_counts() {
        let f = Featurizer::new(FeatureConfig {
            max_n: 0,
            ..FeatureConfig::default()
        })
        .unwrap();
        let bag = f.bag("the cat and THE dog");
        assert_eq!(bag.len(), 5);
        assert_eq!(bag[0], bag[3]);
        assert_ne!(bag[0], bag[1]);
    }

    #[test]
    fn word_and_ngram_of_same_spelling_differ() {
        // "cat" as a word vs the 3-gram "cat" inside "<cat>".
        let b = DEFAULT_BUCKETS;
        assert_ne!(word_id("cat", b), ngram_id("cat", b));
    }

    #[test]
    fn short_words_and_ranges() {
        let f = Featurizer::new(FeatureConfig {
            min_n: 1,
            max_n: 2,
            word_unigrams: false,
            buckets: 1000,
        })
        .unwrap();
        // "<a>": 1-grams "a" only (markers skipped), 2-grams "<a", "a>".
        assert_eq!(
            f.bag("a"),
            [
                ngram_id("<a", 1000),
                ngram_id("a", 1000),
                ngram_id("a>", 1000)
            ]
        );
        assert!(f.bag("a").iter().all(|&id| id < 1000));
    }

    #[test]
    fn bad_configs_are_errors() {
        for cfg in [
            FeatureConfig {
                buckets: 0,
                ..Default::default()
            },
            FeatureConfig {
                min_n: 0,
                ..Default::default()
            },
            FeatureConfig {
                min_n: 6,
                max_n: 5,
                ..Default::default()
            },
            FeatureConfig {
                max_n: 0,
                word_unigrams: false,
                ..Default::default()
            },
        ] {
            assert!(
                matches!(Featurizer::new(cfg), Err(Error::BadFeatureConfig(_))),
                "{cfg:?}"
            );
        }
    }

    #[test]
    fn batch_equals_one_by_one() {
        let f = Featurizer::new(FeatureConfig::default()).unwrap();
        let texts = ["In the beginning", "", "EN el principio crió Dios"];
        let bags = f.bags(&texts);
        assert_eq!(bags.len(), 3);
        assert_eq!(bags.offsets[0], 0);
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(bags.bag(i), f.bag(t).as_slice());
        }
        assert!(bags.bag(1).is_empty());
        assert_eq!(bags.iter().count(), 3);
    }
}
