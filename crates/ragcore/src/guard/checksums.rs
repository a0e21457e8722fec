//! Check-digit validators for the structured identifiers the PII detector looks for: Luhn
//! (payment cards, Canadian SIN, NPI, South African ID, Swedish personnummer), IBAN (ISO 13616
//! mod 97), Taiwan national ID and resident certificate, China resident ID (ISO 7064 MOD 11-2),
//! Verhoeff (Aadhaar) and a few national identity numbers, plus Bitcoin address checks.
//!
//! Every function takes the candidate as written (separators such as spaces, dashes, dots and
//! colons are skipped where the format allows them) and returns `false` for anything that is not
//! a well-formed, correctly checked value. None of them allocate more than a few bytes or panic.

use sha2::{Digest, Sha256};

/// Digit values of `s`, skipping spaces, dashes, dots and colons; `None` when another character
/// occurs. At most 40 digits are accepted.
fn digits(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(s.len().min(40));
    for c in s.chars() {
        match c {
            ' ' | '-' | '.' | ':' => {}
            _ => out.push(c.to_digit(10)?),
        }
        if out.len() > 40 {
            return None;
        }
    }
    Some(out)
}

fn luhn_digits(d: &[u32]) -> bool {
    if d.len() < 2 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum % 10 == 0
}

/// Luhn (mod 10) check over the digits of `s` (payment cards, Canadian SIN, IMEI...).
pub fn luhn(s: &str) -> bool {
    digits(s).is_some_and(|d| luhn_digits(&d))
}

/// A payment card number: 12 to 19 digits, Luhn-valid, not a single repeated digit.
pub fn credit_card(s: &str) -> bool {
    match digits(s) {
        Some(d) if (12..=19).contains(&d.len()) => luhn_digits(&d) && d.iter().any(|&x| x != d[0]),
        _ => false,
    }
}

/// IBAN lengths per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// The IBAN length registered for a two-letter country code, if the country uses IBANs.
pub fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|&(_, n)| n)
}

/// An IBAN: upper-case country code with its registered length, two check digits, and the
/// ISO 7064 mod 97 check (remainder 1). Spaces and dashes between groups are allowed.
pub fn iban(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ' && *b != b'-').collect();
    if compact.len() < 15 || compact.len() > 34 {
        return false;
    }
    let Ok(country) = std::str::from_utf8(&compact[..2]) else {
        return false;
    };
    if iban_length(country) != Some(compact.len())
        || !compact[2..4].iter().all(u8::is_ascii_digit)
        || !compact[4..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Numeric codes of the first letter of a Taiwan ID (A=10 ... Z=33, with I, O, W, X, Y, Z out of
/// order as the Ministry of the Interior assigned them).
const TW_LETTER: [u32; 26] = [
    10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30,
    31, 33,
];

/// The kind of a valid Taiwan identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwIdKind {
    /// National ID card (身分證字號): letter, `1` or `2`, eight digits.
    NationalId,
    /// Resident certificate (居留證): letter + `8`/`9` + eight digits (2021 format), or two
    /// letters (second `A`-`D`) + eight digits (old format).
    ResidentCertificate,
}

/// Validates a Taiwan national ID or resident certificate number (10 characters, letters in either
/// case) and says which it is.
pub fn tw_id(s: &str) -> Option<TwIdKind> {
    let b = s.as_bytes();
    if b.len() != 10 || !b[0].is_ascii_alphabetic() || !b[2..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = TW_LETTER[usize::from(b[0].to_ascii_uppercase() - b'A')];
    let (second, kind) = match b[1].to_ascii_uppercase() {
        b'1' | b'2' => (u32::from(b[1] - b'0'), TwIdKind::NationalId),
        b'8' | b'9' => (u32::from(b[1] - b'0'), TwIdKind::ResidentCertificate),
        c @ b'A'..=b'D' => (
            TW_LETTER[usize::from(c - b'A')] % 10,
            TwIdKind::ResidentCertificate,
        ),
        _ => return None,
    };
    let mut sum = code / 10 + (code % 10) * 9 + second * 8;
    for (i, &c) in b[2..9].iter().enumerate() {
        sum += u32::from(c - b'0') * (7 - i as u32);
    }
    sum += u32::from(b[9] - b'0');
    (sum % 10 == 0).then_some(kind)
}

/// A plausible calendar date (years 1800-2199; February up to 29).
fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let max = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return false,
    };
    (1800..2200).contains(&year) && (1..=max).contains(&day)
}

fn num(d: &[u32]) -> u32 {
    d.iter().fold(0, |a, &x| a * 10 + x)
}

/// China resident identity number (居民身份证): 17 digits + check character (digit or `X`,
/// ISO 7064 MOD 11-2) with a valid birth date in positions 7-14.
pub fn cn_resident_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d: Vec<u32> = b[..17].iter().map(|c| u32::from(c - b'0')).collect();
    if !valid_date(num(&d[6..10]), num(&d[10..12]), num(&d[12..14])) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d.iter().zip(W).map(|(a, w)| a * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    b[17].to_ascii_uppercase() == check
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Verhoeff check over the digits of `s`.
pub fn verhoeff(s: &str) -> bool {
    let Some(d) = digits(s) else { return false };
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = VERHOEFF_D[usize::from(c)][usize::from(VERHOEFF_P[i % 8][x as usize])];
    }
    !d.is_empty() && c == 0
}

/// India Aadhaar: 12 digits, first 2-9, Verhoeff-valid, not a palindrome.
pub fn aadhaar(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 12 && d[0] >= 2 => verhoeff(s) && d.iter().ne(d.iter().rev()),
        _ => false,
    }
}

