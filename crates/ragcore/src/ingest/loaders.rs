//! Loaders turn files into [`Document`]s: `.txt`, `.md`, `.html` and `.pdf` (features `html`, `pdf`;
//! see `html.rs`, `pdf.rs`), and FAQ files as `.csv` / `.jsonl`
//! (question and answer columns). Every failure names the file and, where it applies, the row
//! and field; one bad file or row never stops the others.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::types::Document;

/// Largest file a loader accepts (bytes).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What loading a set of paths produced: the documents, and one error per file or row that failed.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Documents that loaded.
    pub documents: Vec<Document>,
    /// Per-file or per-row failures.
    pub errors: Vec<Error>,
}

/// Loads files and directories (recursively; hidden entries are skipped). A file given directly
/// gets its file name as document id; a file found under a directory gets its path relative to
/// that directory.
pub fn load_paths(paths: &[PathBuf]) -> Loaded {
    let mut out = Loaded::default();
    for p in paths {
        if p.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk(p, &mut files) {
                out.errors.push(e);
            }
            files.sort();
            for f in files {
                let id = f
                    .strip_prefix(p)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .replace('\\', "/");
                load_file_into(&f, &id, &mut out);
            }
        } else if !p.exists() {
            out.errors
                .push(Error::load(p, None, "no such file or directory"));
        } else {
            let id = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| p.to_string_lossy().to_string());
            load_file_into(p, &id, &mut out);
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::load(dir, None, format!("cannot list directory: {e}")))?;
    for entry in rd {
        let entry =
            entry.map_err(|e| Error::load(dir, None, format!("cannot list directory: {e}")))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn load_file_into(path: &Path, id: &str, out: &mut Loaded) {
    match load_file(path, id) {
        Ok((docs, errs)) => {
            out.documents.extend(docs);
            out.errors.extend(errs);
        }
        Err(e) => out.errors.push(e),
    }
}

/// Loads one file. Returns the documents and the per-row errors (FAQ files), or an error for the
/// whole file.
pub fn load_file(path: &Path, id: &str) -> Result<(Vec<Document>, Vec<Error>)> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !supported(&ext) {
        return Err(Error::load(
            path,
            None,
            format!(
                "unsupported file type {:?}; supported: {}",
                if ext.is_empty() {
                    "(none)".to_string()
                } else {
                    format!(".{ext}")
                },
                supported_list()
            ),
        ));
    }
    #[cfg(feature = "pdf")]
    if ext == "pdf" {
        let bytes = read_bytes(path)?;
        return Ok((crate::ingest::pdf::load_pdf(path, id, &bytes)?, Vec::new()));
    }
    let text = read_text(path)?;
    #[cfg(feature = "html")]
    if ext == "html" || ext == "htm" {
        return Ok((
            vec![crate::ingest::html::load_html(path, id, &text)?],
            Vec::new(),
        ));
    }
    match ext.as_str() {
        "csv" => crate::ingest::faq::load_csv(path, id, &text),
        "jsonl" => crate::ingest::faq::load_jsonl(path, id, &text),
        _ => {
            let (front, text) = split_front_matter(&text);
            let front = front
                .map(|f| parse_front_matter(path, f))
                .transpose()?
                .unwrap_or_default();
            let text = text.to_string();
            let title = front
                .get("title")
                .cloned()
                .filter(|t| !t.is_empty())
                .or_else(|| {
                    text.lines()
                        .map(str::trim)
                        .find(|l| l.starts_with('#'))
                        .map(|l| l.trim_start_matches('#').trim().to_string())
                        .filter(|t| !t.is_empty())
                        .or_else(|| path.file_stem().map(|s| s.to_string_lossy().to_string()))
                })
                .unwrap_or_else(|| id.to_string());
            if text.trim().is_empty() {
                return Err(Error::load(path, None, "file has front matter but no text"));
            }
            let mut d = Document::new(id, text);
            d.title = title;
            d.source = path.to_string_lossy().to_string();
            d.metadata = front;
            Ok((vec![d], Vec::new()))
        }
    }
}

/// The extensions this build loads, for messages.
fn supported_list() -> String {
    let mut s = String::from(".txt .md .csv .jsonl");
    if cfg!(feature = "html") {
        s.push_str(" .html .htm");
    }
    if cfg!(feature = "pdf") {
        s.push_str(" .pdf");
    }
    s
}

fn supported(ext: &str) -> bool {
    matches!(ext, "txt" | "md" | "markdown" | "csv" | "jsonl")
        || (cfg!(feature = "html") && matches!(ext, "html" | "htm"))
        || (cfg!(feature = "pdf") && ext == "pdf")
}

/// Reads a whole file as bytes, within [`MAX_FILE_BYTES`].
#[cfg(feature = "pdf")]
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::load(path, None, format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::load(
            path,
            None,
            format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES}",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| Error::load(path, None, format!("cannot read: {e}")))
}

/// Splits a leading `---` ... `---` front-matter block from the text.
fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    match rest.find("\n---") {
        Some(end) => {
            let body = &rest[end + 4..];
            let body = body.split_once('\n').map(|(_, b)| b).unwrap_or("");
            (Some(&rest[..end]), body)
        }
        None => (None, text),
    }
}

/// Parses `key: value` lines of front matter. `valid_until` must be a YYYY-MM-DD date.
fn parse_front_matter(
    path: &Path,
    block: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for (i, line) in block.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(Error::load(
                path,
                Some(format!("front matter line {}", i + 2)),
                "expected `key: value`",
            ));
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        out.insert(k.trim().to_string(), v);
    }
    check_valid_until(
        path,
        out.get("valid_until").map(String::as_str),
        "front matter",
    )?;
    Ok(out)
}

/// A `valid_until` value must be a date.
pub(crate) fn check_valid_until(path: &Path, value: Option<&str>, location: &str) -> Result<()> {
    match value {
        Some(v) if !crate::types::is_iso_date(v) => Err(Error::load(
            path,
            Some(format!("{location}, field \"valid_until\"")),
            format!("{v:?} is not a YYYY-MM-DD date"),
        )),
        _ => Ok(()),
    }
}

/// Reads a file as UTF-8 text, rejecting empty, binary, oversized and non-UTF-8 files with a
/// message that says where the problem is. A UTF-8 byte-order mark is dropped.
pub fn read_text(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::load(path, None, format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::load(
            path,
            None,
            format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES}",
                meta.len()
            ),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| Error::load(path, None, format!("cannot read: {e}")))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::load(path, None, "file is empty"));
    }
    if let Some(pos) = bytes.iter().take(8192).position(|&b| b == 0) {
        return Err(Error::load(
            path,
            Some(format!("byte {pos}")),
            "binary file (contains NUL bytes); expected text",
        ));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            // Legacy Traditional Chinese files are often Big5: accept them when they decode
            // cleanly and contain Chinese text.
            let (text, _, had_errors) = encoding_rs::BIG5.decode(bytes);
            if !had_errors && text.chars().any(crate::text::is_cjk) {
                tracing::debug!(target: "ragcore::ingest", path = %path.display(), "decoded as Big5");
                return Ok(text.into_owned());
            }
            let pos = e.valid_up_to();
            let line = bytes[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(Error::load(
                path,
                Some(format!("line {line}, byte {pos}")),
                "neither valid UTF-8 nor Big5; convert the file to UTF-8",
            ))
        }
    }
}
