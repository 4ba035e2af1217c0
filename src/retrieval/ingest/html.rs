//! Text and headings of an HTML page, from a small tag scanner (no DOM): scripts, styles and
//! comments are skipped, entities decoded.

use super::{Passage, Sections};

/// Passages of an HTML page, with its `<title>` (or first `<h1>`).
pub(super) fn html_passages(html: &str) -> (Vec<Passage>, Option<String>) {
    let mut sections = Sections::default();
    let mut title: Option<String> = None;
    let mut rest = html;
    let mut heading: Option<(usize, String)> = None;
    let mut in_title = false;
    let mut title_text = String::new();
    let mut in_pre = false;
    while let Some(lt) = rest.find('<') {
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
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            rest = "";
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
            "!--" | "!" => {}
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
            "tr" => sections.line_end(),
            "pre" => {
                in_pre = !closing;
                sections.block_end();
            }
            "p" | "div" | "section" | "article" | "ul" | "ol" | "table" | "blockquote"
            | "header" | "footer" | "main" => sections.block_end(),
            "td" | "th" if closing => sections.push_text(" | "),
            _ => {}
        }
        if name.starts_with("!--") {
            rest = rest.find("-->").map_or(rest, |i| &rest[i + 3..]);
        }
    }
    sections.push_text(&decode_entities(rest));
    let (passages, h1) = sections.finish();
    (passages, title.filter(|t| !t.is_empty()).or(h1))
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
        assert_eq!(meta.title.as_deref(), Some("Shipping & delivery"));
        assert_eq!(passages.len(), 2);
        assert_eq!(passages[0].headings, vec!["Costs".to_owned()]);
        assert_eq!(passages[0].text, "Free over $50 — always.");
        assert!(passages[1].text.contains("Standard: 5–7 days"));
        assert!(!passages.iter().any(|p| p.text.contains("alert")));
    }
}
