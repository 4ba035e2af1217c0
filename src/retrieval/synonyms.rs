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
//! A passage that has one of a group's words is indexed with the group's others beside its
//! article's tags, so a question in those words finds it, and they count as its words for
//! ranking and confidence (a group is short: each word lengthens the tags it joins, which
//! weighs their matches down). The index records which rules it was built with and is rebuilt
//! at the next start when they change. A word on the left of `=>` is replaced, in the
//! question, by the phrase on the right before it is searched; a long list costs nothing.

use std::{collections::HashMap, path::Path};

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

/// The rules: the phrases a passage may have with the words it then gets, and the phrases a
/// question may have with the phrase they are searched as.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Synonyms {
    rules: Vec<(String, String)>,
    searched_as: Vec<(String, String)>,
}

impl Synonyms {
    /// Reads `dir`'s synonyms file; none when there is no such file.
    pub fn load(dir: &Path) -> Result<Self, SynonymsError> {
        let path = dir.join(FILE);
        let error = |message| SynonymsError {
            file: path.display().to_string(),
            line: 0,
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|e| SynonymsError {
                file: path.display().to_string(),
                ..e
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(error("the file is not UTF-8 text"))
            }
            Err(_) => Err(error("the file cannot be read")),
        }
    }

    /// Reads rules from the text of a synonyms file.
    pub fn parse(text: &str) -> Result<Self, SynonymsError> {
        let mut rules = Vec::new();
        let mut searched_as = Vec::new();
        for (n, line) in text.lines().enumerate() {
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
                    return Err(error("a rule has one `=>`"));
                }
                Some((left, right)) => {
                    let (left, right) = (members(left)?, members(right)?);
                    let [right] = <[String; 1]>::try_from(right)
                        .map_err(|_| error("a rule has one phrase after `=>`"))?;
                    for phrase in left {
                        searched_as.push((phrase, right.clone()));
                    }
                }
                None => {
                    let words = members(line)?;
                    if words.len() < 2 {
                        return Err(error(
                            "a rule needs two or more words or phrases, separated by commas (or `=>`)",
                        ));
                    }
                    for (i, phrase) in words.iter().enumerate() {
                        let others: Vec<&str> = words
                            .iter()
                            .enumerate()
                            .filter(|&(j, _)| j != i)
                            .map(|(_, w)| w.as_str())
                            .collect();
                        rules.push((phrase.clone(), others.join(" ")));
                    }
                }
            }
        }
        Ok(Self { rules, searched_as })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.searched_as.is_empty()
    }

    /// A short name for these rules (FNV-1a), which the index records to see a change.
    pub(super) fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (phrase, adds) in self
            .rules
            .iter()
            .chain([("=>".into(), "=>".into())].iter())
            .chain(&self.searched_as)
        {
            for byte in phrase.bytes().chain([0]).chain(adds.bytes()).chain([1]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }

    /// The rules with their phrases analysed as the index analyses text; a phrase of stop
    /// words only can match nothing and is left out.
    pub(super) fn compile(&self, mut analyse: impl FnMut(&str) -> Vec<String>) -> Aliases {
        let mut aliases = Aliases::default();
        for (phrase, adds) in &self.rules {
            let terms = analyse(phrase);
            if let Some(first) = terms.first() {
                aliases
                    .by_first
                    .entry(first.clone())
                    .or_default()
                    .push((terms.clone(), aliases.adds.len()));
                aliases.adds.push(adds.clone());
            }
        }
        for (phrase, right) in &self.searched_as {
            let (terms, right) = (analyse(phrase), analyse(right));
            if let Some(first) = terms.first() {
                aliases
                    .searched_as
                    .entry(first.clone())
                    .or_default()
                    .push((terms, right));
            }
        }
        aliases
    }
}

/// Analysed phrases by their first term, each with what it leads to.
type ByFirst<T> = HashMap<String, Vec<(Vec<String>, T)>>;

/// Compiled rules, by their phrase's first term: the phrase and the rule whose words it brings
/// to a passage; the phrase and the terms it is searched as.
#[derive(Default)]
pub(super) struct Aliases {
    by_first: ByFirst<usize>,
    adds: Vec<String>,
    searched_as: ByFirst<Vec<String>>,
}

