//! A business's synonyms: the words its customers use for what its articles call otherwise
//! ("amex" for American Express, "2fa" for two-step verification, "JAWS" for a screen reader).
//!
//! They are read from `synonyms.txt` in the knowledge folder, one rule a line:
//!
//! ```text
//! # the same thing, however it is written: a passage with any of them is found by all
//! amex, american express
//! # the words on the left are searched as the phrase on the right
//! austria, belgium, france => european union
//! ```
//!
//! A passage that has one of a group's words is indexed with the group's words beside its
//! article's tags, so a question in any of them finds it, and they count as its words for
//! ranking and confidence (a group is short: each word lengthens the tags it joins, which
//! weighs their matches down). The index records which groups it was built with and is
//! rebuilt at the next start when they change. A phrase on the left of `=>` is replaced, in
//! the question, by the phrase on the right before it is searched (at each word, the longest
//! phrase that starts there); a long list costs nothing.

use std::{borrow::Cow, collections::HashMap, path::Path};

/// The file in the knowledge folder that holds them.
pub const FILE: &str = "synonyms.txt";

/// A line of the synonyms file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file} line {line}: {message}")]
pub struct SynonymsError {
    file: String,
    line: usize,
    message: &'static str,
}

/// The rules: groups of words that mean the same, and phrases a question may have with the
/// phrase each is searched as.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
    searched_as: Vec<(String, String)>,
}

impl Synonyms {
    /// Reads `dir`'s synonyms file; none when there is no such file.
    pub fn load(dir: &Path) -> Result<Self, SynonymsError> {
        let path = dir.join(FILE);
        let file = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|e| SynonymsError { file, ..e }),
            // No file, or no knowledge folder (the articles' import warns of that).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(Self::default())
            }
            Err(e) => Err(SynonymsError {
                file,
                line: 0,
                message: match e.kind() {
                    std::io::ErrorKind::InvalidData => "the file is not UTF-8 text",
                    _ => "the file cannot be read",
                },
            }),
        }
    }

    /// Reads rules from the text of a synonyms file.
    pub fn parse(text: &str) -> Result<Self, SynonymsError> {
        let mut synonyms = Self::default();
        for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |message| SynonymsError {
                file: FILE.to_owned(),
                line: n + 1,
                message,
            };
            let members = |side: &str| -> Result<Vec<String>, SynonymsError> {
                let words: Vec<String> = side
                    .split(',')
                    .map(|word| word.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                if words.iter().any(String::is_empty) {
                    return Err(error(
                        "a word or phrase is missing (between commas, or beside `=>`)",
                    ));
                }
                Ok(words)
            };
            match line.split_once("=>") {
                Some((_, right)) if right.contains("=>") => {
                    return Err(error("a rule has at most one `=>`"));
                }
                Some((left, right)) => {
                    let (left, right) = (members(left)?, members(right)?);
                    let [right] = <[String; 1]>::try_from(right)
                        .map_err(|_| error("a rule has one phrase after `=>`"))?;
                    for phrase in left {
                        synonyms.searched_as.push((phrase, right.clone()));
                    }
                }
                None => {
                    let words = members(line)?;
                    if words.len() < 2 {
                        return Err(error(
                            "a rule needs two or more words or phrases, separated by commas (or `=>`)",
                        ));
                    }
                    synonyms.groups.push(words);
                }
            }
        }
        Ok(synonyms)
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.searched_as.is_empty()
    }

    /// A short name for the groups (FNV-1a), which the index records to see a change; none
    /// without groups (the rules applied to questions change no index).
    pub(super) fn fingerprint(&self) -> Option<String> {
        if self.groups.is_empty() {
            return None;
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for group in &self.groups {
            for word in group {
                for byte in word.bytes().chain([0]) {
                    hash ^= u64::from(byte);
                    hash = hash.wrapping_mul(0x0100_0000_01b3);
                }
            }
            hash ^= 1;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Some(format!("{hash:016x}"))
    }

    /// The rules with their phrases analysed as the index analyses text; a phrase of stop
    /// words only can match nothing and is left out.
    pub(super) fn compile(&self, mut analyse: impl FnMut(&str) -> Vec<String>) -> Aliases {
        let mut aliases = Aliases::default();
        for (group, words) in self.groups.iter().enumerate() {
            for word in words {
                let terms = analyse(word);
                if let Some(first) = terms.first() {
                    let rules = aliases.groups.entry(first.clone()).or_default();
                    rules.push((terms, group));
                }
            }
            aliases.words.push(words.join(" "));
        }
        for (phrase, right) in &self.searched_as {
            let terms = analyse(phrase);
            if let Some(first) = terms.first() {
                let rules = aliases.searched_as.entry(first.clone()).or_default();
                rules.push((terms, right.clone()));
            }
        }
        aliases
    }
}

/// Analysed phrases by their first term, each with what it leads to.
type ByFirst<T> = HashMap<String, Vec<(Vec<String>, T)>>;

/// Compiled rules, by their phrase's first term: a group's word and the group (whose words
/// are in `words`); a phrase of the question and what it is searched as.
#[derive(Default)]
pub(super) struct Aliases {
    groups: ByFirst<usize>,
    words: Vec<String>,
    searched_as: ByFirst<String>,
}

/// Whether `terms` start with `phrase`.
fn starts_with(terms: &[&str], phrase: &[String]) -> bool {
    phrase.len() <= terms.len() && phrase.iter().zip(terms).all(|(a, b)| a == b)
}

/// The longest phrase of `rules` that `terms` start with, and what it leads to.
fn longest_at<'a, T>(rules: &'a ByFirst<T>, terms: &[&str]) -> Option<&'a (Vec<String>, T)> {
    rules
        .get(*terms.first()?)?
        .iter()
        .filter(|(phrase, _)| starts_with(terms, phrase))
        .max_by_key(|(phrase, _)| phrase.len())
}