/// US Social Security number: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub fn us_ssn(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 9 => {
            let (area, group, serial) = (num(&d[..3]), num(&d[3..5]), num(&d[5..]));
            area != 0
                && area != 666
                && area < 900
                && group != 0
                && serial != 0
                && d.iter().any(|&x| x != d[0])
        }
        _ => false,
    }
}

/// US Individual Taxpayer Identification Number: 9xx, group 50-65, 70-88, 90-92 or 94-99.
pub fn us_itin(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 9 && d[0] == 9 => {
            let g = num(&d[3..5]);
            matches!(g, 50..=65 | 70..=88 | 90..=92 | 94..=99)
        }
        _ => false,
    }
}

/// US National Provider Identifier: 10 digits starting with 1 or 2, Luhn over `80840` + NPI.
pub fn us_npi(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 10 && (d[0] == 1 || d[0] == 2) => {
            let mut all = vec![8, 0, 8, 4, 0];
            all.extend_from_slice(&d);
            luhn_digits(&all)
        }
        _ => false,
    }
}

/// US ABA routing number: 9 digits with the 3-7-1 weighted check.
pub fn aba_routing(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 9 && d.iter().any(|&x| x != 0) => {
            let sum: u32 = d
                .iter()
                .zip([3, 7, 1].iter().cycle())
                .map(|(a, w)| a * w)
                .sum();
            sum % 10 == 0
        }
        _ => false,
    }
}

/// Canadian Social Insurance Number: 9 digits, first not 0 or 8, Luhn-valid.
pub fn ca_sin(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 9 => d[0] != 0 && d[0] != 8 && luhn_digits(&d),
        _ => false,
    }
}

/// UK NHS number: 10 digits with the mod 11 check.
pub fn uk_nhs(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 10 => {
            let sum: u32 = d[..9].iter().zip((2..=10).rev()).map(|(a, w)| a * w).sum();
            let check = (11 - sum % 11) % 11;
            check != 10 && check == d[9]
        }
        _ => false,
    }
}

/// Australian Business Number: 11 digits, weighted sum (first digit minus one) divisible by 89.
pub fn au_abn(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 11 && d[0] > 0 => {
            const W: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
            let sum: u32 = d
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let v = if i == 0 { x - 1 } else { x };
                    v * W[i]
                })
                .sum();
            sum % 89 == 0
        }
        _ => false,
    }
}

/// Turkish national ID (T.C. Kimlik No): 11 digits, first not 0, two check digits.
pub fn tr_national_id(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 11 && d[0] != 0 => {
            let odd: u32 = d[0] + d[2] + d[4] + d[6] + d[8];
            let even: u32 = d[1] + d[3] + d[5] + d[7];
            let d10 = (odd * 7 + 10 * 10 - even) % 10;
            let d11 = (d[..10].iter().sum::<u32>()) % 10;
            d10 == d[9] && d11 == d[10]
        }
        _ => false,
    }
}

/// Polish PESEL: 11 digits, a valid birth date (century coded in the month) and the
/// 1-3-7-9 weighted check.
pub fn pl_pesel(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 11 => {
            let (yy, mm, dd) = (num(&d[..2]), num(&d[2..4]), num(&d[4..6]));
            let (century, month) = match mm {
                81..=92 => (1800, mm - 80),
                1..=12 => (1900, mm),
                21..=32 => (2000, mm - 20),
                41..=52 => (2100, mm - 40),
                _ => return false,
            };
            const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
            let sum: u32 = d[..10].iter().zip(W).map(|(a, w)| a * w).sum();
            valid_date(century + yy, month, dd) && (10 - sum % 10) % 10 == d[10]
        }
        _ => false,
    }
}

/// Thai national ID (TNIN): 13 digits, first 1-8, mod 11 check.
pub fn th_tnin(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 13 && (1..=8).contains(&d[0]) => {
            let sum: u32 = d[..12].iter().zip((2..=13).rev()).map(|(a, w)| a * w).sum();
            (11 - sum % 11) % 10 == d[12]
        }
        _ => false,
    }
}

