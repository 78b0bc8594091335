//! OSIS markup of one verse entry to plain text.
//!
//! SWORD stores each verse as an OSIS fragment (milestones such as `<div sID=.../>` or
//! `<chapter .../>` open in one verse and close in another), so this is a streaming tag
//! scanner, not an XML parser. Elements fall into four groups:
//!
//! | group | elements | what happens |
//! |---|---|---|
//! | dropped with content | `note` (footnotes, cross-references, study notes), `title` unless `canonical="true"`, `speaker`, `rdg`, `catchWord`, `figure` | removed, text and all |
//! | line breaks | `l lg lb p div chapter verse milestone list item br table row cell head`, and a canonical `title`'s start and end | a space |
//! | word-level | `w`, `transChange` | unwrapped; their start and end are *soft breaks* |
//! | transparent | everything else (`q`, `hi`, `seg`, `divineName`, `foreign`, `name`, `reference` outside notes, ...) | unwrapped |
//!
//! A **soft break** (a word-level boundary, or the place of a dropped element) becomes a
//! space only between two letters or digits: `God</w><note>…</note><w>created` (WEB) gives
//! `God created`, `allí</w><transChange>también</transChange><w>bdelio` (RV1909) gives
//! `allí también bdelio`, while `God</w>’s` or `earth</w>.` stay `God’s`, `earth.`. Two
//! word elements are two words, so words never run together; the one cost is that RV1909's
//! enclitic pronouns marked as added words without a space (`Júrame</w><transChange>lo`) come
//! out as `Júrame lo`, because the markup cannot tell them from `Josué</w><transChange>los
//! circuncidó` (both occur).
//!
//! Canonical titles (the Psalm superscriptions, which RV1909 keeps inside verse 1) stay
//! as text: they are part of the verse in the Hebrew numbering, and keeping them aligns KJV
//! and WEB with RV1909. Section headings, book titles and KJV's epistle subscriptions
//! (`title` without `canonical="true"`) are dropped. `q` never supplies quotation marks
//! (the modules' `OSISqToTick=false`: the punctuation is in the text).
//!
//! Entities `&amp; &lt; &gt; &quot; &apos; &#N; &#xH;` are decoded; unknown ones are kept
//! as written. Finally every run of Unicode whitespace becomes one space and the ends are
//! trimmed.

/// Elements removed together with their content.
const DROPPED: &[&str] = &["note", "speaker", "rdg", "catchWord", "figure"];
/// Elements whose start, end or milestone is a line break.
const BREAKS: &[&str] = &[
    "l",
    "lg",
    "lb",
    "p",
    "div",
    "chapter",
    "verse",
    "milestone",
    "list",
    "item",
    "br",
    "table",
    "row",
    "cell",
    "head",
];
/// Word-level elements: their boundaries are soft breaks.
const WORDS: &[&str] = &["w", "transChange"];

/// A tag: its name, whether it is an end tag, whether it closes itself, and its full text.
struct Tag<'a> {
    name: &'a str,
    end: bool,
    empty: bool,
    text: &'a str,
}

impl<'a> Tag<'a> {
    /// Parses the tag text between `<` and `>` (exclusive).
    fn parse(text: &'a str) -> Self {
        let end = text.starts_with('/');
        let body = text.trim_start_matches('/');
        let name_len = body
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(body.len());
        Tag {
            name: &body[..name_len],
            end,
            empty: text.ends_with('/'),
            text,
        }
    }

    /// The value of attribute `name`, if present.
    fn attr(&self, name: &str) -> Option<&'a str> {
        let mut rest = self.text;
        while let Some(at) = rest.find(name) {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + name.len()..];
            if before.is_some_and(char::is_whitespace)
                && let Some(v) = after.trim_start().strip_prefix('=')
            {
                let v = v.trim_start();
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    let v = &v[1..];
                    return v.find(q).map(|e| &v[..e]);
                }
            }
            rest = after;
        }
        None
    }
}

/// Where the next tag ends (index of its `>`), skipping `>` inside quoted attributes.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Break {
    None,
    Soft,
    Hard,
}

/// Builds the output text, placing breaks.
struct Out {
    text: String,
    pending: Break,
}

impl Out {
    fn brk(&mut self, b: Break) {
        if b == Break::Hard || self.pending == Break::None {
            self.pending = b;
        }
    }

    fn push(&mut self, c: char) {
        let last = self.text.chars().next_back();
        let space = match self.pending {
            Break::Hard => last.is_some_and(|l| !l.is_whitespace()),
            Break::Soft => last.is_some_and(char::is_alphanumeric) && c.is_alphanumeric(),
            Break::None => false,
        };
        if space {
            self.text.push(' ');
        }
        self.pending = Break::None;
        self.text.push(c);
    }
}

/// Decodes the entity starting at `s` (just after `&`): the char and the bytes consumed.
fn entity(s: &str) -> Option<(char, usize)> {
    let semi = s.find(';').filter(|&i| i <= 10)?;
    let name = &s[..semi];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, semi + 1))
}

