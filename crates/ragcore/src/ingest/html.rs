//! The HTML loader: main text with headings kept as Markdown headings (so the chunker carries
//! them as heading context), tables as `cell | cell` rows, and scripts, styles, navigation,
//! headers and footers dropped. Parsing is html5ever (via `scraper`); the tree is walked without
//! recursion.
//!
//! Work is bounded before parsing: an HTML bomb (a huge file, too many tags, or nesting deeper
//! than [`MAX_DEPTH`]) is a per-file error, never a hang or a stack overflow. The depth is
//! measured by a linear pre-scan because html5ever's tree builder rescans its stack of open
//! elements for some tags, which is quadratic in the nesting depth.

use std::path::Path;

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use crate::error::{Error, Result};
use crate::types::Document;

/// Largest HTML file accepted (bytes).
pub const MAX_HTML_BYTES: usize = 16 * 1024 * 1024;
/// Most tags accepted in one file.
pub const MAX_TAGS: usize = 400_000;
/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 512;

/// Elements whose whole subtree is dropped.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "header", "footer", "iframe", "svg", "form",
    "button", "select", "head",
];
/// Elements that end a line of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "aside",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "br",
    "hr",
    "table",
    "tr",
    "figure",
    "figcaption",
    "address",
];
/// Void elements and elements whose end tag may be omitted: they do not add nesting depth in the
/// pre-scan.
const NO_DEPTH: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot",
    "colgroup", "rb", "rt", "rp", "optgroup", "caption", "!doctype",
];

/// Checks the size, tag count and nesting depth of raw HTML in one linear pass.
fn check_bounds(path: &Path, html: &str) -> Result<()> {
    if html.len() > MAX_HTML_BYTES {
        return Err(Error::load(
            path,
            None,
            format!(
                "HTML file is {} bytes; the limit is {MAX_HTML_BYTES}",
                html.len()
            ),
        ));
    }
    let bytes = html.as_bytes();
    let (mut depth, mut max_depth, mut tags) = (0usize, 0usize, 0usize);
    let mut i = 0;
    let mut raw_until: Option<&'static str> = None;
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        i += off + 1;
        if let Some(end) = raw_until {
            // Inside <script>/<style>: only the matching end tag counts.
            if html[i..].len() >= end.len() && html[i..i + end.len()].eq_ignore_ascii_case(end) {
                raw_until = None;
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let name_len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'!' || **b == b'-')
            .count();
        if name_len == 0 {
            continue;
        }
        let name = html[start..start + name_len].to_ascii_lowercase();
        if name.starts_with("!--") {
            continue;
        }
        tags += 1;
        if tags > MAX_TAGS {
            return Err(Error::load(
                path,
                None,
                format!("HTML has more than {MAX_TAGS} tags; split the page"),
            ));
        }
        if NO_DEPTH.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        let self_closing = bytes[start..]
            .iter()
            .position(|&b| b == b'>')
            .is_some_and(|gt| gt > 0 && bytes[start + gt - 1] == b'/');
        if self_closing {
            continue;
        }
        depth += 1;
        max_depth = max_depth.max(depth);
        if max_depth > MAX_DEPTH {
            return Err(Error::load(
                path,
                Some(format!("byte {i}")),
                format!("HTML is nested more than {MAX_DEPTH} elements deep; refusing to parse it"),
            ));
        }
        if name == "script" {
            raw_until = Some("/script");
        } else if name == "style" {
            raw_until = Some("/style");
        }
    }
    Ok(())
}

/// Text extracted from an HTML page.
struct Extracted {
    title: String,
    text: String,
}

#[derive(Default)]
struct Writer {
    out: String,
    line: String,
}

impl Writer {
    fn push_text(&mut self, t: &str, pre: bool) {
        if pre {
            self.line.push_str(t);
            return;
        }
        for (i, part) in t.split_whitespace().enumerate() {
            let needs_space = (i > 0 || t.starts_with(char::is_whitespace))
                && !self.line.is_empty()
                && !self.line.ends_with(' ');
            if needs_space {
                self.line.push(' ');
            }
            self.line.push_str(part);
        }
        if t.ends_with(char::is_whitespace) && !self.line.is_empty() && !self.line.ends_with(' ') {
            self.line.push(' ');
        }
    }

    fn end_line(&mut self) {
        let l = self.line.trim();
        if !l.is_empty() {
            self.out.push_str(l);
            self.out.push('\n');
        }
        self.line.clear();
    }

    fn heading(&mut self, level: usize, text: &str) {
        self.end_line();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            self.out.push('\n');
            self.out.push_str(&"#".repeat(level));
            self.out.push(' ');
            self.out.push_str(&text);
            self.out.push_str("\n\n");
        }
    }
}

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

