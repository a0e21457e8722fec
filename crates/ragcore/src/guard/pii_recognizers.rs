//! The recognizers behind [`super::pii::PiiRedactor`]: each takes a candidate match (text, byte
//! range) and pushes typed, scored spans after checking formats, check digits and context words.

use super::checksums as ck;
use super::pii::{PiiKind, PiiSpan};
use std::net::Ipv6Addr;

/// True when one of `words` (`|`-separated) occurs in a window around `start..end` of `text`.
pub(super) fn has_context(text: &str, start: usize, end: usize, words: &str) -> bool {
    if words.is_empty() {
        return false;
    }
    let mut lo = start.saturating_sub(48);
    while !text.is_char_boundary(lo) {
        lo -= 1;
    }
    let mut hi = (end + 24).min(text.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    let window = text[lo..hi].to_lowercase();
    words.split('|').any(|w| {
        window.match_indices(w).any(|(i, _)| {
            if !w.is_ascii() {
                return true;
            }
            let before = window[..i].chars().next_back();
            let after = window[i + w.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        })
    })
}

pub(super) fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

pub(super) fn prev_char(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

pub(super) fn next_char(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

pub(super) fn push(out: &mut Vec<PiiSpan>, kind: PiiKind, start: usize, end: usize, score: f32) {
    out.push(PiiSpan {
        kind,
        start,
        end,
        score,
    });
}

pub(super) fn email(_: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    push(out, PiiKind::Email, s, e, 0.95);
}

/// Phone candidates must not continue a longer number or word on the left.
pub(super) fn phone_at(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>, score: f32) {
    if !prev_char(t, s).is_some_and(|c| c.is_ascii_alphanumeric() || c == '+' || c == '.') {
        push(out, PiiKind::Phone, s, e, score);
    }
}

pub(super) fn phone_tw(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    phone_at(t, s, e, out, 0.9);
}

pub(super) fn phone_ph(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    phone_at(t, s, e, out, 0.6);
}

pub(super) fn phone_landline(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    phone_at(t, s, e, out, 0.7);
}

pub(super) fn phone_international(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let core = t[s..e].split(['x', 'e']).next().unwrap_or("");
    if (8..=15).contains(&digit_count(core)) {
        phone_at(t, s, e, out, 0.8);
    }
}

pub(super) fn phone_nanp(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    if t[s..e].bytes().find(u8::is_ascii_digit).unwrap_or(b'0') >= b'2' {
        phone_at(t, s, e, out, 0.6);
    }
}

/// A plausible day-month-year (or year-month-day) in the first three groups.
pub(super) fn date_like(groups: &[&str]) -> bool {
    let n: Vec<u32> = groups
        .iter()
        .take(3)
        .filter_map(|g| g.parse().ok())
        .collect();
    if n.len() < 3 || groups.iter().take(3).any(|g| g.len() > 4) {
        return false;
    }
    let (a, b, c) = (n[0], n[1], n[2]);
    let md = |m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d);
    (groups[0].len() == 4 && md(b, c))
        || (groups[2].len() >= 2 && groups[0].len() <= 2 && (md(b, a) || md(a, b)))
}

/// Digit groups: four or more groups (`0494 92 82 32`, `01.84.17.61.18`) are phone-shaped on
/// their own; two or three groups (`358 0594`) need a phone word nearby.
pub(super) fn phone_generic(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let v = &t[s..e];
    let groups: Vec<&str> = v
        .split([' ', '-', '.'])
        .map(|g| g.trim_matches(['(', ')']))
        .collect();
    let n = digit_count(v);
    if (7..=12).contains(&n) && !date_like(&groups) {
        let score = if groups.len() >= 4 && n >= 8 {
            0.55
        } else {
            0.3
        };
        phone_at(t, s, e, out, score);
    }
}

pub(super) fn card_score(digits: &str) -> f32 {
    let b = digits.as_bytes();
    let known = match b.first() {
        Some(b'4' | b'2' | b'6') => true,
        Some(b'5') => matches!(b.get(1), Some(b'1'..=b'5')) || b.len() == 16,
        Some(b'3') => matches!(b.get(1), Some(b'0' | b'4'..=b'8')),
        _ => false,
    };
    match (b.len(), known) {
        (15 | 16, true) => 0.85,
        (16, false) | (19, true) => 0.6,
        _ => 0.45,
    }
}

pub(super) fn card_grouped(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    if ck::credit_card(&t[s..e]) {
        let d: String = t[s..e].chars().filter(char::is_ascii_digit).collect();
        push(out, PiiKind::CreditCard, s, e, card_score(&d) + 0.05);
    }
}

type Check = fn(&str) -> bool;

pub(super) fn kr_checked(s: &str) -> bool {
    ck::kr_registration(s) == Some(true)
}

pub(super) fn kr_unchecked(s: &str) -> bool {
    ck::kr_registration(s) == Some(false)
}

pub(super) fn cn_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// Bare digit runs by length: (length, check, kind, base score). Weak checks (one check digit
/// over 9-13 digits) score under 0.5 so they need a context word.
const BARE: &[(usize, Check, PiiKind, f32)] = &[
    (9, ck::us_itin, PiiKind::UsItin, 0.3),
    (9, ck::us_ssn, PiiKind::UsSsn, 0.3),
    (9, ck::aba_routing, PiiKind::UsBankRouting, 0.25),
    (9, ck::ca_sin, PiiKind::CaSin, 0.3),
    (10, ck::uk_nhs, PiiKind::UkNhs, 0.3),
    (10, ck::us_npi, PiiKind::UsNpi, 0.3),
    (10, ck::se_personnummer, PiiKind::SePersonnummer, 0.35),
    (11, cn_mobile, PiiKind::Phone, 0.6),
    (11, ck::tr_national_id, PiiKind::TrNationalId, 0.65),
    (11, ck::pl_pesel, PiiKind::PlPesel, 0.55),
    (11, ck::au_abn, PiiKind::AuAbn, 0.3),
    (12, ck::aadhaar, PiiKind::InAadhaar, 0.45),
    (12, ck::se_personnummer, PiiKind::SePersonnummer, 0.55),
    (13, kr_checked, PiiKind::KrRegistration, 0.55),
    (13, kr_unchecked, PiiKind::KrRegistration, 0.4),
    (13, ck::za_id, PiiKind::ZaId, 0.5),
    (13, ck::th_tnin, PiiKind::ThNationalId, 0.45),
    (18, ck::cn_resident_id, PiiKind::CnResidentId, 0.95),
];

/// Bare digit runs: cards, China IDs, and the national numbers written without separators.
pub(super) fn bare_digits(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let v = &t[s..e];
    if v.ends_with(['X', 'x']) {
        if ck::cn_resident_id(v) {
            push(out, PiiKind::CnResidentId, s, e, 0.95);
        }
        return;
    }
    if (12..=19).contains(&v.len()) && ck::credit_card(v) {
        push(out, PiiKind::CreditCard, s, e, card_score(v));
    }
    for &(len, check, kind, score) in BARE {
        if len == v.len() && check(v) {
            push(out, kind, s, e, score);
        }
    }
}

/// National numbers in their usual groups: (group lengths, check, kind, base score).
const GROUPED: &[(&[usize], Check, PiiKind, f32)] = &[
    (&[3, 2, 4], ck::us_itin, PiiKind::UsItin, 0.65),
    (&[3, 2, 4], ck::us_ssn, PiiKind::UsSsn, 0.65),
    (&[3, 3, 3], ck::ca_sin, PiiKind::CaSin, 0.45),
    (&[3, 3, 4], ck::uk_nhs, PiiKind::UkNhs, 0.45),
    (&[3, 3, 4], ck::us_npi, PiiKind::UsNpi, 0.45),
    (&[4, 3, 3], ck::us_npi, PiiKind::UsNpi, 0.45),
    (&[4, 4, 4], ck::aadhaar, PiiKind::InAadhaar, 0.7),
    (&[6, 7], kr_checked, PiiKind::KrRegistration, 0.8),
    (&[6, 7], kr_unchecked, PiiKind::KrRegistration, 0.6),
    (&[2, 3, 3, 3], ck::au_abn, PiiKind::AuAbn, 0.6),
    (&[6, 4], ck::se_personnummer, PiiKind::SePersonnummer, 0.6),
    (&[8, 4], ck::se_personnummer, PiiKind::SePersonnummer, 0.6),
];

pub(super) fn grouped_ids(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let v = &t[s..e];
    let shape: Vec<usize> = v.split([' ', '-', ':', '+']).map(str::len).collect();
    for &(want, check, kind, score) in GROUPED {
        if want == shape.as_slice() && check(v) {
            push(out, kind, s, e, score);
        }
    }
}

/// An IBAN candidate is cut to its country's length; it must then end at a word boundary.
pub(super) fn iban(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let v = &t[s..e];
    let Some(len) = v.get(..2).and_then(ck::iban_length) else {
        return;
    };
    let cut = v
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
        .nth(len - 1)
        .map(|(i, _)| i + 1);
    let Some(cut) = cut else { return };
    if !next_char(t, s + cut).is_some_and(|c| c.is_ascii_alphanumeric()) && ck::iban(&v[..cut]) {
        push(out, PiiKind::Iban, s, s + cut, 0.95);
    }
}

/// Splits an optional `/prefix`; the prefix is kept only when it is at most `max`.
pub(super) fn split_prefix(v: &str, max: u32) -> (&str, bool) {
    match v.split_once('/') {
        Some((a, p)) => (a, p.parse::<u32>().is_ok_and(|p| p <= max)),
        None => (v, false),
    }
}

pub(super) fn ipv4(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let (addr, keep_prefix) = split_prefix(&t[s..e], 32);
    let ok = addr
        .split('.')
        .all(|o| o.parse::<u32>().is_ok_and(|n| n <= 255));
    let before_ok = !prev_char(t, s).is_some_and(|c| c == '.' || c.is_ascii_alphanumeric());
    let rest = &t[s + addr.len()..];
    let after_ok = !(rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit()));
    if ok && before_ok && after_ok {
        let end = if keep_prefix { e } else { s + addr.len() };
        push(out, PiiKind::IpAddress, s, end, 0.8);
    }
}

pub(super) fn ipv6(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let (addr, keep_prefix) = split_prefix(&t[s..e], 128);
    let before = prev_char(t, s);
    let after = next_char(t, s + addr.len());
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == ':');
    if edge(before) || before == Some('.') || (edge(after) && after != Some('%')) {
        return;
    }
    if addr.parse::<Ipv6Addr>().is_ok() {
        let end = if keep_prefix { e } else { s + addr.len() };
        let score = if addr == "::" { 0.5 } else { 0.85 };
        push(out, PiiKind::IpAddress, s, end, score);
    }
}

pub(super) fn mac(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let hex: Vec<char> = t[s..e].chars().filter(char::is_ascii_hexdigit).collect();
    let all = |c: char| hex.iter().all(|h| h.eq_ignore_ascii_case(&c));
    if !all('0') && !all('f') {
        push(out, PiiKind::MacAddress, s, e, 0.8);
    }
}

pub(super) fn crypto(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    if ck::btc_base58(&t[s..e]) || ck::btc_bech32(&t[s..e]) {
        push(out, PiiKind::CryptoWallet, s, e, 0.95);
    }
}

pub(super) fn tw_id(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let kind = match ck::tw_id(&t[s..e]) {
        Some(ck::TwIdKind::NationalId) => PiiKind::TwNationalId,
        Some(ck::TwIdKind::ResidentCertificate) => PiiKind::TwResidentCertificate,
        None => return,
    };
    push(out, kind, s, e, 0.9);
}

/// Letter-and-digit national numbers; the first check that passes decides.
const ALNUM: &[(Check, PiiKind, f32)] = &[
    (ck::fi_personal_id, PiiKind::FiPersonalId, 0.9),
    (ck::es_nie, PiiKind::EsNie, 0.8),
    (ck::sg_nric, PiiKind::SgNric, 0.85),
    (ck::es_nif, PiiKind::EsNif, 0.6),
];

pub(super) fn alnum_ids(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    if let Some(&(_, kind, score)) = ALNUM.iter().find(|(check, _, _)| check(&t[s..e])) {
        push(out, kind, s, e, score);
    }
}

pub(super) fn uk_nino(t: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    let p = t.get(s..s + 2).unwrap_or("").to_ascii_uppercase();
    if !matches!(p.as_str(), "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ") {
        push(out, PiiKind::UkNino, s, e, 0.6);
    }
}

pub(super) fn in_pan(_: &str, s: usize, e: usize, out: &mut Vec<PiiSpan>) {
    push(out, PiiKind::InPan, s, e, 0.55);
}