impl Aliases {
    /// Whether there are groups, which give passages words.
    pub(super) fn has_groups(&self) -> bool {
        !self.words.is_empty()
    }

    /// The words a passage gets: those of every group one of whose words is in one of
    /// `texts` (each the analysed terms of a field, in order), each group's once.
    pub(super) fn of(&self, texts: &[&[String]]) -> String {
        let mut found: Vec<usize> = Vec::new();
        for terms in texts {
            let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
            for at in 0..terms.len() {
                for (phrase, group) in self.groups.get(terms[at]).into_iter().flatten() {
                    if starts_with(&terms[at..], phrase) && !found.contains(group) {
                        found.push(*group);
                    }
                }
            }
        }
        found.sort_unstable();
        let words: Vec<&str> = found
            .iter()
            .map(|&group| self.words[group].as_str())
            .collect();
        words.join(" ")
    }

    /// `question` with each phrase a rule searches as another replaced by that one, as
    /// written in the rule; `tokens` are the question's analysed terms with where each is
    /// written in it, in order (the longest phrase at a place wins).
    pub(super) fn searched_as<'q>(
        &self,
        question: &'q str,
        tokens: &[(String, usize, usize)],
    ) -> Cow<'q, str> {
        if self.searched_as.is_empty() {
            return Cow::Borrowed(question);
        }
        let terms: Vec<&str> = tokens.iter().map(|(term, _, _)| term.as_str()).collect();
        let mut out: Option<String> = None;
        let (mut written, mut at) = (0, 0);
        while at < tokens.len() {
            match longest_at(&self.searched_as, &terms[at..]) {
                Some((phrase, right)) => {
                    let (from, to) = (tokens[at].1, tokens[at + phrase.len() - 1].2);
                    let out = out.get_or_insert_default();
                    out.push_str(&question[written..from]);
                    out.push_str(right);
                    written = to;
                    at += phrase.len();
                }
                None => at += 1,
            }
        }
        match out {
            Some(mut out) => {
                out.push_str(&question[written..]);
                Cow::Owned(out)
            }
            None => Cow::Borrowed(question),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> Vec<String> {
        text.split_whitespace()
            .map(str::to_lowercase)
            .filter(|w| w != "the")
            .collect()
    }

    #[test]
    fn groups_give_a_passage_their_words_and_arrows_replace_the_question_s() {
        let synonyms = Synonyms::parse(
            "\u{feff}# comment\n\namex,  American   Express, AE\njaws, the nvda => screen reader\nnorthern ireland => united kingdom\nireland => european union\n",
        )
        .expect("parsed");
        assert_eq!(
            synonyms.groups,
            [vec![
                "amex".to_owned(),
                "American Express".to_owned(),
                "AE".to_owned()
            ]]
        );
        let aliases = synonyms.compile(analyse);
        let of = |texts: &[&str]| {
            let terms: Vec<Vec<String>> = texts.iter().map(|text| analyse(text)).collect();
            aliases.of(&terms.iter().map(Vec::as_slice).collect::<Vec<_>>())
        };
        assert_eq!(
            of(&["We take American Express and Visa"]),
            "amex American Express AE"
        );
        assert_eq!(
            of(&["Amex, amex and AE"]),
            "amex American Express AE",
            "a group's words once"
        );
        assert_eq!(of(&["An American, an express"]), "");
        // A phrase never spans two fields.
        assert_eq!(of(&["American", "Express shipping"]), "");
        // The left side is searched as the right, in the question's place, the longest
        // phrase first; a phrase as analysed ("the nvda" is "nvda").
        let searched = |question: &str| -> String {
            let mut tokens = Vec::new();
            let mut from = 0;
            for word in question.split(' ') {
                let to = from + word.len();
                if word != "the" {
                    tokens.push((word.to_lowercase(), from, to));
                }
                from = to + 1;
            }
            aliases.searched_as(question, &tokens).into_owned()
        };
        assert_eq!(
            searched("does JAWS work with the NVDA"),
            "does screen reader work with the screen reader"
        );
        assert_eq!(
            searched("is Ireland in the EU and Northern Ireland"),
            "is european union in the EU and united kingdom"
        );
        assert_eq!(searched("amex ok"), "amex ok");
    }

    #[test]
    fn a_bad_line_is_named() {
        for (text, line, message) in [
            ("amex\n", 1, "two or more"),
            ("a, b\n\nc, , d\n", 3, "missing (between commas"),
            ("a => b => c\n", 1, "at most one `=>`"),
            ("a => b, c\n", 1, "one phrase after `=>`"),
            ("=> screen reader\n", 1, "missing"),
        ] {
            let error = Synonyms::parse(text).expect_err(text).to_string();
            assert!(
                error.starts_with(&format!("synonyms.txt line {line}: "))
                    && error.contains(message),
                "{text:?}: {error}"
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        assert!(Synonyms::load(dir.path()).expect("no file").is_empty());
        assert!(
            Synonyms::load(&dir.path().join("none"))
                .expect("no folder")
                .is_empty()
        );
        std::fs::write(dir.path().join("file"), "").expect("write");
        assert!(
            Synonyms::load(&dir.path().join("file"))
                .expect("a file")
                .is_empty()
        );
        std::fs::write(dir.path().join(FILE), "a, b\nc\n").expect("write");
        let error = Synonyms::load(dir.path())
            .expect_err("bad line")
            .to_string();
        assert!(error.ends_with("synonyms.txt line 2: a rule needs two or more words or phrases, separated by commas (or `=>`)"), "{error}");
    }

    #[test]
    fn the_fingerprint_changes_with_the_rules() {
        let a = Synonyms::parse("amex, american express").expect("a");
        let b = Synonyms::parse("amex, americanexpress").expect("b");
        let c = Synonyms::parse("amex, american express\nfrance => eu").expect("c");
        assert!(a.fingerprint().is_some());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            c.fingerprint(),
            "rules on questions change no index"
        );
        let d = Synonyms::parse("france => eu").expect("d");
        assert_eq!(d.fingerprint(), None);
        assert!(Synonyms::default().is_empty());
    }
}
