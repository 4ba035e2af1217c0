//! Turns an article (markdown with optional front matter, HTML, or plain text) into passages:
//! one per heading section, keeping the heading path for context, long sections split into
//! passages of about [`split::MAX_PASSAGE_CHARS`] (see [`split`]).

mod html;
mod split;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::storage::Format;
use html::html_passages;
use split::{normalize, split_paragraphs};

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

/// Why a markdown file's front matter cannot be read (its line numbers count from the file's
/// first line, the opening `---`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrontMatterError {
    #[error("the front matter opened by the first line's --- is never closed by a --- line")]
    Unclosed,
    #[error("front matter line {0} is not `key: value` or a list item: {1:?}")]
    Line(usize, String),
    #[error(
        "front matter line {0} has a value this reader does not take (write it on one line; close a [list]): {1:?}"
    )]
    Value(usize, String),
}

/// Splits markdown front matter from the body: the first line `---`, then `key: value` lines
/// (`title`, `url`, `locale` or `lang`, `tags` as `[a, b]`, `a, b` or a `- a` list below
/// it; other keys, indented lines under them and `#` comments are passed over), then a line
/// `---` or `...`. Without an opening `---`, all is body.
pub fn front_matter(source: &str) -> Result<(FrontMatter, &str), FrontMatterError> {
    let mut meta = FrontMatter::default();
    let trimmed = source.trim_start_matches('\u{feff}');
    let Some(rest) = trimmed
        .strip_prefix("---\n")
        .or_else(|| trimmed.strip_prefix("---\r\n"))
    else {
        return Ok((meta, source));
    };
    let fence = |line: &str| matches!(line.trim_end(), "---" | "...");
    if !rest.lines().any(fence) {
        return Err(FrontMatterError::Unclosed);
    }
    // The key whose lines below may list its values (`tags:` and nothing after it).
    let mut open_key = None;
    let mut read = 0;
    for (number, line) in rest.split_inclusive('\n').enumerate() {
        read += line.len();
        let line = line.trim_end();
        if fence(line) {
            return Ok((meta, rest[read..].trim_start_matches(['\r', '\n'])));
        }
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indented = content.len() < line.len();
        if let Some(item) = content
            .strip_prefix("- ")
            .or((content == "-").then_some(""))
        {
            match open_key {
                Some("tags") => push_tag(&mut meta.tags, item),
                Some(_) => {}
                None => return Err(FrontMatterError::Line(number + 2, line.to_owned())),
            }
            continue;
        }
        if indented && open_key.is_some() {
            continue;
        }
        let Some((key, value)) = line
            .split_once(':')
            .filter(|(key, _)| !key.trim().is_empty())
        else {
            return Err(FrontMatterError::Line(number + 2, line.to_owned()));
        };
        let key = key.trim();
        // A YAML comment starts at " #".
        let value = value.split(" #").next().unwrap_or_default().trim();
        // A YAML block (`title: >` and lines below) or an unclosed tag list would be read as
        // something else than was written (`title: "> 30 days"` is quoted: no block).
        let known = matches!(
            key,
            "title" | "url" | "locale" | "lang" | "language" | "tags"
        );
        let block = known && value.starts_with(['>', '|']);
        let unclosed = key == "tags" && value.starts_with('[') && !value.ends_with(']');
        if block || unclosed {
            return Err(FrontMatterError::Value(number + 2, line.to_owned()));
        }
        let value = unquote(value);
        open_key = Some(key);
        match key {
            "title" => meta.title = Some(value.to_owned()),
            "url" => meta.url = Some(value.to_owned()),
            "locale" | "lang" | "language" => meta.locale = Some(value.to_owned()),
            "tags" => {
                meta.tags.clear();
                let list = value.trim_start_matches('[').trim_end_matches(']');
                for tag in list.split(',') {
                    push_tag(&mut meta.tags, tag);
                }
            }
            _ => {}
        }
    }
    Err(FrontMatterError::Unclosed)
}

