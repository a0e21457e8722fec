//! [`PiiRedactor`]: finds personal data — e-mail addresses, phone numbers (international, Taiwan
//! mobile and landline, North American, China and Philippine mobile), payment cards (Luhn), IBANs
//! (mod 97), IP and MAC addresses, Bitcoin addresses, Taiwan national IDs and resident
//! certificates, China resident IDs and a set of checksummed national numbers — and replaces them
//! with typed placeholders (`[EMAIL]`) or stable short hashes (`[EMAIL_3F2A9C]`).
//!
//! Detection runs on a folded copy of the text (full-width ASCII to half-width, zero-width and
//! bidi control characters removed, Unicode dashes and spaces to ASCII) and maps every span back
//! to byte offsets of the original. Each candidate gets a score: a base score from its format and
//! check digit, raised when a context word (`phone`, `身分證`, `card` ...) is nearby; spans under
//! the minimum score (default 0.5) are dropped, and overlapping spans keep the best one. All
//! patterns are compiled once in [`PiiRedactor::new`] and run on the linear-time `regex` engine.

use std::borrow::Cow;
use std::collections::BTreeMap;

use async_trait::async_trait;
use regex::Regex;
use sha2::{Digest, Sha256};

use super::pii_recognizers::*;
use super::{GuardOutcome, GuardRequest, Guardrail};
use crate::error::{Error, Result};
use crate::types::{Verdict, VerdictAction};

/// Declares [`PiiKind`] with its label and context words (`|`-separated) in one table.
macro_rules! pii_kinds {
    ($($(#[doc = $doc:literal])* $name:ident = $label:literal, $ctx:literal;)*) => {
        /// The kinds of personal data [`PiiRedactor`] detects.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum PiiKind {
            $($(#[doc = $doc])* $name,)*
        }

        impl PiiKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [PiiKind] = &[$(PiiKind::$name),*];

            /// The upper-case label used in placeholders and verdicts (`EMAIL`, `PHONE`,
            /// `TW_ID` ...).
            pub fn label(self) -> &'static str {
                match self {
                    $(PiiKind::$name => $label,)*
                }
            }

            /// Words that, found near a candidate, raise its score (`|`-separated, matched
            /// case-insensitively; ASCII words must stand alone).
            fn context(self) -> &'static str {
                match self {
                    $(PiiKind::$name => $ctx,)*
                }
            }
        }
    };
}

