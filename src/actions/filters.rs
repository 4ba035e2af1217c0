//! The filters action templates render facts with: `money`, `date` and `method`, each in
//! English unless given a language code (`money("fr")`), amounts in US dollars unless given a
//! currency (`money(currency="EUR")`).

use minijinja::{Error, ErrorKind, Value, value::Kwargs};

use crate::phrases::Lang;

/// A filter's language argument (`"fr"`, `"pt-BR"`): English when absent or unknown.
fn language(code: Option<&str>) -> Lang {
    code.and_then(|code| Lang::of_locale(Some(code)))
        .unwrap_or(Lang::En)
}

/// `{{ 1234.5 | money }}` → `$1,234.50`, `-5` → `-$5.00`; a number written as a string (some
/// APIs send `"12.50"`) is read as the number. In another language, as its help articles
/// write prices: `money("fr")` → `1 234,50 USD`, `money("de")` → `1.234,50 USD`. In US
/// dollars unless `currency=` gives an ISO 4217 code (`money(currency=result.currency)`,
/// `money("fr", currency="EUR")` → `1 234,50 €`; a `currency=` that is empty or missing, as
/// in a record without one, is an error, not dollars): euros, pounds and yen by their sign (before
/// the amount in English, after it in the other languages), yen and won without cents, any
/// other currency by its code after the amount (`1,234.50 CAD`).
pub fn money(value: Value, lang: Option<&str>, kwargs: Kwargs) -> Result<String, Error> {
    let amount = match value.as_str() {
        Some(text) => text.trim().parse::<f64>().ok(),
        None => f64::try_from(value.clone()).ok(),
    }
    .filter(|amount| amount.is_finite())
    .ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{value} is not an amount"),
        )
    })?;
    // Named but empty (the record has none): no currency is guessed.
    let currency = match kwargs.get::<Option<&str>>("currency")? {
        Some(code) => code,
        None if kwargs.has("currency") => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "currency= is empty (does the record have one?)",
            ));
        }
        None => "USD",
    };
    kwargs.assert_all_used()?;
    let currency =
        currency_code(currency).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
    let lang = language(lang);
    let (thousands, decimal) = match lang {
        Lang::En => (',', '.'),
        Lang::Fr => (' ', ','),
        Lang::Es | Lang::De | Lang::Pt => ('.', ','),
    };
    let cents = !matches!(currency.as_str(), "JPY" | "KRW");
    let minor = (amount.abs() * if cents { 100.0 } else { 1.0 }).round() as u128;
    let whole = if cents { minor / 100 } else { minor }.to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(thousands);
        }
        grouped.push(digit);
    }
    if cents {
        grouped = format!("{grouped}{decimal}{:02}", minor % 100);
    }
    let sign = if amount < 0.0 && minor > 0 { "-" } else { "" };
    let symbol = match currency.as_str() {
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        "USD" if lang == Lang::En => Some("$"),
        _ => None,
    };
    Ok(match (symbol, lang) {
        (Some(symbol), Lang::En) => format!("{sign}{symbol}{grouped}"),
        (Some(symbol), _) => format!("{sign}{grouped} {symbol}"),
        (None, _) => format!("{sign}{grouped} {currency}"),
    })
}

/// A date (`2026-09-14`, or the start of a timestamp) as written in a language: as it is in
/// English, `14/09/2026` in French, Spanish and Portuguese, `14.09.2026` in German. Anything
/// else is shown as it is.
pub fn date(value: Value, lang: Option<&str>) -> String {
    let text = value.to_string();
    let day = text.get(..10).unwrap_or(&text);
    let parts: Vec<&str> = day.split('-').collect();
    match (language(lang), parts.as_slice()) {
        (Lang::En, _) => day.to_owned(),
        (Lang::De, [y, m, d]) => format!("{d}.{m}.{y}"),
        (_, [y, m, d]) => format!("{d}/{m}/{y}"),
        _ => day.to_owned(),
    }
}

