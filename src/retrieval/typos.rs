//! A question's misspelt words ("trackign", "austrailia", "cancle"), read as the word one
//! slip away that the help center uses: without it such a question finds nothing, or only
//! what its other words match ("giftcard balence" got "couldn't find an answer").
//!
//! Two letters swapped ("retrun") are undone in the word as typed, which is then analysed
//! as the index's words are ("trackign" → "tracking" → "track"). A letter left out, doubled
//! or wrong is looked up one edit from the analysed word in the index's dictionary (a
//! Levenshtein automaton: "austrailia" finds "australia", "balence" → "balenc" finds
//! "balanc"), for a word of seven letters or more whose analysed form keeps five: a shorter
//! word a letter from another is most often another word, one the help center does not use
//! ("shirt" is not "short", "planes" not "places").

use std::collections::BTreeMap;

use tantivy::{Searcher, Term, query::FuzzyTermQuery, schema::Field};

/// The shortest word read as a typo (two letters swapped), and the shortest with a letter
/// left out, doubled or wrong.
pub const MIN_LETTERS: usize = 5;
pub const SLIP_LETTERS: usize = 7;

/// `typed` (lower case) with two neighbouring letters swapped, each way, for a word of
/// [`MIN_LETTERS`] or more.
pub fn swaps(typed: &str) -> Vec<String> {
    let letters: Vec<char> = typed.chars().collect();
    if letters.len() < MIN_LETTERS {
        return Vec::new();
    }
    (1..letters.len())
        .filter(|&i| letters[i - 1] != letters[i])
        .map(|i| {
            let mut swapped = letters.clone();
            swapped.swap(i - 1, i);
            swapped.into_iter().collect()
        })
        .collect()
}

/// The words of `field` one letter left out, added or changed from `term` (as analysed),
/// each with the number of passages that have it.
pub fn near(searcher: &Searcher, field: Field, term: &str) -> tantivy::Result<Vec<(String, u64)>> {
    let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let near = FuzzyTermQuery::new(Term::from_field_text(field, term), 1, false);
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut words = index.terms().search(near.automaton()?).into_stream()?;
        while words.advance() {
            *counts.entry(words.key().to_vec()).or_default() += u64::from(words.value().doc_freq);
        }
    }
    Ok(counts
        .into_iter()
        .filter_map(|(word, n)| Some((String::from_utf8(word).ok()?, n)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::swaps;

    #[test]
    fn swapped_letters_are_undone_in_a_word_of_five_letters_or_more() {
        for (typed, word) in [
            ("retrun", "return"),
            ("trackign", "tracking"),
            ("cancle", "cancel"),
            ("cnaada", "canada"),
        ] {
            assert!(swaps(typed).iter().any(|c| c == word), "{typed} {word}");
        }
        for (typed, word) in [("shirt", "short"), ("coats", "boats"), ("form", "from")] {
            assert!(!swaps(typed).iter().any(|c| c == word), "{typed} {word}");
        }
    }
}
