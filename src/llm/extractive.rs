//! The reply without a model: the best help-center passage, quoted and labelled as such,
//! with its citation — or an honest "not found" that offers a person.

use crate::{
    phrases::{Lang, Phrases},
    retrieval::Hit,
    storage::Citation,
};

/// Longest quoted excerpt, in characters (cut at a sentence end when possible).
const EXCERPT_CHARS: usize = 700;

/// A reply built from passages.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractiveReply {
    pub text: String,
    pub citations: Vec<Citation>,
    /// The quoted passage's coverage of the question (0 when none is quoted).
    pub evidence: f32,
}

/// The citation for a passage.
pub fn citation(hit: &Hit) -> Citation {
    Citation {
        article_id: hit.article_id.clone(),
        title: hit.title.clone(),
        url: hit.url.clone(),
        snippet: hit.snippet.clone(),
    }
}

/// The reply when no passage answers the question: "not found", then the offer of a person
/// (replaced when one is already on the way).
pub fn not_found(phrases: &Phrases) -> String {
    format!("{} {}", phrases.not_found, phrases.offer)
}

/// Quotes the first passage whose evidence reaches `threshold`; otherwise [`not_found`].
/// (A follow-up's context may rank first a passage on the conversation's earlier topic that
/// does not answer a question on a new one; the passage that does is quoted instead.)
pub fn reply(hits: &[Hit], threshold: f32, phrases: &Phrases) -> ExtractiveReply {
    let Some(first) = hits.iter().find(|h| h.coverage >= threshold) else {
        return ExtractiveReply {
            text: not_found(phrases),
            citations: Vec::new(),
            evidence: 0.0,
        };
    };
    // A passage clearly in another language than the reply's gives way to one as telling
    // that is clearly in the reply's (an English question's "located" matches a French
    // article's "location").
    let lang_of = |h: &Hit| Lang::of_text(&h.text);
    let (best, quoted) = match lang_of(first) {
        Some(lang) if lang != phrases.lang => hits
            .iter()
            .find(|h| h.coverage >= first.coverage && lang_of(h) == Some(phrases.lang))
            .map_or((first, Some(lang)), |h| (h, Some(phrases.lang))),
        lang => (first, lang),
    };
    let readable =
        |h: &Hit| lang_of(h).is_none_or(|lang| lang == phrases.lang || Some(lang) == quoted);
    let mut place = best.title.clone();
    if let Some(section) = best.headings.last() {
        place.push_str(" › ");
        place.push_str(section);
    }
    let mut text = format!(
        "{} ({place}):\n\n{}",
        phrases.help_center_says,
        excerpt(&best.text, &best.snippet)
    );
    let mut citations = vec![citation(best)];
    // Another article as telling as the quoted passage; one that has fewer of the question's
    // words is most often another subject that shares a word ("take", "order").
    if let Some(related) = hits
        .iter()
        .find(|h| h.article_id != best.article_id && h.coverage >= best.coverage && readable(h))
    {
        text.push_str(&format!("\n\n{}: {}.", phrases.see_also, related.title));
        citations.push(citation(related));
    }
    ExtractiveReply {
        text,
        citations,
        evidence: best.coverage.clamp(0.0, 1.0),
    }
}

/// What to quote of a passage: all of it when short; else its first [`EXCERPT_CHARS`], or,
/// when the fragment the search matched (`snippet`) lies past them, as many from the line or
/// sentence where that fragment starts, after a table's header row (a row reads on its own).
fn excerpt(text: &str, snippet: &str) -> String {
    let head = cut(text);
    let Some(at) = text.find(snippet).filter(|_| !head.contains(snippet)) else {
        return head;
    };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let sentence_start = text[..at].rfind(". ").map_or(0, |i| i + 2);
    let start = if at - line_start > EXCERPT_CHARS / 2 {
        sentence_start.max(line_start)
    } else {
        line_start
    };
    let rest = cut(&text[start..]);
    match text.split_once('\n') {
        Some((header, _)) if header.ends_with('|') => format!("{header}\n…\n{rest}"),
        _ => format!("…\n{rest}"),
    }
}

