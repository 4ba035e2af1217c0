//! Splitting a section's text into passages of about [`MAX_PASSAGE_CHARS`].

/// Longest passage, in characters, before a section is split at paragraph boundaries.
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

/// Splits text into pieces of at most [`MAX_PASSAGE_CHARS`], at paragraph (then sentence)
/// boundaries.
pub(super) fn split_paragraphs(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for paragraph in text.split("\n\n").flat_map(split_long) {
        if !current.is_empty()
            && current.chars().count() + paragraph.chars().count() > MAX_PASSAGE_CHARS
        {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(&paragraph);
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
}

/// A single over-long paragraph split at sentence ends.
fn split_long(paragraph: &str) -> Vec<String> {
    if paragraph.chars().count() <= MAX_PASSAGE_CHARS {
        return vec![paragraph.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for sentence in paragraph.split_inclusive(['.', '!', '?']) {
        if current.chars().count() + sentence.chars().count() > MAX_PASSAGE_CHARS
            && !current.is_empty()
        {
            out.push(std::mem::take(&mut current).trim().to_owned());
        }
        current.push_str(sentence);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
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
}
