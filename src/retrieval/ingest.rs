//! Turns an article (markdown with optional front matter, HTML, or plain text) into passages:
//! one per heading section, keeping the heading path for context, long sections split at
//! paragraph boundaries.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::storage::Format;

/// Longest passage, in characters, before a section is split at paragraph boundaries.
const MAX_PASSAGE_CHARS: usize = 1_200;

/// A searchable piece of an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Headings above this passage, outermost first (the article title is not repeated).
    pub headings: Vec<String>,
    pub text: String,
}

/// Metadata found in a document itself (front matter, `<title>`, first heading).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub url: Option<String>,
    pub locale: Option<String>,
    pub tags: Vec<String>,
}

/// Splits markdown front matter (`---` fenced `key: value` lines) from the body.
pub fn front_matter(source: &str) -> (FrontMatter, &str) {
    let mut meta = FrontMatter::default();
    let trimmed = source.trim_start_matches('\u{feff}');
    let Some(rest) = trimmed
        .strip_prefix("---\n")
        .or_else(|| trimmed.strip_prefix("---\r\n"))
    else {
        return (meta, source);
    };
    let Some(end) = rest.find("\n---") else {
        return (meta, source);
    };
    let body = rest[end + 4..].trim_start_matches(['\r', '\n', '-']);
    for line in rest[..end].lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "title" => meta.title = Some(value.to_owned()),
            "url" => meta.url = Some(value.to_owned()),
            "locale" | "lang" | "language" => meta.locale = Some(value.to_owned()),
            "tags" => {
                meta.tags = value
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|t| unquote(t.trim()).to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
            }
            _ => {}
        }
    }
    (meta, body)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
}

/// Collects sections while a document is walked.
#[derive(Default)]
struct Sections {
    stack: Vec<(usize, String)>,
    text: String,
    passages: Vec<Passage>,
    first_h1: Option<String>,
}

impl Sections {
    fn heading(&mut self, level: usize, title: String) {
        self.flush();
        if level == 1 && self.first_h1.is_none() && self.stack.is_empty() {
            self.first_h1 = Some(title);
            return;
        }
        self.stack.retain(|(l, _)| *l < level);
        self.stack.push((level, title));
    }

    fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn block_end(&mut self) {
        if !self.text.ends_with("\n\n") && !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
    }

    fn flush(&mut self) {
        let text = std::mem::take(&mut self.text);
        let headings: Vec<String> = self.stack.iter().map(|(_, h)| h.clone()).collect();
        for piece in split_paragraphs(&normalize(&text)) {
            self.passages.push(Passage {
                headings: headings.clone(),
                text: piece,
            });
        }
    }

    fn finish(mut self) -> (Vec<Passage>, Option<String>) {
        self.flush();
        (self.passages, self.first_h1)
    }
}

/// Collapses runs of spaces and blank lines, trims lines.
fn normalize(text: &str) -> String {
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
fn split_paragraphs(text: &str) -> Vec<String> {
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

/// Passages of a markdown body (front matter already removed).
pub fn markdown_passages(body: &str) -> (Vec<Passage>, Option<String>) {
    let mut sections = Sections::default();
    let mut heading: Option<(usize, String)> = None;
    for event in Parser::new(body) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((heading_level(level), String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, title)) = heading.take() {
                    sections.heading(level, title.trim().to_owned());
                }
            }
            Event::Text(t) | Event::Code(t) => match &mut heading {
                Some((_, title)) => title.push_str(&t),
                None => sections.push_text(&t),
            },
            Event::SoftBreak | Event::HardBreak => match &mut heading {
                Some((_, title)) => title.push(' '),
                None => sections.push_text("\n"),
            },
            Event::Start(Tag::Item) => sections.push_text("\n- "),
            Event::End(TagEnd::Paragraph | TagEnd::List(_) | TagEnd::CodeBlock)
            | Event::End(TagEnd::Table | TagEnd::BlockQuote(_)) => sections.block_end(),
            Event::End(TagEnd::TableCell) => sections.push_text(" | "),
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => sections.push_text("\n"),
            _ => {}
        }
    }
    sections.finish()
}

fn heading_level(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Passages of an HTML page, with its `<title>` (or first `<h1>`).
pub fn html_passages(html: &str) -> (Vec<Passage>, Option<String>) {
    let mut sections = Sections::default();
    let mut title: Option<String> = None;
    let mut rest = html;
    let mut heading: Option<(usize, String)> = None;
    let mut in_title = false;
    let mut title_text = String::new();
    while let Some(lt) = rest.find('<') {
        let text = decode_entities(&rest[..lt]);
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
            "p" | "div" | "section" | "article" | "ul" | "ol" | "table" | "tr" | "blockquote"
            | "pre" | "header" | "footer" | "main" => sections.block_end(),
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

/// Passages of any supported format, plus the title and metadata found in the document.
pub fn passages(format: Format, source: &str) -> (Vec<Passage>, FrontMatter) {
    match format {
        Format::Markdown => {
            let (mut meta, body) = front_matter(source);
            let (passages, h1) = markdown_passages(body);
            meta.title = meta.title.or(h1);
            (passages, meta)
        }
        Format::Html => {
            let (passages, title) = html_passages(source);
            let meta = FrontMatter {
                title,
                ..FrontMatter::default()
            };
            (passages, meta)
        }
        Format::Text => {
            let passages = split_paragraphs(&normalize(source))
                .into_iter()
                .map(|text| Passage {
                    headings: Vec::new(),
                    text,
                })
                .collect();
            (passages, FrontMatter::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_front_matter_and_heading_paths() {
        let doc = "---\ntitle: Returns\nurl: https://x.example/returns\ntags: [returns, \"refunds\"]\nlocale: en\n---\n\n# Returns\n\nIntro text.\n\n## Policy\n\nThirty days.\n\n### Exceptions\n\nFinal sale items.\n\n## How to return\n\n1. Open orders\n2. Print the label\n";
        let (passages, meta) = passages(Format::Markdown, doc);
        assert_eq!(meta.title.as_deref(), Some("Returns"));
        assert_eq!(meta.url.as_deref(), Some("https://x.example/returns"));
        assert_eq!(meta.tags, vec!["returns", "refunds"]);
        assert_eq!(meta.locale.as_deref(), Some("en"));
        let paths: Vec<Vec<String>> = passages.iter().map(|p| p.headings.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec![],
                vec!["Policy".to_owned()],
                vec!["Policy".to_owned(), "Exceptions".to_owned()],
                vec!["How to return".to_owned()],
            ]
        );
        assert_eq!(passages[2].text, "Final sale items.");
        assert!(passages[3].text.contains("Print the label"));
    }

    #[test]
    fn markdown_title_falls_back_to_first_h1() {
        let (_, meta) = passages(Format::Markdown, "# Gift cards\n\nThey never expire.");
        assert_eq!(meta.title.as_deref(), Some("Gift cards"));
    }

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
