//! The HTTP client shared by the OpenAI-compatible providers: base URL and key handling, error
//! classification (retryable or not) and secret hygiene.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// Where an OpenAI-compatible API lives and how to authenticate. The key is a secret: it is never
/// printed by `Debug`, logged, or included in an error.
#[derive(Clone)]
pub struct Endpoint {
    /// Base URL including the version path, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Bearer token, when the server needs one.
    pub api_key: Option<SecretString>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Endpoint {
    /// An endpoint at `base_url` with an optional key and a 60 s timeout.
    pub fn new(base_url: impl Into<String>, api_key: Option<SecretString>) -> Self {
        Endpoint {
            base_url: base_url.into(),
            api_key,
            timeout: Duration::from_secs(60),
        }
    }

    /// Reads `OPENAI_BASE_URL` (default `https://api.openai.com/v1`) and `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        let base =
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
        let key = std::env::var("OPENAI_API_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .map(SecretString::from);
        Endpoint::new(base, key)
    }

    /// Checks the URL.
    pub fn validate(&self) -> Result<()> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL {:?} must start with http:// or https://",
                self.base_url
            )));
        }
        Ok(())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    pub(crate) fn client(&self) -> Result<reqwest::Client> {
        self.validate()?;
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(10).min(self.timeout))
            .build()
            .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))
    }

    /// Removes the key from a text that might echo it (a proxy error page, say).
    pub(crate) fn scrub(&self, text: &str) -> String {
        match &self.api_key {
            Some(k) if !k.expose_secret().is_empty() => {
                text.replace(k.expose_secret(), "[redacted]")
            }
            _ => text.to_string(),
        }
    }

    /// POSTs JSON and returns the parsed JSON body, or a classified provider error.
    pub(crate) async fn post_json(
        &self,
        client: &reqwest::Client,
        provider: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let mut req = client.post(self.url(path)).json(body);
        if let Some(k) = &self.api_key {
            req = req.bearer_auth(k.expose_secret());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(provider, e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = resp
            .text()
            .await
            .map_err(|e| self.transport_error(provider, e))?;
        if !status.is_success() {
            let mut err = self.status_error(provider, status.as_u16(), &text);
            if let Error::Provider {
                retry_after: ra, ..
            } = &mut err
            {
                *ra = retry_after;
            }
            return Err(err);
        }
        serde_json::from_str(&text).map_err(|e| Error::Provider {
            provider: provider.into(),
            status: Some(status.as_u16()),
            retryable: true,
            retry_after: None,
            message: format!("malformed JSON response: {e}"),
        })
    }

    pub(crate) fn transport_error(&self, provider: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                operation: format!("{provider} request"),
                millis: self.timeout.as_millis() as u64,
            };
        }
        // reqwest errors may contain the URL but never headers; scrub anyway.
        Error::Provider {
            provider: provider.into(),
            status: e.status().map(|s| s.as_u16()),
            retryable: true,
            retry_after: None,
            message: self.scrub(&format!("request failed: {e}")),
        }
    }

    pub(crate) fn status_error(&self, provider: &str, status: u16, body: &str) -> Error {
        let short: String = body.chars().take(300).collect();
        let quota = body.contains("insufficient_quota");
        let retryable = !quota && (status == 429 || status == 408 || status >= 500);
        Error::Provider {
            provider: provider.into(),
            status: Some(status),
            retryable,
            retry_after: None,
            message: self.scrub(&short),
        }
    }
}

/// `Retry-After` in seconds (integer or fractional); HTTP dates are ignored. Capped at 10 minutes.
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(600.0)))
}