pii_kinds! {
    /// E-mail address.
    Email = "EMAIL", "";
    /// Phone number (international `+CC`, Taiwan mobile/landline, North American, China and
    /// Philippine mobile, and digit groups next to a phone context word).
    Phone = "PHONE", "phone|tel|call|mobile|cell|fax|office|contact|sms|whatsapp|desk|messages to|answering at|電話|电话|手機|手机|聯絡|联系|撥打|拨打|致電|專線|市話|分機";
    /// Payment card number (12-19 digits, Luhn-valid).
    CreditCard = "CREDIT_CARD", "card|credit|debit|cc|visa|mastercard|amex|信用卡|卡號|卡号|金融卡|刷卡";
    /// International bank account number (country length + mod 97).
    Iban = "IBAN", "iban|account|bank|帳戶|账户|匯款|汇款";
    /// IPv4 or IPv6 address (optionally with a CIDR prefix).
    IpAddress = "IP_ADDRESS", "ip|server|host|address";
    /// MAC address (colon, dash or Cisco dotted form).
    MacAddress = "MAC_ADDRESS", "mac|hardware";
    /// Bitcoin address (Base58Check or bech32).
    CryptoWallet = "CRYPTO", "wallet|bitcoin|btc|錢包|钱包";
    /// Taiwan national ID (身分證字號).
    TwNationalId = "TW_ID", "身分證|身份證|身分证|身份证|證號|证号|id";
    /// Taiwan resident certificate number (居留證/統一證號), old and 2021 formats.
    TwResidentCertificate = "TW_RESIDENT_ID", "居留證|居留证|統一證號|证号|證號|arc|id";
    /// China resident identity number (居民身份证, 18 characters).
    CnResidentId = "CN_ID", "身份证|身分證|身份證|证件|id";
    /// US Social Security number.
    UsSsn = "US_SSN", "ssn|social security";
    /// US Individual Taxpayer Identification Number.
    UsItin = "US_ITIN", "itin|tax id|taxpayer";
    /// US National Provider Identifier (context word needed).
    UsNpi = "US_NPI", "npi|provider";
    /// US ABA bank routing number (context word needed).
    UsBankRouting = "US_ROUTING", "routing|aba|bank";
    /// Canadian Social Insurance Number (context word needed).
    CaSin = "CA_SIN", "sin|nas|social insurance|assurance sociale";
    /// UK NHS number (context word needed).
    UkNhs = "UK_NHS", "nhs|health";
    /// UK National Insurance number.
    UkNino = "UK_NINO", "nino|national insurance";
    /// Australian Business Number (context word needed).
    AuAbn = "AU_ABN", "abn|business number";
    /// India Aadhaar number (Verhoeff).
    InAadhaar = "IN_AADHAAR", "aadhaar|aadhar|uid";
    /// India PAN (permanent account number).
    InPan = "IN_PAN", "pan|permanent account";
    /// Finnish personal identity code (henkilötunnus).
    FiPersonalId = "FI_ID", "hetu|henkilötunnus|personal identity";
    /// Swedish personal identity number (personnummer).
    SePersonnummer = "SE_ID", "personnummer|pnr|personal identity";
    /// Polish PESEL.
    PlPesel = "PL_PESEL", "pesel";
    /// Turkish national ID (T.C. Kimlik No).
    TrNationalId = "TR_ID", "kimlik|tc|national id|identity";
    /// South Korean resident or foreigner registration number.
    KrRegistration = "KR_ID", "rrn|frn|registration|주민등록|외국인등록";
    /// Thai national ID (context word needed).
    ThNationalId = "TH_ID", "tnin|national id|ประชาชน";
    /// South African ID number.
    ZaId = "ZA_ID", "id number|identity";
    /// Spanish DNI/NIF.
    EsNif = "ES_NIF", "dni|nif|identificación";
    /// Spanish NIE.
    EsNie = "ES_NIE", "nie|extranjero|identificación";
    /// Singapore NRIC/FIN.
    SgNric = "SG_NRIC", "nric|fin";
}

/// One detected piece of personal data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PiiSpan {
    /// What it is.
    pub kind: PiiKind,
    /// Byte offset of the first byte in the original text.
    pub start: usize,
    /// Byte offset just past the last byte in the original text.
    pub end: usize,
    /// Confidence in 0..=1 (format + check digit, raised by context words).
    pub score: f32,
}

/// How detected values are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedactionMode {
    /// A typed placeholder: `[EMAIL]`, `[PHONE]` ...
    #[default]
    Mask,
    /// A typed placeholder with a stable short hash of the value, `[EMAIL_3F2A9C]`: the same value
    /// always gives the same tag (set a key with [`PiiRedactor::with_hash_key`] so tags cannot be
    /// reversed by hashing guessed values). Letters, digits and `_` only, so
    /// [`super::strip_placeholders`] still removes it.
    Hash,
}

/// The result of [`PiiRedactor::redaction`].
#[derive(Debug, Clone, PartialEq)]
pub struct Redaction {
    /// The text with every span replaced.
    pub text: String,
    /// The spans found, as byte offsets into the original text.
    pub spans: Vec<PiiSpan>,
}

/// Validates and scores a match (`text, start, end`) into candidate spans of the folded text.
type Classify = fn(&str, usize, usize, &mut Vec<PiiSpan>);

#[derive(Debug, Clone)]
struct Rule {
    re: Regex,
    classify: Classify,
}

/// Detects and redacts personal data in questions and answers.
#[derive(Clone)]
pub struct PiiRedactor {
    rules: Vec<Rule>,
    mode: RedactionMode,
    min_score: f32,
    disabled: Vec<PiiKind>,
    hash_key: Vec<u8>,
}

