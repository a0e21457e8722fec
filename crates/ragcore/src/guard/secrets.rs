//! [`SecretScanner`]: finds credentials pasted into questions, documents or answers — OpenAI-style
//! `sk-` keys, AWS access key ids and secret keys, GitHub and Slack tokens, JWTs, PEM private
//! keys, and high-entropy values assigned to `key` / `secret` / `token` / `password` names — and
//! either redacts them with `[SECRET]` or blocks the request.

use async_trait::async_trait;
use regex::Regex;

use super::pii::Folded;
use super::{GuardOutcome, GuardRequest, Guardrail};
use crate::error::{Error, Result};
use crate::types::{Verdict, VerdictAction};

/// The kinds of secrets [`SecretScanner`] detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// An OpenAI-style API key (`sk-...`, `sk-proj-...`; other `sk-` vendors match too).
    OpenAiKey,
    /// An AWS access key id (`AKIA...`, `ASIA...`).
    AwsAccessKeyId,
    /// An AWS secret access key in an assignment (`aws_secret_access_key = ...`).
    AwsSecretKey,
    /// A GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GitHubToken,
    /// A Slack token (`xoxb-`, `xoxp-` ...) or incoming-webhook URL.
    SlackToken,
    /// A JSON Web Token whose header decodes to JSON with an `alg`.
    Jwt,
    /// A PEM private-key block (complete or truncated).
    PrivateKey,
    /// A high-entropy value assigned to a key/secret/token/password name, or a bearer token.
    Assignment,
}

impl SecretKind {
    /// The upper-case label used in verdicts.
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::OpenAiKey => "OPENAI_KEY",
            SecretKind::AwsAccessKeyId => "AWS_ACCESS_KEY_ID",
            SecretKind::AwsSecretKey => "AWS_SECRET_KEY",
            SecretKind::GitHubToken => "GITHUB_TOKEN",
            SecretKind::SlackToken => "SLACK_TOKEN",
            SecretKind::Jwt => "JWT",
            SecretKind::PrivateKey => "PRIVATE_KEY",
            SecretKind::Assignment => "ASSIGNED_SECRET",
        }
    }
}

/// One detected secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretSpan {
    /// What it is.
    pub kind: SecretKind,
    /// Byte offset of the first byte in the original text.
    pub start: usize,
    /// Byte offset just past the last byte in the original text.
    pub end: usize,
}

/// What the scanner does as a guard when it finds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretAction {
    /// Replace each secret with `[SECRET]` and let the request go on.
    #[default]
    Redact,
    /// Refuse the request.
    Block,
}

/// How a rule's matches are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The match is the secret.
    None,
    /// Letters and digits must both occur.
    Mixed,
    /// The header must decode to JSON with `alg`.
    Jwt,
    /// Capture group 1 is the value; its entropy must reach the threshold.
    Entropy,
    /// Like `Entropy`, with the lower threshold for human-chosen passwords.
    Password,
}

#[derive(Debug, Clone)]
struct Rule {
    re: Regex,
    kind: SecretKind,
    check: Check,
}

/// Finds credentials and redacts (`[SECRET]`) or blocks, per [`SecretAction`].
#[derive(Debug, Clone)]
pub struct SecretScanner {
    rules: Vec<Rule>,
    action: SecretAction,
    min_entropy: f64,
}

/// Shannon entropy of `s` in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 128];
    let mut other = std::collections::HashMap::new();
    let mut n = 0u32;
    for c in s.chars() {
        n += 1;
        match counts.get_mut(c as usize) {
            Some(slot) => *slot += 1,
            None => *other.entry(c).or_insert(0u32) += 1,
        }
    }
    if n == 0 {
        return 0.0;
    }
    let total = f64::from(n);
    counts
        .iter()
        .chain(other.values())
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = f64::from(k) / total;
            -p * p.log2()
        })
        .sum()
}

/// Decodes unpadded base64url (as used by JWTs); `None` on a bad character.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn jwt_header_ok(token: &str) -> bool {
    let Some(header) = token.split('.').next().and_then(base64url_decode) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&header)
        .is_ok_and(|v| v.get("alg").is_some_and(serde_json::Value::is_string))
}

fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let first = value.chars().next();
    value.starts_with(['<', '$', '{', '%', '[', '('])
        || value.chars().all(|c| Some(c) == first)
        || "example|your|xxxx|****|placeholder|redacted|dummy"
            .split('|')
            .any(|p| lower.contains(p))
}

