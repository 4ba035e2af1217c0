//! Quantities and dates in the model's words, told apart from bare numbers: "10 months",
//! "37%", "December 1" are facts the business states, found only when what it gave the
//! model has the same number of the same unit ("24h" is "24 hours"), or the same day of the
//! same month ("2026-12-01" is "December 1", "1er décembre", "1. Dezember").

use std::sync::LazyLock;

use regex::Regex;

/// Units by what they measure, as written in the five languages (lower case).
const UNITS: &[(Unit, &[&str])] = &[
    (
        Unit::Percent,
        &[
            "%",
            "percent",
            "per cent",
            "por ciento",
            "pour cent",
            "prozent",
            "por cento",
        ],
    ),
    (
        Unit::Day,
        &[
            "days", "day", "días", "dias", "día", "dia", "jours", "jour", "tagen", "tage", "tag",
        ],
    ),
    (
        Unit::Week,
        &[
            "weeks", "week", "wks", "wk", "semanas", "semana", "semaines", "semaine", "wochen",
            "woche",
        ],
    ),
    (
        Unit::Month,
        &[
            "months", "month", "meses", "mes", "mois", "monaten", "monate", "monat", "mês",
        ],
    ),
    (
        Unit::Year,
        &[
            "years", "year", "yrs", "yr", "años", "año", "ans", "années", "année", "jahren",
            "jahre", "jahr", "anos", "ano",
        ],
    ),
    (
        Unit::Hour,
        &[
            "hours", "hour", "hrs", "hr", "horas", "hora", "heures", "heure", "stunden", "stunde",
            "h",
        ],
    ),
    (
        Unit::Minute,
        &[
            "minutes", "minute", "mins", "min", "minutos", "minuto", "minuten",
        ],
    ),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unit {
    Percent,
    Day,
    Week,
    Month,
    Year,
    Hour,
    Minute,
}

/// Words between a number and its unit that do not change it ("5 business days").
const QUALIFIERS: &str = r"(?:(?:business|working|calendar) )?";

/// The units' words as one alternation, longest first, each as written or capitalized
/// ("Tage", "December"): a case-insensitive pattern (Unicode's case folding) would cost the
/// service about half a MiB more. A word unit ends at a word's end.
fn alternation(words: impl Iterator<Item = &'static str>) -> String {
    let mut words: Vec<&str> = words.collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let alternatives: Vec<String> = words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().unwrap_or_default();
            let rest = regex::escape(chars.as_str());
            // English "may" is a month only as "May".
            let first = if *w == "may" {
                "M".to_owned()
            } else if first.is_ascii_alphabetic() {
                format!("[{first}{}]", first.to_ascii_uppercase())
            } else {
                regex::escape(&first.to_string())
            };
            // An ASCII boundary: Unicode's costs memory too.
            let end = if w.ends_with(|c: char| c.is_ascii_alphanumeric()) {
                "(?-u:\\b)"
            } else {
                ""
            };
            format!("{first}{rest}{end}")
        })
        .collect();
    format!("(?:{})", alternatives.join("|"))
}

/// Every unit's words, as one alternation.
fn units() -> String {
    alternation(UNITS.iter().flat_map(|(_, words)| words.iter().copied()))
}

/// A number with its unit ("10 months", "37%", "24h", "30-day").
static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    let units = units();
    Regex::new(&format!(
        r"(?-u:\b)([0-9]{{1,5}}(?:[.,][0-9]+)?)[ -]?{QUALIFIERS}({units})"
    ))
    .expect("valid pattern")
});

/// The low end of a range with its unit ("3–5 business days" has 3 days).
static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let units = units();
    Regex::new(&format!(
        r"(?-u:\b)([0-9]{{1,5}}) ?(?:[–-]|to|a|à|bis) ?[0-9]{{1,5}}[ -]?{QUALIFIERS}({units})"
    ))
    .expect("valid pattern")
});

/// Month names and their short forms, January first, in the five languages.
const MONTHS: [&[&str]; 12] = [
    &["january", "jan", "enero", "janvier", "januar", "janeiro"],
    &[
        "february",
        "feb",
        "febrero",
        "février",
        "fevrier",
        "februar",
        "fevereiro",
    ],
    &[
        "march", "mar", "marzo", "mars", "märz", "marz", "março", "marco",
    ],
    &["april", "apr", "abril", "avril"],
    &["may", "mayo", "mai", "maio"],
    &["june", "jun", "junio", "juin", "juni", "junho"],
    &["july", "jul", "julio", "juillet", "juli", "julho"],
    &["august", "aug", "agosto", "août", "aout"],
    &[
        "september",
        "sept",
        "sep",
        "septiembre",
        "setiembre",
        "septembre",
        "setembro",
    ],
    &["october", "oct", "octubre", "octobre", "oktober", "outubro"],
    &["november", "nov", "noviembre", "novembre", "novembro"],
    &[
        "december",
        "dec",
        "diciembre",
        "décembre",
        "decembre",
        "dezember",
        "dezembro",
    ],
];

/// A day of a month, written out: "December 1", "Dec. 1st", "1 December", "1st of
/// December", "1 de diciembre", "1er décembre", "1. Dezember".
static WRITTEN_DATE: LazyLock<Regex> = LazyLock::new(|| {
    let months = alternation(MONTHS.iter().flat_map(|names| names.iter().copied()));
    Regex::new(&format!(
        concat!(
            r"(?-u:\b)(?:(?P<m1>{months})\.? (?P<d1>[0-9]{{1,2}})(?:st|nd|rd|th)?(?-u:\b)",
            r"|(?P<d2>[0-9]{{1,2}})(?:st|nd|rd|th|er|\.)? (?:of |de )?(?P<m2>{months}))"
        ),
        months = months
    ))
    .expect("valid pattern")
});

