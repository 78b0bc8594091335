//! Verse alignment across two Bible modules: the pairs of `bible:A-B`.
//!
//! Two verses pair when they have the same reference (OSIS book, chapter, verse) and both
//! texts are non-empty. Each module's versification decides which references exist; a
//! reference only one side has (WEB's deuterocanon, NRSVA's 3 John 1:15 and Revelation
//! 12:18 against KJV-versified modules) is counted as `only_left` / `only_right`, an empty
//! verse on either side as `empty_*`, and both are skipped. **Split**: Old Testament verses
//! (SWORD's `ot` file, which in NRSVA includes the deuterocanon) train, New Testament verses
//! test. Pairs keep versification order.
//!
//! Alignment by reference trusts the modules' numbering: where a translation numbers a
//! chapter differently from its stated versification (RV1909 does in a few chapters, about
//! 1% of Old Testament verses), those pairs are off by a verse; nothing here can detect it.

use crate::pairs::{PairDataset, PairOrigin, TextPair};
use crate::sword::{Bible, Reference, Testament};
use std::collections::HashMap;

/// What alignment kept and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlignReport {
    /// Left module name.
    pub left: String,
    /// Right module name.
    pub right: String,
    /// Pairs in the training split (Old Testament).
    pub train_pairs: usize,
    /// Pairs in the test split (New Testament).
    pub test_pairs: usize,
    /// References the left module has and the right lacks (versification or testament).
    pub only_left: usize,
    /// References the right module has and the left lacks.
    pub only_right: usize,
    /// References in both whose left text is empty (right non-empty).
    pub empty_left: Vec<Reference>,
    /// References in both whose right text is empty (left non-empty).
    pub empty_right: Vec<Reference>,
    /// References in both that are empty on both sides.
    pub empty_both: Vec<Reference>,
}

impl std::fmt::Display for AlignReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}: {} train + {} test pairs; skipped {} only in {}, {} only in {}, \
             {} empty in {}, {} empty in {}, {} empty in both",
            self.left,
            self.right,
            self.train_pairs,
            self.test_pairs,
            self.only_left,
            self.left,
            self.only_right,
            self.right,
            self.empty_left.len(),
            self.left,
            self.empty_right.len(),
            self.right,
            self.empty_both.len()
        )
    }
}

/// Aligns two Bibles verse by verse (see the module docs); `name` becomes the dataset name.
pub fn align(name: &str, left: &Bible, right: &Bible) -> PairDataset {
    let right_by_ref: HashMap<&Reference, &crate::sword::Verse> =
        right.verses.iter().map(|v| (&v.reference, v)).collect();
    let mut report = AlignReport {
        left: left.module.clone(),
        right: right.module.clone(),
        ..AlignReport::default()
    };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let mut matched = 0usize;
    for l in &left.verses {
        let Some(r) = right_by_ref.get(&l.reference) else {
            report.only_left += 1;
            continue;
        };
        matched += 1;
        match (l.text.is_empty(), r.text.is_empty()) {
            (true, true) => report.empty_both.push(l.reference),
            (true, false) => report.empty_left.push(l.reference),
            (false, true) => report.empty_right.push(l.reference),
            (false, false) => {
                let pair = TextPair {
                    left: l.text.clone(),
                    right: r.text.clone(),
                    origin: PairOrigin::Verse(l.reference),
                };
                // The testament of a shared reference is the same in every versification.
                match l.testament {
                    Testament::Old => train.push(pair),
                    Testament::New => test.push(pair),
                }
            }
        }
    }
    report.only_right = right.verses.len() - matched;
    report.train_pairs = train.len();
    report.test_pairs = test.len();
    PairDataset {
        name: name.to_string(),
        left_label: left.module.clone(),
        right_label: right.module.clone(),
        train,
        test,
        alignment: Some(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sword::{Verse, Versification};

    fn bible(
        name: &str,
        v11n: &'static Versification,
        text: impl Fn(Reference) -> String,
    ) -> Bible {
        Bible {
            module: name.into(),
            language: String::new(),
            versification: v11n,
            verses: v11n
                .verses()
                .map(|(reference, testament, _)| Verse {
                    reference,
                    testament,
                    text: text(reference),
                })
                .collect(),
        }
    }

    #[test]
    fn counts_and_split() {
        let r = |b, c, v| Reference {
            book: b,
            chapter: c,
            verse: v,
        };
        let kjv = bible("K", Versification::kjv(), |r| format!("k {r}"));
        let web = bible("W", Versification::nrsva(), |x| {
            if x == r("Acts", 8, 37) {
                String::new()
            } else {
                format!("w {x}")
            }
        });
        let d = align("bible:k-w", &kjv, &web);
        let rep = d.alignment.clone().unwrap();
        assert_eq!(rep.empty_left, Vec::<Reference>::new());
        assert_eq!(rep.empty_right, vec![r("Acts", 8, 37)]);
        assert_eq!(rep.only_left, 0);
        // NRSVA has the deuterocanon and 3 John 1:15, Rev 12:18 beyond KJV.
        assert_eq!(rep.only_right, (29_832 - 23_145) + 2);
        assert_eq!(d.train.len(), 23_145);
        assert_eq!(d.test.len(), 7_957 - 1);
        assert_eq!(d.train[0].left, "k Gen 1:1");
        assert_eq!(d.train[0].right, "w Gen 1:1");
        assert_eq!(d.test[0].origin, PairOrigin::Verse(r("Matt", 1, 1)));
        assert!(rep.to_string().contains("1 empty in W"));
    }
}
