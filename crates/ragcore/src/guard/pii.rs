//! [`PiiRedactor`]: finds e-mail addresses and phone numbers (international, Taiwan mobile and
//! landline forms) and replaces them with `[EMAIL]` / `[PHONE]`.

use async_trait::async_trait;
use regex::Regex;

use super::{GuardOutcome, GuardRequest, Guardrail};
use crate::error::{Error, Result};
use crate::text::normalize_digits;
use crate::types::{Verdict, VerdictAction};

/// Redacts e-mail addresses and phone numbers in questions and answers.
#[derive(Debug, Clone)]
pub struct PiiRedactor {
    email: Regex,
    phone: Regex,
}

impl PiiRedactor {
    /// Compiles the patterns.
    pub fn new() -> Result<Self> {
        let email = Regex::new(r"(?i)(?-u:\b)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}(?-u:\b)")
            .map_err(|e| Error::Internal(format!("email pattern: {e}")))?;
        // Taiwan mobile 09xx-xxx-xxx (and +886 9xx...), Taiwan landline (0x) xxxx-xxxx, and
        // international +CC numbers; separators: space, dash, dot, parentheses.
        let phone = Regex::new(concat!(
            r"(?:\+886[\s\-]?9\d{2}[\s\-]?\d{3}[\s\-]?\d{3})",
            r"|(?:(?-u:\b)09\d{2}[\s\-]?\d{3}[\s\-]?\d{3}(?-u:\b))",
            r"|(?:\(0\d{1,2}\)\s?\d{3,4}[\s\-]?\d{4}(?-u:\b))",
            r"|(?:(?-u:\b)0\d{1,2}[\s\-]\d{3,4}[\s\-]?\d{4}(?-u:\b))",
            r"|(?:\+\d{1,3}[\s\-]?\(?\d{1,4}\)?(?:[\s\-]?\d{2,4}){2,4}(?-u:\b))",
        ))
        .map_err(|e| Error::Internal(format!("phone pattern: {e}")))?;
        Ok(PiiRedactor { email, phone })
    }

    /// Returns the redacted text and the number of e-mails and phones found.
    pub fn redact(&self, text: &str) -> (String, usize, usize) {
        let folded = normalize_digits(text);
        let emails = self.email.find_iter(&folded).count();
        let s = self.email.replace_all(&folded, "[EMAIL]");
        let phones = self.phone.find_iter(&s).count();
        let s = self.phone.replace_all(&s, "[PHONE]");
        if emails + phones == 0 {
            (text.to_string(), 0, 0)
        } else {
            (s.into_owned(), emails, phones)
        }
    }
}

#[async_trait]
impl Guardrail for PiiRedactor {
    fn name(&self) -> String {
        "pii".into()
    }

    async fn check(&self, request: GuardRequest) -> Result<GuardOutcome> {
        let (text, emails, phones) = self.redact(&request.text);
        let found = emails + phones > 0;
        Ok(GuardOutcome {
            verdict: Verdict {
                name: self.name(),
                stage: request.stage.as_str().into(),
                action: if found {
                    VerdictAction::Redact
                } else {
                    VerdictAction::Pass
                },
                detail: format!("{emails} e-mail, {phones} phone"),
            },
            rewritten: found.then_some(text),
        })
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
