//! Whether the model's own prose states an account fact it was not given. Facts about the
//! customer's orders, bills and refunds reach them only as the action templates render them;
//! prose that states one of its own (an amount, a date or a reference found nowhere in what
//! the model was given, or a definite claim about the customer's order, refund or payment) is
//! not shown.

use std::sync::LazyLock;

use regex::Regex;

/// Amounts, dates, order, invoice or tracking references and links: each must be found, as
/// written (letters in any case), in what the model was given.
static CHECKED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"https?://[^\s)\]>]*[^\s)\]>.,;:!?]",
        r"|[$€£] ?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?",
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
        r"|(?-u:\b)[A-Z]{2,}-[A-Z0-9-]*[0-9][A-Z0-9]*",
        r"|(?-u:\b)[0-9]{6,}(?-u:\b)",
    ))
    .expect("valid pattern")
});

/// A definite statement about the customer's own order, refund or payment ("your order was
/// cancelled", "your refund has been approved").
static CLAIM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?-u:\b)your (?:order|package|parcel|shipment|delivery|refund|payment|invoice|charge|return)s?",
        r"(?-u:\b)[^.!?\n]{0,40}?(?-u:\b)(?:shipped|delivered|cancel+ed|refunded|approved|issued|processed|declined|rejected|dispatched|on (?:its|the) way|out for delivery|in transit)(?-u:\b)",
    ))
    .expect("valid pattern")
});

/// Words that make a statement conditional, general or about what is to come rather than a
/// claim ("once your order has shipped, …", "your refund will be issued within 5 days").
#[rustfmt::skip] // one word a line otherwise
const CONDITIONS: &[&str] = &[
    "if", "once", "when", "after", "until", "before", "unless", "whether", "usually",
    "typically", "within", "will", "can", "may", "might", "should", "must", "would", "could",
];

/// What in `prose` states a fact not found in `given` (the passages, the actions' rendered
/// results and the customer's messages), if anything. Most replies have nothing to check:
/// `given` is read (in lower case) only for a candidate.
pub fn ungrounded<'a>(prose: &'a str, given: &[&str]) -> Option<&'a str> {
    let tokens = CHECKED.find_iter(prose).map(|m| (m.as_str(), true));
    let claims = claims(prose).map(|claim| (claim, false));
    let mut lowered: Option<Vec<String>> = None;
    for (candidate, token) in tokens.chain(claims) {
        let given =
            lowered.get_or_insert_with(|| given.iter().map(|text| text.to_lowercase()).collect());
        let needle = candidate.to_lowercase();
        // A token on its own; a claim anywhere (said in a passage, it is not the model's own).
        let found = given.iter().any(|text| {
            if token {
                has_token(text, &needle)
            } else {
                text.contains(&needle)
            }
        });
        if !found {
            return Some(candidate);
        }
    }
    None
}

/// The definite claims about the customer's account in `prose`: [`CLAIM`]s in sentences
/// without a [`CONDITIONS`] word.
fn claims(prose: &str) -> impl Iterator<Item = &str> {
    prose
        .split_inclusive(['.', '!', '?', '\n'])
        .filter_map(|sentence| Some((sentence, CLAIM.find(sentence)?.as_str())))
        .filter(|(sentence, _)| {
            !sentence
                .split(|c: char| !c.is_alphanumeric())
                .any(|word| CONDITIONS.iter().any(|c| c.eq_ignore_ascii_case(word)))
        })
        .map(|(_, claim)| claim)
}

/// The model's prose as it streams, let through a sentence at a time, each sentence checked
/// as the whole reply will be ([`ungrounded`]): the customer never sees, even for a moment, a
/// fact the stored reply withholds. A sentence ends at `.`, `!` or `?` followed by white space
/// (so "$12.50" and links stay whole), or at a line break, as [`claims`] splits them. After a
/// sentence that fails the check nothing more is let through, and so is text that starts
/// with `withheld` (the model's no-answer marker).
pub struct Gate<'a> {
    given: &'a [&'a str],
    withheld: &'a str,
    held: String,
    /// Whether the text let through so far started differently from `withheld`.
    started: bool,
    stopped: bool,
}

impl<'a> Gate<'a> {
    pub fn new(given: &'a [&'a str], withheld: &'a str) -> Self {
        Self {
            given,
            withheld,
            held: String::new(),
            started: false,
            stopped: false,
        }
    }

    /// Takes the next piece of the stream; returns the sentences it completes, if they pass.
    pub fn push(&mut self, piece: &str) -> Option<String> {
        if self.stopped {
            return None;
        }
        self.held.push_str(piece);
        if !self.started {
            let text = self.held.trim_start();
            if self.withheld.starts_with(text) {
                return None; // it could still be the marker
            }
            if text.starts_with(self.withheld) {
                self.stopped = true;
                return None;
            }
            self.started = true;
        }
        let end = sentences_end(&self.held)?;
        let sentences: String = self.held.drain(..end).collect();
        // Checked as the whole reply is: without its `[n]` markers.
        let (checked, _) = super::model::strip_citation_markers(&sentences, usize::MAX);
        if ungrounded(&checked, self.given).is_some() {
            self.stopped = true;
            return None;
        }
        Some(sentences)
    }

    /// The rest of the text, not yet checked: for the caller to send once the whole reply
    /// has passed. None when the gate stopped or the text is the marker.
    pub fn rest(self) -> Option<String> {
        let marker = !self.started && self.held.trim_start().starts_with(self.withheld);
        (!self.stopped && !marker && !self.held.is_empty()).then_some(self.held)
    }
}