/// Collapses every run of Unicode whitespace into one space and trims the ends.
pub fn normalize_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The plain text of one OSIS verse entry (see the module docs for the rules).
pub fn osis_to_text(markup: &str) -> String {
    let mut out = Out {
        text: String::with_capacity(markup.len() / 2),
        pending: Break::None,
    };
    // While inside a dropped element: its name and how many of it are open.
    let mut dropping: Option<(&str, usize)> = None;
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = tag_end(rest)
        {
            let tag = Tag::parse(&rest[1..end]);
            rest = &rest[end + 1..];
            if let Some((name, depth)) = dropping.as_mut() {
                if tag.name == *name && !tag.empty {
                    if tag.end {
                        *depth -= 1;
                    } else {
                        *depth += 1;
                    }
                    if *depth == 0 {
                        dropping = None;
                        out.brk(Break::Soft);
                    }
                }
                continue;
            }
            let canonical_title =
                tag.name == "title" && (tag.end || tag.attr("canonical") == Some("true"));
            if !tag.end && !tag.empty && (DROPPED.contains(&tag.name) || tag.name == "title") {
                if canonical_title {
                    out.brk(Break::Hard);
                } else {
                    dropping = Some((tag.name, 1));
                }
            } else if BREAKS.contains(&tag.name) || canonical_title {
                out.brk(Break::Hard);
            } else if WORDS.contains(&tag.name) {
                out.brk(Break::Soft);
            }
            continue;
        }
        let (ch, len) = if c == '&' {
            entity(&rest[1..]).map_or((c, 1), |(e, n)| (e, n + 1))
        } else {
            (c, c.len_utf8())
        };
        rest = &rest[len..];
        if dropping.is_none() {
            out.push(ch);
        }
    }
    normalize_whitespace(&out.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_note_between_word_elements_does_not_glue() {
        let raw = r#"<w lemma="strong:H0430">In</w> <w lemma="strong:H7225">beginning</w>, <w lemma="strong:H0430">God</w><note placement="foot"><reference type="annotateRef">1:1 </reference>The Hebrew word rendered “God” is “אֱלֹהִ֑ים” (Elohim).</note><w lemma="strong:H1254">created</w> <w>the</w> <w>earth</w>. "#;
        assert_eq!(osis_to_text(raw), "In beginning, God created the earth.");
    }

    #[test]
    fn word_elements_without_space_are_two_words() {
        assert_eq!(osis_to_text("<w>God</w><w>created</w>"), "God created");
        assert_eq!(
            osis_to_text(
                r#"<w>hay allí</w><transChange type="added">también</transChange><w>bdelio</w>"#
            ),
            "hay allí también bdelio"
        );
        // Punctuation and apostrophes attach as written.
        assert_eq!(osis_to_text("<w>God</w>’s <w>earth</w>."), "God’s earth.");
        assert_eq!(osis_to_text("“<w>Blessed</w>"), "“Blessed");
    }

    #[test]
    fn notes_and_headings_drop_with_their_content() {
        let raw = r#"<div type="x-milestone" subType="x-preverse" sID="pv1"/><title>Section <note>n</note>heading</title> <lg sID="g1"/><l sID="g2"/><div type="x-milestone" subType="x-preverse" eID="pv1"/>Text<note type="crossReference"><reference>Gen 1:1</reference></note> here.<l eID="g2"/>"#;
        assert_eq!(osis_to_text(raw), "Text here.");
        // Nested notes of the same name.
        assert_eq!(osis_to_text("a <note>x <note>y</note> z</note>b"), "a b");
        assert_eq!(
            osis_to_text("<speaker>Beloved</speaker> Let him kiss me"),
            "Let him kiss me"
        );
        // KJV's subscription after Romans 16:27 is not canonical: dropped.
        assert_eq!(
            osis_to_text(
                "Amen. <chapter eID=\"Rom.16\"/> <title>Written to the Romans from Corinthus</title>"
            ),
            "Amen."
        );
    }

    #[test]
    fn canonical_titles_are_kept_as_a_line() {
        let raw = r#"<div type="x-milestone" subType="x-preverse" sID="pv4877"/><title canonical="true" type="psalm">A Psalm by David.</title><lg sID="g"/><div type="x-milestone" subType="x-preverse" eID="pv4877"/>Yahweh, how <w>my</w> adversaries increased!"#;
        assert_eq!(
            osis_to_text(raw),
            "A Psalm by David. Yahweh, how my adversaries increased!"
        );
        assert_eq!(
            osis_to_text(r#"<title canonical="true">Title</title>Text"#),
            "Title Text"
        );
    }

    #[test]
    fn line_breaks_and_whitespace() {
        assert_eq!(
            osis_to_text("soul,<l eID=\"a\"/><l sID=\"b\"/>“There\n\t is"),
            "soul, “There is"
        );
        assert_eq!(osis_to_text("  <lb/>  "), "");
        assert_eq!(osis_to_text("a<milestone type=\"line\"/>b"), "a b");
    }

    #[test]
    fn red_letters_and_inline_markup_are_unwrapped() {
        let raw = r#"said, <q marker="" who="Jesus"><w>Suffer</w> <seg type="x-nested"><transChange type="added"><w>it to be so</w></transChange></seg> now</q>: the <divineName>Lord</divineName>"#;
        assert_eq!(osis_to_text(raw), "said, Suffer it to be so now: the Lord");
    }

    #[test]
    fn entities_and_odd_markup() {
        assert_eq!(
            osis_to_text("A &amp; B &#233; &#xE9; &bogus; &"),
            "A & B é é &bogus; &"
        );
        // A '>' inside a quoted attribute does not end the tag.
        assert_eq!(osis_to_text(r#"<milestone n="$Rev: 1 > 0$"/>text"#), "text");
        // An unterminated '<' is text.
        assert_eq!(osis_to_text("a < b"), "a < b");
        // A dropped element never closed drops the rest.
        assert_eq!(osis_to_text("kept<note>lost"), "kept");
    }
}
