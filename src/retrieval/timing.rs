//! Questions about time ("How long do refunds take?", "¿Cuándo llega mi pedido?") and the
//! passages that answer them. Ranking by words alone quotes the article's passage with the
//! most of "refunds" ("What is refunded and what isn't"), not the one that says how long
//! ("When will I get my money back?": "within 5–10 business days"). The search then moves,
//! within the article it found first, the passage that tells a time ahead of those that do
//! not (see `Index::search_in_context`).

use crate::conversation::signals::plain_words;

/// Whether `question` asks how long, how soon or when: "how long", "how soon", "how many
/// days", "what time", a clause that starts with "when" and an auxiliary ("when will …",
/// not "when I try to pay …"), and the same in Spanish, French, German and Portuguese (their
/// "cuándo", "quand", "quando" in a question, as without its accent "cuando" is also "when"
/// of a condition; German's "wann" asks always).
pub fn asks_when(question: &str) -> bool {
    let asked = question.contains(['?', '？']);
    let starts_with_when = question
        .split(['.', '!', '?', '¿', '¡', '\n', ',', ';', ':'])
        .map(plain_words)
        .any(|clause| match clause.as_slice() {
            [first, next, ..] if first == "when" => AUXILIARIES.contains(&next.as_str()),
            [first, ..] => {
                first == "whens" || first == "wann" || asked && WHEN.contains(&first.as_str())
            }
            [] => false,
        });
    let words = plain_words(question);
    starts_with_when
        || words.iter().any(|w| ASKED_WORDS.contains(&w.as_str()))
        || words.windows(2).any(asks_pair)
}

/// Whether two words ask about time ([`ASKED_PAIRS`]: "how long", "how many days").
fn asks_pair(pair: &[String]) -> bool {
    match pair {
        [a, b] => ASKED_PAIRS
            .iter()
            .any(|(x, y)| a == x && (b == y || *y == "*" && is_unit(b))),
        _ => false,
    }
}

/// The most [`tells_when`] gives.
pub const TELLS_MOST: u8 = 2;

/// How well a passage tells a time: 2 when its own heading is about one ("When will I get my
/// money back?", "Delivery times", "The 30-day return window", "Plazo de devolución"), 1 when
/// its heading names a unit ("Support hours") or its text gives a duration ("within 5–10
/// business days", "a week"), else 0. A "when" counts only as the heading's first word
/// ("What to do when your parcel is damaged" is about damage).
pub fn tells_when(heading: &str, body: &str) -> u8 {
    let heading = plain_words(heading);
    let timed_heading = heading.first().is_some_and(|w| WHEN.contains(&w.as_str()))
        || heading.iter().any(|w| HEADING_WORDS.contains(&w.as_str()))
        || gives_duration(&heading)
        || heading.windows(2).any(asks_pair);
    if timed_heading {
        TELLS_MOST
    } else {
        u8::from(heading.iter().any(|w| is_unit(w)) || gives_duration(&plain_words(body)))
    }
}

/// A count then a unit of time, maybe with "business" or "working" between: "3–5 business
/// days", "a week", "a few days", "next business day", "30 días hábiles" (the count first).
fn gives_duration(words: &[String]) -> bool {
    let count =
        |word: &String| word.bytes().all(|b| b.is_ascii_digit()) || COUNTS.contains(&word.as_str());
    words
        .windows(2)
        .any(|pair| count(&pair[0]) && is_unit(&pair[1]))
        || words.windows(3).any(|three| {
            count(&three[0]) && QUALIFIERS.contains(&three[1].as_str()) && is_unit(&three[2])
        })
}

fn is_unit(word: &str) -> bool {
    UNITS.contains(&word)
}

/// Words that start a question about time, folded.
const WHEN: &[&str] = &["when", "cuando", "quand", "wann", "quando"];

/// English auxiliaries that make a clause starting with "when" a question.
const AUXILIARIES: &[&str] = &[
    "will", "does", "do", "did", "is", "are", "was", "can", "could", "should", "would", "shall",
    "might", "must",
];

/// Words that alone ask about time.
const ASKED_WORDS: &[&str] = &[
    "timeframe",
    "turnaround",
    "eta",
    "plazo",
    "delai",
    "delais",
    "dauert",
    "dauer",
    "prazo",
];

/// Word pairs that ask about time; "*" stands for a unit of time ("how many days").
const ASKED_PAIRS: &[(&str, &str)] = &[
    ("how", "long"),
    ("how", "soon"),
    ("how", "quickly"),
    ("how", "fast"),
    ("many", "*"),
    ("business", "*"),
    ("what", "time"),
    ("by", "when"),
    ("until", "when"),
    ("time", "frame"),
    ("cuanto", "tarda"),
    ("cuanto", "tardan"),
    ("cuanto", "tiempo"),
    ("cuanto", "demora"),
    ("de", "temps"),
    ("wie", "lange"),
    ("wie", "schnell"),
    ("quanto", "tempo"),
    ("quanto", "demora"),
];