/// The start of `text` up to [`EXCERPT_CHARS`], cut at a sentence or line end when possible.
fn cut(text: &str) -> String {
    if text.chars().count() <= EXCERPT_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(EXCERPT_CHARS).collect();
    match cut.rfind(['.', '!', '?', '\n']) {
        Some(end) if end > EXCERPT_CHARS / 2 => cut[..=end].trim_end().to_owned(),
        _ => format!("{}…", cut.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrases::Lang;

    fn hit(article: &str, coverage: f32, text: &str) -> Hit {
        Hit {
            article_id: article.into(),
            chunk_id: format!("{article}#0"),
            title: format!("Title {article}"),
            url: Some(format!("https://help.example/{article}")),
            headings: vec!["Costs".into()],
            text: text.into(),
            snippet: "snip".into(),
            score: 2.0,
            coverage,
            found: 1,
        }
    }

    #[test]
    fn of_passages_as_telling_the_one_in_the_customers_language_is_quoted() {
        let french = hit(
            "fr",
            1.0,
            "Nous louons des vélos à l'heure ou à la journée, avec un casque pour chaque location.",
        );
        let english = hit(
            "en",
            1.0,
            "You will find our shop where the river meets the park, and we are open every day.",
        );
        let hits = [french.clone(), english.clone()];
        let en = reply(&hits, 0.5, Lang::En.phrases());
        assert_eq!(en.citations[0].article_id, "en", "{}", en.text);
        assert_eq!(en.citations.len(), 1, "no French 'see also': {}", en.text);
        let fr = reply(&hits, 0.5, Lang::Fr.phrases());
        assert_eq!(fr.citations[0].article_id, "fr", "{}", fr.text);
        // A passage in another language that tells more is still quoted.
        let weaker = hit("en", 0.5, english.text.as_str());
        let en = reply(&[french.clone(), weaker], 0.5, Lang::En.phrases());
        assert_eq!(en.citations[0].article_id, "fr", "{}", en.text);
        // A French chat on an English help center: English quoted, English "See also".
        let other = hit("en2", 1.0, english.text.as_str());
        let fr = reply(&[english.clone(), other], 0.5, Lang::Fr.phrases());
        assert_eq!(fr.citations.len(), 2, "{}", fr.text);
    }

    #[test]
    fn quotes_the_best_passage_with_its_citation() {
        let r = reply(
            &[
                hit("a", 1.0, "Free over $50."),
                hit("a", 0.9, "x"),
                hit("c", 0.5, "z"),
                hit("b", 1.0, "y"),
            ],
            0.35,
            Lang::En.phrases(),
        );
        assert!(r.text.contains("Title a › Costs") && r.text.contains("Free over $50."));
        assert!(r.text.contains("See also: Title b."));
        let ids: Vec<_> = r.citations.iter().map(|c| c.article_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let hits = [hit("a", 1.0, "Kostenlos ab 50 $."), hit("b", 1.0, "y")];
        let german = reply(&hits, 0.35, Lang::De.phrases()).text;
        assert!(
            german.starts_with("Das steht in unserem Hilfe-Center (Title a › Costs):")
                && german.ends_with("Siehe auch: Title b."),
            "{german}"
        );
    }

    #[test]
    fn a_first_passage_that_does_not_answer_is_passed_over() {
        let r = reply(
            &[
                hit("a", 0.3, "Earlier topic."),
                hit("b", 0.8, "The answer."),
            ],
            0.35,
            Lang::En.phrases(),
        );
        assert!(r.text.contains("The answer.") && !r.text.contains("Earlier topic."));
        let ids: Vec<_> = r.citations.iter().map(|c| c.article_id.as_str()).collect();
        assert_eq!(ids, ["b"]);
        assert_eq!(r.evidence, 0.8);
    }

    #[test]
    fn weak_evidence_is_an_honest_not_found() {
        let r = reply(&[hit("a", 0.2, "unrelated")], 0.35, Lang::En.phrases());
        assert_eq!(
            r.text,
            "I couldn't find an answer to that in our help center. Would you like me to connect you with a person? Just say \"talk to a person\" or use the button."
        );
        assert!(r.citations.is_empty());
        assert_eq!(r.evidence, 0.0);
        assert_eq!(reply(&[], 0.35, Lang::En.phrases()).text, r.text);
        let spanish = reply(&[], 0.35, Lang::Es.phrases()).text;
        assert!(spanish.starts_with("No he encontrado"), "{spanish}");
    }

    #[test]
    fn long_passages_are_cut_at_a_sentence() {
        let text = "A sentence here. ".repeat(100);
        let r = reply(&[hit("a", 1.0, &text)], 0.35, Lang::En.phrases());
        assert!(r.text.ends_with("here."), "{}", r.text);
        assert!(r.text.len() < 900);
    }

    #[test]
    fn a_long_passage_is_quoted_where_the_search_matched() {
        let rows: String = (1..=60).map(|i| format!("Town{i} | {i} am |\n")).collect();
        let mut best = hit("a", 1.0, &format!("Town | Opens |\n{rows}"));
        best.snippet = "Town55 | 55 am |".into();
        let r = reply(&[best], 0.35, Lang::En.phrases());
        assert!(
            r.text.contains("Town | Opens |\n…\nTown55 | 55 am |"),
            "{}",
            r.text
        );
        assert!(!r.text.contains("Town1 |"), "{}", r.text);

        let mut best = hit("a", 1.0, &"- Store in Quux opens at 7 am\n".repeat(40));
        best.text.push_str("- Store in Zorb opens at 9 am");
        best.snippet = "Store in Zorb opens".into();
        let r = reply(&[best], 0.35, Lang::En.phrases());
        assert!(
            r.text.contains("…\n- Store in Zorb opens at 9 am"),
            "{}",
            r.text
        );
    }
}