/// A date as the action templates write it in other languages: `04/12/2026`, `04.12.2026`
/// (day first; a US `12/04/2026` is read both ways).
static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([0-9]{1,2})[/.]([0-9]{1,2})[/.][0-9]{4}(?-u:\b)").expect("valid pattern")
});

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]{4}-([0-9]{2})-([0-9]{2})").expect("valid pattern"));

/// Days that are no date of their own: they are the model's unless given as written.
static RELATIVE_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?-u:\b)(?:tomorrow|yesterday|next (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|week)",
        r"|ayer|pasado mañana|demain|après-demain|gestern|übermorgen|ontem)(?-u:\b)|amanhã",
    ))
    .expect("valid pattern")
});

/// The quantities, written dates and relative days in `prose`, where they are.
pub fn candidates(prose: &str) -> impl Iterator<Item = regex::Match<'_>> {
    QUANTITY
        .find_iter(prose)
        .chain(WRITTEN_DATE.find_iter(prose))
        .chain(RELATIVE_DAY.find_iter(prose))
}

/// Whether `candidate` (one of [`candidates`]) is in `given` (in lower case): the same
/// number of the same unit, the same day of the same month, or the relative day as written.
pub fn found(candidate: &str, given: &[String]) -> bool {
    if let Some(quantity) = QUANTITY.captures(candidate) {
        let number = &quantity[1];
        let unit = unit_of(&quantity[2]);
        return given.iter().any(|text| {
            QUANTITY
                .captures_iter(text)
                .any(|q| &q[1] == number && unit_of(&q[2]) == unit && !after_digit(text, &q))
                || RANGE
                    .captures_iter(text)
                    .any(|r| &r[1] == number && unit_of(&r[2]) == unit)
        });
    }
    if let Some(day) = written_date(candidate) {
        return given.iter().any(|text| {
            WRITTEN_DATE
                .captures_iter(text)
                .filter_map(|c| written_date(c.get(0)?.as_str()))
                .chain(
                    ISO_DATE
                        .captures_iter(text)
                        .filter_map(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?))),
                )
                .chain(NUMERIC_DATE.captures_iter(text).flat_map(|c| {
                    let (a, b) = (c[1].parse().ok(), c[2].parse().ok());
                    [(b, a), (a, b)]
                        .into_iter()
                        .filter_map(|(m, d)| Some((m?, d?)))
                }))
                .any(|d| d == day)
        });
    }
    let needle = candidate.to_lowercase();
    given.iter().any(|text| super::has_token(text, &needle))
}

/// Whether a quantity found in `text` is the end of a longer number ("1.5 days" is not "5
/// days"); "5–10 days" has "10 days".
fn after_digit(text: &str, quantity: &regex::Captures) -> bool {
    let start = quantity.get(0).map_or(0, |m| m.start());
    text[..start]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

fn unit_of(word: &str) -> Option<Unit> {
    let word = word.to_lowercase();
    UNITS
        .iter()
        .find(|(_, words)| words.contains(&word.as_str()))
        .map(|(unit, _)| *unit)
}

/// A written date as (month, day).
fn written_date(text: &str) -> Option<(u8, u8)> {
    let date = WRITTEN_DATE.captures(text)?;
    let month = date.name("m1").or(date.name("m2"))?.as_str().to_lowercase();
    let day = date.name("d1").or(date.name("d2"))?.as_str().parse().ok()?;
    let month = MONTHS
        .iter()
        .position(|names| names.contains(&month.as_str()))?;
    Some((u8::try_from(month).ok()? + 1, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_lowercase()).collect()
    }

    fn first(prose: &str) -> &str {
        candidates(prose).next().map_or("", |m| m.as_str())
    }

    #[test]
    fn a_quantity_is_found_with_its_unit_however_written() {
        let given = given(&[
            "Refunds appear within 5–10 business days. Support is open 24h. Students get 15% off.",
        ]);
        for (prose, ok) in [
            ("Refunds take up to 10 business days.", true),
            ("We answer 24 hours a day.", true),
            ("Students get 15 % off.", true),
            ("Refunds take up to 10 months.", false),
            ("Students get 37% off.", false),
            ("Refunds take 85 days.", false),
            ("It arrives in 2 days.", false),
            ("Refunds take 4 days.", false),
            ("It usually takes 5 days.", true),
        ] {
            let candidate = first(prose);
            assert!(!candidate.is_empty(), "{prose}");
            assert_eq!(found(candidate, &given), ok, "{prose}: {candidate}");
        }
    }

    #[test]
    fn a_written_date_is_found_as_any_date_of_that_day() {
        let given = given(&[
            "Estimated delivery: 2026-12-04",
            "Sale ends on 1 March.",
            "Entrega estimada: 07/12/2026",
        ]);
        for (prose, ok) in [
            ("It should arrive on December 4.", true),
            ("Llega el 4 de diciembre.", true),
            ("Elle arrive le 4 décembre.", true),
            ("Sie kommt am 4. Dezember.", true),
            ("The sale ends March 1st.", true),
            ("It should arrive on December 1.", false),
            ("It should arrive on Dec. 2.", false),
            ("Chega a 1 de dezembro.", false),
            ("It arrives tomorrow.", false),
            ("Llegó ayer.", false),
            ("Llega el 7 de diciembre.", true),
        ] {
            let candidate = first(prose);
            assert!(!candidate.is_empty(), "{prose}");
            assert_eq!(found(candidate, &given), ok, "{prose}: {candidate}");
        }
        // Nothing to check: "may" is no month, German "hier" is "here".
        assert_eq!(first("You may return it within the window."), "");
        assert_eq!(first("Items 1 and 2 may arrive separately."), "");
        assert_eq!(first("Hier finden Sie alles."), "");
    }
}