fn extract(doc: &Html) -> Extracted {
    let mut title = String::new();
    for edge in doc.tree.root().traverse() {
        if let Edge::Open(n) = edge {
            if n.value().as_element().is_some_and(|e| e.name() == "title") {
                title = n
                    .children()
                    .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                break;
            }
        }
    }
    // The main content when the page marks it, else the whole body.
    let main = doc.tree.root().traverse().find_map(|e| match e {
        Edge::Open(n)
            if n.value()
                .as_element()
                .is_some_and(|e| e.name() == "main" || e.attr("role") == Some("main")) =>
        {
            Some(n)
        }
        _ => None,
    });
    let root = main.unwrap_or_else(|| doc.tree.root());

    let mut w = Writer::default();
    let mut skip_depth = 0usize;
    let mut pre_depth = 0usize;
    let mut heading: Option<(usize, String)> = None;
    let mut first_cell = true;
    let mut first_h1 = String::new();
    for edge in root.traverse() {
        match edge {
            Edge::Open(n) => match n.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if skip_depth > 0 || DROPPED.contains(&name) {
                        skip_depth += 1;
                        continue;
                    }
                    if let Some(level) = heading_level(name) {
                        w.end_line();
                        heading = Some((level, String::new()));
                    } else if name == "tr" {
                        w.end_line();
                        first_cell = true;
                    } else if name == "td" || name == "th" {
                        if !first_cell {
                            w.line.push_str(" | ");
                        }
                        first_cell = false;
                    } else if BLOCKS.contains(&name) {
                        w.end_line();
                    }
                    if name == "pre" {
                        pre_depth += 1;
                    }
                }
                Node::Text(t) if skip_depth == 0 => match &mut heading {
                    Some((_, h)) => h.push_str(t),
                    None => w.push_text(t, pre_depth > 0),
                },
                _ => {}
            },
            Edge::Close(n) => {
                if let Node::Element(e) = n.value() {
                    let name = e.name();
                    if skip_depth > 0 {
                        skip_depth -= 1;
                        continue;
                    }
                    if heading_level(name).is_some() {
                        if let Some((level, text)) = heading.take() {
                            if level == 1 && first_h1.is_empty() {
                                first_h1 = text.split_whitespace().collect::<Vec<_>>().join(" ");
                            }
                            w.heading(level, &text);
                        }
                    } else if BLOCKS.contains(&name) || name == "tr" {
                        w.end_line();
                    }
                    if name == "pre" {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                }
            }
        }
    }
    w.end_line();
    if title.is_empty() {
        title = first_h1;
    }
    Extracted {
        title,
        text: w.out.trim().to_string(),
    }
}

/// Loads an HTML file as one document.
pub(crate) fn load_html(path: &Path, id: &str, html: &str) -> Result<Document> {
    check_bounds(path, html)?;
    let html = html.to_string();
    // html5ever is mature, but a third-party panic must stay a per-file error.
    let extracted = std::panic::catch_unwind(move || extract(&Html::parse_document(&html)))
        .map_err(|_| Error::load(path, None, "the HTML parser failed on this file"))?;
    if extracted.text.is_empty() {
        return Err(Error::load(
            path,
            None,
            "the HTML page has no text outside scripts, styles and navigation",
        ));
    }
    let mut d = Document::new(id, extracted.text);
    d.title = if extracted.title.is_empty() {
        path.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| id.to_string())
    } else {
        extracted.title
    };
    d.source = path.to_string_lossy().to_string();
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(html: &str) -> Result<Document> {
        load_html(Path::new("t.html"), "t.html", html)
    }

    #[test]
    fn keeps_main_text_headings_and_tables_and_drops_chrome() -> Result<()> {
        let d = load(
            "<html><head><title>退貨政策</title><style>p{color:red}</style></head><body>\
             <header>網站選單</header><nav><a>首頁</a></nav>\
             <h1>退貨</h1><p>收到商品後 <b>七天</b> 內可以申請退貨。</p>\
             <script>var secret = 'tracking';</script>\
             <h2>運費</h2><table><tr><th>地區</th><th>運費</th></tr><tr><td>本島</td><td>80 元</td></tr></table>\
             <footer>版權所有</footer></body></html>",
        )?;
        assert_eq!(d.title, "退貨政策");
        assert!(d.text.contains("# 退貨\n"), "{}", d.text);
        assert!(d.text.contains("## 運費\n"), "{}", d.text);
        assert!(
            d.text.contains("收到商品後 七天 內可以申請退貨。"),
            "{}",
            d.text
        );
        assert!(d.text.contains("地區 | 運費\n本島 | 80 元"), "{}", d.text);
        for dropped in ["網站選單", "首頁", "tracking", "color", "版權所有"] {
            assert!(!d.text.contains(dropped), "{dropped} leaked: {}", d.text);
        }
        Ok(())
    }

    #[test]
    fn bombs_are_per_file_errors() {
        let deep = "<div>".repeat(100_000) + "x";
        let e = load(&deep).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("nested more than"), "{e}");
        let wide = "<span>a</span>".repeat(MAX_TAGS);
        let e = load(&wide).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("more than"), "{e}");
        let empty = load("<html><script>only()</script></html>");
        assert!(empty.is_err());
    }

    #[test]
    fn unclosed_paragraphs_do_not_count_as_nesting() -> Result<()> {
        let d = load(&"<p>段落".repeat(5_000))?;
        assert!(d.text.lines().count() >= 5_000);
        Ok(())
    }
}
