//! Splitting a section's text into passages of at most [`MAX_PASSAGE_CHARS`]: at paragraphs,
//! then sentences, list items or table rows, then lines and words.

/// Longest passage, in characters: a longer section is split (see [`split_paragraphs`]).
pub(super) const MAX_PASSAGE_CHARS: usize = 1_200;

/// Collapses runs of spaces and blank lines, trims lines.
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(&line);
    }
    out
}

/// Splits text into pieces of at most [`MAX_PASSAGE_CHARS`]: whole paragraphs while they fit,
/// a longer paragraph cut as [`split_long`] says.
pub(super) fn split_paragraphs(text: &str) -> Vec<String> {
    pack(
        text.split("\n\n").flat_map(split_long),
        "\n\n",
        MAX_PASSAGE_CHARS,
    )
}

/// Where an over-long text may be cut, coarsest first.
#[derive(Clone, Copy)]
enum Cut {
    /// After `.`, `!` or `?` and the whitespace that follows (not inside `4.50`).
    Sentence,
    /// After a line: a list item, a table row, a line break.
    Line,
    /// After a space.
    Word,
}

/// A paragraph over the limit in pieces: a list's at its items and a table's at its rows
/// (each piece repeating the header row, so it reads on its own), prose at sentence ends; a
/// sentence or item still too long at lines, then words.
fn split_long(paragraph: &str) -> Vec<String> {
    if chars(paragraph) <= MAX_PASSAGE_CHARS {
        return vec![paragraph.to_owned()];
    }
    if let Some((header, rows)) = table(paragraph) {
        let limit = MAX_PASSAGE_CHARS - chars(header) - 1;
        let mut slices = Vec::new();
        cut(
            rows,
            &[Cut::Line, Cut::Sentence, Cut::Word],
            limit,
            &mut slices,
        );
        return pack(slices, "", limit)
            .into_iter()
            .map(|rows| format!("{header}\n{rows}"))
            .collect();
    }
    let cuts = if is_list(paragraph) {
        [Cut::Line, Cut::Sentence, Cut::Word]
    } else {
        [Cut::Sentence, Cut::Line, Cut::Word]
    };
    let mut slices = Vec::new();
    cut(paragraph, &cuts, MAX_PASSAGE_CHARS, &mut slices);
    pack(slices, "", MAX_PASSAGE_CHARS)
}

/// A table's header row and its other rows, when every line of `paragraph` is a row (cells
/// end with `|`, as the markdown and HTML readers write them) and the header leaves room for
/// rows in a passage.
fn table(paragraph: &str) -> Option<(&str, &str)> {
    let (header, rows) = paragraph.split_once('\n')?;
    let rows_only = paragraph.lines().all(|line| line.contains('|'));
    (rows_only && chars(header) <= MAX_PASSAGE_CHARS / 2).then_some((header, rows))
}

/// Whether most lines of `paragraph` are list items (`- `, `* `, `+ `, `• `, `1. `, `1) `).
fn is_list(paragraph: &str) -> bool {
    let is_item = |line: &str| {
        let rest = line.trim_start_matches(|c: char| c.is_ascii_digit());
        let marker = if rest.len() < line.len() {
            rest.strip_prefix(['.', ')'])
        } else {
            rest.strip_prefix(['-', '*', '+', '•'])
        };
        marker.is_some_and(|m| m.starts_with(' '))
    };
    let lines = paragraph.lines().count();
    paragraph.lines().filter(|line| is_item(line)).count() * 2 > lines
}

/// `text` as consecutive slices of at most `limit` characters: cut at the first of `cuts`,
/// a slice still too long at the next, and at characters when none is left.
fn cut<'a>(text: &'a str, cuts: &[Cut], limit: usize, out: &mut Vec<&'a str>) {
    if chars(text) <= limit {
        out.push(text);
        return;
    }
    let Some((first, finer)) = cuts.split_first() else {
        let mut rest = text;
        while !rest.is_empty() {
            let end = rest
                .char_indices()
                .nth(limit)
                .map_or(rest.len(), |(i, _)| i);
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
        return;
    };
    let units: Vec<&str> = match first {
        Cut::Sentence => sentences(text),
        Cut::Line => text.split_inclusive('\n').collect(),
        Cut::Word => text.split_inclusive(' ').collect(),
    };
    for unit in units {
        cut(unit, finer, limit, out);
    }
}

/// `text` cut after each sentence end (`.`, `!`, `?` followed by whitespace), the whitespace
/// kept with the sentence it follows.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at_end = false;
    let mut after_end = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            after_end |= at_end;
            at_end = false;
            continue;
        }
        if after_end {
            out.push(&text[start..i]);
            start = i;
        }
        after_end = false;
        at_end = matches!(c, '.' | '!' | '?');
    }
    out.push(&text[start..]);
    out
}

