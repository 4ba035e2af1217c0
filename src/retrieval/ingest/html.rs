//! Text and headings of an HTML page, from a small tag scanner (no DOM): scripts, styles and
//! comments are skipped, entities decoded.

use super::{Passage, Sections};

/// Passages of an HTML page, with its `<title>` (or first `<h1>`).
pub(super) fn html_passages(html: &str) -> (Vec<Passage>, Option<String>) {
    let mut sections = Sections::default();
    let title = scan(html, &mut sections);
    let (passages, h1) = sections.finish();
    (passages, title.or(h1))
}

/// Feeds the text and headings of `html` to `sections`; returns its `<title>`, if any.
pub(super) fn scan(html: &str, sections: &mut Sections) -> Option<String> {
    let mut title: Option<String> = None;
    let mut rest = html;
    let mut heading: Option<(usize, String)> = None;
    let mut in_title = false;
    let mut title_text = String::new();
    let mut in_pre = false;
    loop {
        let lt = next_tag(rest).unwrap_or(rest.len());
        let mut text = decode_entities(&rest[..lt]);
        if !in_pre {
            // Line breaks in HTML source are spaces; lines come from tags (rows, items, `<br>`).
            text = text.replace(['\n', '\r'], " ");
        }
        if in_title {
            title_text.push_str(&text);
        } else if let Some((_, h)) = &mut heading {
            h.push_str(&text);
        } else {
            sections.push_text(&text);
        }
        let Some(after) = rest.get(lt + 1..) else {
            break;
        };
        if let Some(comment) = after.strip_prefix("!--") {
            // Skipped whole, whatever it holds (tags too); an unclosed one runs to the end.
            rest = comment.find("-->").map_or("", |i| &comment[i + 3..]);
            continue;
        }
        let Some(gt) = tag_end(after) else {
            break;
        };
        let tag = after[..gt].trim().to_ascii_lowercase();
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        match name.as_str() {
            "script" | "style" | "noscript" | "template" if !closing => {
                let end = format!("</{name}");
                let lower = rest.to_ascii_lowercase();
                rest = lower.find(&end).map_or("", |i| &rest[i..]);
            }
            "title" => {
                in_title = !closing;
                if closing && title.is_none() {
                    title = Some(title_text.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = usize::from(name.as_bytes()[1] - b'0');
                if closing {
                    if let Some((level, h)) = heading.take() {
                        let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
                        sections.heading(level, h);
                    }
                } else {
                    heading = Some((level, String::new()));
                }
            }
            "li" if !closing => sections.push_text("\n- "),
            "br" => sections.push_text("\n"),
            "tr" => {
                sections.line_end();
                if !closing {
                    sections.push_text("| ");
                }
            }
            "pre" => {
                in_pre = !closing;
                sections.block_end();
            }
            "p" | "div" | "section" | "article" | "ul" | "ol" | "table" | "blockquote"
            | "header" | "footer" | "main" => sections.block_end(),
            "td" | "th" if closing => sections.push_text(" | "),
            _ => {}
        }
    }
    title.filter(|t| !t.is_empty())
}

/// Where the next tag or comment starts: a `<` followed by a letter, `/`, `!` or `?` (any
/// other `<`, as in `a < b`, is text).
fn next_tag(html: &str) -> Option<usize> {
    html.match_indices('<').map(|(i, _)| i).find(|&i| {
        html[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
    })
}

/// The `>` that ends a tag (given without its `<`): one inside a quoted attribute value
/// (`title="a > b"`) does not.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    let mut after_equals = false;
    for (i, c) in tag.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if after_equals && matches!(c, '"' | '\'') => quote = Some(c),
            None if c == '>' => return Some(i),
            None => {}
        }
        if !c.is_whitespace() {
            after_equals = c == '=';
        }
    }
    None
}

/// Decodes the common named entities and numeric character references.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&i| i <= 10);
        let decoded = semi.and_then(|i| {
            let name = &after[..i];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "mdash" => Some('—'),
                "ndash" => Some('–'),
                "hellip" => Some('…'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "euro" => Some('€'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, i))
        });
        match decoded {
            Some((c, i)) => {
                out.push(c);
                rest = &after[i + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use crate::{retrieval::ingest::passages, storage::Format};

    #[test]
    fn html_sections_skip_scripts_and_decode_entities() {
        let html = "<html><head><title>Shipping &amp; delivery</title><style>p{}</style></head><body><script>alert('x')</script><h2>Costs</h2><p>Free over $50 &mdash; always.</p><h2>Times</h2><ul><li>Standard: 5&ndash;7 days</li></ul></body></html>";
        let (passages, meta) = passages(Format::Html, html);
        assert_eq!(
            meta.expect("front matter").title.as_deref(),
            Some("Shipping & delivery")
        );
        assert_eq!(passages.len(), 2);
        assert_eq!(passages[0].headings, vec!["Costs".to_owned()]);
        assert_eq!(passages[0].text, "Free over $50 — always.");
        assert!(passages[1].text.contains("Standard: 5–7 days"));
        assert!(!passages.iter().any(|p| p.text.contains("alert")));
    }

    #[test]
    fn comments_are_skipped_whole_even_with_tags_inside() {
        let html = "<h2>Discounts</h2><p>Students save ten percent.</p><!-- Internal draft: <p>Staff discount code STAFFONLY50 gives fifty percent off.</p> --><p>Ask at the till.</p><!-- unclosed <p>secret</p>";
        let (passages, _) = passages(Format::Html, html);
        let text: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, ["Students save ten percent.\n\nAsk at the till."]);
    }

    #[test]
    fn quoted_attribute_values_and_stray_angle_brackets_stay_out_of_the_text() {
        let html = "<p title=\"a > b\" data-x='c > d'>Sizes run small.</p><p>Orders < $50 ship for $5.</p>";
        let (passages, _) = passages(Format::Html, html);
        assert_eq!(
            passages[0].text,
            "Sizes run small.\n\nOrders < $50 ship for $5."
        );
    }
}