impl Aliases {
    /// The words a passage gets from the rules whose phrase is in one of `texts` (each the
    /// analysed terms of a field, in order), each rule's once.
    pub(super) fn of(&self, texts: &[Vec<String>]) -> String {
        let mut found: Vec<usize> = Vec::new();
        for terms in texts {
            for (at, term) in terms.iter().enumerate() {
                for (phrase, rule) in self.by_first.get(term).into_iter().flatten() {
                    if terms[at..].starts_with(phrase) && !found.contains(rule) {
                        found.push(*rule);
                    }
                }
            }
        }
        found.sort_unstable();
        let words: Vec<&str> = found.iter().map(|&rule| self.adds[rule].as_str()).collect();
        words.join(" ")
    }

    /// Whether no passage gets words.
    pub(super) fn is_empty(&self) -> bool {
        self.adds.is_empty()
    }

    /// A question's words (analysed term and the word as written, in order) with each phrase
    /// a rule searches as another replaced by that one's terms (written as analysed).
    pub(super) fn searched_as(&self, words: Vec<(String, String)>) -> Vec<(String, String)> {
        if self.searched_as.is_empty() {
            return words;
        }
        let terms: Vec<&str> = words.iter().map(|(term, _)| term.as_str()).collect();
        let mut out: Vec<(String, String)> = Vec::with_capacity(words.len());
        let mut at = 0;
        while at < words.len() {
            let rule = self.searched_as.get(terms[at]).and_then(|rules| {
                rules
                    .iter()
                    .filter(|(phrase, _)| {
                        terms[at..]
                            .starts_with(&phrase.iter().map(String::as_str).collect::<Vec<_>>())
                    })
                    .max_by_key(|(phrase, _)| phrase.len())
            });
            match rule {
                Some((phrase, right)) => {
                    for term in right {
                        if out.iter().all(|(t, _)| t != term) {
                            out.push((term.clone(), term.clone()));
                        }
                    }
                    at += phrase.len();
                }
                None => {
                    if out.iter().all(|(t, _)| *t != words[at].0) {
                        out.push(words[at].clone());
                    }
                    at += 1;
                }
            }
        }
        out
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
    fn groups_give_each_member_the_others_and_arrows_give_the_right_the_left() {
        let synonyms = Synonyms::parse(
            "# comment\n\namex,  American   Express, AE\njaws, the nvda => screen reader\n",
        )
        .expect("parsed");
        assert_eq!(
            synonyms.rules,
            [
                ("amex".to_owned(), "American Express AE".to_owned()),
                ("American Express".to_owned(), "amex AE".to_owned()),
                ("AE".to_owned(), "amex American Express".to_owned()),
            ]
        );
        assert_eq!(
            synonyms.searched_as,
            [
                ("jaws".to_owned(), "screen reader".to_owned()),
                ("the nvda".to_owned(), "screen reader".to_owned()),
            ]
        );
        let aliases = synonyms.compile(analyse);
        let passage = |text: &str| vec![analyse(text)];
        assert_eq!(
            aliases.of(&passage("We take American Express and Visa")),
            "amex AE"
        );
        assert_eq!(
            aliases.of(&passage("Amex, amex and AE")),
            "American Express AE amex American Express",
            "each rule's words once"
        );
        assert_eq!(aliases.of(&passage("An American, an express")), "");
        // The left side is searched as the right, in the question's place.
        let words = |text: &str| -> Vec<(String, String)> {
            analyse(text).into_iter().map(|t| (t.clone(), t)).collect()
        };
        let terms = |words: Vec<(String, String)>| -> Vec<String> {
            words.into_iter().map(|(term, _)| term).collect()
        };
        assert_eq!(
            terms(aliases.searched_as(words("does jaws work with nvda"))),
            ["does", "screen", "reader", "work", "with"],
            "a phrase as analysed (\"the nvda\" is \"nvda\"), and a term once"
        );
        assert_eq!(
            terms(aliases.searched_as(words("amex screen jaws"))),
            ["amex", "screen", "reader"]
        );
        // A phrase never spans two fields.
        assert_eq!(
            aliases.of(&[analyse("American"), analyse("Express shipping")]),
            ""
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        for (text, line, message) in [
            ("amex\n", 1, "two or more"),
            ("a, b\n\nc, , d\n", 3, "missing (between commas"),
            ("a => b => c\n", 1, "one `=>`"),
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
        let c = Synonyms::parse("amex => american express").expect("c");
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert!(Synonyms::default().is_empty());
    }
}