/// Consecutive texts joined with `sep` into pieces of at most `limit` characters, trimmed.
fn pack<S: AsRef<str>>(texts: impl IntoIterator<Item = S>, sep: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0;
    for text in texts {
        let text = text.as_ref();
        let text_chars = chars(text);
        if !current.is_empty() && current_chars + chars(sep) + text_chars > limit {
            pieces.push(std::mem::take(&mut current).trim().to_owned());
            current_chars = 0;
        }
        if !current.is_empty() {
            current.push_str(sep);
            current_chars += chars(sep);
        }
        current.push_str(text);
        current_chars += text_chars;
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim().to_owned());
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{retrieval::ingest::passages, storage::Format};

    #[test]
    fn long_sections_split_at_paragraphs_under_the_limit() {
        let para = "word ".repeat(150);
        let text = [para.trim(); 5].join("\n\n");
        let (passages, _) = passages(Format::Text, &text);
        assert!(passages.len() >= 3, "{}", passages.len());
        assert!(
            passages
                .iter()
                .all(|p| p.text.chars().count() <= MAX_PASSAGE_CHARS)
        );
    }

    fn store_list(count: usize) -> String {
        (1..=count)
            .map(|i| format!("- Store {i} in Quuxville{i} opens at 7 am\n"))
            .collect()
    }

    #[test]
    fn a_long_list_splits_at_its_items() {
        let (passages, _) = passages(
            Format::Markdown,
            &format!("## Stores\n\n{}", store_list(800)),
        );
        assert!(passages.len() >= 20, "{} passages", passages.len());
        for passage in &passages {
            assert!(passage.text.chars().count() <= MAX_PASSAGE_CHARS);
            assert!(
                passage
                    .text
                    .lines()
                    .all(|l| l.starts_with("- Store ") && l.ends_with(" am")),
                "{}",
                passage.text
            );
            assert_eq!(passage.headings, ["Stores"]);
        }
        let found: Vec<_> = passages
            .iter()
            .filter(|p| p.text.contains("Quuxville555 "))
            .collect();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn a_long_table_splits_at_its_rows_and_each_passage_keeps_the_header() {
        let rows: String = (1..=3000)
            .map(|i| format!("| Store {i} | Quuxville{i} | 7 am |\n"))
            .collect();
        let doc = format!("| Store | Town | Opens |\n|---|---|---|\n{rows}");
        let (passages, _) = passages(Format::Markdown, &doc);
        assert!(passages.len() >= 50, "{} passages", passages.len());
        for passage in &passages {
            assert!(passage.text.chars().count() <= MAX_PASSAGE_CHARS);
            let mut lines = passage.text.lines();
            assert_eq!(lines.next(), Some("| Store | Town | Opens |"));
            assert!(lines.all(|l| l.starts_with("| Store ") && l.ends_with("| 7 am |")));
        }
    }

    #[test]
    fn an_html_table_splits_the_same_way() {
        let rows: String = (1..=500)
            .map(|i| format!("<tr>\n<td>Store {i}</td>\n<td>Quuxville{i}</td>\n</tr>\n"))
            .collect();
        let html = format!("<table><tr><th>Store</th><th>Town</th></tr>{rows}</table>");
        let (passages, _) = passages(Format::Html, &html);
        assert!(passages.len() >= 10, "{} passages", passages.len());
        assert!(
            passages
                .iter()
                .all(|p| p.text.starts_with("| Store | Town |\n| Store "))
        );
        assert!(
            passages
                .iter()
                .any(|p| p.text.contains("\n| Store 321 | Quuxville321 |\n"))
        );
    }

    #[test]
    fn long_prose_splits_at_sentence_ends_not_inside_numbers() {
        let text = "Gift wrap costs $4.50 per item and ships the same day. ".repeat(60);
        let (passages, _) = passages(Format::Text, &text);
        assert!(passages.len() >= 2);
        for passage in &passages {
            assert!(passage.text.chars().count() <= MAX_PASSAGE_CHARS);
            assert!(
                passage.text.starts_with("Gift wrap costs $4.50"),
                "{}",
                passage.text
            );
            assert!(passage.text.ends_with("same day."), "{}", passage.text);
        }
    }

    #[test]
    fn text_without_any_break_is_still_cut_to_the_limit() {
        let (passages, _) = passages(Format::Text, &"x".repeat(3 * MAX_PASSAGE_CHARS + 5));
        assert_eq!(passages.len(), 4);
        assert!(
            passages
                .iter()
                .all(|p| p.text.chars().count() <= MAX_PASSAGE_CHARS)
        );
    }
}