impl std::fmt::Debug for PiiRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiRedactor")
            .field("rules", &self.rules.len())
            .field("mode", &self.mode)
            .field("min_score", &self.min_score)
            .field("disabled", &self.disabled)
            .field("hash_key", &"[redacted]")
            .finish()
    }
}

const CONTEXT_BOOST: f32 = 0.35;

/// `(pattern, classifier)` pairs; the classifier validates a match and scores it.
macro_rules! rules {
    ($($re:literal => $f:expr;)*) => { [$(($re, $f as Classify)),*] };
}

impl PiiRedactor {
    /// Compiles the patterns (mask mode, minimum score 0.5, every kind enabled).
    pub fn new() -> Result<Self> {
        let table = rules! {
            r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}(?-u:\b)" => email;
            r"(?:\+?886[\s\-]?|\(?0)9\d{2}\)?[\s\-]?\d{3}[\s\-]?\d{3}(?-u:\b)" => phone_tw;
            r"(?:\+?63[\s\-]?|(?-u:\b)0)9\d{2}[\s\-]?\d{3}[\s\-]?\d{4}(?-u:\b)" => phone_ph;
            r"(?:\(0\d{1,2}\)\s?\d{3,4}[\s\-]?\d{4}|(?-u:\b)0\d{1,2}[\s\-]\d{3,4}[\s\-]?\d{4})(?-u:\b)" => phone_landline;
            r"\+\d{1,3}(?:[\s\-.]?\(?\d{1,5}\)?){1,6}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?-u:\b)" => phone_international;
            r"(?:\(\d{3}\)\s?|(?-u:\b)\d{3}[\s\-.])\d{3}[\s\-.]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?-u:\b)" => phone_nanp;
            r"(?:\(\d{2,4}\)|(?-u:\b)\d{2,4})(?:[ \-.]\d{2,8}){1,4}(?-u:\b)" => phone_generic;
            r"(?-u:\b)(?:\d{4}[ \-]\d{4}[ \-]\d{4}[ \-]\d{1,7}|\d{4}[ \-]\d{6}[ \-]\d{4,5})(?-u:\b)" => card_grouped;
            r"(?-u:\b)\d{9,19}[Xx]?(?-u:\b)" => bare_digits;
            r"(?-u:\b)(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{3}[ \-]\d{3}[ \-]\d{3,4}|\d{4}[ \-:]\d{4}[ \-:]\d{4}|\d{4}[ \-]\d{3}[ \-]\d{3}|\d{6}-\d{7}|\d{2} \d{3} \d{3} \d{3}|(?:\d{2})?\d{6}[\-+]\d{4})(?-u:\b)" => grouped_ids;
            r"(?-u:\b)[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){11,30}(?-u:\b)" => iban;
            r"(?-u:\b)(?:\d{1,3}\.){3}\d{1,3}(?-u:\b)(?:/\d{1,2}(?-u:\b))?" => ipv4;
            r"(?i)(?:[0-9a-f]{1,4})?(?::(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?){2,8}(?:/\d{1,3})?" => ipv6;
            r"(?i)(?-u:\b)(?:(?:[0-9a-f]{2}:){5}[0-9a-f]{2}|(?:[0-9a-f]{2}-){5}[0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})(?-u:\b)" => mac;
            r"(?-u:\b)(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71})(?-u:\b)" => crypto;
            r"(?i)(?-u:\b)[a-z][12a-d89]\d{8}(?-u:\b)" => tw_id;
            r"(?i)(?-u:\b)(?:\d{6}[\-+a-fu-y]\d{3}[0-9a-y]|[xyz]-?\d{7}-?[a-z]|\d{7,8}-?[a-z]|[stfg]\d{7}[a-z])(?-u:\b)" => alnum_ids;
            r"(?i)(?-u:\b)[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z] ?\d{2} ?\d{2} ?\d{2} ?[a-d](?-u:\b)" => uk_nino;
            r"(?-u:\b)[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z](?-u:\b)" => in_pan;
        };
        let mut rules = Vec::with_capacity(table.len());
        for (pattern, classify) in table {
            let re = Regex::new(pattern)
                .map_err(|e| Error::Internal(format!("PII pattern {pattern:?}: {e}")))?;
            rules.push(Rule { re, classify });
        }
        Ok(PiiRedactor {
            rules,
            mode: RedactionMode::Mask,
            min_score: 0.5,
            disabled: Vec::new(),
            hash_key: Vec::new(),
        })
    }

    /// Sets the replacement mode.
    pub fn with_mode(mut self, mode: RedactionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the minimum score a span needs to be reported (default 0.5; 0.8 keeps only strongly
    /// validated formats, 0.3 also reports bare numbers whose check digit fits but that have no
    /// context word nearby).
    pub fn with_min_score(mut self, min_score: f32) -> Self {
        self.min_score = min_score.clamp(0.0, 1.0);
        self
    }

    /// Restricts detection to the given kinds.
    pub fn with_kinds(mut self, kinds: &[PiiKind]) -> Self {
        self.disabled = PiiKind::ALL
            .iter()
            .copied()
            .filter(|k| !kinds.contains(k))
            .collect();
        self
    }

    /// Sets the secret key mixed into [`RedactionMode::Hash`] tags.
    pub fn with_hash_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.hash_key = key.as_ref().to_vec();
        self
    }

    /// Finds personal data, sorted by position, without overlaps (byte offsets of `text`).
    pub fn detect(&self, text: &str) -> Vec<PiiSpan> {
        let folded = Folded::new(text);
        let norm: &str = &folded.text;
        let mut cands = Vec::new();
        for rule in &self.rules {
            for m in rule.re.find_iter(norm) {
                (rule.classify)(norm, m.start(), m.end(), &mut cands);
            }
        }
        let mut scored: Vec<PiiSpan> = cands
            .into_iter()
            .filter(|c| !self.disabled.contains(&c.kind))
            .map(|mut c| {
                if c.score < 1.0 && has_context(norm, c.start, c.end, c.kind.context()) {
                    c.score = (c.score + CONTEXT_BOOST).min(1.0);
                }
                c
            })
            .filter(|c| c.score >= self.min_score)
            .collect();
        scored.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut kept: Vec<PiiSpan> = Vec::with_capacity(scored.len());
        for c in scored {
            match kept.last_mut() {
                Some(last) if c.start < last.end => {
                    let better = c.score > last.score
                        || (c.score == last.score && c.end - c.start > last.end - last.start);
                    if better {
                        *last = c;
                    }
                }
                _ => kept.push(c),
            }
        }
        for c in &mut kept {
            (c.start, c.end) = folded.original(c.start, c.end);
        }
        kept
    }

    /// Detects and replaces personal data (typed placeholders or hashes, per the mode).
    pub fn redaction(&self, text: &str) -> Redaction {
        let spans = self.detect(text);
        if spans.is_empty() {
            return Redaction {
                text: text.to_string(),
                spans,
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in &spans {
            out.push_str(&text[at..s.start]);
            out.push('[');
            out.push_str(s.kind.label());
            if self.mode == RedactionMode::Hash {
                out.push('_');
                out.push_str(&self.tag(s.kind, &text[s.start..s.end]));
            }
            out.push(']');
            at = s.end;
        }
        out.push_str(&text[at..]);
        Redaction { text: out, spans }
    }

    /// Returns the redacted text (every kind is redacted) and the number of e-mail addresses and
    /// phone numbers found (kept for callers of the first version of this guard).
    pub fn redact(&self, text: &str) -> (String, usize, usize) {
        let r = self.redaction(text);
        let count = |k: PiiKind| r.spans.iter().filter(|s| s.kind == k).count();
        let (emails, phones) = (count(PiiKind::Email), count(PiiKind::Phone));
        (r.text, emails, phones)
    }

    /// Six upper-case hex digits of SHA-256(key, kind, value with separators removed).
    fn tag(&self, kind: PiiKind, value: &str) -> String {
        let canonical: String = Folded::new(value)
            .text
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '@' || *c == '.' || *c == ':')
            .flat_map(char::to_uppercase)
            .collect();
        let mut h = Sha256::new();
        h.update(&self.hash_key);
        h.update(kind.label().as_bytes());
        h.update([0]);
        h.update(canonical.as_bytes());
        h.finalize()[..3]
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }
}

#[async_trait]
impl Guardrail for PiiRedactor {
    fn name(&self) -> String {
        "pii".into()
    }

    async fn check(&self, request: GuardRequest) -> Result<GuardOutcome> {
        let r = self.redaction(&request.text);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &r.spans {
            *counts.entry(s.kind.label()).or_default() += 1;
        }
        let found = !r.spans.is_empty();
        let detail = if found {
            let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            format!("redacted {}: {}", r.spans.len(), parts.join(", "))
        } else {
            "no personal data found".into()
        };
        Ok(GuardOutcome {
            verdict: Verdict {
                name: self.name(),
                stage: request.stage.as_str().into(),
                action: if found {
                    VerdictAction::Redact
                } else {
                    VerdictAction::Pass
                },
                detail,
            },
            rewritten: found.then_some(r.text),
        })
    }
}

/// The text folded for matching, with a map back to original byte offsets.
pub(super) struct Folded<'a> {
    /// The folded text.
    pub(super) text: Cow<'a, str>,
    /// For each folded byte: (start, end) byte offsets of the original character.
    map: Option<Vec<(usize, usize)>>,
}