/// A payment method as a customer names it: `{"type": "card", "brand": "Visa", "last4":
/// "4242"}` → `Visa ending 4242`, `{"type": "apple_pay", "brand": "Visa"}` → `Apple Pay
/// (Visa)`, `{"type": "paypal"}` → `PayPal`, `{"type": "gift_card"}` → `gift card`. A
/// language code names it in that language: `{{ p.method | method("fr") }}` → `Visa se
/// terminant par 4242`, `carte cadeau`.
pub fn method(value: Value, lang: Option<&str>) -> String {
    let words = method_words(language(lang));
    let text = |key: &str| {
        value
            .get_attr(key)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|v| !v.is_empty())
    };
    let kind = text("type").unwrap_or_default();
    let wallet = match kind.as_str() {
        "card" | "" => None,
        "paypal" => Some("PayPal".to_owned()),
        "apple_pay" => Some("Apple Pay".to_owned()),
        "google_pay" => Some("Google Pay".to_owned()),
        "gift_card" => Some(words.gift_card.to_owned()),
        "store_credit" => Some(words.store_credit.to_owned()),
        other => Some(other.replace('_', " ")),
    };
    let mut name = match (wallet, text("brand")) {
        (Some(wallet), Some(brand)) => format!("{wallet} ({brand})"),
        (Some(wallet), None) => wallet,
        (None, Some(brand)) => brand,
        (None, None) => words.card.to_owned(),
    };
    if let Some(last4) = text("last4") {
        name.push(' ');
        name.push_str(words.ending);
        name.push(' ');
        name.push_str(&last4);
    }
    name
}

/// The words [`method`] names payment methods with, in one language.
struct MethodWords {
    card: &'static str,
    ending: &'static str,
    gift_card: &'static str,
    store_credit: &'static str,
}

fn method_words(lang: Lang) -> MethodWords {
    let (card, ending, gift_card, store_credit) = match lang {
        Lang::En => ("card", "ending", "gift card", "store credit"),
        Lang::Es => (
            "tarjeta",
            "terminada en",
            "tarjeta regalo",
            "crédito de tienda",
        ),
        Lang::Fr => ("carte", "se terminant par", "carte cadeau", "avoir"),
        Lang::De => ("Karte", "endend auf", "Geschenkkarte", "Guthaben"),
        Lang::Pt => ("cartão", "com final", "cartão-presente", "crédito na loja"),
    };
    MethodWords {
        card,
        ending,
        gift_card,
        store_credit,
    }
}

/// `code` as an ISO 4217 currency code (three letters, upper-cased), or why it is none.
pub fn currency_code(code: &str) -> Result<String, String> {
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(format!(
            "{code:?} is not a currency code (such as USD or EUR)"
        ))
    }
}

