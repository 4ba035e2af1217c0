//! A question's own words for the search: the index's stop words are English, so a question
//! written in Spanish, French, German or Portuguese loses that language's function words
//! here ("¿Qué métodos de pago aceptan?" had matched a passage on "que"; "Liefern Sie nach
//! Deutschland?" a password passage on "nach"). Its coverage then counts what it asks about.

use std::borrow::Cow;

use crate::{
    conversation::signals::{plain_words, words},
    phrases::Lang,
};

/// Articles, pronouns, prepositions, auxiliaries and question words, folded (no accents).
fn function_words(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[],
        Lang::Es => &[
            "a", "al", "como", "con", "cual", "cuales", "cuando", "cuanto", "cuanta", "cuantos",
            "de", "del", "donde", "el", "ella", "en", "es", "esta", "este", "esto", "eso", "hay",
            "la", "las", "le", "les", "lo", "los", "me", "mi", "mis", "mucho", "muy", "no", "o",
            "para", "pero", "por", "puede", "pueden", "puedo", "que", "se", "si", "son", "su",
            "sus", "te", "tengo", "tiene", "tienen", "tu", "tus", "un", "una", "uno", "unos",
            "usted", "ustedes", "y", "ya", "yo", "hola", "gracias", "favor",
        ],
        Lang::Fr => &[
            "a", "au", "aux", "avec", "ce", "ces", "cet", "cette", "combien", "comment", "dans",
            "de", "des", "du", "elle", "en", "est", "et", "il", "ils", "je", "j", "l", "la", "le",
            "les", "leur", "ma", "mais", "me", "mes", "mon", "ne", "nous", "on", "ou", "par",
            "pas", "peut", "peux", "pour", "puis", "qu", "que", "quel", "quelle", "quels",
            "quelles", "qui", "quoi", "s", "sa", "se", "ses", "son", "sont", "sur", "ta", "te",
            "tes", "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "bonjour", "merci", "c",
            "d", "n", "m", "t",
        ],
        Lang::De => &[
            "am", "an", "auf", "aus", "bei", "bin", "bitte", "das", "dem", "den", "der", "des",
            "die", "du", "ein", "eine", "einem", "einen", "einer", "es", "fur", "habe", "haben",
            "hat", "ich", "ihr", "ihre", "im", "in", "ist", "kann", "konnen", "man", "mein",
            "meine", "meinem", "meinen", "meiner", "mich", "mir", "mit", "nach", "nicht", "oder",
            "sie", "sind", "uber", "um", "und", "uns", "von", "vom", "was", "wann", "warum",
            "welche", "welcher", "wie", "wir", "wo", "zu", "zum", "zur", "hallo", "danke",
        ],
        Lang::Pt => &[
            "a", "ao", "as", "com", "como", "da", "das", "de", "do", "dos", "e", "ela", "ele",
            "em", "esta", "este", "eu", "isso", "meu", "meus", "minha", "minhas", "na", "nas",
            "no", "nos", "nao", "o", "onde", "os", "ou", "para", "pela", "pelo", "pode", "posso",
            "por", "qual", "quais", "quando", "quanto", "que", "se", "seu", "sua", "sao", "tem",
            "um", "uma", "voce", "voces", "ola", "obrigado", "obrigada",
        ],
    }
}

/// `question` without the function words of its language, when that is not English: the
/// one it is clearly written in, else the conversation's (`lang`) unless it has a word only
/// English has ("Do you sell a sun hat?" in a German chat keeps its "hat"). As it is
/// otherwise. Elided words go too ("qu'est-ce", "l'emballage").
pub fn content_words(question: &str, lang: Option<Lang>) -> Cow<'_, str> {
    let lang = Lang::of_text(question)
        .or_else(|| lang.filter(|_| !Lang::has_english_words(question)))
        .filter(|lang| *lang != Lang::En);
    let Some(lang) = lang else {
        return Cow::Borrowed(question);
    };
    let function = function_words(lang);
    let kept: Vec<String> = words(question)
        .into_iter()
        .filter(|word| !function.contains(&word.as_str()))
        .collect();
    Cow::Owned(kept.join(" "))
}

/// Words that deny what follows, folded and without apostrophes ("don't" and "don’t" are
/// "dont"). Portuguese "no" ("in the": "Entregam no Brasil?") counts too, which only keeps
/// such a question's first passage where it is.
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "cannot", "without", "dont", "doesnt", "didnt", "cant", "wont", "isnt",
    "arent", "wasnt", "werent", "nicht", "kein", "keine", "pas", "nao", "nunca",
];

/// Whether `text` (a question, or a passage's heading) says what it is about is not so:
/// "Payment methods we don't accept", "Items that can't be returned".
pub fn negates(text: &str) -> bool {
    plain_words(text)
        .iter()
        .any(|word| NEGATIONS.contains(&word.as_str()))
}

/// The words of `text` but those that deny: "Payment methods we don't accept" and "Payment
/// methods we accept" say the same of opposite things.
pub fn affirmed(text: &str) -> Vec<String> {
    let mut words = plain_words(text);
    words.retain(|word| !NEGATIONS.contains(&word.as_str()));
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_in_another_language_keeps_what_it_asks_about() {
        assert_eq!(
            content_words("¿Qué métodos de pago aceptan?", None),
            "metodos pago aceptan"
        );
        assert_eq!(
            content_words("Qu'est-ce que l'emballage cadeau ?", Some(Lang::Fr)),
            "emballage cadeau"
        );
        assert_eq!(
            content_words("Do you sell a sun hat?", Some(Lang::De)),
            "Do you sell a sun hat?",
            "an English word: not German"
        );
        assert_eq!(
            content_words("Liefern Sie nach Deutschland?", Some(Lang::De)),
            "liefern deutschland",
            "too short to tell: the conversation's language"
        );
        assert_eq!(
            content_words("Liefern Sie nach Deutschland?", None),
            "Liefern Sie nach Deutschland?"
        );
        assert_eq!(
            content_words("Combien coûte la livraison express ?", None),
            "coute livraison express"
        );
        assert_eq!(
            content_words("Como faço para devolver um produto?", Some(Lang::Pt)),
            "faco devolver produto"
        );
        // English, or no clear language: as asked (the index drops English stop words).
        assert_eq!(
            content_words("What is the return policy?", None),
            "What is the return policy?"
        );
        assert_eq!(content_words("NW-1046247", None), "NW-1046247");
    }
}