/// What folding does to one character (between `prev` and `next`): `None` keeps it,
/// `Some(None)` drops it, `Some(Some(c))` replaces it.
fn fold_char(c: char, prev: Option<char>, next: Option<char>) -> Option<Option<char>> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => Some(char::from_u32(c as u32 - 0xFEE0)),
        '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => {
            Some(Some(' '))
        }
        '\u{200B}'..='\u{200F}'
        | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{180E}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some(None),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => Some(Some('-')),
        _ => super::injection::fold_confusable(c, prev, next).map(Some),
    }
}

impl<'a> Folded<'a> {
    /// Folds `text` (borrowed when nothing changes).
    pub(super) fn new(text: &'a str) -> Self {
        let fold_at = |i: usize, c: char| {
            let prev = text[..i].chars().next_back();
            fold_char(c, prev, text[i + c.len_utf8()..].chars().next())
        };
        if text.is_ascii() || !text.char_indices().any(|(i, c)| fold_at(i, c).is_some()) {
            return Folded {
                text: Cow::Borrowed(text),
                map: None,
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut map = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            let folded = match fold_at(i, c) {
                None => Some(c),
                Some(r) => r,
            };
            if let Some(f) = folded {
                out.push(f);
                map.extend(std::iter::repeat_n((i, i + c.len_utf8()), f.len_utf8()));
            }
        }
        Folded {
            text: Cow::Owned(out),
            map: Some(map),
        }
    }

    /// Original byte range of the folded range `start..end` (non-empty).
    pub(super) fn original(&self, start: usize, end: usize) -> (usize, usize) {
        match &self.map {
            None => (start, end),
            Some(map) => {
                let s = map.get(start).map_or(0, |p| p.0);
                let e = map.get(end.saturating_sub(1)).map_or(s, |p| p.1);
                (s, e.max(s))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_taiwan_and_international_numbers_and_emails() -> Result<()> {
        let r = PiiRedactor::new()?;
        let (t, e, p) = r.redact("請寄到 amy.chen@example.com.tw 或打 0912-345-678，市話 (02) 2345-6789，US +1 415 555 0100");
        assert_eq!((e, p), (1, 3), "{t}");
        assert!(
            !t.contains("0912")
                && !t.contains("amy.chen")
                && !t.contains("2345-6789")
                && !t.contains("555")
        );
        let (t, e, p) = r.redact("手機０９１２３４５６７８，信箱amy@example.com");
        assert_eq!((e, p), (1, 1), "{t}");
        let (t, e, p) = r.redact("訂單編號 20241105 共 3 件，價格 1200 元");
        assert_eq!((e, p), (0, 0), "{t}");
        Ok(())
    }
}