/// Where the last complete sentence of `text` ends (after its terminator), if any.
fn sentences_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).rev().find_map(|i| match bytes[i] {
        b'\n' => Some(i + 1),
        b'.' | b'!' | b'?' if bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace) => Some(i + 1),
        _ => None,
    })
}

/// Whether `token` is in `text` on its own (not inside a longer number or reference).
fn has_token(text: &str, token: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(token).any(|(at, _)| {
        !alnum(text[..at].chars().next_back()) && !alnum(text[at + token.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGE: &str =
        "Standard shipping ($5.95, free on orders over $50) takes 5–7 business days.";
    const FACT: &str = "Order NW-1047206: shipped on 2026-11-20, tracking 1Z999AA10123456784.";

    #[test]
    fn amounts_dates_and_references_must_be_given() {
        let given = [PASSAGE, FACT];
        assert_eq!(
            ungrounded("Shipping is $5.95, free over $50.", &given),
            None
        );
        assert_eq!(ungrounded("Over $50, shipping is free.", &given), None);
        // The customer's "nw-1047206" is the model's "NW-1047206".
        assert_eq!(
            ungrounded(
                "Which email goes with NW-1047206?",
                &["where is nw-1047206"]
            ),
            None
        );
        assert_eq!(
            ungrounded("Your tracking number is 1Z999AA10123456784.", &given),
            None
        );
        assert_eq!(
            ungrounded("A refund of $999.99 was issued.", &given),
            Some("$999.99")
        );
        assert_eq!(
            ungrounded("It arrives on 2030-01-01.", &given),
            Some("2030-01-01")
        );
        assert_eq!(
            ungrounded("See invoice INV-2026-05575.", &given),
            Some("INV-2026-05575")
        );
        assert_eq!(
            ungrounded("Order 1234567 is late.", &given),
            Some("1234567")
        );
        let with_link = "See https://help.example/returns for details.";
        assert_eq!(ungrounded(with_link, &[with_link]), None);
        assert_eq!(
            ungrounded("Claim it at https://evil.example/refund-form.", &given),
            Some("https://evil.example/refund-form")
        );
    }

    #[test]
    fn definite_claims_about_the_customers_account_are_not_the_models() {
        let given = [PASSAGE];
        assert_eq!(
            ungrounded("Your order shipped yesterday.", &given),
            Some("Your order shipped")
        );
        assert_eq!(
            ungrounded("Good news: your refund has been approved!", &given),
            Some("your refund has been approved")
        );
        assert_eq!(
            ungrounded("Your order was CANCELLED.", &given),
            Some("Your order was CANCELLED")
        );
        // General, conditional or future statements are help-center answers, not claims; and
        // what a passage says is not the model's own.
        let passage = "Your order shipped in more than one package if you see two tracking emails.";
        for fine in [
            "Once your order has shipped, you'll get a tracking email.",
            "If your refund was approved, it appears within 5–10 business days.",
            "You can cancel your order within an hour.",
            "Your refund will be issued to your original payment method.",
            "Your order can be cancelled within an hour.",
            "Standard shipping takes 5–7 business days.",
            "Your order shipped in more than one package.",
        ] {
            assert_eq!(ungrounded(fine, &[PASSAGE, passage]), None, "{fine}");
        }
    }

    /// Streamed in pieces, what passes is let through a sentence at a time; from a sentence
    /// that fails, nothing more.
    fn streamed(pieces: &[&str], given: &[&str]) -> (Vec<String>, Option<String>) {
        let mut gate = Gate::new(given, "NO_ANSWER");
        let sent = pieces.iter().filter_map(|p| gate.push(p)).collect();
        (sent, gate.rest())
    }

    #[test]
    fn the_gate_lets_checked_sentences_through_and_stops_at_one_that_fails() {
        let given = [PASSAGE, FACT];
        let (sent, rest) = streamed(
            &[
                "Standard ship",
                "ping is $5",
                ".95. It takes ",
                "5–7 days",
                " [1]",
            ],
            &given,
        );
        assert_eq!(sent, ["Standard shipping is $5.95."]);
        assert_eq!(rest.as_deref(), Some(" It takes 5–7 days [1]"));

        let (sent, rest) = streamed(
            &[
                "Thanks!\n",
                "Your order was ",
                "cancelled on 2030-01-01. ",
                "Sorry.",
            ],
            &given,
        );
        assert_eq!(sent, ["Thanks!\n"]);
        assert_eq!(rest, None);

        // A citation marker does not push a claim apart (the stored reply has none).
        let (sent, _) = streamed(
            &["Your order with the duvet and three pillows [1] has shipped. "],
            &given,
        );
        assert!(sent.is_empty(), "{sent:?}");

        // A link's dots are not sentence ends.
        let link = "See https://help.example/a.b for more. ";
        let (sent, _) = streamed(&["See https://help.example/a", ".b for more. "], &[link]);
        assert_eq!(sent, [link.trim_end()]);
    }

    #[test]
    fn the_gate_never_lets_the_no_answer_marker_through() {
        for pieces in [
            &["NO_", "ANSWER"][..],
            &["  NO_ANSWER\n", "Sorry, I don't know."],
            &["NO_ANSWER. I could not find that. "],
        ] {
            let (sent, rest) = streamed(pieces, &[PASSAGE]);
            assert!(
                sent.is_empty() && rest.is_none(),
                "{pieces:?}: {sent:?} {rest:?}"
            );
        }
        let (sent, _) = streamed(&["NO", " problem. "], &[PASSAGE]);
        assert_eq!(sent, ["NO problem."]);
    }
}
