//! A question's misspelt words ("trackign", "austrailia", "cancle"), read as the word one
//! slip away that the help center uses: without it such a question finds nothing, or only
//! what its other words match ("giftcard balence" got "couldn't find an answer").

/// The shortest word read as a typo (two letters swapped), and the shortest with a letter
/// left out, doubled or wrong.
pub const MIN_LETTERS: usize = 5;
const SLIP_LETTERS: usize = 7;

/// The words one likely slip away from `typed` (lower case): two letters swapped
/// ("retrun"), and in a word of seven letters or more one left out, typed twice or wrong
/// ("austrailia", "balence"). A shorter word a letter from another is most often another
/// word, one the help center does not use ("shirt" is not "short", "planes" not "places" or
/// "plaines", which is "plain" to the index). The caller keeps the one most passages have.
pub fn corrections(typed: &str) -> Vec<String> {
    let letters: Vec<char> = typed.chars().collect();
    let n = letters.len();
    if n < MIN_LETTERS {
        return Vec::new();
    }
    let mut out = Vec::new();
    let word = |letters: &[char]| letters.iter().collect::<String>();
    for i in 1..n {
        if letters[i - 1] != letters[i] {
            let mut swapped = letters.clone();
            swapped.swap(i - 1, i);
            out.push(word(&swapped));
        }
    }
    if n >= SLIP_LETTERS {
        for i in 0..=n {
            for c in 'a'..='z' {
                let mut added = letters.clone();
                added.insert(i, c);
                out.push(word(&added));
            }
        }
        for i in 0..n {
            let mut dropped = letters.clone();
            dropped.remove(i);
            out.push(word(&dropped));
            for c in ('a'..='z').filter(|&c| c != letters[i]) {
                let mut changed = letters.clone();
                changed[i] = c;
                out.push(word(&changed));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::corrections;

    #[test]
    fn swapped_letters_or_a_long_words_slip_are_typos() {
        for (typed, word) in [
            ("retrun", "return"),
            ("trackign", "tracking"),
            ("cancle", "cancel"),
            ("austrailia", "australia"),
            ("balence", "balance"),
            ("shiping", "shipping"),
        ] {
            assert!(
                corrections(typed).iter().any(|c| c == word),
                "{typed} {word}"
            );
        }
        for (typed, word) in [
            ("shirt", "short"),
            ("vases", "cases"),
            ("coat", "cota"),
            ("coats", "boats"),
            ("planes", "places"),
            ("planes", "plaines"),
        ] {
            assert!(
                !corrections(typed).iter().any(|c| c == word),
                "{typed} {word}"
            );
        }
    }
}