fn push_tag(tags: &mut Vec<String>, tag: &str) {
    let tag = unquote(tag.trim());
    if !tag.is_empty() {
        tags.push(tag.to_owned());
    }
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

    /// Ends the line unless it is empty (a table row's start and end tags end one line).
    fn line_end(&mut self) {
        self.text
            .truncate(self.text.trim_end_matches([' ', '\t']).len());
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
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

/// The elements whose text is never an article's.
const HIDDEN_TAGS: &[&str] = &["script", "style", "noscript", "template"];

/// Passages of a markdown body (front matter already removed).
pub fn markdown_passages(body: &str) -> (Vec<Passage>, Option<String>) {
    let mut sections = Sections::default();
    let mut heading: Option<(usize, String)> = None;
    // A raw HTML block's text counts as the page's would (see `html::scan`).
    let mut html_block = String::new();
    // Inside an inline `<script>`, `<style>`, `<noscript>` or `<template>` (in a paragraph's
    // text): its text is no article's, as in an HTML block.
    let mut hidden = false;
    for event in Parser::new_ext(body, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                hidden = false;
                heading = Some((heading_level(level), String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, title)) = heading.take() {
                    sections.heading(level, title.trim().to_owned());
                }
            }
            Event::InlineHtml(tag) => {
                let tag = tag.to_ascii_lowercase();
                let named = |prefix: &str| {
                    HIDDEN_TAGS.iter().any(|name| {
                        tag.strip_prefix(prefix)
                            .and_then(|rest| rest.strip_prefix(name))
                            .is_some_and(|rest| rest.starts_with(['>', ' ', '\t', '\n', '/']))
                    })
                };
                if named("</") {
                    hidden = false;
                } else if named("<") {
                    hidden = true;
                }
            }
            Event::Text(_) | Event::Code(_) if hidden => {}
            Event::Text(t) | Event::Code(t) => match &mut heading {
                Some((_, title)) => title.push_str(&t),
                None => sections.push_text(&t),
            },
            Event::SoftBreak | Event::HardBreak => match &mut heading {
                Some((_, title)) => title.push(' '),
                None => sections.push_text("\n"),
            },
            Event::Html(html) => html_block.push_str(&html),
            Event::End(TagEnd::HtmlBlock) => {
                html::scan(&std::mem::take(&mut html_block), &mut sections);
                sections.block_end();
            }
            Event::Start(Tag::Item) => sections.push_text("\n- "),
            Event::End(TagEnd::Paragraph | TagEnd::List(_) | TagEnd::CodeBlock)
            | Event::End(TagEnd::Table | TagEnd::BlockQuote(_)) => {
                // An inline tag never closed ("paste it into a <script> tag") hides no more
                // than its own paragraph.
                hidden = false;
                sections.block_end();
            }
            // A row reads as one: "| Standard | 5–7 business days | $5.95 |".
            Event::Start(Tag::TableRow | Tag::TableHead) => sections.push_text("| "),
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

/// Passages of any supported format, plus the title and metadata found in the document. A
/// markdown file whose front matter cannot be read is indexed whole, as text (what an
/// article stored before the front matter was checked keeps); its error is the metadata's.
pub fn passages(
    format: Format,
    source: &str,
) -> (Vec<Passage>, Result<FrontMatter, FrontMatterError>) {
    match format {
        Format::Markdown => {
            let (meta, body) = match front_matter(source) {
                Ok((meta, body)) => (Ok(meta), body),
                Err(error) => (Err(error), source),
            };
            let (passages, h1) = markdown_passages(body);
            let meta = meta.map(|meta| FrontMatter {
                title: meta.title.or(h1),
                ..meta
            });
            (passages, meta)
        }
        Format::Html => {
            let (passages, title) = html_passages(source);
            let meta = FrontMatter {
                title,
                ..FrontMatter::default()
            };
            (passages, Ok(meta))
        }
        Format::Text => {
            let passages = split_paragraphs(&normalize(source))
                .into_iter()
                .map(|text| Passage {
                    headings: Vec::new(),
                    text,
                })
                .collect();
            (passages, Ok(FrontMatter::default()))
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
        let meta = meta.expect("front matter");
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
    fn front_matter_reads_lists_and_comments_and_passes_over_other_keys() {
        let doc = "---\n# written by our CMS\ntitle: \"Returns: the rules\"\ntags:\n  - returns\n  - 'refunds'\nauthor:\n  name: Ana\n  team: support\nlang: pt-BR\n...\n\nBody text.";
        let (meta, body) = front_matter(doc).expect("front matter");
        assert_eq!(meta.title.as_deref(), Some("Returns: the rules"));
        assert_eq!(meta.tags, vec!["returns", "refunds"]);
        assert_eq!(meta.locale.as_deref(), Some("pt-BR"));
        assert_eq!(body, "Body text.");
        let (meta, body) = front_matter("---\ntags: a, b\n---\nText").expect("front matter");
        assert_eq!((meta.tags, body), (vec!["a".into(), "b".into()], "Text"));
        let (meta, _) = front_matter("---\ntags: [a, b] # ours\n---\nText").expect("front matter");
        assert_eq!(meta.tags, vec!["a", "b"]);
        // No front matter: all is body, and a later rule is no fence.
        let plain = "# Title\n\nText\n\n---\n\nMore";
        assert_eq!(
            front_matter(plain).expect("front matter"),
            (FrontMatter::default(), plain)
        );
    }

    #[test]
    fn front_matter_that_cannot_be_read_is_an_error_and_indexed_as_text() {
        let unclosed = "---\ntitle: Returns\n\n# Returns\n\nThirty days.";
        assert_eq!(front_matter(unclosed), Err(FrontMatterError::Unclosed));
        // A closing line must be the fence alone.
        let dashes = "---\ntitle: Returns\n----\n---\nThirty days.";
        assert_eq!(
            front_matter(dashes),
            Err(FrontMatterError::Line(3, "----".into()))
        );
        // Brackets and quotes in a title are the title's.
        for title in ["Returns [EU]", "\"[Draft] Returns\"", "\"> 30 days\""] {
            let source = format!("---\ntitle: {title}\n---\nText");
            let (meta, _) = front_matter(&source).expect("front matter");
            assert_eq!(meta.title.as_deref(), Some(title.trim_matches('"')));
        }
        // A YAML block or an unclosed list would be read as something else.
        for (source, line) in [
            ("---\ntitle: >\n  Returns\n---\nText", "title: >"),
            ("---\ntags: [a, b\n---\nText", "tags: [a, b"),
        ] {
            assert_eq!(
                front_matter(source),
                Err(FrontMatterError::Value(2, line.into()))
            );
        }
        let prose = "---\ntitle: Returns\nReturns are free.\n---\nText";
        assert_eq!(
            front_matter(prose),
            Err(FrontMatterError::Line(3, "Returns are free.".into()))
        );
        let stray_item = "---\n- returns\n---\nText";
        assert_eq!(
            front_matter(stray_item),
            Err(FrontMatterError::Line(2, "- returns".into()))
        );
        let (found, meta) = passages(Format::Markdown, unclosed);
        assert_eq!(meta, Err(FrontMatterError::Unclosed));
        assert!(found.iter().any(|p| p.text.contains("Thirty days")));
    }

    #[test]
    fn markdown_title_falls_back_to_first_h1() {
        let (_, meta) = passages(Format::Markdown, "# Gift cards\n\nThey never expire.");
        assert_eq!(
            meta.expect("front matter").title.as_deref(),
            Some("Gift cards")
        );
    }

    #[test]
    fn text_in_raw_html_blocks_is_indexed_and_their_comments_are_not() {
        let doc = "## Returns\n\n<div class=\"note\">\nThe returnzilla portal is open 24/7.\n</div>\n\n<!-- draft:\n\nstaff code STAFFONLY50 -->\n\nPrint the label.";
        let (found, _) = passages(Format::Markdown, doc);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].text,
            "The returnzilla portal is open 24/7.\n\nPrint the label."
        );

        let (found, _) = passages(Format::Markdown, "<div>\n<p>Only HTML here.</p>\n</div>");
        assert_eq!(found[0].text, "Only HTML here.");
    }

    /// A script or style inside a paragraph is no more the article's text than one in a
    /// block (a QA pass found "alert('XSS')" quoted in a reply); other inline tags keep theirs.
    #[test]
    fn inline_scripts_and_styles_are_not_indexed() {
        let doc = "Call us <script>alert('XSS')</script>any day. <STYLE type=\"x\">p{}</STYLE>Or \
                   <b>write</b>; <scripts>stay</scripts>.";
        let (found, _) = passages(Format::Markdown, doc);
        assert_eq!(found[0].text, "Call us any day. Or write; stay.");
        // One never closed hides only the rest of its paragraph.
        let doc = "Paste it into a <script> tag, then save.\n\n## Next\n\nReload the page.";
        let (found, _) = passages(Format::Markdown, doc);
        let texts: Vec<(&[String], &str)> = found
            .iter()
            .map(|p| (p.headings.as_slice(), p.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (&[][..], "Paste it into a"),
                (&["Next".to_owned()][..], "Reload the page.")
            ]
        );
    }
}
