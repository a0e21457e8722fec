//! FAQ files: `.csv` with a header row and `.jsonl` with one object per line. Each row with a
//! question and an answer becomes one [`Document`] of kind FAQ.

use std::path::Path;

use crate::error::{Error, Result};
use crate::types::Document;

const QUESTION_KEYS: &[&str] = &["question", "q", "問題", "问题", "title"];
const ANSWER_KEYS: &[&str] = &["answer", "a", "答案", "回答", "text"];
const ID_KEYS: &[&str] = &["id"];
const ACL_KEYS: &[&str] = &["acl", "principals"];
const VALID_KEYS: &[&str] = &["valid_until"];

fn find(headers: &[String], keys: &[&str]) -> Option<usize> {
    keys.iter().find_map(|k| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(k))
    })
}

fn make(file_id: &str, path: &Path, row_id: &str, q: &str, a: &str, acl: Option<&str>) -> Document {
    let mut d = Document::faq(format!("{file_id}#{row_id}"), q, a);
    d.source = path.to_string_lossy().to_string();
    if let Some(acl) = acl {
        d.acl = acl
            .split([';', ',', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
    }
    d
}

/// Loads a CSV FAQ. Header names: `question`/`q`/`問題` and `answer`/`a`/`答案`; optional `id`
/// and `acl` (principals separated by `;`).
pub fn load_csv(path: &Path, file_id: &str, text: &str) -> Result<(Vec<Document>, Vec<Error>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::load(path, Some("header row".into()), e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let (qi, ai) = match (find(&headers, QUESTION_KEYS), find(&headers, ANSWER_KEYS)) {
        (Some(q), Some(a)) => (q, a),
        _ => {
            return Err(Error::load(
                path,
                Some("header row".into()),
                format!(
                "needs a question and an answer column (e.g. `question,answer`); found {headers:?}"
            ),
            ))
        }
    };
    let idi = find(&headers, ID_KEYS);
    let acli = find(&headers, ACL_KEYS);
    let validi = find(&headers, VALID_KEYS);
    let mut docs = Vec::new();
    let mut errs = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let row = n + 2; // 1-based, after the header
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errs.push(Error::load(path, Some(format!("row {row}")), e.to_string()));
                continue;
            }
        };
        if rec.len() != headers.len() {
            errs.push(Error::load(
                path,
                Some(format!("row {row}")),
                format!(
                    "has {} fields but the header has {}; quote values that contain commas",
                    rec.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        let get = |i: usize| rec.get(i).map(str::trim).unwrap_or("");
        let (q, a) = (get(qi), get(ai));
        if q.is_empty() || a.is_empty() {
            let field = if q.is_empty() {
                &headers[qi]
            } else {
                &headers[ai]
            };
            errs.push(Error::load(
                path,
                Some(format!("row {row}, field {field:?}")),
                "empty value",
            ));
            continue;
        }
        let rid = idi
            .map(get)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .unwrap_or_else(|| row.to_string());
        let valid = validi.map(get).filter(|v| !v.is_empty());
        if let Err(e) =
            crate::ingest::loaders::check_valid_until(path, valid, &format!("row {row}"))
        {
            errs.push(e);
            continue;
        }
        let mut d = make(file_id, path, &rid, q, a, acli.map(get));
        if let Some(v) = valid {
            d.metadata.insert("valid_until".into(), v.to_string());
        }
        docs.push(d);
    }
    if docs.is_empty() && errs.is_empty() {
        return Err(Error::load(path, None, "no rows after the header"));
    }
    Ok((docs, errs))
}

/// Loads a JSONL FAQ: one JSON object per line with `question` and `answer` strings (optional
/// `id`, and `acl` as a list or a `;`-separated string). Blank lines are skipped.
pub fn load_jsonl(path: &Path, file_id: &str, text: &str) -> Result<(Vec<Document>, Vec<Error>)> {
    let mut docs = Vec::new();
    let mut errs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                errs.push(Error::load(
                    path,
                    Some(format!("line {lineno}")),
                    format!("not valid JSON: {e}"),
                ));
                continue;
            }
        };
        let Some(obj) = v.as_object() else {
            errs.push(Error::load(
                path,
                Some(format!("line {lineno}")),
                "expected a JSON object",
            ));
            continue;
        };
        let field = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k));
        let as_text = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => Some(s.trim().to_string()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let q = as_text(field(QUESTION_KEYS)).filter(|s| !s.is_empty());
        let a = as_text(field(ANSWER_KEYS)).filter(|s| !s.is_empty());
        let (Some(q), Some(a)) = (q, a) else {
            let missing = if as_text(field(QUESTION_KEYS))
                .filter(|s| !s.is_empty())
                .is_none()
            {
                "question"
            } else {
                "answer"
            };
            errs.push(Error::load(
                path,
                Some(format!("line {lineno}, field {missing:?}")),
                "missing or empty string",
            ));
            continue;
        };
        let rid = as_text(field(ID_KEYS))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| lineno.to_string());
        let acl = match field(ACL_KEYS) {
            Some(serde_json::Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            other => as_text(other),
        };
        let valid = as_text(field(VALID_KEYS)).filter(|v| !v.is_empty());
        if let Err(e) = crate::ingest::loaders::check_valid_until(
            path,
            valid.as_deref(),
            &format!("line {lineno}"),
        ) {
            errs.push(e);
            continue;
        }
        let mut d = make(file_id, path, &rid, &q, &a, acl.as_deref());
        if let Some(v) = valid {
            d.metadata.insert("valid_until".into(), v);
        }
        docs.push(d);
    }
    if docs.is_empty() && errs.is_empty() {
        return Err(Error::load(path, None, "no JSON lines"));
    }
    Ok((docs, errs))
}