/// South African ID number: 13 digits, YYMMDD birth date, citizenship digit 0-2, Luhn-valid.
pub fn za_id(s: &str) -> bool {
    match digits(s) {
        Some(d) if d.len() == 13 => {
            valid_date(2000, num(&d[2..4]), num(&d[4..6])) && d[10] <= 2 && luhn_digits(&d)
        }
        _ => false,
    }
}

/// South Korean resident (RRN) or foreigner (FRN) registration number: YYMMDD, a gender/century
/// digit 1-8, and, for numbers issued before the October 2020 reform (gender digit 1 or 2,
/// i.e. born in the 1900s), the weighted mod 11 check. Returns `Some(checked)` when valid, where
/// `checked` says whether the check digit was verified.
pub fn kr_registration(s: &str) -> Option<bool> {
    let d = digits(s)?;
    if d.len() != 13 || !(1..=8).contains(&d[6]) {
        return None;
    }
    let century = if matches!(d[6], 1 | 2 | 5 | 6) {
        1900
    } else {
        2000
    };
    if !valid_date(century + num(&d[..2]), num(&d[2..4]), num(&d[4..6])) {
        return None;
    }
    const W: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = d[..12].iter().zip(W).map(|(a, w)| a * w).sum();
    let offset = if d[6] >= 5 { 13 } else { 11 };
    let checked = (offset - sum % 11) % 10 == d[12];
    (checked || !matches!(d[6], 1 | 2)).then_some(checked)
}

/// Swedish personnummer: (YY)YYMMDD, optional `-`/`+`, four digits; valid date (day + 60 for
/// samordningsnummer) and Luhn over the last ten digits.
pub fn se_personnummer(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if s.chars()
        .any(|c| !c.is_ascii_digit() && c != '-' && c != '+')
    {
        return false;
    }
    let ten = match d.len() {
        10 => &d[..],
        12 => &d[2..],
        _ => return false,
    };
    let day = num(&ten[4..6]);
    let day = if day > 60 { day - 60 } else { day };
    valid_date(2000, num(&ten[2..4]), day) && luhn_digits(ten)
}

/// Finnish personal identity code (henkilötunnus): DDMMYY, century sign, three digits and a
/// check character (mod 31).
pub fn fi_personal_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || !b[..6].iter().chain(&b[7..10]).all(u8::is_ascii_digit) {
        return false;
    }
    let century = match b[6].to_ascii_uppercase() {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A'..=b'F' => 2000,
        _ => return false,
    };
    let d: Vec<u32> = b[..6]
        .iter()
        .chain(&b[7..10])
        .map(|c| u32::from(c - b'0'))
        .collect();
    if !valid_date(century + num(&d[4..6]), num(&d[2..4]), num(&d[..2])) {
        return false;
    }
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(num(&d) % 31) as usize];
    b[10].to_ascii_uppercase() == check
}

const ES_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI/NIF: up to 8 digits and the mod 23 control letter (optionally after a dash).
pub fn es_nif(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    match t.split_last() {
        Some((letter, body))
            if (7..=8).contains(&body.len()) && body.iter().all(u8::is_ascii_digit) =>
        {
            let n = body.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
            ES_LETTERS[(n % 23) as usize] == letter.to_ascii_uppercase()
        }
        _ => false,
    }
}

/// Spanish NIE (foreigner number): X/Y/Z, seven digits, mod 23 control letter.
pub fn es_nie(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    if t.len() != 9 {
        return false;
    }
    let prefix = match t[0].to_ascii_uppercase() {
        b'X' => b'0',
        b'Y' => b'1',
        b'Z' => b'2',
        _ => return false,
    };
    let mut v = t.clone();
    v[0] = prefix;
    std::str::from_utf8(&v).is_ok_and(es_nif)
}

