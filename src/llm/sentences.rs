//! Where a model's text ends its sentences: one rule for the stream (the grounding gate lets
//! whole sentences through) and for a reply cut at the token limit (it keeps its whole
//! sentences), so what one lets through the other keeps.

/// Where the last whole sentence or line of `text` ends (after its terminator), if any: a
/// `.`, `!` or `?` followed by white space (so "$12.50" and links stay whole), a CJK `。`,
/// `！` or `？`, or a line break. A `.` after a number of one or two digits standing alone
/// ends nothing: German writes ordinals so ("am 1. Dezember"), and a date streamed in two
/// halves would pass the check of each.
pub fn last_end(text: &str) -> Option<usize> {
    let mut next: Option<char> = None;
    for (at, c) in text.char_indices().rev() {
        let ends = match c {
            '\n' | '。' | '！' | '？' => true,
            '.' => next.is_some_and(char::is_whitespace) && !after_ordinal(&text[..at]),
            '!' | '?' => next.is_some_and(char::is_whitespace),
            _ => false,
        };
        if ends {
            return Some(at + c.len_utf8());
        }
        next = Some(c);
    }
    None
}

/// Whether `before` ends with a number of one or two digits standing alone, as a German
/// ordinal does ("am 1", before its "."): a price ("$5.95") or a reference ("NW-1046247")
/// does not stand alone.
fn after_ordinal(before: &str) -> bool {
    let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let start = before.len() - digits;
    (1..=2).contains(&digits) && before[..start].ends_with(char::is_whitespace)
}

/// `text`, finished, up to the end of its last whole sentence or line ([`last_end`], a
/// terminator at the very end counting too), without the white space after it.
pub fn whole(text: &str) -> &str {
    let trimmed = text.trim_end();
    if trimmed.ends_with(['.', '!', '?']) {
        return trimmed;
    }
    last_end(trimmed).map_or("", |end| trimmed[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_reply_keeps_its_whole_sentences_and_lines() {
        let cut = "Refunds take 5-10 days [3]. After that, the money goes back to your orig";
        assert_eq!(whole(cut), "Refunds take 5-10 days [3].");
        assert_eq!(
            whole("You can:\n- return it\n- excha"),
            "You can:\n- return it"
        );
        // A decimal point or a domain is no sentence's end.
        assert_eq!(whole("It costs $6.95 at northwind.example and"), "");
        assert_eq!(whole("Ready? Yes!"), "Ready? Yes!");
        assert_eq!(whole("退款需要5天。之后"), "退款需要5天。");
    }

    #[test]
    fn a_stream_ends_its_sentences_where_white_space_follows() {
        assert_eq!(last_end("It is $12."), None, "\"$12.50\" may follow");
        assert_eq!(last_end("Done. It is $12."), Some(5));
        assert_eq!(last_end("Line one\nline"), Some(9));
        assert_eq!(last_end("Sie kommt am 1. Dezember"), None, "an ordinal");
        assert_eq!(last_end("Order NW-1046247. It ships"), Some(17));
        assert_eq!(last_end("It costs $5.95. Then"), Some(15));
        assert_eq!(last_end("Done. It is 12. Then"), Some(5));
    }
}
