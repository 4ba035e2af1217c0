//! Questions about how to do something ("How do I make a claim?", "how to turn on 2FA") and
//! the passages that answer them: the steps. Ranking by words alone quotes the article's
//! passage with the most of the question's words ("Lost your phone or can't get a code" for
//! "How do I set up two-factor authentication?"), not the one that says what to do ("How to
//! turn on two-step verification"). The search then moves,
//! within the article it found first, a passage with steps ahead of those without (see
//! `Index::search_in_context`), as it does a passage that tells a time ([`super::timing`]).

use crate::conversation::signals::plain_words;

/// Whether `question` asks how to do something: a clause that starts "how to", or "how" and
/// an auxiliary and a person ("how do I", "how can we", "how should you"), or asks "cómo",
/// "comment", "wie" or "como" with a question mark (without one, Spanish and Portuguese
/// "como" is also "as"). Not how long, how much or how soon: those are [`super::timing`]'s or
/// a price.
pub fn asks_how(question: &str) -> bool {
    let asked = question.contains(['?', '？']);
    question
        .split(['.', '!', '?', '¿', '¡', '\n', ',', ';', ':'])
        .map(plain_words)
        .any(|clause| match clause.as_slice() {
            [how, to, ..] if how == "how" && to == "to" => true,
            [how, auxiliary, person, ..] if how == "how" => {
                AUXILIARIES.contains(&auxiliary.as_str()) && PERSONS.contains(&person.as_str())
            }
            [how, next, ..] => {
                asked && HOW.contains(&how.as_str()) && !NOT_STEPS.contains(&next.as_str())
            }
            _ => false,
        })
}

/// How well a passage tells what to do: [`super::timing::TELLS_MOST`] when its heading
/// starts "How to" or its text lists numbered steps ("1. Sign in …", as a plain-text article
/// writes them; markdown's and HTML's lists are indexed as "- " items), else 0.
pub fn tells_how(heading: &str, body: &str) -> u8 {
    let numbered = body.lines().any(|line| {
        let line = line.trim_start();
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
    });
    let how_to =
        matches!(plain_words(heading).as_slice(), [how, to, ..] if how == "how" && to == "to");
    if numbered || how_to {
        super::timing::TELLS_MOST
    } else {
        0
    }
}

/// "How" in the other four languages, folded.
const HOW: &[&str] = &["como", "comment", "wie"];

/// Words after those that ask something else: how much, how long, how many.
const NOT_STEPS: &[&str] = &[
    "mucho",
    "mucha",
    "muchos",
    "muchas",
    "lange",
    "viel",
    "viele",
    "lang",
    "oft",
    "teuer",
    "bien",
    "longtemps",
];

/// English auxiliaries after "how" in a question about doing something.
const AUXILIARIES: &[&str] = &[
    "do", "does", "can", "could", "should", "would", "will", "may",
];

/// Who does it.
const PERSONS: &[&str] = &["i", "we", "you", "one", "someone"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_about_how_to_do_something_are_told_from_others() {
        for asked in [
            "How do I make a claim?",
            "how do i disable 2fa",
            "how to turn on two-step verification",
            "Hi. How can I close my account?",
            "¿Cómo devuelvo un producto?",
            "Comment retourner un article ?",
            "Wie setze ich mein Passwort zurück?",
            "Como faço para devolver um produto?",
        ] {
            assert!(asks_how(asked), "{asked}");
        }
        for other in [
            "How long do refunds take?",
            "How much is express shipping?",
            "how are you",
            "What is your returns policy?",
            "Como no llegó, quiero un reembolso",
            "Wie lange dauert die Lieferung?",
            "¿Cuánto cuesta?",
        ] {
            assert!(!asks_how(other), "{other}");
        }
    }

    #[test]
    fn a_passage_tells_what_to_do_by_numbered_steps_or_a_how_to_heading() {
        assert_eq!(
            tells_how(
                "Submit a claim",
                "Do this:\n1. Sign in.\n2. Open the order."
            ),
            2
        );
        assert_eq!(tells_how("Submit a claim", "  10) Select Submit."), 2);
        assert_eq!(tells_how("How to close your account", "Write to us."), 2);
        assert_eq!(
            tells_how("Before you make a claim", "Have your order number ready."),
            0
        );
        assert_eq!(
            tells_how("Prices", "Costs 1.5 times as much. 2.50 dollars."),
            0
        );
    }
}