/// Words of a heading about time, besides [`WHEN`] and the units.
const HEADING_WORDS: &[&str] = &[
    "soon",
    "time",
    "times",
    "timing",
    "timeline",
    "timeframe",
    "deadline",
    "deadlines",
    "window",
    "period",
    "speed",
    "speeds",
    "turnaround",
    "eta",
    "lasts",
    "expiry",
    "expiration",
    "plazo",
    "plazos",
    "tiempo",
    "tiempos",
    "delai",
    "delais",
    "temps",
    "frist",
    "fristen",
    "dauer",
    "zeit",
    "zeiten",
    "lieferzeit",
    "lieferzeiten",
    "prazo",
    "prazos",
    "tempo",
    "tempos",
];

/// Units of time in the five languages, folded (but the ones that are also common words
/// elsewhere: "an", "mes", "tag").
const UNITS: &[&str] = &[
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "minuto",
    "minutos",
    "hora",
    "horas",
    "dia",
    "dias",
    "semana",
    "semanas",
    "meses",
    "ano",
    "anos",
    "heure",
    "heures",
    "jour",
    "jours",
    "semaine",
    "semaines",
    "mois",
    "ans",
    "minuten",
    "stunde",
    "stunden",
    "tage",
    "tagen",
    "werktag",
    "werktage",
    "werktagen",
    "woche",
    "wochen",
    "monat",
    "monate",
    "monaten",
    "jahr",
    "jahre",
    "jahren",
];

/// Words that count a unit of time, besides numerals.
const COUNTS: &[&str] = &[
    "a", "an", "one", "two", "three", "four", "five", "six", "seven", "ten", "few", "several",
    "next", "un", "una", "une", "uno", "ein", "eine", "einen", "um", "uma",
];

/// Words between a count and its unit.
const QUALIFIERS: &[&str] = &["business", "working", "calendar", "full"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_about_time_are_told_from_others() {
        for asked in [
            "How long do refunds take?",
            "how soon will my refund show up",
            "When will I get my money back?",
            "Hi. When does my order ship?",
            "How many business days until my refund?",
            "What time is the order cut-off?",
            "¿Cuándo recibo mi dinero?",
            "¿Cuánto tarda el envío?",
            "Combien de temps prend la livraison ?",
            "Wie lange dauert die Lieferung?",
            "Quanto tempo demora o reembolso?",
            "what's the turnaround on exchanges",
            "Hi, when does my order ship?",
            "When's my order arriving",
            "Quand est-ce que ma commande arrive ?",
            "Wann kommt mein Paket",
        ] {
            assert!(asks_when(asked), "{asked}");
        }
        for other in [
            "What happens when the item is back in stock?",
            "Can I cancel when the order has shipped?",
            "How do I return an item?",
            "What is your returns policy?",
            "How do I request an exchange?",
            "Can I add a gift tag?",
            "Do you ship to Canada?",
            "how much does express shipping cost",
            "When I try to apply my promo code it says invalid",
            "Cuando intento pagar me da error.",
            "Quand je valide mon panier, ça bloque.",
        ] {
            assert!(!asks_when(other), "{other}");
        }
    }

    #[test]
    fn a_passage_tells_a_time_by_its_heading_or_a_duration() {
        for heading in [
            "When will I get my money back?",
            "The 30-day return window",
            "Delivery times by region",
            "Shipping speeds and prices in the US",
            "How long the warranty lasts",
            "Report damage within 14 days of delivery",
            "Plazo de devolución de 30 días",
            "Cuándo recibo mi dinero",
        ] {
            assert_eq!(tells_when(heading, ""), 2, "{heading}");
        }
        for body in [
            "Refunds appear within 5–10 business days.",
            "It can take about a week in transit.",
            "Banks sometimes take a few days.",
            "Delivery is the next business day.",
            "Se reembolsa en 10 días hábiles.",
        ] {
            assert_eq!(tells_when("What is refunded", body), 1, "{body}");
        }
        for heading in [
            "How to request an exchange",
            "Gift tags",
            "Mes commandes",
            "What to do when your parcel is damaged",
        ] {
            assert_eq!(tells_when(heading, ""), 0, "{heading}");
        }
        // A unit alone is as a duration in the text: "Same-day delivery" does not outrank it.
        assert_eq!(tells_when("Same-day delivery", ""), 1);
        for body in [
            "Refunded: the price you paid, plus tax. The $6.95 label fee is not refunded.",
            "Orders over 50 dollars ship free.",
            "Refunds go back to a card.",
        ] {
            assert_eq!(tells_when("Where does my refund go?", body), 0, "{body}");
        }
    }
}