/// The currencies a template names as text (`money(currency="EUR")`), to be checked when
/// the action is loaded rather than at its first lookup.
pub fn literal_currencies(source: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("currency") {
        rest = &rest[at + "currency".len()..];
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let Some(quote) = value.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
            continue;
        };
        if let Some(end) = value[1..].find(quote) {
            found.push(&value[1..1 + end]);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(json: serde_json::Value) -> Value {
        Value::from(minijinja::value::Serde(json))
    }

    /// The filter's keyword arguments: `currency=` when given.
    fn currency(code: Option<&str>) -> Kwargs {
        Kwargs::from_iter(code.map(|code| ("currency", Value::from(code))))
    }

    #[test]
    fn a_templates_literal_currencies_are_found_to_check() {
        assert_eq!(
            literal_currencies(
                "{{ t | money(currency=\"EUR\") }} {{ t | money('fr', currency = 'euro') }} \
                 {{ t | money(currency=result.currency) }} {{ currency }}"
            ),
            ["EUR", "euro"]
        );
        assert_eq!(currency_code("gbp").as_deref(), Ok("GBP"));
        assert!(currency_code("euro").is_err());
    }

    #[test]
    fn amounts_are_written_as_customers_read_them() {
        for (amount, written) in [
            (json!(12.5), "$12.50"),
            (json!(0), "$0.00"),
            (json!(1234567.891), "$1,234,567.89"),
            (json!(-5), "-$5.00"),
            (json!(999.999), "$1,000.00"),
            (json!("12.50"), "$12.50"),
        ] {
            assert_eq!(
                money(value(amount.clone()), None, currency(None)).expect("amount"),
                written,
                "{amount}"
            );
        }
        assert!(money(value(json!("soon")), None, currency(None)).is_err());
        assert!(money(value(json!(null)), None, currency(None)).is_err());
        for (lang, code, written) in [
            ("fr", None, "1 234,50 USD"),
            ("de", None, "1.234,50 USD"),
            ("pt", None, "1.234,50 USD"),
            ("it", None, "$1,234.50"),
            ("en", Some("eur"), "€1,234.50"),
            ("fr", Some("EUR"), "1 234,50 €"),
            ("de", Some("GBP"), "1.234,50 £"),
            ("en", Some("CAD"), "1,234.50 CAD"),
            ("es", Some("CAD"), "1.234,50 CAD"),
            ("en", Some("JPY"), "¥1,235"),
            ("fr", Some("KRW"), "1 235 KRW"),
        ] {
            assert_eq!(
                money(value(json!(1234.5)), Some(lang), currency(code)).expect("amount"),
                written,
                "{lang} {code:?}"
            );
        }
        for code in ["dollars", "€", ""] {
            let error = money(value(json!(1)), None, currency(Some(code))).expect_err(code);
            assert!(error.to_string().contains("currency code"), "{error}");
        }
        // A template passes it as a keyword, read from the record or written out.
        let mut env = minijinja::Environment::new();
        env.add_filter("money", money);
        let rendered = env
            .render_str(
                "{{ r.total | money(currency=r.currency) }} / {{ r.total | money(\"fr\", currency=\"EUR\") }}",
                minijinja::context! { r => value(json!({"total": 54.9, "currency": "GBP"})) },
            )
            .expect("render");
        assert_eq!(rendered, "£54.90 / 54,90 €");
        for template in [
            "{{ 1 | money(cur=\"EUR\") }}",
            "{{ r.total | money(currency=r.missing) }}",
            "{{ r.total | money(currency=none) }}",
        ] {
            let rendered = env.render_str(
                template,
                minijinja::context! { r => value(json!({"total": 54.9})) },
            );
            assert!(rendered.is_err(), "{template}: {rendered:?}, not dollars");
        }
    }

    #[test]
    fn dates_are_written_as_each_language_writes_them() {
        let stamp = || value(json!("2026-09-14T23:05:09Z"));
        assert_eq!(date(stamp(), None), "2026-09-14");
        assert_eq!(date(stamp(), Some("fr")), "14/09/2026");
        assert_eq!(date(stamp(), Some("de")), "14.09.2026");
        assert_eq!(date(value(json!("2026-11-18")), Some("es")), "18/11/2026");
        assert_eq!(date(value(json!("soon")), Some("fr")), "soon");
    }

    #[test]
    fn payment_methods_are_named_as_customers_know_them() {
        for (method, named) in [
            (
                json!({"type": "card", "brand": "Visa", "last4": "4242"}),
                "Visa ending 4242",
            ),
            (
                json!({"type": "apple_pay", "brand": "Visa", "last4": "1881"}),
                "Apple Pay (Visa) ending 1881",
            ),
            (
                json!({"type": "paypal", "brand": null, "last4": null}),
                "PayPal",
            ),
            (json!({"type": "gift_card"}), "gift card"),
            (json!({"type": "store_credit"}), "store credit"),
            (json!({}), "card"),
        ] {
            assert_eq!(
                super::method(value(method.clone()), None),
                named,
                "{method}"
            );
        }
        for (method, lang, named) in [
            (
                json!({"type": "card", "brand": "Visa", "last4": "4242"}),
                "fr",
                "Visa se terminant par 4242",
            ),
            (json!({"type": "gift_card"}), "de", "Geschenkkarte"),
            (json!({"type": "paypal"}), "es", "PayPal"),
            (json!({}), "pt", "cartão"),
            (json!({"type": "store_credit"}), "it", "store credit"),
        ] {
            assert_eq!(
                super::method(value(method.clone()), Some(lang)),
                named,
                "{method} in {lang}"
            );
        }
    }
}