/// Singapore NRIC/FIN (S, T, F, G series): letter, seven digits, check letter.
pub fn sg_nric(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 9 || !b[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 7] = [2, 7, 6, 5, 4, 3, 2];
    let mut sum: u32 = b[1..8]
        .iter()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let first = b[0].to_ascii_uppercase();
    if first == b'T' || first == b'G' {
        sum += 4;
    }
    let table: &[u8; 11] = match first {
        b'S' | b'T' => b"JZIHGFEDCBA",
        b'F' | b'G' => b"XWUTRQPNMLK",
        _ => return false,
    };
    table[(sum % 11) as usize] == b[8].to_ascii_uppercase()
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A Bitcoin legacy (P2PKH `1...`) or script (P2SH `3...`) address: Base58Check with version
/// byte 0x00/0x05 and a valid double-SHA-256 checksum.
pub fn btc_base58(s: &str) -> bool {
    if !(25..=35).contains(&s.len()) {
        return false;
    }
    // Big-number base conversion into 25 bytes.
    let mut bytes = [0u8; 25];
    for c in s.bytes() {
        let Some(v) = BASE58.iter().position(|&x| x == c) else {
            return false;
        };
        let mut carry = v as u32;
        for byte in bytes.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    if bytes[0] != 0x00 && bytes[0] != 0x05 {
        return false;
    }
    let hash = Sha256::digest(Sha256::digest(&bytes[..21]));
    hash[..4] == bytes[21..]
}

/// A Bitcoin segwit address (`bc1...`, bech32 or bech32m checksum, lower case).
pub fn btc_bech32(s: &str) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let Some(data) = s.strip_prefix("bc1") else {
        return false;
    };
    if !(11..=71).contains(&data.len()) {
        return false;
    }
    let mut values = vec![3u8, 3, 0, 2, 3]; // hrp "bc" expanded
    for c in data.bytes() {
        let Some(v) = CHARSET.iter().position(|&x| x == c) else {
            return false;
        };
        values.push(v as u8);
    }
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc8_30a3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_cards() {
        assert!(luhn("4111 1111 1111 1111") && credit_card("4111-1111-1111-1111"));
        assert!(!credit_card("4111 1111 1111 1112") && !credit_card("0000000000000"));
        assert!(credit_card("378282246310005") && !credit_card("4012-8888-8888-1882"));
        assert!(!luhn("12a4"));
    }

    #[test]
    fn iban_mod97() {
        assert!(iban("DE89370400440532013000") && iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("AL47-2121-1009-0000-0002-3569-8741"));
        assert!(!iban("DE89370400440532013001") && !iban("GB82 WEST 1234 5698 7654 3"));
        assert!(!iban("XX89370400440532013000") && !iban("gb82west12345698765432"));
    }

    #[test]
    fn taiwan_ids() {
        assert_eq!(tw_id("A123456789"), Some(TwIdKind::NationalId));
        assert_eq!(tw_id("a123456789"), Some(TwIdKind::NationalId));
        assert_eq!(tw_id("Y123456788"), Some(TwIdKind::NationalId));
        assert_eq!(tw_id("A800000014"), Some(TwIdKind::ResidentCertificate));
        assert_eq!(tw_id("AB23456789"), Some(TwIdKind::ResidentCertificate));
        assert_eq!(tw_id("A123456788"), None);
        assert_eq!(tw_id("A323456789"), None);
        assert_eq!(tw_id("AA00000000"), None);
        assert_eq!(tw_id("A12345678"), None);
    }

    #[test]
    fn china_id() {
        assert!(cn_resident_id("11010519491231002X"));
        assert!(cn_resident_id("11010519491231002x"));
        assert!(!cn_resident_id("110105194912310021"));
        assert!(!cn_resident_id("110105194913310025")); // month 13
    }

    #[test]
    fn national_numbers() {
        assert!(aadhaar("3123 4567 8909") && !aadhaar("3123 4567 8908"));
        assert!(us_ssn("078-05-1121") && !us_ssn("078-05-0000") && !us_ssn("666-12-3456"));
        assert!(us_itin("911-70-1234") && !us_itin("911-89-1234"));
        assert!(us_npi("1234567893") && !us_npi("1234567894"));
        assert!(aba_routing("121000358") && !aba_routing("121000359"));
        assert!(ca_sin("130 692 544") && !ca_sin("046 454 286"));
        assert!(uk_nhs("0032698674") && !uk_nhs("0032698675"));
        assert!(au_abn("51 824 753 556") && !au_abn("52 824 753 556"));
        assert!(tr_national_id("10000000146") && !tr_national_id("11798724308"));
        assert!(pl_pesel("44051401458") && !pl_pesel("44051401459"));
        assert!(th_tnin("1220000000007") && !th_tnin("3456789012346"));
        assert!(za_id("8001015009087") && !za_id("8001015009086"));
        assert_eq!(kr_registration("960121-1021413"), Some(true));
        assert_eq!(kr_registration("760413-1212134"), None);
        assert!(se_personnummer("19910924-2397") && !se_personnummer("19910924-2398"));
        assert!(fi_personal_id("131052-308T") && !fi_personal_id("111111-111A"));
        assert!(es_nif("55555555-K") && !es_nif("12345678a"));
        assert!(es_nie("X9613851N") && !es_nie("Y806391Q"));
        assert!(sg_nric("S2740116C") && !sg_nric("S2740116D"));
    }

    #[test]
    fn bitcoin() {
        assert!(btc_base58("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(btc_base58("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(!btc_base58("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        assert!(btc_bech32("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
        assert!(!btc_bech32("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"));
    }
}
