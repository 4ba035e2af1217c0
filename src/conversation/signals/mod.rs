//! Handoff signals: cheap, deterministic reads of customer messages that tell the assistant
//! when to step aside for a human.
//!
//! Everything here is rule based and runs on `std` alone, so it is fast, explainable and easy
//! to test. Text is first lower-cased and accent-folded (`é` → `e`, `ß` → `ss`, combining
//! marks dropped), then split into words; matching always works on whole words, never on
//! substrings, so "class" never contains "ass".
//!
//! - [`asks_for_human`] (in `human_request`) looks for a *request* for a person in English,
//!   Spanish, French, German and Portuguese. A word naming a person ("agent", "persona",
//!   "Mitarbeiter"...) only counts when a sentence is nothing but such words plus courtesies
//!   ("agent please"), when a request verb governs it across a few function words only ("talk
//!   **to a** human", "pásame **con un** agente"), or when a talk verb follows it in the German
//!   verb-final or a relative-clause shape ("mit einem Mitarbeiter **sprechen**", "someone I
//!   can **talk** to"), or when the sentence only asks whether one is there ("is there a real
//!   person there?"). Mentions that describe people ("the delivery person left it", "my agent
//!   at the bank", "human-readable") therefore do not fire. A negation in front of the verb ("I
//!   don't want to talk to a human") cancels it. Close misspellings of the key words ("tlak",
//!   "humen", "agnet", "persn") are corrected by edit distance before matching.
//!   [`only_asks_for_human`] tells such a request alone from one that also says what about.
//! - [`frustration`] reports three independent signals: shouting (mostly upper-case letters,
//!   ignoring words with digits such as order numbers), profanity (a word list, plus masked
//!   forms like "f***" and grawlixes like "#$%@"; abusive unless it only stresses a request,
//!   as "damn" or "fucking" in "where is my damn parcel?") and negative wording (words, short
//!   phrases, "!!!" and "again??").
//! - [`repeats_question`] (in `repeats`) compares content words with Jaccard overlap.
//! - [`not_helped`] and [`refuses_bot`] (in `stuck`) find whole phrases saying the answers do
//!   not help ("that didn't help", "third time I'm asking") or refusing a bot.
//!
//! The word lists are plain `match` arms and `const` slices: no regex and no lazily built
//! tables, so nothing here can fail at run time.

mod frustration;
mod human_request;
mod repeats;
mod stuck;

pub use frustration::{Frustration, frustration};
pub use human_request::asks_for_human;
pub use repeats::repeats_question;
pub use stuck::{not_helped, refuses_bot};

/// Whether the message asks for a person (or refuses the bot) and says nothing else: "agent",
/// "Can I talk to a real person please?", "I don't want to talk to a bot". "My order arrived
/// broken, can I talk to someone?" says what it is about.
#[must_use]
pub fn only_asks_for_human(text: &str) -> bool {
    (asks_for_human(text) || refuses_bot(text)) && human_request::nothing_but_request_words(text)
}

/// Lower-cases `text` and folds accents, keeping punctuation and spacing as they are.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for upper in text.chars() {
        for c in upper.to_lowercase() {
            match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => out.push('a'),
                'ç' | 'ć' | 'č' => out.push('c'),
                'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
                'ì' | 'í' | 'î' | 'ï' | 'ī' => out.push('i'),
                'ñ' | 'ń' | 'ň' => out.push('n'),
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => out.push('o'),
                'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => out.push('u'),
                'ý' | 'ÿ' => out.push('y'),
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                '’' | '‘' | '\u{02bc}' | '`' | '´' => out.push('\''),
                // Combining diacritical marks (text in decomposed form).
                '\u{0300}'..='\u{036f}' => {}
                other => out.push(other),
            }
        }
    }
    out
}

/// `text` without its email addresses and links: "someone.else@example.com" asks for no one.
pub(crate) fn without_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        if !(word.contains('@') || word.contains("://") || word.starts_with("www.")) {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    out
}

/// Lower-cased, accent-folded words of `text`, its email addresses and links left out.
pub(crate) fn words(text: &str) -> Vec<String> {
    split_words(&fold(&without_addresses(text)))
}

/// Lower-cased, accent-folded words of `text` with apostrophes dropped ("didn't" is "didnt",
/// "where's" is "wheres"), for matching whole phrases.
pub(crate) fn plain_words(text: &str) -> Vec<String> {
    split_words(&fold(&without_addresses(text)).replace('\'', ""))
}

/// The words of an already folded text.
fn split_words(folded: &str) -> Vec<String> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_for_a_person_alone_is_told_from_one_that_says_what_about() {
        for bare in [
            "agent",
            "human please!!",
            "Can I talk to a real person please?",
            "I want to speak to a manager",
            "I'd like to talk to someone",
            "is there a real person there?",
            "get me a human now",
            "I don't want to talk to a bot",
            "quiero hablar con una persona por favor",
            "ich möchte mit einem Mitarbeiter sprechen",
            "tlak to an agnet",
        ] {
            assert!(only_asks_for_human(bare), "{bare}");
        }
        for more in [
            "I have a damaged item, my order NW-1046247 arrived broken and I want a replacement. \
             Can I talk to a real person please?",
            "talk to a person about my refund",
            "i dont want to talk to a machine, i want my money",
            "I want to speak to a manager, this is ridiculous",
            // Not requests at all.
            "How long do refunds take?",
            "is a human reviewing my return?",
            "hi",
        ] {
            assert!(!only_asks_for_human(more), "{more}");
        }
    }
}