impl SecretScanner {
    /// Compiles the patterns (redact mode, entropy threshold 3.0 bits per character).
    pub fn new() -> Result<Self> {
        use Check as C;
        use SecretKind as K;
        let key_names = r"(?:api[_\-]?key|apikey|secret(?:[_\-]?key)?|client[_\-]?secret|token|auth[_\-]?token|access[_\-]?token|refresh[_\-]?token|access[_\-]?key|private[_\-]?key|credentials?|auth)";
        let table: Vec<(String, K, C)> = vec![
            (r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----".into(), K::PrivateKey, C::None),
            (r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s]*".into(), K::PrivateKey, C::None),
            (r"(?-u:\b)sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,200}".into(), K::OpenAiKey, C::Mixed),
            (r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?-u:\b)".into(), K::AwsAccessKeyId, C::None),
            (r#"(?i)aws[_\-.]?(?:secret[_\-.]?(?:access[_\-.]?)?key|sk)["']?\s*(?:[:=]|=>)\s*["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#.into(), K::AwsSecretKey, C::Entropy),
            (r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?-u:\b)".into(), K::GitHubToken, C::None),
            (r"(?-u:\b)(?:xox[baprs]-[A-Za-z0-9\-]{10,250}|xapp-\d-[A-Za-z0-9\-]{10,250})|https://hooks\.slack\.com/services/[A-Za-z0-9/_]{20,}".into(), K::SlackToken, C::Mixed),
            (r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*".into(), K::Jwt, C::Jwt),
            (format!(r#"(?i)(?-u:\b)[a-z0-9_.\-]{{0,40}}{key_names}["']?\s*(?:[:=]|=>|:=)\s*["']?([!-~&&[^"'`,;]]{{8,200}})"#), K::Assignment, C::Entropy),
            (r#"(?i)(?-u:\b)(?:[a-z0-9_.\-]{0,40}(?:password|passwd|passwort|pwd)|(?:[a-z0-9]+[_.\-])?pass)["']?\s*(?:[:=]|=>|:=)\s*["']?([!-~&&[^"'`,;]]{6,200})"#.into(), K::Assignment, C::Password),
            (r"(?:密碼|密码|口令|密鑰|密钥|金鑰|金钥|令牌|權杖|权杖)\s*(?:[:：=]|是|為|为)\s*([!-~&&[^,;]]{6,200})".into(), K::Assignment, C::Password),
            (r"(?i)(?-u:\b)authorization\s*:\s*(?:bearer|basic|token)\s+([A-Za-z0-9._~+/\-=]{12,})".into(), K::Assignment, C::Entropy),
        ];
        let mut rules = Vec::with_capacity(table.len());
        for (pattern, kind, check) in table {
            let re = Regex::new(&pattern)
                .map_err(|e| Error::Internal(format!("secret pattern {}: {e}", kind.label())))?;
            rules.push(Rule { re, kind, check });
        }
        Ok(SecretScanner {
            rules,
            action: SecretAction::Redact,
            min_entropy: 3.0,
        })
    }

    /// Sets what the guard does when it finds a secret.
    pub fn with_action(mut self, action: SecretAction) -> Self {
        self.action = action;
        self
    }

    /// Sets the Shannon entropy (bits per character) an assigned value needs to count as a
    /// secret (default 3.0; password assignments use two thirds of it).
    pub fn with_min_entropy(mut self, bits: f64) -> Self {
        self.min_entropy = bits.max(0.0);
        self
    }

    /// Finds secrets, sorted by position, without overlaps (byte offsets of `text`).
    pub fn scan(&self, text: &str) -> Vec<SecretSpan> {
        let folded = Folded::new(text);
        let norm: &str = &folded.text;
        // (start, end, kind, priority)
        let mut found: Vec<(usize, usize, SecretKind, u8)> = Vec::new();
        for rule in &self.rules {
            if rule.check == Check::Entropy || rule.check == Check::Password {
                for caps in rule.re.captures_iter(norm) {
                    let Some(v) = caps.get(1) else { continue };
                    let value = v.as_str();
                    let need = if rule.check == Check::Password {
                        self.min_entropy * 2.0 / 3.0
                    } else {
                        self.min_entropy
                    };
                    if !placeholder(value) && shannon_entropy(value) >= need {
                        let prio = if rule.kind == SecretKind::Assignment {
                            1
                        } else {
                            2
                        };
                        found.push((v.start(), v.end(), rule.kind, prio));
                    }
                }
                continue;
            }
            for m in rule.re.find_iter(norm) {
                let v = m.as_str();
                let ok = match rule.check {
                    Check::Mixed => {
                        v.bytes().any(|b| b.is_ascii_digit())
                            && v.bytes().any(|b| b.is_ascii_alphabetic())
                    }
                    Check::Jwt => jwt_header_ok(v),
                    _ => true,
                };
                if ok {
                    found.push((m.start(), m.end(), rule.kind, 2));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut kept: Vec<(usize, usize, SecretKind, u8)> = Vec::with_capacity(found.len());
        for f in found {
            match kept.last_mut() {
                Some(last) if f.0 < last.1 => {
                    if f.3 > last.3 || (f.3 == last.3 && f.1 - f.0 > last.1 - last.0) {
                        *last = f;
                    } else if f.3 == last.3 && f.1 > last.1 {
                        last.1 = f.1;
                    }
                }
                _ => kept.push(f),
            }
        }
        kept.into_iter()
            .map(|(s, e, kind, _)| {
                let (start, end) = folded.original(s, e);
                SecretSpan { kind, start, end }
            })
            .collect()
    }

    /// Replaces every secret with `[SECRET]`; returns the new text and the spans found.
    pub fn redact(&self, text: &str) -> (String, Vec<SecretSpan>) {
        let spans = self.scan(text);
        if spans.is_empty() {
            return (text.to_string(), spans);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in &spans {
            out.push_str(&text[at..s.start]);
            out.push_str("[SECRET]");
            at = s.end;
        }
        out.push_str(&text[at..]);
        (out, spans)
    }
}

#[async_trait]
impl Guardrail for SecretScanner {
    fn name(&self) -> String {
        "secrets".into()
    }

    async fn check(&self, request: GuardRequest) -> Result<GuardOutcome> {
        let (text, spans) = self.redact(&request.text);
        let mut labels: Vec<&str> = spans.iter().map(|s| s.kind.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        let (action, detail, rewritten) = match (spans.is_empty(), self.action) {
            (true, _) => (VerdictAction::Pass, "no secrets found".to_string(), None),
            (false, SecretAction::Redact) => (
                VerdictAction::Redact,
                format!("redacted {} secret(s): {}", spans.len(), labels.join(", ")),
                Some(text),
            ),
            (false, SecretAction::Block) => (
                VerdictAction::Block,
                format!("blocked: {} secret(s): {}", spans.len(), labels.join(", ")),
                None,
            ),
        };
        Ok(GuardOutcome {
            verdict: Verdict {
                name: self.name(),
                stage: request.stage.as_str().into(),
                action,
                detail,
            },
            rewritten,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &SecretScanner, t: &str) -> Vec<SecretKind> {
        s.scan(t).iter().map(|x| x.kind).collect()
    }

    #[test]
    fn finds_vendor_tokens() -> Result<()> {
        let s = SecretScanner::new()?;
        let key = ["sk-proj-", "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"].concat();
        assert_eq!(
            kinds(&s, &format!("key: {key} ok")),
            vec![SecretKind::OpenAiKey]
        );
        assert_eq!(
            kinds(&s, "id AKIAIOSFODNN7EXAMPLE"),
            vec![SecretKind::AwsAccessKeyId]
        );
        let gh = ["ghp_", "1234567890abcdefghijABCDEFGHIJ123456"].concat();
        assert_eq!(kinds(&s, &gh), vec![SecretKind::GitHubToken]);
        assert_eq!(kinds(&s, "a task-force of sk-learn users"), vec![]);
        Ok(())
    }

    #[test]
    fn assignments_need_entropy() -> Result<()> {
        let s = SecretScanner::new()?;
        assert_eq!(
            kinds(&s, "API_KEY = \"f3Kq9ZpL2mX8vR4tY7wB\""),
            vec![SecretKind::Assignment]
        );
        assert_eq!(kinds(&s, "max_tokens = 100000000"), vec![]);
        assert_eq!(kinds(&s, "compass: north-east-1"), vec![]);
        assert_eq!(kinds(&s, "PASS=Xk9#mQ2!"), vec![SecretKind::Assignment]);
        assert_eq!(kinds(&s, "api_key = <your-api-key>"), vec![]);
        let (t, _) = s.redact("db_password: S3cr3t!pw");
        assert_eq!(t, "db_password: [SECRET]");
        assert!(shannon_entropy("aaaa") < 0.01 && shannon_entropy("abcd") > 1.99);
        Ok(())
    }
}
