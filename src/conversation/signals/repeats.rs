//! Whether a message repeats an earlier question (content words, Jaccard overlap).

use std::collections::HashSet;

use super::words;

/// Function words left out of the overlap (only words of three letters or more matter anyway).
fn is_stop_word(w: &str) -> bool {
    matches!(
        w,
        // English
        "the" | "and" | "but" | "for" | "you" | "your" | "yours" | "are" | "was" | "were"
            | "have" | "has" | "had" | "this" | "that" | "these" | "those" | "with" | "from"
            | "any" | "can" | "could" | "would" | "should" | "will" | "please" | "thanks"
            | "thank" | "just" | "about" | "into" | "there" | "their" | "them" | "they" | "our"
            | "its" | "again" | "still" | "also" | "yet" | "hello" | "does" | "did" | "how"
            | "what" | "which" | "who" | "why" | "don" | "doesn" | "didn" | "isn" | "aren"
            | "won" | "wasn" | "haven" | "hasn" | "get" | "got" | "not" | "all" | "out"
            | "now" | "okay" | "hey"
            // Spanish
            | "que" | "por" | "para" | "los" | "las" | "una" | "uno" | "del" | "con" | "como"
            | "pero" | "mas" | "esta" | "este" | "esto" | "hola" | "gracias" | "favor" | "sus"
            | "mis" | "muy" | "otra" | "vez" | "todavia" | "aun" | "sigue"
            // French
            | "les" | "des" | "une" | "est" | "pour" | "avec" | "qui" | "dans" | "pas"
            | "vous" | "nous" | "mon" | "mes" | "ses" | "sur" | "bonjour" | "merci" | "encore"
            | "toujours"
            // German
            | "der" | "die" | "das" | "und" | "ist" | "ein" | "eine" | "einen" | "einem"
            | "mit" | "wie" | "ich" | "sie" | "wir" | "mein" | "meine" | "nicht"
            | "noch" | "bitte" | "danke" | "hallo" | "auf" | "fur" | "von" | "immer"
            | "wieder" | "kann"
            // Portuguese
            | "com" | "dos" | "meu" | "minha" | "nao" | "ola" | "obrigado" | "ainda"
            | "voce"
    )
}

/// Lower-cased, accent-folded words of at least three letters, stop words removed.
fn content_words(text: &str) -> HashSet<String> {
    words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 3 && !is_stop_word(w))
        .collect()
}

/// Whether `text` asks again what an earlier customer message already asked (after an answer):
/// its content words (lowercased, accent-folded words of three letters or more, minus a small
/// stop-word list), two or more, are the same as those of any of `earlier` ("How do I return
/// an item?" again, "how can I reset my password on the app?" after "How do I reset the
/// password for the app?"), or a longer question shares three or more and three quarters of
/// them with it (Jaccard ≥ 0.75). One word alone ("refund?") is never a repeat, nor is a
/// question with another word in a place of one ("How long does shipping to Alaska take?"
/// after "... to Canada take?", Jaccard 0.6).
#[must_use]
pub fn repeats_question(earlier: &[&str], text: &str) -> bool {
    let now = content_words(text);
    if now.len() < 2 {
        return false;
    }
    earlier.iter().any(|previous| {
        let before = content_words(previous);
        let common = now.intersection(&before).count();
        let union = now.union(&before).count();
        // Jaccard ≥ 0.75, in integers: common / union ≥ 3 / 4.
        now == before || (common >= 3 && common * 4 >= union * 3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slightly_reworded_question_is_a_repeat() {
        let earlier = ["Hello", "How do I reset the password for the mobile app?"];
        assert!(repeats_question(
            &earlier,
            "how can I reset my password on the mobile app?"
        ));
        assert!(repeats_question(
            &earlier,
            "I still can't reset my password in the mobile app!"
        ));
        assert!(repeats_question(
            &["¿Cuándo llegará mi pedido número 12345?"],
            "cuando llegara el pedido numero 12345"
        ));
    }

    #[test]
    fn a_different_question_is_not_a_repeat() {
        let earlier = ["How do I reset the password for the mobile app?"];
        assert!(!repeats_question(
            &earlier,
            "What are the opening hours of the Berlin store?"
        ));
        assert!(!repeats_question(
            &["How do I change the delivery address for order 12345?"],
            "How do I cancel order 12345 and get a refund?"
        ));
    }

    #[test]
    fn a_short_question_repeats_only_the_same_words() {
        assert!(repeats_question(
            &["How do I return an item?"],
            "how do i return an item??"
        ));
        assert!(repeats_question(
            &["Do you ship to Canada?"],
            "do you ship to canada"
        ));
        assert!(!repeats_question(
            &["Do you ship to Canada?"],
            "do you ship to Mexico?"
        ));
        assert!(!repeats_question(
            &["Can I return a kettle I bought on sale?"],
            "How do I return an item?"
        ));
        assert!(!repeats_question(&["refund?"], "refund?"));
        assert!(!repeats_question(&["ok thanks"], "ok thanks"));
        assert!(!repeats_question(
            &[],
            "How do I reset the password for the mobile app?"
        ));
    }

    #[test]
    fn overlap_below_the_threshold_is_not_a_repeat() {
        // One word in another's place of four: Jaccard 0.6.
        assert!(!repeats_question(
            &["How long does shipping to Canada take?"],
            "How long does shipping to Alaska take?"
        ));
        assert!(!repeats_question(
            &["refund invoice shipping warranty"],
            "refund invoice shipping battery"
        ));
        // Six in common out of eight: exactly 0.75.
        assert!(repeats_question(
            &["refund invoice shipping warranty battery charger label"],
            "refund invoice shipping warranty battery charger parcel"
        ));
    }
}
