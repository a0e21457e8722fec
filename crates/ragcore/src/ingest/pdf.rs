//! The PDF loader: the text of each page (lopdf) becomes one document `file.pdf#p<N>` titled
//! `<title> (p. N)`, with `page = N` in its metadata, so every chunk and citation carries its page.
//!
//! A file without the `%PDF-` header, a truncated or corrupt file, and a PDF without extractable
//! text (a scan) are per-file errors. lopdf runs under `catch_unwind`: a panic in the parser on
//! hostile input is an error for that file, not a crash.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::error::{Error, Result};
use crate::types::Document;

/// Most pages read from one PDF.
pub const MAX_PAGES: usize = 5_000;

fn info_title(doc: &lopdf::Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let dict = match info {
        lopdf::Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        lopdf::Object::Dictionary(d) => d,
        _ => return None,
    };
    let t = lopdf::decode_text_string(dict.get(b"Title").ok()?).ok()?;
    let t = t.trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// Loads a PDF file as one document per page with text.
pub(crate) fn load_pdf(path: &Path, id: &str, bytes: &[u8]) -> Result<Vec<Document>> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(Error::load(
            path,
            None,
            "not a PDF file (no %PDF- header); check the file or its extension",
        ));
    }
    // A complete PDF ends with `%%EOF` (maybe followed by whitespace); the parser's xref
    // recovery would otherwise read a truncated file as a shorter document and lose pages.
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(Error::load(
            path,
            None,
            "cannot parse the PDF (truncated or corrupt?): no %%EOF marker at its end",
        ));
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| lopdf::Document::load_mem(bytes)));
    let doc = match parsed {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            return Err(Error::load(
                path,
                None,
                format!("cannot parse the PDF (truncated or corrupt?): {e}"),
            ))
        }
        Err(_) => {
            return Err(Error::load(
                path,
                None,
                "the PDF parser failed on this file (truncated or corrupt?)",
            ))
        }
    };
    if doc.is_encrypted() {
        return Err(Error::load(
            path,
            None,
            "the PDF is encrypted; save an unencrypted copy",
        ));
    }
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    if pages.is_empty() {
        return Err(Error::load(path, None, "the PDF has no pages"));
    }
    if pages.len() > MAX_PAGES {
        return Err(Error::load(
            path,
            None,
            format!(
                "the PDF has {} pages; the limit is {MAX_PAGES}",
                pages.len()
            ),
        ));
    }
    let title = info_title(&doc)
        .or_else(|| path.file_stem().map(|s| s.to_string_lossy().to_string()))
        .unwrap_or_else(|| id.to_string());
    let mut out = Vec::new();
    let mut failed = 0usize;
    for n in pages {
        let text = match catch_unwind(AssertUnwindSafe(|| doc.extract_text(&[n]))) {
            Ok(Ok(t)) => t,
            _ => {
                failed += 1;
                continue;
            }
        };
        let text = text
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n");
        if text.trim().is_empty() {
            continue;
        }
        let mut d = Document::new(format!("{id}#p{n}"), text.trim().to_string());
        d.title = format!("{title} (p. {n})");
        d.source = path.to_string_lossy().to_string();
        d.metadata.insert("page".into(), n.to_string());
        out.push(d);
    }
    if out.is_empty() {
        return Err(Error::load(
            path,
            None,
            if failed > 0 {
                format!("no page of the PDF could be read ({failed} failed); it may be corrupt")
            } else {
                "the PDF has no extractable text (a scanned image?); run OCR first".to_string()
            },
        ));
    }
    Ok(out)
}
